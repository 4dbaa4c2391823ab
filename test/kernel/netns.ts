// Network namespaces for the real-kernel suites, set up by one shell script of `ip -batch` runs. Under User-Mode
// Linux a process start is slow, and slowest from the test process itself: forking a large Node process costs
// ~0.1 s on a quiet host (seconds on a loaded one), where the shell's own forks of `ip` are cheap. A namespace made
// with one `ip` per step (lo, a dummy device, its addresses, its state) took 1.3-1.9 s; `ip netns add` and one
// `ip -n NS -batch` from one shell take about 0.15 s. The suites make a few hundred namespaces.
//
// A batch line is an `ip` command without `ip` and without options: `addr add 10.0.0.1/8 dev dum0`. Options such
// as -6 cannot be given per line, but none is needed: the family follows from the addresses (`addr add
// 2001:db8::1/64 ...`, `route add default via fd09:1::1`). `ip` stops at the first line that fails and exits
// non-zero, and so does the script, which throws here with ip's message and the script.

import { execFileSync } from 'node:child_process';
import type { NetworkHistory } from '../conformance/suite.js';

/**
 * The conformance suites' usual network (batch lines): lo up, dum0 carrying the suites' addresses, dum1 down with an
 * address, dum2 up with MTU 1000 (no IPv6 on it) and dum3 up without a link-local address; the fake kernels get
 * the same as WIRE_INTERFACES (test/conformance/wire-suite.ts).
 */
export const SUITE_NETWORK: readonly string[] = [
  'link set lo up',
  'link add dum0 type dummy',
  ...['192.168.1.1/24', '10.0.0.1/8', '2001:db8::1/64'].map((a) => `addr add ${a} dev dum0`),
  'link set dum0 up',
  'link add dum1 type dummy',
  'addr add 172.16.0.1/24 dev dum1',
  'link add dum2 mtu 1000 type dummy',
  'link set dum2 up',
  'link add dum3 type dummy',
  'link set dum3 addrgenmode none',
  'link set dum3 up',
];

/** The batch lines that give a new namespace each history of test/conformance/suite.ts. */
export const HISTORY_NETWORKS: Readonly<Record<NetworkHistory, readonly string[]>> = {
  new: [],
  'ipv6-only': ['link add dum0 type dummy', 'addr add 2001:db8::1/64 dev dum0', 'link set dum0 up'],
  'ipv4-down': ['link add dum0 type dummy', 'addr add 10.9.9.1/24 dev dum0'],
  'ipv4-removed': [
    'link add dum0 type dummy', 'addr add 10.9.9.1/24 dev dum0', 'link set dum0 up',
    'addr del 10.9.9.1/24 dev dum0', 'link set dum0 down',
  ],
  'ipv6-down': ['link add dum0 type dummy', 'addr add 2001:db8:9::1/64 dev dum0', 'addr add fe80::99/64 dev dum0'],
};

const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/** The shell lines that run `commands` in one `ip -batch`, inside `netns` when given (else in the current namespace). */
export function batchScript(commands: readonly string[], netns?: string): string {
  if (commands.length === 0) return '';
  if (commands.some((c) => c.includes('\n') || c === 'END_OF_BATCH')) throw new Error(`not a batch line: ${JSON.stringify(commands)}`);
  const n = netns === undefined ? '' : `-n ${quote(netns)} `;
  return `ip ${n}-batch - <<'END_OF_BATCH'\n${commands.join('\n')}\nEND_OF_BATCH\n`;
}

/** Run `script` with `sh -e` (one process start from Node; the rest are the shell's). */
export function runScript(script: string): void {
  if (script === '') return;
  try {
    execFileSync('sh', ['-ec', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${(e.stderr ?? '').trim() || e.message}\n--- the script:\n${script}`);
  }
}

/** Run `commands` in one `ip -batch`, inside `netns` when given. */
export function ipBatch(commands: readonly string[], netns?: string): void {
  runScript(batchScript(commands, netns));
}

/**
 * New namespaces `names`, each with `commands` run inside it, from one shell. When a command fails, the
 * namespaces are deleted again before the error is thrown.
 */
export function createNamespaces(names: readonly string[], commands: readonly string[] = []): void {
  try {
    runScript(names.map((name) => `ip netns add ${quote(name)}\n${batchScript(commands, name)}`).join(''));
  } catch (err) {
    deleteNamespaces(names);
    throw err;
  }
}

/** A new namespace `name` with `commands` run inside it (createNamespaces). */
export function createNamespace(name: string, commands: readonly string[] = []): void {
  createNamespaces([name], commands);
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
