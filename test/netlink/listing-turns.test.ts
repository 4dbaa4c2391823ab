// Listings taking turns on one connection (the kernel runs one dump per socket), at their edges: the rest of a
// listing given up whose end never comes (how long the next listing waits for it, and what ends that wait), the
// order in which listings are sent, an iterator stopped before its turn, and close() called while a listing's answer
// is being read.

import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NetlinkConnection, type OutgoingRequest } from '../../src/netlink/connection.js';
import { AbortError, ClosedError, TimeoutError } from '../../src/netlink/errors.js';
import type { NetlinkMessage } from '../../src/netlink/reader.js';
import type { ExchangeResult, Transport, TransportReceiver } from '../../src/netlink/transport.js';
import * as nb from '../helpers/netlink-bytes.js';
import { errnoError, ScriptedTransport } from '../helpers/scripted-transport.js';

const FAMILY = 0x1b;
const PORT = 4242;

/** A listing whose genl command (`cmd`) tells it apart on the wire. */
function req(operation: string, cmd = 1): OutgoingRequest {
  return { type: FAMILY, body: (w) => w.genlHeader(cmd, 1), label: { operation } };
}

const part = (seq: number, marker: number): Buffer =>
  nb.nlmsg({ type: FAMILY, flags: nb.F_MULTI, seq, pid: PORT }, nb.cat(nb.genl(1, 1), nb.u32(1, marker)));
const marker = (m: NetlinkMessage): number => m.payload.readUInt32LE(8);

async function collect(it: AsyncIterable<NetlinkMessage>): Promise<{ parts: number[]; error?: unknown }> {
  const parts: number[] = [];
  try {
    for await (const m of it) parts.push(marker(m));
  } catch (error) {
    return { parts, error };
  }
  return { parts };
}

const settle = (p: Promise<unknown>): Promise<unknown> => p.then((v) => v, (e: unknown) => e);

/**
 * An iterated listing on `t` that gets one part, is left (break), and then loses the rest of its answer: a read
 * error other than an overflow (the datagram that ended it is gone). Returns its seq.
 */
async function givenUpAndLost(t: ScriptedTransport, conn: NetlinkConnection): Promise<number> {
  const it = conn.dump(req('given up'))[Symbol.asyncIterator]();
  const first = it.next();
  const seq = t.last().seq;
  t.deliver(part(seq, 1));
  expect(marker((await first).value as NetlinkMessage)).toBe(1);
  await it.return!();
  t.error(errnoError('EIO', 5, 'recvmsg'), false);
  expect(conn.inFlight).toBe(1);
  return seq;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the rest of a listing given up, whose end is lost', () => {
  it('with no timeout on the client (timeoutMs 0): waited for 30 s of silence, not for ever; the next listing goes then', async () => {
    vi.useFakeTimers();
    const t = new ScriptedTransport({ portId: PORT });
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    await givenUpAndLost(t, conn);
    const next = collect(conn.dump(req('next')));
    const whole = settle(conn.dumpAll(req('whole'), {}, marker));
    await vi.advanceTimersByTimeAsync(29_999);
    expect(t.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.sent).toHaveLength(2);
    t.deliver(nb.cat(part(t.last().seq, 7), nb.done(t.last().seq)));
    expect(await next).toEqual({ parts: [7] });
    expect(t.sent).toHaveLength(3);
    t.deliver(nb.cat(part(t.last().seq, 8), nb.done(t.last().seq)));
    expect(await whole).toEqual([8]);
    expect(conn.inFlight).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a rest that keeps coming is read however long it takes; the wait counts from its last part', async () => {
    vi.useFakeTimers();
    const t = new ScriptedTransport({ portId: PORT });
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const it = conn.dump(req('given up'))[Symbol.asyncIterator]();
    const first = it.next();
    const seq = t.last().seq;
    t.deliver(part(seq, 1));
    await first;
    await it.return!();
    const next = collect(conn.dump(req('next')));
    for (let i = 2; i < 6; i++) {
      await vi.advanceTimersByTimeAsync(20_000);
      t.deliver(part(seq, i));
    }
    expect(t.sent).toHaveLength(1);
    t.deliver(nb.done(seq));
    await vi.advanceTimersByTimeAsync(0);
    expect(t.sent).toHaveLength(2);
    t.deliver(nb.cat(part(t.last().seq, 7), nb.done(t.last().seq)));
    expect(await next).toEqual({ parts: [7] });
  });

  it('with the default timeout: a later listing\'s own timeoutMs ends its wait (not sent), its signal at once; one with neither goes after 30 s', async () => {
    vi.useFakeTimers();
    const t = new ScriptedTransport({ portId: PORT });
    const conn = new NetlinkConnection(t);
    await givenUpAndLost(t, conn);
    const timed = collect(conn.dump(req('timed'), { timeoutMs: 1000 }));
    const timedWhole = settle(conn.dumpAll(req('timed whole'), { timeoutMs: 1000 }, marker));
    const ac = new AbortController();
    const aborted = settle(conn.dumpAll(req('aborted'), { signal: ac.signal }, marker));
    const plain = collect(conn.dump(req('plain')));
    await vi.advanceTimersByTimeAsync(500);
    ac.abort();
    const abortErr = await aborted;
    expect(abortErr).toBeInstanceOf(AbortError);
    expect(abortErr).toMatchObject({ message: 'aborted: aborted' });
    await vi.advanceTimersByTimeAsync(1500);
    const { error } = await timed;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ sent: undefined, message: 'timed: not sent: the requests ahead of it got no answer within 1000 ms' });
    expect(await timedWhole).toMatchObject({ name: 'TimeoutError', message: 'timed whole: not sent: the requests ahead of it got no answer within 1000 ms' });
    expect(t.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(28_000);
    expect(t.sent).toHaveLength(2);
    t.deliver(nb.cat(part(t.last().seq, 7), nb.done(t.last().seq)));
    expect(await plain).toEqual({ parts: [7] });
    expect(conn.inFlight).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a later listing\'s own timeout ends its wait behind it though changes sent meanwhile are answered', async () => {
    vi.useFakeTimers();
    const t = new ScriptedTransport({ portId: PORT });
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    await givenUpAndLost(t, conn);
    const next = collect(conn.dump(req('next'), { timeoutMs: 1000 }));
    // A health checker's changes, answered every 250 ms: none of them is ahead of the listing.
    t.respond = (r) => nb.ack(r.seq, PORT);
    for (let i = 0; i < 8; i++) {
      await conn.request(req(`change ${i}`));
      await vi.advanceTimersByTimeAsync(250);
    }
    expect((await next).error).toMatchObject({ name: 'TimeoutError', message: 'next: not sent: the requests ahead of it got no answer within 1000 ms' });
    expect(t.requests().filter((r) => (r.flags & nb.F_DUMP) !== 0)).toHaveLength(1);
  });
});

/**
 * A peer answering inside the send, as the kernel socket does (Transport.exchange), each listing with one part
 * holding its genl command and its end; `cmds` records the commands in the order the listings reach it.
 */
class Answering implements Transport {
  readonly portId = PORT;
  readonly receiveBufferSize = 1 << 20;
  readonly answersInOrder = true;
  readonly cmds: number[] = [];
  /** Datagrams exchange() hands over before it says 'partial'. */
  dryAfter = Infinity;
  closed = false;
  private readonly queue: Buffer[] = [];
  private receiver: TransportReceiver | undefined;

  attach(receiver: TransportReceiver): void {
    this.receiver = receiver;
  }

  private answer(datagram: Uint8Array): void {
    for (const r of nb.splitMessages(Buffer.from(datagram))) {
      const cmd = Buffer.from(datagram)[16] as number;
      this.cmds.push(cmd);
      this.queue.push(part(r.seq, cmd), nb.done(r.seq, { pid: PORT }));
    }
  }

  send(datagram: Uint8Array): Promise<void> {
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
    this.answer(datagram);
    for (let handed = 0; handed < this.dryAfter; handed++) {
      const d = this.queue.shift();
      if (d === undefined) return 'partial';
      if (take(d)) return 'done';
    }
    return 'partial';
  }

  async close(): Promise<void> {
    // A closed socket delivers nothing more.
    this.closed = true;
    this.queue.length = 0;
  }
}

/** Makes the connection's work meter find a slice of synchronous work gone: its next listing takes a turn of the event loop first. */
function dueTurn(conn: NetlinkConnection): void {
  conn.workDone(256);
  const until = performance.now() + 25;
  while (performance.now() < until);
  conn.workDone(256);
  expect(conn.yieldIfDue()).toBeInstanceOf(Promise);
}

describe('listings are sent in call order', () => {
  it('a collected listing that takes a turn of the event loop before its send keeps its place: an iterator started after it goes after it', async () => {
    const t = new Answering();
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    dueTurn(conn);
    const whole = conn.dumpAll(req('whole', 1), {}, marker);
    const iterated = collect(conn.dump(req('iterated', 2)));
    const into: number[] = [];
    const eachInto = conn.dumpPayloadsInto(req('into', 3), {}, (buf, start) => buf.readUInt32LE(start + 8), into);
    const later = collect(conn.dump(req('later', 4)));
    expect(await whole).toEqual([1]);
    expect(await iterated).toEqual({ parts: [2] });
    await eachInto;
    expect(into).toEqual([3]);
    expect(await later).toEqual({ parts: [4] });
    expect(t.cmds).toEqual([1, 2, 3, 4]);
    expect(conn.inFlight).toBe(0);
  });

  it('aborted during that turn: AbortError, nothing sent, and the listings behind it go', async () => {
    const t = new Answering();
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    dueTurn(conn);
    const ac = new AbortController();
    const whole = settle(conn.dumpAll(req('whole', 1), { signal: ac.signal }, marker));
    const iterated = collect(conn.dump(req('iterated', 2)));
    ac.abort();
    expect(await whole).toBeInstanceOf(AbortError);
    expect(await iterated).toEqual({ parts: [2] });
    expect(t.cmds).toEqual([2]);
  });
});

describe('an iterator stopped before its turn', () => {
  it('return() while it waits for the listing ahead: done at once, and it is never sent', async () => {
    const t = new ScriptedTransport({ portId: PORT });
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const ahead = conn.dumpAll(req('ahead'), {}, marker);
    const seq = t.last().seq;
    const it = conn.dump(req('stopped'))[Symbol.asyncIterator]();
    let returned = false;
    const stopping = it.return!().then((r) => {
      returned = true;
      return r;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(returned).toBe(true);
    expect(await stopping).toEqual({ value: undefined, done: true });
    await expect(it.next()).resolves.toEqual({ value: undefined, done: true });
    t.deliver(nb.cat(part(seq, 1), nb.done(seq)));
    expect(await ahead).toEqual([1]);
    // Its turn came and went: nothing of it was sent, and the listing after it goes.
    const after = collect(conn.dump(req('after')));
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.sent).toHaveLength(2);
    t.deliver(nb.cat(part(t.last().seq, 2), nb.done(t.last().seq)));
    expect(await after).toEqual({ parts: [2] });
    expect(conn.inFlight).toBe(0);
  });

  it('return() leaves the queue at once: its wait timer and abort listener go then, and a next() awaiting its turn ends', async () => {
    vi.useFakeTimers();
    const t = new ScriptedTransport({ portId: PORT });
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const ahead = conn.dumpAll(req('ahead'), {}, marker);
    const seq = t.last().seq;
    const ac = new AbortController();
    const it = conn.dump(req('stopped'), { signal: ac.signal, timeoutMs: 1000 })[Symbol.asyncIterator]();
    // One waiting without a timeout or a signal: its next(), pending, ends too.
    const plain = conn.dump(req('plain'))[Symbol.asyncIterator]();
    const pending = plain.next();
    expect(vi.getTimerCount()).toBe(1);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    await it.return!();
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    await plain.return!();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    vi.useRealTimers();
    // The socket is handed on as before: the listing ahead ends, and the next one goes.
    t.deliver(nb.cat(part(seq, 1), nb.done(seq)));
    expect(await ahead).toEqual([1]);
    const after = collect(conn.dump(req('after')));
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.sent).toHaveLength(2);
    t.deliver(nb.cat(part(t.last().seq, 2), nb.done(t.last().seq)));
    expect(await after).toEqual({ parts: [2] });
    expect(conn.inFlight).toBe(0);
  });
});

describe('close() while a listing\'s answer is being read', () => {
  it('from inside the synchronous read of a collected listing answered in part: ClosedError, nothing left registered', async () => {
    const t = new Answering();
    t.dryAfter = 1;
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    let closing: Promise<void> | undefined;
    const whole = settle(conn.dumpAll(req('whole'), {}, (m) => {
      closing ??= conn.close();
      return marker(m);
    }));
    await closing;
    const outcome = await Promise.race([whole, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 50))]);
    expect(outcome).toBeInstanceOf(ClosedError);
    expect(outcome).toMatchObject({ message: 'whole: the netlink socket is closed' });
    expect(conn.inFlight).toBe(0);
  });
});
