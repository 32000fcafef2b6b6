// 1. The System Boot screen runs its checks, then gives way to the timeline.

import { expect, test } from './fixtures';

test('the boot sequence shows its checks, then gives way to the Operations Timeline', async ({ page, stack }) => {
  // Hold the gateway's status answer until the boot screen has been seen
  // waiting for it: the boot screen cannot be missed, however fast it runs.
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/api/status', async (route) => {
    await released;
    await route.continue();
  });

  await page.goto(`${stack.gatewayUrl}/`);
  const boot = page.getByTestId('system-boot');
  await expect(boot).toBeVisible();
  await expect(boot).toHaveAttribute('data-complete', 'false');
  const line = (check: string) => boot.locator(`[data-testid="boot-check"][data-check="${check}"]`);
  // Its lines are the real checks: the live stream opened, the state loaded,
  // but the gateway check is still waiting for its answer, so boot holds.
  await expect(line('dashboard')).toHaveAttribute('data-state', 'ok');
  await expect(line('stream')).toHaveAttribute('data-state', 'ok');
  await expect(line('state')).toHaveAttribute('data-state', 'ok');
  await expect(line('gateway')).toHaveAttribute('data-state', 'pending');
  await expect(page.getByTestId('operations-timeline')).toHaveCount(0);

  // The page records every state the gateway line takes: once every check
  // is ok the boot screen gives way within a third of a second, sooner than
  // polling from here can be sure to see the line turn ok.
  await line('gateway').evaluate((element) => {
    const states: string[] = [];
    (window as unknown as { gatewayLineStates: string[] }).gatewayLineStates = states;
    new MutationObserver(() => states.push(element.getAttribute('data-state') ?? '')).observe(element, {
      attributes: true,
      attributeFilter: ['data-state'],
    });
  });
  release();
  // Then the timeline replaces it, live, once the gateway line went ok.
  await expect(page.getByTestId('operations-timeline')).toBeVisible();
  await expect(boot).toHaveCount(0);
  const states = await page.evaluate(() => (window as unknown as { gatewayLineStates: string[] }).gatewayLineStates);
  expect(states).toContain('ok');
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live');
  await expect(page.locator('.stages [data-stage]')).toHaveCount(6);
});
