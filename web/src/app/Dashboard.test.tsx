// @vitest-environment happy-dom
// What an event renders on the operations screen: each part subscribes to
// the slice of the state it shows, so an event of a run that is not shown
// renders the event log (and the latency readout's flush), not the screen's
// header, nor the timeline, nor the run picker's list. Renders are counted
// by wrapping the components of @tactical-link/react the screen is built of.

import { act, type ComponentProps, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { eventFrame, FakeEnvironment, FakeSockets, runDelta, snapshotFrame, WELCOME } from '@tactical-link/client/testing';
import type * as TacticalLinkReact from '@tactical-link/react';
import { TacticalLinkProvider } from '@tactical-link/react';
import { LatencyTracker } from '../features/screen/model/latency';
import { Dashboard } from './Dashboard';

const renders = vi.hoisted(() => ({ header: 0, timeline: 0, log: 0 }));

vi.mock('@tactical-link/react', async (importOriginal) => {
  const real = await importOriginal<typeof TacticalLinkReact>();
  return {
    ...real,
    // Once per render of the screen's header.
    LogoMark(props: ComponentProps<typeof real.LogoMark>) {
      renders.header += 1;
      return real.LogoMark(props);
    },
    OperationsTimeline(props: ComponentProps<typeof real.OperationsTimeline>) {
      renders.timeline += 1;
      return real.OperationsTimeline(props);
    },
    EventLog(props: ComponentProps<typeof real.EventLog>) {
      renders.log += 1;
      return real.EventLog(props);
    },
  };
});

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const URL = 'ws://gateway.test/dashboard/ws';
const START = '2026-11-28T15:00:01.000Z';

let sockets: FakeSockets;
let root: Root;
let host: HTMLElement;

beforeEach(() => {
  sockets = new FakeSockets();
  host = document.createElement('div');
  document.body.append(host);
  root = createRoot(host);
  Object.assign(renders, { header: 0, timeline: 0, log: 0 });
});

afterEach(() => {
  act(() => root.unmount());
  host.remove();
});

function mount(children: ReactNode) {
  const clientOptions = { createSocket: sockets.create, environment: new FakeEnvironment(), heartbeat: false };
  // Listeners hear of every change at once: each act() below is one render.
  act(() =>
    root.render(
      <TacticalLinkProvider url={URL} clientOptions={clientOptions} storeOptions={{}}>
        {children}
      </TacticalLinkProvider>,
    ),
  );
  act(() => sockets.last().open());
}

const gateway = (...frames: unknown[]) => act(() => frames.forEach((frame) => sockets.last().receive(frame)));

function event(id: string, runId: string, stage: 'radar' | 'analyst', status: 'processing' | 'complete') {
  return eventFrame(id, runId, stage, status, {}, undefined, runDelta(runId, stage, { status }, { version: id, started_at: START }));
}

describe('the operations screen under events', () => {
  it('an event of a run not shown renders the event log only', () => {
    mount(<Dashboard gateway={null} latency={new LatencyTracker()} />);
    // Same start: the newest is the one with the larger key, "b", which the timeline follows.
    gateway(WELCOME, snapshotFrame(), event('1-0', 'a', 'radar', 'processing'), event('2-0', 'b', 'radar', 'processing'));
    expect(host.querySelector('ol.stages')?.getAttribute('data-run-id')).toBe('b');
    expect(renders.header).toBeGreaterThan(0);
    const before = { ...renders };

    gateway(event('3-0', 'a', 'radar', 'complete'));
    gateway(event('4-0', 'a', 'analyst', 'processing'));
    expect(renders).toEqual({ ...before, log: before.log + 2 });
    expect(host.querySelectorAll('[data-testid="event-log-entry"]')).toHaveLength(4);

    // An event of the run shown renders the timeline too; the header still not.
    gateway(event('5-0', 'b', 'radar', 'complete'));
    expect(renders).toEqual({ header: before.header, timeline: before.timeline + 1, log: before.log + 3 });
    expect(host.querySelector('[data-stage="radar"]')?.getAttribute('data-status')).toBe('complete');
  });
});
