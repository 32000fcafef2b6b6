// Times as the protocol writes them, and as people read them.
//
// The gateway stores times as Unix milliseconds and writes them as RFC 3339
// UTC strings; publishers may give `ts` either way. Parsing here follows the
// gateway (src/clock.rs, src/event.rs) so that the dashboard folds events at
// the same instants the gateway does.

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses an RFC 3339 time into Unix milliseconds; `null` when it is not one. */
export function parseRfc3339(text: string): number | null {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 60) return null;
  // Milliseconds are truncated, like the gateway's nanos / 1_000_000.
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  let offsetMin = 0;
  if (m[9]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // A leap second (:60) counts as the last instant of its minute.
  const utc = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59), second === 60 ? 999 : ms);
  return utc - offsetMin * 60_000;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
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
