// 6. The dashboard in the middle of simulated runs, at desktop and phone
//    width. `npm run screenshots` (UPDATE_DOCS_SCREENSHOTS=1) writes them to
//    docs/img/ for the README; a plain run keeps them with the test results.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, openDashboard, stageStatuses, test } from './fixtures';

const DOCS_IMG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/img');

// The header's latency readout is in the picture, so the page must run as a
// live page does. A trace with screenshots (playwright.config.ts records one
// for every test, kept on failure) has Chromium capture and encode the
// page's frames all along, which holds its main thread: on two shared cores
// the readout read p50 20–200 ms, p95 230–1,300 ms with it and p50 3–6 ms,
// p95 8–30 ms without. A failure still keeps a trace, with DOM snapshots
// but no screencast.
test.use({ trace: { mode: 'retain-on-failure', screenshots: false, snapshots: true, sources: true } });

test('screenshot of the dashboard during simulated runs', async ({ page, stack }, testInfo) => {
  const target = (name: string) =>
    process.env.UPDATE_DOCS_SCREENSHOTS === '1' ? path.join(DOCS_IMG, name) : testInfo.outputPath(name);

  const simulator = stack.simulate(['--runs', '6', '--concurrency', '3', '--speed', '3', '--seed', '7', '--error-rate', '0.3']);
  const relayed = async () =>
    ((await (await fetch(`${stack.gatewayUrl}/api/status`)).json()) as { events_relayed: number }).events_relayed;
  // Open the page once the runs are under way, so the header's counters
  // (read from /api/status at load) have something to say.
  // The simulator waits (SIGSTOP) while the page loads, however long that takes.
  await expect.poll(relayed, { timeout: 30_000, intervals: [50] }).toBeGreaterThan(5);
  simulator.signal('SIGSTOP');
  await page.setViewportSize({ width: 1280, height: 800 });
  await openDashboard(page, stack);
  simulator.signal('SIGCONT');

  // Mid-run, whatever the machine's load: stop the simulator half-way (by
  // the gateway's count, not the page's), so runs are frozen in flight and
  // both screenshots show the same state.
  await expect.poll(relayed, { timeout: 30_000, intervals: [50] }).toBeGreaterThanOrEqual(30);
  await simulator.stop('SIGKILL');
  let before = -1;
  await expect
    .poll(
      async () => {
        const now = await relayed();
        const settled = now === before;
        before = now;
        return settled;
      },
      { timeout: 10_000, intervals: [300] },
    )
    .toBe(true);
  // The page has everything the gateway relayed.
  await expect(page.getByTestId('event-log-count')).toHaveText(`${before} events`, { timeout: 20_000 });

  // Show a run with stages done and one processing: the newest if it is, else another in flight.
  const midRun = async () => {
    const statuses = await stageStatuses(page);
    return statuses.includes('complete') && statuses.includes('processing');
  };
  if (!(await midRun())) {
    const selector = page.getByTestId('run-selector');
    const running = await selector.locator('option', { hasText: '— Running' }).evaluateAll((els) =>
      els.map((el) => (el as HTMLOptionElement).value),
    );
    for (const run of running) {
      await selector.selectOption(run);
      await expect(page.locator('ol.stages')).toHaveAttribute('data-run-id', run);
      if (await midRun()) break;
    }
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
