// 9. WebSocket upgrades fail on the page's network (every WebSocket to
//    /dashboard/ws is closed before the gateway is reached, as a proxy that
//    strips `Upgrade` does): the page falls back to the gateway's event
//    stream by itself, says so in the link badge, shows what is published,
//    and resumes over SSE after a gateway restart with what was published
//    while it was down. With a key, each stream is opened with a single-use
//    ticket bought with the token, which never goes into a URL.

import type { Page } from '@playwright/test';
import { expect, logEventIds, pipelineEvent, stageCard, test, type Stack } from './fixtures';

/** Closes every WebSocket to the gateway's endpoint; returns the URLs of those blocked. */
async function blockWebSockets(page: Page): Promise<string[]> {
  const blocked: string[] = [];
  await page.routeWebSocket(/\/dashboard\/ws/, (ws) => {
    blocked.push(ws.url());
    void ws.close();
  });
  return blocked;
}

/** Every request the page makes to the event stream and the ticket endpoint. */
function watchStreams(page: Page) {
  const seen: Array<{ url: string; authorization: string | undefined }> = [];
  page.on('request', (request) => {
    if (/\/dashboard\/sse|\/api\/sse-ticket/.test(request.url())) {
      seen.push({ url: request.url(), authorization: request.headers()['authorization'] });
    }
  });
  return {
    streams: () => seen.filter((r) => r.url.includes('/dashboard/sse')).map((r) => new URL(r.url)),
    tickets: () => seen.filter((r) => r.url.includes('/api/sse-ticket')),
  };
}

async function expectLiveOverSse(page: Page, timeout = 20_000): Promise<void> {
  const badge = page.getByTestId('link-status');
  await expect(badge).toHaveAttribute('data-transport', 'sse', { timeout });
  await expect(badge).toHaveAttribute('data-state', 'live', { timeout });
  await expect(badge).toContainText('LIVE (SSE)');
}

/** The restart half of both tests: the gateway goes away, events are recorded meanwhile, the page resumes over SSE. */
async function restartAndResume(page: Page, stack: Stack, seenBefore: string, scope: { tenant?: string } = {}): Promise<void> {
  await stack.stopGateway();
  await expect(page.getByTestId('link-status')).not.toHaveAttribute('data-state', 'live');
  await stack.publishDurable({ ...pipelineEvent('run-sse', 'radar', 'complete', '212 signals'), ...scope });
  await stack.publishDurable({ ...pipelineEvent('run-sse', 'analyst', 'processing', 'Scoring 48 leads'), ...scope });
  await stack.startGateway({ samePort: true });
  // Back-off after a restart can reach several seconds.
  await expectLiveOverSse(page, 30_000);
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'complete');
  await expect(stageCard(page, 'analyst')).toHaveAttribute('data-status', 'processing');
  await expect(page.getByTestId('resume-notice')).toHaveCount(0);
  const ids = await logEventIds(page);
  expect(ids).toHaveLength(3);
  expect(new Set(ids).size).toBe(3);
  expect(ids[2]).toBe(seenBefore);

  await stack.publish({ ...pipelineEvent('run-sse', 'analyst', 'complete', '31 leads above threshold'), ...scope });
  await expect(stageCard(page, 'analyst').getByTestId('stage-detail')).toHaveText('31 leads above threshold');
}

test('with WebSocket blocked the page goes live over SSE and resumes after a gateway restart', async ({ page, stack }) => {
  const blocked = await blockWebSockets(page);
  const watch = watchStreams(page);
  await page.goto(`${stack.gatewayUrl}/?boot=skip`);
  await expectLiveOverSse(page);
  expect(blocked.length).toBeGreaterThanOrEqual(3);

  await stack.publish(pipelineEvent('run-sse', 'radar', 'processing', 'Scanning 3 feeds'));
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'processing');
  await expect(stageCard(page, 'radar').getByTestId('stage-detail')).toHaveText('Scanning 3 feeds');
  const seenBefore = (await logEventIds(page))[0]!;

  await restartAndResume(page, stack, seenBefore);
  // The stream that resumed named the last event seen; a gateway without a key needs no ticket.
  const resumed = watch.streams().filter((url) => url.searchParams.get('last_id') === seenBefore);
  expect(resumed.length).toBeGreaterThanOrEqual(1);
  expect(watch.streams()[0]!.searchParams.has('last_id')).toBe(false);
});

test.describe('with a key', () => {
  test.use({ jwtSecret: 'tactical-link-e2e-secret-0123456789abcdef' });

  test('each stream opens with a ticket bought with the token, and resumes after a restart', async ({ page, stack }) => {
    const token = await stack.mintToken({ sub: 'alice', tenant: 'acme', roles: ['viewer'] });
    await blockWebSockets(page);
    const watch = watchStreams(page);
    await page.goto(`${stack.gatewayUrl}/?boot=skip#token=${token}`);
    await expectLiveOverSse(page);
    await expect(page.getByTestId('identity')).toContainText('alice');

    await stack.publish({ ...pipelineEvent('run-other', 'radar', 'processing', 'not for alice'), tenant: 'globex' });
    await stack.publish({ ...pipelineEvent('run-sse', 'radar', 'processing', 'Scanning 3 feeds'), tenant: 'acme' });
    await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'processing');
    const seenBefore = (await logEventIds(page))[0]!;
    expect(await logEventIds(page)).toHaveLength(1);

    await restartAndResume(page, stack, seenBefore, { tenant: 'acme' });
    const tickets = watch.tickets();
    expect(tickets.length).toBeGreaterThanOrEqual(2);
    for (const ticket of tickets) expect(ticket.authorization).toBe(`Bearer ${token}`);
    for (const stream of watch.streams()) {
      expect(stream.searchParams.get('ticket')).toMatch(/^[0-9a-f]{48}$/);
      expect(stream.toString()).not.toContain(token);
    }
  });
});
