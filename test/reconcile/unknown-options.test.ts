// The free functions of reconcile refuse option keys they do not have, before reading or changing
// anything (the client's methods, which delegate to them: test/client/unknown-options.test.ts). apply()
// hands its own options, which have more keys, to planning and carrying out without tripping either.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { apply, applyPlan, desiredStateFromRules, exportState, normaliseDesiredState, parseDesiredState, plan, planAgainst } from '../../src/reconcile/index.js';
import { FakeKernel } from '../../src/testing/index.js';
import { refusedSync } from '../helpers/refused.js';

const WEB = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;

async function setup(): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel();
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  await ipvs.addService(WEB);
  await ipvs.addDestination(WEB, { address: '10.0.1.1' });
  return { kernel, ipvs };
}

describe('reconcile refuses unknown option keys', () => {
  it('apply: a misspelt dryRun or prune sends nothing', async () => {
    const { kernel, ipvs } = await setup();
    const table = kernel.state();
    const before = kernel.requests.length;
    await expect(apply(ipvs, { services: [] }, { prune: true, dryrun: true } as never)).rejects.toThrow(
      'invalid dryrun true: unknown option (did you mean dryRun?); expected one of prune, drain, now, signal, dryRun, stopOnError',
    );
    await expect(apply(ipvs, { services: [] }, { purne: true } as never)).rejects.toThrow(/^invalid purne true: unknown option \(did you mean prune\?\)/);
    await expect(apply(ipvs, { services: [] }, { prune: true, drain: { Idle: () => true } } as never)).rejects.toMatchObject({
      field: 'drain.Idle',
      reason: expect.stringMatching(/^unknown option \(did you mean idle\?\); expected one of idle, timeout, state$/),
    });
    expect(kernel.requests.length).toBe(before);
    expect(kernel.state()).toEqual(table);
    // Its own options reach planning and applying without tripping their narrower checks.
    const result = await apply(ipvs, { services: [] }, { prune: true, dryRun: true, stopOnError: true, drain: false, now: 0 });
    expect(result.plan.operations.map((o) => o.op)).toEqual(['delete-service']);
    expect((await apply(ipvs, { services: [] }, { prune: true, stopOnError: true })).ok).toBe(true);
    await ipvs.close();
  });

  it('plan, planAgainst, applyPlan and exportState', async () => {
    const { kernel, ipvs } = await setup();
    const table = kernel.state();
    const before = kernel.requests.length;
    await expect(plan(ipvs, { services: [] }, { prune: true, dryRun: true } as never)).rejects.toMatchObject({ field: 'dryRun', reason: 'unknown option; expected one of prune, drain, now, signal' });
    await expect(exportState(ipvs, { Signal: undefined } as never)).rejects.toMatchObject({ field: 'Signal', reason: expect.stringMatching(/did you mean signal\?/) });
    expect(kernel.requests.length).toBe(before);
    const p = await plan(ipvs, { services: [] }, { prune: true });
    const planned = kernel.requests.length;
    await expect(applyPlan(ipvs, p, { stoponerror: true } as never)).rejects.toMatchObject({ field: 'stoponerror', reason: expect.stringMatching(/did you mean stopOnError\?/) });
    // applyPlan takes stopOnError and signal only: a plan option is refused there.
    await expect(applyPlan(ipvs, p, { prune: true } as never)).rejects.toMatchObject({ field: 'prune', reason: 'unknown option; expected one of stopOnError, signal' });
    expect(kernel.requests.length).toBe(planned);
    expect(kernel.state()).toEqual(table);
    expect(refusedSync(() => planAgainst(new Map(), normaliseDesiredState({ services: [] }), { Now: 0 } as never)).reason).toMatch(/did you mean now\?/);
    await ipvs.close();
  });

  it('parseDesiredState and desiredStateFromRules', () => {
    const rules = '-A -t 10.0.0.1:80 -s rr\n';
    expect(refusedSync(() => parseDesiredState(rules, { requirerules: true } as never)).message).toBe(
      'invalid requirerules true: unknown option (did you mean requireRules?); expected one of services, lookupHost, format, requireRules',
    );
    expect(refusedSync(() => parseDesiredState('', { fromat: 'rules' } as never)).field).toBe('fromat');
    expect(refusedSync(() => desiredStateFromRules(rules, { lookupHosts: () => undefined } as never)).reason).toMatch(/did you mean lookupHost\?/);
    // Its own keys and the rules parser's pass together.
    expect(parseDesiredState(rules, { requireRules: true, format: 'rules', lookupHost: () => undefined }).services).toHaveLength(1);
  });
});
