// The pipeline state of state/pipeline.ts held in one place, with
// listeners: what a view layer subscribes to (React's useSyncExternalStore
// in @tactical-link/react, or any other), fed by a link's frames.
//
// No rules here: every frame goes through `pipelineReducer`; the store only
// keeps the result and says when it changed.

import type { FrameListener } from '../socket/client.js';
import { INITIAL_PIPELINE_STATE, pipelineReducer, type PipelineAction, type PipelineState } from './pipeline.js';

export interface PipelineStore {
  /** The state now. The same object until a frame changes it. */
  getState(): PipelineState;
  dispatch(action: PipelineAction): void;
  /** Called after every change. Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

export function createPipelineStore(initial: PipelineState = INITIAL_PIPELINE_STATE): PipelineStore {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    getState: () => state,
    dispatch(action) {
      const next = pipelineReducer(state, action);
      if (next === state) return;
      state = next;
      for (const listener of [...listeners]) listener();
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
