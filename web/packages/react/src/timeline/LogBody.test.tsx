// @vitest-environment happy-dom
// The event log renders a window of its entries, whatever it holds, and
// holds still while the user is scrolled down from the newest. happy-dom
// lays nothing out, so the log uses its default heights (a row of
// DEFAULT_ROW_SIZES.row pixels, a view of DEFAULT_VIEW_HEIGHT).

import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseServerFrame, type EventFrame } from '@tactical-link/client';
import { eventFrame } from '@tactical-link/client/testing';
import { EventLog } from './EventLog.js';
import { DEFAULT_ROW_SIZES, DEFAULT_VIEW_HEIGHT, OVERSCAN } from './logWindow.js';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

/** Events 0 to n - 1, oldest first (as the store holds them). */
function events(n: number, from = 0): EventFrame[] {
  return Array.from({ length: n }, (_, i) => {
    const parsed = parseServerFrame(JSON.stringify(eventFrame(`${from + i}-0`, `run-${(from + i) % 7}`, 'radar', 'processing', { detail: `signal ${from + i}` })));
    if (!parsed.ok || parsed.frame.type !== 'event') throw new Error('not an event frame');
    return parsed.frame;
  });
}

let root: Root;
let host: HTMLElement;

beforeEach(() => {
  host = document.createElement('div');
  document.body.append(host);
  root = createRoot(host);
});

afterEach(() => {
  act(() => root.unmount());
  host.remove();
});

const render = (list: readonly EventFrame[]) => act(() => root.render(<EventLog events={list} />));
const renderedIds = () => [...host.querySelectorAll('[data-testid="event-log-entry"]')].map((el) => el.getAttribute('data-event-id'));
const body = () => host.querySelector<HTMLElement>('[data-testid="event-log-body"]')!;
const list = () => host.querySelector<HTMLElement>('ol.log__list')!;

function scrollTo(top: number) {
  act(() => {
    body().scrollTop = top;
    body().dispatchEvent(new Event('scroll'));
  });
}

const inView = Math.ceil(DEFAULT_VIEW_HEIGHT / DEFAULT_ROW_SIZES.row);

describe('the event log, virtualised', () => {
  it('with 5,000 entries, puts only those in view and the overscan in the DOM, with space standing for the rest', () => {
    const all = events(5_000);
    render(all);
    const ids = renderedIds();
    expect(ids.length).toBeGreaterThanOrEqual(inView);
    expect(ids.length).toBeLessThanOrEqual(inView + OVERSCAN + 1);
    // Newest first.
    expect(ids.slice(0, 3)).toEqual(['4999-0', '4998-0', '4997-0']);
    expect(list().style.paddingTop).toBe('0px');
    expect(list().style.paddingBottom).toBe(`${(5_000 - ids.length) * DEFAULT_ROW_SIZES.row}px`);
    expect(host.querySelector('[data-testid="event-log-count"]')!.textContent).toBe('5000 events');
  });

  it('scrolled down, renders the entries there; new events neither move them nor replace them', () => {
    const all = events(5_000);
    render(all);
    scrollTo(1_000 * DEFAULT_ROW_SIZES.row);
    const ids = renderedIds();
    // The entry at the top of the view is the 1,001st newest, with the overscan above it.
    expect(ids[OVERSCAN]).toBe(`${4_999 - 1_000}-0`);
    expect(list().style.paddingTop).toBe(`${(1_000 - OVERSCAN) * DEFAULT_ROW_SIZES.row}px`);
    expect(host.querySelector('[data-testid="event-log-held"]')).not.toBeNull();

    // Ten new events, the oldest ten trimmed (as the store does).
    render([...all.slice(10), ...events(10, 5_000)]);
    expect(renderedIds()).toEqual(ids);
    expect(list().style.paddingTop).toBe(`${(1_000 - OVERSCAN) * DEFAULT_ROW_SIZES.row}px`);
    expect(host.querySelector('[data-testid="event-log-newer"]')!.textContent).toBe('10 newer events');
  });

  it('"Show newest" goes back to the top and to the live list', () => {
    const all = events(300);
    render(all);
    scrollTo(100 * DEFAULT_ROW_SIZES.row);
    const later = [...all, ...events(5, 300)];
    render(later);
    expect(renderedIds()).not.toContain('304-0');
    act(() => host.querySelector<HTMLButtonElement>('[data-testid="event-log-show-newest"]')!.click());
    expect(renderedIds()[0]).toBe('304-0');
    expect(host.querySelector('[data-testid="event-log-held"]')).toBeNull();
    // Live again: the next event shows at once.
    render([...later, ...events(1, 305)]);
    expect(renderedIds()[0]).toBe('305-0');
  });

  it('at the top, follows the newest', () => {
    const all = events(50);
    render(all);
    render([...all, ...events(3, 50)]);
    expect(renderedIds().slice(0, 4)).toEqual(['52-0', '51-0', '50-0', '49-0']);
    expect(host.querySelector('[data-testid="event-log-held"]')).toBeNull();
  });

  it('keeps an opened entry open when it scrolls out of the DOM and back', () => {
    render(events(500));
    const newest = () => host.querySelector<HTMLElement>('[data-event-id="499-0"]');
    act(() => {
      const details = newest()!.querySelector('details')!;
      details.open = true;
      details.dispatchEvent(new Event('toggle'));
    });
    expect(newest()!.getAttribute('data-open')).toBe('true');
    expect(newest()!.querySelector('pre')!.textContent).toContain('signal 499');
    scrollTo(300 * DEFAULT_ROW_SIZES.row);
    expect(newest()).toBeNull();
    scrollTo(0);
    expect(newest()!.getAttribute('data-open')).toBe('true');
  });
});
