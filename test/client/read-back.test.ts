// What the client reads back it takes as input again: a destination read from the kernel, changed and
// handed to updateDestination (the usual drain loop), whatever its forwarding and tunnel.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import type { ServiceSpec } from '../../src/ipvs/types.js';
import { FakeKernel } from '../../src/testing/index.js';

const SVC = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;

describe('read back, then written again', () => {
  it('every destination kind, tunnels included (the kernel reports port 0 for ipip and gre)', async () => {
    const ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
    await ipvs.addService(SVC);
    await ipvs.addDestination(SVC, { address: '10.0.1.1', forwarding: 'masq' });
    await ipvs.addDestination(SVC, { address: '10.0.1.2', forwarding: 'route' });
    await ipvs.addDestination(SVC, { address: '10.0.1.3', forwarding: 'tunnel' });
    await ipvs.addDestination(SVC, { address: '10.0.1.4', forwarding: 'tunnel', tunnel: { type: 'gre', checksum: 'csum' } });
    await ipvs.addDestination(SVC, { address: '10.0.1.5', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } });
    const read = await ipvs.destinations(SVC);
    expect(read.find((d) => d.address === '10.0.1.3')!.tunnel).toEqual({ type: 'ipip', port: 0, checksum: 'nocsum' });
    for (const d of read) await ipvs.updateDestination(SVC, { ...d, forwarding: d.forwarding as 'masq' | 'route' | 'tunnel', weight: 0 });
    const after = await ipvs.destinations(SVC);
    expect(after.map((d) => d.weight)).toEqual([0, 0, 0, 0, 0]);
    expect(after.map((d) => d.tunnel)).toEqual(read.map((d) => d.tunnel));
    await ipvs.close();
  });

  it("a scheduler of a newer kernel (twos, Linux 6.2+) is written back; where it is missing, the kernel's ENOENT says so", async () => {
    const kernel = new FakeKernel({ schedulers: ['rr', 'wlc', 'twos'] });
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService({ ...SVC, scheduler: 'twos' });
    const [svc] = await ipvs.services();
    expect(svc!.scheduler).toBe('twos');
    // Read-back strings (scheduler, engine) are wider than the spec's names: a typed program casts.
    await ipvs.updateService({ ...svc!, persistence: { timeout: 60 } } as ServiceSpec);
    expect((await ipvs.services())[0]).toMatchObject({ scheduler: 'twos', persistence: { timeout: 60 } });
    const plan = await ipvs.plan(await ipvs.exportState());
    expect(plan.inSync).toBe(true);
    await ipvs.close();
    // The fake's default modules are Linux 6.1's, which has no ip_vs_twos.
    const old = await Ipvs.open({ transport: new FakeKernel().transport() });
    await expect(old.addService({ ...SVC, scheduler: 'twos' })).rejects.toMatchObject({ code: 'ENOENT', message: expect.stringContaining('modprobe ip_vs_twos') });
    await old.close();
  });
});
