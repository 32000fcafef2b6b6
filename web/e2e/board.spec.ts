// 8. The runs board: one row per run (by tenant and run id), its outcome
//    and per-stage status; filters with counts; a row opens that run's
//    timeline.

import {
  boardFilter,
  boardRow,
  boardRunIds,
  expect,
  openBoard,
  openDashboard,
  pipelineEvent,
  runKey,
  stageStatuses,
  test,
  type Stage,
  type Status,
} from './fixtures';

test.describe('with authentication', () => {
  test.use({ jwtSecret: 'tactical-link-e2e-secret-0123456789abcdef' });

  test('an admin sees two runs for one run id in two tenants', async ({ page, stack }) => {
    const token = await stack.mintToken({ sub: 'root', roles: ['admin'] });
    await page.goto(`${stack.gatewayUrl}/?boot=skip#token=${token}`);
    await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live', { timeout: 15_000 });

    await stack.publish({ ...pipelineEvent('shared-name', 'radar', 'complete', '212 signals'), tenant: 'acme' });
    await stack.publish({ ...pipelineEvent('shared-name', 'analyst', 'error', 'model timeout'), tenant: 'globex' });
    await expect(page.getByTestId('event-log-entry')).toHaveCount(2);

    await openBoard(page);
    await expect(page.locator('[data-testid="runs-board"] [data-run-id="shared-name"]')).toHaveCount(2);
    const acme = boardRow(page, runKey('shared-name', { tenant: 'acme' }));
    const globex = boardRow(page, runKey('shared-name', { tenant: 'globex' }));
    await expect(acme).toHaveAttribute('data-tenant', 'acme');
    await expect(acme).toHaveAttribute('data-outcome', 'running');
    await expect(acme.locator('[data-stage="radar"]')).toHaveAttribute('data-status', 'complete');
    await expect(acme.locator('[data-stage="analyst"]')).toHaveAttribute('data-status', 'idle');
    await expect(globex).toHaveAttribute('data-tenant', 'globex');
    await expect(globex).toHaveAttribute('data-outcome', 'error');
    await expect(globex.locator('[data-stage="analyst"]')).toHaveAttribute('data-status', 'error');
    await expect(globex.locator('[data-stage="radar"]')).toHaveAttribute('data-status', 'idle');
    // An admin's board names the tenants.
    await expect(page.getByRole('columnheader', { name: 'Tenant' })).toBeVisible();

    // A row opens that run's timeline: the globex one, not the acme one.
    await globex.click();
    await expect(page.getByTestId('runs-board')).toHaveCount(0);
    await expect(page.locator('ol.stages')).toHaveAttribute('data-run-key', runKey('shared-name', { tenant: 'globex' }));
    expect(await stageStatuses(page)).toEqual(['idle', 'error', 'idle', 'idle', 'idle', 'idle']);
    await expect(page.getByTestId('run-summary')).toHaveAttribute('data-outcome', 'error');
    // The selector lists the two as two entries, by tenant.
    const options = await page.getByTestId('run-selector').locator('option').allTextContents();
    expect(options.filter((o) => /^shared-name \(acme\) — /.test(o))).toHaveLength(1);
    expect(options.filter((o) => /^shared-name \(globex\) — Error/.test(o))).toHaveLength(1);
  });
});

test.describe('with a 1 s deadline on the quality stage', () => {
  test.use({ gatewayArgs: ['--stage-deadline', 'quality=1s'] });

  test('the board filters by running, stalled, error and complete, with counts', async ({ page, stack }) => {
    await openDashboard(page, stack);
    const t = Date.now() - 60_000;
    const ev = (runId: string, stage: Stage, status: Status, offsetMs: number) => ({
      ...pipelineEvent(runId, stage, status),
      ts: new Date(t + offsetMs).toISOString(),
    });
    const events = [
      ev('run-done', 'radar', 'complete', 0),
      ev('run-done', 'report', 'complete', 500),
      ev('run-failed', 'radar', 'complete', 1_000),
      ev('run-failed', 'analyst', 'error', 1_500),
      ev('run-busy', 'radar', 'processing', 2_000),
      // Processing since a minute ago, past the 1 s deadline: stalled (and running).
      ev('run-stuck', 'quality', 'processing', 3_000),
    ];
    for (const event of events) await stack.publish(event);
    await expect(page.getByTestId('event-log-entry')).toHaveCount(events.length);

    const board = await openBoard(page);
    // Newest start first.
    await expect.poll(() => boardRunIds(page)).toEqual(['run-stuck', 'run-busy', 'run-failed', 'run-done']);
    await expect(boardRow(page, runKey('run-stuck'))).toHaveAttribute('data-stalled', 'true');
    const counts = { all: 4, running: 2, stalled: 1, error: 1, complete: 1 };
    for (const [filter, count] of Object.entries(counts)) {
      await expect(boardFilter(page, filter)).toHaveAttribute('data-count', String(count));
    }
    await expect(boardFilter(page, 'all')).toHaveAttribute('aria-pressed', 'true');

    const shows = async (filter: string, runs: string[]) => {
      await boardFilter(page, filter).click();
      await expect(boardFilter(page, filter)).toHaveAttribute('aria-pressed', 'true');
      await expect(board).toHaveAttribute('data-filter', filter);
      await expect.poll(() => boardRunIds(page)).toEqual(runs);
    };
    await shows('running', ['run-stuck', 'run-busy']);
    await shows('stalled', ['run-stuck']);
    await shows('error', ['run-failed']);
    await shows('complete', ['run-done']);
    await expect(boardFilter(page, 'all')).toHaveAttribute('aria-pressed', 'false');

    // Live: a run that fails moves from one filter to another.
    await stack.publish(ev('run-busy', 'radar', 'error', 2_500));
    await expect(boardFilter(page, 'error')).toHaveAttribute('data-count', '2');
    await expect(boardFilter(page, 'running')).toHaveAttribute('data-count', '1');
    await shows('error', ['run-busy', 'run-failed']);

    // The filter buttons work from the keyboard, and so do the rows: Enter on a run opens its
    // timeline, with focus on it.
    await boardFilter(page, 'all').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => boardRunIds(page)).toEqual(['run-stuck', 'run-busy', 'run-failed', 'run-done']);
    await boardRow(page, runKey('run-failed')).getByRole('button').focus();
    await page.keyboard.press('Enter');
    await expect(page.locator('ol.stages')).toHaveAttribute('data-run-key', runKey('run-failed'));
    await expect(page.locator('section.pipeline')).toBeFocused();
    expect(await stageStatuses(page)).toEqual(['complete', 'error', 'idle', 'idle', 'idle', 'idle']);
    await expect(page.getByTestId('view-timeline')).toHaveAttribute('aria-pressed', 'true');
  });
});
