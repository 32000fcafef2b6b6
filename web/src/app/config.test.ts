import { describe, expect, it } from 'vitest';
import { resolveEndpoints } from './config';

describe('resolveEndpoints', () => {
  it('uses the page origin by default', () => {
    expect(resolveEndpoints({ href: 'http://localhost:8080/' })).toEqual({
      wsUrl: 'ws://localhost:8080/dashboard/ws',
      statusUrl: 'http://localhost:8080/api/status',
      skipBoot: false,
    });
  });

  it('uses wss and https behind TLS', () => {
    const e = resolveEndpoints({ href: 'https://ops.example.com/?x=1' });
    expect(e.wsUrl).toBe('wss://ops.example.com/dashboard/ws');
    expect(e.statusUrl).toBe('https://ops.example.com/api/status');
  });

  it('honours ?ws= and reads the status from the same host', () => {
    const e = resolveEndpoints({ href: 'http://localhost:5173/?ws=ws://127.0.0.1:9000/dashboard/ws&boot=skip' });
    expect(e.wsUrl).toBe('ws://127.0.0.1:9000/dashboard/ws');
    expect(e.statusUrl).toBe('http://127.0.0.1:9000/api/status');
    expect(e.skipBoot).toBe(true);
  });

  it('accepts a relative or http ?ws= value', () => {
    expect(resolveEndpoints({ href: 'http://h:1/?ws=/other/ws' }).wsUrl).toBe('ws://h:1/other/ws');
    expect(resolveEndpoints({ href: 'http://h:1/?ws=https://g:2/dashboard/ws' }).wsUrl).toBe('wss://g:2/dashboard/ws');
  });
});
