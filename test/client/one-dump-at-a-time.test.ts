// The kernel runs one dump per netlink socket and refuses another (EBUSY) until the first one's end has
// been read. The client takes turns instead: a listing started while another is read waits for it, the
// rest of a listing whose reader stopped early is read and dropped first, and a listing started while an
// iterator's loop is still running (possibly from inside that loop) has that loop's listing read ahead to its
// end first (listing-inside-a-loop.test.ts has the details). Against the fake kernel, whose dumps come in parts.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { FakeKernel } from '../../src/testing/index.js';

const WEB = { protocol: 'tcp', address: '10.0.0.1', port: 1000 } as const;

async function fifty(): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel({ dumpBudget: 400 });
  const ipvs = await Ipvs.open({ transport: kernel.transport(), timeoutMs: 2000 });
  const ops = Array.from({ length: 50 }, (_, i) => ({ op: 'add-service' as const, service: { ...WEB, port: 1000 + i } }));
  ops.push({ op: 'add-destination', service: WEB, destination: { address: '10.0.1.1' } } as never);
  await ipvs.execute(ops);
  return { kernel, ipvs };
}

describe('one dump at a time on a client', () => {
  it('a listing right after breaking out of an iteration waits for the rest of that dump, not refused', async () => {
    const { ipvs } = await fifty();
    let n = 0;
    for await (const s of ipvs.iterateServices()) if (++n === 2 || !s) break;
    expect(await ipvs.services()).toHaveLength(50);
    for await (const s of ipvs.iterateDestinations(WEB)) if (s) break;
    expect(await ipvs.destinations(WEB)).toHaveLength(1);
    await ipvs.close();
  });

  it('listings from several callers at once take turns', async () => {
    const { kernel, ipvs } = await fifty();
    const [a, b, c] = await Promise.all([ipvs.services(), ipvs.services({ stats: false }), ipvs.destinations(WEB)]);
    expect([a.length, b.length, c.length]).toEqual([50, 50, 1]);
    // Each was sent only once the one before it had ended.
    expect(kernel.requests.filter((r) => r.startsWith('IPVS_CMD_GET'))).toHaveLength(3);
    await ipvs.close();
  });

  it('daemons() is a collected listing: next to other listings, in either order and twice at once, it takes its turn', async () => {
    const { kernel, ipvs } = await fifty();
    await ipvs.startDaemon({ state: 'master', interface: 'eth0' });
    const count = (lists: unknown[][]): number[] => lists.map((l) => l.length);
    expect(count(await Promise.all([ipvs.daemons(), ipvs.services()]))).toEqual([1, 50]);
    expect(count(await Promise.all([ipvs.services(), ipvs.daemons()]))).toEqual([50, 1]);
    expect(count(await Promise.all([ipvs.daemons(), ipvs.daemons(), ipvs.destinations(WEB)]))).toEqual([1, 1, 1]);
    // stopDaemon reads the daemons back when the kernel did not answer: here it did, and a listing next to it waits.
    const [, services] = await Promise.all([ipvs.stopDaemon('master'), ipvs.services()]);
    expect(services).toHaveLength(50);
    expect(kernel.state().daemons).toEqual([]);
    await ipvs.close();
  });

  it('exportState() takes its turn: two at once, and one next to daemons()', async () => {
    const { ipvs } = await fifty();
    const [a, b] = await Promise.all([ipvs.exportState(), ipvs.exportState()]);
    expect(a.services).toHaveLength(50);
    expect(b).toEqual(a);
    const [c, daemons] = await Promise.all([ipvs.exportState(), ipvs.daemons()]);
    expect([c, daemons]).toEqual([a, []]);
    const [d2, c2] = await Promise.all([ipvs.daemons(), ipvs.exportState()]);
    expect([c2, d2]).toEqual([a, []]);
    await ipvs.close();
  });

  it('plan, apply and exportState read the table in runs with daemons() polled meanwhile: neither is refused', async () => {
    const kernel = new FakeKernel({ dumpBudget: 400 });
    const ipvs = await Ipvs.open({ transport: kernel.transport(), timeoutMs: 5000 });
    const key = (i: number) => ({ ...WEB, port: 2000 + i });
    await ipvs.execute(Array.from({ length: 600 }, (_, i) => ({ op: 'add-service' as const, service: key(i) })));
    const desired = { services: Array.from({ length: 600 }, (_, i) => ({ ...key(i), destinations: [{ address: '10.0.1.7' }] })) };
    const jobs: Array<[string, () => Promise<unknown>]> = [['plan', () => ipvs.plan(desired)], ['apply', () => ipvs.apply(desired)], ['exportState', () => ipvs.exportState()]];
    for (const [name, job] of jobs) {
      let done = false;
      const read = job().finally(() => {
        done = true;
      });
      const polls: unknown[] = [];
      // A status endpoint asking for the daemons while the table is read (a poll between two runs of it).
      while (!done) {
        polls.push(await ipvs.daemons().then((d) => d.length, (e: unknown) => e));
        await new Promise((r) => setImmediate(r));
      }
      expect(await read.then(() => name, (e: unknown) => e)).toBe(name);
      expect(polls.length).toBeGreaterThan(1);
      expect(new Set(polls)).toEqual(new Set([0]));
    }
    expect(kernel.state().services.every((s) => s.destinations.length === 1)).toBe(true);
    await ipvs.close();
  });

  it('a listing started while an iterator is read waits for that listing, read ahead; the iteration goes on', async () => {
    const { kernel, ipvs } = await fifty();
    let seen = 0;
    let nested: unknown;
    const before = kernel.requests.length;
    for await (const s of ipvs.iterateServices()) {
      if (seen++ === 0) nested = await ipvs.destinations(s).then((d) => d.map((x) => x.address), (e: unknown) => e);
    }
    expect(seen).toBe(50);
    expect(nested).toEqual(['10.0.1.1']); // the first service listed is WEB
    expect(kernel.requests.length - before).toBe(2);
    expect(await ipvs.destinations(WEB)).toHaveLength(1);
    await ipvs.close();
  });
});
