import { describe, expect, it } from 'vitest';
import * as codes from './closeCodes.js';
import { BROWSER_CLOSE_CODES, describeClose, forgetsResumePoint, isTerminalClose, needsNewToken } from './closeCodes.js';
import { readFileSync } from 'node:fs';

const source = readFileSync(new URL('./closeCodes.ts', import.meta.url), 'utf8');

/** The `export const NAME = number;` lines of the file, as the gateway's Rust test reads them. */
function listedInSource(): Array<[string, number]> {
  const lines = source.split('\n');
  const listed: Array<[string, number]> = [];
  lines.forEach((line, i) => {
    if (!line.startsWith('export const ')) return;
    const m = /^export const ([A-Z][A-Z_]*) = (\d+);$/.exec(line);
    if (!m) return;
    // Each one says what it means, on the line above.
    expect(lines[i - 1], `doc comment above ${m[1]}`).toMatch(/^\/\*\*.*\*\/$/);
    listed.push([m[1]!, Number(m[2])]);
  });
  return listed;
}

describe('close codes', () => {
  it('the file lists every numeric export on its own `export const NAME = number;` line', () => {
    const listed = listedInSource();
    const exported = Object.entries(codes as Record<string, unknown>).filter((entry): entry is [string, number] => typeof entry[1] === 'number');
    expect(listed.length).toBeGreaterThanOrEqual(13);
    expect(new Map(listed)).toEqual(new Map(exported));
    expect(new Set(listed.map(([, code]) => code)).size).toBe(listed.length);
  });

  it('codes only a browser reports stay out of the protocol list', () => {
    const protocol = new Set(listedInSource().map(([, code]) => code));
    for (const code of Object.values(BROWSER_CLOSE_CODES)) expect(protocol.has(code)).toBe(false);
    expect(source).not.toMatch(/^export const \w+ = 10(05|06|11|12|13|15);$/m);
  });

  it.each([codes.PROTOCOL_ERROR, codes.UNSUPPORTED_DATA, codes.INVALID_DATA, codes.POLICY, codes.TOO_BIG, codes.AUTH_FAILED, 4500, 4999])('%i is terminal', (code) => {
    expect(isTerminalClose(code)).toBe(true);
  });

  it.each([
    codes.NORMAL,
    codes.GOING_AWAY,
    codes.SLOW_CONSUMER,
    codes.HEARTBEAT_TIMEOUT,
    codes.TRY_AGAIN_LATER,
    codes.TOKEN_EXPIRED,
    codes.AUTH_TIMEOUT,
    4000,
    4499,
    5000,
    ...Object.values(BROWSER_CLOSE_CODES),
  ])('%i is not terminal', (code) => {
    expect(isTerminalClose(code)).toBe(false);
  });

  it('only an expired or refused token needs a new one; only a slow consumer forgets where it was', () => {
    const all = [...listedInSource().map(([, code]) => code), ...Object.values(BROWSER_CLOSE_CODES)];
    expect(all.filter(needsNewToken)).toEqual([4401, 4501]);
    expect(all.filter(forgetsResumePoint)).toEqual([4001]);
  });

  it('describes a code for people, with the gateway words when they add something', () => {
    expect(describeClose(BROWSER_CLOSE_CODES.LOST)).toBe('connection lost (1006)');
    expect(describeClose(codes.AUTH_FAILED, 'authentication failed')).toBe('token refused: authentication failed (4501)');
    expect(describeClose(codes.TOKEN_EXPIRED, 'Token expired')).toBe('token expired (4401)');
    expect(describeClose(4777)).toBe('refused by the gateway (4777)');
    expect(describeClose(4100, ' busy ')).toBe('dropped by the gateway: busy (4100)');
    expect(describeClose(codes.INVALID_DATA)).toBe('invalid UTF-8 in a text frame (1007)');
    expect(describeClose(3000)).toBe('closed (3000)');
  });
});
