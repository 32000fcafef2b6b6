// @vitest-environment happy-dom
import { act, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EventFrame, LinkInfo, Run } from '@tactical-link/client';
import {
  AUTHENTICATED,
  eventFrame,
  FakeEnvironment,
  FakeSockets,
  runDelta,
  runWire,
  snapshotFrame,
  WELCOME,
  WELCOME_AUTH,
} from '@tactical-link/client/testing';
import { RunsBoard } from './board/RunsBoard.js';
import { useEvents, useLinkStatus, useRun, useRuns } from './hooks/useTacticalLink.js';
import { TacticalLinkProvider, type TacticalLinkProviderProps } from './provider.js';
import { FOLLOW_BURST, FOLLOW_INTERVAL_MS } from './timeline/follow.js';
import { OperationsTimeline } from './timeline/OperationsTimeline.js';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const URL = 'ws://gateway.test/dashboard/ws';
const at = (s: number) => `2026-11-28T15:00:0${s}.000Z`;

let sockets: FakeSockets;
let root: Root;
let host: HTMLElement;

beforeEach(() => {
  sockets = new FakeSockets();
  host = document.createElement('div');
  document.body.append(host);
  root = createRoot(host);
});

afterEach(() => {
  act(() => root.unmount());
  host.remove();
});

function provider(children: ReactNode, props: Partial<TacticalLinkProviderProps> = {}) {
  const clientOptions = { createSocket: sockets.create, environment: new FakeEnvironment(), heartbeat: false };
  return (
    // Listeners hear of every change at once, so each act() shows its frames (batching: its own test).
    <TacticalLinkProvider url={URL} clientOptions={clientOptions} storeOptions={{}} {...props}>
      {children}
    </TacticalLinkProvider>
  );
}

const render = (ui: ReactNode) => act(() => root.render(ui));
/** The gateway sends these frames, in order. */
const gateway = (...frames: unknown[]) => act(() => frames.forEach((frame) => sockets.last().receive(frame)));

/** An event frame of `runId` whose run (started at `startS` s) has `stage` in `status`. */
function event(id: string, runId: string, stage: 'radar' | 'analyst', status: 'processing' | 'complete', startS: number, tenant?: string) {
  const run = runDelta(runId, stage, { status }, { version: id, started_at: at(startS), tenant: tenant ?? null });
  return eventFrame(id, runId, stage, status, tenant ? { tenant } : {}, undefined, run);
}

describe('the hooks read the provider', () => {
  it('link status, runs newest first, a run by id or key, events filtered newest first', () => {
    const seen: { link?: LinkInfo; runs?: readonly Run[]; byId?: Run; byKey?: Run; events?: readonly EventFrame[] } = {};
    function Probe() {
      seen.link = useLinkStatus();
      seen.runs = useRuns();
      seen.byId = useRun('run-2');
      seen.byKey = useRun('acme//run-1');
      seen.events = useEvents({ runId: 'run-1' });
      return null;
    }
    render(provider(<Probe />));
    expect(seen.link?.status).toBe('connecting');
    expect(sockets.last().url).toBe(URL);

    act(() => sockets.last().open());
    expect(seen.link?.status).toBe('live');
    gateway(WELCOME, snapshotFrame([runWire('run-1', {}, { tenant: 'acme', started_at: at(1), version: '1-0' })], [], '1-0'));
    expect(seen.runs?.map((r) => r.runId)).toEqual(['run-1']);
    expect(seen.byId).toBeUndefined();

    gateway(event('2-0', 'run-2', 'radar', 'processing', 2), event('3-0', 'run-1', 'analyst', 'processing', 1, 'acme'));
    gateway(event('4-0', 'run-1', 'analyst', 'complete', 1, 'acme'));
    expect(seen.runs?.map((r) => r.runId)).toEqual(['run-2', 'run-1']);
    expect(seen.byId?.stages.radar.status).toBe('processing');
    expect(seen.byKey?.stages.analyst.status).toBe('complete');
    expect(seen.events?.map((e) => e.id)).toEqual(['4-0', '3-0']);
  });

  it('a hook outside a provider says what is missing', () => {
    function Probe() {
      useRuns();
      return null;
    }
    expect(() => renderToStaticMarkup(<Probe />)).toThrow(/needs a <TacticalLinkProvider> above it/);
  });
});

describe('TacticalLinkProvider', () => {
  const sentAuth = () =>
    sockets
      .last()
      .sent.map((text) => JSON.parse(text) as { type: string; token?: string })
      .filter((frame) => frame.type === 'auth')
      .map((frame) => frame.token);

  it('authenticates with its token, and gives a new token to the live link as a renewal (no new socket)', () => {
    function Who() {
      const { auth } = useLinkStatus();
      return <p>{auth.phase === 'authenticated' ? auth.identity.sub : auth.phase}</p>;
    }
    render(provider(<Who />, { token: 'first' }));
    act(() => sockets.last().open());
    gateway(WELCOME_AUTH);
    expect(sentAuth()).toEqual(['first']);
    gateway(AUTHENTICATED);
    expect(host.textContent).toBe('alice');

    render(provider(<Who />, { token: 'second' }));
    expect(sentAuth()).toEqual(['first', 'second']);
    expect(sockets.all).toHaveLength(1);
  });

  it('resumes after lastId on its first socket, and closes the socket when unmounted', () => {
    render(provider(null, { lastId: '1764342000123-4' }));
    const socket = sockets.last();
    expect(new globalThis.URL(socket.url).searchParams.get('last_id')).toBe('1764342000123-4');
    expect(socket.closedWith).toBeNull();
    act(() => root.unmount());
    expect(socket.closedWith).not.toBeNull();
    root = createRoot(host);
  });
});

describe('the components under the provider', () => {
  const status = (stage: string) => host.querySelector(`[data-stage="${stage}"]`)?.getAttribute('data-status');

  it('OperationsTimeline waits for the run it is given, then shows its stages live', () => {
    render(provider(<OperationsTimeline runId="run-9" />));
    act(() => sockets.last().open());
    gateway(WELCOME, snapshotFrame(), event('5-0', 'other', 'radar', 'processing', 1));
    expect(host.querySelector('[data-testid="run-summary"]')?.textContent).toBe('Waiting for run run-9…');
    expect(host.querySelector('ol.stages')?.getAttribute('data-run-id')).toBe('run-9');
    expect(status('radar')).toBe('idle');
    expect(host.querySelector('[data-testid="run-selector"]')).toBeNull();

    gateway(event('6-0', 'run-9', 'analyst', 'processing', 2));
    expect(status('analyst')).toBe('processing');
    gateway(event('7-0', 'run-9', 'analyst', 'complete', 2));
    expect(status('analyst')).toBe('complete');
    expect(host.querySelector('[data-testid="run-summary"]')?.getAttribute('data-outcome')).toBe('running');
  });

  it('OperationsTimeline without a run follows the newest; with onSelectRun it shows the picker', () => {
    const picked: Array<string | null> = [];
    render(provider(<OperationsTimeline onSelectRun={(key) => picked.push(key)} />));
    act(() => sockets.last().open());
    gateway(WELCOME, snapshotFrame(), event('1-0', 'old', 'radar', 'complete', 1), event('2-0', 'new', 'radar', 'processing', 2));
    expect(host.querySelector('ol.stages')?.getAttribute('data-run-id')).toBe('new');
    const select = host.querySelector<HTMLSelectElement>('[data-testid="run-selector"]')!;
    act(() => {
      select.value = '//old';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(picked).toEqual(['//old']);
  });

  it('OperationsTimeline following the newest switches at once a few times, then at most once per interval', () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    try {
      render(provider(<OperationsTimeline onSelectRun={() => {}} />));
      act(() => sockets.last().open());
      const shown = () => host.querySelector('ol.stages')?.getAttribute('data-run-id');
      gateway(WELCOME, snapshotFrame(), event('1-0', 'r1', 'radar', 'processing', 1));
      expect(shown()).toBe('r1');
      for (let i = 2; i <= FOLLOW_BURST + 1; i += 1) {
        gateway(event(`${i}-0`, `r${i}`, 'radar', 'processing', i));
        expect(shown()).toBe(`r${i}`);
      }
      // One more new run at once: the run shown holds, and the picker says which it is.
      const late = FOLLOW_BURST + 2;
      gateway(event(`${late}-0`, `r${late}`, 'radar', 'processing', late));
      expect(shown()).toBe(`r${late - 1}`);
      expect(host.querySelector('[data-testid="run-selector"] option')?.textContent).toBe(`Follow newest (r${late - 1})`);
      act(() => vi.advanceTimersByTime(FOLLOW_INTERVAL_MS - 100));
      expect(shown()).toBe(`r${late - 1}`);
      act(() => vi.advanceTimersByTime(100));
      expect(shown()).toBe(`r${late}`);
    } finally {
      vi.useRealTimers();
    }
  });

  it('RunsBoard lists every run held and opens the one clicked', () => {
    const opened: string[] = [];
    render(provider(<RunsBoard onOpen={(key) => opened.push(key)} />));
    act(() => sockets.last().open());
    gateway(WELCOME, snapshotFrame(), event('1-0', 'a', 'radar', 'complete', 1), event('2-0', 'b', 'analyst', 'processing', 2));
    const rows = [...host.querySelectorAll('[data-run-key]')].map((row) => row.getAttribute('data-run-id'));
    expect(rows).toEqual(['b', 'a']);
    act(() => host.querySelector<HTMLElement>('[data-run-key="//a"] button')!.click());
    expect(opened).toEqual(['//a']);
  });
});
