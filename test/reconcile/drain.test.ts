// Draining against the fake kernel, whose connection counts can be set: weight 0 while connections
// remain, deletion once idle (or at once when already idle), timeouts counted from the drain state the
// previous apply returned, the number and predicate shorthands, and a destination that comes back.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { apply, plan, describePlan, type DesiredState } from '../../src/reconcile/index.js';
import { FakeKernel } from '../../src/testing/index.js';

const WEB = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
const ID_117 = 'tcp 192.168.1.110:80 -> 192.168.1.117:80';

function state(...dests: string[]): DesiredState {
  return { services: [{ ...WEB, destinations: dests.map((a) => ({ address: a, weight: 3 })) }] };
}

async function setup(): Promise<{ kernel: FakeKernel; ipvs: Ipvs; busy: (active: number, inactive?: number) => void }> {
  const kernel = new FakeKernel();
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  await apply(ipvs, state('192.168.1.116', '192.168.1.117'));
  const busy = (active: number, inactive = 0): void => {
    kernel.setStats({ ...WEB, destination: '192.168.1.117' }, { activeConns: active, inactiveConns: inactive });
  };
  return { kernel, ipvs, busy };
}

describe('drain', () => {
  it('deletes an idle destination at once', async () => {
    const { ipvs } = await setup();
    const p = await plan(ipvs, state('192.168.1.116'), { drain: true });
    expect(p.operations).toEqual([{ op: 'delete-destination', service: WEB, destination: { address: '192.168.1.117', port: 80 } }]);
    expect(p.steps[0]!.detail).toBe('drained (0 active, 0 inactive connections)');
  });

  it('quiesces a busy destination, waits, and deletes it once idle', async () => {
    const { ipvs, busy } = await setup();
    busy(3, 1);
    const first = await apply(ipvs, state('192.168.1.116'), { drain: true, now: 10_000 });
    expect(first.plan.operations).toEqual([
      { op: 'update-destination', service: WEB, destination: { address: '192.168.1.117', port: 80, forwarding: 'route', weight: 0 } },
    ]);
    expect(first.plan.steps[0]!.detail).toBe('drain: weight 3 -> 0 (3 active, 1 inactive connections)');
    expect(first.drainState).toEqual({ [ID_117]: 10_000 });
    const waiting = await plan(ipvs, state('192.168.1.116'), { drain: { state: first.drainState }, now: 70_000 });
    expect(waiting.steps).toEqual([]);
    expect(waiting.inSync).toBe(false);
    expect(waiting.draining).toEqual([
      { service: WEB, destination: { address: '192.168.1.117', port: 80 }, target: ID_117, activeConns: 3, inactiveConns: 1, since: 10_000, serviceRemoved: false },
    ]);
    expect(describePlan(waiting, 70_000)).toContain(`= destination ${ID_117}: draining for 60 s (3 active, 1 inactive connections)`);
    busy(0, 1);
    const done = await apply(ipvs, state('192.168.1.116'), { drain: { state: first.drainState } });
    expect(done.plan.operations.map((o) => o.op)).toEqual(['delete-destination']);
    expect(done.drainState).toEqual({});
    expect((await plan(ipvs, state('192.168.1.116'), { drain: true })).inSync).toBe(true);
  });

  it('a timeout deletes a busy destination, counted from the state handed back', async () => {
    const { ipvs, busy } = await setup();
    busy(5);
    const first = await apply(ipvs, state('192.168.1.116'), { drain: 30, now: 1_000 });
    expect(first.drainState).toEqual({ [ID_117]: 1_000 });
    // Without the state, the drain seems to begin now: no timeout yet.
    expect((await plan(ipvs, state('192.168.1.116'), { drain: 30, now: 40_000 })).steps).toEqual([]);
    const early = await plan(ipvs, state('192.168.1.116'), { drain: { timeout: 30, state: first.drainState }, now: 30_999 });
    expect(early.steps).toEqual([]);
    const late = await plan(ipvs, state('192.168.1.116'), { drain: { timeout: 30, state: first.drainState }, now: 31_000 });
    expect(late.operations.map((o) => o.op)).toEqual(['delete-destination']);
    expect(late.steps[0]!.detail).toBe('drain timed out after 30 s (5 active, 0 inactive connections)');
  });

  it('a draining destination someone else put back at weight > 0 drains again from now: a timeout does not delete it at once', async () => {
    const { ipvs, busy } = await setup();
    busy(5);
    const first = await apply(ipvs, state('192.168.1.116'), { drain: 60, now: 1_000 });
    expect(first.drainState).toEqual({ [ID_117]: 1_000 });
    // An operator (ipvs -e ... -w 1) or a health checker gives it its weight back: it takes new connections again.
    await ipvs.updateDestination(WEB, { address: '192.168.1.117', weight: 1 });
    const again = await apply(ipvs, state('192.168.1.116'), { drain: { timeout: 60, state: first.drainState }, now: 62_000 });
    expect(again.plan.steps.map((s) => s.detail)).toEqual(['drain: weight 1 -> 0 (5 active, 0 inactive connections)']);
    expect(again.drainState).toEqual({ [ID_117]: 62_000 });
    const late = await plan(ipvs, state('192.168.1.116'), { drain: { timeout: 60, state: again.drainState }, now: 122_000 });
    expect(late.steps[0]!.detail).toBe('drain timed out after 60 s (5 active, 0 inactive connections)');
  });

  it('a delete that ends a drain and fails keeps when the drain began, so its timeout is not restarted', async () => {
    const { kernel, ipvs, busy } = await setup();
    busy(5);
    const first = await apply(ipvs, state('192.168.1.116'), { drain: 30, now: 1_000 });
    kernel.failNext(1, 'ENOMEM', 'IPVS_CMD_DEL_DEST');
    const failed = await apply(ipvs, state('192.168.1.116'), { drain: { timeout: 30, state: first.drainState }, now: 40_000 });
    expect(failed.plan.steps[0]).toMatchObject({ detail: 'drain timed out after 39 s (5 active, 0 inactive connections)', drainSince: 1_000 });
    expect(failed.failed).toHaveLength(1);
    expect(failed.drainState).toEqual({ [ID_117]: 1_000 });
    const retried = await apply(ipvs, state('192.168.1.116'), { drain: { timeout: 30, state: failed.drainState }, now: 41_000 });
    expect(retried.plan.operations.map((o) => o.op)).toEqual(['delete-destination']);
    expect(retried.ok).toBe(true);
    expect(retried.drainState).toEqual({});
    // An idle destination that never drained has no start time to keep.
    await apply(ipvs, state('192.168.1.116', '192.168.1.118'));
    kernel.failNext(1, 'ENOMEM', 'IPVS_CMD_DEL_DEST');
    const idle = await apply(ipvs, state('192.168.1.116'), { drain: true, now: 50_000 });
    expect(idle.plan.steps[0]).toMatchObject({ detail: 'drained (0 active, 0 inactive connections)' });
    expect(idle.plan.steps[0]!.drainSince).toBeUndefined();
    expect(idle.failed).toHaveLength(1);
    expect(idle.drainState).toEqual({});
  });

  it('takes a predicate deciding when a destination is idle', async () => {
    const { ipvs, busy } = await setup();
    busy(0, 7);
    const udpAware = (d: { activeConns: number; inactiveConns: number }): boolean => d.activeConns + d.inactiveConns === 0;
    expect((await plan(ipvs, state('192.168.1.116'), { drain: udpAware })).operations.map((o) => o.op)).toEqual(['update-destination']);
    expect((await plan(ipvs, state('192.168.1.116'), { drain: true })).operations.map((o) => o.op)).toEqual(['delete-destination']);
  });

  it('drains a UDP server until its flows are gone: Linux counts every UDP flow inactive, so "no active connections" is no idleness there', async () => {
    const DNS = { protocol: 'udp', address: '192.168.1.110', port: 53 } as const;
    const dns = (...dests: string[]): DesiredState => ({ services: [{ ...DNS, destinations: dests.map((a) => ({ address: a })) }] });
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    await apply(ipvs, dns('192.168.1.116', '192.168.1.117'));
    kernel.setStats({ ...DNS, destination: '192.168.1.117' }, { inactiveConns: 4 });
    const first = await apply(ipvs, dns('192.168.1.116'), { drain: true, now: 1000 });
    expect(first.plan.operations).toEqual([
      { op: 'update-destination', service: DNS, destination: { address: '192.168.1.117', port: 53, forwarding: 'route', weight: 0 } },
    ]);
    expect(first.drainState).toEqual({ 'udp 192.168.1.110:53 -> 192.168.1.117:53': 1000 });
    // The flows' entries expire (the udp timeout after their last datagram): then it goes.
    kernel.setStats({ ...DNS, destination: '192.168.1.117' }, { inactiveConns: 0 });
    const second = await apply(ipvs, dns('192.168.1.116'), { drain: { state: first.drainState }, now: 2000 });
    expect(second.plan.steps.map((s) => [s.operation.op, s.detail])).toEqual([['delete-destination', 'drained (0 active, 0 inactive connections)']]);
    // A TCP server's inactive entries (TIME_WAIT, ...) still do not hold its drain up.
    const { ipvs: tcp, busy } = await setup();
    busy(0, 4);
    expect((await plan(tcp, state('192.168.1.116'), { drain: true })).operations.map((o) => o.op)).toEqual(['delete-destination']);
  });

  it('a draining destination listed again gets its weight back and leaves the drain state', async () => {
    const { ipvs, busy } = await setup();
    busy(2);
    const first = await apply(ipvs, state('192.168.1.116'), { drain: true, now: 5 });
    expect(first.drainState).toHaveProperty([ID_117]);
    const back = await apply(ipvs, state('192.168.1.116', '192.168.1.117'), { drain: { state: first.drainState } });
    expect(back.plan.steps.map((s) => s.detail)).toEqual(['weight 0 -> 3']);
    expect(back.drainState).toEqual({});
  });

  it('without drain, a removed destination goes at once even when busy, and a pruned service takes its destinations', async () => {
    const { ipvs, busy } = await setup();
    busy(9);
    expect((await plan(ipvs, state('192.168.1.116'))).operations.map((o) => o.op)).toEqual(['delete-destination']);
    expect((await plan(ipvs, { services: [] }, { prune: true })).operations).toEqual([{ op: 'delete-service', service: WEB }]);
  });

  it('a pruned service waits for its last draining destination', async () => {
    const { ipvs, busy } = await setup();
    busy(1);
    const first = await apply(ipvs, { services: [] }, { prune: true, drain: true });
    // The idle destination goes now; the busy one is quiesced; the service stays.
    expect(first.plan.operations.map((o) => o.op)).toEqual(['update-destination', 'delete-destination']);
    expect(first.plan.draining[0]!.serviceRemoved).toBe(true);
    expect(describePlan(first.plan)).toContain('its service is deleted after it');
    busy(0);
    const done = await apply(ipvs, { services: [] }, { prune: true, drain: true });
    expect(done.plan.operations.map((o) => o.op)).toEqual(['delete-destination', 'delete-service']);
    expect(await ipvs.services()).toEqual([]);
  });

  it('refuses a malformed drain option', async () => {
    const { ipvs } = await setup();
    await expect(plan(ipvs, state(), { drain: -1 })).rejects.toThrow(/drain\.timeout/);
    await expect(plan(ipvs, state(), { drain: { state: [] as never } })).rejects.toThrow(/drain\.state/);
  });
});
