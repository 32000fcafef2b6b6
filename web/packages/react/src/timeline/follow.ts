// "Follow newest", readable at any rate: the run shown moves to the newest
// run at once while switches are rare, and at most once per
// FOLLOW_INTERVAL_MS once they are not (a token bucket: FOLLOW_BURST
// switches in hand, one more earned every FOLLOW_INTERVAL_MS). At a few runs
// a minute nothing waits; at hundreds of events a second, when a new run
// starts several times a second, the run shown changes every 3 s, to the
// newest run then, and holds still in between. The state itself is never
// held back: only which run the stage cards show.

import { useCallback, useEffect, useRef, useState } from 'react';
import type { PipelineState, Run } from '@tactical-link/client';
import { useNewestRunKey, usePipelineSelector, useRun } from '../hooks/useTacticalLink.js';

/** Switches that may be made one right after the other… */
export const FOLLOW_BURST = 2;
/** …and the time that earns one more. */
export const FOLLOW_INTERVAL_MS = 3_000;

export interface FollowState {
  /** The key of the run shown, or null before any run. */
  key: string | null;
  /** Switches in hand at `at` (ms), at most FOLLOW_BURST. */
  tokens: number;
  at: number;
}

export const NOT_FOLLOWING: FollowState = { key: null, tokens: FOLLOW_BURST, at: 0 };

export interface FollowStep {
  state: FollowState;
  /** When a switch held back may be made (ms), or null when none is waiting. */
  retryAt: number | null;
}

/**
 * The run to show at `now`, given the newest run's key and whether the one
 * shown is still held. The first run shown, and a run no longer held being
 * replaced, are not switches the user could have read: they cost nothing.
 */
export function followNewest(state: FollowState, newest: string | null, held: (key: string) => boolean, now: number): FollowStep {
  if (newest === null) return { state: { ...state, key: null }, retryAt: null };
  if (state.key === newest) return { state, retryAt: null };
  if (state.key === null || !held(state.key)) return { state: { ...state, key: newest }, retryAt: null };
  const tokens = Math.min(FOLLOW_BURST, state.tokens + Math.max(0, now - state.at) / FOLLOW_INTERVAL_MS);
  if (tokens < 1) return { state, retryAt: now + Math.ceil((1 - tokens) * FOLLOW_INTERVAL_MS) };
  return { state: { key: newest, tokens: tokens - 1, at: now }, retryAt: null };
}

/**
 * The run "follow newest" shows, limited as above; renders again when the
 * newest run changes, when the run shown is dropped, or when a held-back
 * switch is due, not on every event. While not `active` (the user picked a
 * run) it follows nothing, so going back to following shows the newest run
 * at once.
 */
export function useFollowedRun(active: boolean, now: () => number = Date.now): Run | undefined {
  const state = useRef<FollowState>(NOT_FOLLOWING);
  const [, setTick] = useState(0);
  const newestHeld = useNewestRunKey();
  const newest = active ? newestHeld : null;
  const shownKey = state.current.key;
  const shownHeld = usePipelineSelector(useCallback((s: PipelineState) => shownKey !== null && s.runs[shownKey] !== undefined, [shownKey]));
  const step = followNewest(state.current, newest, () => shownHeld, now());
  state.current = step.state;
  const { retryAt } = step;
  useEffect(() => {
    if (retryAt === null) return;
    const timer = setTimeout(() => setTick((n) => n + 1), Math.max(0, retryAt - now()));
    return () => clearTimeout(timer);
  }, [retryAt, now]);
  return useRun(step.state.key);
}
