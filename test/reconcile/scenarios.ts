// The reconcile scenarios shared by the fake kernel (test/reconcile/scenarios.fake.test.ts) and the
// real one in UML (test/kernel/reconcile.kernel.test.ts): plans for each kind of change, idempotence,
// prune, drain (driven by idle predicates, since the real kernel's connection counts cannot be set),
// dry run and rules-text input. Each test gets a fresh, empty table from the factory.

import { afterEach, describe, expect, it } from 'vitest';
import type { Ipvs } from '../../src/client.js';
import type { Operation } from '../../src/ipvs/operations.js';
import type { DestinationSpec, ServiceSpec } from '../../src/ipvs/types.js';
import { apply, plan, exportState, desiredStateFromRules, type DesiredState } from '../../src/reconcile/index.js';

export interface ReconcileHarness {
  ipvs: Ipvs;
  cleanup(): Promise<void>;
}

const WEB = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
const DNS = { protocol: 'udp', address: '192.168.1.110', port: 53 } as const;

/**
 * A desired state the tests edit in place between applies. DesiredState's lists are readonly (the library
 * never changes them); a program that edits its own state types it with mutable lists, as here, and still
 * hands it to plan/apply as it is.
 */
export interface EditableState {
  services: Array<ServiceSpec & { destinations?: DestinationSpec[] }>;
}

export function baseState(): EditableState {
  return {
    services: [
      {
        ...WEB,
        scheduler: 'rr',
        destinations: [
          { address: '192.168.1.116', weight: 2 },
          { address: '192.168.1.117' },
        ],
      },
      { ...DNS, destinations: [{ address: '192.168.1.116', forwarding: 'masq' }] },
      { fwmark: 10, persistence: { timeout: 60 }, destinations: [{ address: '192.168.1.118' }] },
      { protocol: 'tcp', address: '2001:db8::10', port: 443, destinations: [{ address: '2001:db8::20', port: 8443, forwarding: 'masq' }] },
    ],
  };
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function kinds(ops: readonly Operation[]): string[] {
  return ops.map((o) => o.op);
}

export function reconcileScenarios(name: string, open: () => Promise<ReconcileHarness>): void {
  describe(`reconcile: ${name}`, () => {
    let h: ReconcileHarness | undefined;
    const fresh = async (): Promise<Ipvs> => {
      h = await open();
      return h.ipvs;
    };
    afterEach(async () => {
      await h?.cleanup();
      h = undefined;
    });

    it('builds a table from nothing, services before their destinations', async () => {
      const ipvs = await fresh();
      const p = await plan(ipvs, baseState());
      expect(kinds(p.operations)).toEqual([
        'add-service', 'add-service', 'add-service', 'add-service',
        'add-destination', 'add-destination', 'add-destination', 'add-destination', 'add-destination',
      ]);
      const r = await apply(ipvs, baseState());
      expect(r.ok).toBe(true);
      expect(r.applied).toHaveLength(9);
      const exported = await exportState(ipvs);
      expect(exported.services).toHaveLength(4);
      expect((await plan(ipvs, baseState())).inSync).toBe(true);
    });

    it('is idempotent: a second apply changes nothing', async () => {
      const ipvs = await fresh();
      await apply(ipvs, baseState());
      const again = await apply(ipvs, baseState());
      expect(again.plan.steps).toEqual([]);
      expect(again.applied).toEqual([]);
      expect(again.plan.inSync).toBe(true);
    });

    it('a state written loosely does not churn against its normalised form', async () => {
      const ipvs = await fresh();
      await apply(ipvs, baseState());
      const loose: DesiredState = {
        services: [
          { ...WEB, scheduler: 'rr', persistence: false, flags: [], destinations: [{ address: '192.168.1.116', port: 80, weight: 2, forwarding: 'route' }, { address: '192.168.1.117', port: 80, weight: 1, upperThreshold: 0, lowerThreshold: 0 }] },
          { ...DNS, scheduler: 'wlc', destinations: [{ address: '192.168.1.116', port: 53, forwarding: 'masq', weight: 1 }] },
          { fwmark: 10, family: 'ipv4', scheduler: 'wlc', persistence: { timeout: 60, netmask: '255.255.255.255' }, destinations: [{ address: '192.168.1.118', port: 0 }] },
          { protocol: 'tcp', address: '2001:DB8:0:0::10', port: 443, destinations: [{ address: '[2001:db8:0::20]', port: 8443, forwarding: 'masq', weight: 1 }] },
        ],
      };
      expect((await plan(ipvs, loose)).steps).toEqual([]);
    });

    it('a weight change is one update-destination', async () => {
      const ipvs = await fresh();
      await apply(ipvs, baseState());
      const s = clone(baseState());
      s.services[0]!.destinations![1]!.weight = 5;
      const p = await plan(ipvs, s);
      expect(p.operations).toEqual([
        { op: 'update-destination', service: WEB, destination: { address: '192.168.1.117', port: 80, forwarding: 'route', weight: 5 } },
      ]);
      expect(p.steps[0]!.detail).toBe('weight 1 -> 5');
      await apply(ipvs, s);
      expect((await ipvs.destinations(WEB)).find((d) => d.address === '192.168.1.117')?.weight).toBe(5);
      expect((await plan(ipvs, s)).inSync).toBe(true);
    });

    it('scheduler, persistence and flag changes are one update-service each', async () => {
      const ipvs = await fresh();
      await apply(ipvs, baseState());
      const s = clone(baseState());
      s.services[0]!.scheduler = 'wrr';
      s.services[1]!.flags = ['one-packet'];
      s.services[2]!.persistence = { timeout: 600, netmask: '255.255.255.0' };
      const p = await plan(ipvs, s);
      expect(kinds(p.operations)).toEqual(['update-service', 'update-service', 'update-service']);
      expect(p.steps.map((x) => x.detail)).toEqual([
        'scheduler rr -> wrr',
        'flags none -> one-packet',
        'persistence timeout 60 -> 600, netmask 255.255.255.255 -> 255.255.255.0',
      ]);
      expect((await apply(ipvs, s)).ok).toBe(true);
      expect((await plan(ipvs, s)).inSync).toBe(true);
      const web = await ipvs.service(WEB);
      expect(web.scheduler).toBe('wrr');
      // Destinations survive an update of their service.
      expect(await ipvs.destinations(WEB)).toHaveLength(2);
    });

    it('a forwarding or tunnel change is an update-destination (SET_DEST changes the method)', async () => {
      const ipvs = await fresh();
      await apply(ipvs, baseState());
      const s = clone(baseState());
      s.services[0]!.destinations![0]!.forwarding = 'masq';
      s.services[2]!.destinations![0] = { address: '192.168.1.118', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } };
      const p = await plan(ipvs, s);
      expect(kinds(p.operations)).toEqual(['update-destination', 'update-destination']);
      expect(p.steps[0]!.detail).toBe('forwarding route -> masq');
      expect(p.steps[1]!.detail).toBe('forwarding route -> tunnel gue port 6080 csum');
      expect((await apply(ipvs, s)).ok).toBe(true);
      const [d] = await ipvs.destinations({ fwmark: 10 });
      expect(d?.forwarding).toBe('tunnel');
      expect(d?.tunnel).toEqual({ type: 'gue', port: 6080, checksum: 'csum' });
      expect((await plan(ipvs, s)).inSync).toBe(true);
      s.services[2]!.destinations![0]!.tunnel = { type: 'gre' };
      const p2 = await plan(ipvs, s);
      expect(p2.steps.map((x) => x.detail)).toEqual(['forwarding tunnel gue port 6080 csum -> tunnel gre nocsum']);
    });

    it('a destination address change is add + delete; adds come first', async () => {
      const ipvs = await fresh();
      await apply(ipvs, baseState());
      const s = clone(baseState());
      s.services[0]!.destinations![1] = { address: '192.168.1.119' };
      const p = await plan(ipvs, s);
      expect(kinds(p.operations)).toEqual(['add-destination', 'delete-destination']);
      await apply(ipvs, s);
      expect((await ipvs.destinations(WEB)).map((d) => d.address).sort()).toEqual(['192.168.1.116', '192.168.1.119']);
    });

    it('a service key change adds the new service and leaves the old one unless pruning', async () => {
      const ipvs = await fresh();
      await apply(ipvs, baseState());
      const s = clone(baseState());
      s.services[1] = { ...s.services[1]!, address: '192.168.1.111' } as EditableState['services'][number];
      const p = await plan(ipvs, s);
      expect(kinds(p.operations)).toEqual(['add-service', 'add-destination']);
      expect(p.unmanaged).toEqual([DNS]);
      const pruned = await plan(ipvs, s, { prune: true });
      expect(kinds(pruned.operations)).toEqual(['add-service', 'add-destination', 'delete-service']);
      expect(pruned.operations[2]).toEqual({ op: 'delete-service', service: DNS });
      await apply(ipvs, s, { prune: true });
      expect(await ipvs.hasService(DNS)).toBe(false);
      expect(await ipvs.hasService({ ...DNS, address: '192.168.1.111' })).toBe(true);
    });

    it('prune takes a predicate choosing which unlisted services to delete', async () => {
      const ipvs = await fresh();
      await apply(ipvs, baseState());
      const onlyWeb: DesiredState = { services: [baseState().services[0]!] };
      const p = await plan(ipvs, onlyWeb, { prune: (svc) => svc.fwmark !== undefined });
      expect(p.operations).toEqual([{ op: 'delete-service', service: { fwmark: 10, family: 'ipv4' } }]);
      expect(p.unmanaged).toHaveLength(2);
    });

    it('a service without a destinations list leaves its destinations alone', async () => {
      const ipvs = await fresh();
      await apply(ipvs, baseState());
      const s: DesiredState = { services: [{ ...WEB, scheduler: 'rr' }] };
      expect((await plan(ipvs, s)).steps).toEqual([]);
      const empty: DesiredState = { services: [{ ...WEB, scheduler: 'rr', destinations: [] }] };
      expect(kinds((await plan(ipvs, empty)).operations)).toEqual(['delete-destination', 'delete-destination']);
    });

    it('dry run plans and changes nothing', async () => {
      const ipvs = await fresh();
      const r = await apply(ipvs, baseState(), { dryRun: true });
      expect(r.dryRun).toBe(true);
      expect(r.plan.steps).toHaveLength(9);
      expect(r.applied).toEqual([]);
      expect(await ipvs.services()).toEqual([]);
    });

    it('drains a destination: weight 0 first, deleted once idle', async () => {
      const ipvs = await fresh();
      await apply(ipvs, baseState());
      const s = clone(baseState());
      s.services[0]!.destinations!.pop();
      let idle = false;
      const drain = { idle: () => idle };
      const first = await apply(ipvs, s, { drain });
      expect(kinds(first.plan.operations)).toEqual(['update-destination']);
      expect(first.plan.operations[0]).toMatchObject({ destination: { address: '192.168.1.117', weight: 0 } });
      expect(first.plan.draining.map((d) => d.target)).toEqual(['tcp 192.168.1.110:80 -> 192.168.1.117:80']);
      expect((await ipvs.destinations(WEB)).find((d) => d.address === '192.168.1.117')?.weight).toBe(0);
      const waiting = await apply(ipvs, s, { drain });
      expect(waiting.plan.steps).toEqual([]);
      expect(waiting.plan.inSync).toBe(false);
      idle = true;
      const done = await apply(ipvs, s, { drain });
      expect(kinds(done.plan.operations)).toEqual(['delete-destination']);
      expect((await ipvs.destinations(WEB)).map((d) => d.address)).toEqual(['192.168.1.116']);
      expect((await plan(ipvs, s, { drain })).inSync).toBe(true);
    });

    it('drains a pruned service: its destinations first, then the service', async () => {
      const ipvs = await fresh();
      await apply(ipvs, baseState());
      const s: DesiredState = { services: baseState().services.slice(1) };
      let idle = false;
      const drain = { idle: () => idle };
      const first = await apply(ipvs, s, { prune: true, drain });
      expect(kinds(first.plan.operations)).toEqual(['update-destination', 'update-destination']);
      expect(await ipvs.hasService(WEB)).toBe(true);
      idle = true;
      const done = await apply(ipvs, s, { prune: true, drain });
      expect(kinds(done.plan.operations)).toEqual(['delete-destination', 'delete-destination', 'delete-service']);
      expect(done.plan.steps[2]!.dependsOn).toEqual([0, 1]);
      expect(done.ok).toBe(true);
      expect(await ipvs.hasService(WEB)).toBe(false);
    });

    it('reads ipvsadm rules text as a desired state', async () => {
      const ipvs = await fresh();
      const rules = [
        '-A -t 192.168.1.110:80 -s rr',
        '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2',
        '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g -w 1',
        '-A -u 192.168.1.110:53 -s wlc',
        '-a -u 192.168.1.110:53 -r 192.168.1.116:53 -m -w 1',
        '-A -f 10 -s wlc -p 60',
        '-a -f 10 -r 192.168.1.118:0 -g -w 1',
        '-A -t [2001:db8::10]:443 -s wlc',
        // ipvsadm gives -g and -i destinations the service's port; only masq ones keep their own.
        '-a -t [2001:db8::10]:443 -r [2001:db8::20]:8443 -m -w 1',
      ].join('\n');
      const fromRules = desiredStateFromRules(rules);
      await apply(ipvs, fromRules);
      // The same table as the JSON state describes.
      expect((await plan(ipvs, baseState())).inSync).toBe(true);
      expect((await plan(ipvs, fromRules)).inSync).toBe(true);
    });
  });
}
