/** Small inline-SVG charts: the HTML report must render with no network and print cleanly. */

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const W = 640;
const H = 220;
const PAD = { l: 56, r: 16, t: 24, b: 36 };

function frame(title: string, body: string, extraClass = ''): string {
  return `<svg class="chart ${extraClass}" role="img" aria-label="${esc(title)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">
<title>${esc(title)}</title>
<text x="${PAD.l}" y="16" class="chart-title">${esc(title)}</text>
<line x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}" class="axis"/>
<line x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${H - PAD.b}" class="axis"/>
${body}</svg>`;
}

const niceMax = (v: number) => {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v)!;
};

function yAxis(max: number, unit: string): string {
  return [0, 0.5, 1].map((f) => {
    const y = H - PAD.b - f * (H - PAD.t - PAD.b);
    return `<text x="${PAD.l - 6}" y="${y + 4}" class="tick" text-anchor="end">${+(max * f).toPrecision(3)}${unit}</text>
<line x1="${PAD.l}" y1="${y}" x2="${W - PAD.r}" y2="${y}" class="grid"/>`;
  }).join('\n');
}

/** Grouped bars: one group per label, one bar per series (e.g. p50/p95/p99 × before/after). */
export function barChart(title: string, labels: string[], series: { name: string; values: number[]; cls: string }[], unit: string): string {
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const groupW = (W - PAD.l - PAD.r) / labels.length;
  const barW = (groupW * 0.7) / series.length;
  const plotH = H - PAD.t - PAD.b;
  const bars = labels.map((label, i) => {
    const x0 = PAD.l + i * groupW + groupW * 0.15;
    const rects = series.map((s, j) => {
      const h = (s.values[i] / max) * plotH;
      return `<rect x="${x0 + j * barW}" y="${H - PAD.b - h}" width="${barW - 2}" height="${Math.max(h, 1)}" class="${s.cls}"><title>${esc(`${s.name} ${label}: ${s.values[i]}${unit}`)}</title></rect>`;
    }).join('');
    return `${rects}<text x="${x0 + (barW * series.length) / 2}" y="${H - PAD.b + 16}" class="tick" text-anchor="middle">${esc(label)}</text>`;
  }).join('\n');
  const legend = series.map((s, j) => `<rect x="${W - PAD.r - 150 + j * 75}" y="8" width="10" height="10" class="${s.cls}"/><text x="${W - PAD.r - 136 + j * 75}" y="17" class="tick">${esc(s.name)}</text>`).join('');
  return frame(title, yAxis(max, unit) + bars + legend, 'bar-chart');
}

/** A line over time (seconds since the start), with an optional horizontal limit line. */
export function lineChart(title: string, points: { x: number; y: number }[], unit: string, limit?: { y: number; label: string }): string {
  const maxX = Math.max(1, ...points.map((p) => p.x));
  const max = niceMax(Math.max(1, limit?.y ?? 0, ...points.map((p) => p.y)));
  const px = (x: number) => PAD.l + (x / maxX) * (W - PAD.l - PAD.r);
  const py = (y: number) => H - PAD.b - (y / max) * (H - PAD.t - PAD.b);
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
  const limitLine = limit ? `<line x1="${PAD.l}" y1="${py(limit.y)}" x2="${W - PAD.r}" y2="${py(limit.y)}" class="limit"/><text x="${W - PAD.r}" y="${py(limit.y) - 4}" class="tick" text-anchor="end">${esc(limit.label)}</text>` : '';
  const xLabel = `<text x="${W - PAD.r}" y="${H - 8}" class="tick" text-anchor="end">${maxX.toFixed(0)} s</text><text x="${PAD.l}" y="${H - 8}" class="tick">0 s</text>`;
  const body = points.length ? `<path d="${path}" class="series"/>` + points.map((p) => `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="2" class="dot"/>`).join('') : `<text x="${W / 2}" y="${H / 2}" class="tick" text-anchor="middle">no samples</text>`;
  return frame(title, yAxis(max, unit) + limitLine + body + xLabel, 'line-chart');
}

/** Stages as bars on a time axis, with events (triggers, alerts) as markers. */
export function timeline(title: string, spans: { label: string; start: number; end: number; ok: boolean }[], events: { at: number; label: string; severity: string }[]): string {
  const maxX = Math.max(1, ...spans.map((s) => s.end), ...events.map((e) => e.at));
  const px = (x: number) => PAD.l + (x / maxX) * (W - PAD.l - PAD.r);
  const rowH = Math.min(22, (H - PAD.t - PAD.b - 20) / Math.max(1, spans.length));
  const bars = spans.map((s, i) => {
    const y = PAD.t + 4 + i * rowH;
    return `<rect x="${px(s.start)}" y="${y}" width="${Math.max(2, px(s.end) - px(s.start))}" height="${rowH - 4}" class="${s.ok ? 'stage-ok' : 'stage-bad'}"><title>${esc(`${s.label}: ${(s.end - s.start).toFixed(1)} s`)}</title></rect>
<text x="${px(s.start) + 3}" y="${y + rowH - 8}" class="tick">${esc(s.label)}</text>`;
  }).join('\n');
  const marks = events.map((e) => `<path d="M${px(e.at)},${H - PAD.b} l-6,-12 h12 z" class="event-${esc(e.severity)}"><title>${esc(`${e.at.toFixed(1)} s: ${e.label}`)}</title></path>`).join('');
  const xLabel = `<text x="${W - PAD.r}" y="${H - 8}" class="tick" text-anchor="end">${maxX.toFixed(0)} s</text><text x="${PAD.l}" y="${H - 8}" class="tick">0 s</text>`;
  return frame(title, bars + marks + xLabel, 'timeline');
}

export { esc };
