// The `netlink` package's own poll reads at most 32 datagrams per turn. When the 32nd of them leaves
// replies queued beside a running dump whose next part does not fit, the kernel pauses the dump and sets
// the socket error (ENOBUFS, even with NETLINK_NO_ENOBUFS); nobody read it before libuv polled again, saw
// POLLERR, and the package's poll callback threw in native code: the process aborted (std::terminate).
// Run in a child process so that an abort shows as its exit. Needs only nlctrl, no IPVS.

import { describe, expect, it } from 'vitest';
import { KernelSocketTransport } from '../../native/socket.js';
import { MessageWriter } from '../../src/netlink/writer.js';
import { kernelSocketUnavailable, pausedDumpScript, runChildScript } from '../helpers/kernel-socket-child.js';

const unavailable = kernelSocketUnavailable((t) => (t.features.dropDetection ? undefined : 'no drop detection'));

// At a 4 KiB buffer (the kernel's minimum here) a family-listing part takes 4352 bytes of it and an
// error reply 832. Three replies queued make the listing's start be refused for room: an ENOBUFS error,
// yet the kernel keeps the dump running. The poll then reads while each reply it hands over is replaced
// by a new one (sent from the listener, answered inside send), except after the 31st: its 32nd read
// leaves two replies queued, the dump's part does not fit beside them, and the loop ends there.
const child = pausedDumpScript();

describe.skipIf(unavailable !== undefined)(`the package's poll after a paused dump (${unavailable ?? 'available'})`, () => {
  it('a dump paused by the last read of a poll turn leaves no socket error: the process survives and the dump completes', async () => {
    const { code, signal, stdout: out, stderr: err } = await runChildScript(child);
    // Before: killed by SIGABRT ("terminate called after throwing an instance of 'Napi::Error'").
    expect({ code, signal }, err).toEqual({ code: 0, signal: null });
    const result = JSON.parse(out) as { n: number; dump: number[]; errors: string[] };
    // The start's refusal (NLMSG_ERROR), then the listing itself once there was room, to its NLMSG_DONE.
    expect(result.dump[0]).toBe(2);
    expect(result.dump).toContain(0x10);
    expect(result.dump.at(-1)).toBe(3);
    expect(result.errors).toEqual([]);
  }, 30_000);

  it('a listing exchanged and refused for room stays watched: the kernel still runs it, and its parts come later', async () => {
    const t = new KernelSocketTransport({ receiveBufferSize: 2048 });
    try {
      const watch = t as unknown as { dumpSeq: number | undefined };
      const got: Buffer[] = [];
      t.attach({ datagram: (d) => got.push(d), error: () => undefined });
      const w = new MessageWriter(256);
      const message = (seq: number, dump: boolean): Buffer => {
        w.reset();
        w.beginMessage(0x10, 1 | (dump ? 0x300 : 4), seq, t.portId);
        w.genlHeader(3, 2);
        if (!dump) w.string(2, 'no-such-family');
        w.endMessage();
        return w.toBuffer();
      };
      // Replies left queued (as after an overflow) leave no room for the listing's first part.
      for (let seq = 1; seq <= 3; seq++) await t.send(message(seq, false));
      let answer = -1;
      const result = t.exchange(message(4, true), (view) => {
        if (view.readUInt32LE(8) !== 4) return false;
        answer = view.readUInt16LE(4);
        return true;
      });
      expect(result).toBe('done');
      expect(answer).toBe(2); // NLMSG_ERROR (ENOBUFS)
      // Before: the watch ended here, so a pause of this dump was left for the package's poll to abort on.
      expect(watch.dumpSeq).toBe(4);
      for (let i = 0; i < 100 && t.receive(); i++);
      expect(got.filter((d) => d.readUInt32LE(8) === 4).length).toBeGreaterThan(0);
      expect(watch.dumpSeq).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
