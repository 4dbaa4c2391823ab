// One client opened once and used for months: 100 000 requests, across the wrap of the 32-bit sequence
// numbers, with one long-lived signal (a program's shutdown signal), listings read whole, stopped early or
// timed out, refusals, and ip_vs reloaded now and then. Whatever the client keeps per request (pending
// entries, timers, listeners on the caller's signal, the family it talks to) must be gone or the same at the end.
// The wrap again on a socket answering as the kernel socket does (SyncFakeSocket): the synchronous paths
// (a listing read whole inside its send, replies read without an event-loop turn, one ACK per datagram)
// match answers by sequence number too, on numbers above 2^31 and then on small ones. And listings a program
// leaves unfinished (a generator kept after its first item, never resumed nor returned): each is read to its end
// when the next listing needs the socket, and nothing of them stays with the client.

import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { FakeKernel } from '../../src/testing/index.js';
import { SyncFakeSocket } from '../helpers/sync-fake-socket.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Engine {
  seq: number;
  inFlight: number;
  currentDump: unknown;
  dumpQueue: { size: number };
}

const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;

function heapMb(): number {
  gc();
  return process.memoryUsage().heapUsed / 1e6;
}

describe('a client used for months', () => {
  it('100 000 requests across the sequence-number wrap: nothing kept per request', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const engine = (ipvs as unknown as { conn: Engine }).conn;
    // About half-way through, the sequence number passes 2^32 - 1 and goes on from 1.
    engine.seq = 0xffffffff - 50_000;
    const shutdown = new AbortController();
    const signal = shutdown.signal;
    await ipvs.addService({ ...svc, scheduler: 'rr' });
    // A pool of 20 addresses: the kernel keeps deleted destinations in its trash for minutes, so new ones every
    // round would grow the (fake) kernel, not the client.
    const pool = Array.from({ length: 20 }, (_, i) => ({ address: `10.1.0.${i + 1}`, port: 80 }));
    const check = (ok: boolean, what: string): void => {
      if (!ok) throw new Error(what);
    };
    let requests = 0;
    let heapAtStart = 0;
    let wrapped = false;
    for (let round = 0; requests < 100_000; round++) {
      // Pipelined changes (execute), each request matched by its own seq.
      const added = await ipvs.execute(pool.map((d) => ({ op: 'add-destination' as const, service: svc, destination: { ...d, weight: 1 } })), { signal });
      check(added.every((r) => 'ok' in r && r.ok), `round ${round}: adds failed`);
      const deleted = await ipvs.execute(pool.slice(1).map((d) => ({ op: 'delete-destination' as const, service: svc, destination: d })), { signal });
      check(deleted.every((r) => 'ok' in r && r.ok), `round ${round}: deletes failed`);
      // Single calls: a refusal (EEXIST), a read, a delete with its own timeout.
      const dest = pool[0]!;
      const refused = await ipvs.addDestination(svc, dest, { signal }).then(() => undefined, (err: { code?: string }) => err.code);
      check(refused === 'EEXIST', `round ${round}: ${refused}`);
      check((await ipvs.destinations(svc, { signal })).length === 1, `round ${round}: listing`);
      await ipvs.deleteDestination(svc, dest, { signal, timeoutMs: 5_000 });
      requests += 2 * pool.length + 2;
      if (round % 10 === 0) {
        // A listing stopped early: the rest is read and dropped, and the next listing is not refused.
        for await (const s of ipvs.iterateServices({ signal })) {
          check(s.port === 80, 'service');
          break;
        }
        requests++;
      }
      if (round % 500 === 499) {
        // ip_vs unloaded and loaded again: the client follows the family to its new id.
        kernel.reloadIpvs();
        await ipvs.addService({ ...svc, scheduler: 'rr' });
        requests += 3;
      }
      if (engine.seq < 0x10000) wrapped = true;
      kernel.requests.length = 0;
      if (round === 200) heapAtStart = heapMb();
    }
    expect(wrapped).toBe(true);
    expect(engine.inFlight).toBe(0);
    expect(engine.currentDump).toBeUndefined();
    expect(engine.dumpQueue.size).toBe(0);
    expect(getEventListeners(signal, 'abort')).toEqual([]);
    // Generous: what matters is that it does not grow with the number of requests (tens of MB if it did).
    expect(heapMb() - heapAtStart).toBeLessThan(5);
    await ipvs.close();
  }, 60_000);
});

describe('the sequence-number wrap on a socket answering as the kernel socket does', () => {
  it('listings read inside their send, pipelined changes with one ACK per datagram, a late answer: all matched across the wrap', async () => {
    const kernel = new FakeKernel({ dumpBudget: 1024 });
    const socket = new SyncFakeSocket(kernel);
    // An answer matched to no request shows as a timeout: a short one, far above what a fake answer takes.
    const ipvs = await Ipvs.open({ transport: socket, timeoutMs: 2_000 });
    const engine = (ipvs as unknown as { conn: Engine }).conn;
    // 40 services: a listing of them takes several datagrams (parts of at most 1 KiB).
    const services = Array.from({ length: 40 }, (_, i) => ({ protocol: 'tcp' as const, address: `10.0.${1 + (i >> 8)}.${i & 255}`, port: 80, scheduler: 'rr' as const }));
    for (const r of await ipvs.execute(services.map((s) => ({ op: 'add-service' as const, service: s })))) expect(r).toEqual({ ok: true });
    const pool = Array.from({ length: 20 }, (_, i) => ({ address: `10.1.0.${i + 1}`, port: 80 }));
    engine.seq = 0xffffffff - 1_000;
    const start = engine.seq;
    let lateSeen = false;
    let round = 0;
    // Until past the wrap: the sequence number runs from just below 2^32 to some 1 000.
    for (; engine.seq >= start || engine.seq < 1_000; round++) {
      const svc = services[round % services.length]!;
      const key = { protocol: svc.protocol, address: svc.address, port: svc.port };
      // A window whose third change is refused: one ACK for the datagram, one ERROR for the refusal.
      const ops = pool.map((d) => ({ op: 'add-destination' as const, service: key, destination: { ...d, weight: 1 } }));
      ops.splice(3, 0, { op: 'add-destination', service: { ...key, port: 81 }, destination: { ...pool[0]!, weight: 1 } });
      const added = await ipvs.execute(ops);
      expect(added.map((r) => ('error' in r ? r.error.code : 'skipped' in r ? 'skipped' : 'ok'))).toEqual(ops.map((_, i) => (i === 3 ? 'ESRCH' : 'ok')));
      // A listing answered whole inside its send (the exchange), and one of several datagrams.
      expect((await ipvs.destinations(key, { stats: false })).map((d) => d.address).sort()).toEqual(pool.map((d) => d.address).sort());
      expect(await ipvs.services({ stats: false })).toHaveLength(services.length);
      // A listing stopped early: its rest is read and dropped before the next one.
      for await (const s of ipvs.iterateServices()) {
        expect(s.port).toBe(80);
        break;
      }
      if (round % 5 === 2) {
        // An answer that never comes: the request times out, and nothing later takes its place.
        kernel.dropReplies(1, 'IPVS_CMD_GET_INFO');
        const err = await ipvs.info({ timeoutMs: 5 }).then(() => undefined, (e: { code?: string }) => e.code);
        expect(err).toBe('ETIMEDOUT');
        lateSeen = true;
      }
      const deleted = await ipvs.execute(pool.map((d) => ({ op: 'delete-destination' as const, service: key, destination: d })));
      expect(deleted.every((r) => 'ok' in r && r.ok)).toBe(true);
      kernel.requests.length = 0;
    }
    expect(lateSeen).toBe(true);
    expect(round).toBeGreaterThan(20);
    expect(socket.calls.exchange).toBeGreaterThan(0);
    expect(engine.inFlight).toBe(0);
    expect(engine.currentDump).toBeUndefined();
    expect(engine.dumpQueue.size).toBe(0);
    await ipvs.close();
  }, 30_000);
});

describe('iterations left unfinished', () => {
  it('300 listings left after their first item, never resumed nor returned: the client goes on, and holds none of them', async () => {
    // Parts of at most 512 bytes: each listing of the service's 12 destinations is left with parts still to come.
    const kernel = new FakeKernel({ dumpBudget: 512 });
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const engine = (ipvs as unknown as { conn: Engine }).conn;
    const shutdown = new AbortController();
    const signal = shutdown.signal;
    await ipvs.addService({ ...svc, scheduler: 'rr' });
    const pool = Array.from({ length: 12 }, (_, i) => ({ address: `10.1.0.${i + 1}`, port: 80 }));
    for (const d of pool) await ipvs.addDestination(svc, d);
    let heapAtStart = 0;
    for (let i = 0; i < 300; i++) {
      const it = ipvs.iterateDestinations(svc, { signal, stats: false })[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.done).toBe(false);
      // Changes while the listing is left where it is, and now and then another listing, which reads the rest of
      // the one left behind first.
      await ipvs.updateDestination(svc, { ...pool[i % pool.length]!, weight: 1 + (i % 7) }, { signal });
      if (i % 3 === 0) expect(await ipvs.destinations(svc, { signal, stats: false })).toHaveLength(pool.length);
      kernel.requests.length = 0;
      if (i === 50) heapAtStart = heapMb();
    }
    expect(await ipvs.services({ signal })).toHaveLength(1);
    expect(engine.inFlight).toBe(0);
    expect(engine.currentDump).toBeUndefined();
    expect(engine.dumpQueue.size).toBe(0);
    // The client's one listener on the caller's signal (an unfinished iteration never gives it back), no more.
    expect(getEventListeners(signal, 'abort').length).toBeLessThanOrEqual(1);
    expect(heapMb() - heapAtStart).toBeLessThan(3);
    await ipvs.close();
    expect(getEventListeners(signal, 'abort').length).toBeLessThanOrEqual(1);
  }, 30_000);
});
