// The fake kernel with thousands of destinations in one service. Every change of a destination walks the
// service's list, as ip_vs_lookup_dest() does in Linux; the fake made two hex strings of each destination
// walked, which took 20 000 destinations of one service over two minutes to add (and as long again to
// edit), where comparing the bytes makes the walk a small part of a request's cost. Measured as a ratio of
// CPU times in one process (the same changes to a service of few destinations and to one of many), so
// neither the machine's speed nor a busy host decides.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import type { Operation } from '../../src/ipvs/operations.js';
import { FakeKernel } from '../../src/testing/index.js';

const BIG = 5000;
const CHANGED = 500;
const small = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
const big = { protocol: 'tcp', address: '192.168.1.111', port: 80 } as const;
const destination = (i: number, weight: number) => ({ address: `10.1.${i >> 8}.${i & 255}`, port: 80, forwarding: 'masq', weight }) as const;
const each = (service: typeof small | typeof big, op: Operation['op'], count: number, weight: number): Operation[] =>
  Array.from({ length: count }, (_, i) => ({ op, service, destination: destination(i, weight) }) as Operation);

describe('the fake kernel with many destinations in one service', () => {
  it('changes a destination of a long list at about the cost of one in a short list', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const run = async (ops: Operation[]): Promise<number> => {
      const before = process.cpuUsage();
      const results = await ipvs.execute(ops);
      const used = process.cpuUsage(before);
      expect(results.every((r) => 'ok' in r && r.ok)).toBe(true);
      return (used.user + used.system) / 1000;
    };
    for (const service of [small, big]) await ipvs.addService({ ...service, scheduler: 'rr' });
    await run(each(small, 'add-destination', CHANGED, 1));
    await run(each(big, 'add-destination', BIG, 1));
    // The first destinations added are the last of the list (newest first): each edit walks all of it.
    let shortList = Infinity;
    let longList = Infinity;
    for (let round = 1; round <= 2; round++) {
      shortList = Math.min(shortList, await run(each(small, 'update-destination', CHANGED, round + 1)));
      longList = Math.min(longList, await run(each(big, 'update-destination', CHANGED, round + 1)));
    }
    expect(kernel.state().services.map((s) => s.destinations.filter((d) => d.weight === 3).length)).toEqual([CHANGED, CHANGED]);
    expect(longList).toBeLessThan(4 * shortList);
    await ipvs.close();
  });
});
