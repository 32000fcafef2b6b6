// @ts-check
// End-to-end latency, publish → DOM: `npm run latency` (not a test).
//
// Starts a redis-server and the gateway (TACTICAL_LINK_BIN; measure a
// release build: TACTICAL_LINK_BIN=../target/release/tactical-link), opens
// the dashboard in Chromium, and publishes pipeline events on Redis, each
// with `ts` = the publish time in Unix ms and a unique detail. A
// MutationObserver in the page records Date.now() when that detail appears
// in its stage card. Same machine, same clock: latency = seen − ts.
//
//   LATENCY_EVENTS (default 100), LATENCY_INTERVAL_MS (default 50)

import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH, gatewayBinary, RedisPublisher, startGateway, startRedis } from './stack.mjs';

const EVENTS = Number(process.env.LATENCY_EVENTS ?? 100);
const INTERVAL_MS = Number(process.env.LATENCY_INTERVAL_MS ?? 50);
const WARMUP = 5;
const STAGES = ['radar', 'analyst', 'advisor', 'actuator', 'quality', 'report'];
const RUN = 'latency-run';

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Nearest-rank percentile of ascending values.
 * @param {number[]} sorted
 * @param {number} p
 */
function percentile(sorted, p) {
  const rank = Math.ceil((p / 100) * sorted.length);
  return /** @type {number} */ (sorted[Math.min(Math.max(rank, 1), sorted.length) - 1]);
}

async function main() {
  const bin = gatewayBinary();
  if (!bin.includes('/release/')) {
    console.warn(`note: ${bin} looks like a debug build; for real figures use TACTICAL_LINK_BIN=../target/release/tactical-link`);
  }
  const redis = await startRedis();
  /** @type {Awaited<ReturnType<typeof startGateway>> | null} */
  let gateway = null;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const publisher = new RedisPublisher(redis.port);
  try {
    gateway = await startGateway({ redisUrl: redis.url });
    await publisher.connect();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // For the breakdown: when each event's frame reaches the page, before the dashboard handles it.
    await page.addInitScript(() => {
      /** @type {Record<string, number>} */
      const arrived = {};
      /** @type {any} */ (window).latencyArrived = arrived;
      const Native = window.WebSocket;
      window.WebSocket = class extends Native {
        /** @param {ConstructorParameters<typeof WebSocket>} args */
        constructor(...args) {
          super(...args);
          this.addEventListener('message', (ev) => {
            const match = /"detail":"lat-(\d+)"/.exec(typeof ev.data === 'string' ? ev.data : '');
            if (match && match[1] !== undefined) arrived[match[1]] ??= Date.now();
          });
        }
      };
    });
    await page.goto(`${gateway.url}/?boot=skip`);
    await page.locator('[data-testid="link-status"][data-state="live"]').waitFor({ timeout: 15_000 });

    // Records when each `lat-<n>` detail first shows in a stage card.
    await page.evaluate(() => {
      /** @type {Record<string, number>} */
      const seen = {};
      /** @type {any} */ (window).latencySeen = seen;
      const scan = () => {
        const now = Date.now();
        for (const el of document.querySelectorAll('.stages [data-testid="stage-detail"]')) {
          const match = /^lat-(\d+)$/.exec(el.textContent ?? '');
          if (match && match[1] !== undefined && seen[match[1]] === undefined) seen[match[1]] = now;
        }
      };
      new MutationObserver(scan).observe(document.body, {
        subtree: true,
        childList: true,
        characterData: true,
        attributes: true,
        attributeFilter: ['data-status'],
      });
    });

    /** @type {Map<number, number>} */
    const sentAt = new Map();
    const total = WARMUP + EVENTS;
    let next = Date.now();
    for (let i = 0; i < total; i += 1) {
      const stage = STAGES[i % STAGES.length];
      const ts = Date.now();
      sentAt.set(i, ts);
      const receivers = await publisher.publish({
        type: 'pipeline.stage',
        run_id: RUN,
        stage,
        status: 'processing',
        detail: `lat-${i}`,
        ts,
      });
      if (receivers === 0) throw new Error('nobody subscribed to system_events: is the gateway up?');
      next += INTERVAL_MS;
      await sleep(Math.max(0, next - Date.now()));
    }

    // Wait for the last ones to show.
    const deadline = Date.now() + 10_000;
    /** @type {Record<string, number>} */
    let seen = {};
    while (Date.now() < deadline) {
      seen = await page.evaluate(() => /** @type {any} */ (window).latencySeen);
      if (Object.keys(seen).length >= total) break;
      await sleep(100);
    }

    /** @type {Record<string, number>} */
    const arrived = await page.evaluate(() => /** @type {any} */ (window).latencyArrived);
    /** @type {number[]} */
    const samples = [];
    /** @type {number[]} */
    const toFrame = [];
    /** @type {number[]} */
    const frameToDom = [];
    let missing = 0;
    for (let i = WARMUP; i < total; i += 1) {
      const shown = seen[String(i)];
      const sent = /** @type {number} */ (sentAt.get(i));
      if (shown === undefined) {
        missing += 1;
        continue;
      }
      samples.push(shown - sent);
      const frame = arrived[String(i)];
      if (frame !== undefined) {
        toFrame.push(frame - sent);
        frameToDom.push(shown - frame);
      }
    }
    if (samples.length === 0) throw new Error('no event showed on the page');
    const sorted = [...samples].sort((a, b) => a - b);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const readout = await page.evaluate(() => ({
      p50: document.querySelector('[data-testid="latency-p50"]')?.textContent ?? null,
      p95: document.querySelector('[data-testid="latency-p95"]')?.textContent ?? null,
    }));

    console.log(`gateway: ${bin}`);
    console.log(`events: ${samples.length} measured (${missing} missing), ${INTERVAL_MS} ms apart, after ${WARMUP} warm-up`);
    console.log(
      `publish -> DOM (ms): p50 ${percentile(sorted, 50)}  p95 ${percentile(sorted, 95)}  max ${sorted.at(-1)}  ` +
        `min ${sorted[0]}  mean ${mean.toFixed(1)}`,
    );
    /** @param {number[]} values */
    const brief = (values) => {
      const v = [...values].sort((a, b) => a - b);
      return v.length === 0 ? 'n/a' : `p50 ${percentile(v, 50)}  p95 ${percentile(v, 95)}  max ${v.at(-1)}`;
    };
    console.log(`  of which publish -> frame in the page (ms): ${brief(toFrame)}`);
    console.log(`  of which frame -> DOM (ms):                 ${brief(frameToDom)}`);
    console.log(`dashboard's own readout (ts -> after React commit, last 100): p50 ${readout.p50} ms, p95 ${readout.p95} ms`);
    if (missing > 0) process.exitCode = 1;
  } finally {
    publisher.close();
    await browser.close();
    await gateway?.proc.stop();
    await redis.proc.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
