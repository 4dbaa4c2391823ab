// What the differential tests against ipvsadm share (cli-diff, cli-random, restore-diff): running a command
// for its outcome, a client shared by every runCli of a namespace, and namespaces where listings without -n
// print at once.
//
// Listings without -n look every address up. The guest has no network, and its resolver (the host's
// /etc/resolv.conf) sits in 10.0.0.0/8, which the test namespaces and the sandbox route to a dummy device
// that swallows packets: each lookup would wait out the resolver's timeout (ipvsadm looks addresses up one
// after another). An unreachable route to each name server makes every DNS query fail at once, on both
// sides, so the named forms print numbers (and /etc/hosts and /etc/services names) without waiting.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import type { Ipvs } from '../../src/client.js';
import type { CliIpvs } from '../../src/cli/context.js';

process.env.RES_OPTIONS = 'timeout:1 attempts:1';

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

export function sh(cmd: string, args: string[], input?: string): Outcome {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const nameServers = (() => {
  try {
    return [...readFileSync('/etc/resolv.conf', 'utf8').matchAll(/^nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1]!);
  } catch {
    return [];
  }
})();

/** The `ip` batch lines (test/kernel/netns.ts) that give a namespace lo, dum0 with the test addresses, and unreachable name servers. */
export const DIFF_NAMESPACE_SETUP: readonly string[] = [
  'link set lo up',
  'link add dum0 type dummy',
  'addr add 192.168.1.1/24 dev dum0',
  'addr add 10.0.0.1/8 dev dum0',
  'addr add 2001:db8::1/64 dev dum0 nodad',
  'link set dum0 up',
  ...nameServers.map((ns) => `route add unreachable ${ns}/32`),
];

/** Make the name servers unreachable from the sandbox's own namespace too while the file runs (when `enabled`). */
export function useUnreachableNameServers(enabled: boolean): void {
  const rootRoutes: string[] = [];
  beforeAll(() => {
    if (!enabled) return;
    for (const ns of nameServers) if (sh('ip', ['route', 'add', 'unreachable', `${ns}/32`]).code === 0) rootRoutes.push(ns);
  });
  afterAll(() => {
    for (const ns of rootRoutes.splice(0)) sh('ip', ['route', 'del', 'unreachable', `${ns}/32`]);
  });
}

/** One client for every runCli of a namespace: runCli's close() is a no-op on it. */
export function shared(ipvs: Ipvs): CliIpvs {
  return new Proxy(ipvs, {
    get(target, key) {
      if (key === 'close') return async () => {};
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as CliIpvs;
}
