// The fake kernel's destination trash (ip_vs_trash_get_dest): a deleted destination re-added to the same
// virtual service within 120 s comes back with its counters (zeroed if the service is another object now),
// and finding it costs the same whatever else is in the trash.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Ipvs } from '../../src/client.js';
import type { Operation } from '../../src/index.js';
import { FakeKernel } from '../../src/testing/index.js';

const svc = (i: number) => ({ protocol: 'tcp' as const, address: `10.0.${i >> 8}.${i & 255}`, port: 80 });
const dst = (i: number) => ({ address: `192.168.${i >> 8}.${(i & 255) || 1}` });

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('FakeKernel trash', () => {
  it('re-adding from the trash costs the same per destination whatever the trash holds', async () => {
    // Work counted, not timed: each trash entry the lookup passed formatted its service's address as hex
    // (Buffer#toString), so n re-adds over a trash of n cost n²/2 conversions (20 000: a minute).
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    const perAdd = async (n: number, base: number): Promise<number> => {
      const ops = (op: 'add-destination' | 'delete-destination'): Operation[] =>
        Array.from({ length: n }, (_, i) => ({ op, service: svc(base + i), destination: dst(base + i) }));
      await ipvs.execute(Array.from({ length: n }, (_, i) => ({ op: 'add-service' as const, service: svc(base + i) })));
      await ipvs.execute(ops('add-destination'));
      await ipvs.execute(ops('delete-destination'));
      const hex = vi.spyOn(Buffer.prototype, 'toString');
      const results = await ipvs.execute(ops('add-destination'));
      const calls = hex.mock.calls.length;
      hex.mockRestore();
      expect(results.every((r) => 'ok' in r && r.ok)).toBe(true);
      return calls / n;
    };
    const small = await perAdd(100, 0);
    const large = await perAdd(1600, 1000); // the trash now holds the first 100 too, and each of these
    expect(large).toBeLessThanOrEqual(small + 1);
  });

  it('revives a destination with its counters, zeroed for a re-created service, and forgets it after 120 s', async () => {
    vi.useFakeTimers({ toFake: ['Date'] }); // only the clock: the fake's replies and the client's timers stay real
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    const web = svc(1);
    const conns = async (): Promise<bigint | undefined> => (await ipvs.destinations(web))[0]?.stats.conns;
    await ipvs.addService(web);
    await ipvs.addDestination(web, dst(1));
    kernel.setStats({ ...web, destination: dst(1).address }, { conns: 7 });
    await ipvs.deleteDestination(web, dst(1));
    vi.advanceTimersByTime(119_000);
    await ipvs.addDestination(web, dst(1));
    expect(await conns()).toBe(7n); // the same object, counters kept

    await ipvs.deleteService(web); // its destinations go to the trash too
    await ipvs.addService(web);
    await ipvs.addDestination(web, dst(1));
    expect(await conns()).toBe(0n); // revived into another service object: zeroed

    kernel.setStats({ ...web, destination: dst(1).address }, { conns: 9 });
    await ipvs.deleteDestination(web, dst(1));
    vi.advanceTimersByTime(60_000);
    await ipvs.addService(svc(2));
    await ipvs.addDestination(svc(2), dst(2));
    kernel.setStats({ ...svc(2), destination: dst(2).address }, { conns: 5 });
    await ipvs.deleteDestination(svc(2), dst(2));
    vi.advanceTimersByTime(60_001);
    await ipvs.addDestination(web, dst(1));
    expect(await conns()).toBe(0n); // deleted more than 120 s ago: a new destination
    await ipvs.addDestination(svc(2), dst(2)); // 60 s: still there, behind the expired entry
    expect((await ipvs.destinations(svc(2)))[0]?.stats.conns).toBe(5n);
  });
});
