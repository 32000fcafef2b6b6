// Playwright fixtures: every test gets its own redis-server and gateway (on
// free ports), a publisher, and helpers to read the dashboard through its
// test-contract attributes (data-testid, data-stage, data-status, data-state).

import { writeFile } from 'node:fs/promises';
import { test as base, expect, type Page, type TestInfo } from '@playwright/test';
import { gatewayBinary, Proc, RedisPublisher, runCli, startGateway, startRedis } from './stack.mjs';

export { expect };

export const STAGES = ['radar', 'analyst', 'advisor', 'actuator', 'quality', 'report'] as const;
export type Stage = (typeof STAGES)[number];
export type Status = 'idle' | 'processing' | 'complete' | 'error';

export interface PipelineEvent {
  type: 'pipeline.stage';
  run_id: string;
  stage: string;
  status: string;
  detail?: string;
  ts: string;
  [key: string]: unknown;
}

/** A run's key as the gateway writes it (docs/protocol.md, RunState): `tenant/user_id/run_id`, each part escaped. */
export function runKey(runId: string, scope: { tenant?: string; user_id?: string } = {}): string {
  const part = (text: string | undefined) => (text ?? '').replaceAll('%', '%25').replaceAll('/', '%2F');
  return `${part(scope.tenant)}/${part(scope.user_id)}/${part(runId)}`;
}

/** A pipeline event stamped now (a `ts` also makes each payload unique). */
export function pipelineEvent(runId: string, stage: Stage, status: Status, detail?: string): PipelineEvent {
  return {
    type: 'pipeline.stage',
    run_id: runId,
    stage,
    status,
    ...(detail === undefined ? {} : { detail }),
    ts: new Date().toISOString(),
  };
}

export interface Stack {
  redisUrl: string;
  /** `http://127.0.0.1:PORT` of the gateway running now (or last). */
  gatewayUrl: string;
  gatewayPort: number;
  /** PUBLISH on `system_events` (objects as JSON); retries while no subscriber (the gateway) is there to get it. */
  publish(event: object | string): Promise<void>;
  /** `tactical-link publish --redis … --json …`: recorded in the stream even while no gateway runs. */
  publishDurable(event: object): Promise<void>;
  /** Stops the gateway with SIGTERM and waits for it to exit. */
  stopGateway(): Promise<void>;
  /** Starts a gateway again, on the same port unless told otherwise, against the same Redis. */
  startGateway(options?: { samePort?: boolean; args?: string[] }): Promise<void>;
  /** Starts `tactical-link simulate` against this Redis in the background; stopped after the test. */
  simulate(args: string[]): Proc;
  /** `tactical-link token` with the test's `jwtSecret`: a signed token for these claims. */
  mintToken(claims: { sub: string; tenant?: string; roles?: string[]; ttl?: string }): Promise<string>;
}

/** Per-file settings of the stack (`test.use({ … })`). */
export interface StackOptions {
  /** Extra `serve` arguments for every gateway of the test (restarts add theirs after these). */
  gatewayArgs: string[];
  /** An HS256 secret (32 bytes or more): the gateway then requires tokens, and `stack.mintToken` signs them. */
  jwtSecret: string | null;
}

async function waitReady(url: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway at ${url} not ready: ${last}`);
}

function attachLogs(testInfo: TestInfo, procs: Proc[]): Promise<unknown> {
  return Promise.all(
    procs.map((p, i) => testInfo.attach(`${i}-${p.name.replace(/[^\w.-]+/g, '_')}.log`, { body: p.log, contentType: 'text/plain' })),
  );
}

export const test = base.extend<StackOptions & { stack: Stack }>({
  gatewayArgs: [[], { option: true }],
  jwtSecret: [null, { option: true }],
  stack: async ({ gatewayArgs, jwtSecret }, use, testInfo) => {
    const procs: Proc[] = [];
    // The secret goes to the gateway as a file (never on a command line).
    const secretFile = testInfo.outputPath('jwt-secret');
    const baseArgs = [...gatewayArgs];
    if (jwtSecret !== null) {
      await writeFile(secretFile, jwtSecret, { mode: 0o600 });
      baseArgs.push('--jwt-secret-file', secretFile);
    }
    const redis = await startRedis();
    procs.push(redis.proc);
    const publisher = new RedisPublisher(redis.port);
    let gateway: Awaited<ReturnType<typeof startGateway>> | null = null;
    try {
      await publisher.connect();
      gateway = await startGateway({ redisUrl: redis.url, args: baseArgs });
      procs.push(gateway.proc);
      await waitReady(gateway.url);
      let port = gateway.port;
      let url = gateway.url;

      const stack: Stack = {
        redisUrl: redis.url,
        get gatewayUrl() {
          return url;
        },
        get gatewayPort() {
          return port;
        },
        async publish(event) {
          const deadline = Date.now() + 10_000;
          while ((await publisher.publish(event)) === 0) {
            if (Date.now() > deadline) throw new Error('no subscriber on system_events for 10 s: is the gateway up?');
            await new Promise((r) => setTimeout(r, 100));
          }
        },
        async publishDurable(event) {
          await runCli(['publish', '--redis', redis.url, '--json', JSON.stringify(event)]);
        },
        async stopGateway() {
          await gateway?.proc.stop('SIGTERM');
        },
        async startGateway(options = {}) {
          if (gateway?.proc.running) throw new Error('a gateway is still running');
          const wanted = options.samePort === false ? 0 : port;
          // The old socket may linger for a moment: retry a bind that fails.
          for (let attempt = 1; ; attempt += 1) {
            try {
              gateway = await startGateway({ redisUrl: redis.url, port: wanted, args: [...baseArgs, ...(options.args ?? [])] });
              break;
            } catch (err) {
              if (attempt >= 5) throw err;
              await new Promise((r) => setTimeout(r, 300));
            }
          }
          procs.push(gateway.proc);
          port = gateway.port;
          url = gateway.url;
          await waitReady(url);
        },
        simulate(args) {
          const proc = new Proc('tactical-link simulate', gatewayBinary(), ['simulate', '--redis', redis.url, ...args]);
          procs.push(proc);
          return proc;
        },
        async mintToken({ sub, tenant, roles = [], ttl = '1h' }) {
          if (jwtSecret === null) throw new Error('mintToken needs test.use({ jwtSecret })');
          const args = ['token', '--jwt-secret-file', secretFile, '--sub', sub, '--ttl', ttl];
          if (tenant !== undefined) args.push('--tenant', tenant);
          for (const role of roles) args.push('--role', role);
          const token = (await runCli(args)).match(/^[\w-]+\.[\w-]+\.[\w-]+$/m)?.[0];
          if (!token) throw new Error(`tactical-link token printed no token`);
          return token;
        },
      };
      await use(stack);
    } finally {
      publisher.close();
      if (testInfo.status !== testInfo.expectedStatus) await attachLogs(testInfo, procs);
      // Gateways and simulators first, Redis last.
      for (const proc of [...procs].reverse()) await proc.stop('SIGTERM');
    }
  },
});

// --- reading the dashboard ------------------------------------------------

/** Opens the dashboard; `boot: 'skip'` goes straight to the timeline. Waits for a live link. */
export async function openDashboard(page: Page, stack: Stack, options: { boot?: 'skip' | 'show' } = {}): Promise<void> {
  const query = options.boot === 'show' ? '' : '?boot=skip';
  await page.goto(`${stack.gatewayUrl}/${query}`);
  await expect(page.getByTestId('operations-timeline')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-state', 'live');
}

export function stageCard(page: Page, stage: Stage) {
  return page.locator(`.stages [data-stage="${stage}"]`);
}

/** The six statuses of the stages on screen, in order. */
export async function stageStatuses(page: Page): Promise<string[]> {
  return page.locator('.stages [data-stage]').evaluateAll((els) => els.map((el) => el.getAttribute('data-status') ?? ''));
}

/** The run whose stages are on screen. */
export async function selectedRun(page: Page): Promise<string | null> {
  return page.locator('ol.stages').getAttribute('data-run-id');
}

/** Ids of the event log entries on screen, newest first. */
export async function logEventIds(page: Page): Promise<string[]> {
  return page
    .getByTestId('event-log-entry')
    .evaluateAll((els) => els.map((el) => el.getAttribute('data-event-id') ?? ''));
}

// --- the runs board -------------------------------------------------------

/** Switches the screen to the runs board (the header's view switch) and waits for it. */
export async function openBoard(page: Page) {
  await page.getByTestId('view-board').click();
  const board = page.getByTestId('runs-board');
  await expect(board).toBeVisible();
  return board;
}

/** The board's row of the run with this key. */
export function boardRow(page: Page, key: string) {
  return page.locator(`[data-testid="runs-board"] [data-run-key="${key}"]`);
}

/** The board's filter button (all, running, stalled, error, complete). */
export function boardFilter(page: Page, filter: string) {
  return page.locator(`[data-testid="runs-board"] [data-filter="${filter}"]`);
}

/** The run ids of the board's rows, top to bottom. */
export async function boardRunIds(page: Page): Promise<string[]> {
  return page.locator('[data-testid="runs-board"] [data-run-key]').evaluateAll((els) => els.map((el) => el.getAttribute('data-run-id') ?? ''));
}

/** Every WebSocket the page opens: its URL and the frames it received (parsed). */
export function watchSockets(page: Page) {
  const sockets: Array<{ url: string; frames: Array<Record<string, unknown>> }> = [];
  page.on('websocket', (ws) => {
    const entry = { url: ws.url(), frames: [] as Array<Record<string, unknown>> };
    sockets.push(entry);
    ws.on('framereceived', (frame) => {
      try {
        entry.frames.push(JSON.parse(String(frame.payload)) as Record<string, unknown>);
      } catch {
        entry.frames.push({ type: '(not JSON)' });
      }
    });
  });
  return sockets;
}
