/**
 * The dashboard: one page, inline CSS and JS, no build step and no dependency. Charts are inline
 * SVG drawn from the events (a guard window has at most a few hundred points: nothing a chart
 * library would earn its weight for). Views: #run[/<id>] (follows the latest run), #monitor,
 * #history, and #fleet once the server has a fleet data function. Client code avoids template
 * literals so this file can hold it in one String.raw.
 */
export const PAGE = String.raw`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>pgharden dashboard</title>
<style>
:root { --fg:#1d232b; --muted:#5f6b7a; --line:#d9dee5; --ok:#1e7f3c; --bad:#b3261e; --warn:#a15c00; --info:#2457a6; --bg:#f6f7f9; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; align-items:center; gap:18px; padding:10px 20px; background:#1d232b; color:#fff; }
header b { font-size:16px; letter-spacing:.02em; }
header nav a { color:#c9d3df; text-decoration:none; margin-right:14px; padding:4px 2px; }
header nav a.on { color:#fff; border-bottom:2px solid #7fb3ff; }
#db { color:#9fb0c3; }
.live { margin-left:auto; font-size:12px; color:#9fb0c3; } .live.up { color:#7be08f; }
main { padding:16px 20px 40px; max-width:1280px; margin:0 auto; }
h1 { font-size:20px; margin:0; } h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); margin:18px 0 8px; }
.runhead { display:flex; align-items:center; gap:12px; }
.badge { display:inline-block; padding:2px 10px; border-radius:12px; font-weight:600; font-size:12px; background:#e4e8ee; color:var(--fg); }
.badge.passed, .badge.rolled_back.ok { background:#dcf2e3; color:var(--ok); }
.badge.rolled_back, .badge.triggered, .badge.needs_attention, .badge.failed { background:#fbe1df; color:var(--bad); }
.badge.running { background:#e1ebfb; color:var(--info); }
.meta { color:var(--muted); margin:4px 0 0; }
.grid { display:grid; grid-template-columns: 1.3fr 1fr; gap:20px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
ol.checklist { list-style:none; margin:0; padding:0; }
ol.checklist li { display:grid; grid-template-columns:22px 90px 60px 1fr; gap:6px; padding:5px 0; border-bottom:1px solid #eef1f4; align-items:baseline; }
ol.checklist li:last-child { border-bottom:0; }
.mark { font-weight:700; text-align:center; }
li[data-state=ok] .mark { color:var(--ok); } li[data-state=failed] .mark { color:var(--bad); }
li[data-state=running] .mark { color:var(--info); } li[data-state=pending] { color:#9aa4b1; }
.ms { color:var(--muted); text-align:right; font-variant-numeric:tabular-nums; }
.sum { color:#3b4450; font-size:13px; overflow-wrap:anywhere; }
.charts { display:grid; grid-template-columns:repeat(3, 1fr); gap:14px; }
figure.chart { margin:0; background:#fff; border:1px solid var(--line); border-radius:8px; padding:8px 10px; }
figure.chart figcaption { font-weight:600; font-size:13px; } figure.chart .now { float:right; color:var(--muted); font-weight:400; font-variant-numeric:tabular-nums; }
svg .series { fill:none; stroke:#2457a6; stroke-width:2; } svg .pt { fill:#2457a6; }
svg .limit { stroke:var(--bad); stroke-dasharray:5 4; stroke-width:1.5; } svg .limit-label { fill:var(--bad); font-size:10px; }
svg .soft { stroke:var(--warn); stroke-dasharray:3 3; stroke-width:1.2; } svg .soft-label { fill:var(--warn); font-size:10px; }
svg .axis { stroke:#c5ccd6; } svg .tick { fill:#7a8594; font-size:10px; } svg .empty { fill:#9aa4b1; font-size:12px; }
ul.alerts { list-style:none; padding:0; margin:0; }
ul.alerts li { padding:6px 8px; border-left:4px solid var(--info); background:#f3f6fb; margin-bottom:6px; border-radius:4px; font-size:13px; }
ul.alerts li.critical { border-color:var(--bad); background:#fdf0ef; } ul.alerts li.warning { border-color:var(--warn); background:#fdf6ec; }
ul.alerts li.none { border-color:var(--line); background:none; color:var(--muted); }
table { border-collapse:collapse; width:100%; background:#fff; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid #eef1f4; font-size:13px; vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12px; }
td.fired { color:var(--bad); font-weight:700; } td.okv { color:var(--ok); }
ol.events { font:12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; color:#3b4450; max-height:220px; overflow:auto; background:#fff; border:1px solid var(--line); border-radius:8px; padding:8px 8px 8px 44px; margin:0; }
.bar { position:relative; height:22px; background:#eef1f4; border-radius:4px; overflow:visible; margin:6px 0 16px; }
.bar span.seg { position:absolute; top:0; bottom:0; }
.bar .mk { position:absolute; top:-4px; bottom:-4px; width:2px; background:var(--bad); } .bar .mk.soft { background:var(--warn); }
.bar .mk i { position:absolute; top:24px; left:-30px; width:140px; font-size:10px; font-style:normal; color:var(--bad); } .bar .mk.soft i { color:var(--warn); }
.legend span { margin-right:12px; font-size:12px; } .legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; vertical-align:-1px; }
.big { font-size:22px; font-weight:700; font-variant-numeric:tabular-nums; }
button.danger { background:var(--bad); color:#fff; border:0; border-radius:6px; padding:7px 14px; font-weight:600; cursor:pointer; }
.note { color:var(--muted); font-size:12px; }
.counts { display:flex; flex-wrap:wrap; gap:10px; margin:14px 0 4px; }
.count { background:#fff; border:1px solid var(--line); border-radius:8px; padding:6px 12px; color:var(--muted); }
.count i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:6px; }
.count .big { color:var(--fg); }
#fleet-targets div.clip { max-width:170px; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.bar.slim { height:14px; margin:2px 0 2px; overflow:hidden; }
.badge.done { background:#dcf2e3; color:var(--ok); } .badge.stopped, .badge.blocked { background:#fbe1df; color:var(--bad); }
.badge.completed { background:#fdf0d9; color:var(--warn); }
</style></head>
<body>
<header><b>pgharden</b><span id="db"></span>
<nav><a href="#run" data-view="run">Run</a><a href="#monitor" data-view="monitor">Monitor</a><a href="#history" data-view="history">History</a><a href="#fleet" data-view="fleet" id="fleet-tab" hidden>Fleet</a></nav>
<span id="live" class="live">○ connecting</span></header>
<main>
<section id="view-run">
  <div class="runhead"><h1 id="run-title">No run yet</h1><span id="outcome" class="badge"></span></div>
  <div class="meta" id="run-meta">Waiting for a run of pgharden run / apply / rollback / guard on this database…</div>
  <div class="grid">
    <div><h2>Runbook</h2><div class="card"><ol id="checklist" class="checklist"></ol></div></div>
    <div><h2>Firing alerts</h2><ul id="run-alerts" class="alerts"></ul>
      <h2>Rollback triggers</h2><table id="triggers"><thead><tr><th>trigger</th><th>now</th><th>limit</th><th></th></tr></thead><tbody></tbody></table>
      <div id="actions"></div></div>
  </div>
  <h2>Guard window <span id="guard-note" class="note"></span></h2>
  <div class="charts">
    <figure class="chart" id="chart-failure"></figure>
    <figure class="chart" id="chart-p95"></figure>
    <figure class="chart" id="chart-connections"></figure>
  </div>
  <h2>Events</h2><ol id="events" class="events"></ol>
</section>
<section id="view-monitor" hidden>
  <div class="runhead"><h1>Monitor</h1><span id="mon-at" class="note"></span></div>
  <div class="grid">
    <div>
      <h2>Connections by state</h2><div class="card"><div><span class="big" id="mon-total">–</span> <span class="note" id="mon-limit"></span></div>
        <div class="bar" id="mon-bar"></div><div class="legend" id="mon-legend"></div></div>
      <h2>Longest query</h2><div class="card"><span class="big" id="mon-query">–</span> <span class="note" id="mon-query-limit"></span><div class="bar" id="mon-query-bar"></div></div>
      <h2>Longest idle transaction</h2><div class="card"><span class="big" id="mon-idle">–</span> <span class="note" id="mon-idle-limit"></span><div class="bar" id="mon-idle-bar"></div></div>
    </div>
    <div>
      <h2>Firing alerts</h2><ul id="mon-alerts" class="alerts"></ul>
      <h2>Sessions still on old settings</h2><div class="card"><span class="big" id="mon-old">–</span> <span class="note" id="mon-old-note"></span>
        <table id="mon-old-table"><thead><tr><th>pid</th><th>user</th><th>application</th><th>state</th><th>since</th></tr></thead><tbody></tbody></table></div>
      <h2>Connections over time</h2><figure class="chart" id="chart-mon-conn"></figure>
    </div>
  </div>
</section>
<section id="view-history" hidden>
  <h1>History</h1><h2>Runs recorded in this database's pgharden schema</h2>
  <table id="history"><thead><tr><th>run</th><th>command</th><th>outcome</th><th>state</th><th>started</th><th>finished</th><th>operator</th><th>approved by</th><th>report</th></tr></thead><tbody></tbody></table>
</section>
<section id="view-fleet" hidden>
  <!-- Drawn by renderFleet() from GET /api/fleet (DashboardData.fleetStatus), polled every 2 s. -->
  <div id="fleet"><h1>Fleet</h1></div>
</section>
</main>
<script>
(function () {
"use strict";
var CONFIG = __CONFIG__;
var RUN_STAGES = ["preflight", "load", "rehearsal", "apply", "verify", "alerting", "guard", "rollback"];
var EXPECTED = { run: ["preflight", "apply", "verify", "alerting", "guard"], apply: ["apply"], rollback: ["rollback"], guard: ["guard"] };
var $ = function (id) { return document.getElementById(id); };
var esc = function (s) { return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); };
var secs = function (ms) { return ms == null ? "–" : ms < 1000 ? Math.round(ms) + "ms" : (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + "s"; };
var pct = function (v) { return v == null ? "–" : (v * 100).toFixed(2) + "%"; };
var when = function (iso) { return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, " UTC") : ""; };

var run = null, follow = true, seen = {}, monitorSeries = [], runsHistory = [];

function newRun(id) {
  return { id: id, command: null, database: null, stages: {}, order: [], samples: [], windowMs: null, alerts: {}, triggers: [], fired: [], outcome: null, reports: null, log: [], maxId: 0, guardElapsed: null, loading: true, queued: [] };
}

function apply(stored) {
  var e = stored.event;
  if (!run || e.runId !== run.id) return;
  // Live events that arrive while the run's journal is being read wait for it: the journal comes first.
  if (run.loading && !stored.fromJournal) { run.queued.push(stored); return; }
  if (stored.id <= run.maxId) return;
  run.maxId = stored.id;
  run.log.push(e);
  switch (e.type) {
    case "run.started": run.command = run.command || e.command; run.database = e.database; break;
    case "stage.started": if (run.order.indexOf(e.stage) < 0) run.order.push(e.stage); run.stages[e.stage] = { state: "running", what: e.what }; break;
    case "probe.progress": if (run.stages[e.stage]) run.stages[e.stage].what = e.running.length + " probe(s) waiting, at most " + secs(e.remainingMs) + " left"; break;
    case "stage.finished": if (run.order.indexOf(e.stage) < 0) run.order.push(e.stage); run.stages[e.stage] = { state: e.skipped ? "skipped" : e.ok ? "ok" : "failed", ms: e.ms, summary: e.summary }; break;
    case "guard.started": run.windowMs = e.windowMs; run.samples = []; break;
    case "guard.sample": run.samples.push(e); run.triggers = e.triggers; run.windowMs = e.windowMs; run.guardElapsed = e.elapsedMs;
      if (run.stages.guard && run.stages.guard.state === "running") run.stages.guard.what = secs(e.elapsedMs) + " of " + secs(e.windowMs) + ", " + e.connections + "/" + e.connectionLimit + " connections"; break;
    case "alert.fired": run.alerts[e.key] = e; break;
    case "alert.resolved": delete run.alerts[e.key]; break;
    case "trigger.fired": run.fired.push(e); break;
    case "report.written": run.reports = e.files; break;
    case "run.outcome": run.outcome = e; break;
  }
}

function stageList() {
  var names = (EXPECTED[run.command] || []).slice();
  run.order.forEach(function (s) { if (names.indexOf(s) < 0) names.push(s); });
  names.sort(function (a, b) { return RUN_STAGES.indexOf(a) - RUN_STAGES.indexOf(b); });
  return names;
}

function renderRun() {
  if (!run) return;
  $("run-title").textContent = (run.command || "run") + " " + run.id;
  var out = run.outcome ? run.outcome.outcome : "running";
  var badge = $("outcome");
  badge.textContent = out.replace(/_/g, " ").toUpperCase();
  badge.className = "badge " + out;
  var meta = [run.database ? "database " + run.database : null];
  if (run.outcome && run.outcome.error) meta.push(run.outcome.error);
  if (run.outcome && run.outcome.next) meta.push("next: " + run.outcome.next);
  $("run-meta").innerHTML = esc(meta.filter(Boolean).join(" · ")) + (run.reports || hasReport(run.id) ? ' · <a id="report-link" href="/report/' + encodeURIComponent(run.id) + '" target="_blank">report</a>' : "");
  var marks = { ok: "✔", failed: "✘", running: "…", pending: "○", skipped: "–" };
  $("checklist").innerHTML = stageList().map(function (name) {
    var s = run.stages[name] || { state: "pending" };
    return '<li data-stage="' + esc(name) + '" data-state="' + s.state + '"><span class="mark">' + marks[s.state] + '</span><b>' + esc(name) + '</b><span class="ms">' + (s.ms != null ? secs(s.ms) : "") + '</span><span class="sum">' + esc(s.summary || s.what || "") + "</span></li>";
  }).join("");
  var alerts = Object.keys(run.alerts).map(function (k) { return run.alerts[k]; });
  $("run-alerts").innerHTML = alerts.length ? alerts.map(function (a) { return '<li class="' + esc(a.severity) + '" data-rule="' + esc(a.rule) + '"><b>' + esc(a.severity) + " " + esc(a.rule) + "</b> " + esc(a.message) + "</li>"; }).join("") : '<li class="none">none firing</li>';
  $("triggers").querySelector("tbody").innerHTML = run.triggers.map(function (t) {
    var now = t.trigger === "timeout_errors_increase" ? pct(t.after) : t.trigger === "latency_degradation" ? (t.after == null ? "–" : t.after.toFixed(2) + "ms") : t.after == null ? "–" : String(t.after);
    var lim = typeof t.threshold === "number" ? (t.trigger === "timeout_errors_increase" ? "+" + pct(t.threshold) + " pts" : "+" + Math.round(t.threshold * 100) + "%") : t.threshold ? "on" : "off";
    return '<tr title="' + esc(t.summary) + '"><td>' + esc(t.trigger) + "</td><td>" + esc(now) + "</td><td>" + esc(lim) + '</td><td class="' + (t.fired ? "fired" : t.measured ? "okv" : "") + '">' + (t.fired ? "FIRED" : t.measured ? "ok" : "not measured") + "</td></tr>";
  }).join("");
  $("guard-note").textContent = run.windowMs ? (run.guardElapsed != null ? secs(Math.min(run.guardElapsed, run.windowMs)) + " of " + secs(run.windowMs) + ", " : "") + run.samples.length + " samples" : "";
  var x = function (s) { return s.elapsedMs; };
  var last = run.samples[run.samples.length - 1];
  chart($("chart-failure"), "Failed-transaction rate", run.samples.filter(function (s) { return s.failureRate.value != null; }).map(function (s) { return [x(s), s.failureRate.value * 100]; }),
    last && last.failureRate.limit != null ? [{ y: last.failureRate.limit * 100, label: "trigger " + (last.failureRate.limit * 100).toFixed(1) + "%" }] : [], function (v) { return v.toFixed(1) + "%"; }, "not measured yet (needs 20 transactions)");
  chart($("chart-p95"), "p95 latency (load sample)", run.samples.filter(function (s) { return s.p95Ms.value != null; }).map(function (s) { return [x(s), s.p95Ms.value]; }),
    last && last.p95Ms.limit != null ? [{ y: last.p95Ms.limit, label: "trigger " + last.p95Ms.limit.toFixed(1) + "ms" }] : [], function (v) { return v.toFixed(1) + "ms"; }, "not measured: run with --load");
  chart($("chart-connections"), "Connections vs limit", run.samples.map(function (s) { return [x(s), s.connections]; }),
    last ? [{ y: last.connectionLimit, label: "limit " + last.connectionLimit }, { y: last.saturationAt, label: "pool_exhaustion ≥ " + last.saturationAt, soft: true }] : [], function (v) { return String(Math.round(v)); }, "no reading yet");
  $("events").innerHTML = run.log.slice(-40).map(function (e) { return "<li>" + esc(e.at.slice(11, 23)) + " " + esc(e.type) + " " + esc(describe(e)) + "</li>"; }).join("");
  $("events").scrollTop = 1e9;
  renderActions();
}

function describe(e) {
  switch (e.type) {
    case "stage.started": return e.stage + ": " + e.what;
    case "stage.finished": return e.stage + (e.ok ? " ok " : " FAILED ") + secs(e.ms);
    case "change.applied": case "rollback.step": return e.sql;
    case "guard.sample": return secs(e.elapsedMs) + " connections " + e.connections + "/" + e.connectionLimit + (e.failureRate.value != null ? " failed " + pct(e.failureRate.value) : "");
    case "alert.fired": case "alert.resolved": return e.rule + ": " + e.message;
    case "trigger.fired": return e.trigger + ": " + e.summary;
    case "run.outcome": return e.outcome;
    case "action.requested": return e.action + " by " + e.by + " from " + e.from;
    default: return "";
  }
}

/** A line chart in inline SVG: points [x ms, y], threshold lines, x over the guard window. */
function chart(fig, title, points, lines, fmt, emptyText, xMaxOverride) {
  var W = 400, H = 170, L = 44, R = 8, T = 10, B = 22;
  var xMax = xMaxOverride || Math.max(run && run.windowMs || 1000, points.length ? points[points.length - 1][0] : 0);
  var yMax = Math.max.apply(null, [1e-9].concat(points.map(function (p) { return p[1]; }), lines.map(function (l) { return l.y; }))) * 1.15;
  var sx = function (v) { return L + (W - L - R) * v / xMax; };
  var sy = function (v) { return T + (H - T - B) * (1 - v / yMax); };
  var svg = '<svg viewBox="0 0 ' + W + " " + H + '" width="100%" role="img" aria-label="' + esc(title) + '">';
  svg += '<line class="axis" x1="' + L + '" y1="' + sy(0) + '" x2="' + (W - R) + '" y2="' + sy(0) + '"/><line class="axis" x1="' + L + '" y1="' + T + '" x2="' + L + '" y2="' + sy(0) + '"/>';
  svg += '<text class="tick" x="' + (L - 4) + '" y="' + (sy(0) + 3) + '" text-anchor="end">' + esc(fmt(0)) + '</text><text class="tick" x="' + (L - 4) + '" y="' + (T + 8) + '" text-anchor="end">' + esc(fmt(yMax)) + "</text>";
  svg += '<text class="tick" x="' + L + '" y="' + (H - 6) + '">0s</text><text class="tick" x="' + (W - R) + '" y="' + (H - 6) + '" text-anchor="end">' + esc(secs(xMax)) + "</text>";
  lines.forEach(function (l) {
    // Hard limits are labelled above their line at the right, soft ones below it at the left: close lines stay readable.
    svg += '<line class="' + (l.soft ? "soft" : "limit") + '" x1="' + L + '" x2="' + (W - R) + '" y1="' + sy(l.y) + '" y2="' + sy(l.y) + '"/>' +
      (l.soft ? '<text class="soft-label" x="' + (L + 4) + '" y="' + (sy(l.y) + 11) + '">' : '<text class="limit-label" x="' + (W - R - 2) + '" y="' + (sy(l.y) - 3) + '" text-anchor="end">') + esc(l.label) + "</text>";
  });
  if (points.length) {
    svg += '<polyline class="series" points="' + points.map(function (p) { return sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1); }).join(" ") + '"/>';
    svg += points.map(function (p) { return '<circle class="pt" r="2.2" cx="' + sx(p[0]).toFixed(1) + '" cy="' + sy(p[1]).toFixed(1) + '"/>'; }).join("");
  } else svg += '<text class="empty" x="' + (W / 2) + '" y="' + (H / 2) + '" text-anchor="middle">' + esc(emptyText) + "</text>";
  fig.dataset.points = String(points.length);
  var now = points.length ? fmt(points[points.length - 1][1]) : "";
  fig.innerHTML = "<figcaption>" + esc(title) + '<span class="now">' + esc(now) + "</span></figcaption>" + svg + "</svg>";
}

function hasReport(id) { return runsHistory.some(function (h) { return h.id === id && h.hasReport; }); }

function renderActions() {
  var box = $("actions");
  var row = runsHistory.filter(function (h) { return run && h.id === run.id; })[0];
  var inPlace = row && ["applied", "passed", "triggered", "needs_attention", "guarding", "verifying", "applying"].indexOf(row.status) >= 0;
  if (!CONFIG.actions) { box.innerHTML = '<p class="note">Read-only dashboard (actions need pgharden serve --allow-actions).</p>'; return; }
  box.innerHTML = inPlace && run.outcome ? '<h2>Actions</h2><button class="danger" id="rollback-btn">Roll back this run…</button>' : "";
  var b = $("rollback-btn");
  if (b) b.onclick = rollbackRun;
}

function rollbackRun() {
  var by = prompt("Roll back run " + run.id + "?\nEvery action is journaled with who did it. Your name:");
  if (!by) return;
  if (!confirm("Restore the values captured before run " + run.id + " on " + CONFIG.database + " now? (" + by + ")")) return;
  fetch("/api/runs/" + encodeURIComponent(run.id) + "/rollback", { method: "POST", headers: { "content-type": "application/json", "x-pgharden-action": "1" }, body: JSON.stringify({ by: by, confirm: run.id }) })
    .then(function (r) { return r.json(); }).then(function (r) { alert(r.message || r.error); loadHistory(); });
}

function loadRun(id) {
  run = newRun(id);
  return fetch("/api/runs/" + encodeURIComponent(id) + "/events").then(function (r) { return r.json(); }).then(function (events) {
    if (!run || run.id !== id) return;
    events.forEach(function (s) { s.fromJournal = true; apply(s); });
    run.loading = false;
    run.queued.sort(function (a, b) { return a.id - b.id; }).forEach(apply);
    run.queued = [];
    renderRun();
  });
}

function loadHistory() {
  return fetch("/api/history").then(function (r) { return r.json(); }).then(function (rows) {
    runsHistory = rows;
    $("history").querySelector("tbody").innerHTML = rows.map(function (h) {
      return '<tr><td><a href="#run/' + encodeURIComponent(h.id) + '">' + esc(h.id) + "</a></td><td>" + esc(h.command) + '</td><td><span class="badge ' + esc(h.outcome || h.status) + '">' + esc(h.outcome || "–") + "</span></td><td>" + esc(h.status) + "</td><td>" + esc(when(h.startedAt)) + "</td><td>" + esc(when(h.finishedAt)) + "</td><td>" + esc(h.operator) + "</td><td>" + esc(h.approvedBy || "") + "</td><td>" + (h.hasReport ? '<a href="/report/' + encodeURIComponent(h.id) + '" target="_blank">report</a>' : "") + "</td></tr>";
    }).join("");
    if (run) renderRun();
    return rows;
  });
}

function renderMonitor(s) {
  $("mon-at").textContent = s.error ? "cannot sample: " + s.error : "sampled " + when(s.at);
  var c = s.connections, colours = { active: "#2457a6", idle: "#9fb7d9", "idle in transaction": "#c77c02", "idle in transaction (aborted)": "#b3261e" };
  $("mon-total").textContent = String(c.total);
  $("mon-limit").textContent = "of " + c.limit + " (" + (c.limitSource === "datconnlimit" ? "database connection limit" : "max_connections minus reserved") + ")";
  var scale = Math.max(c.limit, c.total, 1);
  var left = 0, segs = "", legend = "";
  Object.keys(c.byState).sort().forEach(function (st) {
    var w = 100 * c.byState[st] / scale, col = colours[st] || "#7a8594";
    segs += '<span class="seg" style="left:' + left + "%;width:" + w + "%;background:" + col + '" title="' + esc(st) + '"></span>';
    legend += '<span><i style="background:' + col + '"></i>' + esc(st) + " " + c.byState[st] + "</span>";
    left += w;
  });
  if (c.alertShare != null) segs += '<span class="mk soft" style="left:' + (100 * c.alertShare * c.limit / scale) + '%"><i>alert ' + Math.round(c.alertShare * 100) + "%</i></span>";
  segs += '<span class="mk" style="left:' + (100 * c.limit / scale) + '%"><i>limit ' + c.limit + "</i></span>";
  $("mon-bar").innerHTML = segs;
  $("mon-legend").innerHTML = legend + '<span class="note">(the monitor\'s own session not counted by state)</span>';
  gauge("mon-query", s.longestQueryMs, s.longQueryThresholdMs, "long_query alert over ");
  gauge("mon-idle", s.longestIdleInTransactionMs, s.idleThresholdMs, "idle_in_transaction alert over ");
  $("mon-alerts").innerHTML = s.alerts.length ? s.alerts.map(function (a) { return '<li class="' + esc(a.severity) + '" data-rule="' + esc(a.rule) + '"><b>' + esc(a.severity) + " " + esc(a.rule) + "</b> " + esc(a.message) + "</li>"; }).join("") : '<li class="none">none firing</li>';
  $("mon-old").textContent = s.rollout ? String(s.rollout.onOldSettings) : "–";
  $("mon-old-note").textContent = s.rollout ? "of " + s.rollout.sessions + " sessions started before the apply at " + when(s.rollout.appliedAt) + " (" + s.rollout.idleOnOldSettings + " idle)" : "no applied run on record";
  $("mon-old-table").querySelector("tbody").innerHTML = s.oldSessions.map(function (o) { return "<tr><td>" + o.pid + "</td><td>" + esc(o.usename) + "</td><td>" + esc(o.applicationName) + "</td><td>" + esc(o.state) + "</td><td>" + esc(when(o.backendStart)) + "</td></tr>"; }).join("");
  monitorSeries.push([Date.parse(s.at), c.total]);
  if (monitorSeries.length > 120) monitorSeries.shift();
  var t0 = monitorSeries[0][0];
  var pts = monitorSeries.map(function (p) { return [p[0] - t0, p[1]]; });
  var lines = [{ y: c.limit, label: "limit " + c.limit }];
  if (c.alertShare != null) lines.push({ y: c.alertShare * c.limit, label: "alert " + Math.round(c.alertShare * 100) + "%", soft: true });
  chart($("chart-mon-conn"), "Connections", pts, lines, function (v) { return String(Math.round(v)); }, "sampling…", Math.max(10000, pts[pts.length - 1][0]));
}

function gauge(id, value, threshold, label) {
  $(id).textContent = secs(value);
  $(id + "-limit").textContent = threshold != null ? label + secs(threshold) : "no threshold in the policy";
  var scale = Math.max(value, (threshold || 1) * 1.5);
  $(id + "-bar").innerHTML = '<span class="seg" style="left:0;width:' + (100 * value / scale) + "%;background:" + (threshold != null && value > threshold ? "#b3261e" : "#2457a6") + '"></span>' +
    (threshold != null ? '<span class="mk" style="left:' + (100 * threshold / scale) + '%"><i>' + secs(threshold) + "</i></span>" : "");
}

/** The fleet rollout: state, counts, waves as stacked bars, failures with reasons, every target; pause/resume with --allow-actions. */
var FLEET_STATES = ["passed", "running", "pending", "rolled_back", "failed", "blocked", "needs_attention"];
var FLEET_COLOURS = { passed: "#1e7f3c", running: "#2457a6", pending: "#c5ccd6", rolled_back: "#b3261e", failed: "#7a1712", blocked: "#a15c00", needs_attention: "#d9480f" };
var fleet = null, fleetTimer = null;
function stateBar(counts, total) {
  var left = 0;
  return FLEET_STATES.map(function (st) {
    var w = total ? 100 * counts[st] / total : 0, seg = w ? '<span class="seg" style="left:' + left + "%;width:" + w + "%;background:" + FLEET_COLOURS[st] + '" title="' + esc(st) + " " + counts[st] + '"></span>' : "";
    left += w;
    return seg;
  }).join("");
}
function renderFleet(f) {
  fleet = f;
  if (!f || f.error) { $("fleet").innerHTML = '<p class="note">' + esc(f && f.error ? f.error : "No fleet in the control database yet (pgharden fleet plan / run).") + "</p>"; return; }
  var h = '<div class="runhead"><h1 id="fleet-name">' + esc(f.fleet) + '</h1><span id="fleet-status" class="badge ' + esc(f.status) + '">' + esc(f.status.toUpperCase()) + "</span>" +
    (f.paused ? '<span id="fleet-paused" class="badge triggered">PAUSED</span>' : "") + "</div>";
  var meta = [f.total + " targets in " + f.waves.length + " waves", "policy " + f.policySource, f.startedAt ? "started " + when(f.startedAt) : "not started", f.finishedAt ? "finished " + when(f.finishedAt) : null];
  if (f.paused) meta.push("paused by " + (f.pausedBy || "?"));
  if (f.status === "running" && !f.paused && Date.parse(f.waveReadyAt) > Date.now()) meta.push("wave " + f.currentWave + " starts at " + when(f.waveReadyAt));
  h += '<div class="meta">' + esc(meta.filter(Boolean).join(" · ")) + "</div>";
  if (f.stopReason) h += '<ul class="alerts"><li class="critical" id="fleet-stop"><b>stopped</b> ' + esc(f.stopReason) + "</li></ul>";
  h += '<div class="counts">' + FLEET_STATES.map(function (st) {
    return '<div class="count" data-state="' + st + '"><i style="background:' + FLEET_COLOURS[st] + '"></i><span class="big" id="fleet-count-' + st + '">' + f.counts[st] + "</span> " + esc(st.replace(/_/g, " ")) + "</div>";
  }).join("") + "</div>";
  h += '<div class="grid"><div><h2>Waves</h2><div class="card"><table id="fleet-waves"><thead><tr><th>wave</th><th>state</th><th>size</th><th>max failures</th><th style="width:45%">targets by state</th></tr></thead><tbody>' +
    f.waves.map(function (w) {
      var done = w.counts.passed + w.counts.rolled_back + w.counts.failed + w.counts.blocked + w.counts.needs_attention;
      return '<tr data-wave="' + w.wave + '" data-state="' + w.state + '"><td><b>' + w.wave + '</b></td><td><span class="badge ' + esc(w.state) + '">' + esc(w.state) + "</span></td><td>" + w.size + "</td><td>" + w.maxFailures +
        '</td><td><div class="bar slim">' + stateBar(w.counts, w.size) + '</div><span class="note">' + done + " of " + w.size + " done" + (w.counts.running ? ", " + w.counts.running + " running" : "") + "</span></td></tr>";
    }).join("") + "</tbody></table></div>";
  h += '<h2>Workers</h2><div class="card">' + (f.workers.length ? f.workers.map(function (w) { return "<div>" + esc(w.worker) + ": " + w.targets + " target(s), lease until " + esc(when(w.leaseUntil)) + "</div>"; }).join("") : '<span class="note">none holding a claim</span>') + "</div>";
  h += '<div id="fleet-actions">' + (CONFIG.actions ? (f.status === "stopped" || f.status === "passed" || f.status === "completed" ? "" :
    '<h2>Actions</h2>' + (f.paused ? '<button class="danger" id="fleet-resume-btn">Resume the fleet…</button>' : '<button class="danger" id="fleet-pause-btn">Pause the fleet…</button>')) :
    '<p class="note">Read-only dashboard (pause/resume need pgharden serve --allow-actions).</p>') + "</div></div>";
  h += '<div><h2>Failures</h2><ul class="alerts" id="fleet-failures">' + (f.failures.length ? f.failures.map(function (x) {
    return '<li class="critical" data-target="' + esc(x.key) + '"><b>' + esc(x.key) + "</b> wave " + x.wave + ", " + esc(x.state.replace(/_/g, " ")) + (x.rolledBack ? " (its run rolled it back)" : "") + ": " + esc(x.reason) + (x.runId ? ' <span class="note">run ' + esc(x.runId) + "</span>" : "") + "</li>";
  }).join("") : '<li class="none">none</li>') + "</ul>";
  if (f.untouched.length && (f.status === "stopped" || f.paused)) h += '<h2>Untouched</h2><div class="card note">' + esc(f.untouched.join(", ")) + "</div>";
  h += "</div></div>";
  h += '<h2>Targets</h2><table id="fleet-targets"><thead><tr><th>#</th><th>target</th><th>wave</th><th>state</th><th>attempts</th><th>run</th><th>worker</th><th>time</th><th>outcome / error</th></tr></thead><tbody>' +
    f.targets.map(function (t) {
      return '<tr data-target="' + esc(t.key) + '" data-state="' + t.state + '"><td>' + t.position + "</td><td>" + esc(t.key) + "</td><td>" + t.wave + '</td><td><span class="badge ' + esc(t.state) + '">' + esc(t.state.replace(/_/g, " ")) + "</span>" + (t.leaseExpired ? ' <span class="note">lease expired</span>' : "") +
        "</td><td>" + t.attempts + "</td><td>" + esc(t.runId || "") + "</td><td>" + esc(t.worker || "") + '</td><td class="ms">' + (t.ms != null ? secs(t.ms) : "") + '</td><td class="sum"><div class="clip" title="' + esc(t.error || t.outcome || "") + '">' + esc(t.error || t.outcome || "") + "</div></td></tr>";
    }).join("") + "</tbody></table>";
  $("fleet").innerHTML = h;
  var p = $("fleet-pause-btn"), r = $("fleet-resume-btn");
  if (p) p.onclick = function () { fleetAction("pause"); };
  if (r) r.onclick = function () { fleetAction("resume"); };
}
function fleetAction(action) {
  var by = prompt((action === "pause" ? "Pause" : "Resume") + " fleet " + fleet.fleet + "?\nEvery action is journaled with who did it. Your name:");
  if (!by) return;
  if (!confirm((action === "pause" ? "Pause fleet " + fleet.fleet + " now? Workers finish the targets in hand and claim no more." : "Resume fleet " + fleet.fleet + " now? Workers waiting on it claim the next targets.") + " (" + by + ")")) return;
  fetch("/api/fleet/" + action, { method: "POST", headers: { "content-type": "application/json", "x-pgharden-action": "1" }, body: JSON.stringify({ by: by, confirm: fleet.fleet }) })
    .then(function (r) { return r.json(); }).then(function (r) { alert(r.message || r.error); loadFleet(); });
}
function loadFleet() {
  return fetch("/api/fleet").then(function (r) { return r.json(); }).then(renderFleet, function (err) { renderFleet({ error: "cannot read the fleet: " + err.message }); });
}
/** The control database has no notifications: the page polls /api/fleet every 2 s while the Fleet tab is open. */
function followFleet(on) {
  if (fleetTimer) { clearInterval(fleetTimer); fleetTimer = null; }
  if (on) { loadFleet(); fleetTimer = setInterval(loadFleet, 2000); }
}

var source = null, view = null;
function connect(monitor) {
  if (source) source.close();
  source = new EventSource("/api/stream" + (monitor ? "?monitor=1" : ""));
  source.onopen = function () { $("live").textContent = "● live"; $("live").className = "live up"; };
  source.onerror = function () { $("live").textContent = "○ reconnecting"; $("live").className = "live"; };
  source.addEventListener("run", function (m) {
    var stored = JSON.parse(m.data), e = stored.event;
    if (follow && (!run || e.runId !== run.id) && (e.type === "run.started" || e.type === "run.id")) { loadRun(e.runId).then(loadHistory); return; }
    apply(stored);
    if (view === "run") renderRun();
    if (e.type === "run.outcome" || e.type === "report.written") loadHistory();
  });
  source.addEventListener("monitor", function (m) { renderMonitor(JSON.parse(m.data)); });
}

function route() {
  var h = location.hash.replace(/^#/, "") || "run";
  var parts = h.split("/");
  var next = parts[0];
  ["run", "monitor", "history", "fleet"].forEach(function (v) { $("view-" + v).hidden = v !== next; });
  document.querySelectorAll("header nav a").forEach(function (a) { a.className = a.dataset.view === next ? "on" : ""; });
  if (next === "run") {
    follow = !parts[1];
    if (parts[1]) loadRun(decodeURIComponent(parts[1]));
    else loadHistory().then(function (rows) { var latest = rows.filter(function (r) { return r.command === "run"; })[0] || rows[0]; if (latest && (!run || run.id !== latest.id)) loadRun(latest.id); });
  }
  if (next === "history") loadHistory();
  followFleet(next === "fleet");
  if ((next === "monitor") !== (view === "monitor") || !source) connect(next === "monitor");
  view = next;
}

$("db").textContent = CONFIG.database;
fetch("/api/fleet").then(function (r) { if (r.ok) $("fleet-tab").hidden = false; });
window.addEventListener("hashchange", route);
loadHistory().then(route);
})();
</script>
</body></html>`;
