// Scale benchmark (`npm run bench:scale`, not part of `npm test`): work that must cost the same per item in a
// big table as in a small one, or close, each measured beside its small-table peer in the same process, and
// printed as a ratio (CPU times, medians of several rounds). Two cases, both once far worse:
// - the fake kernel changing destinations of a service of 5 000 against one of 500: each change walks the
//   service's list, as Linux does, so some 2-5x is the walk itself; when the walk made two hex strings per
//   destination it was about 14x;
// - the health checker's mass failure of 640 real servers in one service against the same servers in services
//   of 8 (each transition syncs its service; finding each server's status by a search made a sync quadratic
//   and the failure cubic, about 4x at 640 and minutes at 2 000; now about 1-2x).
// Timed unit tests would fail on a busy host, so these numbers are printed, not asserted.

import { Ipvs } from '../src/client.js';
import type { Operation } from '../src/ipvs/operations.js';
import { FakeKernel } from '../src/testing/index.js';
import { harness } from '../test/health/harness.js';

const ROUNDS = Number(process.env.SCALE_ROUNDS ?? 5);

function cpuMs(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

const address = (i: number): string => `10.1.${i >> 8}.${i & 255}`;

/** CPU ms of `changed` weight edits in a service of `size` destinations of the fake kernel. */
async function fakeEdits(size: number, changed: number): Promise<number> {
  const kernel = new FakeKernel();
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  const service = { protocol: 'tcp', address: '192.168.1.111', port: 80 } as const;
  const ops = (op: Operation['op'], count: number, weight: number): Operation[] =>
    Array.from({ length: count }, (_, i) => ({ op, service, destination: { address: address(i), port: 80, forwarding: 'masq', weight } }) as Operation);
  try {
    await ipvs.addService({ ...service, scheduler: 'rr' });
    await ipvs.execute(ops('add-destination', size, 1));
    // The first destinations added are the last of the list (newest first): each edit walks all of it.
    const before = process.cpuUsage();
    const results = await ipvs.execute(ops('update-destination', changed, 2));
    const ms = cpuMs(before);
    if (!results.every((r) => 'ok' in r && r.ok)) throw new Error('an edit failed');
    return ms;
  } finally {
    await ipvs.close();
  }
}

/** CPU ms of `servers` real servers in services of `perService` each (one checker) going down at once. */
async function massFailure(perService: number, servers: number): Promise<number> {
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
  try {
    await h.checker.start();
    for (let i = 0; i < servers; i++) down.add(address(i));
    const before = process.cpuUsage();
    // One check per server, each a transition the clock lets finish, sync included, before the next.
    await h.clock.advance(1000);
    await h.checker.settled();
    const ms = cpuMs(before);
    const weights = h.kernel.state().services.flatMap((s) => s.destinations.map((d) => d.weight));
    if (weights.length !== servers || weights.some((w) => w !== 0)) throw new Error('not every server was taken out');
    return ms;
  } finally {
    await h.close();
  }
}

async function compare(name: string, big: () => Promise<number>, small: () => Promise<number>): Promise<void> {
  await small(); // compiled before either is measured
  const bigs: number[] = [];
  const smalls: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    smalls.push(await small());
    bigs.push(await big());
  }
  const [b, s] = [median(bigs), median(smalls)];
  console.log(`${name.padEnd(58)} ${b.toFixed(0).padStart(6)} ms ${s.toFixed(0).padStart(6)} ms ${(b / s).toFixed(2).padStart(6)}x`);
}

console.log(`case (big against small: CPU ms, medians of ${ROUNDS} rounds)`.padEnd(58), '     big      small   ratio');
await compare('fake kernel: 500 edits, list of 5 000 / of 500', () => fakeEdits(5000, 500), () => fakeEdits(500, 500));
await compare('health: 640 servers down, one service / services of 8', () => massFailure(640, 640), () => massFailure(8, 640));
