// Bulk work lets the event loop turn. Over a socket that answers inside the send, as the kernel's does
// (SyncFakeSocket), execute() windows, table reads and loops of awaited requests never wait for an event:
// without the engine's turns a 20 000-operation job starves timers, other I/O and abort signals from start to
// end. The turns are taken between steps (windows, dumps, requests), where nothing of the job waits in the
// socket, so the socket's poll (modelled: `poll`) finds nothing to read during them. The clock is the test's
// own (performance.now advanced by the messages the kernel handles and the engine reads), so what is asserted
// is an order and counts, never a duration: turns are counted with a chain of setImmediate, and an abort
// comes from one of them.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { FakeKernel } from '../../src/testing/index.js';
import type { Operation } from '../../src/ipvs/operations.js';
import { SyncFakeSocket } from '../helpers/sync-fake-socket.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Milliseconds of the test's clock per netlink message handled or read. */
const MS_PER_MESSAGE = 0.02;

async function setup(): Promise<{ kernel: FakeKernel; socket: SyncFakeSocket; ipvs: Ipvs }> {
  const kernel = new FakeKernel();
  const socket = new SyncFakeSocket(kernel, 1 << 20, true);
  const ipvs = await Ipvs.open({ transport: socket, timeoutMs: 0 });
  let now = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => now);
  socket.onMessages = (n) => {
    now += n * MS_PER_MESSAGE;
  };
  return { kernel, socket, ipvs };
}

/** Counts turns of the event loop (check phases) until stopped; `each` runs on every one. */
function turns(each?: (n: number) => void): { count: () => number; stop: () => void } {
  let count = 0;
  let on = true;
  const tick = (): void => {
    if (!on) return;
    count++;
    each?.(count);
    setImmediate(tick);
  };
  setImmediate(tick);
  return { count: () => count, stop: () => (on = false) };
}

const adds = (n: number, port = 80): Array<Extract<Operation, { op: 'add-service' }>> =>
  Array.from({ length: n }, (_, i) => ({ op: 'add-service', service: { protocol: 'tcp', address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, port } }) as const);

/** `n` services with one destination each. */
async function table(n: number): Promise<{ ipvs: Ipvs; socket: SyncFakeSocket }> {
  const { ipvs, socket } = await setup();
  const services = adds(n);
  await ipvs.execute([...services, ...services.map((s) => ({ op: 'add-destination', service: s.service, destination: { address: '192.168.1.9' } }) as const)]);
  return { ipvs, socket };
}

describe('bulk work over a socket that answers inside the send', () => {
  it('execute() of 20 000 operations lets the event loop turn between its windows', async () => {
    const { kernel, socket, ipvs } = await setup();
    const sent = socket.calls.send;
    const loop = turns();
    const results = await ipvs.execute(adds(20_000));
    loop.stop();
    expect(results.every((r) => 'ok' in r && r.ok)).toBe(true);
    expect(kernel.state().services).toHaveLength(20_000);
    // 20 windows of 1 024 requests, each one datagram answered by one ACK, read at once.
    expect(socket.calls.send - sent).toBe(20);
    expect(loop.count()).toBeGreaterThanOrEqual(5);
    expect(socket.polled).toBe(0);
    await ipvs.close();
  });

  it('an abort during such a turn skips the windows not yet sent; the windows sent were answered whole', async () => {
    const { kernel, ipvs } = await setup();
    const controller = new AbortController();
    const loop = turns((n) => {
      if (n === 1) controller.abort();
    });
    const results = await ipvs.execute(adds(20_000), { signal: controller.signal });
    loop.stop();
    const ok = results.filter((r) => 'ok' in r && r.ok).length;
    const skipped = results.filter((r) => 'skipped' in r).length;
    expect(ok + skipped).toBe(20_000);
    expect(ok).toBeGreaterThan(0);
    expect(ok % 1024).toBe(0);
    expect(skipped).toBeGreaterThan(0);
    expect(results.slice(ok).every((r) => 'skipped' in r)).toBe(true);
    expect(kernel.state().services).toHaveLength(ok);
    await ipvs.close();
  });

  it('execute() of 20 000 operations given as an array lets it turn while validating them, before anything is sent', async () => {
    const { kernel, socket, ipvs } = await setup();
    // Validation reads no message: here every look at the clock finds 5 ms gone.
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => (now += 5));
    let turnsAtFirstSend: number | undefined;
    socket.onMessages = () => {
      turnsAtFirstSend ??= loop.count();
    };
    const loop = turns();
    const results = await ipvs.execute(adds(20_000));
    loop.stop();
    expect(results.every((r) => 'ok' in r && r.ok)).toBe(true);
    expect(kernel.state().services).toHaveLength(20_000);
    expect(turnsAtFirstSend).toBeGreaterThanOrEqual(3);
    await ipvs.close();
  });

  it('an abort during a turn of that validation sends nothing and returns every operation skipped', async () => {
    const { kernel, socket, ipvs } = await setup();
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => (now += 5));
    const sent = socket.calls.send + socket.calls.exchange;
    const controller = new AbortController();
    const loop = turns((n) => {
      if (n === 1) controller.abort();
    });
    const results = await ipvs.execute(adds(20_000), { signal: controller.signal });
    loop.stop();
    expect(results).toHaveLength(20_000);
    expect(results.every((r) => 'skipped' in r && r.skipped)).toBe(true);
    expect(socket.calls.send + socket.calls.exchange).toBe(sent);
    expect(kernel.state().services).toHaveLength(0);
    await ipvs.close();
  });

  it('a table read by destinationsOfEach lets it turn between dumps, each dump still read whole through the exchange', async () => {
    const { ipvs, socket } = await table(800);
    const services = await ipvs.services({ stats: false });
    const { send, exchange } = socket.calls;
    const loop = turns();
    let pairs = 0;
    for await (const run of ipvs.destinationsOfEach(services, { stats: false })) for (const p of run) pairs += p.destinations.length;
    loop.stop();
    expect(pairs).toBe(800);
    expect(loop.count()).toBeGreaterThanOrEqual(1);
    // A dump due to wait for a turn is sent after it, through the exchange, not before it the slow way.
    expect(socket.calls.send).toBe(send);
    expect(socket.calls.exchange).toBe(exchange + 800);
    expect(socket.polled).toBe(0);
    await ipvs.close();
  });

  it('an abort during a turn of a table read ends it with AbortError after the runs read; the client goes on', async () => {
    const { ipvs } = await table(800);
    const services = await ipvs.services({ stats: false });
    const controller = new AbortController();
    // The first turn may come before the first run (one can be due when the read starts): the second.
    const loop = turns((n) => {
      if (n === 2) controller.abort();
    });
    let pairs = 0;
    const err = await (async () => {
      for await (const run of ipvs.destinationsOfEach(services, { stats: false, signal: controller.signal, runLength: 16 })) pairs += run.length;
    })().catch((e: unknown) => e);
    loop.stop();
    expect(err).toMatchObject({ name: 'AbortError' });
    expect(pairs).toBeGreaterThan(0);
    expect(pairs).toBeLessThan(800);
    expect(await ipvs.services({ stats: false })).toHaveLength(800);
    await ipvs.close();
  });

  it('a listing waiting for such a turn settles at once when aborted, is never sent, and the listings around it go on', async () => {
    const { ipvs, socket } = await table(2000);
    // Read synchronously (the exchange answers inside the send): 2 000 services take 40 ms of the test's
    // clock without a turn, so the listings started next each wait for one before they are sent.
    const warm = ipvs.services({ stats: false });
    const exchanges = socket.calls.exchange;
    const settled: string[] = [];
    const controller = new AbortController();
    const first = ipvs.services({ stats: false }).finally(() => settled.push('first'));
    const queued = ipvs
      .destinations({ protocol: 'tcp', address: '10.0.0.1', port: 80 }, { signal: controller.signal })
      .catch((e: unknown) => e)
      .finally(() => settled.push('queued'));
    const behind = ipvs.services({ stats: false });
    controller.abort();
    expect(await queued).toMatchObject({ name: 'AbortError' });
    expect(settled).toEqual(['queued']);
    expect((await first).length).toBe(2000);
    expect((await behind).length).toBe(2000);
    expect((await warm).length).toBe(2000);
    expect(socket.calls.exchange - exchanges).toBe(2);
    expect(await ipvs.destinations({ protocol: 'tcp', address: '10.0.0.1', port: 80 })).toHaveLength(1);
    await ipvs.close();
  });

  it('a loop of awaited requests lets it turn', async () => {
    const { ipvs, socket } = await setup();
    const loop = turns();
    for (let i = 0; i < 1500; i++) await ipvs.addService({ protocol: 'udp', address: '10.9.0.1', port: 1000 + i });
    loop.stop();
    expect(loop.count()).toBeGreaterThanOrEqual(1);
    expect(socket.polled).toBeLessThanOrEqual(loop.count());
    await ipvs.close();
  });

  it('a short job reads no clock and schedules nothing', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: new SyncFakeSocket(kernel), timeoutMs: 0 });
    const clock = vi.spyOn(performance, 'now');
    const immediates = vi.spyOn(globalThis, 'setImmediate');
    await ipvs.execute(adds(100));
    expect(await ipvs.services({ stats: false })).toHaveLength(100);
    expect(await ipvs.destinations({ protocol: 'tcp', address: '10.0.0.1', port: 80 })).toEqual([]);
    expect(clock).not.toHaveBeenCalled();
    expect(immediates).not.toHaveBeenCalled();
    await ipvs.close();
  });
});
