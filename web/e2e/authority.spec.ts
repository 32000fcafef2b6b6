// 7. The gateway is the authority on each run: an event that arrives after
//    a newer one of its stage does not move the card back (and the log says
//    it was stale), and a stage processing past its deadline shows stalled
//    on the card and the board until it moves on, also when it stalled while
//    the page was away and resumed.

import { boardRow, expect, openBoard, openDashboard, pipelineEvent, runKey, stageCard, test, watchSockets } from './fixtures';

test('an out-of-order event does not move the card back; its log entry says stale', async ({ page, stack }) => {
  await openDashboard(page, stack);
  const t = Date.now() - 10_000;
  const at = (ms: number) => new Date(t + ms).toISOString();

  await stack.publish({ ...pipelineEvent('run-ooo', 'analyst', 'complete', '31 leads above threshold'), ts: at(2_000) });
  const analyst = stageCard(page, 'analyst');
  await expect(analyst).toHaveAttribute('data-status', 'complete');

  // Published later, happened earlier: the gateway puts it in its place.
  await stack.publish({ ...pipelineEvent('run-ooo', 'analyst', 'processing', 'Scoring 48 leads'), ts: at(1_000) });
  const entries = page.getByTestId('event-log-entry');
  await expect(entries).toHaveCount(2);
  // Newest first: the late event is logged, marked stale; the first is not.
  await expect(entries.first()).toHaveAttribute('data-stale', 'true');
  await expect(entries.first()).toContainText('stale, not applied');
  await expect(entries.nth(1)).not.toHaveAttribute('data-stale');
  await expect(page.getByTestId('event-stale')).toHaveCount(1);

  // The card is where the newest event put it, with the whole attempt: T+1 s to T+2 s.
  await expect(analyst).toHaveAttribute('data-status', 'complete');
  await expect(analyst.getByTestId('stage-detail')).toHaveText('31 leads above threshold');
  await expect(analyst.getByTestId('stage-duration')).toHaveText('1.0 s');
  await expect(analyst.getByTestId('stage-progress')).toHaveCount(0);
  await expect(page.getByTestId('run-summary')).toHaveAttribute('data-outcome', 'running');

  // A reload (a snapshot) shows the same.
  await page.reload();
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live');
  await expect(stageCard(page, 'analyst')).toHaveAttribute('data-status', 'complete');
  await expect(page.getByTestId('event-log-entry').first()).toHaveAttribute('data-stale', 'true');
});

test.describe('with a 2 s deadline on the analyst stage', () => {
  test.use({ gatewayArgs: ['--stage-deadline', 'analyst=2s'] });

  test('a stall appears on the card and the board, and clears when the stage completes', async ({ page, stack }) => {
    await openDashboard(page, stack);
    const published = Date.now();
    await stack.publish({ ...pipelineEvent('run-stall', 'analyst', 'processing', 'Scoring 48 leads'), progress: 40 });
    const analyst = stageCard(page, 'analyst');
    await expect(analyst).toHaveAttribute('data-status', 'processing');
    await expect(analyst.getByTestId('stage-progress')).toHaveAttribute('aria-valuenow', '40');

    // The gateway's watchdog marks it (a `run` frame) once the deadline has passed, not before.
    await expect(analyst).toHaveAttribute('data-stalled', 'true');
    expect(Date.now() - published).toBeGreaterThanOrEqual(2_000);
    await expect(analyst.getByTestId('stage-stalled')).toHaveText('Stalled');
    await expect(page.getByTestId('run-summary')).toHaveAttribute('data-stalled', 'true');
    // Only the analyst: the other stages have no deadline and are idle anyway.
    await expect(page.locator('.stages [data-stalled="true"]')).toHaveCount(1);

    await openBoard(page);
    const row = boardRow(page, runKey('run-stall'));
    await expect(row).toHaveAttribute('data-stalled', 'true');
    await expect(row.locator('[data-stage="analyst"]')).toHaveAttribute('data-stalled', 'true');
    await expect(row.locator('[data-stalled="true"][data-stage]')).toHaveCount(1);

    // The stage moves on: the stall is gone, on the board…
    await stack.publish(pipelineEvent('run-stall', 'analyst', 'complete', '31 leads above threshold'));
    await expect(row.locator('[data-stage="analyst"]')).toHaveAttribute('data-status', 'complete');
    await expect(row.locator('[data-stage="analyst"]')).not.toHaveAttribute('data-stalled');
    await expect(row).not.toHaveAttribute('data-stalled');

    // …and on the card.
    await page.getByTestId('view-timeline').click();
    await expect(analyst).toHaveAttribute('data-status', 'complete');
    await expect(analyst).not.toHaveAttribute('data-stalled');
    await expect(analyst.getByTestId('stage-stalled')).toHaveCount(0);
  });

  test('a stall that began while the page was offline shows after it resumes', async ({ page, stack }) => {
    const sockets = watchSockets(page);
    await openDashboard(page, stack);
    // An event seen, so that the page resumes after it when it reconnects.
    await stack.publish(pipelineEvent('run-away', 'radar', 'complete', '212 signals'));
    await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'complete');

    // The page goes offline (it closes its socket); meanwhile the analyst starts and stalls.
    await page.context().setOffline(true);
    await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'offline');
    await stack.publish(pipelineEvent('run-away', 'analyst', 'processing', 'Scoring 48 leads'));
    await expect
      .poll(async () => {
        const res = await fetch(`${stack.gatewayUrl}/api/runs`);
        const body = (await res.json()) as { runs: Array<{ run_id: string; stalled: boolean }> };
        return body.runs.find((run) => run.run_id === 'run-away')?.stalled;
      })
      .toBe(true);
    const analyst = stageCard(page, 'analyst');
    await expect(analyst).toHaveAttribute('data-status', 'idle');

    // Back online: it resumes; the missed event is replayed, then the gateway's `run` frame brings the stall.
    await page.context().setOffline(false);
    await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live');
    await expect(analyst).toHaveAttribute('data-status', 'processing');
    await expect(analyst).toHaveAttribute('data-stalled', 'true');
    await expect(page.getByTestId('run-summary')).toHaveAttribute('data-stalled', 'true');
    const resumed = sockets.at(-1)!;
    expect(new URL(resumed.url).searchParams.get('last_id')).not.toBeNull();
    expect(resumed.frames.map((f) => f.type).filter((type) => type !== 'pong')).toEqual(['welcome', 'resumed', 'event', 'run']);
  });
});
