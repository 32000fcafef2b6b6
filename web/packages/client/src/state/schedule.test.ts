import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FRAME_FALLBACK_MS, frameScheduler, idleFirstScheduler, type FrameClock } from './schedule.js';

/** Animation frames the test runs by hand (a hidden tab: it never does). */
class FakeFrames implements FrameClock {
  private next = 1;
  readonly waiting = new Map<number, () => void>();
  requestFrame(callback: () => void): number {
    this.waiting.set(this.next, callback);
    return this.next++;
  }
  cancelFrame(handle: number): void {
    this.waiting.delete(handle);
  }
  /** Runs the callbacks due at this frame. */
  paint(): void {
    const due = [...this.waiting.values()];
    this.waiting.clear();
    for (const callback of due) callback();
  }
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('frameScheduler', () => {
  it('flushes once, at the next animation frame, and drops its fallback timer', () => {
    const frames = new FakeFrames();
    const flush = vi.fn();
    frameScheduler(frames)(flush);
    expect(flush).not.toHaveBeenCalled();
    frames.paint();
    expect(flush).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(FRAME_FALLBACK_MS * 2);
    expect(flush).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('flushes on its timer when no frame comes (a hidden tab), and not again at a later frame', () => {
    const frames = new FakeFrames();
    const flush = vi.fn();
    frameScheduler(frames)(flush);
    vi.advanceTimersByTime(FRAME_FALLBACK_MS - 1);
    expect(flush).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(flush).toHaveBeenCalledTimes(1);
    expect(frames.waiting.size).toBe(0);
    frames.paint();
    expect(flush).toHaveBeenCalledTimes(1);
  });

  it('cancelled, it never flushes', () => {
    const frames = new FakeFrames();
    const flush = vi.fn();
    const cancel = frameScheduler(frames)(flush);
    cancel();
    frames.paint();
    vi.advanceTimersByTime(FRAME_FALLBACK_MS);
    expect(flush).not.toHaveBeenCalled();
  });

  it('without animation frames (Node), flushes on a zero-delay timer', () => {
    const flush = vi.fn();
    frameScheduler(null)(flush);
    vi.advanceTimersByTime(0);
    expect(flush).toHaveBeenCalledTimes(1);
  });
});

/** Lets the microtasks queued so far run. */
const microtasks = () => Promise.resolve();

describe('idleFirstScheduler', () => {
  it('idle, flushes at once (in a microtask), without waiting for a frame', async () => {
    const frames = new FakeFrames();
    const schedule = idleFirstScheduler(frames);
    const flush = vi.fn();
    schedule(flush);
    expect(flush).not.toHaveBeenCalled();
    await microtasks();
    expect(flush).toHaveBeenCalledTimes(1);
  });

  it('after a flush, batches what comes before the next frame into one flush at that frame; idle again after a quiet frame', async () => {
    const frames = new FakeFrames();
    const schedule = idleFirstScheduler(frames);
    const first = vi.fn();
    schedule(first);
    await microtasks();
    // Changes while the flush is fresh: the store asks once for all of them.
    const batched = vi.fn();
    schedule(batched);
    await microtasks();
    expect(batched).not.toHaveBeenCalled();
    frames.paint();
    expect(batched).toHaveBeenCalledTimes(1);
    // The next frame comes with nothing waiting: idle again, so the next change is told at once.
    frames.paint();
    const later = vi.fn();
    schedule(later);
    await microtasks();
    expect(later).toHaveBeenCalledTimes(1);
    expect(first).toHaveBeenCalledTimes(1);
  });

  it('under a steady stream, one flush per frame, none lost', async () => {
    const frames = new FakeFrames();
    const schedule = idleFirstScheduler(frames);
    let flushes = 0;
    let pending = false;
    // As the store does: one schedule per batch, none while one is pending.
    const change = () => {
      if (pending) return;
      pending = true;
      schedule(() => {
        pending = false;
        flushes += 1;
      });
    };
    change();
    await microtasks();
    expect(flushes).toBe(1);
    for (let frame = 0; frame < 10; frame += 1) {
      for (let i = 0; i < 5; i += 1) change();
      await microtasks();
      frames.paint();
    }
    expect(flushes).toBe(11);
    expect(pending).toBe(false);
  });

  it('in a hidden tab (no frames), flushes what waits on the fallback timer', async () => {
    const frames = new FakeFrames();
    const schedule = idleFirstScheduler(frames);
    schedule(() => {});
    await microtasks();
    const waiting = vi.fn();
    schedule(waiting);
    vi.advanceTimersByTime(FRAME_FALLBACK_MS);
    expect(waiting).toHaveBeenCalledTimes(1);
  });

  it('cancelled, it never flushes, and a change after it is still told', async () => {
    const frames = new FakeFrames();
    const schedule = idleFirstScheduler(frames);
    const cancelled = vi.fn();
    schedule(cancelled)();
    const next = vi.fn();
    schedule(next);
    await microtasks();
    frames.paint();
    expect(cancelled).not.toHaveBeenCalled();
    expect(next).toHaveBeenCalledTimes(1);
  });
});
