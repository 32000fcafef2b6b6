// @ts-check
// Background load for `latency.mjs --load RATE`: pipeline runs published on
// Redis at a steady rate by the script itself (each run walks the six
// stages, processing then complete; `concurrency` runs in flight), and what
// each run should look like once every event is in: for the state check.

import { now } from './clock.mjs';

export const STAGES = ['radar', 'analyst', 'advisor', 'actuator', 'quality', 'report'];
/** Publishing ticks: events due are written together, without waiting for replies. */
const TICK_MS = 5;

/**
 * @typedef {{ published: number, errors: number, seconds: number, runs: Map<string, number> }} LoadOutcome
 * runs: run id → events published for it (12: complete).
 */

/**
 * The status of each stage after the first `steps` events of a run.
 * @param {number} steps
 * @returns {string[]}
 */
export function expectedStatuses(steps) {
  return STAGES.map((_, s) => (steps > 2 * s + 1 ? 'complete' : steps > 2 * s ? 'processing' : 'idle'));
}

/**
 * Publishes `rate` events/s until `stop()` is called.
 * @param {import('../stack.mjs').RedisPublisher} publisher
 * @param {{ rate: number, concurrency: number }} options
 * @returns {{ stop: () => Promise<LoadOutcome> }}
 */
export function startLoad(publisher, { rate, concurrency }) {
  const started = now();
  /** @type {LoadOutcome} */
  const outcome = { published: 0, errors: 0, seconds: 0, runs: new Map() };
  /** @type {Array<{ id: string, step: number }>} */
  const slots = [];
  let nextRun = 0;
  /** @type {Promise<unknown>[]} */
  let inFlight = [];
  const publishOne = () => {
    const slot = outcome.published % concurrency;
    let run = slots[slot];
    if (!run || run.step === 12) {
      run = { id: `load-${String(nextRun).padStart(5, '0')}`, step: 0 };
      nextRun += 1;
      slots[slot] = run;
    }
    const stage = /** @type {string} */ (STAGES[run.step >> 1]);
    const status = run.step % 2 === 0 ? 'processing' : 'complete';
    run.step += 1;
    outcome.runs.set(run.id, run.step);
    outcome.published += 1;
    const event = { type: 'pipeline.stage', run_id: run.id, stage, status, detail: `${stage} ${status}`, ts: Date.now() };
    inFlight.push(publisher.publish(event).catch(() => (outcome.errors += 1)));
  };
  const timer = setInterval(() => {
    const due = Math.floor(((now() - started) / 1000) * rate);
    while (outcome.published < due) publishOne();
    if (inFlight.length > 10_000) inFlight = [Promise.all(inFlight)];
  }, TICK_MS);
  return {
    async stop() {
      clearInterval(timer);
      outcome.seconds = (now() - started) / 1000;
      await Promise.all(inFlight);
      return outcome;
    },
  };
}
