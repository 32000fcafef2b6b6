// Browser tests: Debian's Chromium (Playwright never downloads a browser
// here) driving the dashboard served by the real gateway binary
// (TACTICAL_LINK_BIN, default ../target/debug/tactical-link), each test with
// its own redis-server and gateway on free ports (e2e/fixtures.ts).

import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './e2e/stack.mjs';

export default defineConfig({
  testDir: './e2e',
  testMatch: '**/*.spec.ts',
  outputDir: './test-results',
  // Two cores: two browsers, each with its own redis-server and gateway.
  workers: 2,
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 45_000,
  expect: { timeout: 10_000 },
  // Generous: the example spec packs, installs and builds an app (about 25 s alone), and
  // this machine is shared; a run far slower than usual still ends.
  globalTimeout: 8 * 60_000,
  reporter: [['list'], ['html', { open: 'never', outputFolder: './playwright-report' }]],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    headless: true,
    actionTimeout: 10_000,
    navigationTimeout: 15_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    // /usr/bin/chromium unless CHROMIUM_PATH says otherwise; flags in e2e/stack.mjs.
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
  },
});
