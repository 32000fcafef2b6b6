// 3. The gateway goes away and comes back on the same address: the page
//    says it is reconnecting, goes live again by itself, catches up on what
//    was published meanwhile (resume), and shows what comes after, with no
//    reload.

import { expect, logEventIds, openDashboard, pipelineEvent, stageCard, test, watchSockets } from './fixtures';

test('the page reconnects by itself to a restarted gateway and resumes what it missed', async ({ page, stack }) => {
  const sockets = watchSockets(page);
  await openDashboard(page, stack);
  await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));

  await stack.publish(pipelineEvent('run-rc', 'radar', 'processing', 'Scanning 3 feeds'));
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'processing');
  const seenBeforeDrop = (await logEventIds(page))[0];
  expect(seenBeforeDrop).toBeTruthy();

  // The gateway stops (SIGTERM): the badge says so and the page keeps its state.
  await stack.stopGateway();
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'reconnecting');
  await expect(page.getByTestId('stale-banner')).toBeVisible();
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'processing');

  // Published while no gateway runs: recorded in the Redis stream.
  await stack.publishDurable(pipelineEvent('run-rc', 'radar', 'complete', '212 signals'));
  await stack.publishDurable(pipelineEvent('run-rc', 'analyst', 'processing', 'Scoring 48 leads'));

  // Same port, same Redis: the page comes back by itself (no click, no reload).
  await stack.startGateway({ samePort: true });
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live', { timeout: 20_000 });
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'complete');
  await expect(stageCard(page, 'analyst')).toHaveAttribute('data-status', 'processing');
  await expect(page.getByTestId('stale-banner')).toHaveCount(0);
  await expect(page.getByTestId('resume-notice')).toHaveCount(0);

  // It resumed: the last socket named the last event seen and was answered
  // with `resumed` and exactly the two missed events, not a snapshot.
  const resumed = sockets.at(-1)!;
  expect(new URL(resumed.url).searchParams.get('last_id')).toBe(seenBeforeDrop);
  const types = resumed.frames.map((f) => f.type);
  expect(types.slice(0, 2)).toEqual(['welcome', 'resumed']);
  expect(resumed.frames[1]).toMatchObject({ replayed: 2, last_id: seenBeforeDrop });
  expect(types).not.toContain('snapshot');

  // Live again: what is published now shows at once.
  await stack.publish(pipelineEvent('run-rc', 'analyst', 'complete', '31 leads above threshold'));
  await expect(stageCard(page, 'analyst')).toHaveAttribute('data-status', 'complete');
  await expect(stageCard(page, 'analyst').getByTestId('stage-detail')).toHaveText('31 leads above threshold');

  // Every event once, in order, in the same document.
  const ids = await logEventIds(page);
  expect(ids).toHaveLength(4);
  expect(new Set(ids).size).toBe(4);
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
  // The first connection of the page did not ask to resume.
  expect(new URL(sockets[0]!.url).searchParams.has('last_id')).toBe(false);
});

test('when the missed events are no longer retained, the page shows the current state and says so', async ({ page, stack }) => {
  await openDashboard(page, stack);
  await stack.publish(pipelineEvent('run-gap', 'radar', 'processing'));
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'processing');

  await stack.stopGateway();
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'reconnecting');
  const missed = [
    pipelineEvent('run-gap', 'radar', 'complete'),
    pipelineEvent('run-gap', 'analyst', 'processing'),
    pipelineEvent('run-gap', 'analyst', 'complete'),
    pipelineEvent('run-gap', 'advisor', 'processing'),
    pipelineEvent('run-gap', 'advisor', 'complete', 'Plan B'),
    pipelineEvent('run-gap', 'actuator', 'processing', 'Executing'),
  ];
  for (const event of missed) await stack.publishDurable(event);

  // The new gateway keeps only the last 3 events: the page's last id is gone.
  await stack.startGateway({ samePort: true, args: ['--history-size', '3'] });
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live', { timeout: 20_000 });
  const notice = page.getByTestId('resume-notice');
  await expect(notice).toBeVisible();
  await expect(notice).toContainText('could not be replayed');
  await expect(stageCard(page, 'advisor')).toHaveAttribute('data-status', 'complete');
  await expect(stageCard(page, 'actuator')).toHaveAttribute('data-status', 'processing');

  await notice.getByRole('button', { name: 'Dismiss' }).click();
  await expect(notice).toHaveCount(0);
  // Still live, still following.
  await stack.publish(pipelineEvent('run-gap', 'actuator', 'complete'));
  await expect(stageCard(page, 'actuator')).toHaveAttribute('data-status', 'complete');
});
