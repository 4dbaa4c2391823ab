// Request-engine tests over a scripted in-memory transport: sequence numbers, out-of-order answers,
// ACK/ERROR matching with extended acks, batches in one datagram, streamed dumps, timeouts, aborts,
// close, transport errors and hold(). Every reply is built with the test builder.

import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NetlinkConnection, parseDonePayload, parseErrorPayload, type OutgoingRequest } from '../../src/netlink/connection.js';
import {
  AbortError,
  ClosedError,
  DecodeError,
  DumpInterruptedError,
  IpvsError,
  KernelError,
  NotSentError,
  TimeoutError,
} from '../../src/netlink/errors.js';
import type { NetlinkMessage } from '../../src/netlink/reader.js';
import * as nb from '../helpers/netlink-bytes.js';
import { errnoError, ScriptedTransport } from '../helpers/scripted-transport.js';
import { collectProcessWarnings } from '../helpers/process-warnings.js';

const FAMILY = 0x1b;
const PORT = 4242;

function req(operation: string, extra: Partial<OutgoingRequest> = {}): OutgoingRequest {
  return {
    type: FAMILY,
    body: (w) => {
      w.genlHeader(1, 1);
      w.u32(1, 7);
    },
    label: { operation, object: 'tcp 10.0.0.1:80' },
    ...extra,
  };
}

/** A data message answering `seq` (part of a dump when `multi`). */
const data = (seq: number, marker: number, flags = 0): Buffer =>
  nb.nlmsg({ type: FAMILY, flags, seq, pid: PORT }, nb.cat(nb.genl(1, 1), nb.u32(1, marker)));
const part = (seq: number, marker: number, flags = 0): Buffer => data(seq, marker, nb.F_MULTI | flags);
const marker = (m: NetlinkMessage): number => m.payload.readUInt32LE(8);

function setup(options: { timeoutMs?: number } = {}): { t: ScriptedTransport; conn: NetlinkConnection } {
  const t = new ScriptedTransport({ portId: PORT });
  const conn = new NetlinkConnection(t, { timeoutMs: options.timeoutMs ?? 0 });
  return { t, conn };
}

async function collect(it: AsyncIterable<NetlinkMessage>): Promise<{ parts: number[]; error?: unknown }> {
  const parts: number[] = [];
  try {
    for await (const m of it) parts.push(marker(m));
  } catch (error) {
    return { parts, error };
  }
  return { parts };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The last listing sent gets one part (7) and its end: the listing `next` reads just that, and nothing is left in flight. */
async function answersLast(t: ScriptedTransport, conn: NetlinkConnection, next: Promise<{ parts: number[]; error?: unknown }>): Promise<void> {
  t.deliver(nb.cat(part(t.last().seq, 7), nb.done(t.last().seq)));
  expect(await next).toEqual({ parts: [7] });
  expect(conn.inFlight).toBe(0);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('requests and sequence numbers', () => {
  it('encodes the header: type, REQUEST|ACK plus extra flags, our port id, a fresh seq', async () => {
    const { t, conn } = setup();
    t.respond = (r) => nb.ack(r.seq, PORT);
    await conn.request(req('a', { flags: 0x400 | 0x200 }));
    await conn.request(req('b'));
    const [a, b] = t.requests();
    expect(a).toMatchObject({ type: FAMILY, flags: 0x01 | 0x04 | 0x600, pid: PORT });
    expect(b!.flags).toBe(0x05);
    expect(b!.seq).toBe((a!.seq + 1) >>> 0);
    expect(a!.seq).not.toBe(0);
    expect(nb.dump(a!.bytes)).toBe(nb.dump(nb.nlmsg({ type: FAMILY, flags: 0x605, seq: a!.seq, pid: PORT }, nb.cat(nb.genl(1, 1), nb.u32(1, 7)))));
  });

  it('dumps are sent with REQUEST|DUMP and no ACK', async () => {
    const { t, conn } = setup();
    t.respond = (r) => nb.done(r.seq);
    await collect(conn.dump(req('d')));
    expect(t.last().flags).toBe(0x01 | 0x300);
  });

  it('sequence numbers wrap around 2^32 and skip 0', async () => {
    const { t, conn } = setup();
    (conn as unknown as { seq: number }).seq = 0xfffffffe;
    t.respond = (r) => nb.ack(r.seq, PORT);
    await Promise.all(conn.batch([req('a'), req('b'), req('c')]));
    expect(t.requests().map((r) => r.seq)).toEqual([0xffffffff, 1, 2]);
  });

  it('many requests in flight, answered out of order, each gets its own data replies', async () => {
    const { t, conn } = setup();
    const ps = Array.from({ length: 10 }, (_, i) => conn.request(req(`r${i}`)));
    await flush();
    const rs = t.requests();
    expect(rs).toHaveLength(10);
    expect(new Set(rs.map((r) => r.seq)).size).toBe(10);
    expect(conn.inFlight).toBe(10);
    for (const [i, r] of [...rs.entries()].reverse()) t.deliver(nb.cat(data(r.seq, 1000 + i), data(r.seq, 2000 + i), nb.ack(r.seq, PORT)));
    const results = await Promise.all(ps);
    results.forEach((replies, i) => expect(replies.map(marker)).toEqual([1000 + i, 2000 + i]));
    expect(conn.inFlight).toBe(0);
  });

  it('replies for unknown sequence numbers, NOOP and OVERRUN are ignored', async () => {
    const { t, conn } = setup();
    const p = conn.request(req('a'));
    await flush();
    const seq = t.last().seq;
    t.deliver(nb.cat(nb.ack(seq + 100, PORT), data(seq + 101, 1), nb.nlmsg({ type: nb.NLMSG_NOOP, seq }), nb.nlmsg({ type: nb.NLMSG_OVERRUN, seq })));
    expect(conn.inFlight).toBe(1);
    t.deliver(nb.cat(data(seq, 5), nb.done(seq), nb.ack(seq, PORT)));
    expect((await p).map(marker)).toEqual([5]); // the DONE of a multi-part answer is not a data reply
  });
});

describe('ACK and ERROR matching', () => {
  it('a negative errno becomes a KernelError with errno, code, operation, object and seq', async () => {
    const { t, conn } = setup();
    t.respond = (r) => nb.nlmsgerr({ seq: r.seq, pid: PORT, errno: 17 });
    const err = await conn.request(req('add service')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    const k = err as KernelError;
    expect(k).toMatchObject({ errno: 17, code: 'EEXIST', operation: 'add service', object: 'tcp 10.0.0.1:80', seq: t.last().seq });
    expect(k.extack).toBeUndefined();
    expect(k.message).toBe('add service tcp 10.0.0.1:80 failed [EEXIST]');
  });

  it('EPERM says what privilege is needed', async () => {
    const { t, conn } = setup();
    t.respond = (r) => nb.nlmsgerr({ seq: r.seq, errno: 1 });
    await expect(conn.request(req('add service'))).rejects.toThrow(/CAP_NET_ADMIN.*\[EPERM\]/);
  });

  it('mapError replaces the KernelError, or keeps it by returning undefined', async () => {
    const { t, conn } = setup();
    t.respond = (r) => nb.nlmsgerr({ seq: r.seq, errno: 3 });
    const mapped = new IpvsError('no such service', 'ENOSERVICE');
    await expect(conn.request(req('x', { mapError: (e) => (e.code === 'ESRCH' ? mapped : undefined) }))).rejects.toBe(mapped);
    await expect(conn.request(req('x', { mapError: () => undefined }))).rejects.toBeInstanceOf(KernelError);
  });

  it('extended ack with NLM_F_CAPPED: message and attribute offset', async () => {
    const { t, conn } = setup();
    t.respond = (r) => nb.nlmsgerr({ seq: r.seq, errno: 22, capped: true, extack: { msg: 'Unknown scheduler', offs: 36 } });
    const err = (await conn.request(req('add service')).catch((e: unknown) => e)) as KernelError;
    expect(err).toBeInstanceOf(KernelError);
    expect(err.extack).toBe('Unknown scheduler');
    expect(err.extackOffset).toBe(36);
    expect(err.message).toBe('add service tcp 10.0.0.1:80 failed [EINVAL] (kernel: Unknown scheduler)');
  });

  it('extended ack with the whole request echoed (no NETLINK_CAP_ACK)', async () => {
    const { t, conn } = setup();
    t.respond = (r) => nb.nlmsgerr({ seq: r.seq, errno: 22, request: r.bytes, capped: false, extack: { msg: 'Attribute failed policy validation', offs: 20 } });
    const err = (await conn.request(req('add service')).catch((e: unknown) => e)) as KernelError;
    expect(err.extack).toBe('Attribute failed policy validation');
    expect(err.extackOffset).toBe(20);
  });

  it('an echoed request whose length is not a multiple of 4 is skipped with its padding', () => {
    const odd = nb.nlmsg({ type: FAMILY, flags: 5, seq: 9 }, [1, 2, 3, 4, 5]);
    expect(odd.readUInt32LE(0)).toBe(21);
    const [m] = nb.splitMessages(nb.nlmsgerr({ seq: 9, errno: 22, request: odd, capped: false, extack: { msg: 'odd', offs: 17 } }));
    const msg = { type: m!.type, flags: m!.flags, seq: m!.seq, portId: m!.pid, payload: m!.bytes.subarray(16) };
    expect(parseErrorPayload(msg)).toEqual({ errno: 22, extack: 'odd', extackOffset: 17 });
  });

  it('an ACK (errno 0) decodes as errno 0, not -0, and may carry TLVs', () => {
    const [m] = nb.splitMessages(nb.nlmsgerr({ seq: 1, errno: 0, extack: { msg: 'warning: deprecated' } }));
    const msg = { type: m!.type, flags: m!.flags, seq: 1, portId: 0, payload: m!.bytes.subarray(16) };
    const p = parseErrorPayload(msg);
    expect(Object.is(p.errno, 0)).toBe(true);
    expect(p).toEqual({ errno: 0, extack: 'warning: deprecated' });
  });

  it('malformed extended-ack TLVs do not hide the errno', async () => {
    const { t, conn } = setup();
    t.respond = (r) => nb.nlmsgerr({ seq: r.seq, errno: 16, extack: { extra: [0xff, 0xff, 0x01, 0x00, 0x00] } });
    const err = (await conn.request(req('x')).catch((e: unknown) => e)) as KernelError;
    expect(err).toBeInstanceOf(KernelError);
    expect(err.code).toBe('EBUSY');
    expect(err.extack).toBeUndefined();
  });

  it('an echoed length that runs past the payload or is absurd yields no extack, not a crash', () => {
    for (const origLen of [0, 3, 200, 0x7ffffffd, 0xfffffffd]) {
      const payload = nb.cat(nb.le32(-22), nb.le32(origLen), new Array(12).fill(0), nb.str(1, 'x'));
      expect(parseErrorPayload({ type: 2, flags: nb.F_ACK_TLVS, seq: 0, portId: 0, payload }).errno).toBe(22);
    }
  });

  it('a truncated NLMSG_ERROR fails its request with a DecodeError', async () => {
    const { t, conn } = setup();
    t.respond = (r) => nb.nlmsg({ type: nb.NLMSG_ERROR, seq: r.seq }, [0xea, 0xff]);
    await expect(conn.request(req('x'))).rejects.toBeInstanceOf(DecodeError);
    expect(conn.inFlight).toBe(0);
  });
});

describe('batch', () => {
  it('writes N requests in ONE datagram; each promise settles by its own ack', async () => {
    const { t, conn } = setup();
    const n = 50;
    const ps = conn.batch(Array.from({ length: n }, (_, i) => req(`op${i}`)));
    await flush();
    expect(t.sent).toHaveLength(1);
    const rs = nb.splitMessages(t.sent[0]!);
    expect(rs).toHaveLength(n);
    expect(rs.every((r) => r.flags === 0x05 && r.pid === PORT)).toBe(true);
    // Answer in one datagram, shuffled: every third fails with its own errno.
    const order = [...rs.keys()].sort((a, b) => ((a * 7919) % n) - ((b * 7919) % n));
    t.deliver(nb.cat(...order.map((i) => (i % 3 === 0 ? nb.nlmsgerr({ seq: rs[i]!.seq, errno: 2 }) : nb.ack(rs[i]!.seq)))));
    const results = await Promise.allSettled(ps);
    results.forEach((r, i) => {
      if (i % 3 === 0) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'ENOENT', operation: `op${i}`, seq: rs[i]!.seq });
      } else {
        expect(r).toEqual({ status: 'fulfilled', value: [] });
      }
    });
  });

  it('batchOutcomes settles once every request is answered, shuffled answers in their places', async () => {
    const { t, conn } = setup();
    let settled = false;
    const p = conn.batchOutcomes([req('a'), req('b'), req('c')]).then((o) => ((settled = true), o));
    await flush();
    const rs = nb.splitMessages(t.sent[0]!);
    t.deliver(nb.cat(nb.ack(rs[2]!.seq), nb.nlmsgerr({ seq: rs[0]!.seq, errno: 2 })));
    await flush();
    expect(settled).toBe(false);
    t.deliver(nb.ack(rs[1]!.seq));
    const outcomes = await p;
    expect(outcomes[0]).toMatchObject({ code: 'ENOENT', operation: 'a' });
    expect(outcomes.slice(1)).toEqual([undefined, undefined]);
    expect(conn.inFlight).toBe(0);
  });

  it('batchOutcomes of a batch that cannot be encoded: the error for every request, nothing sent', async () => {
    const { t, conn } = setup();
    const outcomes = await conn.batchOutcomes([req('ok'), req('bad', { body: (w) => w.u8(1, 300) })]);
    expect(outcomes).toHaveLength(2);
    expect(outcomes.every((e) => e instanceof Error && e === outcomes[0])).toBe(true);
    expect(t.sent).toHaveLength(0);
    expect(conn.inFlight).toBe(0);
  });

  it('an empty batch sends nothing', () => {
    const { t, conn } = setup();
    expect(conn.batch([])).toEqual([]);
    expect(t.sent).toHaveLength(0);
  });

  it('a body that cannot be encoded rejects the whole batch, sends nothing, and the next batch works', async () => {
    const { t, conn } = setup();
    const bad = req('bad', { body: (w) => w.u8(1, 300) });
    const ps = conn.batch([req('ok'), bad]);
    expect(ps).toHaveLength(2);
    for (const p of ps) await expect(p).rejects.toThrow();
    expect(t.sent).toHaveLength(0);
    expect(conn.inFlight).toBe(0);
    t.respond = (r) => nb.ack(r.seq);
    await expect(Promise.all(conn.batch([req('a'), req('b')]))).resolves.toEqual([[], []]);
    expect(nb.splitMessages(t.sent[0]!)).toHaveLength(2); // no leftovers of the failed batch
  });
});

describe('dumps', () => {
  it('streams parts across several datagrams until NLMSG_DONE', async () => {
    const { t, conn } = setup();
    const it = conn.dump(req('list'));
    const got = collect(it);
    await t.waitForSends(1);
    const seq = t.last().seq;
    t.deliver(nb.cat(part(seq, 1), part(seq, 2)));
    await flush();
    t.deliver(part(seq, 3));
    t.deliver(nb.cat(part(seq, 4), nb.done(seq)));
    expect(await got).toEqual({ parts: [1, 2, 3, 4] });
    expect(conn.inFlight).toBe(0);
  });

  it('dumpAll collects parts across datagrams through its map, one promise; errors and a throwing map end it', async () => {
    const { t, conn } = setup();
    const all = conn.dumpAll(req('list'), {}, marker);
    await t.waitForSends(1);
    const seq = t.last().seq;
    t.deliver(nb.cat(part(seq, 1), part(seq, 2)));
    await flush();
    t.deliver(nb.cat(part(seq, 3), nb.done(seq)));
    expect(await all).toEqual([1, 2, 3]);
    expect(conn.inFlight).toBe(0);

    t.respond = (r) => [part(r.seq, 1), nb.done(r.seq, { errno: 90 })];
    await expect(conn.dumpAll(req('list'), {}, marker)).rejects.toMatchObject({ code: 'EMSGSIZE', operation: 'list' });
    t.respond = (r) => nb.done(r.seq);
    expect(await conn.dumpAll(req('list'), {}, marker)).toEqual([]);

    t.respond = undefined;
    const bad = conn.dumpAll(req('list'), {}, (m) => {
      if (marker(m) === 2) throw new Error('undecodable');
      return marker(m);
    });
    await t.waitForSends(4);
    const seq2 = t.last().seq;
    t.deliver(nb.cat(part(seq2, 1), part(seq2, 2)));
    await expect(bad).rejects.toThrow('undecodable');
    // The kernel still runs that dump: its rest is read and dropped, and a dump started meanwhile waits
    // for its end (the kernel would refuse it with EBUSY) instead of being sent.
    expect(conn.inFlight).toBe(1);
    t.respond = (r) => [part(r.seq, 9), nb.done(r.seq)];
    const next = conn.dumpAll(req('next'), {}, marker);
    await flush();
    expect(t.sent).toHaveLength(4);
    t.deliver(nb.cat(part(seq2, 3), nb.done(seq2)));
    expect(await next).toEqual([9]);
    expect(conn.inFlight).toBe(0);
  });

  it('an empty dump is just DONE', async () => {
    const { t, conn } = setup();
    t.respond = (r) => nb.done(r.seq);
    expect(await collect(conn.dump(req('list')))).toEqual({ parts: [] });
  });

  it('DONE carrying a negative errno fails the dump after the parts, with its extended ack', async () => {
    const { t, conn } = setup();
    t.respond = (r) => [part(r.seq, 1), nb.done(r.seq, { errno: 90, extackMsg: 'message too long' })];
    const { parts, error } = await collect(conn.dump(req('list')));
    expect(parts).toEqual([1]);
    expect(error).toBeInstanceOf(KernelError);
    expect(error).toMatchObject({ code: 'EMSGSIZE', extack: 'message too long', operation: 'list' });
  });

  it('parseDonePayload: a DONE without the int (old kernels) means success', () => {
    expect(parseDonePayload({ type: 3, flags: 2, seq: 0, portId: 0, payload: Buffer.alloc(0) })).toEqual({ errno: 0 });
  });

  it('an NLMSG_ERROR instead of parts fails the dump', async () => {
    const { t, conn } = setup();
    t.respond = (r) => nb.nlmsgerr({ seq: r.seq, errno: 95 });
    const { parts, error } = await collect(conn.dump(req('list', { mapError: (e) => new IpvsError(`mapped ${e.code}`, 'X') })));
    expect(parts).toEqual([]);
    expect((error as Error).message).toBe('mapped EOPNOTSUPP');
  });

  it('NLM_F_DUMP_INTR: every part is delivered, then DumpInterruptedError', async () => {
    const { t, conn } = setup();
    t.respond = (r) => [nb.cat(part(r.seq, 1), part(r.seq, 2, nb.F_DUMP_INTR)), nb.cat(part(r.seq, 3), nb.done(r.seq))];
    const { parts, error } = await collect(conn.dump(req('list')));
    expect(parts).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(DumpInterruptedError);
    expect((error as DumpInterruptedError).code).toBe('EDUMPINTR');
  });

  it('NLM_F_DUMP_INTR on the DONE alone also counts', async () => {
    const { t, conn } = setup();
    t.respond = (r) => [part(r.seq, 1), nb.done(r.seq, { flags: nb.F_DUMP_INTR })];
    expect((await collect(conn.dump(req('list')))).error).toBeInstanceOf(DumpInterruptedError);
  });

  it('a dump and a request interleaved in the same datagrams are kept apart', async () => {
    const { t, conn } = setup();
    const got = collect(conn.dump(req('list')));
    const p = conn.request(req('get'));
    await t.waitForSends(2);
    const [d, r] = t.requests();
    t.deliver(nb.cat(part(d!.seq, 1), data(r!.seq, 50), part(d!.seq, 2)));
    t.deliver(nb.cat(nb.ack(r!.seq), nb.done(d!.seq)));
    expect((await p).map(marker)).toEqual([50]);
    expect(await got).toEqual({ parts: [1, 2] });
  });

  it('the request is only sent when iteration starts', async () => {
    const { t, conn } = setup();
    const it = conn.dump(req('list'));
    await flush();
    expect(t.sent).toHaveLength(0);
    t.respond = (r) => nb.done(r.seq);
    await collect(it);
    expect(t.sent).toHaveLength(1);
  });

  it('an early break leaks nothing: the rest of the dump is read and dropped, then nothing stays pending', async () => {
    const { t, conn } = setup();
    let seq = 0;
    const seen: number[] = [];
    const it = conn.dump(req('list'));
    const iterating = (async () => {
      for await (const m of it) {
        seen.push(marker(m));
        if (seen.length === 2) break;
      }
    })();
    await t.waitForSends(1);
    seq = t.last().seq;
    t.deliver(nb.cat(part(seq, 1), part(seq, 2), part(seq, 3)));
    await iterating;
    expect(seen).toEqual([1, 2]);
    // The kernel still sends the rest (it refuses another dump on the socket until then): read, dropped.
    expect(conn.inFlight).toBe(1);
    expect(() => t.deliver(nb.cat(part(seq, 4), nb.done(seq)))).not.toThrow();
    expect(conn.inFlight).toBe(0);
    expect(t.holds).toEqual([true, false]);
    t.respond = (r) => nb.ack(r.seq);
    await expect(conn.request(req('after'))).resolves.toEqual([]);
  });

  it('next() after return() reports done instead of waiting forever', async () => {
    const { t, conn } = setup();
    const iter = conn.dump(req('list'))[Symbol.asyncIterator]();
    const first = iter.next();
    await t.waitForSends(1);
    t.deliver(part(t.last().seq, 1));
    expect((await first).value).toBeDefined();
    await iter.return!();
    await expect(iter.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it('after a failure the iterator is finished', async () => {
    const { t, conn } = setup();
    t.respond = (r) => nb.nlmsgerr({ seq: r.seq, errno: 22 });
    const iter = conn.dump(req('list'))[Symbol.asyncIterator]();
    await expect(iter.next()).rejects.toBeInstanceOf(KernelError);
    await expect(iter.next()).resolves.toEqual({ value: undefined, done: true });
  });
});

describe('timeouts', () => {
  it('a request with no answer fails with TimeoutError; the late reply is ignored', async () => {
    vi.useFakeTimers();
    const { t, conn } = setup({ timeoutMs: 5000 });
    const p = conn.request(req('slow'));
    const caught = p.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(4999);
    expect(conn.inFlight).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const err = await caught;
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).code).toBe('ETIMEDOUT');
    expect((err as Error).message).toBe('slow: no answer from the kernel within 5000 ms');
    // Sent: its outcome is unknown (a listing's says nothing of it).
    expect((err as TimeoutError).sent).toBe(true);
    expect(conn.inFlight).toBe(0);
    expect(() => t.deliver(nb.ack(t.last().seq))).not.toThrow();
    expect(t.holds).toEqual([true, false]);
  });

  it('the per-request timeout overrides the default; 0 waits forever', async () => {
    vi.useFakeTimers();
    const { t, conn } = setup({ timeoutMs: 100 });
    const fast = conn.request(req('fast'), { timeoutMs: 10 }).catch((e: unknown) => e);
    const forever = conn.request(req('forever'), { timeoutMs: 0 });
    await vi.advanceTimersByTimeAsync(10_000_000);
    expect(await fast).toBeInstanceOf(TimeoutError);
    expect(conn.inFlight).toBe(1);
    t.deliver(nb.ack(t.last().seq));
    await expect(forever).resolves.toEqual([]);
  });

  it('a dump that stalls times out after the parts it got', async () => {
    vi.useFakeTimers();
    const { t, conn } = setup({ timeoutMs: 1000 });
    const got = collect(conn.dump(req('list')));
    await vi.advanceTimersByTimeAsync(0);
    const seq = t.last().seq;
    t.deliver(part(seq, 1));
    await vi.advanceTimersByTimeAsync(1000);
    const { parts, error } = await got;
    expect(parts).toEqual([1]);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe('list: no answer from the kernel within 1000 ms');
    expect((error as TimeoutError).sent).toBeUndefined();
    // The kernel may still be running the dump (it refuses another on the socket until its end is read):
    // the rest is read and dropped, and a listing started meanwhile is sent only then.
    expect(conn.inFlight).toBe(1);
    const next = collect(conn.dump(req('list again')));
    await vi.advanceTimersByTimeAsync(0);
    expect(t.sent).toHaveLength(1);
    t.deliver(nb.cat(part(seq, 2), nb.done(seq)));
    await vi.advanceTimersByTimeAsync(0);
    expect(t.sent).toHaveLength(2);
    await answersLast(t, conn, next);
  });

  it('a timed-out dump whose end never comes is given up after the timeout once more; the next listing goes then', async () => {
    vi.useFakeTimers();
    const { t, conn } = setup({ timeoutMs: 1000 });
    const got = collect(conn.dump(req('list')));
    await vi.advanceTimersByTimeAsync(1000);
    expect((await got).error).toBeInstanceOf(TimeoutError);
    const next = collect(conn.dump(req('list again')));
    await vi.advanceTimersByTimeAsync(999);
    expect(t.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.sent).toHaveLength(2);
    await answersLast(t, conn, next);
  });

  it('an iterated listing that times out while its loop runs says so, not that the kernel did not answer', async () => {
    vi.useFakeTimers();
    const { t, conn } = setup({ timeoutMs: 1000 });
    const it = conn.dump(req('list'))[Symbol.asyncIterator]();
    const first = it.next();
    await vi.advanceTimersByTimeAsync(0);
    const seq = t.last().seq;
    t.deliver(part(seq, 1));
    expect(marker((await first).value as NetlinkMessage)).toBe(1);
    // The loop's body takes the time: nobody waits for the kernel when the timer fires.
    await vi.advanceTimersByTimeAsync(1000);
    await expect(it.next()).rejects.toThrow('list: the listing was not read to its end within 1000 ms');
    t.deliver(nb.cat(part(seq, 2), nb.done(seq)));
    expect(conn.inFlight).toBe(0);
  });

  it('an iterated listing whose loop holds the event loop past the timeout says so too, though the late timer fires while it waits', async () => {
    // Real timers: synchronous work in the loop's body delays the timer until the loop next waits for the
    // kernel; the kernel had only a sliver of the time, so the message must not blame it.
    const { t, conn } = setup({ timeoutMs: 50 });
    const it = conn.dump(req('list'))[Symbol.asyncIterator]();
    const first = it.next();
    await new Promise((resolve) => setImmediate(resolve));
    const seq = t.last().seq;
    t.deliver(part(seq, 1));
    expect(marker((await first).value as NetlinkMessage)).toBe(1);
    const until = performance.now() + 120;
    while (performance.now() < until);
    await expect(it.next()).rejects.toThrow('list: the listing was not read to its end within 50 ms');
    t.deliver(nb.cat(part(seq, 2), nb.done(seq)));
    expect(conn.inFlight).toBe(0);
  });

  it('an iterated listing whose consumer waited for the kernel all along still says the kernel did not answer', async () => {
    const { conn } = setup({ timeoutMs: 50 });
    const it = conn.dump(req('list'))[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toThrow('list: no answer from the kernel within 50 ms');
  });

  it('a listing waiting its turn: it waits while the listing ahead moves, and its timer starts again when it is sent', async () => {
    vi.useFakeTimers();
    const { t, conn } = setup({ timeoutMs: 1000 });
    const first = conn.dumpAll(req('first'), { timeoutMs: 5000 }, marker);
    const queued = collect(conn.dump(req('queued')));
    const seq = t.last().seq;
    // 3 s in all, but a part of the listing ahead every 600 ms: the wait goes on.
    for (let i = 1; i <= 5; i++) {
      await vi.advanceTimersByTimeAsync(600);
      t.deliver(part(seq, i));
    }
    expect(t.sent).toHaveLength(1);
    t.deliver(nb.done(seq));
    expect(await first).toEqual([1, 2, 3, 4, 5]);
    await vi.advanceTimersByTimeAsync(999);
    expect(t.sent).toHaveLength(2);
    expect(conn.inFlight).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const { error } = await queued;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe('queued: no answer from the kernel within 1000 ms');
  });

  it('a settled request leaves no timer behind', async () => {
    vi.useFakeTimers();
    const { t, conn } = setup({ timeoutMs: 1000 });
    t.respond = (r) => nb.ack(r.seq);
    await conn.request(req('quick'));
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('AbortSignal', () => {
  const warnings = collectProcessWarnings();

  it('already aborted: AbortError, nothing sent', async () => {
    const { t, conn } = setup();
    const signal = AbortSignal.abort(new Error('user gave up'));
    const err = await conn.request(req('add'), { signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).code).toBe('ABORT_ERR');
    expect(((err as AbortError).cause as Error).message).toBe('user gave up');
    const errs = await Promise.all(conn.batch([req('a'), req('b')], { signal }).map((p) => p.catch((e: unknown) => e)));
    expect(errs.every((e) => e instanceof AbortError)).toBe(true);
    expect((await collect(conn.dump(req('list'), { signal }))).error).toBeInstanceOf(AbortError);
    expect(t.sent).toHaveLength(0);
    expect(conn.inFlight).toBe(0);
  });

  it('aborted while waiting: AbortError at once, the late ack is ignored', async () => {
    const { t, conn } = setup();
    const ac = new AbortController();
    const p = conn.request(req('add'), { signal: ac.signal }).catch((e: unknown) => e);
    await flush();
    ac.abort();
    expect(await p).toBeInstanceOf(AbortError);
    expect(conn.inFlight).toBe(0);
    t.deliver(nb.ack(t.last().seq));
  });

  it('aborting a batch fails all of its requests', async () => {
    const { conn } = setup();
    const ac = new AbortController();
    const ps = conn.batch([req('a'), req('b'), req('c')], { signal: ac.signal }).map((p) => p.catch((e: unknown) => e));
    ac.abort();
    expect((await Promise.all(ps)).every((e) => e instanceof AbortError)).toBe(true);
  });

  it('aborted during a dump: the parts so far, then AbortError', async () => {
    const { t, conn } = setup();
    const ac = new AbortController();
    const got = collect(conn.dump(req('list'), { signal: ac.signal }));
    await t.waitForSends(1);
    t.deliver(part(t.last().seq, 1));
    await flush();
    ac.abort();
    const { parts, error } = await got;
    expect(parts).toEqual([1]);
    expect(error).toBeInstanceOf(AbortError);
    // The rest of the dump is read and dropped; another listing waits for its end instead of meeting EBUSY.
    expect(conn.inFlight).toBe(1);
    const next = collect(conn.dump(req('list again')));
    await flush();
    expect(t.sent).toHaveLength(1);
    const seq = t.last().seq;
    t.deliver(nb.cat(part(seq, 2), part(seq, 3)));
    t.deliver(nb.done(seq));
    await flush();
    expect(t.sent).toHaveLength(2);
    await answersLast(t, conn, next);
  });

  it('a listing waiting its turn behind another dump and aborted: AbortError at once, never sent, and the listing behind it moves up', async () => {
    const { t, conn } = setup();
    const first = conn.dumpAll(req('first'), {}, marker);
    await t.waitForSends(1);
    const seq = t.last().seq;
    const ac = new AbortController();
    // Told apart on the wire by the genl command their bodies write.
    const cmd = (n: number): Partial<OutgoingRequest> => ({ body: (w) => w.genlHeader(n, 1) });
    const queued = conn.dumpAll(req('queued', cmd(2)), { signal: ac.signal }, marker).catch((e: unknown) => e);
    const behind = collect(conn.dump(req('behind', cmd(3))));
    await flush();
    ac.abort(new Error('user gave up'));
    // Settled while the dump ahead still runs: the caller does not wait for it.
    const err = await Promise.race([queued, flush().then(() => 'still waiting')]);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).message).toBe('queued: aborted');
    expect(((err as AbortError).cause as Error).message).toBe('user gave up');
    expect(t.sent).toHaveLength(1);
    t.deliver(nb.cat(part(seq, 1), nb.done(seq)));
    expect(await first).toEqual([1]);
    await flush();
    // The next one sent is the listing that was behind it; the aborted one never goes.
    expect(t.sent).toHaveLength(2);
    expect(t.requests().map((r) => r.bytes[16])).toEqual([1, 3]);
    await answersLast(t, conn, behind);
  });

  it('an iterated listing waiting its turn and aborted: next() rejects at once with AbortError; return() afterwards is done', async () => {
    const { t, conn } = setup();
    const first = conn.dumpAll(req('first'), {}, marker);
    await t.waitForSends(1);
    const seq = t.last().seq;
    const ac = new AbortController();
    const it = conn.dump(req('queued'), { signal: ac.signal })[Symbol.asyncIterator]();
    const next = it.next().catch((e: unknown) => e);
    await flush();
    ac.abort();
    expect(await Promise.race([next, flush().then(() => 'still waiting')])).toBeInstanceOf(AbortError);
    await expect(it.return!()).resolves.toEqual({ value: undefined, done: true });
    t.deliver(nb.done(seq));
    expect(await first).toEqual([]);
    await flush();
    expect(t.sent).toHaveLength(1);
    expect(conn.inFlight).toBe(0);
  });

  it('a listing that would wait its turn with its signal already aborted fails at once and takes no place in the queue', async () => {
    const { t, conn } = setup();
    const first = conn.dumpAll(req('first'), {}, marker);
    await t.waitForSends(1);
    const seq = t.last().seq;
    const signal = AbortSignal.abort();
    const out: number[] = [];
    const into = (): unknown => {
      try {
        return conn.dumpPayloadsInto(req('into'), { signal }, (buf, start) => buf.readUInt32LE(start + 8), out);
      } catch (err) {
        return Promise.reject(err);
      }
    };
    const errs = await Promise.all([
      Promise.race([conn.dumpAll(req('all'), { signal }, marker).catch((e: unknown) => e), flush().then(() => 'still waiting')]),
      Promise.race([(into() as Promise<void>).catch((e: unknown) => e), flush().then(() => 'still waiting')]),
      Promise.race([collect(conn.dump(req('iterated'), { signal })).then((r) => r.error), flush().then(() => 'still waiting')]),
    ]);
    expect(errs.map((e) => (e instanceof AbortError ? e.message : e))).toEqual(['all: aborted', 'into: aborted', 'iterated: aborted']);
    t.deliver(nb.done(seq));
    expect(await first).toEqual([]);
    await flush();
    expect(t.sent).toHaveLength(1);
    expect(conn.inFlight).toBe(0);
  });

  it('a listing that waited its turn leaves no abort listener behind on its signal', async () => {
    const { t, conn } = setup();
    const first = conn.dumpAll(req('first'), {}, marker);
    await t.waitForSends(1);
    const seq = t.last().seq;
    const ac = new AbortController();
    const add = vi.spyOn(ac.signal, 'addEventListener');
    const remove = vi.spyOn(ac.signal, 'removeEventListener');
    const queued = conn.dumpAll(req('queued'), { signal: ac.signal }, marker);
    await flush();
    t.deliver(nb.done(seq));
    await first;
    await t.waitForSends(2);
    const seq2 = t.last().seq;
    t.deliver(nb.cat(part(seq2, 3), nb.done(seq2)));
    expect(await queued).toEqual([3]);
    expect(add.mock.calls.length).toBeGreaterThan(0);
    expect(remove).toHaveBeenCalledTimes(add.mock.calls.length);
  });

  it('a batch adds ONE abort listener (no MaxListenersExceededWarning), removed when its last request settles', async () => {
    const { t, conn } = setup();
    const ac = new AbortController();
    const add = vi.spyOn(ac.signal, 'addEventListener');
    const remove = vi.spyOn(ac.signal, 'removeEventListener');
    const ps = conn.batch(Array.from({ length: 50 }, (_, i) => req(`op${i}`)), { signal: ac.signal });
    await flush();
    const seqs = t.requests().map((r) => r.seq);
    t.deliver(nb.cat(...seqs.slice(0, 49).map((seq) => nb.ack(seq))));
    expect(remove).not.toHaveBeenCalled();
    t.deliver(nb.ack(seqs[49]!));
    await Promise.all(ps);
    expect(add).toHaveBeenCalledTimes(1);
    expect(remove).toHaveBeenCalledTimes(1);
    await flush();
    expect(warnings().filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('the abort listener is removed once the request settles', async () => {
    const { t, conn } = setup();
    const ac = new AbortController();
    const add = vi.spyOn(ac.signal, 'addEventListener');
    const remove = vi.spyOn(ac.signal, 'removeEventListener');
    t.respond = (r) => nb.ack(r.seq);
    await conn.request(req('a'), { signal: ac.signal });
    expect(add).toHaveBeenCalledTimes(1);
    expect(remove).toHaveBeenCalledTimes(1);
    ac.abort(); // nothing left to fail
  });

  it('many requests in flight sharing one signal: one listener on it in all, gone when the last settles; an abort fails each', async () => {
    // A listener per request made every addEventListener and removeEventListener walk the signal's list: 20 000
    // calls sharing a signal cost some 9 s of CPU more than without it.
    const { t, conn } = setup();
    const ac = new AbortController();
    const add = vi.spyOn(ac.signal, 'addEventListener');
    t.respond = (r) => nb.ack(r.seq);
    const first = Array.from({ length: 200 }, (_, i) => conn.request(req(`op${i}`), { signal: ac.signal }));
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    await Promise.all(first);
    expect(add).toHaveBeenCalledTimes(1);
    expect(getEventListeners(ac.signal, 'abort')).toEqual([]);
    t.respond = undefined;
    // Fewer than the transport's buffer has room for the answers of: all sent.
    const second = Array.from({ length: 100 }, (_, i) => conn.request(req(`op${i}`), { signal: ac.signal }).catch((e: unknown) => e));
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort();
    expect((await Promise.all(second)).every((e) => e instanceof AbortError && e.sent === true)).toBe(true);
    expect(conn.inFlight).toBe(0);
    expect(getEventListeners(ac.signal, 'abort')).toEqual([]);
  });
});

describe('close', () => {
  it('fails everything in flight with ClosedError and closes the transport once', async () => {
    const { t, conn } = setup();
    const a = conn.request(req('a')).catch((e: unknown) => e);
    const bs = conn.batch([req('b1'), req('b2')]).map((p) => p.catch((e: unknown) => e));
    const d = collect(conn.dump(req('list')));
    await t.waitForSends(3);
    t.deliver(part(t.last().seq, 1));
    await flush();
    await conn.close();
    await conn.close();
    expect(t.closeCalls).toBe(1);
    expect(await a).toBeInstanceOf(ClosedError);
    for (const b of await Promise.all(bs)) expect(b).toBeInstanceOf(ClosedError);
    const { parts, error } = await d;
    expect(parts).toEqual([1]);
    expect(error).toBeInstanceOf(ClosedError);
    expect((error as ClosedError).code).toBe('ECLOSED');
    expect(conn.inFlight).toBe(0);
    expect(t.holds).toEqual([true, false]);
  });

  it('a second close() made while the first releases the transport resolves only once it is released', async () => {
    const { t, conn } = setup();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const close = t.close.bind(t);
    t.close = async () => {
      await released;
      await close();
    };
    const order: string[] = [];
    const first = conn.close().then(() => order.push('first'));
    const second = conn.close().then(() => order.push('second'));
    await flush();
    expect(order).toEqual([]);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    expect(t.closeCalls).toBe(1);
  });

  it('requests after close fail with ClosedError and send nothing', async () => {
    const { t, conn } = setup();
    await conn.close();
    await expect(conn.request(req('a'))).rejects.toBeInstanceOf(ClosedError);
    for (const p of conn.batch([req('a'), req('b')])) await expect(p).rejects.toBeInstanceOf(ClosedError);
    expect((await collect(conn.dump(req('list')))).error).toBeInstanceOf(ClosedError);
    expect(t.sent).toHaveLength(0);
  });
});

describe('transport errors', () => {
  it('ENOBUFS (non-fatal) fails the waiting requests and dumps with KernelError ENOBUFS; later requests work', async () => {
    const { t, conn } = setup();
    const a = conn.request(req('add service')).catch((e: unknown) => e);
    const d = collect(conn.dump(req('list')));
    await t.waitForSends(2);
    t.error(errnoError('ENOBUFS', 105), false);
    const err = (await a) as KernelError;
    expect(err).toBeInstanceOf(KernelError);
    expect(err).toMatchObject({ code: 'ENOBUFS', errno: 105, operation: 'add service' });
    expect(err.message).toMatch(/receive buffer overflowed.*read the table back/);
    expect((await d).error).toMatchObject({ code: 'ENOBUFS' });
    // The dump itself goes on in the kernel (its parts wait for reads, they are not dropped): read to its end.
    expect(conn.inFlight).toBe(1);
    t.deliver(nb.done(t.sent.length === 2 ? t.last().seq : -1));
    expect(conn.inFlight).toBe(0);
    expect(t.holds.at(-1)).toBe(false);
    t.respond = (r) => ((r.flags & nb.F_DUMP) !== 0 ? [part(r.seq, 9), nb.done(r.seq)] : nb.ack(r.seq));
    await expect(conn.request(req('again'))).resolves.toEqual([]);
    expect(await collect(conn.dump(req('list')))).toEqual({ parts: [9] });
  });

  it('another error of a read (non-fatal) leaves a listing given up already to read to its end, as an overflow does: the next listing waits for it', async () => {
    const { t, conn } = setup();
    const seen: number[] = [];
    const iterating = (async () => {
      for await (const m of conn.dump(req('list'))) {
        seen.push(marker(m));
        break;
      }
    })();
    await t.waitForSends(1);
    const first = t.last().seq;
    t.deliver(nb.cat(part(first, 1), part(first, 2)));
    await iterating;
    expect(seen).toEqual([1]);
    expect(conn.inFlight).toBe(1); // given up, its rest still to come
    t.error(errnoError('EIO', 5, 'recvmsg'), false);
    // The kernel still runs that dump and refuses another on the socket (EBUSY) until its end is read: the next
    // listing is not sent before it (it used to be: the given-up listing was dropped on any error but ENOBUFS).
    const next = collect(conn.dump(req('next')));
    await flush();
    expect(t.sent).toHaveLength(1);
    expect(conn.inFlight).toBe(1);
    t.deliver(nb.cat(part(first, 3), nb.done(first)));
    await t.waitForSends(2);
    await answersLast(t, conn, next);
  });

  it('another error of a read (non-fatal) fails the requests sent, not those still waiting for room: they go out in turn', async () => {
    const t = new ScriptedTransport({ portId: PORT, receiveBufferSize: 4096 });
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const settle = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'ok', (e: unknown) => e);
    // 4 KiB: two answers awaited at once, the other three wait for room.
    const calls = Array.from({ length: 5 }, (_, i) => settle(conn.request(req(`op${i}`))));
    expect(t.sent).toHaveLength(2);
    t.respond = (r) => nb.ack(r.seq);
    t.error(errnoError('EIO', 5, 'recvmsg'), false);
    const outcomes = await Promise.all(calls);
    expect(outcomes.slice(0, 2)).toMatchObject([{ name: 'KernelError', code: 'EIO' }, { name: 'KernelError', code: 'EIO' }]);
    expect(outcomes.slice(2)).toEqual(['ok', 'ok', 'ok']);
    expect(t.sent).toHaveLength(5);
  });

  it('another error of a read while a batch is being sent: its later datagrams are not sent, and say so', async () => {
    const { t, conn } = setup();
    // One message per datagram; the socket reports the error during the first send.
    Object.assign(t, { maxDatagramSize: 40 });
    t.respond = (r, tr) => {
      if (tr.sent.length === 1) tr.error(errnoError('EIO', 5, 'recvmsg'), false);
      return nb.ack(r.seq);
    };
    const outcomes = await conn.batchOutcomes([req('a'), req('b'), req('c')]);
    expect(outcomes[0]).toMatchObject({ name: 'KernelError', code: 'EIO' });
    for (const e of outcomes.slice(1)) {
      expect(e).toBeInstanceOf(NotSentError);
      expect(e!.message).toMatch(/^[bc]: not sent: the socket reported an error \(recvmsg: EIO\) on an earlier part of the same batch$/);
    }
    expect(t.sent).toHaveLength(1);
  });

  it('a fatal transport error fails everything and every later request', async () => {
    const { t, conn } = setup();
    const a = conn.request(req('a')).catch((e: unknown) => e);
    await flush();
    const fatal = errnoError('EBADF', 9, 'poll');
    t.error(fatal, true);
    // It ends the client as close() does, and says what to do; the socket's error is the cause.
    expect(await a).toBeInstanceOf(ClosedError);
    expect(await a).toMatchObject({
      code: 'ECLOSED', sent: true, cause: fatal,
      message: 'a (already sent: its outcome is unknown): the netlink socket failed (poll: EBADF): this client can send nothing more; close it and open a new one',
    });
    const later = await conn.request(req('b')).catch((e: unknown) => e);
    expect(later).toMatchObject({ name: 'ClosedError', sent: false, cause: fatal, message: expect.stringMatching(/^b \(not sent\): the netlink socket failed/) });
    expect((await collect(conn.dump(req('list')))).error).toMatchObject({ name: 'ClosedError', sent: undefined, cause: fatal });
    expect(t.sent).toHaveLength(1);
  });

  it('a fatal transport error: changes still waiting for room say they were not sent, listings waiting their turn are refused', async () => {
    const t = new ScriptedTransport({ portId: PORT, receiveBufferSize: 4096 });
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const settle = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'ok', (e: unknown) => e);
    // 4 KiB: two answers awaited at once, the other changes wait for room; the listing waits behind them.
    const changes = Array.from({ length: 5 }, (_, i) => settle(conn.request(req(`op${i}`))));
    const listing = collect(conn.dump(req('list')));
    const bulk = conn.batchOutcomes([req('bulk0'), req('bulk1')]);
    expect(t.sent).toHaveLength(2);
    t.error(errnoError('EBADF', 9, 'poll'), true);
    const outcomes = (await Promise.all(changes)) as ClosedError[];
    expect(outcomes.map((e) => e.name)).toEqual(new Array(5).fill('ClosedError'));
    expect(outcomes.map((e) => e.sent)).toEqual([true, true, false, false, false]);
    expect(outcomes[4]!.message).toBe('op4 (not sent): the netlink socket failed (poll: EBADF): this client can send nothing more; close it and open a new one');
    expect((await bulk).map((e) => (e as ClosedError).sent)).toEqual([false, false]);
    expect((await listing).error).toMatchObject({ name: 'ClosedError', sent: undefined });
    expect(t.sent).toHaveLength(2);
    expect(conn.inFlight).toBe(0);
  });

  it('an undecodable datagram fails the waiting requests with a DecodeError', async () => {
    const { t, conn } = setup();
    const a = conn.request(req('a')).catch((e: unknown) => e);
    await flush();
    t.deliver(Buffer.from([1, 2, 3]));
    expect(await a).toBeInstanceOf(DecodeError);
  });

  it('an undecodable datagram during a dump: DecodeError, then the rest is dropped up to its end, and the next listing runs', async () => {
    const { t, conn } = setup();
    const got = collect(conn.dump(req('list')));
    await flush();
    const seq = t.last().seq;
    t.deliver(part(seq, 1));
    await flush();
    t.deliver(Buffer.from([1, 2, 3]));
    const { parts, error } = await got;
    expect(parts).toEqual([1]);
    expect(error).toBeInstanceOf(DecodeError);
    const next = collect(conn.dump(req('list again')));
    await flush();
    expect(t.sent).toHaveLength(1);
    t.deliver(part(seq, 2));
    t.deliver(nb.done(seq));
    await flush();
    expect(t.sent).toHaveLength(2);
    await answersLast(t, conn, next);
  });

  it('an unreadable end (an ERROR too short for its errno) still ends the dump: its error, and nothing left in flight', async () => {
    const { t, conn } = setup();
    const got = collect(conn.dump(req('list')));
    await flush();
    const seq = t.last().seq;
    t.deliver(nb.nlmsg({ type: nb.NLMSG_ERROR, seq, pid: PORT }, Buffer.from([1, 2])));
    expect((await got).error).toBeInstanceOf(DecodeError);
    expect(conn.inFlight).toBe(0);
  });

  it('a failed send fails its requests (with the errno as a KernelError); a throwing send too', async () => {
    const { t, conn } = setup();
    t.failNextSend = errnoError('EMSGSIZE', 90, 'sendmsg');
    const ps = conn.batch([req('a'), req('b')]).map((p) => p.catch((e: unknown) => e));
    for (const e of await Promise.all(ps)) expect(e).toMatchObject({ code: 'EMSGSIZE', errno: 90 });
    t.throwNextSend = new Error('broken');
    const thrown = conn.request(req('c'));
    await expect(thrown).rejects.toThrow('broken');
    t.throwNextSend = new Error('broken dump');
    expect((await collect(conn.dump(req('list')))).error).toMatchObject({ message: 'broken dump' });
    expect(conn.inFlight).toBe(0);
  });
});

describe('hold(busy)', () => {
  it('is called true on 0 -> 1 pending and false on 1 -> 0, not in between', async () => {
    const { t, conn } = setup();
    const p1 = conn.request(req('a'));
    expect(t.holds).toEqual([true]);
    const p2 = conn.request(req('b'));
    const ps = conn.batch([req('c'), req('d')]);
    expect(t.holds).toEqual([true]);
    await flush();
    const seqs = t.requests().map((r) => r.seq);
    t.deliver(nb.cat(nb.ack(seqs[0]!), nb.ack(seqs[1]!), nb.ack(seqs[2]!)));
    expect(t.holds).toEqual([true]);
    t.deliver(nb.ack(seqs[3]!));
    expect(t.holds).toEqual([true, false]);
    await Promise.all([p1, p2, ...ps]);
    const p3 = conn.request(req('e'));
    expect(t.holds).toEqual([true, false, true]);
    t.deliver(nb.ack(t.last().seq));
    await p3;
    expect(t.holds).toEqual([true, false, true, false]);
  });

  it('the transport is attached once, at construction', () => {
    const { t } = setup();
    expect(t.attachCalls).toBe(1);
  });
});

/** Runs `body` counting the calls of Array.prototype.shift on arrays longer than 1 000 (each moves them whole). */
async function longShiftsDuring(body: () => Promise<void>): Promise<number> {
  const shift = Array.prototype.shift;
  let longShifts = 0;
  // Replaced by hand: a spy of vitest's own calls shift.
  Array.prototype.shift = function (this: unknown[]) {
    if (this.length > 1000) longShifts++;
    return shift.call(this);
  };
  try {
    await body();
  } finally {
    Array.prototype.shift = shift;
  }
  return longShifts;
}

describe('requests waiting for room for their answers', () => {
  it('a burst far beyond the room: the waiting batches are taken in order without moving the whole queue each time', async () => {
    // Array.prototype.shift on the queue of waiting batches moved every batch behind (quadratic: 60 000 calls made
    // without awaiting took 3.3 s instead of 1.8 s). Counted, not timed: no shift of a long array during the burst.
    const t = new ScriptedTransport({ portId: PORT, receiveBufferSize: 4096 });
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    t.respond = (r) => nb.ack(r.seq);
    const longShifts = await longShiftsDuring(async () => {
      const calls = Array.from({ length: 3000 }, (_, i) => conn.request(req(`op${i}`)));
      expect(t.sent).toHaveLength(2); // receiveBufferSize / 2048: the rest wait for room
      await Promise.all(calls);
    });
    expect(t.sent).toHaveLength(3000);
    expect(t.requests().map((r) => r.seq)).toEqual([...t.requests().map((r) => r.seq)].sort((a, b) => a - b));
    expect(longShifts).toBe(0);
    expect(conn.inFlight).toBe(0);
  });
});

describe('an iterated listing with many parts waiting', () => {
  it('its items are taken in order without moving the whole queue each time', async () => {
    // Parts arrive faster than an iterator takes them (a listing read ahead for one waiting behind it, or a socket
    // delivering through its events): Array.prototype.shift per item moved every item behind (quadratic in the
    // parts waiting). Counted, not timed.
    const { t, conn } = setup();
    const parts: number[] = [];
    const longShifts = await longShiftsDuring(async () => {
      const got = collect(conn.dump(req('list')));
      await flush();
      const seq = t.last().seq;
      t.deliver(nb.cat(...Array.from({ length: 3000 }, (_, i) => part(seq, i)), nb.done(seq)));
      parts.push(...(await got).parts);
    });
    expect(parts).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(longShifts).toBe(0);
    expect(conn.inFlight).toBe(0);
  });
});

describe('requests and listings waiting behind others: their timeout bounds the wait', () => {
  const settle = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'ok', (e: unknown) => e);
  /** 4 KiB: two answers awaited at once; `sent` changes with no timeout sent first, which nothing answers. */
  function stalled(sent = 2): { t: ScriptedTransport; conn: NetlinkConnection; ahead: Promise<unknown>[] } {
    const t = new ScriptedTransport({ portId: PORT, receiveBufferSize: 4096 });
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    const ahead = Array.from({ length: sent }, (_, i) => settle(conn.request(req(`ahead${i}`))));
    return { t, conn, ahead };
  }

  it('a change waiting for room behind changes never answered (timeoutMs 0) fails its own timeout, not sent', async () => {
    vi.useFakeTimers();
    const { t, conn } = stalled();
    const longer = settle(conn.request(req('longer'), { timeoutMs: 5000 }));
    const waiting = settle(conn.request(req('waiting'), { timeoutMs: 1000 }));
    const forever = settle(conn.request(req('forever')));
    let done = false;
    void longer.then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(2000);
    const err = (await waiting) as TimeoutError;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ sent: false, message: 'waiting (not sent): the requests ahead of it got no answer within 1000 ms' });
    // Each by its own timeout: the one ahead of it with a longer one waits on, and fails in its turn.
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(4000);
    expect(await longer).toMatchObject({ name: 'TimeoutError', sent: false, message: 'longer (not sent): the requests ahead of it got no answer within 5000 ms' });
    // Nothing of them was sent, later or now; the one behind them with no timeout waits on, and goes out once room frees.
    expect(t.sent).toHaveLength(2);
    t.deliver(nb.ack(t.requests()[0]!.seq));
    await vi.advanceTimersByTimeAsync(0);
    expect(t.sent).toHaveLength(3);
    t.deliver(nb.ack(t.last().seq));
    expect(await forever).toBe('ok');
  });

  it('a listing waiting behind changes that wait for room, none answered: its timeout ends its wait, not sent', async () => {
    vi.useFakeTimers();
    const { t, conn } = stalled();
    void settle(conn.request(req('queued')));
    const listing = collect(conn.dump(req('list'), { timeoutMs: 1000 }));
    const collected = settle(conn.dumpAll(req('list whole'), { timeoutMs: 1500 }, marker));
    await vi.advanceTimersByTimeAsync(3000);
    expect((await listing).error).toMatchObject({ name: 'TimeoutError', sent: undefined, message: 'list: not sent: the requests ahead of it got no answer within 1000 ms' });
    expect(await collected).toMatchObject({ name: 'TimeoutError', message: 'list whole: not sent: the requests ahead of it got no answer within 1500 ms' });
    expect(t.sent).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('the parts of a long listing read meanwhile free no room: a change waiting behind unanswered ones still times out', async () => {
    vi.useFakeTimers();
    const { t, conn } = stalled();
    const whole = conn.dumpAll(req('long list'), {}, marker);
    const seq = t.last().seq;
    expect(t.sent).toHaveLength(3);
    const waiting = settle(conn.request(req('waiting'), { timeoutMs: 1000 }));
    let outcome: unknown;
    void waiting.then((o) => {
      outcome = o;
    });
    // A part every 500 ms for 5 s: the listing moves on, the changes ahead of 'waiting' do not.
    const fed: number[] = [];
    for (let i = 0; i < 10 && outcome === undefined; i++) {
      await vi.advanceTimersByTimeAsync(500);
      t.deliver(part(seq, i));
      fed.push(i);
    }
    // Between its timeout and twice that: at most 4 parts fed.
    expect(outcome).toMatchObject({ name: 'TimeoutError', sent: false, message: 'waiting (not sent): the requests ahead of it got no answer within 1000 ms' });
    expect(fed.length).toBeLessThanOrEqual(4);
    expect(t.sent).toHaveLength(3);
    t.deliver(nb.done(seq));
    expect(await whole).toEqual(fed);
  });

  it('the wait goes on, however long, while the requests ahead are answered', async () => {
    vi.useFakeTimers();
    const { t, conn, ahead } = stalled();
    const queued = [settle(conn.request(req('queued0'))), settle(conn.request(req('queued1')))];
    const waiting = settle(conn.request(req('waiting'), { timeoutMs: 1000 }));
    // An answer every 600 ms: 'waiting' is sent after 1 800 ms of waiting, and its timer then starts.
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(600);
      t.deliver(nb.ack(t.requests()[i]!.seq));
      await vi.advanceTimersByTimeAsync(0);
    }
    expect(t.sent).toHaveLength(5);
    // The queue is empty: the one timer left is that of 'waiting''s answer.
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    t.deliver(nb.ack(t.last().seq));
    expect(await waiting).toBe('ok');
    expect(await Promise.all([ahead[0], ahead[1], queued[0]])).toEqual(['ok', 'ok', 'ok']);
    t.deliver(nb.ack(t.requests()[3]!.seq));
    expect(await queued[1]).toBe('ok');
    expect(conn.inFlight).toBe(0);
    // Nothing waits: no timer is left to keep a process alive.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a listing waiting behind a change that left the queue unsent (aborted) goes at once, not when the changes sent are answered', async () => {
    const { t, conn } = stalled();
    const ac = new AbortController();
    const queued = settle(conn.request(req('queued'), { signal: ac.signal }));
    const listing = collect(conn.dump(req('list')));
    expect(t.sent).toHaveLength(2);
    ac.abort();
    expect(await queued).toMatchObject({ name: 'AbortError', sent: false });
    // Only changes sent are ahead of it now, which a listing does not wait for.
    await t.waitForSends(3);
    expect(t.last().flags & nb.F_DUMP).toBe(nb.F_DUMP);
    t.deliver(nb.cat(part(t.last().seq, 7), nb.done(t.last().seq)));
    expect(await listing).toEqual({ parts: [7] });
    expect(conn.inFlight).toBe(2);
  });

  it('an iterator given up while its connection has no timeout, the rest of its listing never coming: a later listing times out, changes go on', async () => {
    vi.useFakeTimers();
    const { t, conn } = setup({ timeoutMs: 0 });
    const it = conn.dump(req('given up'))[Symbol.asyncIterator]();
    const first = it.next();
    const seq = t.last().seq;
    t.deliver(part(seq, 1));
    expect(marker((await first).value as NetlinkMessage)).toBe(1);
    await it.return!();
    // The kernel's dump is still held (its rest would be read and dropped): the next listing waits for it...
    const next = collect(conn.dump(req('next'), { timeoutMs: 1000 }));
    // ... but not a change.
    const change = conn.request(req('change'), { timeoutMs: 1000 });
    expect(t.sent).toHaveLength(2);
    t.deliver(nb.ack(t.last().seq));
    await expect(change).resolves.toEqual([]);
    await vi.advanceTimersByTimeAsync(2000);
    expect((await next).error).toMatchObject({ name: 'TimeoutError', message: 'next: not sent: the requests ahead of it got no answer within 1000 ms' });
    expect(t.sent).toHaveLength(2);
    // Its end, late: the socket is free again.
    t.deliver(nb.done(seq));
    expect(conn.inFlight).toBe(0);
    t.respond = (r) => [part(r.seq, 9), nb.done(r.seq)];
    expect(await collect(conn.dump(req('again')))).toEqual({ parts: [9] });
  });
});

describe('a send the transport refuses', () => {
  it('failing asynchronously: its requests say they were not sent, and free their room', async () => {
    const t = new ScriptedTransport({ portId: PORT, receiveBufferSize: 4096 });
    const conn = new NetlinkConnection(t, { timeoutMs: 0 });
    t.failNextSend = errnoError('ENOMEM', 12, 'sendmsg');
    const failed = conn.batch([req('a'), req('b')]).map((p) => p.catch((e: unknown) => e));
    const behind = conn.request(req('c'));
    for (const e of await Promise.all(failed)) {
      expect(e).toBeInstanceOf(KernelError);
      expect(e).toMatchObject({ code: 'ENOMEM', errno: 12 });
      expect((e as Error).message).toMatch(/^[ab] tcp 10\.0\.0\.1:80 \(not sent\): the socket did not take the request \(sendmsg: ENOMEM\) \[ENOMEM\]$/);
    }
    // The room their answers held is free: the request waiting behind them goes out.
    await t.waitForSends(2);
    t.deliver(nb.ack(t.last().seq));
    await expect(behind).resolves.toEqual([]);
  });

  it('throwing: the datagrams after it in the same batch are not sent', async () => {
    const { t, conn } = setup();
    // One message per datagram.
    Object.assign(t, { maxDatagramSize: 40 });
    t.throwNextSend = errnoError('EAGAIN', 11, 'sendmsg');
    const outcomes = await conn.batchOutcomes([req('a'), req('b'), req('c')]);
    expect(outcomes[0]).toMatchObject({ name: 'KernelError', code: 'EAGAIN', message: expect.stringContaining('(not sent)') });
    for (const e of outcomes.slice(1)) {
      expect(e).toBeInstanceOf(NotSentError);
      expect(e!.message).toMatch(/^[bc]: not sent: the transport refused the datagram on an earlier part of the same batch$/);
    }
    expect(t.sent).toHaveLength(0);
    expect(conn.inFlight).toBe(0);
  });
});

describe('one signal shared by many batches', () => {
  it('a handler that throws does not keep the others from being aborted; its error is thrown after them', async () => {
    const { t, conn } = setup();
    const ac = new AbortController();
    const broken: OutgoingRequest = {
      ...req('broken'),
      get label(): { operation: string } {
        throw new Error('no label');
      },
    };
    void conn.request(broken, { signal: ac.signal });
    const others = [conn.request(req('b'), { signal: ac.signal }), ...conn.batch([req('c'), req('d')], { signal: ac.signal })].map((p) => p.catch((e: unknown) => e));
    expect(t.sent).toHaveLength(3);
    // The engine's one listener, called as the signal would (whose dispatch reports a throw as uncaught).
    const [listener] = getEventListeners(ac.signal, 'abort');
    expect(() => (listener as (e: Event) => void)(new Event('abort'))).toThrow('no label');
    for (const e of await Promise.all(others)) expect(e).toMatchObject({ name: 'AbortError', sent: true });
  });
});

describe('many listings waiting their turn', () => {
  it('are taken in order without moving the whole queue each time', async () => {
    const { t, conn } = setup();
    const order: number[] = [];
    const longShifts = await longShiftsDuring(async () => {
      const it = conn.dump(req('first'))[Symbol.asyncIterator]();
      const first = it.next();
      const seq = t.last().seq;
      const waiting = Array.from({ length: 3000 }, (_, i) => conn.dumpAll(req(`list${i}`), {}, marker).then(() => order.push(i)));
      t.respond = (r) => [part(r.seq, 1), nb.done(r.seq)];
      t.deliver(nb.done(seq));
      expect((await first).done).toBe(true);
      await Promise.all(waiting);
    });
    expect(order).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(longShifts).toBe(0);
    expect(conn.inFlight).toBe(0);
  });
});
