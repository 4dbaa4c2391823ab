// A listing asked for while an iterator's listing is still being read (most often from inside that loop:
// `for await (const s of ipvs.iterateServices()) await ipvs.destinations(s)`) waits its turn: the engine reads
// the iterator's listing on to its end into its queue, and the loop goes on from there. Against the fake
// kernel, which answers one part per turn of the event loop, so the loop's listing is never read ahead by
// itself: without the read ahead the listing inside the loop would wait forever (or, as it once did, fail
// with EBUSY).

import { afterEach, describe, expect, it, vi } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { AbortError, DumpInterruptedError, KernelError, TimeoutError, type OperationInput } from '../../src/index.js';
import { FakeKernel } from '../../src/testing/index.js';

const key = (i: number) => ({ protocol: 'tcp' as const, address: '10.0.0.1', port: 1000 + i });
const keyText = (s: { port?: number }): string => String(s.port);

/** `n` services with `dests` destinations each, on a fake kernel cutting its dumps into small parts. */
async function table(n: number, dests: number, timeoutMs = 5000): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel({ dumpBudget: 2000 });
  const ipvs = await Ipvs.open({ transport: kernel.transport(), timeoutMs });
  const ops: OperationInput[] = [];
  for (let i = 0; i < n; i++) {
    ops.push({ op: 'add-service', service: key(i) });
    for (let d = 0; d < dests; d++) ops.push({ op: 'add-destination', service: key(i), destination: { address: `10.1.${d}.${(i % 250) + 1}` } });
  }
  await ipvs.execute(ops);
  return { kernel, ipvs };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('a listing inside an iterator loop', () => {
  it('each service of 2 000 gets its destinations, in a loop over iterateServices()', async () => {
    const { kernel, ipvs } = await table(2000, 2);
    const got = new Map<string, number>();
    const before = kernel.requests.length;
    for await (const s of ipvs.iterateServices()) got.set(keyText(s), (await ipvs.destinations(s)).length);
    expect(got.size).toBe(2000);
    expect(new Set(got.values())).toEqual(new Set([2]));
    // One listing of services and one of destinations per service: nothing refused, nothing sent twice.
    expect(kernel.requests.length - before).toBe(2001);
    await ipvs.close();
  });

  it('iterateDestinations inside iterateServices: the inner stream starts once the outer one is read, and the outer goes on after it', async () => {
    const { ipvs } = await table(300, 2);
    const seen: string[] = [];
    for await (const s of ipvs.iterateServices({ stats: false })) {
      let n = 0;
      for await (const d of ipvs.iterateDestinations(s, { stats: false })) if (d.address.startsWith('10.1.')) n++;
      // A third listing inside the inner loop's end, and one inside a loop that broke early.
      for await (const d of ipvs.iterateDestinations(s)) if (d) break;
      seen.push(`${keyText(s)}:${n}`);
    }
    expect(seen).toHaveLength(300);
    expect(seen.every((t) => t.endsWith(':2'))).toBe(true);
    expect(await ipvs.services()).toHaveLength(300);
    await ipvs.close();
  });

  it('two listings at once inside the loop, and a second one after the first, all go through', async () => {
    const { kernel, ipvs } = await table(200, 1);
    await ipvs.startDaemon({ state: 'master', interface: 'eth0' });
    let n = 0;
    for await (const s of ipvs.iterateServices()) {
      const [dests, daemons] = await Promise.all([ipvs.destinations(s), ipvs.daemons()]);
      const again = await ipvs.destinations(s, { stats: false });
      expect([dests.length, daemons.length, again.length]).toEqual([1, 1, 1]);
      n++;
    }
    expect(n).toBe(200);
    expect(kernel.state().services).toHaveLength(200);
    await ipvs.close();
  });

  it('a listing from outside the loop (another caller) waits for the rest of the iteration too', async () => {
    const { ipvs } = await table(500, 0);
    const it = ipvs.iterateServices()[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    // Asked for by someone else while the loop is paused: read after the iterator's listing, which it reads ahead.
    expect(await ipvs.services({ stats: false })).toHaveLength(500);
    let rest = 0;
    for (let r = await it.next(); !r.done; r = await it.next()) rest++;
    expect(rest).toBe(499);
    await ipvs.close();
  });

  it('breaking out of the loop after its listing was read ahead drops what it holds; the client lists on', async () => {
    const { ipvs } = await table(1000, 1);
    let n = 0;
    for await (const s of ipvs.iterateServices()) {
      expect(await ipvs.destinations(s)).toHaveLength(1);
      if (++n === 3) break;
    }
    expect(n).toBe(3);
    // And while a listing waits behind it: the loop's return() ends it, the waiting one goes on.
    const it = ipvs.iterateServices()[Symbol.asyncIterator]();
    await it.next();
    const waiting = ipvs.destinations(key(7));
    await it.return!();
    expect(await waiting).toHaveLength(1);
    expect(await ipvs.services()).toHaveLength(1000);
    await ipvs.close();
  });

  it('an interrupted listing read ahead hands out its items, then DumpInterruptedError', async () => {
    const { kernel, ipvs } = await table(600, 1);
    kernel.interruptNextDumps(1);
    let n = 0;
    let inner = 0;
    const err = await (async () => {
      for await (const s of ipvs.iterateServices()) {
        if (n++ === 0) inner = (await ipvs.destinations(s)).length;
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DumpInterruptedError);
    expect([n, inner]).toEqual([600, 1]);
    await ipvs.close();
  });

  it('a listing read ahead that the kernel refuses at its end hands out what came, then the error', async () => {
    const { kernel, ipvs } = await table(600, 0);
    // The destinations listing from inside the loop is refused; the loop goes on.
    kernel.failNext(1, 'ENOMEM', 'IPVS_CMD_GET_DEST');
    let n = 0;
    let inner: unknown;
    for await (const s of ipvs.iterateServices()) if (n++ === 0) inner = await ipvs.destinations(s).catch((e: unknown) => e);
    expect(n).toBe(600);
    expect(inner).toMatchObject({ code: 'ENOMEM' });
    await ipvs.close();
  });

  it('an overflow while the listing is read ahead fails the loop with ENOBUFS; the listing waiting behind it goes on', async () => {
    const { kernel, ipvs } = await table(2000, 1);
    kernel.overflowReplies(1, 'IPVS_CMD_NEW_SERVICE');
    let n = 0;
    let inner: unknown;
    const err = await (async () => {
      for await (const s of ipvs.iterateServices()) {
        // A change made meanwhile whose reply is lost to an overflow: every request in flight learns of it.
        if (n++ === 0) [inner] = await Promise.all([ipvs.destinations(s).then((d) => d.length), ipvs.addService(key(5000)).catch((e: unknown) => e)]);
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect(err).toMatchObject({ code: 'ENOBUFS' });
    expect(n).toBe(1);
    expect(inner).toBe(1);
    expect(await ipvs.services()).toHaveLength(2001);
    await ipvs.close();
  });

  it('an abort while the listing is read ahead ends the loop with AbortError; the listing waiting behind it goes on', async () => {
    const { ipvs } = await table(2000, 1);
    const ac = new AbortController();
    let n = 0;
    let inner: unknown;
    const err = await (async () => {
      for await (const s of ipvs.iterateServices({ signal: ac.signal })) {
        if (n++ === 0) {
          const waiting = ipvs.destinations(s);
          ac.abort();
          inner = (await waiting).length;
        }
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect([n, inner]).toEqual([1, 1]);
    expect(await ipvs.services()).toHaveLength(2000);
    await ipvs.close();
  });

  it('its timeout while read ahead: a TimeoutError that blames the kernel, after which the listing waiting behind it goes on', async () => {
    const { ipvs } = await table(2000, 1);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    let n = 0;
    let inner: unknown;
    const err = await (async () => {
      for await (const s of ipvs.iterateServices({ timeoutMs: 1000 })) {
        if (n++ === 0) {
          const waiting = ipvs.destinations(s);
          // The fake kernel still sends parts (one per turn of the event loop): the time runs out meanwhile.
          vi.advanceTimersByTime(1500);
          inner = (await waiting).length;
        }
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe('list services: no answer from the kernel within 1000 ms');
    expect([n, inner]).toEqual([1, 1]);
    vi.useRealTimers();
    expect(await ipvs.services()).toHaveLength(2000);
    await ipvs.close();
  });

  it('once read to its end, the loop has no timeout left to run out', async () => {
    const { ipvs } = await table(300, 0, 200);
    let n = 0;
    for await (const s of ipvs.iterateServices({ timeoutMs: 200 })) {
      if (n++ === 0) expect(await ipvs.destinations(s)).toEqual([]);
      if (n === 2) await new Promise((r) => setTimeout(r, 300));
    }
    expect(n).toBe(300);
    await ipvs.close();
  });
});
