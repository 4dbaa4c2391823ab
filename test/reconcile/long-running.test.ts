// A controller re-applying its desired state every 30 s for weeks, destinations coming and going, some still
// busy when they leave: the drain state it hands back each time holds only the drains under way, every busy
// leaver is drained (never deleted busy before its timeout), and nothing grows with the number of applies.

import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { apply, type DesiredState, type DrainState } from '../../src/reconcile/index.js';
import { FakeKernel } from '../../src/testing/index.js';

const SERVICES = 3;
const POOL = 12;
const TIMEOUT_S = 300;

describe('1 000 re-applies', () => {
  it('destinations coming and going, drained when busy: the drain state stays the drains under way', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const shutdown = new AbortController();
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const vip = (s: number): string => `10.0.${s}.1`;
    const rip = (s: number, d: number): string => `10.1.${s}.${d + 1}`;
    let drainState: DrainState = {};
    let now = 1_700_000_000_000;
    const busy = new Set<string>();
    let drained = 0;
    let timedOut = 0;
    // Each destination comes and goes now and then; every fourth keeps long connections and stays busy.
    const wanted = Array.from({ length: SERVICES }, () => Array.from({ length: POOL }, () => random() < 0.6));
    for (let i = 0; i < 1_000; i++) {
      for (const list of wanted) list.forEach((w, d) => (list[d] = random() < 0.1 ? !w : w));
      const desired: DesiredState = {
        services: Array.from({ length: SERVICES }, (_, s) => ({
          protocol: 'tcp' as const, address: vip(s), port: 80, scheduler: 'rr',
          destinations: Array.from({ length: POOL }, (_, d) => d).filter((d) => wanted[s]![d]).map((d) => ({ address: rip(s, d), weight: 1 + (d % 3) })),
        })),
      };
      const result = await apply(ipvs, desired, { prune: true, drain: { timeout: TIMEOUT_S, state: drainState }, now, signal: shutdown.signal });
      expect(result.ok).toBe(true);
      for (const step of result.applied) {
        if (step.drain) drained++;
        if (step.operation.op === 'delete-destination' && step.detail.startsWith('drain timed out')) timedOut++;
        // A busy destination is deleted only once its drain has timed out.
        if (step.operation.op === 'delete-destination' && busy.has(step.target)) expect(step.detail).toMatch(/^drain timed out after (30\d|31\d) s/);
      }
      drainState = result.drainState;
      // Exactly the destinations draining now, each started no later than now.
      expect(Object.keys(drainState).sort()).toEqual(result.plan.draining.map((d) => d.target).sort());
      expect(Object.values(drainState).every((t) => t <= now && now - t < (TIMEOUT_S + 30) * 1000)).toBe(true);
      // The kernel's connections change: some servers become busy, others idle.
      busy.clear();
      for (let s = 0; s < SERVICES; s++) {
        for (const d of await ipvs.destinations({ protocol: 'tcp', address: vip(s), port: 80 }, { stats: false })) {
          const active = d.address.endsWith('.1') || d.address.endsWith('.5') || d.address.endsWith('.9') ? 3 : random() < 0.3 ? 1 + Math.floor(random() * 5) : 0;
          kernel.setStats({ protocol: 'tcp', address: vip(s), port: 80, destination: d.address }, { activeConns: active });
          if (active > 0) busy.add(`tcp ${vip(s)}:80 -> ${d.address}:80`);
        }
      }
      now += 30_000;
      kernel.requests.length = 0;
    }
    expect(drained).toBeGreaterThan(300);
    expect(timedOut).toBeGreaterThan(10);
    expect(Object.keys(drainState).length).toBeLessThanOrEqual(SERVICES * POOL);
    expect(getEventListeners(shutdown.signal, 'abort')).toEqual([]);
    expect((ipvs as unknown as { conn: { inFlight: number } }).conn.inFlight).toBe(0);
    await ipvs.close();
  }, 60_000);
});
