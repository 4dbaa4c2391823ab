// The health checker and other writers of the same table, on the real kernel (UML sandbox:
// `node scripts/sandbox.mjs --kernel-suite -- test/kernel/health-table.kernel.test.ts`). Checks are custom
// functions (no servers needed: only the table is at stake); ipvsadm plays the other writer. A destination
// the config does not name with a weight keeps the sorry server out, and its removal lets the sorry server in
// at the next pass; an `ipvsadm -E` of the service's options is set back at the next pass; the kernel (and
// the client) take a NAT destination on loopback, which only a health config refuses.

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

async function inNamespace(body: (ipvs: Ipvs, ipvsadm: (...args: string[]) => string) => Promise<void>): Promise<void> {
  const ns = `htab-${process.pid}-${counter++}`;
  createNamespace(ns, ['link set lo up', 'link add dum0 type dummy', 'addr add 10.20.0.1/24 dev dum0', 'link set dum0 up']);
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
