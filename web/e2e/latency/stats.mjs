// @ts-check
// Percentiles and the lines the latency script prints.

/**
 * Nearest-rank percentile of ascending values (as the dashboard's readout).
 * @param {number[]} sorted
 * @param {number} p
 * @returns {number}
 */
export function percentile(sorted, p) {
  const rank = Math.ceil((p / 100) * sorted.length);
  return /** @type {number} */ (sorted[Math.min(Math.max(rank, 1), sorted.length) - 1]);
}

/**
 * @typedef {{ n: number, p50: number, p95: number, p99: number, max: number, mean: number }} Summary
 */

/**
 * @param {number[]} values
 * @returns {Summary | null}
 */
export function summarize(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return {
    n: values.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: /** @type {number} */ (sorted.at(-1)),
    mean,
  };
}

/** @param {number} ms */
const fmt = (ms) => (Math.abs(ms) >= 100 ? ms.toFixed(0) : ms.toFixed(1));

/**
 * One line: label, then p50 p95 p99 max mean (ms) and the count.
 * @param {string} label
 * @param {number[]} values
 * @returns {string}
 */
export function line(label, values) {
  const s = summarize(values);
  if (s === null) return `${label.padEnd(46)} n/a`;
  return (
    `${label.padEnd(46)} p50 ${fmt(s.p50).padStart(6)}  p95 ${fmt(s.p95).padStart(6)}  p99 ${fmt(s.p99).padStart(6)}  ` +
    `max ${fmt(s.max).padStart(6)}  mean ${fmt(s.mean).padStart(6)}  (n ${s.n})`
  );
}
