import { describe, expect, it } from 'vitest';
import { adoptFragmentToken, cleanToken, forgetToken, loadToken, saveToken, STORAGE_KEY, takeFragmentToken, type PageAddress, type TokenStorage } from './token';

function page(href: string): PageAddress & { replaced: string[] } {
  const replaced: string[] = [];
  return {
    replaced,
    location: { href },
    history: {
      state: { kept: true },
      replaceState(data, _unused, url) {
        expect(data).toEqual({ kept: true });
        replaced.push(String(url));
      },
    },
  };
}

class MemoryStorage implements TokenStorage {
  readonly items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
}

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln-_x';

describe('takeFragmentToken', () => {
  it('takes the token and removes the whole fragment from the address', () => {
    const p = page(`http://gw.test:8000/?boot=skip#token=${JWT}`);
    expect(takeFragmentToken(p)).toBe(JWT);
    expect(p.replaced).toEqual(['http://gw.test:8000/?boot=skip']);
  });

  it('keeps the other fragment parameters', () => {
    const p = page(`http://gw.test/#a=1&token=${JWT}&b=2`);
    expect(takeFragmentToken(p)).toBe(JWT);
    expect(p.replaced).toEqual(['http://gw.test/#a=1&b=2']);
  });

  it('decodes a percent-encoded token and keeps a "+" as it is', () => {
    expect(takeFragmentToken(page('http://gw.test/#token=a%2Bb.c'))).toBe('a+b.c');
    expect(takeFragmentToken(page('http://gw.test/#token=a+b'))).toBe('a+b');
    expect(takeFragmentToken(page('http://gw.test/#token=%E0%A4%A'))).toBe('%E0%A4%A');
  });

  it('leaves an address without a token alone', () => {
    for (const href of ['http://gw.test/', 'http://gw.test/#', 'http://gw.test/#section', 'http://gw.test/?token=x']) {
      const p = page(href);
      expect(takeFragmentToken(p)).toBeNull();
      expect(p.replaced).toEqual([]);
    }
  });

  it('removes an empty token from the address but does not return it', () => {
    const p = page('http://gw.test/#token=');
    expect(takeFragmentToken(p)).toBeNull();
    expect(p.replaced).toEqual(['http://gw.test/']);
  });
});

describe('token storage', () => {
  it('keeps, reads and forgets the token under its key', () => {
    const storage = new MemoryStorage();
    expect(loadToken(storage)).toBeNull();
    saveToken(storage, JWT);
    expect(storage.items.get(STORAGE_KEY)).toBe(JWT);
    expect(loadToken(storage)).toBe(JWT);
    forgetToken(storage);
    expect(loadToken(storage)).toBeNull();
  });

  it('copes with storage that refuses, or none', () => {
    const refusing: TokenStorage = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
      removeItem: () => {
        throw new Error('SecurityError');
      },
    };
    expect(loadToken(refusing)).toBeNull();
    expect(() => saveToken(refusing, 'x')).not.toThrow();
    expect(() => forgetToken(refusing)).not.toThrow();
    expect(loadToken(null)).toBeNull();
  });

  it('adoptFragmentToken moves a fragment token into storage', () => {
    const storage = new MemoryStorage();
    const p = page(`http://gw.test/#token=${JWT}`);
    expect(adoptFragmentToken(p, storage)).toBe(JWT);
    expect(loadToken(storage)).toBe(JWT);
    expect(adoptFragmentToken(page('http://gw.test/'), storage)).toBeNull();
    expect(loadToken(storage)).toBe(JWT);
  });
});

describe('cleanToken', () => {
  it('drops surrounding space and a Bearer prefix', () => {
    expect(cleanToken(`  ${JWT}\n`)).toBe(JWT);
    expect(cleanToken(`Bearer ${JWT}`)).toBe(JWT);
    expect(cleanToken('bearer   x ')).toBe('x');
    expect(cleanToken('   ')).toBe('');
  });
});
