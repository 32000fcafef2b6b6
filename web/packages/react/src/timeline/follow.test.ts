import { describe, expect, it } from 'vitest';
import { FOLLOW_BURST, FOLLOW_INTERVAL_MS, followNewest, NOT_FOLLOWING, type FollowState } from './follow.js';

const all = () => true;

/** Feeds a new newest run every `every` ms for `duration` ms; returns the times the run shown changed. */
function switchTimes(every: number, duration: number): number[] {
  let state: FollowState = NOT_FOLLOWING;
  const changes: number[] = [];
  for (let t = 0, n = 0; t <= duration; t += every, n += 1) {
    const before = state.key;
    state = followNewest(state, `run-${n}`, all, t).state;
    if (before !== null && state.key !== before) changes.push(t);
  }
  return changes;
}

describe('followNewest', () => {
  it('shows the first run, then FOLLOW_BURST newer ones, at once', () => {
    let step = followNewest(NOT_FOLLOWING, 'a', all, 0);
    expect(step.state.key).toBe('a');
    for (let i = 0; i < FOLLOW_BURST; i += 1) {
      step = followNewest(step.state, `r${i}`, all, 10 + i);
      expect(step.state.key).toBe(`r${i}`);
      expect(step.retryAt).toBeNull();
    }
  });

  it('past the burst, holds the run shown and says when the next switch may be made', () => {
    let state = followNewest(NOT_FOLLOWING, 'a', all, 0).state;
    for (let i = 0; i < FOLLOW_BURST; i += 1) state = followNewest(state, `r${i}`, all, 100).state;
    const held = followNewest(state, 'late', all, 100);
    expect(held.state.key).toBe(`r${FOLLOW_BURST - 1}`);
    expect(held.retryAt).toBe(100 + FOLLOW_INTERVAL_MS);
    // Just before then still held; then the newest at that moment is shown.
    expect(followNewest(held.state, 'later', all, 100 + FOLLOW_INTERVAL_MS - 1).state.key).toBe(`r${FOLLOW_BURST - 1}`);
    expect(followNewest(held.state, 'later', all, 100 + FOLLOW_INTERVAL_MS).state.key).toBe('later');
  });

  it('at a new run every 100 ms, changes the run shown once per interval after the burst', () => {
    const changes = switchTimes(100, 60_000);
    expect(changes.slice(0, FOLLOW_BURST)).toEqual(Array.from({ length: FOLLOW_BURST }, (_, i) => (i + 1) * 100));
    const gaps = changes.slice(FOLLOW_BURST).map((t, i) => t - changes[FOLLOW_BURST - 1 + i]!);
    expect(gaps.length).toBeGreaterThanOrEqual(18);
    // The first one is a little shorter (the burst's own time earned part of a switch), then exactly one interval.
    expect(gaps[0]).toBeGreaterThan(FOLLOW_INTERVAL_MS - 200);
    expect(gaps[0]).toBeLessThanOrEqual(FOLLOW_INTERVAL_MS);
    for (const gap of gaps.slice(1)) expect(gap).toBe(FOLLOW_INTERVAL_MS);
  });

  it('at a new run every 5 s, follows each one at once', () => {
    const changes = switchTimes(5_000, 60_000);
    expect(changes).toEqual(Array.from({ length: 12 }, (_, i) => (i + 1) * 5_000));
  });

  it('replaces a run no longer held at once, with no switch in hand', () => {
    let state = followNewest(NOT_FOLLOWING, 'a', all, 0).state;
    for (let i = 0; i < FOLLOW_BURST; i += 1) state = followNewest(state, `r${i}`, all, 1).state;
    const gone = state.key;
    const step = followNewest(state, 'z', (key) => key !== gone, 2);
    expect(step.state.key).toBe('z');
    expect(step.retryAt).toBeNull();
  });

  it('follows nothing when there is no run', () => {
    const state = followNewest(NOT_FOLLOWING, 'a', all, 0).state;
    const step = followNewest(state, null, all, 1);
    expect(step.state.key).toBeNull();
    expect(step.retryAt).toBeNull();
  });
});
