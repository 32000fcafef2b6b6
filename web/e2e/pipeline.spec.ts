// 2. An event published on Redis changes its stage on the page, live.

import { expect, openDashboard, pipelineEvent, runKey, stageCard, stageStatuses, test } from './fixtures';

test('PUBLISH system_events of a pipeline event changes that stage on the page', async ({ page, stack }) => {
  await openDashboard(page, stack);
  await expect(page.getByTestId('event-log-empty')).toBeVisible();

  await stack.publish(pipelineEvent('run-e2e-1', 'analyst', 'processing', 'Scoring 48 leads'));
  const analyst = stageCard(page, 'analyst');
  await expect(analyst).toHaveAttribute('data-status', 'processing');
  await expect(analyst.getByTestId('stage-detail')).toHaveText('Scoring 48 leads');
  await expect(page.locator('ol.stages')).toHaveAttribute('data-run-id', 'run-e2e-1');
  // Only that stage moved.
  expect(await stageStatuses(page)).toEqual(['idle', 'processing', 'idle', 'idle', 'idle', 'idle']);

  // Letter case does not matter to the gateway (docs/events.md).
  await stack.publish({ ...pipelineEvent('run-e2e-1', 'analyst', 'complete', '31 leads above threshold'), stage: 'ANALYST', status: 'COMPLETE' });
  await expect(analyst).toHaveAttribute('data-status', 'complete');
  await expect(analyst.getByTestId('stage-duration')).toBeVisible();

  await stack.publish(pipelineEvent('run-e2e-1', 'advisor', 'error', 'model timeout'));
  await expect(stageCard(page, 'advisor')).toHaveAttribute('data-status', 'error');
  await expect(stageCard(page, 'advisor').getByTestId('stage-error')).toContainText('model timeout');

  // Every event is in the log, newest first; the latency readout took samples.
  const log = page.getByTestId('event-log');
  await expect(log.getByTestId('event-log-entry')).toHaveCount(3);
  await expect(log.getByTestId('event-log-entry').first()).toHaveAttribute('data-status', 'error');
  await expect(page.getByTestId('latency')).not.toHaveAttribute('data-count', '0');
});

test('an invalid event is not relayed and changes nothing', async ({ page, stack }) => {
  await openDashboard(page, stack);
  await stack.publish({ type: 'pipeline.stage', run_id: 'run-bad', stage: 'teleport', status: 'processing' });
  await stack.publish('not json at all');
  // A valid event after them shows; the invalid ones never did.
  await stack.publish(pipelineEvent('run-good', 'radar', 'processing'));
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'processing');
  await expect(page.getByTestId('event-log-entry')).toHaveCount(1);
  await expect(page.getByTestId('run-selector').locator('option')).toHaveCount(2); // follow newest + run-good
  await expect(page.getByTestId('run-selector').locator(`option[value="${runKey('run-good')}"]`)).toHaveCount(1);
  await expect(page.getByTestId('run-selector').locator(`option[value="${runKey('run-bad')}"]`)).toHaveCount(0);
});
