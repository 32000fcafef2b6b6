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

const counts = vi.hoisted(() => ({ glyph: new Map<string, number>(), statusIcons: 0 }));

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

function event(id: string, runId: string, stage: 'radar' | 'analyst' | 'advisor', status: 'processing' | 'complete') {
  const run = runDelta(runId, stage, { status }, { version: id, started_at: START });
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
});
