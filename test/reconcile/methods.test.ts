// The client's own spelling of reconcile, the public contract: `ipvs.plan(desired)`,
// `ipvs.apply(desired, { dryRun, prune, drain })` and `ipvs.exportState()` on the fake kernel. Each is
// a thin delegate to src/reconcile, so these tests check that every option gets through and that the
// results are the free functions' own: plans, dry run, idempotence, partial failure (applied / failed
// with the typed error / not attempted, then convergence), prune, drain, export.

import { describe, expect, it, vi } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { Ipvs as PublicIpvs, apply as publicApply, plan as publicPlan, exportState as publicExport } from '../../src/index.js';
import { IPVS_CMD_NEW_DEST, IPVS_CMD_NEW_SERVICE } from '../../src/ipvs/constants.js';
import { KernelError } from '../../src/netlink/errors.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import { exportState, parseDesiredState, plan, type DesiredState } from '../../src/reconcile/index.js';
import { FakeKernel } from '../../src/testing/index.js';
import { baseState } from './scenarios.js';

const WEB = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;

async function setup(): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel({ dumpBudget: 512, shuffleDumps: true });
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  return { kernel, ipvs };
}

const changing = (requests: readonly string[]): string[] => requests.filter((r) => /NEW|SET|DEL/.test(r) && r !== 'IPVS_CMD_SET_CONFIG');
const kinds = (r: { plan: { operations: readonly { op: string }[] } }): string[] => r.plan.operations.map((o) => o.op);

describe('Ipvs#plan, #apply, #exportState', () => {
  it('are on the public client, beside the free functions', () => {
    expect(PublicIpvs).toBe(Ipvs);
    for (const m of ['plan', 'apply', 'exportState'] as const) expect(typeof Ipvs.prototype[m]).toBe('function');
    expect([publicPlan, publicApply, publicExport].every((f) => typeof f === 'function')).toBe(true);
  });

  it('plan() returns the minimal steps and sends no change; the same plan as plan(ipvs, ...)', async () => {
    const { kernel, ipvs } = await setup();
    const p = await ipvs.plan(baseState());
    expect(p.operations.map((o) => o.op)).toEqual([...Array(4).fill('add-service'), ...Array(5).fill('add-destination')]);
    expect(p.steps.every((s) => s.phase === 'services' || s.dependsOn.length === 1)).toBe(true);
    expect(p.inSync).toBe(false);
    expect(changing(kernel.requests)).toEqual([]);
    expect(p).toEqual(await plan(ipvs, baseState()));
    await ipvs.apply(baseState());
    const s = baseState();
    s.services[0]!.destinations![0]!.weight = 7;
    const edit = await ipvs.plan(s);
    expect(edit.operations).toEqual([
      { op: 'update-destination', service: WEB, destination: { address: '192.168.1.116', port: 80, forwarding: 'route', weight: 7 } },
    ]);
    expect(edit.steps[0]!.detail).toBe('weight 2 -> 7');
  });

  it('apply({ dryRun: true }) plans and sends nothing', async () => {
    const { kernel, ipvs } = await setup();
    const r = await ipvs.apply(baseState(), { dryRun: true });
    expect(r).toMatchObject({ dryRun: true, ok: true, applied: [], failed: [], notAttempted: [] });
    expect(r.plan.steps).toHaveLength(9);
    expect(changing(kernel.requests)).toEqual([]);
    expect(await ipvs.services()).toEqual([]);
  });

  it('apply() is idempotent: the second run plans and sends zero changes', async () => {
    const { kernel, ipvs } = await setup();
    const first = await ipvs.apply(baseState());
    expect(first.ok).toBe(true);
    expect(first.applied).toHaveLength(9);
    const before = kernel.requests.length;
    const second = await ipvs.apply(baseState());
    expect(second.plan.steps).toEqual([]);
    expect(second.plan.inSync).toBe(true);
    expect(second.applied).toEqual([]);
    expect(changing(kernel.requests.slice(before))).toEqual([]);
  });

  it('partial failure: applied, failed with the typed error, not attempted; a re-run converges', async () => {
    const { kernel, ipvs } = await setup();
    kernel.failNext(1, 'ENOMEM', IPVS_CMD_NEW_SERVICE);
    kernel.failNext(1, 'EBUSY', IPVS_CMD_NEW_DEST);
    const r = await ipvs.apply(baseState());
    expect(r.ok).toBe(false);
    expect(r.failed.map((f) => [f.step.operation.op, f.error instanceof KernelError ? f.error.code : f.error.name])).toEqual([
      ['add-service', 'ENOMEM'],
      ['add-destination', 'EBUSY'],
    ]);
    expect(r.notAttempted.map((n) => n.reason)).toEqual([
      'depends on add-service tcp 192.168.1.110:80, which failed',
      'depends on add-service tcp 192.168.1.110:80, which failed',
    ]);
    expect(r.applied).toHaveLength(5);
    expect(r.applied.length + r.failed.length + r.notAttempted.length).toBe(r.plan.steps.length);
    const again = await ipvs.apply(baseState());
    expect(kinds(again)).toEqual(['add-service', 'add-destination', 'add-destination', 'add-destination']);
    expect(again.ok).toBe(true);
    expect((await ipvs.plan(baseState())).inSync).toBe(true);
  });

  it('apply({ stopOnError: true }) attempts nothing after the failing phase', async () => {
    const { kernel, ipvs } = await setup();
    kernel.failNext(1, 'ENOMEM', IPVS_CMD_NEW_SERVICE);
    const r = await ipvs.apply(baseState(), { stopOnError: true });
    expect(r.applied.map((s) => s.operation.op)).toEqual(['add-service', 'add-service', 'add-service']);
    expect(r.notAttempted).toHaveLength(5);
    expect((await ipvs.apply(baseState())).ok).toBe(true);
  });

  it('prune: unlisted services are left alone without it, deleted with it (or as a predicate picks)', async () => {
    const { ipvs } = await setup();
    await ipvs.apply(baseState());
    const onlyWeb: DesiredState = { services: [baseState().services[0]!] };
    const kept = await ipvs.apply(onlyWeb);
    expect(kept.plan.steps).toEqual([]);
    expect(kept.plan.unmanaged).toHaveLength(3);
    const some = await ipvs.apply(onlyWeb, { prune: (s) => s.fwmark !== undefined });
    expect(some.plan.operations).toEqual([{ op: 'delete-service', service: { fwmark: 10, family: 'ipv4' } }]);
    const all = await ipvs.apply(onlyWeb, { prune: true });
    expect(kinds(all)).toEqual(['delete-service', 'delete-service']);
    expect((await ipvs.services()).map((s) => s.port)).toEqual([80]);
    expect((await ipvs.plan(onlyWeb, { prune: true })).inSync).toBe(true);
  });

  it('drain: weight 0 while connections remain, deleted once idle; drainState is handed back', async () => {
    const { kernel, ipvs } = await setup();
    await ipvs.apply(baseState());
    kernel.setStats({ address: '192.168.1.110', port: 80, destination: '192.168.1.117' }, { activeConns: 3 });
    const s = baseState();
    s.services[0]!.destinations!.pop();
    const first = await ipvs.apply(s, { drain: { timeout: 60 }, now: 1_000 });
    expect(first.plan.operations).toEqual([
      { op: 'update-destination', service: WEB, destination: { address: '192.168.1.117', port: 80, forwarding: 'route', weight: 0 } },
    ]);
    expect(first.plan.steps[0]!.drain).toBe(true);
    expect(first.drainState).toEqual({ 'tcp 192.168.1.110:80 -> 192.168.1.117:80': 1_000 });
    expect((await ipvs.destinations(WEB)).find((d) => d.address === '192.168.1.117')?.weight).toBe(0);
    const waiting = await ipvs.apply(s, { drain: { timeout: 60, state: first.drainState }, now: 30_000 });
    expect(waiting.plan.steps).toEqual([]);
    expect(waiting.plan.draining.map((d) => [d.target, d.since, d.activeConns])).toEqual([['tcp 192.168.1.110:80 -> 192.168.1.117:80', 1_000, 3]]);
    // The timeout counts from when draining began, not from this run.
    const timedOut = await ipvs.apply(s, { drain: { timeout: 60, state: waiting.drainState }, now: 61_000 });
    expect(kinds(timedOut)).toEqual(['delete-destination']);
    expect(timedOut.plan.steps[0]!.detail).toMatch(/^drain timed out after 60 s/);
    expect((await ipvs.destinations(WEB)).map((d) => d.address)).toEqual(['192.168.1.116']);
    expect((await ipvs.plan(s, { drain: true })).inSync).toBe(true);
  });

  it('drain: an idle destination is deleted at once', async () => {
    const { ipvs } = await setup();
    await ipvs.apply(baseState());
    const s = baseState();
    s.services[0]!.destinations!.pop();
    const r = await ipvs.apply(s, { drain: true });
    expect(kinds(r)).toEqual(['delete-destination']);
    expect(r.plan.steps[0]!.detail).toBe('drained (0 active, 0 inactive connections)');
  });

  it("the scheduler 'none': exported, planned with zero changes, applied from JSON and from rules text", async () => {
    const { ipvs } = await setup();
    await ipvs.addService({ ...WEB, scheduler: 'none' });
    await ipvs.addDestination(WEB, { address: '192.168.1.116' });
    const exported = await ipvs.exportState();
    expect(exported.services).toEqual([{ ...WEB, scheduler: 'none', destinations: [expect.objectContaining({ address: '192.168.1.116' })] }]);
    expect((await ipvs.plan(exported)).operations).toEqual([]);
    await ipvs.apply({ services: [{ ...WEB, scheduler: 'rr' }] });
    expect((await ipvs.service(WEB)).scheduler).toBe('rr');
    expect(kinds(await ipvs.apply(exported))).toEqual(['update-service']);
    expect((await ipvs.service(WEB)).scheduler).toBe('none');
    const rules = parseDesiredState('-A -t 192.168.1.110:80 -s none\n-A -f 3 -s none -p 60\n');
    expect(kinds(await ipvs.apply(rules, { prune: true }))).toEqual(['add-service', 'delete-destination']);
    expect((await ipvs.service({ fwmark: 3 })).scheduler).toBe('none');
  });

  it('exportState() reads the table back as a state that applies with zero changes', async () => {
    const { kernel, ipvs } = await setup();
    expect(await ipvs.exportState()).toEqual({ services: [] });
    await ipvs.apply(baseState());
    const exported = await ipvs.exportState();
    expect(exported.services).toHaveLength(4);
    expect(JSON.parse(JSON.stringify(exported))).toEqual(exported);
    // Without statistics (a state has none), the same state; the services collected (a listing that takes
    // its turn), not iterated.
    const services = vi.spyOn(ipvs, 'services');
    const iterated = vi.spyOn(ipvs, 'iterateServices');
    const runs = vi.spyOn(ipvs, 'destinationsOfEach');
    expect(await ipvs.exportState()).toEqual(exported);
    expect(services.mock.calls.map(([o]) => o?.stats)).toEqual([false]);
    expect(iterated).not.toHaveBeenCalled();
    expect(runs.mock.calls.map(([, o]) => o?.stats)).toEqual([false]);
    // A client without services() is read through iterateServices, to the same state.
    const withoutServices = { iterateServices: ipvs.iterateServices.bind(ipvs), destinations: ipvs.destinations.bind(ipvs) };
    expect(await exportState(withoutServices)).toEqual(exported);
    expect(iterated.mock.calls.map(([o]) => o?.stats)).toEqual([false]);
    const before = kernel.requests.length;
    expect((await ipvs.apply(exported)).plan.steps).toEqual([]);
    expect(changing(kernel.requests.slice(before))).toEqual([]);
  });

  it('an invalid state is refused before anything is read or sent, naming the path', async () => {
    const { kernel, ipvs } = await setup();
    const before = kernel.requests.length;
    const bad = baseState();
    bad.services[2]!.destinations![0]!.weight = -1;
    await expect(ipvs.plan(bad)).rejects.toThrow(ValidationError);
    await expect(ipvs.apply(bad)).rejects.toThrow(/services\[2\]\.destinations\[0\]\.weight/);
    expect(kernel.requests.length).toBe(before);
  });

  it('an aborted signal fails before sending', async () => {
    const { ipvs } = await setup();
    const controller = new AbortController();
    controller.abort();
    await expect(ipvs.apply(baseState(), { signal: controller.signal })).rejects.toThrow();
    await expect(ipvs.exportState({ signal: controller.signal })).rejects.toThrow();
  });
});
