// A client with a receive buffer at the kernel's minimum (receiveBufferSize 4 KiB, 8 KiB in the kernel) on the
// real kernel, overflowed on purpose: a window of refused requests whose errors do not fit. After it the client
// must be clean: the window fails with the typed ENOBUFS, nothing more of that execute() is sent, the replies
// still queued are dropped, and the next requests and listings get their answers (they used to fail with
// ENOBUFS round after round, and a listing behind the queued replies never got its part). Each case runs in a
// network namespace of its own. Run inside the real-kernel sandbox only (IPVS_KERNEL=1):
// `node scripts/sandbox.mjs --kernel-suite -- test/kernel/overflow.kernel.test.ts`.

import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ipvs, KernelError, type Operation, type OperationResult } from '../../src/index.js';

const onKernel = process.env.IPVS_KERNEL === '1';

const service = (i: number) => ({ protocol: 'tcp' as const, address: `10.9.${i >> 8}.${i & 255}`, port: 80 });
/** Deleting services that do not exist: each refused with its own error message, which is what overflows. */
const missing = (n: number): Operation[] => Array.from({ length: n }, (_, i) => ({ op: 'delete-service' as const, service: { ...service(i), port: 81 } }));
const adds = (from: number, n: number): Operation[] => Array.from({ length: n }, (_, i) => ({ op: 'add-service' as const, service: { ...service(from + i), scheduler: 'rr' as const } }));
/**
 * Each request's timeout here. The clean-up checks bound the time the next requests take by it: a client that only
 * went on once a request had waited out its timeout fails them, while a loaded host, which can hold the guest off
 * the CPU for seconds, does not (they used tighter bounds, 2 to 5 s, as if that time were what they test).
 */
const TIMEOUT_MS = 10_000;
const isOverflow = (r: OperationResult | undefined): boolean => r !== undefined && 'ok' in r && !r.ok && r.error instanceof KernelError && r.error.code === 'ENOBUFS';

describe.skipIf(!onKernel)('a receive-buffer overflow at the minimum buffer (real kernel)', () => {
  let ns = '';
  beforeEach(() => {
    ns = `ovf-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
    execFileSync('ip', ['netns', 'add', ns]);
  });
  afterEach(() => {
    execFileSync('ip', ['netns', 'del', ns]);
  });

  it('the overflowing window fails with ENOBUFS, the rest of the execute() is not sent, and the client goes on', async () => {
    await using ipvs = await Ipvs.open({ netns: ns, receiveBufferSize: 4096, timeoutMs: TIMEOUT_MS });
    expect(ipvs.socketFeatures?.dropDetection).toBe(true);
    const results = await ipvs.execute([...missing(300), ...adds(0, 20)], { window: 300 });
    expect(results.slice(0, 300).some(isOverflow)).toBe(true);
    expect(results.slice(0, 300).every((r) => isOverflow(r) || ('ok' in r && !r.ok && (r.error as KernelError).code === 'ESRCH'))).toBe(true);
    // Not sent: a window after an overflow would lose its answers too.
    expect(results.slice(300)).toEqual(new Array(20).fill({ skipped: true }));
    const started = Date.now();
    expect(await ipvs.services({ stats: false })).toEqual([]);
    expect((await ipvs.info()).version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
  });

  it('a listing started right after an overflow, behind the replies still queued, gets its whole answer; round after round', async () => {
    await using ipvs = await Ipvs.open({ netns: ns, receiveBufferSize: 4096, timeoutMs: TIMEOUT_MS });
    expect((await ipvs.execute(adds(0, 400))).every((r) => 'ok' in r && r.ok)).toBe(true);
    for (let round = 0; round < 3; round++) {
      const results = await ipvs.execute(missing(300), { window: 300 });
      expect(results.some(isOverflow)).toBe(true);
      const started = Date.now();
      // Before: ENOBUFS for the listing and for every request after it.
      expect(await ipvs.services({ stats: false })).toHaveLength(400);
      expect(await ipvs.destinations(service(7))).toEqual([]);
      expect((await ipvs.info()).version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
    }
  });

  it('listings and requests at once on the minimum buffer: each answered or failed with the typed error, never hung, and the process survives', async () => {
    // A listing's part does not fit beside other replies in 8 KiB: the kernel pauses the dump and sets the
    // socket's error, which the netlink package's poll used to take for a broken socket (the process aborted).
    await using ipvs = await Ipvs.open({ netns: ns, receiveBufferSize: 4096, timeoutMs: TIMEOUT_MS });
    expect((await ipvs.execute(adds(0, 400))).every((r) => 'ok' in r && r.ok)).toBe(true);
    for (let round = 0; round < 3; round++) {
      const started = Date.now();
      const settled = await Promise.allSettled([
        ipvs.services({ stats: false }),
        ...Array.from({ length: 20 }, () => ipvs.info()),
        ipvs.services({ stats: false }),
      ]);
      for (const s of settled) {
        if (s.status === 'rejected') expect(s.reason).toMatchObject({ name: 'KernelError', code: 'ENOBUFS' });
        else if (Array.isArray(s.value)) expect(s.value).toHaveLength(400);
      }
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
      await new Promise((resolve) => setTimeout(resolve, 20)); // the poll runs with nothing waiting
      expect(await ipvs.services({ stats: false })).toHaveLength(400);
    }
  });

  it('requests made inside the loop of an iterated listing on the minimum buffer: all settle, typed, and the listing ends', async () => {
    // The listing is paused by the kernel while the answers of the requests share the queue, and the event
    // loop turns between its parts: the netlink package's own poll, reading by peeking first, then retried
    // the paused dump forever (a storm of ENOBUFS, the listing never ended).
    await using ipvs = await Ipvs.open({ netns: ns, receiveBufferSize: 4096, timeoutMs: TIMEOUT_MS });
    expect((await ipvs.execute(adds(0, 400))).every((r) => 'ok' in r && r.ok)).toBe(true);
    for (let round = 0; round < 3; round++) {
      const started = Date.now();
      let seen = 0;
      // Settled as they are made: a request failing while the loop still runs is not an unhandled rejection.
      const inside: Promise<PromiseSettledResult<unknown>>[] = [];
      const settle = (p: Promise<unknown>): Promise<PromiseSettledResult<unknown>> =>
        p.then((value) => ({ status: 'fulfilled' as const, value }), (reason: unknown) => ({ status: 'rejected' as const, reason }));
      const listed = await settle((async () => {
        for await (const s of ipvs.iterateServices({ stats: false })) {
          void s;
          if (seen++ % 50 === 0) inside.push(...Array.from({ length: 10 }, () => settle(ipvs.info())));
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      })());
      for (const r of [listed, ...(await Promise.all(inside))]) {
        if (r.status === 'rejected') expect(r.reason).toMatchObject({ name: 'KernelError', code: 'ENOBUFS' });
      }
      if (listed.status === 'fulfilled') expect(seen).toBe(400);
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
      expect(await ipvs.services({ stats: false })).toHaveLength(400);
    }
  });

  it('a burst of calls made without awaiting, far more than the buffer holds answers for: every call answered, none lost to an overflow', async () => {
    // Sent one after another in one synchronous loop, their answers are read as they come until the engine's work
    // makes a turn of the event loop due; the answers then waited unread, the buffer overflowed, and every call of
    // the burst failed with ENOBUFS (outcome unknown), although the kernel had carried each one out. Now at most
    // receiveBufferSize / 1024 wait for their answers; the rest wait, in order, for room.
    await using ipvs = await Ipvs.open({ netns: ns, receiveBufferSize: 4096, timeoutMs: TIMEOUT_MS });
    const calls = Array.from({ length: 3000 }, (_, i) => ipvs.addService({ ...service(i), scheduler: 'rr' }).then(() => 'ok', (e: KernelError) => e.code));
    calls.push(ipvs.addService({ ...service(7), scheduler: 'rr' }).then(() => 'ok', (e: KernelError) => e.code));
    const results = await Promise.all(calls);
    expect(results.slice(0, 3000).filter((r) => r !== 'ok')).toEqual([]);
    expect(results[3000]).toBe('EEXIST');
    expect(await ipvs.services({ stats: false })).toHaveLength(3000);
  });
});
