// ip_vs unloaded and loaded again while clients stay open, on the real kernel: generic netlink gives the
// IPVS family a new id (its ids are handed out cyclically), answers the old one with a bare ENOENT, and a
// client must look the family up again rather than fail every request for the rest of its life (review
// 7 F3: the health checker never recovered). With module autoloading the client's own lookup loads an
// installed ip_vs that was unloaded; without it the client says the family is gone.
// Unloading a module is global, so this runs inside the throwaway sandbox only (IPVS_SANDBOX=1), never on a
// host's kernel (IPVS_KERNEL=1 alone), and puts every module back when done:
// `node scripts/sandbox.mjs --kernel-suite -- test/kernel/family-reload.kernel.test.ts`.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KernelSocketTransport } from '../../native/socket.js';
import { Ipvs } from '../../src/client.js';
import { HealthChecker } from '../../src/health/index.js';
import { SCHEDULERS } from '../../src/ipvs/types.js';
import { NetlinkConnection } from '../../src/netlink/connection.js';
import { FamilyNotFoundError, KernelError } from '../../src/netlink/errors.js';
import { FamilyResolver } from '../../src/netlink/family.js';
import { createNamespace } from './netns.js';

const inSandbox = process.env.IPVS_SANDBOX === '1' && process.env.IPVS_KERNEL === '1';
const SVC = { protocol: 'tcp', address: '10.0.0.100', port: 80 } as const;

const sh = (command: string): string => execFileSync('sh', ['-c', command], { encoding: 'utf8' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);
/** How long to wait for what the kernel or the checker does in the background; polling ends once it is done. */
const WAIT_MS = 60_000;

const namespaces: string[] = [];
function namespace(): string {
  const ns = `famreload-${process.pid}-${namespaces.length}`;
  // A routed 10.0.0.0/8, so that its addresses are unicast destinations.
  createNamespace(ns, ['link set lo up', 'link add dum0 type dummy', 'addr add 10.0.0.254/8 dev dum0', 'link set dum0 up']);
  namespaces.push(ns);
  return ns;
}

/** `ipvsadm -Ln` of a namespace. */
const table = (ns: string): string => sh(`ip netns exec ${ns} ipvsadm -Ln`);

/**
 * `modprobe -r` of ip_vs and the modules using it (schedulers, the SIP engine); retried while a dying
 * namespace's services still hold a scheduler.
 */
async function unloadIpvs(): Promise<void> {
  let last = '';
  // A deleted namespace is torn down by a kernel worker, later on a loaded host: wait for it, not for a count.
  for (const end = Date.now() + WAIT_MS; Date.now() < end; ) {
    try {
      sh("modprobe -r $(lsmod | awk '/^ip_vs_/ { print $1 }') ip_vs 2>&1");
      return;
    } catch (err) {
      last = String((err as { stdout?: string }).stdout ?? err);
      await sleep(200);
    }
  }
  throw new Error(`could not unload ip_vs: ${last}`);
}

/** The IPVS family id a fresh lookup in `ns` finds now (which, with autoloading, loads ip_vs). */
async function familyId(ns: string): Promise<number> {
  const conn = new NetlinkConnection(new KernelSocketTransport({ netns: ns }));
  try {
    return (await new FamilyResolver(conn).resolve('IPVS')).id;
  } finally {
    await conn.close();
  }
}

if (inSandbox) {
  describe('clients across an ip_vs reload, on the real kernel', () => {
    const clients: Ipvs[] = [];
    const open = async (ns: string): Promise<Ipvs> => {
      const ipvs = await Ipvs.open({ netns: ns });
      clients.push(ipvs);
      return ipvs;
    };
    const modprobePath = readFileSync('/proc/sys/kernel/modprobe', 'utf8').trim();

    afterEach(async () => {
      writeFileSync('/proc/sys/kernel/modprobe', modprobePath);
      for (const c of clients.splice(0)) await c.close();
      // A test that failed half way leaves its services, which hold their schedulers' modules.
      sh('modprobe ip_vs');
      for (const ns of namespaces) sh(`ip netns exec ${ns} ipvsadm -C`);
    });

    afterAll(() => {
      for (const ns of namespaces) execFileSync('ip', ['netns', 'del', ns]);
      // As the sandbox left them, for the files after this one.
      for (const m of ['ip_vs', ...SCHEDULERS.map((s) => `ip_vs_${s}`), 'ip_vs_pe_sip']) sh(`modprobe ${m}`);
    });

    it('a client opened before `modprobe -r ... ip_vs; modprobe ip_vs` adopts the new family id and carries on', async () => {
      const ns = namespace();
      const ipvs = await open(ns);
      await ipvs.addService({ ...SVC, scheduler: 'rr' });
      const before = await familyId(ns);
      await ipvs.flush(); // the service holds ip_vs_rr
      await unloadIpvs();
      sh('modprobe ip_vs');
      const after = await familyId(ns);
      expect(after).not.toBe(before);

      // Each of these was refused with ENOENT for the old id, for good, before the client looked again.
      expect(await ipvs.services()).toEqual([]);
      await ipvs.addService({ ...SVC, scheduler: 'rr' });
      await ipvs.addDestination(SVC, { address: '10.0.0.1', weight: 3 });
      expect(table(ns)).toMatch(/TCP\s+10\.0\.0\.100:80 rr\s+-> 10\.0\.0\.1:80\s+Route\s+3/);
      // IPVS's own ENOENT keeps its sentence (the lookup finds the same id).
      const missing = await failure(ipvs.deleteDestination(SVC, { address: '10.0.0.9' }));
      expect(missing).toBeInstanceOf(KernelError);
      expect(missing).toMatchObject({ code: 'ENOENT', message: 'no such destination 10.0.0.9:80 in service tcp 10.0.0.100:80 [ENOENT]' });

      // execute() and a streamed listing, after another reload.
      await ipvs.flush();
      await unloadIpvs();
      sh('modprobe ip_vs');
      const results = await ipvs.execute([
        { op: 'add-service', service: { ...SVC, scheduler: 'wlc' } },
        ...[1, 2, 3, 4, 5].map((i) => ({ op: 'add-destination' as const, service: SVC, destination: { address: `10.0.0.${i}` } })),
      ], { window: 2 });
      expect(results).toEqual(Array.from({ length: 6 }, () => ({ ok: true })));
      expect(await familyId(ns)).not.toBe(after);
      const listed = [];
      for await (const d of ipvs.iterateDestinations(SVC)) listed.push(d.address);
      expect(listed.sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']);
      await ipvs.flush();
    });

    it("an unloaded ip_vs: the client's lookup loads it again (autoloading), or, without autoloading, the error says it is gone", async () => {
      const ns = namespace();
      const ipvs = await open(ns);
      await unloadIpvs();
      // The kernel's autoloading (request_module on a lookup by name) brings an installed ip_vs back.
      expect((await ipvs.info()).version).toBe('1.2.1');
      expect(sh('lsmod')).toMatch(/^ip_vs\s/m);

      await unloadIpvs();
      writeFileSync('/proc/sys/kernel/modprobe', '/bin/true'); // autoloading that loads nothing
      const gone = await failure(ipvs.addService(SVC));
      expect(gone).toBeInstanceOf(FamilyNotFoundError);
      expect((gone as Error).message).toBe('generic netlink family "IPVS" not found: the ip_vs kernel module is no longer loaded (it was when this client opened): run `modprobe ip_vs`');
      expect((gone as Error).cause).toMatchObject({ code: 'ENOENT' });
      const results = await ipvs.execute([{ op: 'add-service', service: SVC }, { op: 'add-service', service: { fwmark: 1 } }]);
      expect(results.every((r) => 'error' in r && r.error instanceof FamilyNotFoundError)).toBe(true);
      writeFileSync('/proc/sys/kernel/modprobe', modprobePath); // the service's scheduler is autoloaded
      sh('modprobe ip_vs');
      await ipvs.addService(SVC);
      expect(table(ns)).toMatch(/TCP\s+10\.0\.0\.100:80 wlc/);
      await ipvs.flush();
    });

    it('the health checker puts its service and servers back after the reload, and quiesces a server that failed meanwhile', async () => {
      const ns = namespace();
      const ipvs = await open(ns);
      const healthy = new Map<string, boolean>();
      const logs: string[] = [];
      const checker = new HealthChecker({
        ipvs,
        config: {
          services: [{ ...SVC, scheduler: 'rr', destinations: [{ address: '10.0.0.1', weight: 2 }, { address: '10.0.0.2', weight: 1 }] }],
          check: { type: 'custom', name: 'switchboard', run: (t) => healthy.get(t.address) ?? true, intervalMs: 200, timeoutMs: 100, rise: 1, fall: 1 },
        },
        resyncIntervalMs: 2000,
        retryMs: 300,
        logger: { info: () => {}, warn: (m) => logs.push(m), error: (m) => logs.push(m) },
      });
      await checker.start();
      try {
        expect(table(ns)).toMatch(/10\.0\.0\.1:80\s+Route\s+2/);
        sh(`ip netns exec ${ns} ipvsadm -C`);
        await unloadIpvs();
        sh('modprobe ip_vs');
        healthy.set('10.0.0.1', false);
        let seen = '';
        const end = Date.now() + WAIT_MS;
        while (Date.now() < end && !/10\.0\.0\.1:80\s+Route\s+0\b[\s\S]*10\.0\.0\.2:80\s+Route\s+1\b|10\.0\.0\.2:80\s+Route\s+1\b[\s\S]*10\.0\.0\.1:80\s+Route\s+0\b/.test(seen)) {
          await sleep(200);
          seen = table(ns);
        }
        expect(seen).toMatch(/TCP\s+10\.0\.0\.100:80 rr/);
        expect(seen).toMatch(/10\.0\.0\.1:80\s+Route\s+0\b/);
        expect(seen).toMatch(/10\.0\.0\.2:80\s+Route\s+1\b/);
        expect(logs.join('\n')).not.toMatch(/ENOENT|no such destination/);
      } finally {
        await checker.stop({ removeServices: true });
      }
    });
  });
} else {
  describe('clients across an ip_vs reload: real kernel', () => {
    it.skip('runs only inside the real-kernel sandbox (IPVS_SANDBOX=1): it unloads ip_vs', () => {});
  });
}
