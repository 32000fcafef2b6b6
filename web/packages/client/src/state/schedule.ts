// When a store tells its listeners that the state changed: after every
// change, or at most once per animation frame. A page fed hundreds of
// frames a second applies each one to the state at once (nothing is
// dropped or queued), but a view layer only needs the state as it is when
// the browser paints: with `frameScheduler`, React sees one change per
// frame however many frames came in it.
//
// A hidden tab paints nothing and runs no animation frames, so a timer
// (`FRAME_FALLBACK_MS`, throttled by the browser to about once a second
// there) flushes instead; nothing waits for the tab to be shown again.
//
// Waiting for the next frame costs up to a frame (16.7 ms at 60 Hz) on a
// page that is otherwise idle, where one event comes now and then: with
// `idleFirstScheduler` the first change after a quiet frame is told at once
// (in a microtask, so the frame's own listeners have all run), and only
// changes that come while a flush is fresh (before the next frame) wait for
// that frame, batched. Fast events are batched as before; nothing is
// dropped either way: the store applies every frame when it comes.

/** Arranges for `flush` to run once, later; returns the function that cancels it. */
export type NotifyScheduler = (flush: () => void) => () => void;

/** Longest wait for an animation frame before a timer flushes instead (a hidden tab runs none). */
export const FRAME_FALLBACK_MS = 100;

/** The animation-frame functions a frame scheduler uses; the browser's by default. */
export interface FrameClock {
  requestFrame(callback: () => void): number;
  cancelFrame(handle: number): void;
}

function browserFrames(): FrameClock | null {
  if (typeof requestAnimationFrame !== 'function' || typeof cancelAnimationFrame !== 'function') return null;
  return { requestFrame: (callback) => requestAnimationFrame(callback), cancelFrame: (handle) => cancelAnimationFrame(handle) };
}

/**
 * Flushes at the next animation frame, or after `fallbackMs` if no frame
 * comes first (a hidden tab), whichever is sooner. Without animation frames
 * at all (Node), on a zero-delay timer.
 */
export function frameScheduler(clock: FrameClock | null = browserFrames(), fallbackMs = FRAME_FALLBACK_MS): NotifyScheduler {
  return (flush) => {
    let done = false;
    let frame: number | null = null;
    const timer = setTimeout(() => run(), clock === null ? 0 : fallbackMs);
    const cancel = () => {
      done = true;
      clearTimeout(timer);
      if (frame !== null) clock?.cancelFrame(frame);
    };
    const run = () => {
      if (done) return;
      cancel();
      flush();
    };
    if (clock !== null) frame = clock.requestFrame(run);
    return cancel;
  };
}

/**
 * Flushes at once (in a microtask) when no flush happened since the last
 * animation frame; else at the next frame (as `frameScheduler`), batching
 * every change until then. So a page that is idle shows an event without
 * waiting for a frame, and one fed faster than frames renders once per
 * frame (at most twice in the frame where it stops being idle).
 */
export function idleFirstScheduler(clock: FrameClock | null = browserFrames(), fallbackMs = FRAME_FALLBACK_MS): NotifyScheduler {
  const nextFrame = frameScheduler(clock, fallbackMs);
  /** A flush ran (or is due at once) and no frame has come since. */
  let fresh = false;
  /** The flush waiting for the next frame, if any. */
  let waiting: (() => void) | null = null;
  const ran = (flush: () => void) => {
    // Armed before the flush, so a change the flush itself makes waits for the frame.
    nextFrame(onFrame);
    flush();
  };
  const onFrame = () => {
    const flush = waiting;
    waiting = null;
    if (flush === null) fresh = false;
    else ran(flush);
  };
  return (flush) => {
    if (fresh) {
      waiting = flush;
      return () => {
        if (waiting === flush) waiting = null;
      };
    }
    fresh = true;
    let cancelled = false;
    queueMicrotask(() => (cancelled ? onFrame() : ran(flush)));
    return () => {
      cancelled = true;
    };
  };
}
