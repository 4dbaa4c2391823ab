// apply() against the fake kernel where only the fake can help: exactly which requests go out (dry run,
// idempotence, reads limited to the services that need them), partial failure through fault injection
// (applied / failed with the typed error / not attempted, and convergence on the next run), and
// stopOnError.

import { describe, expect, it, vi } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { IPVS_CMD_NEW_DEST, IPVS_CMD_NEW_SERVICE, IPVS_CMD_DEL_DEST, IPVS_CMD_SET_DEST } from '../../src/ipvs/constants.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import { AbortError, IpvsError, KernelError } from '../../src/netlink/errors.js';
import type { Operation } from '../../src/ipvs/operations.js';
import { ABORTED_REASON, OVERFLOW_REASON, apply, applyPlan, plan, type DesiredState, type Plan } from '../../src/reconcile/index.js';
import { FakeKernel } from '../../src/testing/index.js';
import { baseState } from './scenarios.js';

async function setup(): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel({ dumpBudget: 512 });
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  return { kernel, ipvs };
}

const changing = (requests: readonly string[]): string[] => requests.filter((r) => /NEW|SET|DEL/.test(r) && r !== 'IPVS_CMD_SET_CONFIG');

function bigState(services: number, dests: number): DesiredState {
  return {
    services: Array.from({ length: services }, (_, i) => ({
      protocol: 'tcp' as const,
      address: `10.1.${i >> 8}.${i & 255}`,
      port: 80,
      destinations: Array.from({ length: dests }, (_, j) => ({ address: `192.168.${j}.${(i % 250) + 1}`, weight: 1 + j })),
    })),
  };
}

describe('requests on the wire', () => {
  it('dry run sends only reads', async () => {
    const { kernel, ipvs } = await setup();
    await apply(ipvs, baseState());
    const before = kernel.requests.length;
    const s = baseState();
    s.services[0]!.scheduler = 'lc';
    const r = await apply(ipvs, s, { dryRun: true, prune: true });
    expect(r.plan.steps).toHaveLength(1);
    expect(changing(kernel.requests.slice(before))).toEqual([]);
    expect((await ipvs.service({ protocol: 'tcp', address: '192.168.1.110', port: 80 })).scheduler).toBe('rr');
  });

  it('a second apply sends no change at all', async () => {
    const { kernel, ipvs } = await setup();
    await apply(ipvs, baseState());
    const before = kernel.requests.length;
    const r = await apply(ipvs, baseState());
    expect(r.plan.inSync).toBe(true);
    expect(changing(kernel.requests.slice(before))).toEqual([]);
  });

  it('reads destinations only of services whose destinations are managed', async () => {
    const { kernel, ipvs } = await setup();
    await apply(ipvs, baseState());
    const before = kernel.requests.length;
    await plan(ipvs, { services: [{ protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'rr' }] });
    expect(kernel.requests.slice(before)).toEqual(['IPVS_CMD_GET_SERVICE']);
    const before2 = kernel.requests.length;
    await plan(ipvs, { services: [baseState().services[0]!] }, { prune: true });
    expect(kernel.requests.slice(before2)).toEqual(['IPVS_CMD_GET_SERVICE', 'IPVS_CMD_GET_DEST']);
  });

  it('applies a large state pipelined, in a few phases', async () => {
    const { kernel, ipvs } = await setup();
    const r = await apply(ipvs, bigState(300, 4));
    expect(r.ok).toBe(true);
    expect(r.applied).toHaveLength(1500);
    expect(kernel.state().services).toHaveLength(300);
    expect((await plan(ipvs, bigState(300, 4))).inSync).toBe(true);
  });
});

const opsOf = (ops: unknown): string[] => (ops as Operation[]).map((o) => o.op);

describe('execute() calls', () => {
  it('phases with no step waiting on another go out in one call, in phase order', async () => {
    const { ipvs } = await setup();
    await apply(ipvs, baseState());
    const s = baseState();
    s.services[0]!.destinations = [{ address: '192.168.1.116', weight: 5 }, { address: '192.168.1.121' }];
    const execute = vi.spyOn(ipvs, 'execute');
    const r = await apply(ipvs, s);
    expect(r.ok).toBe(true);
    expect(execute).toHaveBeenCalledTimes(1);
    expect(opsOf(execute.mock.calls[0]![0])).toEqual(['update-destination', 'add-destination', 'delete-destination']);
    expect((await plan(ipvs, s)).inSync).toBe(true);
  });

  it('a step waits for the answer of a step it depends on', async () => {
    const { ipvs } = await setup();
    const execute = vi.spyOn(ipvs, 'execute');
    expect((await apply(ipvs, baseState())).ok).toBe(true);
    // The services first; their destinations once they exist.
    expect(execute.mock.calls.map(([ops]) => [...new Set(opsOf(ops))])).toEqual([['add-service'], ['add-destination']]);
  });

  it('with stopOnError each phase is its own call', async () => {
    const { ipvs } = await setup();
    await apply(ipvs, baseState());
    const s = baseState();
    s.services[0]!.destinations = [{ address: '192.168.1.116', weight: 5 }];
    const execute = vi.spyOn(ipvs, 'execute');
    expect((await apply(ipvs, s, { stopOnError: true })).ok).toBe(true);
    expect(execute.mock.calls.map(([ops]) => opsOf(ops))).toEqual([['update-destination'], ['delete-destination']]);
  });
});

describe('partial failure', () => {
  it('an overflow of the receive buffer (ENOBUFS) stops the apply: nothing more is sent, the rest is not attempted, a re-run converges', async () => {
    const { kernel, ipvs } = await setup();
    kernel.overflowReplies(1, IPVS_CMD_NEW_SERVICE);
    const before = kernel.requests.length;
    const first = await apply(ipvs, bigState(3, 2));
    expect(first.ok).toBe(false);
    // The services' window was carried out but its answers lost: failed with the typed error, outcome unknown.
    expect(first.failed.map((f) => [f.step.operation.op, (f.error as KernelError).code])).toEqual(new Array(3).fill(['add-service', 'ENOBUFS']));
    expect(first.notAttempted.map((n) => n.reason)).toEqual(new Array(6).fill(OVERFLOW_REASON));
    expect(changing(kernel.requests.slice(before))).toEqual(new Array(3).fill('IPVS_CMD_NEW_SERVICE'));
    const again = await apply(ipvs, bigState(3, 2));
    expect(again.ok).toBe(true);
    expect(again.applied.map((s) => s.operation.op)).toEqual(new Array(6).fill('add-destination'));
  });

  it('lists applied, failed (typed) and not attempted steps, and a re-run converges', async () => {
    const { kernel, ipvs } = await setup();
    // The first service cannot be added: its two destinations are not attempted.
    kernel.failNext(1, 'ENOMEM', IPVS_CMD_NEW_SERVICE);
    const first = await apply(ipvs, baseState());
    expect(first.ok).toBe(false);
    expect(first.failed).toHaveLength(1);
    const failure = first.failed[0]!;
    expect(failure.step.operation.op).toBe('add-service');
    expect(failure.error).toBeInstanceOf(KernelError);
    expect((failure.error as KernelError).code).toBe('ENOMEM');
    expect(first.notAttempted).toHaveLength(2);
    expect(first.notAttempted[0]!.reason).toMatch(/^depends on add-service tcp 192\.168\.1\.110:80, which failed$/);
    expect(first.applied).toHaveLength(6);
    expect(first.applied.length + first.failed.length + first.notAttempted.length).toBe(first.plan.steps.length);

    const second = await apply(ipvs, baseState());
    expect(second.plan.operations.map((o) => o.op)).toEqual(['add-service', 'add-destination', 'add-destination']);
    expect(second.ok).toBe(true);
    expect((await plan(ipvs, baseState())).inSync).toBe(true);
  });

  it('a failed destination step leaves the others applied', async () => {
    const { kernel, ipvs } = await setup();
    await apply(ipvs, baseState());
    const s = baseState();
    s.services[0]!.destinations = [{ address: '192.168.1.120' }, { address: '192.168.1.121' }, { address: '192.168.1.122' }];
    kernel.failNext(1, 'EBUSY', IPVS_CMD_NEW_DEST);
    kernel.failNext(1, 'EIO', IPVS_CMD_DEL_DEST);
    const r = await apply(ipvs, s);
    expect(r.failed.map((f) => [f.step.operation.op, (f.error as KernelError).code])).toEqual([
      ['add-destination', 'EBUSY'],
      ['delete-destination', 'EIO'],
    ]);
    expect(r.applied).toHaveLength(3);
    const again = await apply(ipvs, s);
    expect(again.plan.operations.map((o) => o.op)).toEqual(['add-destination', 'delete-destination']);
    expect(again.ok).toBe(true);
    expect((await plan(ipvs, s)).inSync).toBe(true);
  });

  it('stopOnError attempts nothing after the first failing phase', async () => {
    const { kernel, ipvs } = await setup();
    kernel.failNext(1, 'ENOMEM', IPVS_CMD_NEW_SERVICE);
    const r = await apply(ipvs, baseState(), { stopOnError: true });
    expect(r.failed).toHaveLength(1);
    expect(r.applied.map((s) => s.operation.op)).toEqual(['add-service', 'add-service', 'add-service']);
    expect(r.notAttempted).toHaveLength(5);
    expect(r.notAttempted.filter((n) => n.reason === 'stopped after the first failure')).toHaveLength(5);
    expect(kernel.state().services.every((s) => s.destinations.length === 0)).toBe(true);
    expect((await apply(ipvs, baseState())).ok).toBe(true);
    expect((await plan(ipvs, baseState())).inSync).toBe(true);
  });

  it('a drained service is not deleted when one of its destination deletes failed', async () => {
    const { kernel, ipvs } = await setup();
    await apply(ipvs, baseState());
    kernel.failNext(1, 'EIO', IPVS_CMD_DEL_DEST);
    const r = await apply(ipvs, { services: baseState().services.slice(1) }, { prune: true, drain: true });
    expect(r.failed.map((f) => f.step.operation.op)).toEqual(['delete-destination']);
    expect(r.notAttempted.map((n) => n.step.operation.op)).toEqual(['delete-service']);
    expect(await ipvs.hasService({ protocol: 'tcp', address: '192.168.1.110', port: 80 })).toBe(true);
    const again = await apply(ipvs, { services: baseState().services.slice(1) }, { prune: true, drain: true });
    expect(again.plan.operations.map((o) => o.op)).toEqual(['delete-destination', 'delete-service']);
    expect(again.ok).toBe(true);
  });

  it('a weight-0 update that failed starts no drain clock', async () => {
    const { kernel, ipvs } = await setup();
    await apply(ipvs, baseState());
    kernel.setStats({ address: '192.168.1.110', port: 80, destination: '192.168.1.117' }, { activeConns: 4 });
    kernel.failNext(1, 'EIO', IPVS_CMD_SET_DEST);
    const s = baseState();
    s.services[0]!.destinations!.pop();
    const r = await apply(ipvs, s, { drain: { timeout: 30 }, now: 1_000 });
    expect(r.failed).toHaveLength(1);
    expect(r.plan.drainState).toEqual({ 'tcp 192.168.1.110:80 -> 192.168.1.117:80': 1_000 });
    expect(r.drainState).toEqual({});
  });

  it('applyPlan carries out a plan made earlier', async () => {
    const { ipvs } = await setup();
    const p = await plan(ipvs, baseState());
    const r = await applyPlan(ipvs, p);
    expect(r.ok).toBe(true);
    expect(r.applied).toHaveLength(p.steps.length);
  });

  it('an invalid desired state is refused before anything is read or sent', async () => {
    const { kernel, ipvs } = await setup();
    const before = kernel.requests.length;
    const bad = baseState();
    bad.services[1]!.destinations![0]!.weight = -1;
    await expect(apply(ipvs, bad)).rejects.toThrow(/services\[1\]\.destinations\[0\]\.weight/);
    expect(kernel.requests.length).toBe(before);
  });
});

describe('abort and refusal', () => {
  it('an abort between calls leaves the rest not attempted, saying so, and a re-run converges', async () => {
    const { ipvs } = await setup();
    const controller = new AbortController();
    const client = {
      execute: async (...args: Parameters<Ipvs['execute']>) => {
        const results = await ipvs.execute(...args);
        controller.abort();
        return results;
      },
    };
    const r = await applyPlan(client, await plan(ipvs, baseState()), { signal: controller.signal });
    expect(r.applied.map((s) => s.operation.op)).toEqual(['add-service', 'add-service', 'add-service', 'add-service']);
    expect(r.failed).toEqual([]);
    expect(r.notAttempted.map((n) => [n.step.operation.op, n.reason])).toEqual(
      Array.from({ length: 5 }, () => ['add-destination', ABORTED_REASON]),
    );
    expect(ABORTED_REASON).toBe('aborted before it was sent');
    expect(r.ok).toBe(false);
    const again = await apply(ipvs, baseState());
    expect(again.plan.operations.map((o) => o.op)).toEqual(Array.from({ length: 5 }, () => 'add-destination'));
    expect(again.ok).toBe(true);
  });

  it('operations execute() skips after an abort are reported as aborted, not as stopped after a failure', async () => {
    const { kernel, ipvs } = await setup();
    const controller = new AbortController();
    const client = {
      execute: (...args: Parameters<Ipvs['execute']>) => {
        controller.abort();
        return ipvs.execute(...args);
      },
    };
    const before = kernel.requests.length;
    const r = await applyPlan(client, await plan(ipvs, baseState()), { signal: controller.signal });
    expect(r.applied).toEqual([]);
    expect(r.notAttempted).toHaveLength(r.plan.steps.length);
    expect(new Set(r.notAttempted.map((n) => n.reason))).toEqual(new Set(['aborted before it was sent']));
    expect(changing(kernel.requests.slice(before))).toEqual([]);
  });

  /** A plan of three steps in three phases (a weight update, an addition, a deletion) for a test to edit. */
  const editPlan = async (): Promise<{ kernel: FakeKernel; ipvs: Ipvs; p: Plan }> => {
    const { kernel, ipvs } = await setup();
    await apply(ipvs, baseState());
    const s = baseState();
    s.services[0]!.destinations = [{ address: '192.168.1.116', weight: 5 }, { address: '192.168.1.121' }];
    return { kernel, ipvs, p: await plan(ipvs, s) };
  };

  it('a step of an edited plan that execute() refuses fails alone with the ValidationError; the rest is applied', async () => {
    const { kernel, ipvs, p } = await editPlan();
    expect(p.operations.map((o) => o.op)).toEqual(['update-destination', 'add-destination', 'delete-destination']);
    const bad = p.steps[1]!.operation as Extract<Operation, { op: 'add-destination' }>;
    bad.destination = { ...bad.destination, weight: -1 };
    const before = kernel.requests.length;
    const r = await applyPlan(ipvs, p);
    expect(r.applied).toEqual([p.steps[0], p.steps[2]]);
    expect(r.failed).toHaveLength(1);
    expect(r.failed[0]!.step).toBe(p.steps[1]);
    expect(r.failed[0]!.error).toBeInstanceOf(ValidationError);
    // Named by its place in the plan, not in the call execute() was given.
    expect((r.failed[0]!.error as ValidationError).field).toBe('steps[1].operation.destination.weight');
    expect((r.failed[0]!.error as ValidationError).value).toBe(-1);
    expect(r.notAttempted).toEqual([]);
    // The steps before it, then those after it: the kernel sees them in the plan's order.
    expect(changing(kernel.requests.slice(before))).toEqual(['IPVS_CMD_SET_DEST', 'IPVS_CMD_DEL_DEST']);
  });

  it('a refused step is named by its place in the plan, not by its place in the call', async () => {
    const { kernel, ipvs, p } = await editPlan();
    // With stopOnError each phase is its own call: the delete is the first operation of the last call.
    const del = p.steps[2]!.operation as Extract<Operation, { op: 'delete-destination' }>;
    del.destination = { ...del.destination, port: 70000 };
    const before = kernel.requests.length;
    const r = await applyPlan(ipvs, p, { stopOnError: true });
    expect(r.applied).toEqual([p.steps[0], p.steps[1]]);
    expect(r.failed.map((f) => f.step)).toEqual([p.steps[2]]);
    const error = r.failed[0]!.error as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.field).toBe('steps[2].operation.destination.port');
    expect(error.message).toMatch(/^invalid steps\[2\]\.operation\.destination\.port 70000: /);
    expect((error.cause as ValidationError).field).toBe('operations[0].destination.port');
    expect(changing(kernel.requests.slice(before))).toHaveLength(2);
  });

  it('a refused add-service fails alone: its destinations are not attempted, the other services are applied', async () => {
    const { kernel, ipvs } = await setup();
    const p = await plan(ipvs, baseState());
    const first = p.steps[0]!.operation as Extract<Operation, { op: 'add-service' }>;
    first.service = { ...first.service, scheduler: 'nope' as never };
    const before = kernel.requests.length;
    const r = await applyPlan(ipvs, p);
    expect(r.failed.map((f) => f.step)).toEqual([p.steps[0]]);
    expect((r.failed[0]!.error as ValidationError).field).toBe('steps[0].operation.service.scheduler');
    const target = p.steps[0]!.target;
    expect(r.notAttempted.map((n) => n.reason)).toEqual(r.notAttempted.map(() => `depends on add-service ${target}, which failed`));
    expect(r.notAttempted.length).toBeGreaterThan(0);
    expect(r.applied.length + r.failed.length + r.notAttempted.length).toBe(p.steps.length);
    expect(r.applied.filter((s) => s.operation.op === 'add-service')).toHaveLength(3);
    expect(changing(kernel.requests.slice(before))).toHaveLength(r.applied.length);
  });

  it('with stopOnError, a refused step stops what comes after it; an abort before sending reports every step as aborted', async () => {
    const { ipvs } = await setup();
    const p = await plan(ipvs, baseState());
    const first = p.steps[1]!.operation as Extract<Operation, { op: 'add-service' }>;
    first.service = { ...first.service, scheduler: 'nope' as never };
    const r = await applyPlan(ipvs, p, { stopOnError: true });
    expect(r.applied).toEqual([p.steps[0]]);
    expect(r.failed.map((f) => f.step)).toEqual([p.steps[1]]);
    expect(new Set(r.notAttempted.map((n) => n.reason))).toEqual(new Set(['stopped after the first failure']));
    const aborted = await applyPlan(ipvs, p, { signal: AbortSignal.abort() });
    expect(aborted.failed).toEqual([]);
    expect(aborted.notAttempted.map((n) => n.reason)).toEqual(p.steps.map(() => ABORTED_REASON));
  });

  it("a client of the user's own that throws or reports an error that is not an IpvsError: the step's error wraps it (message, code or EIO, cause)", async () => {
    const { ipvs } = await setup();
    const p = await plan(ipvs, baseState());
    const thrown = Object.assign(new Error('link down'), { code: 'ELINKDOWN' });
    const throwing = await applyPlan({ execute: () => Promise.reject(thrown) }, p);
    expect(throwing.failed.length).toBeGreaterThan(0);
    for (const f of throwing.failed) {
      expect(f.error).toBeInstanceOf(IpvsError);
      expect(f.error).toMatchObject({ message: 'link down', code: 'ELINKDOWN', cause: thrown });
    }
    // A double in JavaScript (or cast) whose results hold a plain Error.
    const plain = new Error('refused');
    const reporting = await applyPlan({ execute: async (ops) => Array.from({ length: ops.length }, () => ({ ok: false, error: plain }) as never) }, p);
    expect(reporting.failed.length).toBeGreaterThan(0);
    for (const f of reporting.failed) {
      expect(f.error).toBeInstanceOf(IpvsError);
      expect(f.error).toMatchObject({ message: 'refused', code: 'EIO', cause: plain });
    }
  });

  it("a client of the user's own that aborts with a DOMException or Node's AbortError: the step's error is the library's AbortError (ABORT_ERR)", async () => {
    const { ipvs } = await setup();
    const p = await plan(ipvs, baseState());
    const controller = new AbortController();
    controller.abort();
    for (const thrown of [new DOMException('This operation was aborted', 'AbortError'), controller.signal.reason as Error]) {
      const r = await applyPlan({ execute: () => Promise.reject(thrown) }, p);
      expect(r.failed.length).toBeGreaterThan(0);
      for (const f of r.failed) {
        expect(f.error).toBeInstanceOf(AbortError);
        expect(f.error).toMatchObject({ code: 'ABORT_ERR', message: thrown.message, cause: thrown });
      }
    }
  });
});
