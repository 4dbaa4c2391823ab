// The health checker and other writers of the same table, on the real kernel (UML sandbox:
// `node scripts/sandbox.mjs --kernel-suite -- test/kernel/health-table.kernel.test.ts`). Checks are custom
// functions (no servers needed: only the table is at stake); ipvsadm plays the other writer. A destination
// the config does not name with a weight keeps the sorry server out, and its removal lets the sorry server in
// at the next pass; an `ipvsadm -E` of the service's options is set back at the next pass; the kernel (and
// the client) take a NAT destination on loopback, which only a health config refuses; a real server the kernel
// refuses as a destination (EINVAL) is said once, left out on a backoff of its own, and counts as down.

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { HealthChecker, type HealthConfig } from '../../src/health/index.js';
import { waitFor } from './traffic/net.js';
import { createNamespace } from './netns.js';

const onKernel = process.env.IPVS_KERNEL === '1';
const VIP = '10.20.0.100';
const A = '10.20.0.11';
const B = '10.20.0.12';
const OTHER = '10.20.0.19';
const SERVICE = { protocol: 'tcp', address: VIP, port: 80 } as const;
/** The checker's next pass comes within a resync interval on a quiet host; polling ends once the change shows. */
const WAIT_MS = 30_000;
let counter = 0;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

async function inNamespace(body: (ipvs: Ipvs, ipvsadm: (...args: string[]) => string) => Promise<void>, extra: string[] = []): Promise<void> {
  const ns = `htab-${process.pid}-${counter++}`;
  createNamespace(ns, ['link set lo up', 'link add dum0 type dummy', 'addr add 10.20.0.1/24 dev dum0', ...extra, 'link set dum0 up']);
  const ipvs = await Ipvs.open({ netns: ns });
  try {
    await body(ipvs, (...args) => sh('ip', ['netns', 'exec', ns, 'ipvsadm', ...args]));
  } finally {
    await ipvs.close();
    sh('ip', ['netns', 'del', ns]);
  }
}

const config = (healthy: Map<string, boolean>): HealthConfig => ({
  services: [
    {
      ...SERVICE,
      scheduler: 'rr',
      destinations: [
        { address: A, weight: 2 },
        { address: B, weight: 1 },
      ],
      sorryServer: { address: '127.0.0.1' },
    },
  ],
  check: { type: 'custom', run: (t) => healthy.get(t.address) ?? true, intervalMs: 100, timeoutMs: 100, rise: 1, fall: 1, jitterMs: 0 },
});

describe.skipIf(!onKernel)('the health checker beside other writers (real kernel)', () => {
  it('a destination the config does not name, with a weight, keeps the sorry server out; taken away, the sorry server goes in at the next pass', async () => {
    await inNamespace(async (ipvs, ipvsadm) => {
      ipvsadm('-A', '-t', `${VIP}:80`, '-s', 'rr');
      ipvsadm('-a', '-t', `${VIP}:80`, '-r', `${OTHER}:80`, '-g', '-w', '5');
      const healthy = new Map([[A, false], [B, false]]);
      const checker = new HealthChecker({ ipvs, config: config(healthy), resyncIntervalMs: 300 });
      try {
        await checker.start();
        const rules = (): string => ipvsadm('-Sn');
        expect(rules()).toContain(`-r ${OTHER}:80 -g -w 5`);
        expect(rules()).toContain(`-r ${A}:80 -g -w 0`);
        expect(rules()).not.toContain('127.0.0.1');
        ipvsadm('-d', '-t', `${VIP}:80`, '-r', `${OTHER}:80`);
        await waitFor('the sorry server in', () => rules().includes('-r 127.0.0.1:80 -g -w 1'), WAIT_MS, 50);
        // It comes back: the next pass takes the sorry server out again.
        ipvsadm('-a', '-t', `${VIP}:80`, '-r', `${OTHER}:80`, '-g', '-w', '3');
        await waitFor('the sorry server out', () => !rules().includes('127.0.0.1'), WAIT_MS, 50);
        expect(checker.status()[0]!.sorryActive).toBe(false);
      } finally {
        await checker.stop();
      }
    });
  });

  it("sets the service's options back at the next pass after ipvsadm -E", async () => {
    await inNamespace(async (ipvs, ipvsadm) => {
      const checker = new HealthChecker({ ipvs, config: config(new Map()), resyncIntervalMs: 300 });
      const changes: string[] = [];
      checker.on('change', (e) => changes.push(e.operation.op));
      try {
        await checker.start();
        ipvsadm('-E', '-t', `${VIP}:80`, '-s', 'wlc', '-p', '60');
        expect((await ipvs.service(SERVICE)).scheduler).toBe('wlc');
        await waitFor('the options set back', async () => {
          const s = await ipvs.service(SERVICE);
          return s.scheduler === 'rr' && s.persistence === undefined;
        }, WAIT_MS, 50);
        expect(changes).toContain('update-service');
        expect(ipvsadm('-Sn')).toContain(`-A -t ${VIP}:80 -s rr\n`);
      } finally {
        await checker.stop();
      }
    });
  });

  it('a real server the kernel refuses (::ffff:a.b.c.d, a link-local address not its own: EINVAL) is said once, tried on its own backoff, and counts as down for the sorry server', async () => {
    const VIP6 = '2001:db8:20::100';
    const GOOD = '2001:db8:20::11';
    const MAPPED = '::ffff:10.20.0.12';
    const LINK_LOCAL = 'fe80::12';
    const service = { protocol: 'tcp', address: VIP6, port: 80 } as const;
    await inNamespace(async (ipvs, ipvsadm) => {
      const healthy = new Map<string, boolean>();
      const refusedConfig: HealthConfig = {
        services: [{ ...service, scheduler: 'rr', sorryServer: { address: '::1' }, destinations: [{ address: GOOD }, { address: MAPPED }, { address: LINK_LOCAL }] }],
        check: { type: 'custom', run: (t) => healthy.get(t.address) ?? true, intervalMs: 100, timeoutMs: 100, rise: 1, fall: 1, jitterMs: 0 },
      };
      const warnings: string[] = [];
      const logger = { info: () => {}, warn: (m: string) => void warnings.push(m), error: (m: string) => void warnings.push(m) };
      // A resync every 100 ms: each used to try the refused adds again (some 40 times in 4 s).
      const checker = new HealthChecker({ ipvs, config: refusedConfig, logger, resyncIntervalMs: 100, retryMs: 200, retryMaxMs: 800 });
      const errors: string[] = [];
      checker.on('error', (e) => errors.push(`${e.description}: ${e.error.code}`));
      const began = Date.now();
      try {
        await checker.start();
        const rules = (): string[] => ipvsadm('-Sn').split('\n').filter((l) => l.startsWith('-a '));
        expect(rules()).toEqual([`-a -t [${VIP6}]:80 -r [${GOOD}]:80 -g -w 1`]);
        await new Promise((r) => setTimeout(r, 4000));
        const elapsed = Date.now() - began;
        // Tried at start, then 200, 600, 1400 ms after and every 800 ms: a slow host tries fewer times, never more.
        const bound = 4 + Math.ceil(elapsed / 800);
        for (const address of [MAPPED, LINK_LOCAL]) {
          const tries = errors.filter((e) => e.includes(`add [${address}]:80`));
          expect(tries.length, errors.join('\n')).toBeGreaterThanOrEqual(2);
          expect(tries.length, errors.join('\n')).toBeLessThanOrEqual(bound);
          expect(new Set(tries)).toEqual(new Set([`tcp [${VIP6}]:80: could not add [${address}]:80: EINVAL`]));
        }
        expect(warnings).toHaveLength(2);
        expect(warnings[0]).toMatch(/could not add \[::ffff:10\.20\.0\.12\]:80: the kernel refused destination .*\[EINVAL\]; left out of the table/);
        expect(warnings[1]).toMatch(/could not add \[fe80::12\]:80: the kernel refused destination .*\[EINVAL\]; left out of the table/);
        expect(rules()).toEqual([`-a -t [${VIP6}]:80 -r [${GOOD}]:80 -g -w 1`]);
        // The one server the kernel takes goes down: nothing else can serve, and the sorry server goes in.
        healthy.set(GOOD, false);
        await waitFor('the sorry server in', () => rules().includes(`-a -t [${VIP6}]:80 -r [::1]:80 -g -w 1`), WAIT_MS, 50);
        expect(rules()).toContain(`-a -t [${VIP6}]:80 -r [${GOOD}]:80 -g -w 0`);
        healthy.set(GOOD, true);
        await waitFor('the sorry server out', () => rules().length === 1 && rules()[0] === `-a -t [${VIP6}]:80 -r [${GOOD}]:80 -g -w 1`, WAIT_MS, 50);
      } finally {
        await checker.stop();
      }
    }, ['addr add 2001:db8:20::1/64 dev dum0 nodad']);
  });

  it('the kernel and the client take a NAT destination on loopback (ipvsadm does); a health config refuses it', async () => {
    await inNamespace(async (ipvs, ipvsadm) => {
      await ipvs.addService({ ...SERVICE, scheduler: 'rr' });
      await ipvs.addDestination(SERVICE, { address: '127.0.0.1', port: 8080, forwarding: 'masq' });
      expect(ipvsadm('-Sn')).toContain(`-a -t ${VIP}:80 -r 127.0.0.1:8080 -m -w 1`);
      const refused = { services: [{ ...SERVICE, destinations: [{ address: '127.0.0.1', port: 8080, forwarding: 'masq' }] }] } as HealthConfig;
      expect(() => new HealthChecker({ ipvs, config: refused })).toThrow(/destinations\[0\]\.forwarding "masq": .*loopback address \(127\.0\.0\.1\)/);
    });
  });
});
