// The client against the fake kernel (src/testing), which decodes requests with its own code: a quick
// end-to-end check that what the client sends is understood and what it reads back is what it meant.
// The conformance suite covers the table semantics in depth; these tests stay on the client's contract.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { FamilyNotFoundError, KernelError } from '../../src/index.js';
import { FakeKernel } from '../../src/testing/index.js';

async function open(): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel();
  return { kernel, ipvs: await Ipvs.open({ transport: kernel.transport() }) };
}

describe('client on the fake kernel', () => {
  it('the quick start from the README', async () => {
    const { ipvs } = await open();
    const pcc = { protocol: 'tcp', address: '192.168.1.110', port: 0 } as const;
    await ipvs.addService({ ...pcc, scheduler: 'rr', persistence: { timeout: 600 } });
    await ipvs.addDestination(pcc, { address: '192.168.1.116', port: 0, forwarding: 'route', weight: 2 });
    await ipvs.addService({ fwmark: 10, scheduler: 'rr', persistence: { timeout: 60 } });
    const services = await ipvs.services();
    expect(services).toHaveLength(2);
    const tcp = services.find((s) => s.protocol === 'tcp');
    expect(tcp).toMatchObject({ address: '192.168.1.110', port: 0, family: 'ipv4', scheduler: 'rr', persistence: { timeout: 600, netmask: '255.255.255.255' } });
    expect(await ipvs.destinations(pcc)).toMatchObject([{ address: '192.168.1.116', port: 0, forwarding: 'route', weight: 2 }]);
    expect(await tcp!.destinations()).toHaveLength(1);
    expect(services.find((s) => s.fwmark === 10)).toMatchObject({ family: 'ipv4', persistence: { timeout: 60 } });
    await ipvs.close();
  });

  it('IPv6, tunnels and updates survive the round trip', async () => {
    const { ipvs } = await open();
    const v6 = { protocol: 'udp', address: '2001:DB8::53', port: 53 } as const;
    await ipvs.addService({ ...v6, scheduler: 'sh', flags: ['sh-port'], persistence: { netmask: 64 } });
    await ipvs.addDestination(v6, { address: '2001:db8::7', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' }, weight: 3 });
    await ipvs.updateDestination(v6, { address: '2001:db8::7', forwarding: 'tunnel', tunnel: { type: 'gre' }, weight: 0 });
    const s = await ipvs.service(v6);
    expect(s).toMatchObject({ address: '2001:db8::53', scheduler: 'sh', flags: ['sh-port'], persistence: { timeout: 300, netmask: 64 } });
    expect(await ipvs.destinations(v6)).toMatchObject([{ address: '2001:db8::7', forwarding: 'tunnel', weight: 0, tunnel: { type: 'gre', checksum: 'nocsum' } }]);
    await ipvs.updateService({ ...v6, scheduler: 'rr' });
    expect(await ipvs.service(v6)).toMatchObject({ scheduler: 'rr', flags: [] });
    expect((await ipvs.service(v6)).persistence).toBeUndefined();
  });

  it('the kernel\'s refusals arrive as sentences', async () => {
    const { ipvs } = await open();
    const key = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
    await ipvs.addService(key);
    await expect(ipvs.addService(key)).rejects.toThrow('service tcp 10.0.0.1:80 already exists [EEXIST]');
    await expect(ipvs.deleteService({ ...key, port: 81 })).rejects.toThrow('no such service tcp 10.0.0.1:81 [ESRCH]');
    await expect(ipvs.deleteDestination(key, { address: '10.0.0.2' })).rejects.toThrow('no such destination 10.0.0.2:80 in service tcp 10.0.0.1:80 [ENOENT]');
    expect(await ipvs.hasService({ ...key, port: 81 })).toBe(false);
    expect(await ipvs.destinations({ ...key, port: 81 })).toEqual([]); // the kernel's empty dump
  });

  it('timeouts, info, zero and flush', async () => {
    const { ipvs } = await open();
    const before = await ipvs.timeouts();
    await ipvs.setTimeouts({ tcp: 1234 });
    expect(await ipvs.timeouts()).toEqual({ ...before, tcp: 1234 });
    expect((await ipvs.info()).version).toBe('1.2.1');
    await ipvs.addService({ fwmark: 1 });
    await ipvs.zero();
    await ipvs.zero({ fwmark: 1 });
    await ipvs.flush();
    expect(await ipvs.services()).toEqual([]);
  });

  it('execute() on the fake kernel', async () => {
    const { ipvs } = await open();
    const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
    const results = await ipvs.execute([
      { op: 'add-service', service: svc },
      { op: 'add-destination', service: svc, destination: { address: '10.0.0.2' } },
      { op: 'add-destination', service: svc, destination: { address: '10.0.0.2' } },
      { op: 'add-destination', service: svc, destination: { address: '10.0.0.3', forwarding: 'masq' } },
    ]);
    expect(results.map((r) => ('ok' in r ? r.ok : 'skipped'))).toEqual([true, true, false, true]);
    expect(((results[2] as { error: Error }).error).message).toBe('destination 10.0.0.2:80 already exists in service tcp 10.0.0.1:80 [EEXIST]');
    expect((await ipvs.destinations(svc)).map((d) => d.address).sort()).toEqual(['10.0.0.2', '10.0.0.3']);
  });

  it('no family, no privilege', async () => {
    const kernel = new FakeKernel();
    kernel.setFamilyMissing(true);
    const missing = await Ipvs.open({ transport: kernel.transport() }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FamilyNotFoundError);
    expect(missing).toMatchObject({ code: 'ENOFAMILY', family: 'IPVS', message: expect.stringContaining('run `modprobe ip_vs`') });
    kernel.setFamilyMissing(false);
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    kernel.setUnprivileged(true);
    const err = await ipvs.services().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect(err).toMatchObject({ code: 'EPERM' });
    expect((err as Error).message).toMatch(/CAP_NET_ADMIN/);
  });
});
