// Reconcile with services of protocols Linux keeps but does not balance (another tool's, made over raw
// netlink): they are read, exported with their number, left alone or pruned like any other service, and
// a desired state may name them; only adding one fails, as its own step.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import { apply, checkDesiredState, exportState, parseDesiredState, plan } from '../../src/reconcile/index.js';
import { FakeKernel } from '../../src/testing/index.js';
import { addForeignServices, GRE_AND_ESP } from '../helpers/foreign-service.js';

const WEB = { protocol: 'tcp', address: '10.9.9.9', port: 80 } as const;

async function setup(): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel();
  await addForeignServices(kernel.transport(), GRE_AND_ESP);
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  await ipvs.addService({ ...WEB, scheduler: 'rr' });
  return { kernel, ipvs };
}

const keys = (kernel: FakeKernel): string[] => kernel.state().services.map((s) => s.key).sort();

describe('services of other protocols in reconcile', () => {
  it('exportState includes them with their number, in ipvsadm order; applying the export changes nothing', async () => {
    const { ipvs } = await setup();
    const state = await exportState(ipvs);
    expect(state.services).toEqual([
      { ...WEB, scheduler: 'rr', destinations: [] },
      { protocol: 47, address: '10.9.9.9', port: 80, scheduler: 'rr', destinations: [{ address: '10.9.9.10', port: 80, forwarding: 'masq', weight: 1 }] },
      { protocol: 50, address: '10.9.9.9', port: 0, scheduler: 'rr', destinations: [{ address: '10.9.9.10', port: 0, forwarding: 'masq', weight: 1 }] },
    ]);
    // Through JSON, as `ipvs export` writes it and `ipvs apply` reads it.
    const again = parseDesiredState(JSON.stringify(state));
    expect(checkDesiredState(again)).toEqual(state);
    expect((await plan(ipvs, again, { prune: true })).steps).toEqual([]);
    await ipvs.close();
  });

  it('left alone unless pruned; a prune deletes them; a desired state changes them by their number', async () => {
    const { kernel, ipvs } = await setup();
    const p = await plan(ipvs, { services: [{ ...WEB, scheduler: 'rr' }] });
    expect(p.steps).toEqual([]);
    expect(p.unmanaged).toEqual(expect.arrayContaining([{ protocol: 47, address: '10.9.9.9', port: 80 }, { protocol: 50, address: '10.9.9.9', port: 0 }]));
    const changed = await apply(ipvs, { services: [{ ...WEB, scheduler: 'rr' }, { protocol: 47, address: '10.9.9.9', port: 80, scheduler: 'wrr' }] });
    expect(changed.ok).toBe(true);
    expect(changed.applied.map((s) => [s.operation.op, s.target, s.detail])).toEqual([['update-service', 'proto 47 10.9.9.9:80', 'scheduler rr -> wrr']]);
    const pruned = await apply(ipvs, { services: [{ ...WEB, scheduler: 'rr' }] }, { prune: true });
    expect(pruned.ok).toBe(true);
    expect(pruned.applied.map((s) => [s.operation.op, s.target]).sort()).toEqual([['delete-service', 'proto 47 10.9.9.9:80'], ['delete-service', 'proto 50 10.9.9.9:0']]);
    expect(keys(kernel)).toEqual(['tcp 10.9.9.9:80']);
    await ipvs.close();
  });

  it('a prune predicate sees them as numbers', async () => {
    const { kernel, ipvs } = await setup();
    const r = await apply(ipvs, { services: [] }, { prune: (s) => typeof s.protocol === 'number' });
    expect(r.ok).toBe(true);
    expect(keys(kernel)).toEqual(['tcp 10.9.9.9:80']);
    await ipvs.close();
  });

  it('adding one fails as its own step (its destinations not attempted); everything else is applied', async () => {
    const { kernel, ipvs } = await setup();
    const state = await exportState(ipvs);
    const other = new FakeKernel();
    const fresh = await Ipvs.open({ transport: other.transport() });
    const r = await apply(fresh, state);
    expect(r.ok).toBe(false);
    expect(r.applied.map((s) => s.target)).toEqual(['tcp 10.9.9.9:80']);
    expect(r.failed.map((f) => f.step.target)).toEqual(['proto 47 10.9.9.9:80', 'proto 50 10.9.9.9:0']);
    for (const f of r.failed) {
      expect(f.error).toBeInstanceOf(ValidationError);
      expect(f.error.message).toMatch(/^invalid steps\[\d+\]\.operation\.service\.protocol (47|50): Linux would create a service of this protocol but balance nothing/);
    }
    expect(r.notAttempted.map((n) => [n.step.target, n.reason])).toEqual([
      ['proto 47 10.9.9.9:80 -> 10.9.9.10:80', 'depends on add-service proto 47 10.9.9.9:80, which failed'],
      ['proto 50 10.9.9.9:0 -> 10.9.9.10:0', 'depends on add-service proto 50 10.9.9.9:0, which failed'],
    ]);
    expect(keys(other)).toEqual(['tcp 10.9.9.9:80']);
    expect(other.requests.filter((q) => q === 'IPVS_CMD_NEW_SERVICE')).toHaveLength(1);
    // stopOnError: the refusal stops what comes after it.
    const third = new FakeKernel();
    const stopping = await Ipvs.open({ transport: third.transport() });
    const s = await apply(stopping, { services: [state.services[1]!, state.services[0]!] }, { stopOnError: true });
    expect(s.failed.map((f) => f.step.target)).toEqual(['proto 47 10.9.9.9:80']);
    expect(s.applied).toEqual([]);
    expect(s.notAttempted.map((n) => [n.step.target, n.reason])).toEqual([
      ['tcp 10.9.9.9:80', 'stopped after the first failure'],
      ['proto 47 10.9.9.9:80 -> 10.9.9.10:80', 'stopped after the first failure'],
    ]);
    expect(third.state().services).toEqual([]);
    await Promise.all([ipvs.close(), fresh.close(), stopping.close()]);
    expect(keys(kernel)).toHaveLength(3);
  });

  it('a desired state refuses a protocol number out of range, naming its path', async () => {
    const { ipvs } = await setup();
    const err = await plan(ipvs, { services: [{ protocol: 65536, address: '10.9.9.9', port: 80 }] }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('services[0].protocol');
    await ipvs.close();
  });
});
