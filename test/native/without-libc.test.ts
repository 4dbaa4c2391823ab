// The kernel socket without libc (koffi's binding missing), on this machine's own kernel (nlctrl, no IPVS
// needed). NETLINK_NO_ENOBUFS cannot be set then, so an overflow of the receive buffer, or a dump the kernel
// pauses for room, sets the socket error; the `netlink` package's poll met it as POLLERR and threw in native
// code: the whole process aborted (SIGABRT). Each case runs in a child process so that an abort shows as its
// exit.

import { describe, expect, it } from 'vitest';
import { kernelSocketUnavailable, pausedDumpScript, runChildScript, WITHOUT_KOFFI } from '../helpers/kernel-socket-child.js';

const unavailable = kernelSocketUnavailable();

interface Round {
  features: { libc: boolean };
  codes: string[];
  families: string[];
  again: number;
  inFlight: number;
}

// Through the engine, as a client uses it: at the minimum receive buffer, 60 lookups in one datagram, then 60
// sent one by one in the same turn, overflow it; a listing and a request after each overflow must be answered.
const engine = `${WITHOUT_KOFFI}
  import { KernelSocketTransport } from './native/socket.ts';
  import { NetlinkConnection } from './src/netlink/connection.ts';
  import { decodeFamily } from './src/netlink/family.ts';
  import { parseGenlHeader } from './src/netlink/reader.ts';
  const transport = new KernelSocketTransport({ receiveBufferSize: 4096 });
  const conn = new NetlinkConnection(transport, { timeoutMs: 5000 });
  const lookup = { type: 0x10, body: (w) => { w.genlHeader(3, 2); w.string(2, 'nlctrl'); }, label: { operation: 'get family', object: 'nlctrl' } };
  const list = { type: 0x10, body: (w) => w.genlHeader(3, 2), label: { operation: 'list families' } };
  const rounds = [];
  for (let round = 0; round < 4; round++) {
    const sent = round % 2 === 0 ? conn.batch(Array.from({ length: 60 }, () => lookup)) : Array.from({ length: 60 }, () => conn.request(lookup));
    const settled = await Promise.allSettled(sent);
    const codes = [...new Set(settled.filter((r) => r.status === 'rejected').map((r) => r.reason.code))];
    const families = await conn.dumpAll(list, { timeoutMs: 3000 }, (m) => decodeFamily(parseGenlHeader(m.payload).body).name);
    const again = (await conn.request(lookup, { timeoutMs: 3000 })).length;
    rounds.push({ features: transport.features, codes, families, again, inFlight: conn.inFlight });
  }
  await conn.close();
  console.log(JSON.stringify(rounds));
`;

// poll-pause.test.ts's case without libc: replies queued ahead of a listing, each read answered by a new request.
// Through the package's poll, the listing's start was refused for room and the poll's peeks then met the paused
// listing's ENOBUFS at every read; the socket's own reads now take the replies as they come.
const pollPause = pausedDumpScript(WITHOUT_KOFFI);

// A batch larger than the send buffer: the kernel refuses a datagram past SO_SNDBUF whole (EMSGSIZE), so the
// engine must cut it, which it does only when the socket says how large a datagram may be.
const bigBatch = `${WITHOUT_KOFFI}
  import { KernelSocketTransport } from './native/socket.ts';
  import { NetlinkConnection } from './src/netlink/connection.ts';
  const transport = new KernelSocketTransport();
  const conn = new NetlinkConnection(transport, { timeoutMs: 10000 });
  const lookup = { type: 0x10, body: (w) => { w.genlHeader(3, 2); w.string(2, 'nlctrl'); }, label: { operation: 'get family', object: 'nlctrl' } };
  const settled = await Promise.allSettled(conn.batch(Array.from({ length: 12000 }, () => lookup)));
  const codes = [...new Set(settled.filter((r) => r.status === 'rejected').map((r) => r.reason.code))];
  console.log(JSON.stringify({ libc: transport.features.libc, max: transport.maxDatagramSize ?? null, codes }));
  await conn.close();
`;

describe.skipIf(unavailable !== undefined)(`the kernel socket without libc (${unavailable ?? 'available'})`, () => {
  it('an overflow of the receive buffer fails the waiting requests with ENOBUFS, and the process lives on: later listings and requests are answered', async () => {
    const { code, signal, stdout, stderr } = await runChildScript(engine);
    // Before: killed by SIGABRT ("terminate called after throwing an instance of 'Napi::Error'").
    expect({ code, signal }, stderr).toEqual({ code: 0, signal: null });
    const rounds = JSON.parse(stdout) as Round[];
    expect(rounds).toHaveLength(4);
    for (const [i, round] of rounds.entries()) {
      expect(round.features.libc).toBe(false);
      // The batches overflow the buffer; requests sent one by one may be answered (each is read as it is sent).
      if (i % 2 === 0) expect(round.codes).toEqual(['ENOBUFS']);
      else expect(round.codes.filter((c) => c !== 'ENOBUFS')).toEqual([]);
      expect(round.families).toContain('nlctrl');
      expect(round.again).toBe(1);
      expect(round.inFlight).toBe(0);
    }
  }, 60_000);

  it('a batch larger than the send buffer is cut into datagrams that fit, as with libc (not refused whole: EMSGSIZE)', async () => {
    const { code, signal, stdout, stderr } = await runChildScript(bigBatch);
    expect({ code, signal }, stderr).toEqual({ code: 0, signal: null });
    const result = JSON.parse(stdout) as { libc: boolean; max: number | null; codes: string[] };
    expect(result.libc).toBe(false);
    expect(result.max).toBeGreaterThan(0);
    // 12 000 replies overflow the receive buffer (ENOBUFS); what must not come is a refusal of the datagrams.
    expect(result.codes.filter((c) => c !== 'ENOBUFS')).toEqual([]);
  }, 60_000);

  it('a listing sent behind a flood of replies, each answered by a new request, completes without aborting', async () => {
    const { code, signal, stdout, stderr } = await runChildScript(pollPause);
    // Before: the package's poll, peeking at the paused listing, met ENOBUFS at every read and never got its part.
    expect({ code, signal }, stderr).toEqual({ code: 0, signal: null });
    const result = JSON.parse(stdout) as { libc: boolean; n: number; dump: number[]; errors: string[] };
    expect(result.libc).toBe(false);
    // The listing, maybe after its start's refusal for room (NLMSG_ERROR), to its NLMSG_DONE.
    expect(result.dump).toContain(0x10);
    expect(result.dump.at(-1)).toBe(3);
    expect(result.errors).toEqual([]);
  }, 60_000);
});
