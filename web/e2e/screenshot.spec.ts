// 6. The dashboard in the middle of simulated runs, at desktop and phone
//    width, and the runs board with runs in every state. `npm run
//    screenshots` (UPDATE_DOCS_SCREENSHOTS=1) writes them to docs/img/ for
//    the README and docs; a plain run keeps them with the test results.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestInfo } from '@playwright/test';
import { boardRunIds, expect, openBoard, openDashboard, pipelineEvent, stageStatuses, test, type Stage, type Status } from './fixtures';

const DOCS_IMG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/img');

function target(testInfo: TestInfo, name: string): string {
  return process.env.UPDATE_DOCS_SCREENSHOTS === '1' ? path.join(DOCS_IMG, name) : testInfo.outputPath(name);
}

// The header's latency readout is in the picture, so the page must run as a
// live page does. A trace with screenshots (playwright.config.ts records one
// for every test, kept on failure) has Chromium capture and encode the
// page's frames all along, which holds its main thread: on two shared cores
// the readout read p50 20–200 ms, p95 230–1,300 ms with it and p50 3–6 ms,
// p95 8–30 ms without. A failure still keeps a trace, with DOM snapshots
// but no screencast.
test.use({ trace: { mode: 'retain-on-failure', screenshots: false, snapshots: true, sources: true } });

test('screenshot of the dashboard during simulated runs', async ({ page, stack }, testInfo) => {
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
      await expect(page.locator('ol.stages')).toHaveAttribute('data-run-key', run);
      if (await midRun()) break;
    }
  }
  await expect(page.locator('.stages [data-status="processing"]').first()).toBeVisible();
  // The stage at work reports its progress, as a real service would.
  const runId = await page.locator('ol.stages').getAttribute('data-run-id');
  const stage = (await page.locator('.stages [data-status="processing"]').first().getAttribute('data-stage')) as Stage;
  await stack.publish({ ...pipelineEvent(runId!, stage, 'processing', 'Working through batch 2 of 3'), progress: 62, eta: 45 });
  await expect(page.locator(`.stages [data-stage="${stage}"]`).getByTestId('stage-progress')).toHaveAttribute('aria-valuenow', '62');
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live');
  await expect(page.getByTestId('bus-status')).toHaveAttribute('data-state', 'up');

  const desktop = target(testInfo, 'dashboard.png');
  await page.screenshot({ path: desktop, animations: 'disabled', caret: 'hide' });
  await testInfo.attach('dashboard.png', { path: desktop, contentType: 'image/png' });

  await page.setViewportSize({ width: 390, height: 844 });
  await expect(page.getByTestId('operations-timeline')).toBeVisible();
  const phone = target(testInfo, 'dashboard-phone.png');
  await page.screenshot({ path: phone, animations: 'disabled', caret: 'hide' });
  await testInfo.attach('dashboard-phone.png', { path: phone, contentType: 'image/png' });
});

test.describe('with deadlines', () => {
  test.use({ gatewayArgs: ['--stage-deadline', 'actuator=5m', '--stage-deadline', 'quality=2m'] });

  test('screenshot of the runs board', async ({ page, stack }, testInfo) => {
    const t = Date.now() - 30 * 60_000;
    const at = (s: number) => new Date(t + s * 1000).toISOString();
    type Step = [Stage, Status, number, Record<string, unknown>?];
    const run = async (runId: string, tenant: string, steps: Step[]) => {
      for (const [stage, status, s, extra] of steps) {
        await stack.publish({ ...pipelineEvent(runId, stage, status), ts: at(s), tenant, ...extra });
      }
    };
    const through = (last: Stage, from: number): Step[] => {
      const stages: Stage[] = ['radar', 'analyst', 'advisor', 'actuator', 'quality', 'report'];
      return stages.slice(0, stages.indexOf(last) + 1).flatMap((stage, i): Step[] => [
        [stage, 'processing', from + i * 40],
        [stage, 'complete', from + i * 40 + 30],
      ]);
    };
    await run('run-0412', 'acme', through('report', 0));
    await run('run-0413', 'globex', [...through('analyst', 60), ['advisor', 'processing', 150], ['advisor', 'error', 170, { detail: 'model timeout' }]]);
    await run('shared-name', 'acme', [...through('advisor', 300), ['actuator', 'processing', 420]]);
    await run('shared-name', 'globex', [...through('radar', 330), ['analyst', 'error', 400, { detail: 'feed unreachable' }]]);
    await run('run-0415', 'acme', [
      ...through('actuator', 600),
      ['quality', 'processing', 800, { attempt: 1 }],
      ['quality', 'error', 830, { attempt: 1, detail: 'checksum mismatch' }],
      ['quality', 'processing', 1_740, { attempt: 2, progress: 35 }],
    ]);
    await run('run-0416', 'globex', [...through('radar', 1_500), ['analyst', 'processing', 1_740, { progress: 72, eta: 120 }]]);
    await run('run-0417', 'acme', [['radar', 'processing', 1_780, { progress: 15 }]]);

    // Opened after the events (they come in the snapshot), so the latency readout does not time
    // events stamped half an hour ago, and the header's counters have them.
    await page.setViewportSize({ width: 1280, height: 800 });
    await openDashboard(page, stack);
    await openBoard(page);
    await expect.poll(() => boardRunIds(page)).toEqual(['run-0417', 'run-0416', 'run-0415', 'shared-name', 'shared-name', 'run-0413', 'run-0412']);
    await expect(page.locator('[data-testid="runs-board"] [data-run-id="shared-name"][data-tenant="acme"]')).toHaveAttribute('data-stalled', 'true');
    await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live');

    const board = target(testInfo, 'runs-board.png');
    await page.screenshot({ path: board, animations: 'disabled', caret: 'hide' });
    await testInfo.attach('runs-board.png', { path: board, contentType: 'image/png' });
  });
});
