// @ts-check
// From the script's publish times and the page's marks (latency/page.mjs) to
// publish → DOM per event, and where that time goes.

import { line } from './stats.mjs';

/**
 * @typedef {{ index: number, stage: string, sent: number }} Sent
 * index: the n of `lat-<n>`; sent: the script's clock just before PUBLISH.
 */

/**
 * When each marked event reached the DOM: the first change of its stage's
 * card that shows it or a later event of that stage (React may commit two
 * events of one stage at once; the earlier is then in the DOM as soon as
 * the later is, and counts as coalesced).
 * @param {Sent[]} sent
 * @param {import('./page.mjs').PageMarks['dom']} dom
 * @returns {{ at: Map<number, number>, coalesced: number }}
 */
export function domTimes(sent, dom) {
  /** @type {Map<string, Sent[]>} */
  const waiting = new Map();
  for (const event of sent) {
    const list = waiting.get(event.stage) ?? [];
    list.push(event);
    waiting.set(event.stage, list);
  }
  /** @type {Map<number, number>} */
  const at = new Map();
  let coalesced = 0;
  for (const [n, stage, , t] of dom) {
    if (n === null) continue;
    const shown = Number(n);
    const list = waiting.get(stage) ?? [];
    while (list.length > 0 && /** @type {Sent} */ (list[0]).index <= shown) {
      const event = /** @type {Sent} */ (list.shift());
      at.set(event.index, t);
      if (event.index !== shown) coalesced += 1;
    }
  }
  return { at, coalesced };
}

/**
 * The latest scheduler task that started between `from` and `to`: the one
 * whose commit the MutationObserver reported at `to`.
 * @param {Array<[number, number]>} tasks ascending by start
 * @param {number} from
 * @param {number} to
 * @returns {[number, number] | null}
 */
function taskBetween(tasks, from, to) {
  let lo = 0;
  let hi = tasks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (/** @type {[number, number]} */ (tasks[mid])[0] <= to) lo = mid + 1;
    else hi = mid;
  }
  const task = tasks[lo - 1];
  return task && task[0] >= from ? task : null;
}

/**
 * @typedef {{
 *   total: number[], paint: number[], wire: number[], handler: number[], wait: number[],
 *   react: number[], inTask: number[], frameWait: number[], render: number[], outside: number[],
 * }} Split
 * inTask: the handler's end → the DOM change when no scheduler task came
 * between: React rendered in a microtask, of the message task (the store
 * told it at once) or of the animation frame that flushed the store (then
 * it includes the wait for that frame).
 */

/**
 * Per event, in the page's clock (a publish time + `offset`).
 * @param {Sent[]} sent
 * @param {import('./page.mjs').PageMarks} marks
 * @param {number} offset page clock − script clock
 * @param {Map<number, number>} wire script clock: a WebSocket client in the script
 * @returns {Split & { missing: number, coalesced: number }}
 */
export function split(sent, marks, offset, wire) {
  const { at, coalesced } = domTimes(sent, marks.dom);
  const frames = new Map(marks.frames.map((f) => [f[0], f]));
  /** @type {Split} */
  const s = { total: [], paint: [], wire: [], handler: [], wait: [], react: [], inTask: [], frameWait: [], render: [], outside: [] };
  let missing = 0;
  for (const { index, sent: sentAt } of sent) {
    const published = sentAt + offset;
    const dom = at.get(index);
    if (dom === undefined) {
      missing += 1;
      continue;
    }
    s.total.push(dom - published);
    const outside = wire.get(index);
    if (outside !== undefined) s.outside.push(outside - sentAt);
    const arrive = marks.arrive[index];
    const handled = marks.handled[index];
    if (arrive !== undefined && handled !== undefined) {
      s.wire.push(arrive - published);
      s.handler.push(handled - arrive);
      const task = taskBetween(marks.tasks, handled, dom);
      if (task) {
        s.wait.push(task[0] - handled);
        s.react.push(dom - task[0]);
      } else {
        s.inTask.push(dom - handled);
      }
    }
    const frame = frames.get(dom);
    if (frame) {
      s.frameWait.push(frame[2] - dom);
      s.render.push(frame[3] - frame[2]);
      s.paint.push(frame[3] - published);
    }
  }
  return { ...s, missing, coalesced };
}

/**
 * @param {Split} s
 * @returns {string[]}
 */
export function splitLines(s) {
  return [
    line('publish -> DOM (MutationObserver)', s.total),
    line('publish -> frame rendered (main thread)', s.paint),
    '  where the time goes:',
    line('  publish -> frame read by a client outside', s.outside),
    line('  publish -> WebSocket message event in page', s.wire),
    line('  onmessage: parse, validate, dispatch', s.handler),
    line("  -> React's scheduler task starts", s.wait),
    line('  React task: render + commit -> DOM', s.react),
    line('  or no scheduler task: -> DOM (a microtask)', s.inTask),
    line('  DOM -> next animation frame', s.frameWait),
    line('  frame: style, layout, paint (+ queued tasks)', s.render),
  ];
}
