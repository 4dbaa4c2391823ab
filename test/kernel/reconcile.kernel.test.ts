// The reconcile scenarios (test/reconcile/scenarios.ts) against the real kernel, each test in a fresh
// network namespace with lo up and a dummy interface carrying the addresses the scenarios use, so
// direct-route destinations are routable. Plus what only the real kernel can say: the table ipvsadm
// itself reads after an apply, and a large apply that pipelines many requests per socket write.
// Runs only in the UML sandbox (IPVS_KERNEL=1): `node scripts/sandbox.mjs --kernel-suite`.

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { apply, plan, desiredStateFromRules, type DesiredState } from '../../src/reconcile/index.js';
import { reconcileScenarios, baseState } from '../reconcile/scenarios.js';

const onKernel = process.env.IPVS_KERNEL === '1';
let counter = 0;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

function makeNamespace(): string {
  const name = `recon-${process.pid}-${counter++}`;
  sh('ip', ['netns', 'add', name]);
  const ip = (...a: string[]): string => sh('ip', ['-n', name, ...a]);
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'dum0', 'type', 'dummy');
  for (const a of ['192.168.1.1/24', '10.0.0.1/8']) ip('addr', 'add', a, 'dev', 'dum0');
  ip('-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'dum0', 'nodad');
  ip('link', 'set', 'dum0', 'up');
  return name;
}

async function openFresh(): Promise<{ ipvs: Ipvs; ns: string; cleanup: () => Promise<void> }> {
  const ns = makeNamespace();
  const ipvs = await Ipvs.open({ netns: ns });
  return {
    ipvs,
    ns,
    cleanup: async () => {
      await ipvs.close();
      sh('ip', ['netns', 'del', ns]);
    },
  };
}

if (onKernel) {
  reconcileScenarios('real kernel (UML)', openFresh);

  describe('reconcile: real kernel only', () => {
    it('ipvsadm reads back exactly the state applied from its own save format', async () => {
      const h = await openFresh();
      try {
        await apply(h.ipvs, baseState());
        const saved = sh('ip', ['netns', 'exec', h.ns, 'ipvsadm', '-Sn']);
        const fromSave = desiredStateFromRules(saved);
        expect((await plan(h.ipvs, fromSave)).inSync).toBe(true);
        expect((await plan(h.ipvs, baseState())).inSync).toBe(true);
      } finally {
        await h.cleanup();
      }
    });

    it('applies 500 services x 4 destinations and converges to zero changes', async () => {
      const h = await openFresh();
      try {
        const big: DesiredState = {
          services: Array.from({ length: 500 }, (_, i) => ({
            protocol: 'tcp' as const,
            address: `10.1.${i >> 8}.${i & 255}`,
            port: 80,
            scheduler: 'rr' as const,
            destinations: Array.from({ length: 4 }, (_, j) => ({ address: `192.168.1.${10 + j}`, weight: 1 + ((i + j) % 5) })),
          })),
        };
        const r = await apply(h.ipvs, big);
        expect(r.failed.map((f) => f.error.message)).toEqual([]);
        expect(r.applied).toHaveLength(2500);
        expect((await plan(h.ipvs, big)).inSync).toBe(true);
        for (let i = 0; i < 500; i += 100) big.services[i]!.destinations![0]!.weight = 100;
        const changed = await apply(h.ipvs, big);
        expect(changed.plan.operations.map((o) => o.op)).toEqual(Array(5).fill('update-destination'));
        expect(changed.ok).toBe(true);
        expect(sh('ip', ['netns', 'exec', h.ns, 'ipvsadm', '-Sn']).split('\n').filter((l) => l.endsWith('-w 100'))).toHaveLength(5);
      } finally {
        await h.cleanup();
      }
    });
  });
} else {
  describe('reconcile: real kernel', () => {
    it.skip('runs only inside the UML sandbox (node scripts/sandbox.mjs --kernel-suite)', () => {});
  });
}
