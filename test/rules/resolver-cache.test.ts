// A program that keeps one systemResolver() for weeks (saving its table with names every minute, reading a
// rules file with host names on every change): answers are reused for a while, not for the resolver's life,
// so a changed or once-failed name is seen again, and the cache holds only the recent ones however many
// addresses pass through the table.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../src/ipvs/errors.js';
import { AnswerCache, systemResolver } from '../../src/rules/resolver.js';

const dns = vi.hoisted(() => ({ names: new Map<string, string>(), reverse: 0, forward: 0 }));

vi.mock('node:dns', async (original) => ({
  ...(await original<typeof import('node:dns')>()),
  lookupService: (address: string, _port: number, done: (err: Error | null, hostname?: string) => void) => {
    dns.reverse++;
    const name = dns.names.get(address);
    setImmediate(() => (name === undefined ? done(Object.assign(new Error('not found'), { code: 'ENOTFOUND' })) : done(null, name)));
  },
  lookup: (name: string, _options: object, done: (err: Error | null, address?: string) => void) => {
    dns.forward++;
    const address = [...dns.names].find(([, n]) => n === name)?.[0];
    setImmediate(() => (address === undefined ? done(Object.assign(new Error('not found'), { code: 'ENOTFOUND' })) : done(null, address)));
  },
}));

afterEach(() => {
  vi.useRealTimers();
  dns.names.clear();
  dns.reverse = 0;
  dns.forward = 0;
});

describe('systemResolver over time', () => {
  it('shares a lookup among the questions of one save, and asks again once the answer is a minute old', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    dns.names.set('10.0.0.2', 'web-a');
    const r = systemResolver({ servicesPath: '/nonexistent' });
    expect(await Promise.all([r.reverse('10.0.0.2'), r.reverse('10.0.0.2'), r.lookup('web-a'), r.lookup('web-a')])).toEqual(['web-a', 'web-a', '10.0.0.2', '10.0.0.2']);
    expect([dns.reverse, dns.forward]).toEqual([1, 1]);
    vi.advanceTimersByTime(59_000);
    expect(await r.reverse('10.0.0.2')).toBe('web-a');
    expect(dns.reverse).toBe(1);
    // A name that failed once exists now, and the address's name changed: both seen after the minute.
    expect(await r.lookup('web-b')).toBeUndefined();
    dns.names.set('10.0.0.2', 'web-b');
    expect(await r.lookup('web-b')).toBeUndefined();
    expect(await r.reverse('10.0.0.2')).toBe('web-a');
    vi.advanceTimersByTime(61_000);
    expect(await r.reverse('10.0.0.2')).toBe('web-b');
    expect(await r.lookup('web-b')).toBe('10.0.0.2');
    expect([dns.reverse, dns.forward]).toEqual([2, 3]);
  });

  it('cacheMs: Infinity keeps answers for good (as before), 0 asks every time', async () => {
    dns.names.set('10.0.0.2', 'web-a');
    const forever = systemResolver({ servicesPath: '/nonexistent', cacheMs: Infinity });
    await forever.reverse('10.0.0.2');
    dns.names.set('10.0.0.2', 'web-b');
    expect(await forever.reverse('10.0.0.2')).toBe('web-a');
    const never = systemResolver({ servicesPath: '/nonexistent', cacheMs: 0 });
    expect(await never.reverse('10.0.0.2')).toBe('web-b');
    await never.reverse('10.0.0.2');
    expect(dns.reverse).toBe(3);
  });

  it('refuses options a timer or a cache cannot take, naming them', () => {
    for (const [options, field] of [[{ timeoutMs: 2 ** 31 }, 'timeoutMs'], [{ timeoutMs: 0 }, 'timeoutMs'], [{ timeoutMs: Infinity }, 'timeoutMs'], [{ cacheMs: -1 }, 'cacheMs'], [{ cacheMs: Number.NaN }, 'cacheMs']] as const) {
      expect(() => systemResolver(options)).toThrow(ValidationError);
      expect(() => systemResolver(options)).toThrow(expect.objectContaining({ field }));
    }
  });
});

describe('AnswerCache', () => {
  it('100 000 distinct questions over hours hold only the last minute of them', () => {
    let now = 0;
    const cache = new AnswerCache<number>(60_000, () => now);
    let asked = 0;
    for (let i = 0; i < 100_000; i++) {
      now += 250; // 4 new addresses a second: pods coming and going
      cache.get(`10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`, () => ++asked);
      cache.get('10.0.0.0', () => ++asked);
    }
    expect(cache.size).toBeLessThanOrEqual(60_000 / 250 + 2);
    // The address asked about all along was asked again once a minute, not every time.
    expect(asked).toBeLessThan(100_000 + 100_000 / 240 + 2);
  });
});
