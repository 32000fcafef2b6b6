import { describe, expect, it } from 'vitest';
import { compareEventIds, isEventId } from './eventId.js';

const sign = (n: number) => Math.sign(n);

describe('event ids', () => {
  it('compare by the number before the dash, then the number after it', () => {
    expect(sign(compareEventIds('1764342000123-0', '1764342000124-0'))).toBe(-1);
    expect(sign(compareEventIds('1764342000124-0', '1764342000123-7'))).toBe(1);
    expect(sign(compareEventIds('1764342000123-2', '1764342000123-10'))).toBe(-1);
    expect(compareEventIds('1764342000123-3', '1764342000123-3')).toBe(0);
  });

  it('compare as numbers, not as text: 9 < 10, and leading zeros do not count', () => {
    // As strings '9-0' > '10-0' and '2-9' > '2-10'.
    expect(sign(compareEventIds('9-0', '10-0'))).toBe(-1);
    expect(sign(compareEventIds('2-9', '2-10'))).toBe(-1);
    expect(compareEventIds('007-01', '7-1')).toBe(0);
    expect(compareEventIds('0-0', '00-000')).toBe(0);
  });

  it('stay exact beyond 2^53 (a Redis sequence number may be that large)', () => {
    // Both parse to the same JavaScript number.
    expect(Number('9007199254740993')).toBe(Number('9007199254740992'));
    expect(sign(compareEventIds('5-9007199254740992', '5-9007199254740993'))).toBe(-1);
  });

  it('sort a list oldest first', () => {
    const ids = ['10-0', '9-5', '10-2', '9-10', '1-0'];
    expect([...ids].sort(compareEventIds)).toEqual(['1-0', '9-5', '9-10', '10-0', '10-2']);
  });

  it('refuse what is not an id', () => {
    for (const text of ['', '5', '5-', '-5', 'a-1', '5-1-2', ' 5-1', '5-1 ', '-5-1', '1.5-0']) {
      expect(isEventId(text), text).toBe(false);
      expect(() => compareEventIds(text, '1-0'), text).toThrow(RangeError);
      expect(() => compareEventIds('1-0', text), text).toThrow(RangeError);
    }
    expect(isEventId('1764342000123-0')).toBe(true);
  });
});
