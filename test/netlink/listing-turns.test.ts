// Listings taking turns on one connection (the kernel runs one dump per socket), at their edges: the rest of a
// listing given up whose end never comes (how long the next listing waits for it, and what ends that wait).

import { afterEach, describe, expect, it, vi } from 'vitest';
import { NetlinkConnection, type OutgoingRequest } from '../../src/netlink/connection.js';
import { AbortError, TimeoutError } from '../../src/netlink/errors.js';
import type { NetlinkMessage } from '../../src/netlink/reader.js';
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
});
