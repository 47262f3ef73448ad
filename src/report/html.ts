import { when, type ReportModel } from './model.js';
import { STYLE } from './style.js';
import { countChart, esc, fmtMs, latencyPanels, timeline } from './svg.js';

/** A table cell: text, or text with a state class (FIRED, FAILED, ok…) coloured as the terminal does. */
type Cell = string | { text: string; cls: string };

const table = (headers: string[], rows: Cell[][], cls = '') =>
  `<table class="${cls}"><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => (typeof c === 'string' ? `<td>${esc(c)}</td>` : `<td class="${c.cls}">${esc(c.text)}</td>`)).join('')}</tr>`).join('')}</tbody></table>`;

/** The terminal's colours: ✔ green, ✘ red, skipped and "not measured" dim. */
const stateCell = (text: string, good: boolean | null): Cell => ({ text, cls: good === null ? 'cell-dim' : good ? 'cell-ok' : 'cell-bad' });
const triggerCell = (t: ReportModel['triggers'][number]) =>
  t.fired ? stateCell('FIRED', false) : t.measured ? stateCell('ok', true) : stateCell('not measured', null);
const stageCell = (s: ReportModel['stages'][number]) =>
  s.skipped ? stateCell('skipped', null) : s.ok ? stateCell('ok', true) : stateCell('FAILED', false);
const CRITERION = { passed: '☑ passed', failed: '☒ failed', open: '☐ open' } as const;

function charts(m: ReportModel): string {
  return [
    m.latency
      ? latencyPanels(
          `Latency before / after (${m.latency.label})`,
          ['p50', 'p95', 'p99'],
          m.latency.before,
          m.latency.after,
          m.latency.degraded,
        )
      : '',
    countChart(
      'Connections over the guard window',
      m.connectionSamples,
      m.connectionLimit ? { y: m.connectionLimit, label: `connection limit ${m.connectionLimit}` } : undefined,
      m.guardWindow ?? undefined,
    ),
    timeline(
      'Stages, triggers and alerts',
      m.stages.map((s) => ({
        label: s.stage,
        start: s.start,
        end: s.start + s.seconds,
        state: s.skipped ? 'skipped' : s.ok ? 'ok' : 'bad',
      })),
      m.events,
    ),
  ].join('\n');
}

/** What happened to the run, and what the reader does next: cause, evidence, post-rollback checklist, contacts. */
function rollbackSection(m: ReportModel): string {
  if (!m.postRollback.length) return '';
  const measured = m.measurements.length
    ? `<ul class="measurements">${m.measurements.map((x) => `<li><b>${esc(x.trigger)}</b> (${esc(x.source)}): ${esc(x.summary)}</li>`).join('')}</ul>`
    : '';
  const statements = m.evidence.length
    ? `<h3>Statements that hit the timeouts</h3>${table(
        ['source', 'statement', 'SQLSTATE', 'count', 'mean', 'max', 'note'],
        m.evidence.map((e) => [
          e.source,
          e.statement,
          e.sqlstate,
          `${e.count}${e.source === 'pg_stat_statements' ? ' calls' : ''}`,
          e.meanMs === null ? '—' : fmtMs(e.meanMs),
          e.maxMs === null ? '—' : fmtMs(e.maxMs),
          e.note,
        ]),
        'evidence',
      )}`
    : `<p>No statement hit a timeout${m.measurements.length ? '' : ' that this run could see: the load sample (<code>--load</code>), pg_stat_statements and the server log (<code>--log</code>) name them'}.</p>`;
  // A run rolled back by hand later has no measurement of why: the reason is the person's to write.
  const evidence = m.verdict === 'superseded' && !m.evidence.length ? '' : `<h2>Evidence</h2>\n${measured}${statements}\n`;
  return `${evidence}<h2>Post-rollback actions</h2>
<ul class="actions">${m.postRollback.map((a) => `<li><span class="st ${a.done ? 'st-passed' : 'st-open'}">${a.done ? '☑ done' : '☐ to do'}</span> <b>${esc(a.item)}</b> — ${a.item.startsWith('Schedule retry') ? `<code>${esc(a.detail)}</code>` : inline(a.detail)}</li>`).join('')}</ul>
${contacts(m)}`;
}

/** Escaped text with its `backtick` spans as <code>: commands and SQL a reader copies. */
const inline = (text: string) => esc(text).replace(/`([^`]+)`/g, '<code>$1</code>');

/** Approval, promotion chain, window, traffic, PgBouncer and role exceptions: the gates of the change. */
function estateSection(m: ReportModel): string {
  const a = m.approval;
  const rows: [string, string][] = [
    ['environment', `${a.environment ?? '— (no --env)'}${a.required ? ' (approval: required, four eyes)' : ''}`],
    ['approved by', a.approvedBy ?? 'not recorded'],
    ['applied by (database login)', a.appliedBy ?? 'not recorded'],
  ];
  return `<h2>Approval</h2>${table(['', ''], rows, 'approval')}
<h2>Promotion</h2><ul class="promotion">${(m.promotion.length ? m.promotion : ['no environment was required before this one']).map((p) => `<li>${esc(p)}</li>`).join('')}</ul>
${m.window ? `<h2>Maintenance window</h2><p class="window">${esc(m.window)}</p>` : ''}
${m.load ? `<h2>Traffic before the change (max_load)</h2><p class="load">${esc(m.load)}</p>` : ''}
${m.poolers.length ? `<h2>PgBouncer</h2><ul class="poolers">${m.poolers.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : ''}
${
  m.roleExceptions.length
    ? `<h2>Declared role values and exceptions</h2>${table(
        ['role', 'values (in this database)', 'looser than the database target', 'reason', 'expires'],
        m.roleExceptions.map((e) => [e.role, e.settings, e.looser ? 'yes' : 'no', e.reason, e.expires]),
        'exceptions',
      )}`
    : ''
}`;
}

const contacts = (m: ReportModel) =>
  m.contacts.length
    ? `<h2>Contacts</h2><ul class="contacts">${m.contacts.map(([k, v]) => `<li><b>${esc(k)}</b>: ${esc(v)}</li>`).join('')}</ul>`
    : '';

/** One self-contained file: inline CSS and SVG, no scripts, nothing fetched at view time. */
export function renderHtml(m: ReportModel): string {
  const groups = [...new Set(m.criteria.map((c) => c.group))];
  const meta = [
    `run ${m.runId}`,
    `policy ${m.policySource}`,
    `started ${when(m.startedAt)}`,
    `finished ${when(m.finishedAt)}`,
    `approved by ${m.approvedBy ?? 'not recorded'}`,
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>pgharden run ${esc(m.runId)} — ${esc(m.database)}</title><style>${STYLE}</style></head>
<body>
<h1>Security hardening of <code>${esc(m.database)}</code></h1>
<div class="meta">${meta.map((x) => `<span>${esc(x)}</span>`).join(' · ')}</div>
<div class="headline ${esc(m.verdict)}">${esc(m.headline)}</div>
<p class="state">Outcome of the run: <b class="${esc(m.outcome)}-text">${esc(m.outcome)}</b> · current state: <b class="${esc(m.currentState ?? '')}-text">${esc(m.currentState ?? 'unknown')}</b></p>
${table(
  ['when', 'state', 'what'],
  m.history.map((h) => [when(h.at), { text: h.state, cls: `state-${h.state}` }, h.note]),
  'history',
)}
${rollbackSection(m)}
<h2>Success criteria</h2>
${m.verdict === 'superseded' ? `<p class="note">Measured during the run, while its changes were in force. They are not any more (current state: ${esc(m.currentState ?? '')}).</p>` : ''}
${groups
  .map(
    (g) =>
      `<h3>${esc(g)}</h3><ul class="criteria">${m.criteria
        .filter((c) => c.group === g)
        .map(
          (c) =>
            `<li class="criterion-${c.status}"><span class="st st-${c.status}">${CRITERION[c.status]}</span> <b>${esc(c.item)}</b> — ${esc(c.evidence)}</li>`,
        )
        .join('')}</ul>`,
  )
  .join('\n')}
<h2>Charts</h2>
<div class="charts">${charts(m)}</div>
<h2>Settings</h2>
${table(
  ['setting', 'before (database level)', 'target', 'after (fresh session)'],
  m.settings.map((s) => [s.setting, s.before, s.target, s.ok === false ? stateCell(`${s.after} ✘`, false) : s.after]),
)}
${estateSection(m)}
${
  m.triggers.length
    ? `<h2>Rollback triggers</h2>${table(
        ['trigger', 'result', 'measurement', 'source'],
        m.triggers.map((t) => [t.trigger, triggerCell(t), t.summary, t.source]),
      )}`
    : ''
}
<h2>Alerts raised</h2>
${
  m.alerts.length
    ? table(
        ['when', 'state', 'rule', 'severity', 'message'],
        m.alerts.map((a) => [a.at, a.state, a.rule, a.severity, a.message]),
      )
    : '<p>none</p>'
}
<h2>Timeline</h2>
${table(
  ['stage', 'result', 'seconds', 'details'],
  m.stages.map((s) => [s.stage, stageCell(s), s.seconds.toFixed(1), s.summary]),
)}
<h2>Notice for the development team</h2>
<ul>${m.notice.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>
${m.postRollback.length ? '' : contacts(m)}
</body></html>
`;
}
