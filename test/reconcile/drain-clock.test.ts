// A controller that drains for weeks meets wall-clock steps (NTP correcting the clock, a VM resumed): by
// default a drain's time is counted on a clock that steps cannot move within the process, so a step forward
// cannot make a timeout fire early and delete a server that still has connections.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { apply, describeApplyResult, type DesiredState } from '../../src/reconcile/index.js';
import { FakeKernel } from '../../src/testing/index.js';

const WEB = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
const ID_117 = 'tcp 192.168.1.110:80 -> 192.168.1.117:80';
const state = (...dests: string[]): DesiredState => ({ services: [{ ...WEB, destinations: dests.map((a) => ({ address: a, weight: 3 })) }] });

afterEach(() => {
  vi.useRealTimers();
});

async function draining(): Promise<{ ipvs: Ipvs; drainState: Record<string, number> }> {
  const kernel = new FakeKernel();
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  await apply(ipvs, state('192.168.1.116', '192.168.1.117'));
  kernel.setStats({ ...WEB, destination: '192.168.1.117' }, { activeConns: 4 });
  const first = await apply(ipvs, state('192.168.1.116'), { drain: 60 });
  expect(first.plan.operations.map((o) => o.op)).toEqual(['update-destination']);
  return { ipvs, drainState: first.drainState };
}

describe('the default drain clock', () => {
  it('is in ms since the epoch, as a drain state kept in a file is', async () => {
    const { ipvs, drainState } = await draining();
    expect(Math.abs(drainState[ID_117]! - Date.now())).toBeLessThan(5_000);
    await ipvs.close();
  });

  it('a wall-clock step forward of an hour does not time a 60 s drain out', async () => {
    vi.useFakeTimers({ toFake: ['Date'] }); // the wall clock only: timers and the monotonic clock stay real
    vi.setSystemTime(Date.now());
    const { ipvs, drainState } = await draining();
    vi.setSystemTime(Date.now() + 3_600_000);
    const next = await apply(ipvs, state('192.168.1.116'), { drain: { timeout: 60, state: drainState } });
    expect(next.plan.steps).toEqual([]);
    expect(next.drainState).toEqual(drainState);
    expect(describeApplyResult(next).out).toContain(`= destination ${ID_117}: draining for 0 s (4 active`);
    await ipvs.close();
  });

  it('a step backward does not hold it past its timeout (the drain does not start over)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now());
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    await apply(ipvs, state('192.168.1.116', '192.168.1.117'));
    kernel.setStats({ ...WEB, destination: '192.168.1.117' }, { activeConns: 4 });
    const first = await apply(ipvs, state('192.168.1.116'), { drain: 0.05 });
    expect(first.plan.operations.map((o) => o.op)).toEqual(['update-destination']);
    vi.setSystemTime(Date.now() - 3_600_000);
    await new Promise((resolve) => setTimeout(resolve, 80));
    const next = await apply(ipvs, state('192.168.1.116'), { drain: { timeout: 0.05, state: first.drainState } });
    expect(next.plan.operations.map((o) => o.op)).toEqual(['delete-destination']);
    await ipvs.close();
  });
});
