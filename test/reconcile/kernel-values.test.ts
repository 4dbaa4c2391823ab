// Values the kernel keeps that the client refuses as input (a non-contiguous persistence netmask, which
// `ipvsadm -A ... -p -M 255.0.255.0` sets; the scheduler none; a persistence timeout of 0): planning reads
// the whole table, so such a service must be read as it is, not stop every plan.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import * as cmd from '../../src/ipvs/commands.js';
import type { IpvsFamily } from '../../src/ipvs/commands.js';
import { IP_VS_CONN_F_TUNNEL_TYPE_GRE } from '../../src/ipvs/constants.js';
import { validateDestinationSpec, validateServiceKey, validateServiceSpec, type WireService } from '../../src/ipvs/validate.js';
import type { ServiceSpec } from '../../src/ipvs/types.js';
import type { OutgoingRequest } from '../../src/netlink/index.js';
import { FakeKernel } from '../../src/testing/index.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import { applyRefusals } from '../../src/reconcile/export.js';

const ODD = { protocol: 'tcp', address: '10.0.0.2', port: 80 } as const;

/** A service added with wire values the client would refuse (what ipvsadm or raw netlink can send). */
async function addRaw(ipvs: Ipvs, spec: ServiceSpec, patch: Partial<WireService>): Promise<void> {
  const wire = { ...validateServiceSpec(spec), ...patch };
  const raw = ipvs as unknown as { run(make: (fam: IpvsFamily) => OutgoingRequest): Promise<unknown> };
  await raw.run((fam) => cmd.newService(fam, wire));
}

async function withOddMask(): Promise<Ipvs> {
  const ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
  await addRaw(ipvs, { ...ODD, persistence: true }, { netmask: 0xff00ff00 });
  return ipvs;
}

describe('a kernel value the client would refuse as input', () => {
  it('a non-contiguous netmask: other services are planned, and the service itself can be put right', async () => {
    const ipvs = await withOddMask();
    expect((await ipvs.services())[0]!.persistence).toEqual({ timeout: 300, netmask: '255.0.255.0' });
    const other = await ipvs.plan({ services: [{ protocol: 'tcp', address: '10.0.0.9', port: 80 }] });
    expect(other.steps.map((s) => s.target)).toEqual(['tcp 10.0.0.9:80']);
    expect(other.unmanaged).toEqual([ODD]);
    const fix = await ipvs.apply({ services: [{ ...ODD, persistence: { netmask: '255.255.0.0' } }] });
    expect(fix.plan.steps.map((s) => s.detail)).toEqual(['netmask 255.0.255.0 -> 255.255.0.0']);
    expect(fix.ok).toBe(true);
    expect((await ipvs.plan({ services: [{ ...ODD, persistence: { netmask: '255.255.0.0' } }] })).inSync).toBe(true);
    await ipvs.close();
  });

  it('a scheduler none and a persistence timeout 0: read, planned around, and put right by a state that names them', async () => {
    const ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
    const none = { protocol: 'tcp', address: '10.0.0.3', port: 80 } as const;
    const zero = { protocol: 'tcp', address: '10.0.0.4', port: 80 } as const;
    await addRaw(ipvs, none, { scheduler: 'none' });
    await addRaw(ipvs, { ...zero, persistence: true }, { timeout: 0 });
    const read = Object.fromEntries((await ipvs.services()).map((s) => [s.address, [s.scheduler, s.persistence]]));
    expect(read).toEqual({ '10.0.0.3': ['none', undefined], '10.0.0.4': ['wlc', { timeout: 0, netmask: '255.255.255.255' }] });
    expect((await ipvs.plan({ services: [] })).unmanaged).toHaveLength(2);
    const fix = await ipvs.apply({ services: [{ ...none, scheduler: 'rr' }, { ...zero, persistence: { timeout: 60 } }] });
    expect(fix.plan.steps.map((s) => s.detail)).toEqual(['scheduler none -> rr', 'persistence timeout 0 -> 60']);
    expect(fix.ok).toBe(true);
    await ipvs.close();
  });

  it('a gre tunnel destination with remcsum (Linux keeps it, its gre ignores it) is drained and removed with the rest', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
    await ipvs.addService({ ...svc, scheduler: 'rr' });
    for (const address of ['10.0.0.2', '10.0.0.3']) await ipvs.addDestination(svc, { address, forwarding: 'masq' });
    // As raw netlink adds it: a tunnel of type gre with the remcsum flag.
    const wire = validateDestinationSpec(validateServiceKey(svc), { address: '10.0.0.9', forwarding: 'tunnel', tunnel: { type: 'gue', port: 5555, checksum: 'remcsum' } });
    const raw = ipvs as unknown as { run(make: (fam: IpvsFamily) => OutgoingRequest): Promise<unknown> };
    wire.tunType = IP_VS_CONN_F_TUNNEL_TYPE_GRE;
    wire.tunPort = 0;
    await raw.run((fam) => cmd.newDest(fam, validateServiceKey(svc), wire));
    expect((await ipvs.destinations(svc)).find((d) => d.address === '10.0.0.9')?.tunnel).toEqual({ type: 'gre', port: 0, checksum: 'remcsum' });
    kernel.setStats({ ...svc, destination: '10.0.0.9' }, { activeConns: 3 });
    const desired = {
      services: [{ ...svc, scheduler: 'rr' as const, destinations: [{ address: '10.0.0.2', forwarding: 'masq' as const, weight: 5 }, { address: '10.0.0.4', forwarding: 'masq' as const }] }],
    };
    const first = await ipvs.apply(desired, { drain: true });
    expect(first.failed).toEqual([]);
    expect(first.notAttempted).toEqual([]);
    expect(first.applied).toHaveLength(4);
    const weights = Object.fromEntries((await ipvs.destinations(svc)).map((d) => [d.address, d.weight]));
    expect(weights).toEqual({ '10.0.0.2': 5, '10.0.0.4': 1, '10.0.0.9': 0 });
    kernel.setStats({ ...svc, destination: '10.0.0.9' }, { activeConns: 0 });
    const second = await ipvs.apply(desired, { drain: { state: first.drainState } });
    expect(second.ok).toBe(true);
    expect((await ipvs.destinations(svc)).map((d) => d.address).sort()).toEqual(['10.0.0.2', '10.0.0.4']);
    await ipvs.close();
  });

  it('a threshold above 2 147 483 647 (Linux keeps a u32): the destination is drained, and a read-back copy is taken back', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
    await ipvs.addService({ ...svc, scheduler: 'rr' });
    await ipvs.addDestination(svc, { address: '10.0.0.2', forwarding: 'masq' });
    const wire = validateDestinationSpec(validateServiceKey(svc), { address: '10.0.0.9', forwarding: 'masq', weight: 3 });
    wire.upper = 0xffffffff;
    const raw = ipvs as unknown as { run(make: (fam: IpvsFamily) => OutgoingRequest): Promise<unknown> };
    await raw.run((fam) => cmd.newDest(fam, validateServiceKey(svc), wire));
    const odd = (await ipvs.destinations(svc)).find((d) => d.address === '10.0.0.9')!;
    expect(odd.upperThreshold).toBe(0xffffffff);
    await ipvs.updateDestination(svc, { ...odd, forwarding: 'masq', weight: 2 });
    kernel.setStats({ ...svc, destination: '10.0.0.9' }, { activeConns: 1 });
    const r = await ipvs.apply({ services: [{ ...svc, scheduler: 'rr', destinations: [{ address: '10.0.0.2', forwarding: 'masq' }] }] }, { drain: true });
    expect(r.failed).toEqual([]);
    expect((await ipvs.destinations(svc)).map((d) => [d.address, d.weight, d.upperThreshold])).toEqual([['10.0.0.9', 0, 0xffffffff], ['10.0.0.2', 1, 0]]);
    await ipvs.close();
  });
});

describe('applyRefusals: what apply would refuse in an exported state', () => {
  const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
  const ok = { address: '10.0.0.2', port: 80, forwarding: 'route', weight: 1 } as const;

  it('none for what apply takes; else one refusal per entry, named by its path, a refused service once without its destinations', () => {
    expect(applyRefusals({ services: [{ ...svc, scheduler: 'rr', destinations: [ok] }] })).toEqual([]);
    const refusals = applyRefusals({
      services: [
        { ...svc, scheduler: 'rr', destinations: [ok, { ...ok, address: '10.0.0.3', forwarding: 5 as never }, { ...ok, address: '10.0.0.4', weight: -1 }] },
        { fwmark: 3, persistence: { timeout: 0 }, destinations: [{ ...ok, forwarding: 5 as never }] },
      ],
    });
    expect(refusals.map((r) => r.field)).toEqual(['services[0].destinations[1].forwarding', 'services[0].destinations[2].weight', 'services[1].persistence.timeout']);
    expect(refusals.every((r) => r instanceof ValidationError)).toBe(true);
  });

  it('a state refused as a whole for no one entry (two alike) gives that refusal', () => {
    const refusals = applyRefusals({ services: [{ ...svc }, { ...svc, address: '10.0.0.1' }] });
    expect(refusals.map((r) => r.message)).toEqual([expect.stringContaining('is also services[0]')]);
  });
});
