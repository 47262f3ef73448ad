/**
 * Maintenance windows: `"Sat 01:00-05:00 Europe/Berlin"`, several joined with `;`
 * (`"Mon-Fri 22:00-02:00 UTC; Sun 00:00-24:00 UTC"`). Days are Mon…Sun, a range (`Mon-Fri`) or a
 * list (`Sat,Sun`); a range that ends before it starts runs past midnight into the next day.
 * Times are wall-clock times in the named IANA zone, read with Intl, so daylight saving is the
 * zone's own.
 */
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export interface WindowPart {
  days: number[];
  startMin: number;
  endMin: number;
  zone: string;
  text: string;
}

export type ParsedWindow = { ok: true; parts: WindowPart[] } | { ok: false; error: string };

function parseDays(spec: string): number[] | null {
  const out = new Set<number>();
  for (const piece of spec.split(',')) {
    const [a, b] = piece.split('-').map((d) => DAYS.findIndex((x) => x.toLowerCase() === d.toLowerCase()));
    if (a === undefined || a < 0 || (b !== undefined && b < 0)) return null;
    if (b === undefined) out.add(a);
    else
      for (let d = a; ; d = (d + 1) % 7) {
        out.add(d);
        if (d === b) break;
      }
  }
  return [...out];
}

const minutes = (hhmm: string) => {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  if (!m || Number(m[1]) > 24 || Number(m[2]) > 59 || (Number(m[1]) === 24 && m[2] !== '00')) return null;
  return Number(m[1]) * 60 + Number(m[2]);
};

export function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function parseWindow(text: string): ParsedWindow {
  const parts: WindowPart[] = [];
  for (const raw of text
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\S+)\s+(\d{1,2}:\d{2})-(\d{1,2}:\d{2})\s+(\S+)$/.exec(raw);
    if (!m)
      return { ok: false, error: `"${raw}" is not a window: write e.g. "Sat 01:00-05:00 Europe/Berlin" (days, HH:MM-HH:MM, time zone)` };
    const days = parseDays(m[1]);
    if (!days)
      return { ok: false, error: `"${m[1]}" is not a day or day range: use Mon, Tue, Wed, Thu, Fri, Sat, Sun, Mon-Fri or Sat,Sun` };
    const startMin = minutes(m[2]);
    const endMin = minutes(m[3]);
    if (startMin === null || endMin === null || startMin === endMin)
      return { ok: false, error: `"${m[2]}-${m[3]}" is not a time range (HH:MM-HH:MM, 00:00-24:00, start ≠ end)` };
    if (!validZone(m[4]))
      return { ok: false, error: `"${m[4]}" is not a time zone this system knows (an IANA name such as Europe/Berlin or UTC)` };
    parts.push({ days, startMin, endMin, zone: m[4], text: raw });
  }
  return parts.length ? { ok: true, parts } : { ok: false, error: 'is empty' };
}

/** Weekday (0 = Sunday) and minute of the day of `now` on the wall clock of `zone`. */
function wallClock(now: Date, zone: string): { day: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return { day: DAYS.indexOf(get('weekday')), minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

/** The part of the window `now` falls in, or null. */
export function inWindow(parts: WindowPart[], now: Date): WindowPart | null {
  for (const p of parts) {
    const { day, minute } = wallClock(now, p.zone);
    if (p.startMin < p.endMin) {
      if (p.days.includes(day) && minute >= p.startMin && minute < p.endMin) return p;
    } else {
      // Past midnight: the evening of a listed day, or the early hours of the day after one.
      if (p.days.includes(day) && minute >= p.startMin) return p;
      if (p.days.includes((day + 6) % 7) && minute < p.endMin) return p;
    }
  }
  return null;
}
