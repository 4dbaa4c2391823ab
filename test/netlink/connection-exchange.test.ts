// dumpAll through Transport.exchange (the kernel socket's synchronous round trip): the whole dump is
// read in one call, with no pending entry and no timer; views handed to `take` are reused afterwards, so
// what a map keeps must survive that (mapCopies false) or not be needed (mapCopies true). Also: errors in
// DONE, interrupted dumps, a map that throws, stale replies, a transport that runs dry midway, a send
// error, and when the path is not taken.

import { describe, expect, it, vi } from 'vitest';
import { NetlinkConnection, type OutgoingRequest } from '../../src/netlink/connection.js';
import { DumpInterruptedError, KernelError } from '../../src/netlink/errors.js';
import type { NetlinkMessage } from '../../src/netlink/reader.js';
import type { ExchangeResult, Transport, TransportReceiver } from '../../src/netlink/transport.js';
import * as nb from '../helpers/netlink-bytes.js';

const FAMILY = 0x1b;
const PORT = 4242;
const F_MULTI = 0x02;
const F_DUMP_INTR = 0x10;

function req(operation: string, mapError?: OutgoingRequest['mapError']): OutgoingRequest {
  return { type: FAMILY, body: (w) => w.genlHeader(1, 1), label: { operation, object: 'tcp 10.0.0.1:80' }, mapError };
}

function part(seq: number, markers: number[], flags = F_MULTI): Buffer {
  return nb.cat(...markers.map((m) => nb.nlmsg({ type: FAMILY, flags, seq, pid: PORT }, nb.cat(nb.genl(1, 1), nb.u32(1, m)))));
}

const marker = (m: NetlinkMessage): number => m.payload.readUInt32LE(8);

/** Answers a dump with `reply(seq)` datagrams; exchange hands them over through one reused scratch buffer. */
class Exchanging implements Transport {
  readonly portId = PORT;
  readonly receiveBufferSize = 1 << 20;
  readonly answersInOrder = true;
  exchanges = 0;
  sends = 0;
  /** Datagrams exchange() may hand over before it reports 'partial'; the rest wait for receive(). */
  dryAfter = Infinity;
  sendError: (Error & { errno?: number; code?: string }) | undefined;
  unsupported = false;
  readonly queue: Buffer[] = [];
  private receiver: TransportReceiver | undefined;
  private readonly scratch = Buffer.alloc(4096);

  constructor(private readonly reply: (seq: number) => Buffer[]) {}

  attach(receiver: TransportReceiver): void {
    this.receiver = receiver;
  }

  private answer(datagram: Uint8Array): void {
    for (const r of nb.splitMessages(Buffer.from(datagram))) this.queue.push(...this.reply(r.seq));
  }

  send(datagram: Uint8Array): Promise<void> {
    this.sends++;
    this.answer(datagram);
    return Promise.resolve();
  }

  receive(): boolean {
    const d = this.queue.shift();
    if (d === undefined) return false;
    this.receiver?.datagram(d);
    return true;
  }

  exchange(datagram: Uint8Array, take: (view: Buffer) => boolean): ExchangeResult {
    if (this.unsupported) return 'unsupported';
    this.exchanges++;
    if (this.sendError) return this.sendError;
    this.answer(datagram);
    for (let handed = 0; handed < this.dryAfter; handed++) {
      const d = this.queue.shift();
      if (d === undefined) return 'partial';
      d.copy(this.scratch);
      if (take(this.scratch.subarray(0, d.length))) {
        this.scratch.fill(0xee); // the views are gone
        return 'done';
      }
      this.scratch.fill(0xee);
    }
    return 'partial';
  }

  async close(): Promise<void> {}
}

const twoParts = (seq: number): Buffer[] => [part(seq, [1, 2]), nb.cat(part(seq, [3]), nb.done(seq, { pid: PORT }))];

describe('dumpAll through exchange', () => {
  it('reads the whole dump in one exchange, with no pending entry and no timer', async () => {
    const t = new Exchanging(twoParts);
    const conn = new NetlinkConnection(t);
    const timers = vi.spyOn(globalThis, 'setTimeout');
    expect(await conn.dumpAll(req('list'), {}, marker)).toEqual([1, 2, 3]);
    expect(timers).not.toHaveBeenCalled();
    timers.mockRestore();
    expect(t.exchanges).toBe(1);
    expect(t.sends).toBe(0);
    expect(conn.inFlight).toBe(0);
  });

  it('copies each datagram unless the map copies what it keeps', async () => {
    const t = new Exchanging(twoParts);
    const conn = new NetlinkConnection(t);
    const kept = await conn.dumpAll(req('list'), {}, (m) => m);
    expect(kept.map(marker)).toEqual([1, 2, 3]);
    // mapCopies: the map runs on views, which later reads overwrite; what it returns is a number.
    expect(await conn.dumpAll(req('list'), {}, marker, true)).toEqual([1, 2, 3]);
  });

  it('turns an errno in DONE into the request\'s error, mapped, and an interrupted dump into DumpInterruptedError', async () => {
    const failing = new NetlinkConnection(new Exchanging((seq) => [nb.cat(part(seq, [1]), nb.done(seq, { pid: PORT, errno: 3 }))]));
    const err = await failing.dumpAll(req('list', (e) => new Error(`mapped ${e.code}`)), {}, marker).catch((e: unknown) => e);
    expect(err).toEqual(new Error('mapped ESRCH'));
    const plain = await failing.dumpAll(req('list'), {}, marker).catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(KernelError);
    const interrupted = new NetlinkConnection(new Exchanging((seq) => [nb.cat(part(seq, [1], F_MULTI | F_DUMP_INTR), nb.done(seq, { pid: PORT }))]));
    await expect(interrupted.dumpAll(req('list'), {}, marker)).rejects.toBeInstanceOf(DumpInterruptedError);
  });

  it('a map that throws ends the dump with its error, after reading the rest', async () => {
    const t = new Exchanging(twoParts);
    const conn = new NetlinkConnection(t);
    await expect(conn.dumpAll(req('list'), {}, (m) => {
      if (marker(m) === 2) throw new Error('bad message');
      return marker(m);
    })).rejects.toThrow('bad message');
    expect(t.queue).toHaveLength(0);
    expect(await conn.dumpAll(req('list'), {}, marker)).toEqual([1, 2, 3]);
  });

  it('skips replies that belong to no one (a late answer to a timed-out request)', async () => {
    const t = new Exchanging((seq) => [part(seq - 5, [9]), ...twoParts(seq)]);
    expect(await new NetlinkConnection(t).dumpAll(req('list'), {}, marker)).toEqual([1, 2, 3]);
  });

  it('reads on through the usual path when the transport runs dry midway', async () => {
    const t = new Exchanging(twoParts);
    t.dryAfter = 1;
    const conn = new NetlinkConnection(t);
    expect(await conn.dumpAll(req('list'), {}, marker)).toEqual([1, 2, 3]);
    expect(conn.inFlight).toBe(0);
    const throwing = new Exchanging(twoParts);
    throwing.dryAfter = 1;
    const c2 = new NetlinkConnection(throwing);
    await expect(c2.dumpAll(req('list'), {}, () => {
      throw new Error('no');
    })).rejects.toThrow('no');
    expect(c2.inFlight).toBe(0);
  });

  it('fails with the send error as a KernelError naming the request', async () => {
    const t = new Exchanging(twoParts);
    t.sendError = Object.assign(new Error('sendmsg: EPERM'), { errno: 1, code: 'EPERM' });
    const err = await new NetlinkConnection(t).dumpAll(req('list'), {}, marker).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect(err).toMatchObject({ code: 'EPERM', operation: 'list' });
  });

  it('is not taken while another request waits, or when the transport says unsupported', async () => {
    const t = new Exchanging((seq) => twoParts(seq));
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const slow = conn.request(req('slow')); // no reply is scripted for it before the dump's
    expect(await conn.dumpAll(req('list'), {}, marker)).toEqual([1, 2, 3]);
    expect(t.exchanges).toBe(0);
    void slow.catch(() => undefined);
    await conn.close();
    const u = new Exchanging(twoParts);
    u.unsupported = true;
    expect(await new NetlinkConnection(u).dumpAll(req('list'), {}, marker)).toEqual([1, 2, 3]);
    expect(u.sends).toBe(1);
  });
});

describe('dumpPayloads', () => {
  const readMarker = (buf: Buffer, start: number, end: number): number => {
    expect(end - start).toBe(12); // genl header + one u32 attribute
    return buf.readUInt32LE(start + 8);
  };

  it('hands each payload in place, through exchange and through the usual path alike', async () => {
    const t = new Exchanging(twoParts);
    const conn = new NetlinkConnection(t);
    expect(await conn.dumpPayloads(req('list'), {}, readMarker)).toEqual([1, 2, 3]);
    expect(t.exchanges).toBe(1);
    const dry = new Exchanging(twoParts);
    dry.dryAfter = 1;
    expect(await new NetlinkConnection(dry).dumpPayloads(req('list'), {}, readMarker)).toEqual([1, 2, 3]);
    const u = new Exchanging(twoParts);
    u.unsupported = true;
    expect(await new NetlinkConnection(u).dumpPayloads(req('list'), {}, readMarker)).toEqual([1, 2, 3]);
    expect(u.sends).toBe(1);
  });

  it('fails as dumpAll does: an errno in DONE, a malformed datagram, a reader that throws', async () => {
    const failing = new NetlinkConnection(new Exchanging((seq) => [nb.cat(part(seq, [1]), nb.done(seq, { pid: PORT, errno: 3 }))]));
    await expect(failing.dumpPayloads(req('list'), {}, readMarker)).rejects.toMatchObject({ code: 'ESRCH', operation: 'list' });
    // A message whose length runs past the datagram, after a good one: the dump fails, nothing is returned.
    const broken = new NetlinkConnection(new Exchanging((seq) => [nb.cat(part(seq, [1]), Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))]));
    await expect(broken.dumpPayloads(req('list'), {}, readMarker)).rejects.toThrow(/runs past the datagram/);
    const t = new Exchanging(twoParts);
    const conn = new NetlinkConnection(t);
    await expect(conn.dumpPayloads(req('list'), {}, () => {
      throw new Error('bad payload');
    })).rejects.toThrow('bad payload');
    expect(t.queue).toHaveLength(0);
    expect(await conn.dumpPayloads(req('list'), {}, readMarker)).toEqual([1, 2, 3]);
  });

  it('a malformed datagram before the dump\'s end: the rest is still read and dropped (the kernel refuses another dump until then)', async () => {
    const bad = Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let first = true;
    const t = new Exchanging((seq) => {
      if (!first) return twoParts(seq);
      first = false;
      return [nb.cat(part(seq, [1]), bad), part(seq, [2]), nb.done(seq, { pid: PORT })];
    });
    const conn = new NetlinkConnection(t, { timeoutMs: 1000 });
    await expect(conn.dumpPayloads(req('list'), {}, readMarker)).rejects.toThrow(/runs past the datagram/);
    expect(t.queue).toHaveLength(0);
    expect(conn.inFlight).toBe(0);
    expect(await conn.dumpPayloads(req('list'), {}, readMarker)).toEqual([1, 2, 3]);
  });
});

describe('dumpPayloadsInto', () => {
  const readMarker = (buf: Buffer, start: number): number => buf.readUInt32LE(start + 8);

  it('finishes before returning when the whole answer came in the exchange, else returns a promise for the rest', async () => {
    const t = new Exchanging(twoParts);
    const conn = new NetlinkConnection(t);
    const out: number[] = [];
    expect(conn.dumpPayloadsInto(req('list'), {}, readMarker, out)).toBeUndefined();
    expect(out).toEqual([1, 2, 3]);
    t.dryAfter = 1;
    const rest: number[] = [];
    const p = conn.dumpPayloadsInto(req('list'), {}, readMarker, rest);
    expect(p).toBeInstanceOf(Promise);
    await p;
    expect(rest).toEqual([1, 2, 3]);
    const u = new Exchanging(twoParts);
    u.unsupported = true;
    const viaSend: number[] = [];
    await new NetlinkConnection(u).dumpPayloadsInto(req('list'), {}, readMarker, viaSend);
    expect(viaSend).toEqual([1, 2, 3]);
  });

  it('throws a failure of a dump answered at once, and leaves the connection usable', () => {
    const conn = new NetlinkConnection(new Exchanging((seq) => [nb.cat(part(seq, [1]), nb.done(seq, { pid: PORT, errno: 3 }))]));
    expect(() => conn.dumpPayloadsInto(req('list'), {}, readMarker, [])).toThrow(KernelError);
    const ok = new NetlinkConnection(new Exchanging(twoParts));
    expect(() => ok.dumpPayloadsInto(req('list'), {}, () => {
      throw new Error('bad payload');
    }, [])).toThrow('bad payload');
    const out: number[] = [];
    expect(ok.dumpPayloadsInto(req('list'), {}, readMarker, out)).toBeUndefined();
    expect(out).toEqual([1, 2, 3]);
  });

  it('refuses a request a reader makes while the dump is read (it would take the dump\'s replies), and reads on', async () => {
    const t = new Exchanging(twoParts);
    const conn = new NetlinkConnection(t);
    const inner: unknown[] = [];
    const outer: number[] = [];
    const p = conn.dumpPayloadsInto(req('outer'), {}, (buf, start) => {
      const m = buf.readUInt32LE(start + 8);
      if (m === 1) inner.push(conn.dumpPayloads(req('inner'), {}, readMarker).catch((e: unknown) => e));
      return m;
    }, outer);
    expect(p).toBeUndefined();
    expect(outer).toEqual([1, 2, 3]);
    expect(await inner[0]).toMatchObject({ code: 'EBUSY', message: expect.stringMatching(/^inner: requested while a dump was being read/) });
    expect(conn.inFlight).toBe(0);
    expect(await conn.dumpPayloads(req('after'), {}, readMarker)).toEqual([1, 2, 3]);
  });
});
