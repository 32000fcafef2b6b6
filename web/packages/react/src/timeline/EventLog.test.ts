import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { parseServerFrame, type EventFrame } from '@tactical-link/client';
import { eventFrame, runDelta } from '@tactical-link/client/testing';
import { EventLog } from './EventLog.js';

function event(value: unknown): EventFrame {
  const parsed = parseServerFrame(JSON.stringify(value));
  if (!parsed.ok || parsed.frame.type !== 'event') throw new Error('not an event frame');
  return parsed.frame;
}

describe('EventLog', () => {
  it('says "stale, not applied" on the entry of a stale event, and only there', () => {
    const applied = event(eventFrame('1-0', 'r', 'analyst', 'complete', { detail: 'done' }));
    const stale = event(
      eventFrame('2-0', 'r', 'analyst', 'processing', {}, undefined, runDelta('r', 'analyst', { status: 'complete' }, { version: '2-0', stale: true })),
    );
    const html = renderToStaticMarkup(createElement(EventLog, { events: [applied, stale] }));
    const entries = html.split('data-testid="event-log-entry"').slice(1);
    // Newest first.
    expect(entries[0]).toContain('data-event-id="2-0"');
    expect(entries[0]).toContain('data-stale="true"');
    expect(entries[0]).toContain('stale, not applied');
    expect(entries[1]).toContain('data-event-id="1-0"');
    expect(entries[1]).not.toContain('data-stale');
    expect(entries[1]).not.toContain('stale, not applied');
  });
});
