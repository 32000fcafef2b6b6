// @ts-check
// `latency.mjs --trace FILE`: Chromium's own account of the page's main
// thread during the run (browser.startTracing, the categories DevTools'
// Performance panel records), summarised as time per kind of work, per
// marked event. Inclusive times: a task contains its event dispatch, which
// contains the function call, so the lines do not add up.

import { readFile } from 'node:fs/promises';

export const TRACE_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'toplevel', 'v8', 'blink.user_timing'];

/** The kinds of main-thread work shown, in the order of a frame's life. */
const KINDS = [
  ['RunTask', 'every task (busy time)'],
  ['EventDispatch', 'event dispatch (WebSocket and scheduler messages)'],
  ['FunctionCall', 'JavaScript called from a task'],
  ['v8.run', 'JavaScript (v8.run)'],
  ['RunMicrotasks', 'microtasks'],
  ['FireAnimationFrame', 'requestAnimationFrame callbacks'],
  ['UpdateLayoutTree', 'style recalculation'],
  ['Layout', 'layout'],
  ['PrePaint', 'pre-paint'],
  ['Paint', 'paint'],
  ['Layerize', 'layerize'],
  ['Commit', 'commit to the compositor'],
  ['MinorGC', 'minor GC'],
  ['MajorGC', 'major GC'],
];

/**
 * @typedef {{ name: string, ph: string, pid: number, tid: number, dur?: number, args?: any }} TraceEvent
 */

/**
 * The renderer main thread with the most complete events: the page's.
 * @param {TraceEvent[]} events
 * @returns {string | null} "pid:tid"
 */
function pageMainThread(events) {
  const mains = new Set(
    events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`),
  );
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const e of events) {
    const key = `${e.pid}:${e.tid}`;
    if (e.ph === 'X' && mains.has(key)) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
}

/**
 * @param {string} path the trace browser.stopTracing wrote
 * @param {number} probes marked events measured
 * @returns {Promise<string[]>}
 */
export async function summarizeTrace(path, probes) {
  const json = JSON.parse(await readFile(path, 'utf8'));
  /** @type {TraceEvent[]} */
  const events = Array.isArray(json) ? json : json.traceEvents;
  const main = pageMainThread(events);
  if (main === null) return [`trace ${path}: no renderer main thread found`];
  /** @type {Map<string, { count: number, us: number }>} */
  const totals = new Map();
  for (const e of events) {
    if (e.ph !== 'X' || `${e.pid}:${e.tid}` !== main) continue;
    const total = totals.get(e.name) ?? { count: 0, us: 0 };
    total.count += 1;
    total.us += e.dur ?? 0;
    totals.set(e.name, total);
  }
  const lines = [`Chromium trace (${path}), the page's main thread, inclusive times per marked event (${probes}):`];
  for (const [name, label] of KINDS) {
    const total = totals.get(/** @type {string} */ (name));
    if (!total) continue;
    const perEvent = total.us / 1000 / Math.max(probes, 1);
    lines.push(
      `  ${String(label).padEnd(52)} ${perEvent.toFixed(2).padStart(8)} ms  (${total.count} × ${(total.us / 1000 / total.count).toFixed(3)} ms)`,
    );
  }
  return lines;
}
