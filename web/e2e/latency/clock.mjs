// @ts-check
// One clock for two processes. The script (the publisher) and the page each
// read `performance.timeOrigin + performance.now()` (Unix ms, sub-ms); the
// offset between the two is measured by round trips of page.evaluate that
// return the page's clock: for each, offset = page − midpoint of the round
// trip, within ± half the round trip. The round trip with the smallest RTT
// bounds it best.

import { pageClocks } from './page.mjs';

/** The script's clock: Unix ms, sub-millisecond. */
export const now = () => performance.timeOrigin + performance.now();

/**
 * @typedef {{ offset: number, uncertainty: number, rtt: number, rounds: number, pageDateSkew: number }} Calibration
 * offset: page clock − script clock (ms); uncertainty: ± half the best RTT;
 * pageDateSkew: the page's Date.now() − its own clock (what the dashboard's
 * readout uses against what this script uses), at the best round trip.
 */

/**
 * @param {import('@playwright/test').Page} page
 * @param {number} [rounds]
 * @returns {Promise<Calibration>}
 */
export async function calibrate(page, rounds = 40) {
  /** @type {Calibration | null} */
  let best = null;
  for (let i = 0; i < rounds; i += 1) {
    const before = now();
    const clocks = await page.evaluate(pageClocks);
    const after = now();
    const rtt = after - before;
    if (best === null || rtt < best.rtt) {
      best = {
        offset: clocks.clock - (before + after) / 2,
        uncertainty: rtt / 2,
        rtt,
        rounds,
        pageDateSkew: clocks.date - clocks.clock,
      };
    }
  }
  return /** @type {Calibration} */ (best);
}

/**
 * The two calibrations of a run, before and after, as one: their mean
 * offset, and an uncertainty that covers both and the drift between them.
 * @param {Calibration} before
 * @param {Calibration} after
 * @returns {Calibration & { drift: number }}
 */
export function combine(before, after) {
  const offset = (before.offset + after.offset) / 2;
  const drift = after.offset - before.offset;
  const uncertainty = Math.max(before.uncertainty, after.uncertainty) + Math.abs(drift) / 2;
  return { ...before, offset, uncertainty, rtt: Math.min(before.rtt, after.rtt), drift };
}

/**
 * @param {Calibration & { drift: number }} c
 * @returns {string}
 */
export function describe(c) {
  const sign = c.offset >= 0 ? '+' : '−';
  return (
    `page clock − script clock ${sign}${Math.abs(c.offset).toFixed(2)} ms ± ${c.uncertainty.toFixed(2)} ms ` +
    `(best of ${c.rounds} page.evaluate round trips, RTT ${c.rtt.toFixed(2)} ms; drift over the run ${c.drift.toFixed(2)} ms); ` +
    `the page's Date.now() − its clock ${c.pageDateSkew.toFixed(2)} ms`
  );
}
