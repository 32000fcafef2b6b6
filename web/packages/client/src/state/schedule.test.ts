import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FRAME_FALLBACK_MS, frameScheduler, type FrameClock } from './schedule.js';

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
