import type { ReportModel } from './model.js';
import { barChart, esc, lineChart, timeline } from './svg.js';

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2430;max-width:960px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d6dbe3;padding-bottom:4px}
.meta{color:#5b6575}.headline{padding:10px 14px;border-radius:6px;font-weight:600;margin:14px 0}
.passed{background:#e3f4e8;color:#155d2c}.rolled_back,.triggered,.blocked{background:#fde6e4;color:#8a1c12}.interrupted,.unfinished{background:#fff3d6;color:#7a5200}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e6e9ef;vertical-align:top}th{background:#f4f6f9}
ul.criteria{list-style:none;padding:0}ul.criteria li{padding:4px 0}.st{display:inline-block;width:76px;white-space:nowrap;font-weight:600}
.st-passed{color:#1b7a3a}.st-failed{color:#b3261e}.st-open{color:#7a8291}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #e6e9ef;border-radius:6px;background:#fff;max-width:100%;height:auto}
.chart-title{font-size:13px;font-weight:600;fill:#1d2430}.tick{font-size:11px;fill:#5b6575}.axis{stroke:#8a93a3}.grid{stroke:#eef0f4}
.before{fill:#8fa8c8}.after{fill:#2f6db3}.series{fill:none;stroke:#2f6db3;stroke-width:2}.dot{fill:#2f6db3}.limit{stroke:#b3261e;stroke-dasharray:4 3}
.stage-ok{fill:#bfe3cb}.stage-bad{fill:#f5b5ae}.event-critical{fill:#b3261e}.event-warning{fill:#d08a00}.event-info{fill:#2f6db3}
@media print{body{margin:0;max-width:none}.chart{break-inside:avoid}h2{break-after:avoid}.headline{border:1px solid currentColor}}
`;

const table = (headers: string[], rows: string[][]) =>
  `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

/** One self-contained file: inline CSS and SVG, no scripts, nothing fetched at view time. */
export function renderHtml(m: ReportModel): string {
  const groups = [...new Set(m.criteria.map((c) => c.group))];
  const charts = [
    m.latency
      ? barChart(`Latency before / after (${m.latency.label})`, ['p50', 'p95', 'p99'], [
        { name: 'before', values: m.latency.before, cls: 'before' },
        { name: 'after', values: m.latency.after ?? [0, 0, 0], cls: 'after' },
      ], 'ms')
      : '',
    lineChart('Connections over the guard window', m.connectionSamples, '', m.connectionLimit ? { y: m.connectionLimit, label: `limit ${m.connectionLimit}` } : undefined),
    timeline('Stages, triggers and alerts', m.stages.map((s) => ({ label: s.stage, start: s.start, end: s.start + s.seconds, ok: s.ok || s.skipped })), m.events),
  ].join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>pgharden run ${esc(m.runId)} — ${esc(m.database)}</title><style>${STYLE}</style></head>
<body>
<h1>Security hardening of <code>${esc(m.database)}</code></h1>
<div class="meta">run ${esc(m.runId)} · policy ${esc(m.policySource)} · started ${esc(m.startedAt)} · finished ${esc(m.finishedAt ?? '—')} · approved by ${esc(m.approvedBy ?? 'not recorded')}</div>
<div class="headline ${esc(m.outcome)}">${esc(m.headline)}</div>
<h2>Success criteria</h2>
${groups.map((g) => `<h3>${esc(g)}</h3><ul class="criteria">${m.criteria.filter((c) => c.group === g).map((c) => `<li><span class="st st-${c.status}">${c.status === 'passed' ? '☑ passed' : c.status === 'failed' ? '☒ failed' : '☐ open'}</span> <b>${esc(c.item)}</b> — ${esc(c.evidence)}</li>`).join('')}</ul>`).join('\n')}
<h2>Charts</h2>
<div class="charts">${charts}</div>
<h2>Settings</h2>
${table(['setting', 'before (database level)', 'target', 'after (fresh session)'], m.settings.map((s) => [s.setting, s.before, s.target, s.after]))}
${m.triggers.length ? `<h2>Rollback triggers</h2>${table(['trigger', 'result', 'measurement', 'source'], m.triggers.map((t) => [t.trigger, t.fired ? 'FIRED' : t.measured ? 'ok' : 'not measured', t.summary, t.source]))}` : ''}
<h2>Alerts raised</h2>
${m.alerts.length ? table(['when', 'state', 'rule', 'severity', 'message'], m.alerts.map((a) => [a.at, a.state, a.rule, a.severity, a.message])) : '<p>none</p>'}
<h2>Timeline</h2>
${table(['stage', 'result', 'seconds', 'details'], m.stages.map((s) => [s.stage, s.skipped ? 'skipped' : s.ok ? 'ok' : 'FAILED', s.seconds.toFixed(1), s.summary]))}
<h2>Notice for the development team</h2>
<ul>${m.notice.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>
${m.contacts.length ? `<h2>Contacts</h2><ul>${m.contacts.map(([k, v]) => `<li>${esc(k)}: ${esc(v)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}
