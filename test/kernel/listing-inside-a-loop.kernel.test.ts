// A listing inside the loop of an iterated one, on the real kernel: `for await (const s of ipvs.iterateServices())
// await ipvs.destinations(s)` over a table big enough that the loop's listing is still being read when the body first
// runs (5 000 services in the User-Mode Linux guest, where the first listing inside the loop used to fail with EBUSY).
// The engine reads the loop's listing ahead to its end, then the listing inside goes; every service gets its
// destinations. Through the socket's synchronous reads (libc), also at the kernel's smallest receive buffer (the dump
// paused for room at almost every read). Without libc (without-libc.kernel.test.ts loops so too, over 400 services)
// the socket reads a running listing ahead by itself, and the refusal did not show there. IPVS_LOOP_SERVICES sets
// the table's size (default 5000). Run inside the real-kernel sandbox only (IPVS_KERNEL=1):
// `node scripts/sandbox.mjs --kernel-suite -- test/kernel/listing-inside-a-loop.kernel.test.ts`.

import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ipvs, type OperationInput } from '../../src/index.js';
import { createNamespace, SUITE_NETWORK } from './netns.js';

const onKernel = process.env.IPVS_KERNEL === '1';
const SERVICES = Number(process.env.IPVS_LOOP_SERVICES ?? 5000);

const service = (i: number) => ({ protocol: 'tcp' as const, address: `10.9.${i >> 8}.${i & 255}`, port: 80 });

/**
 * Loops over the services, listing each one's destinations inside the loop; every 500th also iterated, and listed
 * beside daemons(). The whole listing is read ahead at the first listing inside the loop. The count of services by
 * their number of destinations (-1: the listings of one service disagreed).
 */
async function loop(ipvs: Ipvs): Promise<{ seen: number; counts: Record<number, number> }> {
  let seen = 0;
  const counts: Record<number, number> = {};
  for await (const s of ipvs.iterateServices({ stats: false })) {
    let n = (await ipvs.destinations(s, { stats: false })).length;
    if (seen++ % 500 === 0) {
      let inner = 0;
      for await (const d of ipvs.iterateDestinations(s)) if (d.address === '192.168.1.7') inner++;
      const [again, daemons] = await Promise.all([ipvs.destinations(s), ipvs.daemons()]);
      if (inner !== n || again.length !== n || daemons.length !== 0) n = -1;
    }
    counts[n] = (counts[n] ?? 0) + 1;
  }
  return { seen, counts };
}

describe.skipIf(!onKernel)('a listing inside the loop of an iterated listing (real kernel)', () => {
  const ns = `loop-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  beforeAll(async () => {
    createNamespace(ns, SUITE_NETWORK);
    await using ipvs = await Ipvs.open({ netns: ns });
    const ops: OperationInput[] = [];
    for (let i = 0; i < SERVICES; i++) {
      ops.push({ op: 'add-service', service: service(i) });
      ops.push({ op: 'add-destination', service: service(i), destination: { address: '192.168.1.7' } });
    }
    expect((await ipvs.execute(ops)).every((r) => 'ok' in r && r.ok)).toBe(true);
  });
  afterAll(() => {
    execFileSync('ip', ['netns', 'del', ns]);
  });

  it(`each of ${SERVICES} services gets its destinations inside the loop, none refused`, async () => {
    await using ipvs = await Ipvs.open({ netns: ns });
    const started = performance.now();
    expect(await loop(ipvs)).toEqual({ seen: SERVICES, counts: { 1: SERVICES } });
    console.log(`loop over ${SERVICES} services: ${Math.round(performance.now() - started)} ms`);
    expect(await ipvs.services({ stats: false })).toHaveLength(SERVICES);
  });

  it('the same at the smallest receive buffer, the loop listing paused for room as it is read ahead', async () => {
    await using ipvs = await Ipvs.open({ netns: ns, receiveBufferSize: 4096 });
    const started = performance.now();
    expect(await loop(ipvs)).toEqual({ seen: SERVICES, counts: { 1: SERVICES } });
    console.log(`loop over ${SERVICES} services, 4 KiB buffer: ${Math.round(performance.now() - started)} ms`);
  });
});
