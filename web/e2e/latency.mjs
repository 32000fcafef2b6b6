// @ts-check
// Publish → DOM, measured from outside the page: `npm run latency` (a
// measurement, not a test: timings on a shared machine say little).
//
// Starts a redis-server and the gateway (TACTICAL_LINK_BIN; measure a
// release build: TACTICAL_LINK_BIN=../target/release/tactical-link), opens
// the dashboard in Chromium, and publishes marked pipeline events on Redis
// from this process, each stamped with this process's clock just before it
// is written. In the page, a MutationObserver stamps each change of a stage
// card's `data-status` with the page's clock. The offset between the two
// clocks is calibrated (round trips of page.evaluate, the smallest RTT
// bounds it) before and after, and reported. Also printed: where the time
// goes (latency/split.mjs), the dashboard's own readout beside it, long
// tasks, and with --trace a Chromium trace of the run and its main-thread
// time by kind.
//
//   npm run latency                          # 200 events at 20/s, no other load
//   npm run latency -- --rate 50 --events 500
//   npm run latency -- --load 100            # 100 events/s of runs, 20 s, probes at 10/s
//   npm run latency -- --load 1000 --duration 20
//   npm run latency -- --load-simulate="--concurrency 20 --speed 10"
//   npm run latency -- --trace /tmp/latency-trace.json
//
// `--experimental-websocket` (in the npm script) gives node a WebSocket: a
// client in this process reads the same frames, so the time to a socket
// outside the browser is printed beside the time to the page.

import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH, gatewayBinary, Proc, RedisPublisher, startGateway, startRedis } from './stack.mjs';
import { calibrate, combine, describe, now } from './latency/clock.mjs';
import { expectedStatuses, startLoad, STAGES } from './latency/load.mjs';
import { instrumentPage, observeStageCards } from './latency/page.mjs';
import { split, splitLines } from './latency/split.mjs';
import { line } from './latency/stats.mjs';
import { summarizeTrace, TRACE_CATEGORIES } from './latency/trace.mjs';

const PROBE_RUN = 'latency-probe';

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function options() {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string' },
      events: { type: 'string', default: '200' },
      warmup: { type: 'string', default: '10' },
      load: { type: 'string' },
      'load-simulate': { type: 'string' },
      duration: { type: 'string', default: '20' },
      trace: { type: 'string' },
    },
  });
  const load = values.load === undefined ? null : Number(values.load);
  const simulate = values['load-simulate'] ?? null;
  const opts = {
    rate: Number(values.rate ?? (load !== null || simulate !== null ? 10 : 20)),
    events: Number(values.events),
    warmup: Number(values.warmup),
    load,
    simulate,
    duration: Number(values.duration),
    trace: values.trace ?? null,
  };
  for (const [name, value] of Object.entries(opts)) {
    if (typeof value === 'number' && !(value >= 0)) throw new Error(`--${name} must be a number ≥ 0`);
  }
  if (opts.rate <= 0) throw new Error('--rate must be positive');
  return opts;
}

/**
 * Probe event `index`: the probe run's stages in turn, processing then
 * complete, so each one changes its card's `data-status`.
 * @param {number} index
 */
function probeEvent(index) {
  const stage = /** @type {string} */ (STAGES[(index >> 1) % STAGES.length]);
  const status = index % 2 === 0 ? 'processing' : 'complete';
  return { stage, event: { type: 'pipeline.stage', run_id: PROBE_RUN, stage, status, detail: `lat-${index}`, ts: Date.now() } };
}

/**
 * Publishes probe events `first`..`first + count − 1` at `rate` per second.
 * @param {RedisPublisher} publisher
 * @param {number} first
 * @param {number} count
 * @param {number} rate
 * @returns {Promise<import('./latency/split.mjs').Sent[]>}
 */
async function publishProbes(publisher, first, count, rate) {
  /** @type {import('./latency/split.mjs').Sent[]} */
  const sent = [];
  const interval = 1000 / rate;
  let next = now();
  for (let index = first; index < first + count; index += 1) {
    const { stage, event } = probeEvent(index);
    const sentAt = now();
    const receivers = await publisher.publish(event);
    if (receivers === 0) throw new Error('nobody subscribed to system_events: is the gateway up?');
    sent.push({ index, stage, sent: sentAt });
    next += interval;
    await sleep(Math.max(0, next - now()));
  }
  return sent;
}

/**
 * Opens the dashboard, instrumented, and pins the probe run once its first
 * event is in (so other runs never take its place on screen).
 * @param {import('@playwright/test').Browser} browser
 * @param {string} url
 * @param {RedisPublisher} publisher
 */
async function openPage(browser, url, publisher) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.addInitScript(instrumentPage);
  await page.goto(`${url}/?boot=skip`);
  await page.locator('[data-testid="link-status"][data-state="live"]').waitFor({ timeout: 15_000 });
  await publisher.publish({ type: 'pipeline.stage', run_id: PROBE_RUN, stage: 'radar', status: 'idle', ts: Date.now() });
  const selector = page.getByTestId('run-selector');
  const option = selector.locator(`option[value$="/${PROBE_RUN}"]`);
  await option.waitFor({ state: 'attached', timeout: 10_000 });
  await selector.selectOption(/** @type {string} */ (await option.getAttribute('value')));
  await page.locator(`ol.stages[data-run-id="${PROBE_RUN}"]`).waitFor({ timeout: 10_000 });
  await page.evaluate(observeStageCards);
  return page;
}

/**
 * A WebSocket client in this process, beside the page: when each marked
 * frame reaches a socket outside the browser (script clock).
 * @param {string} url
 * @returns {Promise<{ at: Map<number, number>, close: () => void } | null>}
 */
async function openWire(url) {
  if (typeof WebSocket === 'undefined') return null;
  /** @type {Map<number, number>} */
  const at = new Map();
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/dashboard/ws`);
  ws.onmessage = (ev) => {
    const t = now();
    const match = typeof ev.data === 'string' ? /"detail":"lat-(\d+)"/.exec(ev.data) : null;
    if (match && !at.has(Number(match[1]))) at.set(Number(match[1]), t);
  };
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  return { at, close: () => ws.close() };
}

/**
 * Waits until every probe is in the DOM (or 10 s pass).
 * @param {import('@playwright/test').Page} page
 * @param {number} lastIndex
 */
async function waitForDom(page, lastIndex) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const shown = await page.evaluate(() =>
      /** @type {any} */ (window).__latency.dom.reduce((/** @type {number} */ m, /** @type {any[]} */ d) => Math.max(m, Number(d[0] ?? -1)), -1),
    );
    if (shown >= lastIndex) return;
    await sleep(100);
  }
}

/**
 * The dashboard's own readout (ts → after React's commit, last 100 samples).
 * @param {import('@playwright/test').Page} page
 */
function readout(page) {
  return page.evaluate(() => ({
    p50: document.querySelector('[data-testid="latency-p50"]')?.textContent ?? null,
    p95: document.querySelector('[data-testid="latency-p95"]')?.textContent ?? null,
    count: document.querySelector('[data-testid="latency"]')?.getAttribute('data-count') ?? null,
  }));
}

/**
 * Long tasks and long animation frames inside [from, to] (page clock).
 * @param {import('./latency/page.mjs').PageMarks} marks
 * @param {number} from
 * @param {number} to
 */
function longTaskLines(marks, from, to) {
  const inside = (/** @type {number} */ t) => t >= from && t <= to;
  const tasks = marks.longtasks.filter(([t]) => inside(t));
  const busy = tasks.reduce((sum, [, d]) => sum + d, 0);
  const longest = tasks.reduce((m, [, d]) => Math.max(m, d), 0);
  const frames = marks.loafs.filter(([t]) => inside(t));
  const blocking = frames.reduce((sum, [, , b]) => sum + b, 0);
  const seconds = (to - from) / 1000;
  return [
    `long tasks (> 50 ms): ${tasks.length} in ${seconds.toFixed(1)} s, longest ${longest.toFixed(0)} ms, ` +
      `${((busy / (to - from)) * 100).toFixed(1)} % of the main thread's time`,
    `long animation frames (> 50 ms): ${frames.length}, blocking ${blocking.toFixed(0)} ms in all`,
  ];
}

/**
 * Publishes the probes (warm-up, then `count` measured), reading the
 * dashboard's readout meanwhile, and waits for them to show.
 * @param {import('@playwright/test').Page} page
 * @param {RedisPublisher} publisher
 * @param {ReturnType<typeof options>} opts
 * @param {number} count
 * @param {number} offset page clock − script clock, for the window's bounds
 */
async function runProbes(page, publisher, opts, count, offset) {
  const from = now() + offset;
  await publishProbes(publisher, 0, opts.warmup, opts.rate);
  const readouts = sampleReadout(page);
  const sent = await publishProbes(publisher, opts.warmup, count, opts.rate);
  const to = now() + offset;
  const shown = await readouts.stop();
  await waitForDom(page, opts.warmup + count - 1);
  return { sent, from, to, shown };
}

/**
 * What the page recorded, with the two calibrations (made while the page
 * was idle: under load a round trip waits for the main thread).
 * @param {import('@playwright/test').Page} page
 * @param {Awaited<ReturnType<typeof runProbes>>} probes
 * @param {import('./latency/clock.mjs').Calibration} before
 * @param {import('./latency/clock.mjs').Calibration} after
 */
async function gather(page, probes, before, after) {
  /** @type {import('./latency/page.mjs').PageMarks} */
  const marks = await page.evaluate(() => /** @type {any} */ (window).__latency);
  return { ...probes, marks, clocks: combine(before, after) };
}

/**
 * No other load: the probes alone.
 * @param {import('@playwright/test').Page} page
 * @param {RedisPublisher} publisher
 * @param {ReturnType<typeof options>} opts
 */
async function alone(page, publisher, opts) {
  const before = await calibrate(page);
  const probes = await runProbes(page, publisher, opts, opts.events, before.offset);
  return { m: await gather(page, probes, before, await calibrate(page)), outcome: null };
}

/**
 * Reads the dashboard's own readout once a second until stopped: what
 * someone watching the page would have seen over the run.
 * @param {import('@playwright/test').Page} page
 */
function sampleReadout(page) {
  /** @type {Array<{ p50: number, p95: number }>} */
  const seen = [];
  const timer = setInterval(() => {
    void readout(page).then((r) => {
      if (r.p50 !== null && r.p95 !== null) seen.push({ p50: Number(r.p50), p95: Number(r.p95) });
    });
  }, 1000);
  return {
    async stop() {
      clearInterval(timer);
      return seen;
    },
  };
}

/**
 * @param {ReturnType<typeof options>} opts
 * @param {Awaited<ReturnType<typeof gather>>} m
 * @param {Map<number, number>} wire
 * @param {Awaited<ReturnType<typeof readout>>} shown
 */
function report(opts, m, wire, shown) {
  const s = split(m.sent, m.marks, m.clocks.offset, wire);
  console.log(`clocks: ${describe(m.clocks)}`);
  console.log(
    `probes: ${m.sent.length} events at ${opts.rate}/s after ${opts.warmup} warm-up; ` +
      `${s.missing} never shown, ${s.coalesced} shown together with a later event of their stage`,
  );
  for (const text of splitLines(s)) console.log(text);
  const p50s = m.shown.map((r) => r.p50).sort((a, b) => a - b);
  const p95s = m.shown.map((r) => r.p95).sort((a, b) => a - b);
  const mid = (/** @type {number[]} */ v) => (v.length === 0 ? 'n/a' : `${v[Math.floor(v.length / 2)]} (${v[0]}–${v.at(-1)})`);
  console.log(
    `dashboard's own readout (event ts in ms -> Date.now() in a React effect, its last 100 samples), read every second ` +
      `(${m.shown.length} reads), median (range): p50 ${mid(p50s)} ms, p95 ${mid(p95s)} ms; at the end: p50 ${shown.p50} ms, p95 ${shown.p95} ms`,
  );
  console.log(line('this script, publish -> DOM of the last 100', s.total.slice(-100)));
  for (const text of longTaskLines(m.marks, m.from, m.to)) console.log(text);
  return s.missing;
}

/**
 * The background load: this script's runs at `--load` events/s, or the
 * gateway's simulator with `--load-simulate` arguments (and `--runs 0`
 * unless they say otherwise).
 * @param {RedisPublisher} publisher
 * @param {ReturnType<typeof options>} opts
 * @param {string} redisUrl
 */
function startBackground(publisher, opts, redisUrl) {
  if (opts.simulate !== null) {
    const args = opts.simulate.split(/\s+/).filter(Boolean);
    // Forever, unless told otherwise (its default is 10 runs).
    if (!args.some((arg) => arg.startsWith('--runs'))) args.push('--runs', '0');
    const proc = new Proc('tactical-link simulate', gatewayBinary(), ['simulate', '--redis', redisUrl, ...args]);
    return { stop: async () => (await proc.stop('SIGTERM'), null) };
  }
  const rate = /** @type {number} */ (opts.load);
  return startLoad(publisher, { rate, concurrency: rate >= 500 ? 50 : 20 });
}

/**
 * Events relayed so far, by the gateway's count.
 * @param {string} url
 * @returns {Promise<number>}
 */
async function relayed(url) {
  const status = /** @type {{ events_relayed: number }} */ (await (await fetch(`${url}/api/status`)).json());
  return status.events_relayed;
}

/**
 * The run id of a run key as the run selector's options carry it
 * (`<tenant>/<user>/<run id>`, each part with `/` and `%` escaped, the first
 * two empty for a public run).
 * @param {string} key
 */
function runIdOf(key) {
  return decodeURIComponent(key.slice(key.lastIndexOf('/') + 1));
}

/**
 * Compares the page's stages with the gateway's for up to `sample` runs the
 * page holds (besides the probe run): nothing may be missing from the state.
 * @param {import('@playwright/test').Page} page
 * @param {string} url
 * @param {Map<string, number> | null} published run → events published (script load)
 * @param {number} sample
 */
async function checkState(page, url, published, sample = 8) {
  const selector = page.getByTestId('run-selector');
  const keys = (await selector.locator('option').evaluateAll((els) => els.map((el) => /** @type {HTMLOptionElement} */ (el).value)))
    .filter((key) => key !== '' && runIdOf(key) !== PROBE_RUN);
  const step = Math.max(1, Math.floor(keys.length / sample));
  const picked = keys.filter((_, i) => i % step === 0).slice(0, sample);
  let mismatches = 0;
  for (const key of picked) {
    const id = runIdOf(key);
    await selector.selectOption(key);
    await page.locator(`ol.stages[data-run-id="${id}"]`).waitFor();
    const onPage = await page.locator('.stages [data-stage]').evaluateAll((els) => els.map((el) => el.getAttribute('data-status')));
    const run = /** @type {{ stages: Record<string, { status: string }> }} */ (await (await fetch(`${url}/api/runs/${id}`)).json());
    const gateway = STAGES.map((stage) => run.stages?.[stage]?.status ?? 'idle');
    const ours = published?.get(id);
    const expected = ours === undefined ? gateway : expectedStatuses(ours);
    if (onPage.join() !== gateway.join() || gateway.join() !== expected.join()) {
      mismatches += 1;
      console.log(`  state of ${id}: page ${onPage.join(' ')} | gateway ${gateway.join(' ')} | published ${expected.join(' ')}`);
    }
  }
  const count = await page.getByTestId('event-log-count').textContent();
  console.log(`state: ${picked.length} of the page's ${keys.length} other runs compared with the gateway: ${mismatches} differ; event log: ${count}`);
  return mismatches;
}

/**
 * --load / --load-simulate: probes for `--duration` s beside the load.
 * @param {import('@playwright/test').Page} page
 * @param {RedisPublisher} publisher
 * @param {ReturnType<typeof options>} opts
 * @param {{ url: string, redisUrl: string }} where
 */
async function underLoad(page, publisher, opts, where) {
  const before = await calibrate(page);
  const relayedBefore = await relayed(where.url);
  const started = now();
  const load = startBackground(publisher, opts, where.redisUrl);
  await sleep(2_000);
  const probes = await runProbes(page, publisher, opts, Math.round(opts.duration * opts.rate), before.offset);
  const outcome = await load.stop();
  const seconds = (now() - started) / 1000;
  const count = (await relayed(where.url)) - relayedBefore;
  console.log(
    opts.simulate !== null
      ? `load: tactical-link simulate ${opts.simulate}: ${(count / seconds).toFixed(0)} events/s relayed over ${seconds.toFixed(1)} s (probes included)`
      : `load: ${outcome?.published} events in ${outcome?.seconds.toFixed(1)} s (${((outcome?.published ?? 0) / (outcome?.seconds || 1)).toFixed(0)}/s asked ${opts.load}/s, ` +
          `${outcome?.errors} errors) over ${outcome?.runs.size} runs; the gateway relayed ${count}`,
  );
  await sleep(2_000);
  return { m: await gather(page, probes, before, await calibrate(page)), outcome };
}

/**
 * @param {import('@playwright/test').Browser} browser
 * @param {import('@playwright/test').Page} page
 * @param {string | null} path
 * @param {() => Promise<T>} body
 * @returns {Promise<T>}
 * @template T
 */
async function traced(browser, page, path, body) {
  if (path === null) return body();
  await browser.startTracing(page, { path, categories: TRACE_CATEGORIES });
  try {
    return await body();
  } finally {
    await browser.stopTracing();
  }
}

async function main() {
  const opts = options();
  const bin = gatewayBinary();
  if (!bin.includes('/release/')) console.warn(`note: ${bin} looks like a debug build; measure a release build`);
  const redis = await startRedis();
  /** @type {Awaited<ReturnType<typeof startGateway>> | null} */
  let gateway = null;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const publisher = new RedisPublisher(redis.port);
  let wire = null;
  try {
    gateway = await startGateway({ redisUrl: redis.url });
    await publisher.connect();
    const page = await openPage(browser, gateway.url, publisher);
    wire = await openWire(gateway.url);
    if (wire === null) console.log('note: no WebSocket in this node (run it with --experimental-websocket): no outside client');
    const where = { url: gateway.url, redisUrl: redis.url };
    const loaded = opts.load !== null || opts.simulate !== null;
    const run = await traced(browser, page, opts.trace, async () =>
      loaded ? underLoad(page, publisher, opts, where) : alone(page, publisher, opts),
    );
    console.log(`gateway: ${bin}; Chromium: ${browser.version()}`);
    const missing = report(opts, run.m, wire?.at ?? new Map(), await readout(page));
    if (opts.trace !== null) for (const text of await summarizeTrace(opts.trace, run.m.sent.length)) console.log(text);
    const mismatches = loaded ? await checkState(page, gateway.url, run.outcome?.runs ?? null) : 0;
    if (missing > 0 || mismatches > 0) process.exitCode = 1;
  } finally {
    wire?.close();
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
