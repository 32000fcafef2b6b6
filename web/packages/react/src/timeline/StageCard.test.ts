import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IDLE_STAGE, type StageView } from '@tactical-link/client';
import { StageCard } from './StageCard.js';

const NOW = Date.UTC(2026, 10, 28, 15, 0, 0);

function render(view: Partial<StageView>): string {
  return renderToStaticMarkup(createElement(StageCard, { stage: 'analyst', index: 1, view: { ...IDLE_STAGE, ...view } }));
}

const processing: Partial<StageView> = { status: 'processing', startedAt: NOW - 5_000, attempt: 1 };

describe('StageCard', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
  });
  afterEach(() => vi.useRealTimers());

  it('shows the attempt from the first retry on, not before', () => {
    expect(render(processing)).not.toContain('data-testid="stage-attempt"');
    const retry = render({ ...processing, attempt: 2 });
    expect(retry).toMatch(/data-testid="stage-attempt"[^>]*>Attempt 2</);
    expect(retry).toContain('aria-label="Analyst: Processing, attempt 2"');
  });

  it('shows a progress bar with its value while processing, and none once done', () => {
    const html = render({ ...processing, progress: 42.6 });
    expect(html).toMatch(/role="progressbar"[^>]*aria-valuenow="43"/);
    expect(html).toContain('data-testid="stage-progress"');
    expect(html).toContain('width:43%');
    expect(render({ ...processing, progress: null })).not.toContain('progressbar');
    expect(render({ status: 'complete', progress: 100, startedAt: NOW - 9_000, endedAt: NOW, attempt: 1 })).not.toContain('progressbar');
  });

  it('shows the ETA and the time left', () => {
    const html = render({ ...processing, eta: NOW + 90_000 });
    expect(html).toContain('data-testid="stage-eta"');
    expect(html).toContain('1 m 30 s left');
    expect(render({ ...processing, eta: NOW - 1_000 })).toContain(' · due');
  });

  it('marks a stalled stage on the card (data-stalled) and in words', () => {
    const html = render({ ...processing, stalled: true });
    expect(html).toMatch(/<li[^>]*data-stalled="true"/);
    expect(html).toMatch(/data-testid="stage-stalled"[^>]*>Stalled</);
    expect(html).toContain('aria-label="Analyst: Processing, stalled"');
    const fine = render(processing);
    expect(fine).not.toContain('data-stalled');
    expect(fine).not.toContain('Stalled');
  });
});
