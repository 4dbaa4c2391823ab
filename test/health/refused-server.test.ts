// A real server the kernel refuses as a destination (EINVAL: an IPv4-mapped ::ffff:a.b.c.d, a link-local IPv6
// address that is not this host's, both of which the fake kernel refuses as Linux does): it is said once, left out
// on a backoff of its own (the resyncs and the other servers' changes do not try it again each time), counts as
// down for the sorry server, and the other servers are checked and changed as if it were not configured.

import { afterEach, describe, expect, it } from 'vitest';
import type { HealthConfig, HealthScheduler, ManualScheduler } from '../../src/health/index.js';
import { harness, type Harness } from './harness.js';

const SERVICE = { protocol: 'tcp', address: '2001:db8::1', port: 80 } as const;
const GOOD = '2001:db8::2';
const MAPPED = '::ffff:10.0.0.3';
const LINK_LOCAL = 'fe80::5';

const config = (addresses: string[]): HealthConfig => ({
  services: [{ ...SERVICE, scheduler: 'rr', sorryServer: { address: '::1' }, destinations: addresses.map((address) => ({ address })) }],
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The adds of `address` the kernel refused: each is an `error` event. */
const refusals = (address: string): number => h!.events.filter((e) => e.type === 'error' && e.text.includes(`add [${address}]`)).length;
const warnings = (): string[] => h!.logs.filter((l) => l.startsWith('warn ') && !l.includes(' is DOWN'));

describe('a real server the kernel refuses', () => {
  it('is warned of once, tried again on a backoff of its own (not at every resync), counts as down for the sorry server; the others go on', async () => {
    h = await harness(config([GOOD, MAPPED, LINK_LOCAL]), { resyncIntervalMs: 10_000 });
    await h.checker.start();
    expect(await h.table(SERVICE)).toEqual([`${GOOD}:80 1`]);
    // Ten minutes with a resync every 10 s: tried at start, then 2, 6, 14, 30, 62 s after and every 60 s from there
    // (retryMs doubling to retryMaxMs): 14 times. It used to be tried again at every resync and every other sync.
    for (let t = 0; t < 600; t++) await h.clock.advance(1000);
    expect([refusals(MAPPED), refusals(LINK_LOCAL)]).toEqual([14, 14]);
    const refused = Object.fromEntries(h.checker.status()[0]!.destinations.map((d) => [d.destination.address, d.refused]));
    expect(refused).toEqual({
      [GOOD]: undefined,
      [MAPPED]: { count: 14, code: 'EINVAL', message: expect.stringMatching(/not ::ffff:a\.b\.c\.d/) },
      [LINK_LOCAL]: { count: 14, code: 'EINVAL', message: expect.stringMatching(/link-local/) },
    });
    expect(warnings()).toEqual([
      expect.stringMatching(/^warn tcp \[2001:db8::1\]:80: could not add \[::ffff:10\.0\.0\.3\]:80: the kernel refused destination .*not ::ffff:a\.b\.c\.d.*\[EINVAL\]; left out of the table \(it counts as down\) and tried again in 2000 ms, then at most every 60000 ms, without a warning each time$/),
      expect.stringMatching(/^warn tcp \[2001:db8::1\]:80: could not add \[fe80::5\]:80: .*an IPv6 link-local address only if it is local.*\[EINVAL\]; left out of the table/),
    ]);
    // The one server the kernel takes goes down: nothing else can serve, so the sorry server goes in (it used to
    // stay out, the refused two counting as up, and the server that was down kept its weight).
    h.setUp(GOOD, false);
    await h.clock.advance(5000);
    expect(await h.table(SERVICE)).toEqual([`${GOOD}:80 0`, '::1:80 1']);
    h.setUp(GOOD, true);
    await h.clock.advance(5000);
    expect(await h.table(SERVICE)).toEqual([`${GOOD}:80 1`]);
    expect(warnings()).toHaveLength(2); // still said once each
    expect(h.logs.filter((l) => l.includes('the table is in line again'))).toEqual([]); // never a failure of the service
  });

  it('once the kernel takes it, it is added and the log says so', async () => {
    h = await harness(config([GOOD]), { resyncIntervalMs: 0 });
    h.kernel.failNext(1, 'EINVAL', 'IPVS_CMD_NEW_DEST');
    await h.checker.start();
    // Refused: out, and the sorry server in for it meanwhile (nothing else can serve).
    expect(await h.table(SERVICE)).toEqual(['::1:80 1']);
    expect(h.checker.status()[0]!.destinations[0]!.refused).toMatchObject({ count: 1, code: 'EINVAL' });
    expect(warnings()).toEqual([expect.stringMatching(/could not add \[2001:db8::2\]:80: .*\[EINVAL\]; left out of the table/)]);
    await h.clock.advance(2000);
    expect(await h.table(SERVICE)).toEqual([`${GOOD}:80 1`]);
    expect(h.logs).toContain('info tcp [2001:db8::1]:80: the kernel took [2001:db8::2]:80 after 1 refusal');
    expect(h.checker.status()[0]!.destinations[0]!.refused).toBeUndefined();
    expect(h.logs.at(-1)).toMatch(/removed the sorry server/);
  });

  it('once another writer has added it (the kernel takes it now), it is refused no more', async () => {
    h = await harness(config([GOOD]), { resyncIntervalMs: 10_000 });
    h.kernel.failNext(1, 'EINVAL', 'IPVS_CMD_NEW_DEST');
    await h.checker.start();
    expect(await h.table(SERVICE)).toEqual(['::1:80 1']);
    await h.ipvs.addDestination(SERVICE, { address: GOOD, forwarding: 'route', weight: 1 });
    await h.clock.advance(10_000);
    expect(await h.table(SERVICE)).toEqual([`${GOOD}:80 1`]);
    expect(h.logs).toContain('info tcp [2001:db8::1]:80: the table holds [2001:db8::2]:80 after 1 refusal');
    // It stayed `refused` in status() for good: the checker's own add met EEXIST, and nothing cleared the refusal.
    expect(h.checker.status()[0]!.destinations[0]!.refused).toBeUndefined();
  });
});

describe('the sorry server and a refused server', () => {
  it('goes out for a destination of another writer with the reason that is true: not "a real server is back"', async () => {
    // The refused server's checks pass (status up); it still counts as down, as when the sorry server went in.
    h = await harness(config([GOOD, MAPPED]), { resyncIntervalMs: 10_000 });
    h.setUp(GOOD, false);
    await h.checker.start();
    expect(await h.table(SERVICE)).toEqual([`${GOOD}:80 0`, '::1:80 1']);
    await h.ipvs.addDestination(SERVICE, { address: '2001:db8::9', forwarding: 'route', weight: 3 });
    await h.clock.advance(10_000);
    expect(await h.table(SERVICE)).toEqual([`${GOOD}:80 0`, '2001:db8::9:80 3']);
    expect(h.events.filter((e) => e.type === 'change').at(-1)!.text).toBe(
      'tcp [2001:db8::1]:80: [2001:db8::9]:80 (weight 3), not in the config, serves: removed the sorry server [::1]:80',
    );
  });
});

describe('the backoff of a refused server', () => {
  it('tries it again when its timer fires, even a little before the clock reaches the time it was due', async () => {
    // Node's setTimeout counts from the event loop's cached whole-millisecond time, so it can fire a fraction of a
    // millisecond before performance.now() (systemScheduler's clock) reaches the due time. A scheduler firing every
    // timer half a millisecond early: the retry found the server still within its wait, and it was left out (with
    // no resync, for good).
    let clock: ManualScheduler | undefined;
    const early: HealthScheduler = {
      now: () => clock!.now(),
      schedule: (ms, fn) => clock!.schedule(Math.max(0, ms - 0.5), fn),
    };
    h = await harness(config([GOOD]), { resyncIntervalMs: 0, scheduler: early });
    clock = h.clock;
    h.kernel.failNext(1, 'EINVAL', 'IPVS_CMD_NEW_DEST');
    await h.checker.start();
    expect(await h.table(SERVICE)).toEqual(['::1:80 1']);
    await h.clock.advance(2000);
    expect(await h.table(SERVICE)).toEqual([`${GOOD}:80 1`]);
    expect(h.checker.status()[0]!.destinations[0]!.refused).toBeUndefined();
  });
});
