// 4. Several runs: the run selector lists them and shows the one picked;
//    the event log's filters (stage, status, text) narrow its entries; the
//    log has only the entries in its view in the DOM, and holds still while
//    the user is scrolled down from the newest.

import type { Page } from '@playwright/test';
import { expect, openDashboard, pipelineEvent, runKey, selectedRun, stageStatuses, test, type PipelineEvent, type Stack } from './fixtures';

async function publishAll(stack: Stack, page: Page, events: PipelineEvent[]): Promise<void> {
  for (const event of events) await stack.publish(event);
  await expect(page.getByTestId('event-log-entry')).toHaveCount(events.length);
}

test('the run selector lists every run and shows the stages of the one picked', async ({ page, stack }) => {
  await openDashboard(page, stack);
  await publishAll(stack, page, [
    pipelineEvent('run-alpha', 'radar', 'complete', '212 signals'),
    pipelineEvent('run-alpha', 'analyst', 'processing', 'Scoring'),
    pipelineEvent('run-bravo', 'radar', 'processing'),
    pipelineEvent('run-charlie', 'radar', 'complete'),
    pipelineEvent('run-charlie', 'analyst', 'complete'),
    pipelineEvent('run-charlie', 'advisor', 'error', 'no plan'),
  ]);
  const selector = page.getByTestId('run-selector');
  // Newest first, after "follow newest".
  await expect(selector.locator('option')).toHaveText([
    /Follow newest \(run-charlie\)/,
    /^run-charlie — /,
    /^run-bravo — /,
    /^run-alpha — /,
  ]);
  // Following the newest run by default.
  expect(await selectedRun(page)).toBe('run-charlie');
  expect(await stageStatuses(page)).toEqual(['complete', 'complete', 'error', 'idle', 'idle', 'idle']);

  await selector.selectOption(runKey('run-alpha'));
  await expect(page.locator('ol.stages')).toHaveAttribute('data-run-id', 'run-alpha');
  expect(await stageStatuses(page)).toEqual(['complete', 'processing', 'idle', 'idle', 'idle', 'idle']);

  await selector.selectOption(runKey('run-bravo'));
  await expect(page.locator('ol.stages')).toHaveAttribute('data-run-id', 'run-bravo');
  expect(await stageStatuses(page)).toEqual(['processing', 'idle', 'idle', 'idle', 'idle', 'idle']);

  // A new run does not take the view away from the run picked…
  await stack.publish(pipelineEvent('run-delta', 'radar', 'processing'));
  await expect(selector.locator(`option[value="${runKey('run-delta')}"]`)).toHaveCount(1);
  expect(await selectedRun(page)).toBe('run-bravo');
  // …until the user goes back to following the newest.
  await page.getByTestId('follow-newest').click();
  await expect(page.locator('ol.stages')).toHaveAttribute('data-run-id', 'run-delta');
});

test('the event log filters by stage, status and text', async ({ page, stack }) => {
  await openDashboard(page, stack);
  await publishAll(stack, page, [
    pipelineEvent('run-alpha', 'radar', 'processing'),
    pipelineEvent('run-alpha', 'radar', 'complete', '212 signals'),
    pipelineEvent('run-alpha', 'analyst', 'processing', 'Scoring 48 leads'),
    pipelineEvent('run-bravo', 'radar', 'processing'),
    pipelineEvent('run-bravo', 'radar', 'error', 'feed unreachable'),
  ]);
  const log = page.getByTestId('event-log');
  const entries = log.getByTestId('event-log-entry');
  const runsShown = () => entries.evaluateAll((els) => els.map((el) => el.getAttribute('data-run-id')));

  await log.getByTestId('filter-stage').selectOption('radar');
  await expect(entries).toHaveCount(4);
  await expect(log.getByTestId('event-log-count')).toHaveText('4 of 5');

  await log.getByTestId('filter-status').selectOption('processing');
  await expect(entries).toHaveCount(2);
  await expect(entries).toHaveText([/Radar.*run-bravo/, /Radar.*run-alpha/]);

  await log.getByTestId('filter-stage').selectOption('all');
  await log.getByTestId('filter-status').selectOption('error');
  await expect(entries).toHaveCount(1);
  await expect(entries.first()).toHaveAttribute('data-status', 'error');
  await expect(entries.first()).toContainText('feed unreachable');

  await log.getByTestId('filter-status').selectOption('all');
  await log.getByTestId('filter-text').fill('bravo');
  await expect(entries).toHaveCount(2);
  expect(await runsShown()).toEqual(['run-bravo', 'run-bravo']);

  // Text matches the detail too.
  await log.getByTestId('filter-text').fill('48 leads');
  await expect(entries).toHaveCount(1);
  await expect(entries.first()).toHaveAttribute('data-run-id', 'run-alpha');

  await log.getByTestId('filter-text').fill('nothing like this');
  await expect(entries).toHaveCount(0);
  await expect(log.getByTestId('event-log-empty')).toHaveText('No event matches the filters.');

  await log.getByRole('button', { name: 'Clear' }).click();
  await expect(entries).toHaveCount(5);
});

test('the event log keeps only the entries in its view in the DOM, and holds still while scrolled down', async ({ page, stack }) => {
  await openDashboard(page, stack);
  const events = Array.from({ length: 150 }, (_, i) => pipelineEvent(`run-${i % 20}`, 'radar', 'processing', `signal ${i}`));
  for (const event of events) await stack.publish(event);
  const log = page.getByTestId('event-log');
  await expect(log.getByTestId('event-log-count')).toHaveText('150 events');
  const entries = page.getByTestId('event-log-entry');
  await expect(entries.first()).toContainText('signal 149');
  // The log's view holds about a dozen rows: those and the overscan, not 150.
  const inDom = await entries.count();
  expect(inDom).toBeGreaterThan(5);
  expect(inDom).toBeLessThan(50);

  // Scrolled down: the entry at the top of the view, and where it is.
  const body = log.getByTestId('event-log-body');
  await body.evaluate((el) => (el.scrollTop = 60 * el.querySelector<HTMLElement>('.log-entry')!.offsetHeight));
  await expect(log.getByTestId('event-log-held')).toBeVisible();
  const topOfView = () =>
    body.evaluate((el) => {
      const top = el.getBoundingClientRect().top;
      const first = [...el.querySelectorAll<HTMLElement>('.log-entry')].find((e) => e.getBoundingClientRect().bottom > top + 1)!;
      return { id: first.dataset.eventId, y: first.getBoundingClientRect().top - top, text: first.textContent };
    });
  const before = await topOfView();
  expect(before.text).toContain('signal 89');

  // Ten new events: the log says so, and the rows in view have not moved.
  for (let i = 150; i < 160; i += 1) await stack.publish(pipelineEvent('run-new', 'radar', 'processing', `signal ${i}`));
  await expect(log.getByTestId('event-log-newer')).toHaveText('10 newer events');
  expect(await topOfView()).toEqual(before);
  await expect(log.getByTestId('event-log-count')).toHaveText('150 events');

  // The oldest entry, scrolled to, is rendered and shows its event.
  await body.evaluate((el) => (el.scrollTop = el.scrollHeight));
  await expect(entries.last()).toContainText('signal 0');
  await expect(entries.last()).toBeInViewport();

  // "Show newest": back to the top, live.
  await log.getByTestId('event-log-show-newest').click();
  await expect(log.getByTestId('event-log-held')).toHaveCount(0);
  await expect(entries.first()).toContainText('signal 159');
  await expect(log.getByTestId('event-log-count')).toHaveText('160 events');
});
