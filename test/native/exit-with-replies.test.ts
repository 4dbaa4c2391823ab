// A process that ends with a kernel socket still open and a reply queued on it that nobody reads (a request
// sent through the raw Transport): the `netlink` package's poll met that reply during Node's teardown,
// threw in native code and the process aborted (exit 134). The socket is now closed at exit. Run in a child
// process so that an abort shows as its exit. Needs only nlctrl, no IPVS.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KernelSocketTransport } from '../../native/socket.js';

function probe(): string | undefined {
  try {
    void new KernelSocketTransport().close();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const unavailable = probe();

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
    const repo = fileURLToPath(new URL('../..', import.meta.url));
    const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => proc.once('exit', (c, s) => r([c, s])));
    // Before: "terminate called after throwing an instance of 'Napi::Error'", SIGABRT.
    expect({ code, signal }, err).toEqual({ code: 0, signal: null });
    expect(out).toBe('sent\n');
  }, 30_000);
});
