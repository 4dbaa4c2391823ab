// The conformance suites against the real kernel, each test in a fresh network namespace (lo up, a dummy
// interface carrying the suites' addresses so direct-routing destinations are routable, one down, one with
// a small MTU). Run inside the real-kernel sandbox only (IPVS_KERNEL=1): `node scripts/sandbox.mjs --kernel-suite`
// or `npm run test:kernel`.
// Their twins on the fake kernel are test/conformance.fake.test.ts and test/conformance.wire.fake.test.ts.

import { execFile, execFileSync, spawn } from 'node:child_process';
import { readlinkSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { KernelSocketTransport } from '../../native/socket.js';
import { Ipvs } from '../../src/client.js';
import type { Transport } from '../../src/netlink/transport.js';
import { conformanceSuite, type NetworkHistory } from '../conformance/suite.js';
import type { CallResult } from '../conformance/unprivileged.js';
import { wireSuite } from '../conformance/wire-suite.js';
import { createNamespace, HISTORY_NETWORKS, SUITE_NETWORK } from './netns.js';

const onKernel = process.env.IPVS_KERNEL === '1';
const run = promisify(execFile);
let counter = 0;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

/** A namespace with the suites' usual network (SUITE_NETWORK, netns.ts), which the fake twins get as WIRE_INTERFACES. */
export function makeNamespace(prefix: string): string {
  const name = `${prefix}-${process.pid}-${counter++}`;
  createNamespace(name, SUITE_NETWORK);
  return name;
}

if (onKernel) {
  conformanceSuite('real kernel', async () => {
    const ns = makeNamespace('conf');
    const ipvs = await Ipvs.open({ netns: ns });
    const ipvsadm = async (...args: string[]): Promise<string> => (await run('ip', ['netns', 'exec', ns, 'ipvsadm', ...args], { encoding: 'utf8' })).stdout;
    return {
      ipvs,
      openAnother: () => Ipvs.open({ netns: ns }),
      ipvsadmSave: () => ipvsadm('-Sn'),
      ipvsadm,
      rawTransport: () => new KernelSocketTransport({ netns: ns }),
      openIn: async (history) => {
        const bare = `hist-${process.pid}-${counter++}`;
        createNamespace(bare, HISTORY_NETWORKS[history]);
        try {
          const other = await Ipvs.open({ netns: bare });
          return {
            ipvs: other,
            close: async () => {
              await other.close();
              sh('ip', ['netns', 'del', bare]);
            },
          };
        } catch (err) {
          sh('ip', ['netns', 'del', bare]);
          throw err;
        }
      },
      // The calls of test/conformance/unprivileged.ts in a process of the same namespace, as root but
      // without CAP_NET_ADMIN (dropped from its inheritable and bounding sets, so exec leaves it out).
      unprivileged: async () => {
        const script = fileURLToPath(new URL('../conformance/unprivileged.ts', import.meta.url));
        const { stdout } = await run('ip', [
          'netns', 'exec', ns, 'setpriv', '--inh-caps=-net_admin', '--bounding-set=-net_admin', process.execPath, '--import', 'tsx', script,
        ], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) });
        return JSON.parse(stdout) as Record<string, CallResult>;
      },
      cleanup: async () => {
        await ipvs.close();
        sh('ip', ['netns', 'del', ns]);
      },
    };
  });

  wireSuite('real kernel', async () => {
    const ns = makeNamespace('wire');
    const opened: Transport[] = [];
    return {
      transport: (options) => {
        const t = new KernelSocketTransport({ netns: ns, ...options });
        opened.push(t);
        return t;
      },
      cleanup: async () => {
        for (const t of opened) await t.close();
        sh('ip', ['netns', 'del', ns]);
      },
    };
  });
  describe('network namespaces on the real kernel', () => {
    const nsId = (path: string): number => statSync(path).ino;
    const own = (): [string, string] => [readlinkSync('/proc/self/ns/net'), readlinkSync('/proc/thread-self/ns/net')];
    const ipvsadmIn = (ns: string): string => sh('ip', ['netns', 'exec', ns, 'ipvsadm', '-Sn']);

    it('opens by name and by path, each table its own, and the process stays in its namespace', async () => {
      const before = own();
      const rootTable = sh('ipvsadm', ['-Sn']);
      const ns = makeNamespace('nsopen');
      // A namespace with no name at all, reachable only as /proc/PID/ns/net of the process inside it.
      const holder = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
      try {
        const byName = await Ipvs.open({ netns: ns });
        // As root, with koffi's binding: every option of the kernel socket took.
        expect(byName.socketFeatures).toEqual({ libc: true, forcedReceiveBuffer: true, extendedAck: true, strictCheck: true, capAck: true, dropDetection: true });
        await byName.addService({ fwmark: 1 });
        await byName.close();
        const byPath = await Ipvs.open({ netns: `/var/run/netns/${ns}` });
        expect((await byPath.services()).map((s) => s.fwmark)).toEqual([1]);
        await byPath.addService({ fwmark: 2 });
        await byPath.close();
        expect(ipvsadmIn(ns).split('\n').filter(Boolean).sort()).toEqual(['-A -f 1 -s wlc', '-A -f 2 -s wlc']);

        const procPath = `/proc/${holder.pid}/ns/net`;
        // Until unshare has made its namespace (a process start: seconds on a loaded host), not for a count of turns.
        for (const end = Date.now() + 60_000; Date.now() < end && nsId(procPath) === nsId('/proc/self/ns/net'); ) await new Promise((r) => setTimeout(r, 25));
        expect(nsId(procPath)).not.toBe(nsId('/proc/self/ns/net'));
        const byProc = await Ipvs.open({ netns: procPath });
        expect(await byProc.services()).toEqual([]); // not the named namespace's table
        await byProc.addService({ fwmark: 3 });
        expect((await byProc.services()).map((s) => s.fwmark)).toEqual([3]);
        await byProc.close();

        expect(own()).toEqual(before);
        expect(sh('ipvsadm', ['-Sn'])).toBe(rootTable); // the process's own table was not touched
        expect(ipvsadmIn(ns).split('\n').filter(Boolean).sort()).toEqual(['-A -f 1 -s wlc', '-A -f 2 -s wlc']);
      } finally {
        holder.kill();
        sh('ip', ['netns', 'del', ns]);
      }
    });
  });
} else {
  describe('conformance: real kernel', () => {
    it.skip('runs only inside the real-kernel sandbox (IPVS_KERNEL=1)', () => {});
  });
}
