// Destinations with a forwarding method past bypass (5..7: Linux keeps the three bits of IP_VS_CONN_F_FWD_MASK
// as sent) or a tunnel type past gre (Linux keeps any u8), as another tool can leave them: read with their
// number (the decoder used to refuse them, so one failed every read of its service), planned around,
// deleted, quiesced as route / ipip by a drain, exported as numbers that apply then refuses.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import type { DestinationSpec } from '../../src/ipvs/types.js';
import { apply, exportState, plan } from '../../src/reconcile/index.js';
import { FakeKernel } from '../../src/testing/index.js';
import { addRawDestinations } from '../helpers/foreign-service.js';
import { refusedAsync as refused } from '../helpers/refused.js';

const WEB = { protocol: 'tcp', address: '10.9.9.9', port: 80 } as const;
const OTHER = { protocol: 'tcp', address: '10.9.9.20', port: 80 } as const;

async function setup(): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel();
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  await ipvs.addService({ ...WEB, scheduler: 'rr' });
  await ipvs.addDestination(WEB, { address: '10.9.9.10', forwarding: 'masq' });
  await addRawDestinations(kernel.transport(), { protocol: 6, address: WEB.address, port: WEB.port }, [
    { address: '10.9.9.15', fwd: 5 },
    { address: '10.9.9.17', fwd: 7, weight: 2 },
    { address: '10.9.9.13', fwd: 2, tunnel: { type: 3 } },
    { address: '10.9.9.14', fwd: 2, tunnel: { type: 200, port: 5555, flags: 1 } },
  ]);
  await ipvs.addService({ ...OTHER, scheduler: 'rr' });
  await ipvs.addDestination(OTHER, { address: '10.9.9.21', forwarding: 'masq' });
  return { kernel, ipvs };
}

const byAddress = async (ipvs: Ipvs): Promise<Record<string, unknown>> =>
  Object.fromEntries((await ipvs.destinations(WEB)).map((d) => [d.address, [d.forwarding, d.weight, d.tunnel]]));

describe('destinations with a forwarding method or tunnel type without a name', () => {
  it('are read with their number; the rest of the table with them', async () => {
    const { ipvs } = await setup();
    expect(await byAddress(ipvs)).toEqual({
      '10.9.9.10': ['masq', 1, undefined],
      '10.9.9.15': [5, 1, undefined],
      '10.9.9.17': [7, 2, undefined],
      '10.9.9.13': ['tunnel', 1, { type: 3, port: 0, checksum: 'nocsum' }],
      '10.9.9.14': ['tunnel', 1, { type: 200, port: 5555, checksum: 'csum' }],
    });
    expect(await ipvs.destinations(OTHER)).toHaveLength(1);
    await ipvs.close();
  });

  it('a read-back one is a key to delete; updating it with its number is refused, naming the field, before sending', async () => {
    const { kernel, ipvs } = await setup();
    const read = await ipvs.destinations(WEB);
    const fwd5 = read.find((d) => d.address === '10.9.9.15')!;
    const type3 = read.find((d) => d.address === '10.9.9.13')!;
    const sent = kernel.requests.length;
    const e1 = await refused(ipvs.updateDestination(WEB, { ...fwd5, forwarding: fwd5.forwarding as DestinationSpec['forwarding'], weight: 0 }));
    expect(e1).toMatchObject({ field: 'destination.forwarding', value: 5 });
    expect(e1.message).toMatch(/^invalid destination\.forwarding 5: a forwarding method without a name .* give 'masq', 'route' or 'tunnel'$/);
    // The usual read-change-update loop compiles for a tunnel read back (TunnelSpec takes the number) and is refused.
    const e2 = await refused(ipvs.updateDestination(WEB, { ...type3, forwarding: 'tunnel', weight: 0 }));
    expect(e2).toMatchObject({ field: 'destination.tunnel.type', value: 3 });
    expect(e2.message).toMatch(/^invalid destination\.tunnel\.type 3: a tunnel type without a name .* give 'ipip', 'gue' or 'gre'$/);
    expect(kernel.requests.length).toBe(sent);
    // Given a named value instead, the same objects update them.
    await ipvs.updateDestination(WEB, { ...type3, forwarding: 'tunnel', tunnel: { type: 'ipip' }, weight: 0 });
    await ipvs.deleteDestination(WEB, fwd5);
    await ipvs.deleteDestination(WEB, read.find((d) => d.address === '10.9.9.14')!);
    expect(await byAddress(ipvs)).toEqual({
      '10.9.9.10': ['masq', 1, undefined],
      '10.9.9.17': [7, 2, undefined],
      '10.9.9.13': ['tunnel', 0, { type: 'ipip', port: 0, checksum: 'nocsum' }],
    });
    await ipvs.close();
  });

  it('plans around them: another service is changed, the service itself left alone when unnamed and put right when named', async () => {
    const { kernel, ipvs } = await setup();
    const other = await apply(ipvs, { services: [{ ...OTHER, scheduler: 'rr', destinations: [{ address: '10.9.9.21', forwarding: 'masq', weight: 5 }] }] });
    expect(other.ok).toBe(true);
    expect(other.applied.map((s) => s.detail)).toEqual(['weight 1 -> 5']);
    expect(other.plan.unmanaged).toEqual([WEB]);
    // Named, with one of them wanted as route: the rest are removed, that one rewritten.
    const want = { services: [{ ...WEB, scheduler: 'rr' as const, destinations: [{ address: '10.9.9.10', forwarding: 'masq' as const }, { address: '10.9.9.15' }, { address: '10.9.9.13', forwarding: 'tunnel' as const }] }] };
    const named = await plan(ipvs, want);
    expect(named.steps.map((s) => [s.operation.op, s.target, s.detail])).toEqual(expect.arrayContaining([
      ['update-destination', 'tcp 10.9.9.9:80 -> 10.9.9.15:80', 'forwarding fwd-5 -> route'],
      ['update-destination', 'tcp 10.9.9.9:80 -> 10.9.9.13:80', 'forwarding tunnel type-3 nocsum -> tunnel ipip'],
      ['delete-destination', 'tcp 10.9.9.9:80 -> 10.9.9.17:80', 'not in the desired state'],
      ['delete-destination', 'tcp 10.9.9.9:80 -> 10.9.9.14:80', 'not in the desired state'],
    ]));
    expect(named.steps).toHaveLength(4);
    const r = await apply(ipvs, want);
    expect(r.ok).toBe(true);
    expect(kernel.state().services.find((s) => s.address === WEB.address)!.destinations.map((d) => [d.address, d.forwarding, d.tunnel.type]).sort()).toEqual([
      ['10.9.9.10', 'masq', 0], ['10.9.9.13', 'tunnel', 0], ['10.9.9.15', 'route', 0],
    ]);
    await ipvs.close();
  });

  it('a drain quiesces them as route (a method without a name) and ipip (a tunnel type past gre), then removes them', async () => {
    const { kernel, ipvs } = await setup();
    for (const a of ['10.9.9.15', '10.9.9.17', '10.9.9.13', '10.9.9.14']) kernel.setStats({ ...WEB, destination: a }, { activeConns: 2 });
    const desired = { services: [{ ...WEB, scheduler: 'rr' as const, destinations: [{ address: '10.9.9.10', forwarding: 'masq' as const }] }, { ...OTHER, scheduler: 'rr' as const, destinations: [{ address: '10.9.9.21', forwarding: 'masq' as const }] }] };
    const first = await apply(ipvs, desired, { drain: true });
    expect(first.failed).toEqual([]);
    expect(first.ok).toBe(true);
    expect(await byAddress(ipvs)).toEqual({
      '10.9.9.10': ['masq', 1, undefined],
      '10.9.9.15': ['route', 0, undefined],
      '10.9.9.17': ['route', 0, undefined],
      '10.9.9.13': ['tunnel', 0, { type: 'ipip', port: 0, checksum: 'nocsum' }],
      '10.9.9.14': ['tunnel', 0, { type: 'ipip', port: 0, checksum: 'nocsum' }],
    });
    for (const a of ['10.9.9.15', '10.9.9.17', '10.9.9.13', '10.9.9.14']) kernel.setStats({ ...WEB, destination: a }, { activeConns: 0 });
    const second = await apply(ipvs, desired, { drain: true });
    expect(second.ok).toBe(true);
    expect(Object.keys(await byAddress(ipvs))).toEqual(['10.9.9.10']);
    await ipvs.close();
  });

  it('exportState writes the numbers as reported; applying that export refuses those two entries, naming them', async () => {
    const { ipvs } = await setup();
    const state = await exportState(ipvs);
    expect(state.services.find((s) => 'address' in s && s.address === WEB.address)!.destinations).toEqual([
      { address: '10.9.9.10', port: 80, forwarding: 'masq', weight: 1 },
      { address: '10.9.9.13', port: 80, forwarding: 'tunnel', weight: 1, tunnel: { type: 3 } },
      { address: '10.9.9.14', port: 80, forwarding: 'tunnel', weight: 1, tunnel: { type: 200, checksum: 'csum' } },
      { address: '10.9.9.15', port: 80, forwarding: 5, weight: 1 },
      { address: '10.9.9.17', port: 80, forwarding: 7, weight: 2 },
    ]);
    const err = await refused(apply(ipvs, state));
    expect(err.field).toMatch(/^services\[\d\]\.destinations\[1\]\.tunnel\.type$/);
    await ipvs.close();
  });
});
