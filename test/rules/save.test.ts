// iterateRules: the streamed save equals formatRules of the whole table, in chunks, and a failed read
// ends it after the text read so far.
import { describe, expect, it } from 'vitest';
import { Ipvs, formatRules, iterateRules, type RulesSource } from '../../src/index.js';
import { FakeKernel } from '../../src/testing/index.js';

async function table(n: number): Promise<Ipvs> {
  const ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
  const ops = [];
  for (let i = n - 1; i >= 0; i--) {
    const key = { protocol: 'tcp', address: `10.1.0.${i}`, port: 80 + (i % 3) } as const;
    ops.push({ op: 'add-service', service: { ...key, scheduler: 'rr', persistence: i % 2 ? { timeout: 60 } : false } } as const);
    for (let j = 3; j > 0; j--) ops.push({ op: 'add-destination', service: key, destination: { address: `10.2.${i}.${j}`, port: 8080, weight: j } } as const);
  }
  ops.push({ op: 'add-service', service: { fwmark: 7, family: 'ipv6', scheduler: 'sh', flags: ['sh-port'] } } as const);
  ops.push({ op: 'add-destination', service: { fwmark: 7, family: 'ipv6' }, destination: { address: '2001:db8::7', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } } } as const);
  await ipvs.execute(ops);
  return ipvs;
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of it) out.push(chunk);
  return out;
}

describe('iterateRules', () => {
  it('joined, equals formatRules of the whole table; sorted as ipvsadm, or the kernel order with noSort', async () => {
    await using ipvs = await table(40);
    const whole = [];
    for (const s of await ipvs.services()) whole.push({ ...s, destinations: await ipvs.destinations(s) });
    for (const numeric of [true, false]) {
      const chunks = await collect(iterateRules(ipvs, { numeric, chunkSize: 500 }));
      expect(chunks.length).toBeGreaterThan(3);
      expect(chunks.join('')).toBe(formatRules(whole, { numeric }));
    }
    const unsorted = (await collect(iterateRules(ipvs, { numeric: true, noSort: true }))).join('');
    expect(unsorted.split('\n').sort()).toEqual(formatRules(whole, { numeric: true }).split('\n').sort());
    expect(unsorted).not.toBe(formatRules(whole, { numeric: true }));
  });

  it('an empty table yields nothing', async () => {
    await using ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
    expect(await collect(iterateRules(ipvs, { numeric: true }))).toEqual([]);
  });

  it('a failed read: the text of the services before it, then the error', async () => {
    await using ipvs = await table(3);
    let reads = 0;
    const source: RulesSource = {
      services: () => ipvs.services(),
      destinations: (key) => (++reads === 3 ? Promise.reject(new Error('gone')) : ipvs.destinations(key)),
    };
    const got: string[] = [];
    await expect(async () => {
      for await (const chunk of iterateRules(source, { numeric: true })) got.push(chunk);
    }).rejects.toThrow('gone');
    expect(got.join('').split('\n').filter((l) => l.startsWith('-A'))).toHaveLength(2);
  });
});
