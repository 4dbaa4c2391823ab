// The real kernel socket on this machine's own kernel: it has generic netlink (nlctrl) but, here, no
// IPVS. These checks need no IPVS: nlctrl family lookups, the kernel's own extended acks (capped and
// uncapped), a 200-request batch in one datagram, and ENOBUFS from a deliberately tiny receive buffer
// being survivable. Skipped when a netlink socket cannot be created (no privileges, not Linux).

import { afterEach, describe, expect, it } from 'vitest';
import { KernelSocketTransport, type KernelSocketOptions } from '../../native/socket.js';
import { NetlinkConnection, type OutgoingRequest } from '../../src/netlink/connection.js';
import { FamilyNotFoundError, KernelError, NotSentError } from '../../src/netlink/errors.js';
import { getIntSockopt } from '../../native/libc.js';
import { MessageWriter } from '../../src/netlink/writer.js';
import { decodeFamily, FamilyResolver } from '../../src/netlink/family.js';
import { parseGenlHeader } from '../../src/netlink/reader.js';
import { kernelSocketUnavailable } from '../helpers/kernel-socket-child.js';

const unavailable = kernelSocketUnavailable();

async function hasIpvs(): Promise<boolean> {
  if (unavailable) return false;
  const conn = new NetlinkConnection(new KernelSocketTransport(), { timeoutMs: 5000 });
  try {
    await new FamilyResolver(conn).resolve('IPVS');
    return true;
  } catch {
    return false;
  } finally {
    await conn.close();
  }
}

const ipvsPresent = await hasIpvs();

const open: NetlinkConnection[] = [];
function connect(options: KernelSocketOptions = {}): { conn: NetlinkConnection; transport: KernelSocketTransport } {
  const transport = new KernelSocketTransport(options);
  const conn = new NetlinkConnection(transport, { timeoutMs: 10_000 });
  open.push(conn);
  return { conn, transport };
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const getFamily = (name: string, body?: OutgoingRequest['body']): OutgoingRequest => ({
  type: 0x10,
  body:
    body ??
    ((w) => {
      w.genlHeader(3, 2);
      w.string(2, name);
    }),
  label: { operation: 'get family', object: name },
});

describe.skipIf(unavailable !== undefined)(`kernel socket (${unavailable ?? 'available'})`, () => {
  it('opens with a port id, a receive buffer, and the optional socket options on', () => {
    const { transport } = connect();
    expect(transport.portId).toBeGreaterThan(0);
    expect(transport.receiveBufferSize).toBeGreaterThan(0);
    // SO_RCVBUFFORCE needs CAP_NET_ADMIN, which a process allowed to make this socket may lack.
    const forced = transport.features.forcedReceiveBuffer;
    expect(transport.features).toEqual({ libc: true, forcedReceiveBuffer: forced, extendedAck: true, strictCheck: true, capAck: true, dropDetection: true });
    const off = connect({ extendedAck: false, strictCheck: false, capAck: false });
    expect(off.transport.features).toEqual({ libc: true, forcedReceiveBuffer: forced, extendedAck: false, strictCheck: false, capAck: false, dropDetection: true });
    expect(Object.isFrozen(transport.features)).toBe(true);
    // The default buffer is 4 MiB (docs/api.md, OpenOptions), which Linux reports doubled when it was forced.
    if (forced) expect(transport.receiveBufferSize).toBe(2 * 4 * 1024 * 1024);
  });

  it('resolves nlctrl itself', async () => {
    const { conn } = connect();
    const family = await new FamilyResolver(conn).resolve('nlctrl');
    expect(family.name).toBe('nlctrl');
    expect(family.id).toBe(0x10);
    expect(family.version).toBeGreaterThanOrEqual(1);
    expect(family.ops.map((o) => o.id)).toContain(3); // CTRL_CMD_GETFAMILY
  });

  it.skipIf(ipvsPresent)('resolving IPVS gives FamilyNotFoundError on this kernel (no ip_vs here)', async () => {
    const { conn } = connect();
    const err = await new FamilyResolver(conn).resolve('IPVS', 'load ip_vs').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FamilyNotFoundError);
    expect((err as Error).message).toMatch(/"IPVS" not found: load ip_vs/);
  });

  it('the kernel extended ack comes through, capped (header only echoed) and uncapped (request echoed)', async () => {
    for (const capAck of [true, false]) {
      const { conn } = connect({ capAck });
      // CTRL_ATTR_FAMILY_NAME is NLA_NUL_STRING of at most GENL_NAMSIZ - 1 bytes: 40 fails the policy.
      const err = (await conn.request(getFamily('x'.repeat(40))).catch((e: unknown) => e)) as KernelError;
      expect(err).toBeInstanceOf(KernelError);
      expect(err.code).toBe('EINVAL');
      expect(err.extack).toMatch(/policy/i);
      expect(err.extackOffset).toBe(20); // nlmsghdr (16) + genlmsghdr (4): the first attribute
    }
    const { conn } = connect({ extendedAck: false });
    const plain = (await conn.request(getFamily('x'.repeat(40))).catch((e: unknown) => e)) as KernelError;
    expect(plain.code).toBe('EINVAL');
    expect(plain.extack).toBeUndefined();
  });

  it('200 GETFAMILY requests via batch() go out in ONE datagram and all resolve', async () => {
    const { conn, transport } = connect();
    const sends: number[] = [];
    const send = transport.send.bind(transport);
    transport.send = (d: Uint8Array) => {
      sends.push(d.length);
      return send(d);
    };
    const replies = await Promise.all(conn.batch(Array.from({ length: 200 }, () => getFamily('nlctrl'))));
    expect(sends).toHaveLength(1);
    expect(sends[0]).toBe(200 * 32);
    for (const r of replies) {
      expect(r).toHaveLength(1);
      expect(decodeFamily(parseGenlHeader(r[0]!.payload).body).id).toBe(0x10);
    }
    expect(conn.inFlight).toBe(0);
  });

  it('a dump of every family streams parts and ends', async () => {
    const { conn } = connect();
    const names: string[] = [];
    for await (const m of conn.dump({ type: 0x10, body: (w) => w.genlHeader(3, 2), label: { operation: 'list families' } })) {
      names.push(decodeFamily(parseGenlHeader(m.payload).body).name);
    }
    expect(names).toContain('nlctrl');
    expect(conn.inFlight).toBe(0);
  });

  it('ENOBUFS from an overflowing receive buffer fails what was waiting, and the socket keeps working', async () => {
    const { conn } = connect({ receiveBufferSize: 1 }); // the kernel rounds this up to its minimum
    const results = await Promise.allSettled(conn.batch(Array.from({ length: 400 }, () => getFamily('nlctrl'))));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(f.reason).toMatchObject({ code: 'ENOBUFS' });
    expect(conn.inFlight).toBe(0);
    // Once the replies still queued from the overflow have been read, the same socket works again
    // (a busy machine may need a moment to drain them, during which a reply can still be dropped).
    let again: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      again = await conn.request(getFamily('nlctrl')).catch((e: unknown) => e);
      if (!(again instanceof KernelError && again.code === 'ENOBUFS')) break;
    }
    expect(again).toHaveLength(1);
  });

  it('a request sent right after an overflow gets its own answer at once: the replies still queued for the failed requests are read away first', async () => {
    const { conn } = connect({ receiveBufferSize: 1 });
    const results = await Promise.allSettled(conn.batch(Array.from({ length: 400 }, () => getFamily('nlctrl'))));
    expect(results.some((r) => r.status === 'rejected' && (r.reason as KernelError).code === 'ENOBUFS')).toBe(true);
    // No event-loop turn since: the replies the engine no longer waits for fill the buffer. Sent behind
    // them, this request's answer was dropped on arrival (it used to fail with ENOBUFS, or wait for its
    // timeout); they are read and dropped before it goes.
    const started = Date.now();
    const [reply] = await conn.request(getFamily('nlctrl'), { timeoutMs: 3000 });
    expect(decodeFamily(parseGenlHeader(reply!.payload).body).name).toBe('nlctrl');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(conn.inFlight).toBe(0);
  });

  it('at the minimum receive buffer, listings and requests after an overflow all get their answers (no storm of ENOBUFS)', async () => {
    const { conn } = connect({ receiveBufferSize: 4096 });
    const list: OutgoingRequest = { type: 0x10, body: (w) => w.genlHeader(3, 2), label: { operation: 'list families' } };
    for (let round = 0; round < 3; round++) {
      const overflowed = await Promise.allSettled(conn.batch(Array.from({ length: 60 }, () => getFamily('nlctrl'))));
      expect(overflowed.some((r) => r.status === 'rejected' && (r.reason as KernelError).code === 'ENOBUFS')).toBe(true);
      // Before: the listing failed with ENOBUFS and so did every request after it, round after round.
      const families = await conn.dumpAll(list, { timeoutMs: 3000 }, (m) => decodeFamily(parseGenlHeader(m.payload).body).name);
      expect(families).toContain('nlctrl');
      expect(await conn.request(getFamily('nlctrl'), { timeoutMs: 3000 })).toHaveLength(1);
      expect(conn.inFlight).toBe(0);
    }
  });

  it('a read that makes the kernel pause a dump for room is read on, and leaves no socket error for the poll to abort on', async () => {
    // At 8 KiB a dump's part does not fit beside other replies: netlink_recvmsg() leaves the dump paused
    // and sets the socket error (ENOBUFS) even with NETLINK_NO_ENOBUFS. Left set when the event loop
    // turned, the `netlink` package's poll saw POLLERR and the process aborted (std::terminate).
    const { transport } = connect({ receiveBufferSize: 4096 });
    const got: Buffer[] = [];
    const errors: unknown[] = [];
    transport.attach({ datagram: (d) => got.push(d), error: (e) => errors.push(e) });
    const w = new MessageWriter(4096);
    let seq = 100;
    const message = (dump: boolean): void => {
      w.beginMessage(0x10, 1 | (dump ? 0x300 : 4), seq++, transport.portId);
      w.genlHeader(3, 2);
      if (!dump) w.string(2, 'nlctrl');
      w.endMessage();
    };
    w.reset();
    for (let i = 0; i < 60; i++) message(false);
    await transport.send(w.toBuffer());
    w.reset();
    message(true);
    const dumpSeq = seq - 1;
    await transport.send(w.toBuffer());
    // Reading one datagram behind the dump's refused start pauses it (other replies stay queued).
    expect(transport.receive()).toBe(true);
    const fd = (transport as unknown as { fd: number }).fd;
    expect(getIntSockopt(fd, 1, 4)).toBe(0); // SO_ERROR
    await new Promise((resolve) => setTimeout(resolve, 50)); // the poll runs: the process must survive it
    for (let i = 0; i < 200 && transport.receive(); i++);
    const dumpTypes = got.filter((d) => d.readUInt32LE(8) === dumpSeq).map((d) => d.readUInt16LE(4));
    expect(dumpTypes.length).toBeGreaterThan(0);
    // Only the drops were reported, never the paused dump's ENOBUFS read as a loss.
    for (const e of errors) expect((e as Error).message).toMatch(/dropped/);
  });

  it('once a listing read through receive() has ended, later reads do not look at the socket error (no system call added per request)', async () => {
    const { conn, transport } = connect();
    const watch = transport as unknown as { dumpSeq: number | undefined; mixed: boolean };
    const list: OutgoingRequest = { type: 0x10, body: (w) => w.genlHeader(3, 2), label: { operation: 'list families' } };
    let n = 0;
    for await (const m of conn.dump(list)) {
      void m;
      // A request answered while the dump runs shares the queue with it.
      if (n++ === 0) await conn.request(getFamily('nlctrl'));
    }
    expect(n).toBeGreaterThan(1);
    expect(watch.dumpSeq).toBeUndefined();
    expect(watch.mixed).toBe(false);
    await Promise.all(conn.batch([getFamily('nlctrl'), getFamily('nlctrl')]));
    expect(watch.mixed).toBe(false);
  });

  it('a batch whose first datagram overflows the buffer sends nothing more: the requests not sent fail as not sent', async () => {
    const { conn, transport } = connect({ receiveBufferSize: 4096 });
    let sends = 0;
    const send = transport.send.bind(transport);
    transport.send = (d) => {
      sends++;
      return send(d);
    };
    const max = transport.maxDatagramSize ?? 0;
    const count = Math.ceil((3 * max) / 36); // three datagrams' worth of 36-byte requests
    const results = await Promise.allSettled(conn.batch(Array.from({ length: count }, () => getFamily('nlctrl'))));
    expect(sends).toBe(1);
    const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as Error) : undefined));
    expect(reasons.some((e) => e instanceof KernelError && e.code === 'ENOBUFS')).toBe(true);
    const notSent = reasons.filter((e) => e instanceof NotSentError);
    expect(notSent.length).toBeGreaterThan(count / 2);
    expect(notSent[0]).toMatchObject({ code: 'ENOTSENT', message: expect.stringMatching(/^get family: not sent: the receive buffer overflowed/) });
    expect(reasons.at(-1)).toBeInstanceOf(NotSentError);
    expect(await conn.request(getFamily('nlctrl'))).toHaveLength(1);
  });

  it('a listing right after an overflow gets its whole answer, and the next batch is not blamed for the replies the overflow dropped', async () => {
    const { conn } = connect({ receiveBufferSize: 1 << 20 });
    const overflowed = await Promise.allSettled(conn.batch(Array.from({ length: 3000 }, () => getFamily('nlctrl'))));
    expect(overflowed.some((r) => r.status === 'rejected' && (r.reason as KernelError).code === 'ENOBUFS')).toBe(true);
    // Sent while the buffer is still full: the kernel refuses the dump's start (that error is dropped
    // too) and runs the dump once the replies queued ahead of it are read.
    const families = await conn.dumpAll({ type: 0x10, body: (w) => w.genlHeader(3, 2), label: { operation: 'list families' } }, {}, (m) => decodeFamily(parseGenlHeader(m.payload).body).name);
    expect(families).toContain('nlctrl');
    const next = await Promise.allSettled(conn.batch([getFamily('nlctrl'), getFamily('nlctrl')]));
    expect(next.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(conn.inFlight).toBe(0);
  });
});
