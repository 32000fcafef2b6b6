import { describe, expect, it } from 'vitest';
import { BUS_UP } from './testing/fixtures.js';
import { fetchGatewayStatus, parseGatewayStatus } from './gatewayStatus.js';

const STATUS = { server: 'tactical-link/0.1.0', protocol: 1, bus: { ...BUS_UP, kind: 'memory', lossy: false }, connections: 3, events_relayed: 42 };

describe('parseGatewayStatus', () => {
  it('accepts the documented status', () => {
    expect(parseGatewayStatus(STATUS)).toEqual(STATUS);
  });

  it('reads an auth requirement when the gateway announces one', () => {
    expect(parseGatewayStatus({ ...STATUS, auth: { required: true } }).auth).toEqual({ required: true });
  });

  it('says which field is wrong', () => {
    expect(() => parseGatewayStatus({ ...STATUS, connections: '3' })).toThrow('status.connections');
    expect(() => parseGatewayStatus({ ...STATUS, bus: { ...BUS_UP, state: 'maybe' } })).toThrow('status.bus.state');
    expect(() => parseGatewayStatus({ ...STATUS, bus: null })).toThrow('status.bus');
    expect(() => parseGatewayStatus('ok')).toThrow('not a JSON object');
  });
});

describe('fetchGatewayStatus', () => {
  const answer = (body: string, status = 200) => async () => new Response(body, { status, statusText: status === 200 ? 'OK' : 'Service Unavailable' });

  it('returns the validated status', async () => {
    await expect(fetchGatewayStatus('/api/status', 1_000, answer(JSON.stringify(STATUS)))).resolves.toEqual(STATUS);
  });

  it('reports HTTP errors, non-JSON answers and network failures plainly', async () => {
    await expect(fetchGatewayStatus('/api/status', 1_000, answer('', 503))).rejects.toThrow('HTTP 503');
    await expect(fetchGatewayStatus('/api/status', 1_000, answer('<html>'))).rejects.toThrow('not JSON');
    const refused = async () => {
      throw new TypeError('Failed to fetch');
    };
    await expect(fetchGatewayStatus('/api/status', 1_000, refused)).rejects.toThrow('network error: Failed to fetch');
  });

  it('gives up after the timeout', async () => {
    const hang: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
      });
    await expect(fetchGatewayStatus('/api/status', 20, hang)).rejects.toThrow('no answer within 0 s');
  });
});
