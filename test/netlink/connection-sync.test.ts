// The engine over a transport that behaves as the kernel socket does: it answers a datagram's messages in
// order (answersInOrder), limits datagram size (maxDatagramSize) and offers synchronous reads (receive()).
// Checks: only the last message of each datagram asks for an ACK and the earlier ones settle with it,
// errors of earlier ones still reject them, batches are split to fit, replies are read without an event-loop
// turn, no timer is created for answered requests, dumps read only as far as they are consumed, the read
// budget lets the event loop turn, and so does a slice of synchronous work, between requests but not in the
// middle of a dump. Replies are built with the test builder.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { NetlinkConnection, type OutgoingRequest } from '../../src/netlink/connection.js';
import { IpvsError, KernelError, TimeoutError } from '../../src/netlink/errors.js';
import type { NetlinkMessage } from '../../src/netlink/reader.js';
import type { Transport, TransportReceiver } from '../../src/netlink/transport.js';
import { MessageWriter } from '../../src/netlink/writer.js';
import * as nb from '../helpers/netlink-bytes.js';

const FAMILY = 0x1b;
const PORT = 4242;

function req(operation: string): OutgoingRequest {
  return {
    type: FAMILY,
    body: (w) => {
      w.genlHeader(1, 1);
      w.u32(1, 7);
    },
    label: { operation, object: 'tcp 10.0.0.1:80' },
  };
}

/** A kernel-like transport: `kernel` turns each request message into reply datagrams, queued for receive(). */
class KernelLike implements Transport {
  readonly portId = PORT;
  readonly receiveBufferSize = 1 << 20;
  readonly answersInOrder = true;
  readonly maxDatagramSize: number | undefined;
  readonly sent: Buffer[] = [];
  readonly queue: Buffer[] = [];
  receives = 0;
  private receiver: TransportReceiver | undefined;

  constructor(private readonly kernel: (r: nb.RawHeader) => Buffer[], maxDatagramSize?: number) {
    this.maxDatagramSize = maxDatagramSize;
  }

  attach(receiver: TransportReceiver): void {
    this.receiver = receiver;
  }

  send(datagram: Uint8Array): Promise<void> {
    const copy = Buffer.from(datagram);
    this.sent.push(copy);
    for (const r of nb.splitMessages(copy)) this.queue.push(...this.kernel(r));
    return Promise.resolve();
  }

  receive(): boolean {
    this.receives++;
    const d = this.queue.shift();
    if (d === undefined) return false;
    this.receiver?.datagram(d);
    return true;
  }

  async close(): Promise<void> {}
}

/** The kernel's rule: an ERROR for a failure always, an ACK only when asked. */
const acks = (failing: (r: nb.RawHeader) => boolean) => (r: nb.RawHeader): Buffer[] => {
  if (failing(r)) return [nb.nlmsgerr({ seq: r.seq, pid: PORT, errno: 17 })];
  return (r.flags & 0x04) !== 0 ? [nb.ack(r.seq, PORT)] : [];
};

const marker = (m: NetlinkMessage): number => m.payload.readUInt32LE(8);

/** performance.now() moving 20 ms each time it is read: the second look of a slice finds it used up. */
function steppingClock(): ReturnType<typeof vi.spyOn> {
  let now = 0;
  return vi.spyOn(performance, 'now').mockImplementation(() => (now += 20));
}

/** Counts turns of the event loop (check phases) until stopped. */
function turns(): { count: () => number; stop: () => void } {
  let count = 0;
  let on = true;
  const tick = (): void => {
    if (!on) return;
    count++;
    setImmediate(tick);
  };
  setImmediate(tick);
  return { count: () => count, stop: () => (on = false) };
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('batches to a transport that answers in order', () => {
  it('asks an ACK of the last message only; the others succeed with it, a failed one rejects alone', async () => {
    let n = 0;
    const t = new KernelLike(acks(() => n++ === 3));
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const results = await Promise.allSettled(conn.batch(Array.from({ length: 6 }, (_, i) => req(`op${i}`))));
    expect(t.sent).toHaveLength(1);
    const flags = nb.splitMessages(t.sent[0]!).map((r) => r.flags);
    expect(flags).toEqual([0x01, 0x01, 0x01, 0x01, 0x01, 0x05]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[3] as PromiseRejectedResult).reason).toBeInstanceOf(KernelError);
    expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ code: 'EEXIST', operation: 'op3' });
    expect(conn.inFlight).toBe(0);
  });

  it('batchOutcomes: the same datagram and ACK, one promise, each request\'s error in its place', async () => {
    let n = 0;
    const t = new KernelLike(acks(() => n++ === 2));
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const outcomes = await conn.batchOutcomes(Array.from({ length: 5 }, (_, i) => req(`op${i}`)));
    expect(t.sent).toHaveLength(1);
    expect(nb.splitMessages(t.sent[0]!).map((r) => r.flags)).toEqual([0x01, 0x01, 0x01, 0x01, 0x05]);
    expect(outcomes.map((e) => e === undefined)).toEqual([true, true, false, true, true]);
    expect(outcomes[2]).toBeInstanceOf(KernelError);
    expect(outcomes[2]).toMatchObject({ code: 'EEXIST', operation: 'op2' });
    expect(conn.inFlight).toBe(0);
    expect(await conn.batchOutcomes([])).toEqual([]);
  });

  it('batchEncodedOutcomes: messages encoded ahead go out as batchOutcomes sends them; labels made on a failure only', async () => {
    const encode = (n: number, type = FAMILY): Buffer => {
      const w = new MessageWriter();
      for (let i = 0; i < n; i++) {
        w.beginMessage(type, i === 1 ? 0x400 : 0, 0, 0);
        req('x').body(w);
        w.endMessage();
      }
      return w.toBuffer();
    };
    let n = 0;
    const t = new KernelLike(acks(() => n++ === 2), 3 * 28);
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const asked: number[] = [];
    const outcomes = await conn.batchEncodedOutcomes(encode(5), 5, (i) => (asked.push(i), req(`op${i}`)));
    // split to fit (3 messages per datagram), the ACK asked of each datagram's last; seq and port id written
    expect(t.sent.map((d) => nb.splitMessages(d).map((r) => r.flags))).toEqual([[0x01, 0x401, 0x05], [0x01, 0x05]]);
    const headers = t.sent.flatMap((d) => nb.splitMessages(d));
    expect(headers.every((r) => r.pid === PORT && r.type === FAMILY)).toBe(true);
    expect(headers.map((r) => r.seq - headers[0]!.seq)).toEqual([0, 1, 2, 3, 4]);
    // the same bytes as batchOutcomes for the same requests, but for the sequence numbers
    const u = new KernelLike(acks(() => false), 3 * 28);
    await new NetlinkConnection(u, { timeoutMs: 0 }).batchOutcomes(Array.from({ length: 5 }, (_, i) => ({ ...req('y'), flags: i === 1 ? 0x400 : 0 })));
    const noSeq = (d: Buffer): Buffer => {
      const c = Buffer.from(d);
      for (let at = 0; at < c.length; at += c.readUInt32LE(at)) c.writeUInt32LE(0, at + 8);
      return c;
    };
    expect(t.sent.map(noSeq)).toEqual(u.sent.map(noSeq));
    expect(outcomes.map((e) => e === undefined)).toEqual([true, true, false, true, true]);
    expect(outcomes[2]).toMatchObject({ code: 'EEXIST', operation: 'op2' });
    expect(asked).toEqual([2]);
    expect(conn.inFlight).toBe(0);
    // bytes that are not `count` whole messages: nothing sent, the error for each
    // (each an IpvsError, as every outcome is, with the RangeError as its cause)
    const bad = await conn.batchEncodedOutcomes(encode(2).subarray(0, 40), 2, (i) => req(`op${i}`));
    expect(bad.every((e) => e instanceof IpvsError && e.cause instanceof RangeError)).toBe(true);
    const extra = await conn.batchEncodedOutcomes(encode(3), 2, (i) => req(`op${i}`));
    expect(extra.every((e) => e instanceof IpvsError && e.cause instanceof RangeError)).toBe(true);
    expect(t.sent).toHaveLength(2);
    expect(await conn.batchEncodedOutcomes(Buffer.alloc(0), 0, (i) => req(`op${i}`))).toEqual([]);
  });

  it('a failing last message still settles the earlier ones as done', async () => {
    const t = new KernelLike(acks(() => false));
    const failLast = new KernelLike((r) => ((r.flags & 0x04) !== 0 ? [nb.nlmsgerr({ seq: r.seq, pid: PORT, errno: 2 })] : []));
    for (const transport of [t, failLast]) {
      const conn = new NetlinkConnection(transport, { timeoutMs: 0 });
      const results = await Promise.allSettled(conn.batch([req('a'), req('b'), req('c')]));
      const expected = transport === t ? ['fulfilled', 'fulfilled', 'fulfilled'] : ['fulfilled', 'fulfilled', 'rejected'];
      expect(results.map((r) => r.status)).toEqual(expected);
    }
  });

  it('an unreadable last answer fails the earlier requests of its datagram too, none left waiting', async () => {
    // An NLMSG_ERROR too short to hold its errno, for the message that asked the ACK.
    const t = new KernelLike((r) => ((r.flags & 0x04) !== 0 ? [nb.nlmsg({ type: nb.NLMSG_ERROR, seq: r.seq, pid: PORT }, Buffer.alloc(2))] : []));
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const results = await Promise.allSettled(conn.batch([req('a'), req('b'), req('c')]));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(conn.inFlight).toBe(0);
  });

  it('data replies of messages without an ACK are kept for them', async () => {
    const t = new KernelLike((r) => {
      const data = nb.nlmsg({ type: FAMILY, seq: r.seq, pid: PORT }, nb.cat(nb.genl(1, 1), nb.u32(1, r.seq & 0xffff)));
      return (r.flags & 0x04) !== 0 ? [data, nb.ack(r.seq, PORT)] : [data];
    });
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const replies = await Promise.all(conn.batch([req('a'), req('b')]));
    const seqs = nb.splitMessages(t.sent[0]!).map((r) => r.seq & 0xffff);
    expect(replies.map((rs) => rs.map(marker))).toEqual([[seqs[0]], [seqs[1]]]);
  });

  it('splits a batch into datagrams of at most maxDatagramSize, each ending with an ACK request', async () => {
    const one = 16 + 4 + 8; // header, genl header, one u32 attribute
    const t = new KernelLike(acks(() => false), 3 * one);
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const results = await Promise.all(conn.batch(Array.from({ length: 7 }, (_, i) => req(`op${i}`))));
    expect(results).toHaveLength(7);
    expect(t.sent.map((d) => d.length)).toEqual([3 * one, 3 * one, one]);
    for (const d of t.sent) {
      const flags = nb.splitMessages(d).map((r) => r.flags);
      expect(flags.at(-1)).toBe(0x05);
      expect(flags.slice(0, -1).every((f) => f === 0x01)).toBe(true);
    }
  });
});

describe('synchronous reads', () => {
  it('a request answered at once settles without an event-loop turn and without a timer', async () => {
    const t = new KernelLike(acks(() => false));
    const conn = new NetlinkConnection(t, { timeoutMs: 5000 });
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    let settled = false;
    const p = conn.request(req('a')).then(() => (settled = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(true);
    await p;
    expect(setTimeoutSpy).not.toHaveBeenCalled();
  });

  it('a request not answered at once gets its timer and times out', async () => {
    vi.useFakeTimers();
    const t = new KernelLike(() => []);
    const conn = new NetlinkConnection(t, { timeoutMs: 100 });
    const p = conn.request(req('slow')).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(150);
    expect(await p).toBeInstanceOf(TimeoutError);
    expect(conn.inFlight).toBe(0);
  });

  it('a dump reads ahead at most two datagrams and then only as its consumer asks', async () => {
    const parts = 10;
    const t = new KernelLike((r) => [
      ...Array.from({ length: parts }, (_, i) => nb.nlmsg({ type: FAMILY, flags: nb.F_MULTI, seq: r.seq, pid: PORT }, nb.cat(nb.genl(1, 1), nb.u32(1, i)))),
      nb.done(r.seq),
    ]);
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const it = conn.dump(req('list'))[Symbol.asyncIterator]();
    const first = await it.next();
    expect(marker(first.value as NetlinkMessage)).toBe(0);
    expect(t.queue.length).toBe(parts + 1 - 2);
    const rest: number[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(marker(r.value));
    expect(rest).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(conn.inFlight).toBe(0);
  });

  it('a listing asked for inside a dump\'s loop: the dump is read ahead to its end (past the read budget, after a turn), then the listing goes', async () => {
    // Only receive() delivers here, as the kernel socket with its fd: nothing reads the dump on unless the engine does.
    const parts = 3000;
    const part = (seq: number, i: number): Buffer => nb.nlmsg({ type: FAMILY, flags: nb.F_MULTI, seq, pid: PORT }, nb.cat(nb.genl(1, 1), nb.u32(1, i)));
    // The outer listing's request carries 9 where the others carry 7 (req's attribute).
    const t = new KernelLike((r) =>
      r.bytes.readUInt32LE(24) === 9 ? [...Array.from({ length: parts }, (_, i) => part(r.seq, i)), nb.done(r.seq)] : [part(r.seq, 7), nb.done(r.seq)],
    );
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const outer: OutgoingRequest = { ...req('outer'), body: (w) => { w.genlHeader(1, 1); w.u32(1, 9); } };
    const seen: number[] = [];
    const inner: number[][] = [];
    for await (const m of conn.dump(outer)) {
      seen.push(marker(m));
      if (seen.length <= 2) inner.push(await conn.dumpAll(req('inner'), {}, marker));
      // Read to its end for the first listing inside the loop: nothing of it is left in the socket.
      if (seen.length === 2) expect(t.queue).toEqual([]);
    }
    expect(seen).toEqual(Array.from({ length: parts }, (_, i) => i));
    expect(inner).toEqual([[7], [7]]);
    expect(conn.inFlight).toBe(0);
  });

  it('a listing already aborted inside a dump\'s loop is refused, and the dump is not read ahead for it', async () => {
    const part = (seq: number, i: number): Buffer => nb.nlmsg({ type: FAMILY, flags: nb.F_MULTI, seq, pid: PORT }, nb.cat(nb.genl(1, 1), nb.u32(1, i)));
    const t = new KernelLike((r) => [...Array.from({ length: 20 }, (_, i) => part(r.seq, i)), nb.done(r.seq)]);
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const outer = conn.dump(req('outer'))[Symbol.asyncIterator]();
    await outer.next();
    const left = t.queue.length;
    const err = await conn.dumpAll(req('inner'), { signal: AbortSignal.abort() }, marker).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect(t.queue.length).toBe(left);
    expect(t.sent).toHaveLength(1);
    let n = 1;
    for (let r = await outer.next(); !r.done; r = await outer.next()) n++;
    expect(n).toBe(20);
  });

  it('a dump whose turn comes with a listing waiting behind it is read ahead from its start', async () => {
    const part = (seq: number, i: number): Buffer => nb.nlmsg({ type: FAMILY, flags: nb.F_MULTI, seq, pid: PORT }, nb.cat(nb.genl(1, 1), nb.u32(1, i)));
    // The outer dump (its request carries 9) is longer than the read budget: the read ahead for the second
    // iterator cannot end it at once, so that one waits its turn.
    const t = new KernelLike((r) => [...Array.from({ length: r.bytes.readUInt32LE(24) === 9 ? 3000 : 50 }, (_, i) => part(r.seq, i)), nb.done(r.seq)]);
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const outer = conn.dump({ ...req('outer'), body: (w) => { w.genlHeader(1, 1); w.u32(1, 9); } })[Symbol.asyncIterator]();
    expect(marker((await outer.next()).value as NetlinkMessage)).toBe(0);
    // Inside the outer loop: a second iterator, which waits for the outer dump, then a listing behind both.
    const second = conn.dump(req('second'))[Symbol.asyncIterator]();
    const first = second.next();
    const behind = conn.dumpAll(req('behind'), {}, marker);
    // The second iterator's consumer awaits the listing behind it before reading on: the second dump, started
    // with that listing waiting, has been read ahead for it.
    expect(marker((await first).value as NetlinkMessage)).toBe(0);
    expect(await behind).toHaveLength(50);
    let n = 1;
    for (let r = await second.next(); !r.done; r = await second.next()) n++;
    for (let r = await outer.next(); !r.done; r = await outer.next()) n++;
    expect(n).toBe(50 + 2999);
    expect(conn.inFlight).toBe(0);
  });

  it('after the read budget the event loop turns, and the waiting requests are served after it', async () => {
    const t = new KernelLike((r) => [nb.nlmsg({ type: FAMILY, flags: nb.F_MULTI, seq: r.seq, pid: PORT }, nb.cat(nb.genl(1, 1), nb.u32(1, 1))), nb.done(r.seq)]);
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const yields = vi.spyOn(globalThis, 'setImmediate');
    let count = 0;
    for (let i = 0; i < 1500; i++) for await (const m of conn.dump(req('list'))) count += marker(m);
    expect(count).toBe(1500);
    expect(yields).toHaveBeenCalled();
    expect(conn.inFlight).toBe(0);
  });

  it('yieldIfDue: nothing until a slice of synchronous work has passed, then a promise resolved after a turn', async () => {
    const t = new KernelLike(acks(() => false));
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const clock = steppingClock();
    let sent = 0;
    while (conn.yieldIfDue() === undefined && sent < 10_000) {
      await conn.request(req('a'));
      sent++;
    }
    // The clock is read every 256 units of work (a request sent and its ACK read: 2), and the second
    // read of a slice finds 20 ms gone.
    expect(sent).toBeGreaterThan(100);
    expect(sent).toBeLessThan(1000);
    expect(clock).toHaveBeenCalledTimes(2);
    let turned = false;
    setImmediate(() => (turned = true));
    await conn.yieldIfDue();
    expect(turned).toBe(true);
    expect(conn.yieldIfDue()).toBeUndefined();
  });

  it('a loop of requests answered at once turns when a slice has passed; a dump is read on to its end first', async () => {
    const parts = 300;
    const t = new KernelLike((r) =>
      (r.flags & 0x300) === 0
        ? [nb.ack(r.seq, PORT)]
        : [...Array.from({ length: parts }, (_, i) => nb.nlmsg({ type: FAMILY, flags: nb.F_MULTI, seq: r.seq, pid: PORT }, nb.cat(nb.genl(1, 1), nb.u32(1, i)))), nb.done(r.seq)],
    );
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    steppingClock();
    let loop = turns();
    for (let i = 0; i < 1000; i++) await conn.request(req('a'));
    loop.stop();
    expect(loop.count()).toBeGreaterThanOrEqual(1);
    // 300 datagrams, read one by one as the loop asks: a turn falls due, but is not taken mid-dump.
    loop = turns();
    let seen = 0;
    for await (const m of conn.dump(req('list'))) seen += marker(m) === seen ? 1 : 0;
    loop.stop();
    expect(seen).toBe(parts);
    expect(loop.count()).toBe(0);
    expect(conn.yieldIfDue()).toBeInstanceOf(Promise);
    expect(conn.inFlight).toBe(0);
  });
});
