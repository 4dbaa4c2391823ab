// A listing read whole (dumpAll, dumpPayloads: services(), destinations(), the CLI's listings) times out when
// no part of it arrives for its timeoutMs, not when the whole listing takes longer: a big table the kernel
// answers steadily is read however long it takes. A stalled one still times out, and an AbortSignal bounds
// the whole call. A listing read by an iterator keeps its bound on the whole listing (docs/api.md).

import { afterEach, describe, expect, it, vi } from 'vitest';
import { NetlinkConnection, type OutgoingRequest } from '../../src/netlink/connection.js';
import { AbortError, TimeoutError } from '../../src/netlink/errors.js';
import type { NetlinkMessage } from '../../src/netlink/reader.js';
import * as nb from '../helpers/netlink-bytes.js';
import { ScriptedTransport } from '../helpers/scripted-transport.js';

const FAMILY = 0x1b;
const PORT = 4242;

const req = (operation: string): OutgoingRequest => ({
  type: FAMILY,
  body: (w) => {
    w.genlHeader(1, 1);
    w.u32(1, 7);
  },
  label: { operation, object: undefined },
});

const part = (seq: number, marker: number): Buffer =>
  nb.nlmsg({ type: FAMILY, flags: nb.F_MULTI, seq, pid: PORT }, nb.cat(nb.genl(1, 1), nb.u32(1, marker)));
const marker = (m: NetlinkMessage): number => m.payload.readUInt32LE(8);

function setup(timeoutMs: number): { t: ScriptedTransport; conn: NetlinkConnection } {
  const t = new ScriptedTransport({ portId: PORT });
  return { t, conn: new NetlinkConnection(t, { timeoutMs }) };
}

/** The listing's outcome, without an unhandled rejection meanwhile. */
const outcome = <T>(p: Promise<T>): Promise<{ value?: T; error?: unknown }> => p.then((value) => ({ value }), (error: unknown) => ({ error }));

afterEach(() => {
  vi.useRealTimers();
});

describe('a collected listing', () => {
  it('that keeps progressing is read to its end however long it takes in all', async () => {
    vi.useFakeTimers();
    const { t, conn } = setup(100);
    const got = outcome(conn.dumpAll(req('list'), {}, marker));
    await vi.advanceTimersByTimeAsync(0);
    const seq = t.last().seq;
    // Twenty parts 60 ms apart: 1.2 s in all, twelve times the timeout, never 100 ms without a part.
    for (let i = 1; i <= 20; i++) {
      await vi.advanceTimersByTimeAsync(60);
      t.deliver(part(seq, i));
    }
    await vi.advanceTimersByTimeAsync(60);
    t.deliver(nb.done(seq));
    const { value, error } = await got;
    expect(error).toBeUndefined();
    expect(value).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(conn.inFlight).toBe(0);
  });

  it('with its own timeoutMs, the same: dumpPayloads with { timeoutMs }', async () => {
    vi.useFakeTimers();
    const { t, conn } = setup(0);
    const got = outcome(conn.dumpPayloads(req('list'), { timeoutMs: 50 }, (buf, start) => buf.readUInt32LE(start + 8)));
    await vi.advanceTimersByTimeAsync(0);
    const seq = t.last().seq;
    for (let i = 1; i <= 10; i++) {
      await vi.advanceTimersByTimeAsync(40);
      t.deliver(part(seq, i));
    }
    t.deliver(nb.done(seq));
    expect(await got).toEqual({ value: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
  });

  it('that stalls times out once a whole timeout passes without a part (at most twice the timeout after the last)', async () => {
    vi.useFakeTimers();
    const { t, conn } = setup(100);
    const got = outcome(conn.dumpAll(req('list'), {}, marker));
    await vi.advanceTimersByTimeAsync(0);
    const seq = t.last().seq;
    for (let i = 1; i <= 5; i++) {
      await vi.advanceTimersByTimeAsync(60);
      t.deliver(part(seq, i));
    }
    let settled = false;
    void got.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(99);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(101);
    expect(settled).toBe(true);
    const { error } = await got;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe('list: no answer from the kernel within 100 ms');
    // The kernel may still run it: the rest is read and dropped (progressing, it is not given up), then
    // the next listing goes out.
    const next = outcome(conn.dumpAll(req('next'), {}, marker));
    for (let i = 6; i <= 10; i++) {
      await vi.advanceTimersByTimeAsync(60);
      t.deliver(part(seq, i));
    }
    expect(t.sent).toHaveLength(1);
    t.deliver(nb.done(seq));
    await vi.advanceTimersByTimeAsync(0);
    expect(t.sent).toHaveLength(2);
    t.deliver(nb.cat(part(t.last().seq, 7), nb.done(t.last().seq)));
    expect(await next).toEqual({ value: [7] });
  });

  it('that never answers times out after its timeout', async () => {
    vi.useFakeTimers();
    const { conn } = setup(100);
    const got = outcome(conn.dumpAll(req('list'), {}, marker));
    await vi.advanceTimersByTimeAsync(100);
    expect((await got).error).toBeInstanceOf(TimeoutError);
  });

  it('is bounded as a whole by its AbortSignal, progressing or not', async () => {
    vi.useFakeTimers();
    const { t, conn } = setup(100);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const got = outcome(conn.dumpAll(req('list'), { signal: controller.signal }, marker));
    await vi.advanceTimersByTimeAsync(0);
    const seq = t.last().seq;
    let delivered = 0;
    for (let i = 1; i <= 20; i++) {
      await vi.advanceTimersByTimeAsync(60);
      if (controller.signal.aborted) break;
      t.deliver(part(seq, i));
      delivered = i;
    }
    expect(delivered).toBe(8);
    expect((await got).error).toBeInstanceOf(AbortError);
  });
});

describe('a listing read by an iterator', () => {
  it('keeps its timeout on the whole listing, as documented', async () => {
    vi.useFakeTimers();
    const { t, conn } = setup(100);
    const parts: number[] = [];
    const got = outcome(
      (async () => {
        for await (const m of conn.dump(req('list'))) parts.push(marker(m));
      })(),
    );
    await vi.advanceTimersByTimeAsync(0);
    const seq = t.last().seq;
    for (let i = 1; i <= 5; i++) {
      await vi.advanceTimersByTimeAsync(30);
      t.deliver(part(seq, i));
    }
    const { error } = await got;
    expect(parts).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(TimeoutError);
  });
});
