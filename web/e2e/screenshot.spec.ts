// 6. The dashboard in the middle of simulated runs, at desktop and phone
//    width. `npm run screenshots` (UPDATE_DOCS_SCREENSHOTS=1) writes them to
//    docs/img/ for the README; a plain run keeps them with the test results.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, openDashboard, stageStatuses, test } from './fixtures';

const DOCS_IMG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/img');

test('screenshot of the dashboard during simulated runs', async ({ page, stack }, testInfo) => {
  const target = (name: string) =>
    process.env.UPDATE_DOCS_SCREENSHOTS === '1' ? path.join(DOCS_IMG, name) : testInfo.outputPath(name);

  const simulator = stack.simulate(['--runs', '6', '--concurrency', '3', '--speed', '3', '--seed', '7', '--error-rate', '0.3']);
  const relayed = async () =>
    ((await (await fetch(`${stack.gatewayUrl}/api/status`)).json()) as { events_relayed: number }).events_relayed;
  // Open the page once the runs are under way, so the header's counters
  // (read from /api/status at load) have something to say.
  await expect.poll(relayed, { timeout: 30_000 }).toBeGreaterThan(5);
  await page.setViewportSize({ width: 1280, height: 800 });
  await openDashboard(page, stack);

  // Mid-run: the run on screen has a stage done and one processing, and the
  // log has some history.
  await expect(page.getByTestId('event-log-entry').nth(11)).toBeAttached({ timeout: 30_000 });
  const midRun = async () => {
    const statuses = await stageStatuses(page);
    return statuses.includes('complete') && statuses.includes('processing');
  };
  await expect.poll(midRun, { timeout: 30_000, intervals: [50] }).toBe(true);

  // Freeze the scene: stop the simulator and let what it sent land, so both
  // screenshots show the same, mid-run state.
  await simulator.stop('SIGKILL');
  let before = -1;
  await expect
    .poll(async () => {
      const now = await relayed();
      const settled = now === before;
      before = now;
      return settled;
    }, { timeout: 10_000, intervals: [300] })
    .toBe(true);
  await expect(page.getByTestId('event-log-count')).toHaveText(`${before} events`);
  if (!(await midRun())) {
    // Its last events finished the newest run: show one still in flight.
    const option = page.getByTestId('run-selector').locator('option', { hasText: '— Running' }).first();
    await page.getByTestId('run-selector').selectOption((await option.getAttribute('value'))!);
  }
  await expect(page.locator('.stages [data-status="processing"]').first()).toBeVisible();
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live');
  await expect(page.getByTestId('bus-status')).toHaveAttribute('data-state', 'up');

  const desktop = target('dashboard.png');
  await page.screenshot({ path: desktop, animations: 'disabled', caret: 'hide' });
  await testInfo.attach('dashboard.png', { path: desktop, contentType: 'image/png' });

  await page.setViewportSize({ width: 390, height: 844 });
  await expect(page.getByTestId('operations-timeline')).toBeVisible();
  const phone = target('dashboard-phone.png');
  await page.screenshot({ path: phone, animations: 'disabled', caret: 'hide' });
  await testInfo.attach('dashboard-phone.png', { path: phone, contentType: 'image/png' });
});
