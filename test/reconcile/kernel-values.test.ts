// Values the kernel keeps that the client refuses as input (here a non-contiguous persistence netmask,
// which `ipvsadm -A ... -p -M 255.0.255.0` sets): planning reads the whole table, so such a service must
// be read as it is, not stop every plan.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import * as cmd from '../../src/ipvs/commands.js';
import type { IpvsFamily } from '../../src/ipvs/commands.js';
import { validateServiceSpec } from '../../src/ipvs/validate.js';
import type { OutgoingRequest } from '../../src/netlink/index.js';
import { FakeKernel } from '../../src/testing/index.js';

const ODD = { protocol: 'tcp', address: '10.0.0.2', port: 80 } as const;

async function withOddMask(): Promise<Ipvs> {
  const ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
  const wire = validateServiceSpec({ ...ODD, persistence: true });
  wire.netmask = 0xff00ff00;
  // What ipvsadm would send; the client itself refuses the mask.
  const raw = ipvs as unknown as { fam: IpvsFamily; run(req: OutgoingRequest): Promise<unknown> };
  await raw.run(cmd.newService(raw.fam, wire));
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
});
