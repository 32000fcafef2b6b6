import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { runFromWire, type Run } from '@tactical-link/client';
import { runWire } from '@tactical-link/client/testing';
import { RunsBoardView } from './RunsBoard.js';

const T0 = Date.parse('2026-11-28T15:00:00.000Z');

function run(runId: string, tenant: string | null, wire: Parameters<typeof runWire>[1], fields: Record<string, unknown>): Run {
  return runFromWire(runWire(runId, wire, { tenant, started_at: new Date(T0).toISOString(), ...fields }) as never);
}

const acme = run('shared-name', 'acme', { radar: { status: 'complete' } }, {});
const globex = run(
  'shared-name',
  'globex',
  { analyst: { status: 'error', error: 'model timeout' }, advisor: { status: 'processing', stalled: true, attempt: 2 } },
  { outcome: 'error', stalled: true },
);

function render(withTenants: boolean, runs: Run[] = [acme, globex]): string {
  const byKey = Object.fromEntries(runs.map((r) => [r.key, r]));
  return renderToStaticMarkup(createElement(RunsBoardView, { runs: byKey, maxRuns: 100, withTenants, onOpen: () => {} }));
}

/** The markup of the row of `key`. */
function row(html: string, key: string): string {
  const start = html.indexOf(`data-run-key="${key}"`);
  return html.slice(start, html.indexOf('</tr>', start));
}

describe('RunsBoard', () => {
  it('one row per run key, with its tenant and outcome; per-stage cells with status and stalled', () => {
    const html = render(true);
    expect(html).toContain('data-testid="runs-board"');
    expect(html.match(/data-run-id="shared-name"/g)).toHaveLength(2);
    const g = row(html, 'globex//shared-name');
    expect(g).toMatch(/data-tenant="globex" data-outcome="error" data-stalled="true"/);
    expect(g).toMatch(/data-stage="analyst" data-status="error"/);
    expect(g).toMatch(/data-stage="advisor" data-status="processing" data-stalled="true"/);
    expect(g).toContain('×2');
    const a = row(html, 'acme//shared-name');
    expect(a).toMatch(/data-tenant="acme" data-outcome="running"/);
    expect(a).toMatch(/data-stage="radar" data-status="complete"/);
    expect(a).not.toContain('data-stalled');
  });

  it('has a tenant column only when asked', () => {
    expect(render(true)).toContain('>Tenant</th>');
    expect(render(false)).not.toContain('>Tenant</th>');
  });

  it('shows the filters with their counts, "all" pressed', () => {
    const html = render(true);
    expect(html).toMatch(/aria-pressed="true" data-filter="all" data-count="2"/);
    expect(html).toMatch(/aria-pressed="false" data-filter="stalled" data-count="1"/);
    expect(html).toMatch(/aria-pressed="false" data-filter="complete" data-count="0"/);
    expect(html).toContain('the gateway keeps 100');
  });

  it('says when there are no runs', () => {
    expect(render(false, [])).toContain('data-testid="runs-board-empty"');
  });
});
