/**
 * The HTML report's stylesheet. Colours follow the terminal: green for ✔/ok/passed, red for
 * ✘/FIRED/FAILED/rolled back, dim for skipped and not measured, amber for states a person finishes.
 */
export const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2430;max-width:960px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d6dbe3;padding-bottom:4px}h3{font-size:15px;margin:14px 0 4px}
code{font-size:12.5px;background:#f4f6f9;padding:1px 4px;border-radius:3px}
.meta{color:#5b6575}.meta span{white-space:nowrap}
.headline{padding:10px 14px;border-radius:6px;font-weight:600;margin:14px 0 8px}
.passed{background:#e3f4e8;color:#155d2c}.rolled_back,.triggered,.blocked,.needs_attention{background:#fde6e4;color:#8a1c12}
.superseded,.interrupted,.unfinished{background:#fff3d6;color:#7a5200}
.state{margin:4px 0}.note{background:#fff3d6;color:#7a5200;padding:6px 10px;border-radius:4px}.passed-text{color:#1b7a3a}.rolled_back-text,.triggered-text,.needs_attention-text,.blocked-text{color:#b3261e}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e6e9ef;vertical-align:top}th{background:#f4f6f9}
table.history td:first-child{white-space:nowrap;width:1%}
td.cell-ok,.state-passed,.state-applied{color:#1b7a3a;font-weight:600}td.cell-bad,.state-rolled_back,.state-triggered,.state-needs_attention{color:#b3261e;font-weight:700}
td.cell-dim{color:#7a8291}
table.evidence td:nth-child(2){width:32%;font-family:ui-monospace,monospace;font-size:12px;word-break:break-word}
ul.criteria,ul.actions{list-style:none;padding:0}ul.criteria li,ul.actions li{padding:4px 0}.st{display:inline-block;width:76px;white-space:nowrap;font-weight:600}
li.criterion-failed{background:#fdf0ee;border-left:3px solid #b3261e;padding-left:6px}
.st-passed{color:#1b7a3a}.st-failed{color:#b3261e}.st-open{color:#7a8291}
.charts{display:flex;flex-direction:column;gap:12px}.chart{border:1px solid #e6e9ef;border-radius:6px;background:#fff;width:100%;height:auto;display:block}
.chart-title{font-size:13px;font-weight:600;fill:#1d2430}.tick,.legend{font-size:11px;fill:#5b6575}.legend-title{font-size:11px;font-weight:600;fill:#1d2430}
.value{font-size:11px;font-weight:600;fill:#1d2430}.panel-title{font-size:12px;font-weight:600;fill:#1d2430}.panel-title.worse{fill:#b3261e}
.axis{stroke:#8a93a3}.grid{stroke:#eef0f4}
.before{fill:#8fa8c8}.after{fill:#2f6db3}.series{fill:none;stroke:#2f6db3;stroke-width:2}.dot{fill:#2f6db3}
.limit{stroke:#b3261e;stroke-dasharray:4 3}.limit-text{font-size:11px;fill:#b3261e}
.stage-ok{fill:#bfe3cb}.stage-bad{fill:#f5b5ae}.stage-skipped{fill:#e6e9ef}.stage-name{font-size:11px;fill:#1d2430}.stage-name.st-bad{fill:#b3261e;font-weight:700}
.mk-line{stroke:#8a93a3;stroke-dasharray:2 3}.mk-num{font-size:10px;font-weight:700;fill:#1d2430}
.mk-trigger,.mk-alert-critical{fill:#b3261e}.mk-alert-warning{fill:#d08a00}.mk-alert-info{fill:#2f6db3}.mk-rollback{fill:#5b6575}
@media print{body{margin:0;max-width:none;font-size:11.5px;line-height:1.35}th,td{padding:3px 6px}h2{font-size:15px;margin:16px 0 6px}h3{font-size:13px;margin:8px 0 2px}ul.criteria li,ul.actions li{padding:2px 0}.charts{gap:6px}.chart{break-inside:avoid}h2{break-after:avoid}.headline{border:1px solid currentColor}}
`;
