// Times as the protocol writes them, and as people read them.
//
// The gateway stores times as Unix milliseconds and writes them as RFC 3339
// UTC strings; publishers may give `ts` either way. Parsing here follows the
// gateway (src/clock.rs, src/event/) exactly, so that checkEvent accepts the
// times the gateway accepts and a `ts` reads as the same instant.

// As the gateway's parser (the `time` crate's RFC 3339): a four-digit year,
// any one ASCII character between date and time, a fraction of any length,
// `Z` in either case or an offset of at most 23:59, and a leap second (:60)
// only where one can be: the last second of a month in UTC.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[\x00-\x7f](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/** Unix ms of a UTC date and time (any year from 0 on: Date.UTC would take 0–99 as 1900–1999). */
function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime();
}

/** Parses an RFC 3339 time into Unix milliseconds; `null` when it is not one. */
export function parseRfc3339(text: string): number | null {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 60) return null;
  let offsetMin = 0;
  if (m[8]) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) return null;
    offsetMin = (m[8] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // Milliseconds are truncated, like the gateway's nanos / 1_000_000; a leap
  // second counts as the last instant of the second before it.
  const leap = second === 60;
  const ms = leap ? 999 : m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  const utc = utcMs(year, month, day, hour, minute, leap ? 59 : second, ms) - offsetMin * 60_000;
  const lastOfMonth = (utc + 1) % 86_400_000 === 0 && new Date(utc + 1).getUTCDate() === 1;
  if (leap && !lastOfMonth) return null;
  return utc;
}

function daysInMonth(year: number, month: number): number {
  return new Date(utcMs(year, month + 1, 0, 0, 0, 0, 0)).getUTCDate();
}

/**
 * Reads an event's `ts` field: an RFC 3339 string or Unix milliseconds
 * (a fractional number is truncated). Anything else is `null`.
 */
export function parseTs(value: unknown): number | null {
  if (typeof value === 'string') return parseRfc3339(value);
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  return null;
}

/** Formats Unix milliseconds as the gateway does: `2026-11-28T15:00:00.123Z`. */
export function formatRfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/** `1.2 s`, `850 ms`, `3 m 05 s`, `2 h 04 m`: a short human duration. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 10_000) return `${sign}${(Math.floor(abs / 100) / 10).toFixed(1)} s`;
  const totalS = Math.floor(abs / 1000);
  if (totalS < 60) return `${sign}${totalS} s`;
  const totalM = Math.floor(totalS / 60);
  if (totalM < 60) return `${sign}${totalM} m ${String(totalS % 60).padStart(2, '0')} s`;
  const h = Math.floor(totalM / 60);
  return `${sign}${h} h ${String(totalM % 60).padStart(2, '0')} m`;
}

/** Local wall-clock time with milliseconds, `15:00:00.123`. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
