import { when, type ReportModel } from './model.js';
import { fmtMs } from './svg.js';

const BOX = { passed: '[x]', failed: '[ ] ✘', open: '[ ]' } as const;
const cell = (s: string | number) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const mdTable = (headers: string[], rows: (string | number)[][]) =>
  [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join(
    '\n',
  );

/** For pasting into the change ticket. */
export function renderMarkdown(m: ReportModel): string {
  const groups = [...new Set(m.criteria.map((c) => c.group))];
  const out = [
    `# Security hardening of \`${m.database}\` — run ${m.runId}`,
    '',
    `**${m.headline}**`,
    '',
    `Policy: ${m.policySource} · started ${when(m.startedAt)} · finished ${when(m.finishedAt)} · approved by: ${m.approvedBy ?? 'not recorded'}`,
    '',
    `Outcome of the run: **${m.outcome}** · current state: **${m.currentState ?? 'unknown'}**`,
    '',
    mdTable(
      ['when', 'state', 'what'],
      m.history.map((h) => [when(h.at), h.state, h.note]),
    ),
    '',
    ...rollbackSection(m),
    '## Success criteria',
    '',
    ...(m.verdict === 'superseded'
      ? [`Measured during the run, while its changes were in force. They are not any more (current state: ${m.currentState}).`, '']
      : []),
    ...groups.flatMap((g) => [
      `### ${g}`,
      '',
      ...m.criteria.filter((c) => c.group === g).map((c) => `- ${BOX[c.status]} ${c.item} — ${c.evidence}`),
      '',
    ]),
    '## Settings',
    '',
    mdTable(
      ['setting', 'before (database level)', 'target', 'after (fresh session)'],
      m.settings.map((s) => [s.setting, s.before, s.target, `${s.after}${s.ok === false ? ' ✘' : ''}`]),
    ),
    '',
  ];
  out.push(...estateSection(m));
  if (m.latency) {
    out.push(
      '## Latency',
      '',
      `Source: ${m.latency.source}.`,
      '',
      mdTable(
        ['', 'p50 ms', 'p95 ms', 'p99 ms'],
        [
          ['before', ...m.latency.before.map((v) => v.toFixed(3))],
          ['after', ...(m.latency.after ?? ['—', '—', '—']).map((v) => (typeof v === 'number' ? v.toFixed(3) : v))],
        ],
      ),
      '',
    );
  }
  if (m.triggers.length) {
    out.push(
      '## Rollback triggers',
      '',
      mdTable(
        ['trigger', 'result', 'measurement', 'source'],
        m.triggers.map((t) => [t.trigger, t.fired ? 'FIRED' : t.measured ? 'ok' : 'not measured', t.summary, t.source]),
      ),
      '',
    );
  }
  out.push(
    '## Alerts raised',
    '',
    m.alerts.length
      ? mdTable(
          ['when', 'state', 'rule', 'severity', 'message'],
          m.alerts.map((a) => [a.at, a.state, a.rule, a.severity, a.message]),
        )
      : 'none',
    '',
  );
  out.push(
    '## Connections before',
    '',
    Object.entries(m.connectionsBefore)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ') || 'none besides pgharden',
    '',
  );
  out.push(
    '## Timeline',
    '',
    mdTable(
      ['stage', 'result', 'seconds', 'details'],
      m.stages.map((s) => [s.stage, s.skipped ? 'skipped' : s.ok ? 'ok' : 'FAILED', s.seconds.toFixed(1), s.summary]),
    ),
    '',
  );
  if (m.contacts.length && !m.postRollback.length) out.push(...contacts(m));
  return out.join('\n');
}

/** Approval, promotion chain, window, traffic, PgBouncer and role exceptions: the gates of the change ticket. */
function estateSection(m: ReportModel): string[] {
  const a = m.approval;
  const out = [
    '## Approval',
    '',
    `- Environment: ${a.environment ?? '— (no --env)'}${a.required ? ' (approval: required, four eyes)' : ''}`,
    `- Approved by: ${a.approvedBy ?? 'not recorded'}`,
    `- Applied by (database login): ${a.appliedBy ?? 'not recorded'}`,
    '',
  ];
  out.push(
    '## Promotion',
    '',
    ...(m.promotion.length ? m.promotion.map((p) => `- ${p}`) : ['- no environment was required before this one']),
    '',
  );
  if (m.window) out.push('## Maintenance window', '', m.window, '');
  if (m.load) out.push('## Traffic before the change (max_load)', '', m.load, '');
  if (m.poolers.length) out.push('## PgBouncer', '', ...m.poolers.map((p) => `- ${p}`), '');
  if (m.roleExceptions.length) {
    out.push(
      '## Declared role values and exceptions',
      '',
      mdTable(
        ['role', 'values (in this database)', 'looser than the database target', 'reason', 'expires'],
        m.roleExceptions.map((e) => [e.role, e.settings, e.looser ? 'yes' : 'no', e.reason, e.expires]),
      ),
      '',
    );
  }
  return out;
}

const contacts = (m: ReportModel) => (m.contacts.length ? ['## Contacts', '', ...m.contacts.map(([k, v]) => `- ${k}: ${v}`), ''] : []);

/** Evidence, the runbook's post-rollback actions and who to call: what a reader of a rollback asks next. */
function rollbackSection(m: ReportModel): string[] {
  if (!m.postRollback.length) return [];
  return [
    ...(m.verdict === 'superseded' && !m.evidence.length ? [] : ['## Evidence', '']),
    ...m.measurements.map((x) => `- **${x.trigger}** (${x.source}): ${x.summary}`),
    ...(m.measurements.length ? [''] : []),
    ...(m.evidence.length
      ? [
          '### Statements that hit the timeouts',
          '',
          mdTable(
            ['source', 'statement', 'SQLSTATE', 'count', 'mean', 'max', 'note'],
            m.evidence.map((e) => [
              e.source,
              `\`${e.statement}\``,
              e.sqlstate,
              `${e.count}${e.source === 'pg_stat_statements' ? ' calls' : ''}`,
              e.meanMs === null ? '—' : fmtMs(e.meanMs),
              e.maxMs === null ? '—' : fmtMs(e.maxMs),
              e.note,
            ]),
          ),
        ]
      : m.verdict === 'superseded'
        ? []
        : [
            `No statement hit a timeout${m.measurements.length ? '' : ' that this run could see: the load sample (--load), pg_stat_statements and the server log (--log) name them'}.`,
          ]),
    ...(m.verdict === 'superseded' && !m.evidence.length ? [] : ['']),
    '## Post-rollback actions',
    '',
    ...m.postRollback.map(
      (a) => `- ${a.done ? '[x]' : '[ ]'} **${a.item}** — ${a.item.startsWith('Schedule retry') ? `\`${a.detail}\`` : a.detail}`,
    ),
    '',
    ...contacts(m),
  ];
}

/** The short notice for the development team (runbook: "notify development team of new timeout limits"). */
export function renderNotice(m: ReportModel): string {
  return [
    `# New database limits on \`${m.database}\``,
    '',
    ...m.notice.map((l) => `- ${l}`),
    '',
    ...(m.contacts.length ? ['Questions: ' + m.contacts.map(([k, v]) => `${k} ${v}`).join(' · '), ''] : []),
  ].join('\n');
}
