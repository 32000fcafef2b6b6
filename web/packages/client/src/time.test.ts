import { describe, expect, it } from 'vitest';
import { formatDuration, formatRfc3339, parseRfc3339, parseTs } from './time.js';

const MS = 1_795_878_000_123; // 2026-11-28T15:00:00.123Z, as in the gateway's tests

describe('parseRfc3339', () => {
  it('parses the gateway format and offsets, like src/clock.rs', () => {
    expect(parseRfc3339('2026-11-28T15:00:00.123Z')).toBe(MS);
    expect(parseRfc3339('2026-11-28T16:00:00.123+01:00')).toBe(MS);
    expect(parseRfc3339('2026-11-28T14:30:00.123-00:30')).toBe(MS);
    expect(parseRfc3339('2026-11-28t15:00:00.123z')).toBe(MS);
  });

  it('truncates sub-millisecond digits and accepts none', () => {
    expect(parseRfc3339('2026-11-28T15:00:00.123999Z')).toBe(MS);
    expect(parseRfc3339('2026-11-28T15:00:00.1Z')).toBe(MS - 23);
    expect(parseRfc3339('2026-11-28T15:00:00Z')).toBe(MS - 123);
  });

  it('rejects what is not RFC 3339', () => {
    for (const bad of ['not a time', '2026-11-28', '2026-11-28T15:00:00', '2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-11-28T25:00:00Z', '']) {
      expect(parseRfc3339(bad), bad).toBeNull();
    }
  });

  it('takes any one ASCII character between date and time, as the gateway does', () => {
    expect(parseRfc3339('2026-11-28 15:00:00.123Z')).toBe(MS);
    expect(parseRfc3339('2026-11-28_15:00:00.123z')).toBe(MS);
    expect(parseRfc3339('2026-11-28\u00a015:00:00.123Z')).toBeNull(); // two bytes in UTF-8
    expect(parseRfc3339('2026-11-2815:00:00.123Z')).toBeNull();
  });

  it('takes a leap second only as the last second of a month in UTC, as its last millisecond', () => {
    const endOfJune = Date.UTC(2026, 5, 30, 23, 59, 59, 999);
    expect(parseRfc3339('2026-06-30T23:59:60Z')).toBe(endOfJune);
    expect(parseRfc3339('2026-06-30T23:59:60.5Z')).toBe(endOfJune);
    expect(parseRfc3339('2026-07-01T01:59:60+02:00')).toBe(endOfJune);
    expect(parseRfc3339('2026-06-29T23:59:60Z')).toBeNull();
    expect(parseRfc3339('2026-06-30T23:58:60Z')).toBeNull();
    expect(parseRfc3339('2026-06-30T23:59:61Z')).toBeNull();
  });

  it('knows leap years and the years before 100', () => {
    expect(parseRfc3339('2028-02-29T00:00:00Z')).toBe(Date.UTC(2028, 1, 29));
    expect(parseRfc3339('2026-02-29T00:00:00Z')).toBeNull();
    expect(parseRfc3339('0000-01-01T00:00:00Z')).toBe(-62_167_219_200_000);
    expect(parseRfc3339('0099-12-31T23:59:59.999Z')).toBe(-59_011_459_200_001);
    expect(parseRfc3339('9999-12-31T23:59:59.999Z')).toBe(253_402_300_799_999);
  });

  it('refuses an offset beyond 23:59 and a malformed fraction', () => {
    expect(parseRfc3339('2026-11-28T15:00:00+24:00')).toBeNull();
    expect(parseRfc3339('2026-11-28T15:00:00+01:60')).toBeNull();
    expect(parseRfc3339('2026-11-28T15:00:00.Z')).toBeNull();
    expect(parseRfc3339('2026-11-28T15:00:00+0100')).toBeNull();
  });

  it('round-trips with formatRfc3339', () => {
    expect(formatRfc3339(MS)).toBe('2026-11-28T15:00:00.123Z');
    expect(parseRfc3339(formatRfc3339(MS))).toBe(MS);
  });
});

describe('parseTs', () => {
  it('accepts RFC 3339 strings and Unix milliseconds, truncating fractions', () => {
    expect(parseTs('2026-11-28T15:00:00.123Z')).toBe(MS);
    expect(parseTs(MS)).toBe(MS);
    expect(parseTs(MS + 0.9)).toBe(MS);
  });

  it('rejects anything else', () => {
    expect(parseTs(undefined)).toBeNull();
    expect(parseTs(null)).toBeNull();
    expect(parseTs(true)).toBeNull();
    expect(parseTs('yesterday')).toBeNull();
    expect(parseTs(Number.NaN)).toBeNull();
  });
});

describe('formatDuration', () => {
  it('is short and readable at every scale', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(1_249)).toBe('1.2 s');
    expect(formatDuration(9_999)).toBe('9.9 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(185_000)).toBe('3 m 05 s');
    expect(formatDuration(2 * 3_600_000 + 4 * 60_000)).toBe('2 h 04 m');
    expect(formatDuration(-1_500)).toBe('-1.5 s');
  });
});
