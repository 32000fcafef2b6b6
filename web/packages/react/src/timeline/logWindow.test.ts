import { describe, expect, it } from 'vitest';
import { indexAt, logWindow, offsetOf } from './logWindow.js';

const sizes = { row: 30, open: 230 };

describe('logWindow', () => {
  it('renders the rows in view and the overscan, whatever the length of the list', () => {
    for (const count of [50, 5_000, 500_000]) {
      const win = logWindow(count, 0, 300, sizes, [], 5);
      expect(win).toEqual({ first: 0, end: 15, before: 0, after: (count - 15) * 30 });
    }
  });

  it('scrolled down, starts the overscan before the first row in view; the spaces add up to the whole list', () => {
    const win = logWindow(5_000, 30 * 1_000 + 10, 300, sizes, [], 5);
    // Rows 1000 to 1010 are (partly) in view.
    expect(win.first).toBe(995);
    expect(win.end).toBe(1_016);
    expect(win.before).toBe(995 * 30);
    expect(win.before + (win.end - win.first) * 30 + win.after).toBe(5_000 * 30);
  });

  it('counts opened entries above a row in its offset, and finds the row under a pixel past them', () => {
    const opened = [2, 10];
    expect(offsetOf(2, sizes, opened)).toBe(60);
    expect(offsetOf(3, sizes, opened)).toBe(60 + 230);
    expect(offsetOf(11, sizes, opened)).toBe(11 * 30 + 2 * 200);
    expect(indexAt(60 + 229, 100, sizes, opened)).toBe(2);
    expect(indexAt(60 + 230, 100, sizes, opened)).toBe(3);
    expect(indexAt(11 * 30 + 2 * 200, 100, sizes, opened)).toBe(11);
    const win = logWindow(100, 11 * 30 + 2 * 200, 90, sizes, opened, 0);
    expect([win.first, win.end]).toEqual([11, 14]);
    expect(win.before + offsetOf(14, sizes, opened) - offsetOf(11, sizes, opened) + win.after).toBe(offsetOf(100, sizes, opened));
  });

  it('clamps a scroll past the end to the last rows, and renders nothing for an empty list', () => {
    const win = logWindow(10, 10_000, 300, sizes, [], 2);
    expect(win.end).toBe(10);
    expect(win.first).toBe(7);
    expect(logWindow(0, 0, 300, sizes)).toEqual({ first: 0, end: 0, before: 0, after: 0 });
  });
});
