// 5. A reload shows exactly the timeline the page had: the snapshot equals
//    what the runs of the live event frames built.

import type { Page } from '@playwright/test';
import { expect, logEventIds, openDashboard, pipelineEvent, selectedRun, STAGES, test } from './fixtures';

/** Everything a reload must keep, read from the page. */
async function timeline(page: Page) {
  const stages = await page.locator('.stages [data-stage]').evaluateAll((els) =>
    els.map((el) => ({
      stage: el.getAttribute('data-stage'),
      status: el.getAttribute('data-status'),
      detail: el.querySelector('[data-testid="stage-detail"]')?.textContent ?? null,
      error: el.querySelector('[data-testid="stage-error"]')?.textContent ?? null,
      duration: el.querySelector('[data-testid="stage-duration"]')?.textContent ?? null,
    })),
  );
  return {
    run: await selectedRun(page),
    runs: await page.getByTestId('run-selector').locator('option').allTextContents(),
    stages,
    events: await logEventIds(page),
  };
}

test('a reload keeps the timeline exactly', async ({ page, stack }) => {
  await openDashboard(page, stack);
  const t0 = Date.now() - 60_000;
  const at = (ms: number) => new Date(t0 + ms).toISOString();
  const events = [
    { ...pipelineEvent('run-older', 'radar', 'complete', 'done early'), ts: at(0) },
    { ...pipelineEvent('run-42', 'radar', 'processing', 'Scanning 3 feeds'), ts: at(1_000) },
    { ...pipelineEvent('run-42', 'radar', 'complete', '212 signals'), ts: at(2_250) },
    { ...pipelineEvent('run-42', 'analyst', 'processing', 'Scoring 48 leads'), ts: at(2_300) },
    { ...pipelineEvent('run-42', 'analyst', 'complete'), ts: at(5_000) },
    { ...pipelineEvent('run-42', 'advisor', 'processing'), ts: at(5_100) },
    { ...pipelineEvent('run-42', 'advisor', 'error', 'model timeout'), ts: at(9_100) },
    { ...pipelineEvent('run-42', 'actuator', 'processing', 'Executing'), ts: at(9_200) },
    { type: 'deploy.finished', service: 'advisor', version: '2.4.1' },
  ];
  for (const event of events) await stack.publish(event);
  await expect(page.getByTestId('event-log-entry')).toHaveCount(events.length);

  const before = await timeline(page);
  expect(before.run).toBe('run-42');
  expect(before.stages.map((s) => s.status)).toEqual(['complete', 'complete', 'error', 'processing', 'idle', 'idle']);
  expect(before.stages.map((s) => s.stage)).toEqual([...STAGES]);
  expect(before.stages[0]!.duration).not.toBeNull();

  await page.reload();
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live');
  await expect(page.getByTestId('event-log-entry')).toHaveCount(events.length);
  expect(await timeline(page)).toEqual(before);
});
