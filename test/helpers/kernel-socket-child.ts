// Shared by the tests of the real kernel socket on this machine's own kernel (nlctrl, no IPVS needed):
// whether such a socket can be made here, and a script run in a child process, so that a process abort
// (the `netlink` package throwing in native code) shows as the child's exit instead of ending the test run.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KernelSocketTransport } from '../../native/socket.js';

/** Why no kernel socket can be made here (no privileges, not Linux), or undefined when one can; `check` may refuse one. */
export function kernelSocketUnavailable(check?: (t: KernelSocketTransport) => string | undefined): string | undefined {
  try {
    const t = new KernelSocketTransport();
    const refused = check?.(t);
    void t.close();
    return refused;
  } catch (err) {
    return (err as Error).message;
  }
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run an ES module `script` (TypeScript through tsx) with the repository as its working directory; `wrapper`
 * runs node through a command (e.g. `ip netns exec NAME`, the whole process then in that namespace). With
 * `killAfterMs`, a child still running then is killed (SIGKILL): a hang fails the test, and leaves nothing behind.
 */
export async function runChildScript(script: string, wrapper: readonly string[] = [], options: { killAfterMs?: number } = {}): Promise<ChildExit> {
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
  const [command, ...args] = [...wrapper, ...node] as [string, ...string[]];
  const proc = spawn(command, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  const timer = options.killAfterMs === undefined ? undefined : setTimeout(() => proc.kill('SIGKILL'), options.killAfterMs);
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => proc.once('exit', (c, s) => r([c, s])));
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

/**
 * Put first in a child script: koffi's binding cannot be loaded there, as on a machine without its prebuilt
 * package (the child's stand-in for the one require() of native/load.ts that the unit tests mock), so the
 * kernel socket runs without libc.
 */
export const WITHOUT_KOFFI = `
  import Module from 'node:module';
  const load = Module._load;
  Module._load = function (request, ...rest) {
    if (request === 'koffi' || request.startsWith('koffi/')) throw new Error('Cannot find the native Koffi module (the test stands in for it)');
    return load.call(this, request, ...rest);
  };
`;

/**
 * The paused-dump script of poll-pause.test.ts (also run without libc): three replies queued at the minimum
 * receive buffer, then a family listing, each datagram read answered by a new request until the
 * 30th; prints { libc, n (datagrams), dump (the listing's message types), errors (the first 10 codes) }.
 * `preamble` goes first (WITHOUT_KOFFI).
 */
export function pausedDumpScript(preamble = ''): string {
  return `${preamble}
  import { KernelSocketTransport } from './native/socket.ts';
  import { MessageWriter } from './src/netlink/writer.ts';
  const t = new KernelSocketTransport({ receiveBufferSize: 2048 });
  const w = new MessageWriter(256);
  let seq = 1;
  let listing;
  const send = (dump) => {
    if (dump) listing = seq;
    w.reset();
    w.beginMessage(0x10, 1 | (dump ? 0x300 : 4), seq++, t.portId);
    w.genlHeader(3, 2);
    if (!dump) w.string(2, 'no-such-family');
    w.endMessage();
    return t.send(w.toBuffer());
  };
  t.hold(true);
  let n = 0;
  const dump = [];
  const errors = [];
  let ended;
  const end = new Promise((r) => (ended = r));
  t.attach({
    datagram: (d) => {
      n++;
      if (d.readUInt32LE(8) === listing) {
        for (let at = 0; at + 16 <= d.length; at += (d.readUInt32LE(at) + 3) & ~3) dump.push(d.readUInt16LE(at + 4));
        if (dump.at(-1) === 3) ended();
      }
      if (n <= 30) void send(false);
    },
    error: (e) => errors.length < 10 && errors.push(e.code ?? e.message),
  });
  for (let i = 0; i < 3; i++) await send(false);
  await send(true);
  await Promise.race([end, new Promise((r) => setTimeout(r, 10000).unref())]);
  await t.close();
  console.log(JSON.stringify({ libc: t.features.libc, n, dump, errors }));
`;
}
