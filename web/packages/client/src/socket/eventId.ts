// Event ids (docs/protocol.md, "event"): `<ms>-<seq>`, two decimal numbers,
// increasing in relay order and the same on every gateway of one Redis. A
// run's `version` is one of them (the newest event folded into the run), so
// this is also how versions compare.
//
// Compared as whole numbers written in decimal, not as JavaScript numbers:
// a Redis stream's sequence part may exceed 2^53.

const EVENT_ID = /^(\d+)-(\d+)$/;

/** Whether `text` is an event id: `<ms>-<seq>`, two decimal numbers. */
export function isEventId(text: string): boolean {
  return EVENT_ID.test(text);
}

/** Two decimal digit strings compared as numbers: negative, zero or positive. */
function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Orders two event ids (or run versions): by the number before the `-`,
 * then the number after it. Negative when `a` is older, 0 when they are the
 * same id, positive when `a` is newer. Throws on a string that is not an id
 * (the frame validators let none through).
 */
export function compareEventIds(a: string, b: string): number {
  const x = EVENT_ID.exec(a);
  const y = EVENT_ID.exec(b);
  if (!x || !y) throw new RangeError(`not an event id: ${JSON.stringify(x ? b : a)}`);
  return compareDigits(x[1]!, y[1]!) || compareDigits(x[2]!, y[2]!);
}
