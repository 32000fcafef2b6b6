// The pipeline state of state/pipeline.ts held in one place, with
// listeners: what a view layer subscribes to (React's useSyncExternalStore
// in @tactical-link/react, or any other), fed by a link's frames.
//
// No rules here: every frame goes through `pipelineReducer`; the store only
// keeps the result and says when it changed: after every change, or, with a
// scheduler (./schedule.ts, e.g. once per animation frame), once for all the
// changes since it last said so. Every frame is applied when it comes
// either way; `getState` is always the latest state.

import type { FrameListener } from '../socket/client.js';
import { INITIAL_PIPELINE_STATE, pipelineReducer, type PipelineAction, type PipelineState } from './pipeline.js';
import type { NotifyScheduler } from './schedule.js';

export interface PipelineStore {
  /** The state now. The same object until a frame changes it. */
  getState(): PipelineState;
  dispatch(action: PipelineAction): void;
  /** Called after every change (or once per batch of changes, with a scheduler). Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

export interface PipelineStoreOptions {
  /** Batches the listeners' calls (e.g. `frameScheduler()`); without one, they hear of every change at once. */
  schedule?: NotifyScheduler;
}

export function createPipelineStore(initial: PipelineState = INITIAL_PIPELINE_STATE, options: PipelineStoreOptions = {}): PipelineStore {
  const { schedule } = options;
  let state = initial;
  let scheduled = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    scheduled = false;
    for (const listener of [...listeners]) listener();
  };
  return {
    getState: () => state,
    dispatch(action) {
      const next = pipelineReducer(state, action);
      if (next === state) return;
      state = next;
      if (schedule === undefined) return notify();
      if (scheduled) return;
      scheduled = true;
      schedule(notify);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Feeds every frame of `link` into `store`. Returns the function that stops. */
export function followLink(store: PipelineStore, link: { subscribe(listener: FrameListener): () => void }): () => void {
  return link.subscribe((frame) => store.dispatch({ type: 'frame', frame }));
}
