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
 * runs node through a command (e.g. `ip netns exec NAME`, the whole process then in that namespace).
 */
export async function runChildScript(script: string, wrapper: readonly string[] = []): Promise<ChildExit> {
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
  const [command, ...args] = [...wrapper, ...node] as [string, ...string[]];
  const proc = spawn(command, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => proc.once('exit', (c, s) => r([c, s])));
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
