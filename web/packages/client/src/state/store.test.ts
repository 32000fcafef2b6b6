import { describe, expect, it, vi } from 'vitest';
import type { FrameListener } from '../socket/client.js';
import { parseServerFrame } from '../socket/frames.js';
import { eventFrame, keyOf, snapshotFrame, WELCOME } from '../testing/fixtures.js';
import { MAX_EVENTS } from './pipeline.js';
import { createPipelineStore, followLink } from './store.js';

/** A link whose frames the test sends by hand. */
function fakeLink() {
  const listeners = new Set<FrameListener>();
  return {
    subscribe(listener: FrameListener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    send(value: unknown) {
      const parsed = parseServerFrame(JSON.stringify(value));
      if (!parsed.ok) throw new Error(parsed.error.message);
      for (const listener of listeners) listener(parsed.frame, { replayed: false });
    },
  };
}

describe('createPipelineStore + followLink', () => {
  it('folds the frames of the link and tells listeners of each change, not of frames that change nothing', () => {
    const store = createPipelineStore();
    const link = fakeLink();
    const stop = followLink(store, link);
    let changes = 0;
    const off = store.subscribe(() => (changes += 1));

    link.send(WELCOME);
    link.send(snapshotFrame([], [], null));
    link.send(eventFrame('5-0', 'run-1', 'radar', 'processing'));
    expect(changes).toBe(3);
    expect(store.getState().runs[keyOf('run-1')]?.stages.radar.status).toBe('processing');

    const held = store.getState();
    link.send({ type: 'pong', nonce: 1 });
    expect(changes).toBe(3);
    expect(store.getState()).toBe(held);

    off();
    link.send(eventFrame('6-0', 'run-1', 'radar', 'complete'));
    expect(changes).toBe(3);
    expect(store.getState().runs[keyOf('run-1')]?.stages.radar.status).toBe('complete');

    stop();
    link.send(eventFrame('7-0', 'run-1', 'analyst', 'processing'));
    expect(store.getState().runs[keyOf('run-1')]?.stages.analyst.status).toBe('idle');
  });
});

describe('createPipelineStore with a scheduler', () => {
  /** A scheduler the test flushes by hand, like one animation frame. */
  function manualScheduler() {
    let pending: (() => void) | null = null;
    const schedule = vi.fn((flush: () => void) => {
      pending = flush;
      return () => (pending = null);
    });
    const frame = () => {
      const flush = pending;
      pending = null;
      flush?.();
    };
    return { schedule, frame };
  }

  it('applies every frame at once but tells listeners once per flush, with the latest state', () => {
    const { schedule, frame } = manualScheduler();
    const store = createPipelineStore(undefined, { schedule });
    const link = fakeLink();
    followLink(store, link);
    const seen: number[] = [];
    store.subscribe(() => seen.push(store.getState().events.length));

    link.send(WELCOME);
    link.send(snapshotFrame([], [], null));
    const count = MAX_EVENTS + 50;
    for (let i = 1; i <= count; i += 1) link.send(eventFrame(`${i}-0`, `run-${i % 7}`, 'radar', 'processing'));
    // Applied as they came, none dropped: the state has the newest MAX_EVENTS and every run.
    expect(store.getState().events.at(-1)?.id).toBe(`${count}-0`);
    expect(store.getState().events).toHaveLength(MAX_EVENTS);
    expect(Object.keys(store.getState().runs)).toHaveLength(7);
    expect(seen).toEqual([]);
    expect(schedule).toHaveBeenCalledTimes(1);

    frame();
    expect(seen).toEqual([MAX_EVENTS]);
    // Nothing changed since: no flush is asked for, and a frame tells nobody.
    frame();
    expect(seen).toEqual([MAX_EVENTS]);
    link.send({ type: 'pong', nonce: 1 });
    expect(schedule).toHaveBeenCalledTimes(1);

    link.send(eventFrame(`${count + 1}-0`, 'run-1', 'analyst', 'processing'));
    expect(schedule).toHaveBeenCalledTimes(2);
    frame();
    expect(seen).toEqual([MAX_EVENTS, MAX_EVENTS]);
    expect(store.getState().runs[keyOf('run-1')]?.stages.analyst.status).toBe('processing');
  });
});
