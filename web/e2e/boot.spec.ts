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

  release();
  await expect(line('gateway')).toHaveAttribute('data-state', 'ok');
  // Then the timeline replaces it, live.
  await expect(page.getByTestId('operations-timeline')).toBeVisible();
  await expect(boot).toHaveCount(0);
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live');
  await expect(page.locator('.stages [data-stage]')).toHaveCount(6);
});
