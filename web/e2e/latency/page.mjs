// @ts-check
// What the latency script records inside the page. Each function here is
// sent to Chromium as source (page.addInitScript / page.evaluate), so it uses
// nothing from outside itself. Every time is the page's clock in Unix ms,
// `performance.timeOrigin + performance.now()` (sub-millisecond, monotonic
// within the page), kept in `window.__latency`.
//
// Per marked event (its detail is `lat-<n>`):
//   arrive   the WebSocket 'message' event starts (a listener added before
//            the app's `onmessage`)
//   handled  the app's `onmessage` returned (parse, validation, dispatch)
// Per task of React's scheduler (it runs its work in MessageChannel tasks):
//   tasks    [start, end]
// Per change of a stage card (MutationObserver: its `data-status`, or its
// detail when React commits two events of one stage at once and the status
// ends where it was):
//   dom      [n or null (the card's detail), stage, status, time], then the
//   frames   [dom time, next animation frame's start, its callback, the end
//            of that frame's rendering work (a message posted from the
//            animation frame callback runs once style, layout and paint
//            are done)]
// And the main thread's long tasks and long animation frames.

/**
 * @typedef {{
 *   arrive: Record<string, number>,
 *   handled: Record<string, number>,
 *   tasks: Array<[number, number]>,
 *   dom: Array<[string | null, string, string, number]>,
 *   frames: Array<[number, number, number, number]>,
 *   longtasks: Array<[number, number]>,
 *   loafs: Array<[number, number, number]>,
 * }} PageMarks
 */

/** Installed before the app's scripts run: hooks WebSocket and MessageChannel, observes long tasks. */
export function instrumentPage() {
  const clock = () => performance.timeOrigin + performance.now();
  /** @type {import('./page.mjs').PageMarks} */
  const marks = { arrive: {}, handled: {}, tasks: [], dom: [], frames: [], longtasks: [], loafs: [] };
  const w = /** @type {any} */ (window);
  w.__latency = marks;
  const NativeChannel = window.MessageChannel;
  w.__latencyNativeChannel = NativeChannel;
  const MARK = /"detail":"lat-(\d+)"/;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    /** @param {ConstructorParameters<typeof WebSocket>} args */
    constructor(...args) {
      super(...args);
      /** @type {string | null} */
      this.latencyMarked = null;
      this.addEventListener('message', (ev) => {
        const t = clock();
        const match = typeof ev.data === 'string' ? MARK.exec(ev.data) : null;
        this.latencyMarked = match?.[1] ?? null;
        if (this.latencyMarked !== null) marks.arrive[this.latencyMarked] ??= t;
      });
    }

    /** @param {((this: WebSocket, ev: MessageEvent) => any) | null} handler */
    set onmessage(handler) {
      super.onmessage =
        handler &&
        ((ev) => {
          handler.call(this, ev);
          if (this.latencyMarked !== null) marks.handled[this.latencyMarked] ??= clock();
        });
    }

    get onmessage() {
      return super.onmessage;
    }
  };
  const portHandler = /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(MessagePort.prototype, 'onmessage'));
  window.MessageChannel = class extends NativeChannel {
    constructor() {
      super();
      const port = this.port1;
      Object.defineProperty(port, 'onmessage', {
        configurable: true,
        get: () => portHandler.get?.call(port),
        /** @param {((ev: MessageEvent) => void) | null} handler */
        set: (handler) =>
          portHandler.set?.call(
            port,
            handler &&
              ((/** @type {MessageEvent} */ ev) => {
                const start = clock();
                try {
                  handler.call(port, ev);
                } finally {
                  if (marks.tasks.length < 200_000) marks.tasks.push([start, clock()]);
                }
              }),
          ),
      });
    }
  };
  const observe = (/** @type {string} */ type, /** @type {(e: any) => void} */ record) => {
    try {
      new PerformanceObserver((list) => list.getEntries().forEach(record)).observe({ type, buffered: true });
    } catch {
      // An entry type this Chromium does not know.
    }
  };
  observe('longtask', (e) => marks.longtasks.push([performance.timeOrigin + e.startTime, e.duration]));
  observe('long-animation-frame', (e) =>
    marks.loafs.push([performance.timeOrigin + e.startTime, e.duration, e.blockingDuration ?? 0]),
  );
}

/** Evaluated once the stage cards are on screen: records every change of a card's `data-status` or detail. */
export function observeStageCards() {
  const clock = () => performance.timeOrigin + performance.now();
  const w = /** @type {any} */ (window);
  /** @type {import('./page.mjs').PageMarks} */
  const marks = w.__latency;
  const NativeChannel = w.__latencyNativeChannel;
  const afterFrame = (/** @type {number} */ dom) =>
    requestAnimationFrame((frameStart) => {
      const callback = clock();
      const channel = new NativeChannel();
      channel.port1.onmessage = () => marks.frames.push([dom, performance.timeOrigin + frameStart, callback, clock()]);
      channel.port2.postMessage(0);
    });
  new MutationObserver((records) => {
    const t = clock();
    /** @type {Set<Element>} */
    const cards = new Set();
    for (const record of records) {
      const node = record.target;
      const element = node instanceof Element ? node : node.parentElement;
      const card = element?.closest('.stages [data-stage]');
      if (card) cards.add(card);
    }
    for (const card of cards) {
      const detail = card.querySelector('[data-testid="stage-detail"]')?.textContent ?? '';
      const n = /^lat-(\d+)$/.exec(detail)?.[1] ?? null;
      marks.dom.push([n, card.getAttribute('data-stage') ?? '', card.getAttribute('data-status') ?? '', t]);
    }
    if (cards.size > 0) afterFrame(t);
  }).observe(/** @type {Element} */ (document.querySelector('ol.stages')), {
    subtree: true,
    attributes: true,
    attributeFilter: ['data-status'],
    characterData: true,
    childList: true,
  });
}

/** The page's clock (Unix ms, sub-millisecond) and its Date.now(), read together. */
export function pageClocks() {
  return { clock: performance.timeOrigin + performance.now(), date: Date.now() };
}
