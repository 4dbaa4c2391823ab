// The checker at scale, in counts (never in time): how many checks are in flight at once, how many kernel
// requests a pass costs, and what stays bounded over a long run, with a thousand servers on the fake kernel and a
// manual clock. docs/health.md ("Sizing") gives the figures these keep true.

import { afterEach, describe, expect, it } from 'vitest';
import type { CheckFunction, HealthConfig } from '../../src/health/index.js';
import { harness, type Harness } from './harness.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

const address = (i: number): string => `10.1.${i >> 8}.${i & 255}`;

function services(count: number, perService: number): HealthConfig['services'] {
  return Array.from({ length: count }, (_, s) => ({
    protocol: 'tcp' as const,
    address: `192.168.${s >> 8}.${(s & 255) + 1}`,
    port: 80,
    scheduler: 'rr' as const,
    destinations: Array.from({ length: perService }, (_, j) => ({ address: address(s * perService + j + 1), forwarding: 'route' as const, weight: 1 })),
  }));
}

/** A seeded generator in [0, 1), for jitter a test can repeat. */
function seeded(seed = 1): () => number {
  return () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
}

/** Checks that never answer (each fails at its timeout), counting those in flight and the peak. */
function hanging(): { run: CheckFunction; inFlight: () => number; peak: () => number; resetPeak: () => void } {
  let inFlight = 0;
  let peak = 0;
  return {
    run: (_t, signal) =>
      new Promise<boolean>((resolve) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        signal.addEventListener('abort', () => {
          inFlight--;
          resolve(false);
        });
      }),
    inFlight: () => inFlight,
    peak: () => peak,
    resetPeak: () => void (peak = inFlight),
  };
}

describe('the checker at scale', () => {
  it("spreads servers' checks over their interval after start: checks in flight follow the rate, not the number of servers", async () => {
    // 1 000 servers that all time out (2 s) every 5 s, the default jitter (500 ms), no bound to speak of. Every
    // server is checked at once at start; its next checks used to start together too, within the jitter, and the
    // burst came back every interval for many minutes (a random walk of 500 ms steps is slow to spread over 5 s):
    // all 1 000 in flight at once. Spread over the first interval, some 1 000 x 2 / 5 = 400 are (and, once
    // each server's cycle of 7.25 s has spread them further, some 276).
    const c = hanging();
    h = await harness(
      { services: services(50, 20), maxChecksInFlight: 100_000, check: { type: 'custom', run: c.run, intervalMs: 5000, timeoutMs: 2000, rise: 1, fall: 1 } },
      { random: seeded(), resyncIntervalMs: 0 },
    );
    const started = h.checker.start();
    while (c.inFlight() < 1000) await new Promise((resolve) => setImmediate(resolve));
    await h.clock.advance(2000);
    await started;
    expect(c.peak()).toBe(1000);
    c.resetPeak();
    await h.clock.advance(30_000);
    expect(c.peak()).toBeLessThan(500);
  });
});

describe('the bound on checks in flight against the config', () => {
  const servers = (n: number) => Array.from({ length: n }, (_, i) => ({ address: address(i + 1), forwarding: 'route' as const }));
  const config = (n: number, bound?: number): HealthConfig => ({
    services: [{ protocol: 'tcp', address: '192.168.1.110', port: 80, destinations: servers(n) }],
    check: { type: 'custom', run: () => true, intervalMs: 1000, timeoutMs: 500, jitterMs: 0 },
    ...(bound !== undefined ? { maxChecksInFlight: bound } : {}),
  });

  it('says at start when it is below what the checks need if they all time out, and by how much they would slow', async () => {
    // 60 servers in flight 500 ms of every 1 500 if all time out: 20 at once; a bound of 8 checks each 2.5 times less often.
    h = await harness(config(60, 8));
    await h.checker.start();
    expect(h.logs.filter((l) => l.includes('checks at a time'))).toEqual([
      'info at most 8 checks at a time (maxChecksInFlight): if every check timed out, 20 would be in flight at once, and each server would be checked about 2.5 times less often than its interval; raise maxChecksInFlight to 20 or more',
    ]);
    await h.close();
    h = await harness(config(60, 20));
    await h.checker.start();
    expect(h.logs.filter((l) => l.includes('checks at a time'))).toEqual([]);
  });

  it('a bound just short of the worst case says by how much to a hundredth, never "about 1 times less often"', async () => {
    // 66 servers: 22 at once if all time out; 21 at a time is 1.048 times less often, a tenth's rounding said 1.
    h = await harness(config(66, 21));
    await h.checker.start();
    expect(h.logs.filter((l) => l.includes('checks at a time'))).toEqual([
      'info at most 21 checks at a time (maxChecksInFlight): if every check timed out, 22 would be in flight at once, and each server would be checked about 1.05 times less often than its interval; raise maxChecksInFlight to 22 or more',
    ]);
  });
});
