import { describe, expect, it } from 'vitest';
import type { FrameListener } from '../socket/client.js';
import { parseServerFrame } from '../socket/frames.js';
import { eventFrame, keyOf, snapshotFrame, WELCOME } from '../testing/fixtures.js';
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
