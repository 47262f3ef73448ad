/**
 * Small inline-SVG charts: the HTML report must render with no network and print cleanly.
 * Every chart is drawn for the report's column (W user units, scaled by CSS to the column), and
 * every text is placed so that it stays inside the chart's box: labels are measured with a
 * conservative width estimate and pushed back inside when they would cross an edge.
 */

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
export const W = 920;
const EDGE = 6;
const TICK = 11;

/** Width of `text` at `size` px: 0.62 em per character is wider than system-ui's average, so estimates err outside. */
const textWidth = (text: string, size = TICK) => text.length * size * 0.62;

type Anchor = 'start' | 'middle' | 'end';

/** A <text> whose box is kept inside [EDGE, W − EDGE] whatever its anchor. */
function label(x: number, y: number, text: string, cls = 'tick', anchor: Anchor = 'start', size = TICK): string {
  const w = textWidth(text, size);
  const left = anchor === 'start' ? x : anchor === 'middle' ? x - w / 2 : x - w;
  const shift = left < EDGE ? EDGE - left : left + w > W - EDGE ? W - EDGE - (left + w) : 0;
  return `<text x="${(x + shift).toFixed(1)}" y="${y.toFixed(1)}" class="${cls}" text-anchor="${anchor}">${esc(text)}</text>`;
}

function frame(title: string, height: number, body: string, extraClass: string): string {
  return `<svg class="chart ${extraClass}" role="img" aria-label="${esc(title)}" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" xmlns="http://www.w3.org/2000/svg">
<title>${esc(title)}</title>
${label(EDGE + 6, 20, title, 'chart-title', 'start', 13)}
${body}</svg>`;
}

/** The smallest 1/2/5 × 10ⁿ at or above v. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v * (1 - 1e-9))!;
}

/** Evenly spaced ticks 0..max on a 1/2/5 step, about `count` of them; whole numbers when `integer`. */
function ticks(max: number, count: number, integer = false): number[] {
  let step = niceMax(max / count);
  if (integer) step = Math.max(1, Math.round(step));
  const out: number[] = [];
  for (let v = 0; v <= max + step / 1e6; v += step) out.push(+v.toPrecision(6));
  return out;
}

/** Ticks on a 1/2/5 step inside [lo, hi], written with as many decimals as the step needs. */
function rangeTicks(lo: number, hi: number, count: number): { v: number; text: string }[] {
  const step = niceMax((hi - lo) / count);
  const decimals = step >= 1 ? 0 : Math.ceil(-Math.log10(step));
  const out: { v: number; text: string }[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step / 1e6; v += step) out.push({ v, text: v.toFixed(decimals) });
  return out;
}

/** Milliseconds for people: two decimals under 1 ms, seconds from 1000 ms. */
export function fmtMs(v: number): string {
  if (v >= 1000) return `${+(v / 1000).toPrecision(3)} s`;
  if (v >= 100) return `${v.toFixed(0)} ms`;
  if (v >= 10) return `${v.toFixed(1)} ms`;
  return `${v.toFixed(2)} ms`;
}

/** +12% or −38% for a moderate change; ×54 once it is at least double (a +5307% reads as noise). */
const change = (before: number, after: number) =>
  !(before > 0)
    ? ''
    : after >= 2 * before
      ? `×${+(after / before).toPrecision(3)}`
      : `${after >= before ? '+' : '−'}${Math.abs(((after - before) / before) * 100).toFixed(0)}%`;

/**
 * Latency percentiles before and after, one panel per percentile on its own scale: a p50 of
 * 0.8 ms next to a p99 of 200 ms on one axis is a bar nobody can see. Each bar carries its value,
 * each panel the change, so the scales cannot mislead.
 */
export function latencyPanels(title: string, labels: string[], before: number[], after: number[] | null, degraded = false): string {
  const H = 250;
  const top = 56;
  const bottom = H - 30;
  const gap = 28;
  const panelW = (W - 2 * EDGE - 40 - gap * (labels.length - 1)) / labels.length;
  const panels = labels
    .map((name, i) => {
      const x0 = EDGE + 40 + i * (panelW + gap);
      const values = [before[i], ...(after ? [after[i]] : [])];
      const max = niceMax(Math.max(...values) * 1.15);
      const y = (v: number) => bottom - (v / max) * (bottom - top);
      const barW = Math.min(90, panelW / 3);
      const bars = values
        .map((v, j) => {
          const x = x0 + panelW / 2 - barW - 6 + j * (barW + 12);
          const h = Math.max(1.5, bottom - y(v));
          return `<rect x="${x.toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" class="${j ? 'after' : 'before'}"><title>${esc(`${name} ${j ? 'after' : 'before'}: ${fmtMs(v)}`)}</title></rect>
${label(x + barW / 2, bottom - h - 5, fmtMs(v), 'value', 'middle')}`;
        })
        .join('\n');
      const heading = `${name}${after ? `  ${change(before[i], after[i])}` : ''}`;
      // Red only when the latency trigger said so: its bounds and noise floor, not a raw ratio, decide.
      const worse = degraded && after && after[i] > before[i] ? ' worse' : '';
      return `<line x1="${x0}" y1="${bottom}" x2="${(x0 + panelW).toFixed(1)}" y2="${bottom}" class="axis"/>
<line x1="${x0}" y1="${top}" x2="${(x0 + panelW).toFixed(1)}" y2="${top}" class="grid"/>
${label(x0 - 4, top + 4, fmtMs(max), 'tick', 'end')}${label(x0 - 4, bottom + 4, '0', 'tick', 'end')}
${label(x0 + panelW / 2, top - 10, heading, `panel-title${worse}`, 'middle', 12)}
${bars}${after ? '' : label(x0 + panelW / 2, bottom - 20, 'no sample after', 'tick', 'middle')}`;
    })
    .join('\n');
  const afterX = W - EDGE - 14 - textWidth('after') - 4;
  const legend =
    swatch(afterX - 24 - 14 - textWidth('before the change'), 12, 'before', 'before the change') + swatch(afterX, 12, 'after', 'after');
  return frame(title, H, panels + legend + label(W / 2, H - 8, 'each percentile on its own scale', 'tick', 'middle'), 'latency-chart');
}

function swatch(x: number, y: number, cls: string, text: string): string {
  return `<rect x="${x}" y="${y}" width="10" height="10" class="${cls}"/>${label(x + 14, y + 9, text)}`;
}

/**
 * A count over time (seconds since the run started), on an axis scaled to the data. A limit far
 * above the data (20 connections allowed, 5 used) is written as an annotation, not drawn as a
 * line that would press the data flat on the floor.
 */
export function countChart(
  title: string,
  points: { x: number; y: number }[],
  limit?: { y: number; label: string },
  domain?: { from: number; to: number },
): string {
  const H = 230;
  const L = 56;
  const R = W - EDGE - 10;
  const top = 40;
  const bottom = H - 36;
  if (!points.length) return frame(title, H, label(W / 2, H / 2, 'no samples in the window', 'tick', 'middle'), 'line-chart');
  // The whole window when known: samples start a second in, and the axis should say so.
  const minX = Math.min(domain?.from ?? Infinity, ...points.map((p) => p.x));
  const maxX = Math.max(minX + 1, domain?.to ?? 0, ...points.map((p) => p.x));
  const peak = points.reduce((a, b) => (b.y > a.y ? b : a));
  const dataMax = Math.max(4, peak.y * 1.3);
  const limitOnScale = limit !== undefined && limit.y <= dataMax * 1.6;
  const max = niceMax(limitOnScale ? Math.max(dataMax, limit!.y * 1.05) : dataMax);
  const px = (x: number) => L + ((x - minX) / (maxX - minX)) * (R - L);
  const py = (y: number) => bottom - (y / max) * (bottom - top);
  const yTicks = ticks(max, 4, true)
    .map(
      (v) =>
        `<line x1="${L}" y1="${py(v).toFixed(1)}" x2="${R}" y2="${py(v).toFixed(1)}" class="grid"/>${label(L - 6, py(v) + 4, String(v), 'tick', 'end')}`,
    )
    .join('\n');
  const xTicks = rangeTicks(minX, maxX, 6)
    .map(
      (t) =>
        `<line x1="${px(t.v).toFixed(1)}" y1="${bottom}" x2="${px(t.v).toFixed(1)}" y2="${bottom + 4}" class="axis"/>${label(px(t.v), bottom + 16, `${t.text} s`, 'tick', 'middle')}`,
    )
    .join('\n');
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
  const dots = points
    .map(
      (p) =>
        `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" class="dot"><title>${esc(`${p.x.toFixed(1)} s: ${p.y}`)}</title></circle>`,
    )
    .join('');
  const last = points.at(-1)!;
  const values = [
    label(px(peak.x), py(peak.y) - 8, `peak ${peak.y}`, 'value', 'middle'),
    ...(last !== peak ? [label(px(last.x), py(last.y) - 8, String(last.y), 'value', 'middle')] : []),
  ].join('');
  const limitMark = !limit
    ? ''
    : limitOnScale
      ? `<line x1="${L}" y1="${py(limit.y).toFixed(1)}" x2="${R}" y2="${py(limit.y).toFixed(1)}" class="limit"/>${label(R, py(limit.y) - 5, limit.label, 'limit-text', 'end')}`
      : label(R, top - 14, `${limit.label} — above this scale ↑`, 'limit-text', 'end');
  const axes = `<line x1="${L}" y1="${bottom}" x2="${R}" y2="${bottom}" class="axis"/><line x1="${L}" y1="${top}" x2="${L}" y2="${bottom}" class="axis"/>`;
  const xTitle = label(R, H - 6, 'seconds since the run started', 'tick', 'end');
  return frame(title, H, yTicks + axes + xTicks + limitMark + `<path d="${path}" class="series"/>` + dots + values + xTitle, 'line-chart');
}

export interface Span {
  label: string;
  start: number;
  end: number;
  state: 'ok' | 'bad' | 'skipped';
}
export interface Marker {
  at: number;
  label: string;
  kind: 'trigger' | 'alert-critical' | 'alert-warning' | 'alert-info' | 'rollback';
}

const MARKER_NAMES: Record<Marker['kind'], string> = {
  trigger: 'rollback trigger fired',
  'alert-critical': 'critical alert',
  'alert-warning': 'warning alert',
  'alert-info': 'info alert',
  rollback: 'rollback started',
};

/** A marker glyph centred on (x, y): triangles for triggers and alerts, a diamond for the rollback. */
function glyph(kind: Marker['kind'], x: number, y: number): string {
  return kind === 'rollback'
    ? `<path d="M${x.toFixed(1)},${y - 6} l6,6 l-6,6 l-6,-6 z" class="mk-${kind}"/>`
    : `<path d="M${x.toFixed(1)},${y + 6} l-6,-12 h12 z" class="mk-${kind}"/>`;
}

/**
 * Stages as bars on a time axis, names in a gutter of their own (so "rollback" is never cut),
 * each bar's duration beside it, events as numbered markers in a lane above the bars, and a
 * legend that says what each marker is and when.
 */
export function timeline(title: string, spans: Span[], markers: Marker[]): string {
  const gutter = 96;
  const L = EDGE + gutter;
  const R = W - EDGE - 60;
  const lane = markers.length ? 44 : 14;
  const rowH = 24;
  const rowsTop = lane + 18;
  const axisY = rowsTop + spans.length * rowH + 4;
  const legendTop = axisY + 50;
  const shown = markers.slice(0, 8);
  // Each marker's line of the legend wraps once rather than being cut: the trigger's cause is the point.
  const maxChars = Math.floor((W - 2 * EDGE - 40) / (TICK * 0.62));
  const lines = shown.map((m, i) =>
    wrap(`${i + 1}  ${m.at.toFixed(1)} s  ${m.kind.startsWith('alert') ? `${MARKER_NAMES[m.kind]}: ` : ''}${m.label}`, maxChars, 2),
  );
  const H = legendTop + Math.max(1, lines.flat().length) * 15 + shown.length * 3 + 6;
  // Rounded up to the next tick, not to the next 1/2/5: 11.4 s ends at 12 s, not 20 s.
  const end = Math.max(1, ...spans.map((s) => s.end), ...markers.map((m) => m.at));
  const step = niceMax(end / 6);
  const maxX = Math.ceil(end / step - 1e-9) * step;
  const px = (x: number) => L + (x / maxX) * (R - L);
  const rows = spans
    .map((s, i) => {
      const y = rowsTop + i * rowH;
      const x1 = px(s.start);
      const w = Math.max(2, px(s.end) - x1);
      const secs = `${(s.end - s.start).toFixed(1)} s`;
      return `${label(L - 8, y + 15, s.label, `stage-name st-${s.state}`, 'end')}
<rect x="${x1.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" class="stage-${s.state}"><title>${esc(`${s.label}: ${secs}`)}</title></rect>
${label(x1 + w + 5, y + 15, secs)}`;
    })
    .join('\n');
  // Markers closer than a glyph's width are stacked, so two events at the same second both show.
  const placed: { x: number; level: number }[] = [];
  const marks = shown
    .map((m, i) => {
      const x = px(m.at);
      const level = placed.filter((p) => Math.abs(p.x - x) < 16).length;
      placed.push({ x, level });
      const y = lane - level * 15;
      return `<g class="marker"><title>${esc(`${m.at.toFixed(1)} s: ${m.label}`)}</title><line x1="${x.toFixed(1)}" y1="${lane + 8}" x2="${x.toFixed(1)}" y2="${axisY}" class="mk-line"/>${glyph(m.kind, x, y)}${label(x + 9, y + 4, String(i + 1), 'mk-num')}</g>`;
    })
    .join('\n');
  const xTicks = rangeTicks(0, maxX, 6)
    .map(
      (t) =>
        `<line x1="${px(t.v).toFixed(1)}" y1="${axisY}" x2="${px(t.v).toFixed(1)}" y2="${axisY + 4}" class="axis"/>${label(px(t.v), axisY + 16, `${t.text} s`, 'tick', 'middle')}`,
    )
    .join('');
  let y = legendTop;
  const legend = shown.length
    ? shown
        .map((m, i) => {
          const out =
            glyph(m.kind, EDGE + 16, y - 4) + lines[i].map((t, j) => label(EDGE + 30 + (j ? 14 : 0), y + j * 15, t, 'legend')).join('');
          y += lines[i].length * 15 + 3;
          return out;
        })
        .join('\n')
    : label(EDGE + 16, legendTop, 'no trigger fired and no alert was raised', 'legend');
  const axis = `<line x1="${L}" y1="${axisY}" x2="${R}" y2="${axisY}" class="axis"/>`;
  return frame(title, H, rows + axis + xTicks + marks + label(EDGE + 6, legendTop - 18, 'markers', 'legend-title') + legend, 'timeline');
}

/** Words of `text` in at most `max` lines of `width` characters, the last one cut with … when it does not fit. */
function wrap(text: string, width: number, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && (line + ' ' + word).length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  const out = lines.slice(0, max).map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
  if (lines.length > max) out[max - 1] = `${out[max - 1].slice(0, width - 1)}…`;
  return out;
}

export { esc, textWidth };
