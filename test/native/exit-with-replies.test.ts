// A process that ends with a kernel socket still open and a reply queued on it that nobody reads (a request
// sent through the raw Transport): the `netlink` package's poll met that reply during Node's teardown,
// threw in native code and the process aborted (exit 134). The socket is now closed at exit. Run in a child
// process so that an abort shows as its exit. Needs only nlctrl, no IPVS.

import { describe, expect, it } from 'vitest';
import { kernelSocketUnavailable, runChildScript } from '../helpers/kernel-socket-child.js';

const unavailable = kernelSocketUnavailable();

const child = `
  import { KernelSocketTransport } from './native/socket.ts';
  import { MessageWriter } from './src/netlink/writer.ts';
  const t = new KernelSocketTransport();
  const w = new MessageWriter(256);
  for (let seq = 1; seq <= 3; seq++) {
    w.reset();
    w.beginMessage(0x10, 1 | 4, seq, t.portId);
    w.genlHeader(3, 2);
    w.string(2, 'nlctrl');
    w.endMessage();
    await t.send(w.toBuffer());
  }
  console.log('sent');
`;

describe.skipIf(unavailable !== undefined)(`a process ending with replies unread (${unavailable ?? 'available'})`, () => {
  it('exits normally, its open socket closed at exit', async () => {
    const { code, signal, stdout: out, stderr: err } = await runChildScript(child);
    // Before: "terminate called after throwing an instance of 'Napi::Error'", SIGABRT.
    expect({ code, signal }, err).toEqual({ code: 0, signal: null });
    expect(out).toBe('sent\n');
  }, 30_000);
});
