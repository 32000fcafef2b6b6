// @vitest-environment happy-dom
// How often the components render under a stream of frames: the provider's
// store tells them once per animation frame (here a frame the test runs by
// hand), and a stage card or a board row renders again only when its own
// state changed. Renders are counted through the icons each one draws once.

import { act, type ComponentProps } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { NotifyScheduler } from '@tactical-link/client';
import { eventFrame, FakeEnvironment, FakeSockets, runDelta, snapshotFrame, WELCOME } from '@tactical-link/client/testing';
import { RunsBoard } from './board/RunsBoard.js';
import { useEvents } from './hooks/useTacticalLink.js';
import { TacticalLinkProvider } from './provider.js';
import { OperationsTimeline } from './timeline/OperationsTimeline.js';
import type * as Icons from './ui/icons.js';
import type * as RunOption from './timeline/runOption.js';
import { useRunCounts, useRunKeys } from './hooks/useTacticalLink.js';

const counts = vi.hoisted(() => ({ glyph: new Map<string, number>(), statusIcons: 0, options: [] as string[] }));

vi.mock('./timeline/runOption.js', async (importOriginal) => {
  const real = await importOriginal<typeof RunOption>();
  return {
    ...real,
    // Once per render of a run picker's option: the run ids, in order.
    optionLabel(...args: Parameters<typeof real.optionLabel>) {
      counts.options.push(args[0].runId);
      return real.optionLabel(...args);
    },
  };
});

vi.mock('./ui/icons.js', async (importOriginal) => {
  const real = await importOriginal<typeof Icons>();
  return {
    ...real,
    // One per stage card: its renders, by stage.
    StageGlyph(props: ComponentProps<typeof real.StageGlyph>) {
      counts.glyph.set(props.stage, (counts.glyph.get(props.stage) ?? 0) + 1);
      return real.StageGlyph(props);
    },
    // Seven per board row (the outcome and six cells).
    StatusIcon(props: ComponentProps<typeof real.StatusIcon>) {
      counts.statusIcons += 1;
      return real.StatusIcon(props);
    },
  };
});

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const URL = 'ws://gateway.test/dashboard/ws';
const START = '2026-11-28T15:00:01.000Z';

let sockets: FakeSockets;
let root: Root;
let host: HTMLElement;
/** The store's pending flush, run by `paint()` like the next animation frame. */
let pending: (() => void) | null;
const schedule: NotifyScheduler = (flush) => {
  pending = flush;
  return () => (pending = null);
};
const paint = () =>
  act(() => {
    const flush = pending;
    pending = null;
    flush?.();
  });

beforeEach(() => {
  sockets = new FakeSockets();
  host = document.createElement('div');
  document.body.append(host);
  root = createRoot(host);
  pending = null;
  counts.glyph.clear();
  counts.statusIcons = 0;
  counts.options = [];
});

afterEach(() => {
  act(() => root.unmount());
  host.remove();
});

function mount(children: React.ReactNode) {
  const clientOptions = { createSocket: sockets.create, environment: new FakeEnvironment(), heartbeat: false };
  act(() =>
    root.render(
      <TacticalLinkProvider url={URL} clientOptions={clientOptions} storeOptions={{ schedule }}>
        {children}
      </TacticalLinkProvider>,
    ),
  );
  act(() => sockets.last().open());
}

const gateway = (...frames: unknown[]) => act(() => frames.forEach((frame) => sockets.last().receive(frame)));

function event(
  id: string,
  runId: string,
  stage: 'radar' | 'analyst' | 'advisor',
  status: 'processing' | 'complete',
  outcome: 'running' | 'complete' = 'running',
) {
  const run = runDelta(runId, stage, { status }, { version: id, started_at: START, outcome });
  return eventFrame(id, runId, stage, status, {}, undefined, run);
}

describe('rendering under a stream of frames', () => {
  it('renders once per animation frame with every frame of it applied, none dropped', () => {
    let renders = 0;
    function Log() {
      renders += 1;
      const events = useEvents();
      return <p data-count={events.length}>{events[0]?.id ?? 'none'}</p>;
    }
    mount(<Log />);
    gateway(WELCOME, snapshotFrame());
    paint();
    const before = renders;
    gateway(...Array.from({ length: 50 }, (_, i) => event(`${i + 1}-0`, 'run-1', 'radar', 'processing')));
    expect(renders).toBe(before);
    expect(host.textContent).toBe('none');
    paint();
    expect(renders).toBe(before + 1);
    expect(host.querySelector('p')?.getAttribute('data-count')).toBe('50');
    expect(host.textContent).toBe('50-0');
    // A frame with nothing new renders nothing.
    paint();
    expect(renders).toBe(before + 1);
  });

  it('an event renders again only the stage card it changed', () => {
    mount(<OperationsTimeline runId="run-1" />);
    gateway(WELCOME, snapshotFrame(), event('1-0', 'run-1', 'radar', 'processing'));
    paint();
    expect([...counts.glyph.values()].every((n) => n >= 1)).toBe(true);
    const before = new Map(counts.glyph);
    gateway(event('2-0', 'run-1', 'analyst', 'processing'), event('3-0', 'other', 'radar', 'complete'));
    paint();
    const again = [...counts.glyph].filter(([stage, n]) => n !== before.get(stage)).map(([stage]) => stage);
    expect(again).toEqual(['analyst']);
    expect(host.querySelector('[data-stage="analyst"]')?.getAttribute('data-status')).toBe('processing');
  });

  it('an event renders again only the board row of its run', () => {
    const open = () => {};
    mount(<RunsBoard onOpen={open} />);
    gateway(WELCOME, snapshotFrame(), event('1-0', 'a', 'radar', 'processing'), event('2-0', 'b', 'radar', 'processing'));
    gateway(event('3-0', 'c', 'radar', 'processing'));
    paint();
    expect(host.querySelectorAll('[data-run-key]')).toHaveLength(3);
    const before = counts.statusIcons;
    gateway(event('4-0', 'b', 'analyst', 'processing'));
    paint();
    expect(counts.statusIcons - before).toBe(7);
    expect(host.querySelector('[data-run-key="//b"] [data-stage="analyst"]')?.getAttribute('data-status')).toBe('processing');
  });

  it('the run picker builds its list only when a run comes, and renders an option again only when its label changes', () => {
    mount(<OperationsTimeline runId="a" onSelectRun={() => {}} />);
    gateway(WELCOME, snapshotFrame(), event('1-0', 'a', 'radar', 'processing'), event('2-0', 'b', 'radar', 'processing'));
    paint();
    expect(counts.options.sort()).toEqual(['a', 'b']);
    const cards = new Map(counts.glyph);

    // Another run's stage moves: no option, no stage card renders.
    counts.options = [];
    gateway(event('3-0', 'b', 'analyst', 'processing'), event('4-0', 'b', 'analyst', 'complete'));
    paint();
    expect(counts.options).toEqual([]);
    expect(counts.glyph).toEqual(cards);

    // A new run: its option only.
    gateway(event('5-0', 'c', 'radar', 'processing'));
    paint();
    expect(counts.options).toEqual(['c']);
    expect(host.querySelectorAll('[data-testid="run-selector"] option')).toHaveLength(4);

    // A run's outcome changes: its option only, with the new label.
    counts.options = [];
    gateway(event('6-0', 'b', 'advisor', 'complete', 'complete'));
    paint();
    expect(counts.options).toEqual(['b']);
    expect(host.querySelector('[data-testid="run-selector"] option[value="//b"]')?.textContent).toMatch(/^b — Complete/);
    expect(counts.glyph).toEqual(cards);
  });

  it('a component reading the run keys and counts renders only when a run comes or stalls', () => {
    let renders = 0;
    function Counts() {
      renders += 1;
      const keys = useRunKeys();
      const [held, stalled] = useRunCounts();
      return <p>{`${keys.join(',')} ${held} ${stalled}`}</p>;
    }
    mount(<Counts />);
    gateway(WELCOME, snapshotFrame(), event('1-0', 'a', 'radar', 'processing'));
    paint();
    const before = renders;
    gateway(event('2-0', 'a', 'radar', 'complete'), event('3-0', 'a', 'analyst', 'processing'));
    paint();
    expect(renders).toBe(before);
    gateway(event('4-0', 'b', 'radar', 'processing'));
    paint();
    expect(renders).toBe(before + 1);
    expect(host.textContent).toBe('//b,//a 2 0');
  });
});
