// 6. Authentication: the gateway is started with an HS256 secret, so it
//    relays nothing before a token. The page asks for one (boot console or a
//    dialog over the timeline), takes one from `#token=` (and cleans the
//    address), says when a token is refused or has expired, warns before a
//    token runs out and renews it on the live socket, and shows only the
//    events of the token's tenant.

import type { Page } from '@playwright/test';
import { expect, logEventIds, pipelineEvent, stageCard, test, type Stack } from './fixtures';

test.use({ jwtSecret: 'tactical-link-e2e-secret-0123456789abcdef' });

const STORAGE_KEY = 'tactical-link.token';

/** The types of every frame each WebSocket of the page received. */
function watchFrames(page: Page) {
  const sockets: Array<{ url: string; types: string[] }> = [];
  page.on('websocket', (ws) => {
    const entry = { url: ws.url(), types: [] as string[] };
    sockets.push(entry);
    ws.on('framereceived', (frame) => {
      try {
        entry.types.push(String((JSON.parse(String(frame.payload)) as { type?: unknown }).type));
      } catch {
        entry.types.push('(not JSON)');
      }
    });
  });
  return sockets;
}

function viewer(stack: Stack, extra: { ttl?: string; tenant?: string } = {}) {
  return stack.mintToken({ sub: 'alice', tenant: extra.tenant ?? 'acme', roles: ['viewer'], ttl: extra.ttl });
}

async function runIdsInLog(page: Page): Promise<Array<string | null>> {
  return page.getByTestId('event-log-entry').evaluateAll((els) => els.map((el) => el.getAttribute('data-run-id')));
}

async function storedToken(page: Page): Promise<string | null> {
  return page.evaluate((key) => sessionStorage.getItem(key), STORAGE_KEY);
}

test('without a token the boot screen asks for one and nothing is relayed; a valid token opens the live timeline', async ({
  page,
  stack,
}) => {
  const frames = watchFrames(page);
  await stack.publish(pipelineEvent('run-auth', 'radar', 'complete', '212 signals'));
  const token = await viewer(stack);

  await page.goto(`${stack.gatewayUrl}/`);
  const boot = page.getByTestId('system-boot');
  const authLine = boot.locator('[data-testid="boot-check"][data-check="auth"]');
  await expect(authLine).toHaveAttribute('data-state', 'failed');
  await expect(authLine).toContainText('requires a token');
  await expect(boot.getByTestId('boot-summary')).toContainText('ACCESS TOKEN NEEDED');
  const prompt = boot.getByTestId('token-prompt');
  await expect(prompt).toHaveAttribute('data-need', 'missing');
  await expect(prompt.getByRole('heading')).toHaveText(/Access token required/);
  // The field has focus: typing (Space, Enter) goes to it, not to the boot's skip keys.
  const field = prompt.getByLabel('Access token');
  await expect(field).toBeFocused();
  // The gateway sent the welcome and nothing else.
  expect(frames.flatMap((s) => s.types)).toEqual(['welcome']);
  await expect(page.getByTestId('operations-timeline')).toHaveCount(0);

  await field.fill(` ${token} `);
  await field.press('Enter');
  // Boot completes by itself and gives way to the live timeline.
  await expect(page.getByTestId('operations-timeline')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live');
  await expect(page.getByTestId('identity')).toHaveText(/alice · acme/);
  expect(await storedToken(page)).toBe(token);
  // The event published before is in the snapshot; a new one shows live.
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'complete');
  await stack.publish(pipelineEvent('run-auth', 'analyst', 'processing', 'Scoring 48 leads'));
  await expect(stageCard(page, 'analyst')).toHaveAttribute('data-status', 'processing');
  expect(await logEventIds(page)).toHaveLength(2);
  // The socket that went live sent the token first and got `authenticated` before the snapshot.
  expect(frames.at(-1)!.types.slice(0, 3)).toEqual(['welcome', 'authenticated', 'snapshot']);
});

test('#token= in the address goes live directly, and the token leaves the address bar', async ({ page, stack }) => {
  const token = await viewer(stack);
  // Hold the status probe so that the boot screen stays long enough to read.
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/api/status', async (route) => {
    await released;
    await route.continue();
  });

  await page.goto(`${stack.gatewayUrl}/#token=${token}`);
  const authLine = page.locator('[data-testid="boot-check"][data-check="auth"]');
  await expect(authLine).toHaveAttribute('data-state', 'ok');
  await expect(authLine).toContainText('as alice (tenant acme)');
  await expect(page.getByTestId('token-prompt')).toHaveCount(0);
  expect(page.url()).toBe(`${stack.gatewayUrl}/`);
  expect(await page.evaluate(() => window.location.hash)).toBe('');
  expect(await storedToken(page)).toBe(token);

  release();
  await expect(page.getByTestId('operations-timeline')).toBeVisible();
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live');
  await stack.publish(pipelineEvent('run-frag', 'radar', 'processing'));
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'processing');

  // A reload of the tab keeps the token (session storage), with a clean address.
  await page.reload();
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live', { timeout: 15_000 });
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'processing');
});

test('a refused token shows the prompt in its "refused" state over the timeline, and is not kept', async ({ page, stack }) => {
  await stack.publish(pipelineEvent('run-secret', 'radar', 'processing'));
  const frames = watchFrames(page);
  const forged = await viewer(stack);
  // Same claims, signature broken: the gateway refuses it (4501).
  const [header, claims, signature] = forged.split('.') as [string, string, string];
  const bad = `${header}.${claims}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;

  await page.goto(`${stack.gatewayUrl}/?boot=skip#token=${bad}`);
  const prompt = page.getByRole('dialog', { name: 'Token refused' });
  await expect(prompt).toBeVisible({ timeout: 15_000 });
  await expect(prompt).toHaveAttribute('data-need', 'refused');
  await expect(prompt.getByRole('alert')).toContainText('did not accept that token');
  await expect(prompt).toContainText('4501');
  await expect(page.getByTestId('link-status')).toHaveText(/TOKEN REFUSED/);
  // Nothing of the gateway's events reached the page, and the bad token is forgotten.
  await expect(page.getByTestId('event-log-entry')).toHaveCount(0);
  await expect(page.getByTestId('event-log-empty')).toBeAttached();
  expect(await storedToken(page)).toBeNull();
  expect(page.url()).not.toContain('token');

  // An empty submit is caught on the page.
  await prompt.getByRole('button', { name: 'Connect' }).click();
  await expect(prompt.getByText('Paste a token first.')).toBeVisible();

  // Another bad one: refused again.
  await prompt.getByLabel('Access token').fill('not-a-token');
  await prompt.getByRole('button', { name: 'Connect' }).click();
  await expect.poll(() => frames.length).toBe(2);
  await expect(page.getByTestId('token-prompt')).toHaveAttribute('data-need', 'refused');
  expect(frames.map((f) => f.types)).toEqual([['welcome'], ['welcome']]);

  // A good one: the dialog goes, the timeline is live.
  await page.getByTestId('token-prompt').getByLabel('Access token').fill(forged);
  await page.getByTestId('token-prompt').getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('token-prompt')).toHaveCount(0);
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live');
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'processing');
});

test('a viewer of tenant acme sees the events of acme and not those of another tenant', async ({ page, stack }) => {
  const withTenant = (tenant: string, runId: string) => ({ ...pipelineEvent(runId, 'radar', 'processing'), tenant });
  // Before the page opens: filtered out of the snapshot.
  await stack.publish(withTenant('other', 'run-other-1'));
  await stack.publish(withTenant('acme', 'run-acme-1'));
  const token = await viewer(stack);

  await page.goto(`${stack.gatewayUrl}/?boot=skip#token=${token}`);
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live', { timeout: 15_000 });
  await expect(page.getByTestId('event-log-entry')).toHaveCount(1);
  expect(await runIdsInLog(page)).toEqual(['run-acme-1']);

  // Live: the other tenant's event is published first, so it would be on screen by the time acme's is.
  await stack.publish(withTenant('other', 'run-other-2'));
  await stack.publish(withTenant('acme', 'run-acme-2'));
  await expect(page.getByTestId('event-log-entry')).toHaveCount(2);
  expect(await runIdsInLog(page)).toEqual(['run-acme-2', 'run-acme-1']);
  const runs = await page.getByTestId('run-selector').locator('option').allTextContents();
  expect(runs.join('\n')).not.toContain('run-other');
});

test('an expired token: the page says so, keeps its state, and resumes with a fresh token', async ({ page, stack }) => {
  const frames = watchFrames(page);
  const shortLived = await viewer(stack, { ttl: '10s' });
  await page.goto(`${stack.gatewayUrl}/?boot=skip#token=${shortLived}`);
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live', { timeout: 15_000 });
  await stack.publish(pipelineEvent('run-exp', 'radar', 'processing'));
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'processing');

  // The gateway closes the link when the token runs out (4401).
  const prompt = page.getByTestId('token-prompt');
  await expect(prompt).toHaveAttribute('data-need', 'expired', { timeout: 20_000 });
  await expect(page.getByTestId('link-status')).toHaveText(/TOKEN EXPIRED/);
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'processing');
  const lastSeen = (await logEventIds(page))[0];
  // Published while the page has no valid token.
  await stack.publish(pipelineEvent('run-exp', 'radar', 'complete'));

  await prompt.getByLabel('Access token').fill(await viewer(stack));
  await prompt.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live');
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'complete');
  // It resumed after the last event it had seen: the missed one was replayed, not a snapshot.
  const last = frames.at(-1)!;
  expect(new URL(last.url).searchParams.get('last_id')).toBe(lastSeen);
  expect(last.types.slice(0, 3)).toEqual(['welcome', 'authenticated', 'resumed']);
  expect(await logEventIds(page)).toHaveLength(2);
});

/** The `exp` claim of a token, in Unix ms. */
function expiryMs(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number };
  return payload.exp * 1000;
}

test('a token about to run out: a countdown warning, and a fresh token pasted renews it on the same socket', async ({
  page,
  stack,
}) => {
  // A 30 s token warns for its last 15 s; the test waits past its expiry.
  test.setTimeout(60_000);
  const frames = watchFrames(page);
  // Minted first, so that the short token's time is spent on the page only.
  const fresh = await viewer(stack);
  const stranger = await stack.mintToken({ sub: 'bob', tenant: 'acme', roles: ['viewer'] });
  const shortLived = await viewer(stack, { ttl: '30s' });
  const expiresAt = expiryMs(shortLived);

  await page.goto(`${stack.gatewayUrl}/?boot=skip#token=${shortLived}`);
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live', { timeout: 15_000 });
  const warning = page.getByTestId('expiry-warning');
  await expect(warning).toHaveCount(0);
  await stack.publish(pipelineEvent('run-renew', 'radar', 'processing'));
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'processing');

  await expect(warning).toBeVisible({ timeout: 30_000 });
  // Not before the last 15 s (the page and this test share a clock).
  expect(expiresAt - Date.now()).toBeLessThanOrEqual(15_000);
  await expect(warning.getByRole('status')).toContainText('Access token expires soon');
  await expect(warning.getByTestId('expiry-countdown')).toHaveText(/^00:(0\d|1[0-5])$/);

  // A token for another user is refused on the page: the link is left alone.
  const field = warning.getByLabel('Fresh access token');
  await field.fill(stranger);
  await warning.getByRole('button', { name: 'Renew' }).click();
  await expect(warning.getByRole('alert')).toContainText('must be for the same user and tenant');
  await expect(field).toHaveAttribute('aria-invalid', 'true');

  await field.fill(fresh);
  await warning.getByRole('button', { name: 'Renew' }).click();
  await expect(warning).toHaveCount(0);
  expect(await storedToken(page)).toBe(fresh);
  // The renewal went on the live socket, which answered with a second `authenticated`.
  expect(frames).toHaveLength(1);
  expect(frames[0]!.types.filter((type) => type === 'authenticated')).toHaveLength(2);

  // Past the first token's expiry the same socket is still live, and events still arrive on it.
  await page.waitForTimeout(Math.max(0, expiresAt + 1_500 - Date.now()));
  await stack.publish(pipelineEvent('run-renew', 'radar', 'complete'));
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'complete');
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live');
  await expect(page.getByTestId('token-prompt')).toHaveCount(0);
  await expect(warning).toHaveCount(0);
  expect(frames).toHaveLength(1);
  const types = frames[0]!.types;
  expect(types.lastIndexOf('event')).toBeGreaterThan(types.lastIndexOf('authenticated'));
  expect(await logEventIds(page)).toHaveLength(2);
});
