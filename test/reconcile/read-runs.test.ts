// Reading the table for a plan: through destinationsOfEach when the client has it (Ipvs does), through
// destinations() per service when it does not (a ReconcileClient made of the other methods). The plan
// must not depend on which; only the services whose destinations matter are read, in one iteration.

import { describe, expect, it, vi } from 'vitest';
import { Ipvs } from '../../src/client.js';
import type { ServiceKey } from '../../src/ipvs/types.js';
import { KernelError } from '../../src/netlink/errors.js';
import { apply, plan, type DesiredState, type PlanOptions, type ReconcileClient } from '../../src/reconcile/index.js';
import { readCurrent } from '../../src/reconcile/plan.js';
import { FakeKernel } from '../../src/testing/index.js';
import { baseState } from './scenarios.js';

const WEB = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
const EXTRA_TCP = { protocol: 'tcp', address: '10.9.0.1', port: 8080 } as const;
const EXTRA_MARK6 = { fwmark: 77, family: 'ipv6' } as const;
const EXTRA_UDP = { protocol: 'udp', address: '2001:db8::99', port: 5353 } as const;

/**
 * A kernel holding baseState() with changes (a weight, a missing and an extra destination) and three
 * services the state does not list, one of them with a busy destination (so draining keeps it).
 */
async function setup(): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel({ dumpBudget: 400 });
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  expect((await apply(ipvs, baseState())).ok).toBe(true);
  await ipvs.updateDestination(WEB, { address: '192.168.1.116', weight: 9 });
  await ipvs.deleteDestination(WEB, { address: '192.168.1.117' });
  await ipvs.addDestination({ fwmark: 10 }, { address: '192.168.1.119' });
  await ipvs.addService({ ...EXTRA_TCP, scheduler: 'lc' });
  await ipvs.addDestination(EXTRA_TCP, { address: '10.9.1.1', forwarding: 'masq' });
  await ipvs.addDestination(EXTRA_TCP, { address: '10.9.1.2', forwarding: 'masq' });
  await ipvs.addService(EXTRA_MARK6);
  await ipvs.addDestination(EXTRA_MARK6, { address: '2001:db8::77' });
  await ipvs.addService(EXTRA_UDP);
  kernel.setStats({ ...EXTRA_TCP, destination: '10.9.1.2' }, { activeConns: 4 });
  return { kernel, ipvs };
}

/** The client without destinationsOfEach: each service's destinations read by destinations(). */
function perService(ipvs: Ipvs): ReconcileClient & { destinations: Ipvs['destinations'] } {
  return {
    iterateServices: (options) => ipvs.iterateServices(options),
    services: (options) => ipvs.services(options),
    destinations: (key, options) => ipvs.destinations(key, options),
    execute: (ops, options) => ipvs.execute(ops, options),
  };
}

function desired(): DesiredState {
  const s = baseState();
  s.services[1]!.destinations = undefined; // DNS: destinations not managed, not read
  return s;
}

const NOW = 1_700_000_000_000;
const optionSets: PlanOptions[] = [
  { now: NOW },
  { now: NOW, prune: true },
  { now: NOW, prune: true, drain: true },
  { now: NOW, prune: (s) => s.fwmark !== undefined, drain: 30 },
  { now: NOW, drain: true }, // draining without prune reads no unlisted service
];

describe('plan reads destinations through destinationsOfEach when the client has it', () => {
  it('the same plan through the client and through a client without destinationsOfEach', async () => {
    await using ipvs = (await setup()).ipvs;
    const plain = perService(ipvs);
    expect('destinationsOfEach' in plain).toBe(false);
    for (const options of optionSets) {
      const viaRuns = await plan(ipvs, desired(), options);
      const viaEach = await plan(plain, desired(), options);
      expect(viaRuns, JSON.stringify(options)).toEqual(viaEach);
      expect(viaRuns.inSync).toBe(false);
    }
    // The plan is what the changes call for.
    const p = await plan(ipvs, desired(), { now: NOW, prune: true, drain: true });
    expect(p.steps.map((s) => s.target)).toEqual(expect.arrayContaining([
      'tcp 192.168.1.110:80 -> 192.168.1.116:80', 'tcp 192.168.1.110:80 -> 192.168.1.117:80', 'fwmark 10 -> 192.168.1.119:0',
    ]));
    expect(p.draining.map((d) => d.target)).toContain('tcp 10.9.0.1:8080 -> 10.9.1.2:8080');
  });

  it('readCurrent reads the same services and destinations either way', async () => {
    await using ipvs = (await setup()).ipvs;
    const everything = (): boolean => true;
    const viaRuns = await readCurrent(ipvs, everything);
    const viaEach = await readCurrent(perService(ipvs), everything);
    expect([...viaRuns.keys()]).toEqual([...viaEach.keys()]);
    expect(viaRuns.size).toBe(7);
    for (const [id, entry] of viaRuns) {
      expect(entry.destinations, id).toEqual(viaEach.get(id)!.destinations);
      expect(entry.service).toEqual(viaEach.get(id)!.service);
    }
    expect(viaRuns.get('fwmark 77 (IPv6)')?.destinations?.map((d) => d.address)).toEqual(['2001:db8::77']);
    expect(viaRuns.get('udp [2001:db8::99]:5353')?.destinations).toEqual([]);
    // Only what `needs` asks for is read; the others keep undefined.
    const some = await readCurrent(ipvs, (id) => id.startsWith('fwmark'));
    expect([...some.values()].filter((e) => e.destinations !== undefined).map((e) => e.norm.id).sort()).toEqual(['fwmark 10', 'fwmark 77 (IPv6)']);
    const none = await readCurrent(ipvs, () => false);
    expect([...none.values()].every((e) => e.destinations === undefined)).toBe(true);
  });

  it('destinationsOfEach is called once, with the keys of the services that need reading and the signal; destinations() never', async () => {
    const { kernel, ipvs } = await setup();
    const runs = vi.spyOn(ipvs, 'destinationsOfEach');
    const single = vi.spyOn(ipvs, 'destinations');
    const before = kernel.requests.length;
    const controller = new AbortController();
    await plan(ipvs, desired(), { now: NOW, prune: true, drain: true, signal: controller.signal });
    expect(single).not.toHaveBeenCalled();
    expect(runs).toHaveBeenCalledTimes(1);
    const [keys, options] = runs.mock.calls[0]!;
    // WEB, fwmark 10 and the IPv6 service are managed with destinations; DNS is not; every unlisted service is pruned while draining.
    expect(new Set([...(keys as Iterable<ServiceKey>)].map((k) => JSON.stringify(k)))).toEqual(new Set([
      WEB, { fwmark: 10, family: 'ipv4' }, { protocol: 'tcp', address: '2001:db8::10', port: 443 }, EXTRA_TCP, EXTRA_MARK6, EXTRA_UDP,
    ].map((k) => JSON.stringify(k))));
    expect(options).toEqual({ signal: controller.signal });
    expect(kernel.requests.slice(before).filter((r) => r === 'IPVS_CMD_GET_DEST')).toHaveLength(6);

    runs.mockClear();
    await plan(ipvs, { services: [{ ...WEB, scheduler: 'rr' }] }, { now: NOW });
    // Nothing needs reading: an empty list (no request), or no call at all.
    expect(runs.mock.calls.every(([k]) => [...k].length === 0)).toBe(true);
    expect(single).not.toHaveBeenCalled();

    // Without destinationsOfEach, destinations() per service (with the same options).
    const plain = perService(ipvs);
    const each = vi.spyOn(plain, 'destinations');
    runs.mockClear();
    await plan(plain, desired(), { now: NOW, prune: true, drain: true, signal: controller.signal });
    expect(runs).not.toHaveBeenCalled();
    expect(each).toHaveBeenCalledTimes(6);
    expect(each.mock.calls.every(([, o]) => o?.signal === controller.signal)).toBe(true);
    await ipvs.close();
  });

  it('reads statistics only when a predicate of the caller can see the objects', async () => {
    await using ipvs = (await setup()).ipvs;
    const services = vi.spyOn(ipvs, 'services');
    const runs = vi.spyOn(ipvs, 'destinationsOfEach');
    const statsAsked = (): Array<[unknown, unknown]> => {
      const out: Array<[unknown, unknown]> = [[services.mock.calls.at(-1)?.[0]?.stats, runs.mock.calls.at(-1)?.[1]?.stats]];
      services.mockClear();
      runs.mockClear();
      return out;
    };
    const reference = await plan(ipvs, desired(), { now: NOW, prune: true });
    expect(statsAsked()).toEqual([[false, false]]);
    await plan(ipvs, desired(), { now: NOW });
    expect(statsAsked()).toEqual([[false, false]]);
    // A prune predicate sees services with their statistics; an idle predicate destinations with theirs.
    const seenServices: unknown[] = [];
    const byPredicate = await plan(ipvs, desired(), { now: NOW, prune: (svc) => (seenServices.push(svc.stats), true) });
    expect(statsAsked()).toEqual([[undefined, false]]);
    expect(seenServices.length).toBeGreaterThan(0);
    expect(seenServices.every((st) => typeof st === 'object' && st !== null && 'conns' in st)).toBe(true);
    expect(byPredicate.steps).toEqual(reference.steps);
    const seenDests: unknown[] = [];
    await plan(ipvs, desired(), { now: NOW, prune: true, drain: (d) => (seenDests.push(d.stats), d.activeConns === 0) });
    expect(statsAsked()).toEqual([[false, undefined]]);
    expect(seenDests.length).toBeGreaterThan(0);
    expect(seenDests.every((st) => typeof st === 'object' && st !== null && 'conns' in st)).toBe(true);
    // readCurrent, public, reads everything whole.
    const current = await readCurrent(ipvs, () => true);
    expect(statsAsked()).toEqual([[undefined, undefined]]);
    expect([...current.values()].every((e) => 'stats' in e.service && e.destinations!.every((d) => 'stats' in d))).toBe(true);
  });

  it('a refused read fails the plan the same way on both paths', async () => {
    const { kernel, ipvs } = await setup();
    for (const client of [ipvs, perService(ipvs)] as ReconcileClient[]) {
      // The services dump goes through; the first destinations dump is refused.
      kernel.failNext(1, 'ENOMEM', 'IPVS_CMD_GET_DEST');
      const p = plan(client, desired(), { now: NOW });
      await expect(p).rejects.toBeInstanceOf(KernelError);
      await expect(p).rejects.toMatchObject({ code: 'ENOMEM' });
      expect(kernel.pendingFaults).toBe(0);
    }
    expect((await plan(ipvs, desired(), { now: NOW })).steps.length).toBeGreaterThan(0);
    await ipvs.close();
  });

  it('apply on the client, through destinationsOfEach, converges', async () => {
    await using ipvs = (await setup()).ipvs;
    const runs = vi.spyOn(ipvs, 'destinationsOfEach');
    const r = await apply(ipvs, desired(), { prune: true });
    expect(r.ok).toBe(true);
    expect(runs).toHaveBeenCalled();
    expect((await plan(ipvs, desired(), { prune: true })).inSync).toBe(true);
    expect((await plan(perService(ipvs), desired(), { prune: true })).inSync).toBe(true);
  });
});
