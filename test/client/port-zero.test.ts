// A port-0 ("all ports") service must be persistent. Linux keeps a non-persistent one, finds it for every port of its
// address that has no service of its own, schedules nothing through it and refuses those connections (ICMP port
// unreachable; "port zero only supported in persistent services" in its log): seen in the UML guest, where a local
// listener that answered on 10.0.0.1:80 was refused once `{ protocol: 'tcp', address: '10.0.0.1', port: 0 }` was
// added. ipvsadm refuses it on -A and -E, and its -R (and ours) cannot restore the `-A -t 10.0.0.1:0` such a table
// saves as. The client took it; now every way in refuses it before a byte is sent, naming the port, and a service
// another tool made that way is still read, saved, planned (made persistent by an update) and deleted.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import { formatRules } from '../../src/rules/index.js';
import { FakeKernel } from '../../src/testing/index.js';
import { addForeignServices } from '../helpers/foreign-service.js';

const zero = { protocol: 'tcp', address: '10.0.0.1', port: 0 } as const;

async function refused(p: Promise<unknown>): Promise<ValidationError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

describe('a port-0 service without persistence', () => {
  it('is refused by addService, updateService, execute and plan/apply, before anything is sent', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    kernel.requests.length = 0;
    expect(await refused(ipvs.addService(zero))).toMatchObject({ field: 'port', value: 0 });
    expect((await refused(ipvs.addService({ ...zero, protocol: 'udp', persistence: false }))).message).toMatch(/^invalid port 0: a service on port 0 \(all ports\) must be persistent/);
    expect(await refused(ipvs.execute([{ op: 'add-service', service: { ...zero, scheduler: 'rr' } }]))).toMatchObject({ field: 'operations[0].service.port' });
    expect(await refused(ipvs.plan({ services: [{ ...zero, destinations: [] }] }))).toMatchObject({ field: 'services[0].port', value: 0 });
    expect(await refused(ipvs.apply({ services: [{ ...zero, protocol: 'sctp' }] }))).toMatchObject({ field: 'services[0].port' });
    expect(kernel.requests).toEqual([]);
    // Persistent it is taken; an update that takes its persistence away is refused and changes nothing.
    await ipvs.addService({ ...zero, persistence: { timeout: 60 } });
    const svc = (await ipvs.service(zero))!;
    expect(await refused(ipvs.updateService({ ...svc, persistence: false }))).toMatchObject({ field: 'port' });
    expect(await refused(ipvs.updateService({ ...zero, scheduler: 'rr' }))).toMatchObject({ field: 'port' });
    expect((await ipvs.service(zero))?.persistence).toEqual({ timeout: 60, netmask: '255.255.255.255' });
  });

  it('made by another tool, is read, saved, planned and deleted', async () => {
    const kernel = new FakeKernel();
    await addForeignServices(kernel.transport(), [{ protocol: 6, address: '10.0.0.1', port: 0, destination: { address: '10.0.0.2' } }]);
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    const [svc] = await ipvs.services();
    expect(svc).toMatchObject({ ...zero, scheduler: 'rr' });
    expect(svc?.persistence).toBeUndefined();
    expect(formatRules([{ ...svc!, destinations: await ipvs.destinations(svc!) }])).toBe('-A -t 10.0.0.1:0 -s rr\n-a -t 10.0.0.1:0 -r 10.0.0.2:0 -m -w 1\n');
    // Desired persistent: one update; unlisted: left alone, or pruned.
    const p = await ipvs.plan({ services: [{ ...zero, scheduler: 'rr', persistence: true }] });
    expect(p.steps.map((s) => [s.operation.op, s.detail])).toEqual([['update-service', 'persistence off -> 300s mask 255.255.255.255']]);
    expect((await ipvs.plan({ services: [] })).unmanaged).toEqual([zero]);
    expect((await ipvs.apply({ services: [] }, { prune: true })).applied.map((s) => s.operation.op)).toEqual(['delete-service']);
    expect(kernel.state().services).toEqual([]);
  });
});
