// setStats()/bumpStats() take values and targets from a test: each is checked before anything changes, so a
// slip (a fraction, a string, a negative count, a misspelt counter or protocol) is a ValidationError naming it,
// never a value the fake keeps but cannot report (state() and the wire disagreeing), a half-applied call, or a
// target that silently names another service.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ipvs, ValidationError, type Service } from '../../src/index.js';
import { FakeKernel } from '../../src/testing/index.js';

const web = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
const dest = { ...web, destination: '10.0.0.1' };
let kernel: FakeKernel;
let ipvs: Ipvs;

beforeEach(async () => {
  kernel = new FakeKernel();
  ipvs = await Ipvs.open({ transport: kernel.transport() });
  await ipvs.addService(web);
  await ipvs.addDestination(web, { address: '10.0.0.1' });
});
afterEach(async () => {
  await ipvs.close();
});

/** What state() and the client read of the destination: both must stay as they were after a refused call. */
async function readBoth(): Promise<unknown> {
  const [d] = await ipvs.destinations(web);
  const [s] = kernel.state().services;
  const f = s?.destinations[0];
  return {
    client: [d?.activeConns, d?.inactiveConns, d?.persistentConns, d?.stats.conns, d?.stats.inPackets],
    state: [f?.activeConns, f?.inactiveConns, f?.persistentConns, f?.stats.conns, f?.stats.inpkts, Object.keys(f?.stats ?? {}).length],
    service: s?.stats.conns,
  };
}

function refusal(f: () => unknown): { field: string; reason: string } | string {
  try {
    f();
  } catch (err) {
    if (err instanceof ValidationError) return { field: err.field, reason: err.reason };
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
  return 'accepted';
}

describe('FakeKernel.setStats / bumpStats values', () => {
  it('refuses a bad value, naming it, and changes nothing', async () => {
    kernel.setStats(dest, { activeConns: 2, inactiveConns: 1, conns: 5n, inpkts: 9 });
    const before = await readBoth();
    const cases: [string, () => unknown, string][] = [
      ['fraction', () => kernel.setStats(dest, { conns: 1.5 }), 'FakeStatsValues.conns'],
      ['string counter', () => kernel.setStats(dest, { conns: '7' as never }), 'FakeStatsValues.conns'],
      ['negative counter', () => kernel.setStats(dest, { conns: -1 }), 'FakeStatsValues.conns'],
      ['counter past u64', () => kernel.setStats(dest, { conns: 1n << 64n }), 'FakeStatsValues.conns'],
      ['negative count', () => kernel.setStats(dest, { activeConns: -1 }), 'FakeStatsValues.activeConns'],
      ['fractional count', () => kernel.setStats(dest, { inactiveConns: 1.5 }), 'FakeStatsValues.inactiveConns'],
      ['NaN count', () => kernel.setStats(dest, { activeConns: Number.NaN }), 'FakeStatsValues.activeConns'],
      ['string count', () => kernel.setStats(dest, { activeConns: '3' as never }), 'FakeStatsValues.activeConns'],
      ['count past u32', () => kernel.setStats(dest, { persistentConns: 2 ** 32 }), 'FakeStatsValues.persistentConns'],
      ['bigint count', () => kernel.setStats(dest, { activeConns: 3n as never }), 'FakeStatsValues.activeConns'],
      ['count bumped below 0', () => kernel.bumpStats(dest, { activeConns: -3 }), 'FakeStatsValues.activeConns'],
      ['fractional delta', () => kernel.bumpStats(dest, { inpkts: 0.5 }), 'FakeStatsValues.inpkts'],
      // The good counter first: it must not be set when the one after it is refused.
      ['unknown counter', () => kernel.setStats(dest, { inpkts: 7, conn: 1 } as never), 'FakeStatsValues.conn'],
      ['inherited name', () => kernel.setStats(dest, { inpkts: 7, toString: 1 } as never), 'FakeStatsValues.toString'],
      ['counts on a service', () => kernel.setStats(web, { conns: 8, activeConns: 1 }), 'FakeStatsValues.activeConns'],
      ['values not an object', () => kernel.setStats(dest, null as never), 'FakeStatsValues'],
    ];
    for (const [name, call, field] of cases) {
      expect([name, refusal(call)]).toEqual([name, expect.objectContaining({ field })]);
      expect([name, await readBoth()]).toEqual([name, before]);
    }
    expect(refusal(() => kernel.setStats(dest, { inpkts: 7, conn: 1 } as never))).toMatchObject({ reason: expect.stringContaining('did you mean conns?') });
  });

  it('takes the values the kernel can hold: u64 counters (bumped modulo 2^64, as the kernel adds), u32 connection counts', async () => {
    kernel.setStats(dest, { conns: (1n << 64n) - 1n, activeConns: 0xffffffff, inactiveConns: 3 });
    kernel.bumpStats(dest, { conns: 2, inactiveConns: -3 });
    const [d] = await ipvs.destinations(web);
    expect([d?.stats.conns, d?.activeConns, d?.inactiveConns]).toEqual([1n, 0xffffffff, 0]);
    expect(kernel.state().services[0]?.destinations[0]).toMatchObject({ activeConns: 0xffffffff, inactiveConns: 0, stats: { conns: 1n } });
  });
});

describe('FakeKernel.setStats / bumpStats targets', () => {
  it('refuses a field that names no service rather than leaving it out of the match', async () => {
    await ipvs.addService({ ...web, protocol: 'udp' });
    const cases: [string, () => unknown, string][] = [
      // Left out, a bad protocol would widen the match: with the UDP service gone it set the TCP one's counters.
      ['protocol name', () => kernel.setStats({ ...web, protocol: 'TCP' as never }, { conns: 1 }), 'FakeStatsTarget.protocol'],
      ['protocol number', () => kernel.setStats({ ...web, protocol: 6.5 }, { conns: 1 }), 'FakeStatsTarget.protocol'],
      ['family', () => kernel.setStats({ fwmark: 3, family: 'IPv6' as never }, { conns: 1 }), 'FakeStatsTarget.family'],
      ['port', () => kernel.setStats({ ...web, port: '80' as never }, { conns: 1 }), 'FakeStatsTarget.port'],
      ['fwmark', () => kernel.setStats({ fwmark: -1 }, { conns: 1 }), 'FakeStatsTarget.fwmark'],
      ['address', () => kernel.setStats({ ...web, address: 'web' }, { conns: 1 }), 'FakeStatsTarget.address'],
      ['destination', () => kernel.setStats({ ...web, destination: '10.0.0.256' }, { conns: 1 }), 'FakeStatsTarget.destination'],
      ['destinationPort', () => kernel.setStats({ ...dest, destinationPort: 80.5 }, { conns: 1 }), 'FakeStatsTarget.destinationPort'],
    ];
    for (const [name, call, field] of cases) expect([name, refusal(call)]).toEqual([name, expect.objectContaining({ field })]);
    await ipvs.deleteService({ ...web, protocol: 'udp' });
    expect(refusal(() => kernel.setStats({ address: web.address, protocol: 'TCP' as never }, { conns: 1 }))).toMatchObject({ field: 'FakeStatsTarget.protocol' });
    expect(kernel.state().services[0]?.stats.conns).toBe(0n);
  });

  it('takes a Service read back from the client, as docs/testing.md says, its other keys left out of the match', async () => {
    // Refused as unknown keys ("invalid FakeStatsTarget.scheduler"): only the compiler took it.
    await ipvs.addService({ fwmark: 7, family: 'ipv6', scheduler: 'rr', persistence: { timeout: 60 } });
    for (const s of await ipvs.services()) {
      kernel.bumpStats(s, { conns: 2 });
      for (const d of await ipvs.destinations(s)) kernel.setStats({ ...s, destination: d.address }, { activeConns: 4 });
    }
    expect(kernel.state().services.map((s) => [s.key, s.stats.conns, s.destinations.map((d) => d.activeConns)])).toEqual([
      ['tcp 192.168.1.110:80', 2n, [4]],
      ['fwmark 7 (IPv6)', 2n, []],
    ]);
    // A Service whose service is gone: "no service matches" with what names it (its bigint stats made the
    // message itself fail: "Do not know how to serialize a BigInt").
    const [gone] = await ipvs.services();
    await ipvs.deleteService(web);
    expect(refusal(() => kernel.bumpStats(gone as Service, { conns: 1 }))).toBe('Error: FakeKernel: no service matches {"protocol":"tcp","address":"192.168.1.110","port":80,"family":"ipv4"}');
    // Still refused: a key neither a target's nor a Service's.
    expect(refusal(() => kernel.setStats({ ...web, destinaton: '10.0.0.1' } as never, { conns: 1 }))).toMatchObject({ field: 'FakeStatsTarget.destinaton' });
  });
});
