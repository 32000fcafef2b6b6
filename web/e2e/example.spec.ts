// 8. Another team's React app embeds the Operations Timeline from the
//    packages: @tactical-link/client and @tactical-link/react packed with
//    `npm pack`, installed from the tarballs into a copy of
//    examples/react-app, type-checked, built with Vite and served from
//    another origin (which the gateway is told to accept); an event
//    published to Redis shows up in that app.

import { buildExampleApp, serveStatic } from './exampleApp.mjs';
import { expect, pipelineEvent, test as base } from './fixtures';

interface ExampleApp {
  origin: string;
  tarballs: string[];
}

const test = base.extend<object, { exampleApp: ExampleApp }>({
  exampleApp: [
    async ({}, use) => {
      const app = await buildExampleApp();
      const server = await serveStatic(app.dist);
      try {
        await use({ origin: server.origin, tarballs: app.tarballs });
      } finally {
        await server.close();
        await app.remove();
      }
    },
    { scope: 'worker', timeout: 240_000 },
  ],
});

test.describe('the example React app, from the packed packages', () => {
  test.use({
    gatewayArgs: async ({ exampleApp }, use) => use(['--allowed-origin', exampleApp.origin]),
  });

  test('an event published to Redis shows up in its Operations Timeline', async ({ page, stack, exampleApp }) => {
    expect(exampleApp.tarballs).toEqual(['tactical-link-client-0.1.0.tgz', 'tactical-link-react-0.1.0.tgz']);
    const ws = `ws://127.0.0.1:${stack.gatewayPort}/dashboard/ws`;
    await page.goto(`${exampleApp.origin}/?ws=${encodeURIComponent(ws)}&run=run-ex`);
    await expect(page).toHaveTitle(/an app with the Tactical Link timeline/);
    await expect(page.getByTestId('app-link')).toHaveAttribute('data-state', 'live');
    await expect(page.getByTestId('run-summary')).toHaveText('Waiting for run run-ex…');

    await stack.publish(pipelineEvent('run-other', 'radar', 'complete'));
    await stack.publish(pipelineEvent('run-ex', 'analyst', 'processing', 'Scoring 48 leads'));
    const analyst = page.locator('.stages [data-stage="analyst"]');
    await expect(analyst).toHaveAttribute('data-status', 'processing');
    await expect(analyst.getByTestId('stage-detail')).toHaveText('Scoring 48 leads');
    // Only run-ex is shown: run-other's radar is not.
    await expect(page.locator('.stages [data-stage="radar"]')).toHaveAttribute('data-status', 'idle');

    await stack.publish(pipelineEvent('run-ex', 'analyst', 'complete', '31 leads above threshold'));
    await expect(analyst).toHaveAttribute('data-status', 'complete');
    await expect(page.getByTestId('run-summary')).toHaveAttribute('data-outcome', 'running');

    // The package's stylesheet is in: the stages are laid out by it (a grid), inside the app's own page.
    await expect(page.locator('ol.stages')).toHaveCSS('display', 'grid');
    await expect(page.locator('body')).toHaveCSS('background-color', 'rgb(244, 246, 248)');
  });
});
