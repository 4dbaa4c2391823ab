// Network namespaces for the real-kernel suites, set up with `ip -batch`: one `ip` process runs a whole list of
// commands. Under User-Mode Linux every process start costs some 100 ms on a quiet host (seconds on a loaded one),
// and a namespace made with one `ip` per step (lo, a dummy device, its addresses, its state) took 1.3-1.9 s where
// the batch takes about 0.15 s; the suites make a few hundred namespaces.
//
// A batch line is an `ip` command without `ip` and without options: `addr add 10.0.0.1/8 dev dum0`. Options such
// as -6 cannot be given per line, but none is needed: the family follows from the addresses (`addr add
// 2001:db8::1/64 ...`, `route add default via fd09:1::1`). `ip` stops at the first line that fails and exits
// non-zero, which throws here with its message and the line.

import { execFileSync } from 'node:child_process';

/** Run `commands` in one `ip -batch -` process, inside `netns` when given (else in the current namespace). */
export function ipBatch(commands: readonly string[], netns?: string): void {
  if (commands.length === 0) return;
  const args = [...(netns === undefined ? [] : ['-n', netns]), '-batch', '-'];
  try {
    execFileSync('ip', args, { input: `${commands.join('\n')}\n`, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const where = netns === undefined ? '' : ` in ${netns}`;
    throw new Error(`ip -batch${where}: ${(e.stderr ?? '').trim() || e.message}\n--- the batch:\n${commands.join('\n')}`);
  }
}

/**
 * A new namespace `name` with `commands` run inside it (two processes in all). When a command fails, the
 * namespace is deleted again before the error is thrown.
 */
export function createNamespace(name: string, commands: readonly string[] = []): void {
  ipBatch([`netns add ${name}`]);
  try {
    ipBatch(commands, name);
  } catch (err) {
    deleteNamespaces([name]);
    throw err;
  }
}

/** Delete these namespaces in one process; ones already gone are skipped. */
export function deleteNamespaces(names: readonly string[]): void {
  if (names.length === 0) return;
  // -force: go on past a namespace that is already gone.
  try {
    execFileSync('ip', ['-force', '-batch', '-'], { input: names.map((n) => `netns del ${n}\n`).join(''), stdio: ['pipe', 'ignore', 'ignore'] });
  } catch {
    /* some were gone already */
  }
}
