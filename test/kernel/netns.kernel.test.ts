// Clients opened in other network namespaces (Ipvs.open({ netns })), on the real kernel, as a process that
// manages several namespaces uses them: many opened at once, a namespace deleted (or its process gone) while
// a client is open on it, and a user namespace that could enter a namespace but not come back. Real-kernel
// sandbox only (IPVS_KERNEL=1): `node scripts/sandbox.mjs --kernel-suite -- test/kernel/netns.kernel.test.ts`.

import { execFileSync, spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Ipvs, IpvsError } from '../../src/index.js';
import { runChildScript } from '../helpers/kernel-socket-child.js';

const onKernel = process.env.IPVS_KERNEL === '1';

const sh = (cmd: string, args: readonly string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
const own = (): string[] => [readlinkSync('/proc/self/ns/net'), readlinkSync('/proc/thread-self/ns/net')];
const saved = (ns: string): string[] => sh('ip', ['netns', 'exec', ns, 'ipvsadm', '-Sn']).split('\n').filter(Boolean).sort();
const fwmarks = async (ipvs: Ipvs): Promise<number[]> => (await ipvs.services({ stats: false })).map((s) => s.fwmark ?? -1).sort((a, b) => a - b);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!onKernel)('network namespaces managed from one process (real kernel)', () => {
  const created: string[] = [];
  const namespace = (): string => {
    const ns = `nsmgr-${process.pid}-${created.length}`;
    sh('ip', ['netns', 'add', ns]);
    created.push(ns);
    return ns;
  };
  afterEach(() => {
    for (const ns of created.splice(0)) spawn('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  });

  it('opens at once in several namespaces, each client on its own table, the process staying home', async () => {
    const before = own();
    const rootTable = sh('ipvsadm', ['-Sn']);
    const names = [namespace(), namespace(), namespace(), namespace()];
    // Two clients per namespace, all opened before any has resolved its family.
    const clients = await Promise.all(names.flatMap((ns) => [Ipvs.open({ netns: ns }), Ipvs.open({ netns: ns })]));
    expect(own()).toEqual(before);
    await Promise.all(clients.map((c, i) => c.addService({ fwmark: 100 + i })));
    for (const [n, ns] of names.entries()) expect(saved(ns)).toEqual([`-A -f ${100 + 2 * n} -s wlc`, `-A -f ${101 + 2 * n} -s wlc`]);
    for (const [i, c] of clients.entries()) expect(await fwmarks(c)).toEqual([100 + (i & ~1), 101 + (i & ~1)]);
    await Promise.all(clients.map((c) => c.close()));
    expect(sh('ipvsadm', ['-Sn'])).toBe(rootTable);
    expect(own()).toEqual(before);
  });

  it('a client keeps its namespace: after `ip netns del`, or its process gone, it works on until closed', async () => {
    const ns = namespace();
    const byName = await Ipvs.open({ netns: ns });
    await byName.addService({ fwmark: 1 });
    sh('ip', ['netns', 'del', ns]);
    created.pop();
    // The name is gone, the namespace is not: the socket holds it.
    await byName.addService({ fwmark: 2 });
    expect(await fwmarks(byName)).toEqual([1, 2]);
    await byName.close();
    const reopened = await Ipvs.open({ netns: ns }).catch((e: unknown) => e);
    expect(reopened).toBeInstanceOf(IpvsError);
    expect(reopened).toMatchObject({ code: 'ENOENT' });

    const holder = spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
    const path = `/proc/${holder.pid}/ns/net`;
    const ns2 = (): string | undefined => {
      try {
        return readlinkSync(path);
      } catch {
        return undefined;
      }
    };
    // Until unshare has made its namespace (a process start: seconds on a loaded host), not for a count of turns.
    for (const end = Date.now() + 60_000; Date.now() < end && (ns2() === undefined || ns2() === own()[0]); ) await sleep(25);
    expect(ns2()).not.toBe(own()[0]);
    const byProcess = await Ipvs.open({ netns: path });
    await byProcess.addService({ fwmark: 3 });
    holder.kill();
    await new Promise((r) => holder.once('exit', r));
    await byProcess.addService({ fwmark: 4 });
    expect(await fwmarks(byProcess)).toEqual([3, 4]);
    await byProcess.close();
    const gone = await Ipvs.open({ netns: path }).catch((e: unknown) => e);
    expect(gone).toMatchObject({ code: 'ENOENT' });
    expect((gone as Error).message).toBe(`cannot open network namespace "${path}" at ${path}: it does not exist (is process ${holder.pid} still running?)`);
  });

  it('in a user namespace, a namespace it could enter but not come back from is refused before the thread leaves', async () => {
    // Root of its own user namespace, in the network namespace it started in (the host's, not its user
    // namespace's): it may enter one its user namespace owns, but setns() back is EPERM. It used to go, stay
    // there for good, and hang at exit on the socket it left open.
    const child = `
      import { spawn } from 'node:child_process';
      import { readlinkSync } from 'node:fs';
      import { Ipvs } from './src/index.ts';
      const holder = spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
      const target = '/proc/' + holder.pid + '/ns/net';
      const ns = (path) => { try { return readlinkSync(path); } catch { return undefined; } };
      while (ns(target) === undefined || ns(target) === ns('/proc/self/ns/net')) await new Promise((r) => setTimeout(r, 10));
      const before = ns('/proc/thread-self/ns/net');
      const result = await Ipvs.open({ netns: target }).then(async (c) => { await c.close(); return { opened: true }; }, (e) => ({ name: e.name, code: e.code, message: e.message }));
      result.stayed = ns('/proc/thread-self/ns/net') === before;
      holder.kill();
      console.log(JSON.stringify(result));
    `;
    const { code, signal, stdout, stderr } = await runChildScript(child, ['unshare', '--user', '--map-root-user'], { killAfterMs: 60_000 });
    expect(stderr).toBe('');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(JSON.parse(stdout)).toMatchObject({ name: 'IpvsError', code: 'EPERM', stayed: true, message: expect.stringMatching(/needs CAP_SYS_ADMIN, over the namespace this thread is in as well/) });
  });
});
