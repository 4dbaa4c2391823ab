// One service with many real servers: each transition runs a sync of its service, which plans every server
// of it, so a mass failure (every server down: one transition, one sync each) must cost each sync time
// linear in the servers. Finding each server's status by a search of the list made every sync quadratic and
// the failure cubic: 800 servers of one service going down took some 4 s of CPU, 2 000 about two minutes,
// with the event loop held meanwhile (every check's timer late). Measured as a ratio of CPU times in one
// process (the same failure of as many servers spread over services of a few each), so neither the
// machine's speed nor a busy host decides.

import { describe, expect, it } from 'vitest';
import { harness } from './harness.js';

const SERVERS = 640;
const PER_SMALL_SERVICE = 8;
const address = (i: number): string => `10.1.${i >> 8}.${i & 255}`;

/** CPU ms of `servers` servers in services of `perService` each (one checker) going down at once, each change checked. */
async function massFailure(perService: number, servers = SERVERS): Promise<number> {
  const down = new Set<string>();
  const services = Array.from({ length: servers / perService }, (_, s) => ({
    protocol: 'tcp' as const,
    address: `192.168.${s >> 8}.${(s & 255) + 1}`,
    port: 80,
    scheduler: 'rr' as const,
    destinations: Array.from({ length: perService }, (_, j) => ({ address: address(s * perService + j), forwarding: 'route' as const, weight: 1 })),
  }));
  const h = await harness({
    services,
    check: { type: 'custom', name: 'switchboard', run: (t) => !down.has(t.address), intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 1, jitterMs: 0 },
  });
  await h.checker.start();
  for (let i = 0; i < servers; i++) down.add(address(i));
  const sent = h.kernel.requests.length;
  const before = process.cpuUsage();
  // One check per server, each a transition the clock lets finish, sync included, before the next.
  await h.clock.advance(1000);
  await h.checker.settled();
  const used = process.cpuUsage(before);
  expect(h.kernel.requests.slice(sent)).toEqual(Array(servers).fill('IPVS_CMD_SET_DEST'));
  expect(h.kernel.state().services.flatMap((s) => s.destinations.map((d) => d.weight))).toEqual(Array(servers).fill(0));
  await h.close();
  return (used.user + used.system) / 1000;
}

describe('a service with many real servers', () => {
  it('a mass failure costs about what it costs in services of a few servers each', async () => {
    await massFailure(PER_SMALL_SERVICE, 40); // the code compiled before either is measured
    const spread = await massFailure(PER_SMALL_SERVICE);
    const one = await massFailure(SERVERS);
    expect(one).toBeLessThan(2 * spread);
  });
});
