// The dashboard under the gateway's Content-Security-Policy: the page is
// served with the strict policy and works under it (boot, live timeline),
// with no policy violation reported by the browser.

import { expect, openDashboard, pipelineEvent, stageCard, test } from './fixtures';

test('the dashboard runs under the strict Content-Security-Policy with no violation', async ({ page, stack }) => {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      (window as unknown as { __violations: string[] }).__violations ??= [];
      (window as unknown as { __violations: string[] }).__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  const response = await page.request.get(`${stack.gatewayUrl}/`);
  const csp = response.headers()['content-security-policy'];
  expect(csp).toContain("script-src 'self';");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe');
  expect(response.headers()['x-content-type-options']).toBe('nosniff');
  expect(response.headers()['referrer-policy']).toBe('no-referrer');

  await openDashboard(page, stack, { boot: 'show' });
  await stack.publish(pipelineEvent('run-csp', 'radar', 'processing', 'Scanning under CSP'));
  await expect(stageCard(page, 'radar')).toHaveAttribute('data-status', 'processing');
  const reported = await page.evaluate(() => (window as unknown as { __violations?: string[] }).__violations ?? []);
  expect(reported).toEqual([]);
  expect(violations).toEqual([]);
});
