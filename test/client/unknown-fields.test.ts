// The client's specs refuse fields they do not have, before anything is sent: an update replaces every
// option, so a misspelt field ('wieght') would otherwise reset the option it meant to change. What the client
// reads back (services, destinations, daemons, timeouts, with their counters and read-only fields) stays a
// valid spec.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import type { Operation } from '../../src/ipvs/operations.js';
import { FakeKernel } from '../../src/testing/index.js';
import { normaliseHealthConfig } from '../../src/health/config.js';

const SVC = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;

async function setUp(): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel();
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  await ipvs.addService({ ...SVC, scheduler: 'rr' });
  await ipvs.addDestination(SVC, { address: '192.168.1.116', forwarding: 'masq', weight: 5 });
  return { kernel, ipvs };
}

/** The field refused, and the field its refusal suggests ('' for none). */
async function refusedField(p: Promise<unknown>): Promise<[string, string]> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ValidationError);
  const reason = (err as ValidationError).reason;
  expect(reason).toMatch(/^unknown field( \(did you mean \w+\?\))?; expected one of /);
  return [(err as ValidationError).field, /did you mean (\w+)\?/.exec(reason)?.[1] ?? ''];
}

describe('unknown fields are refused by path, with the closest known field, and nothing is sent', () => {
  const typos: [string, (ipvs: Ipvs) => Promise<unknown>, string, string][] = [
    ['addService', (ipvs) => ipvs.addService({ ...SVC, port: 81, schedular: 'sh' } as never), 'schedular', 'scheduler'],
    ['updateService', (ipvs) => ipvs.updateService({ ...SVC, scheduler: 'sh', persistance: { timeout: 60 } } as never), 'persistance', 'persistence'],
    ['updateService (persistence)', (ipvs) => ipvs.updateService({ ...SVC, persistence: { timout: 60 } } as never), 'persistence.timout', 'timeout'],
    ['addDestination', (ipvs) => ipvs.addDestination(SVC, { address: '192.168.1.117', wieght: 0 } as never), 'destination.wieght', 'weight'],
    ['updateDestination', (ipvs) => ipvs.updateDestination(SVC, { address: '192.168.1.116', forwarding: 'masq', wieght: 0 } as never), 'destination.wieght', 'weight'],
    ['updateDestination (tunnel)', (ipvs) => ipvs.updateDestination(SVC, { address: '192.168.1.116', forwarding: 'tunnel', tunnel: { type: 'gre', chksum: 'csum' } } as never), 'destination.tunnel.chksum', 'checksum'],
    ['setTimeouts', (ipvs) => ipvs.setTimeouts({ tcpfin: 30 } as never), 'timeouts.tcpfin', 'tcpFin'],
    ['startDaemon', (ipvs) => ipvs.startDaemon({ state: 'master', interface: 'lo', syncid: 9, mcastgroup: '239.0.0.1' } as never), 'daemon.syncid', 'syncId'],
    ['execute (service)', (ipvs) => ipvs.execute([{ op: 'update-service', service: { ...SVC, schedular: 'sh' } } as never]), 'operations[0].service.schedular', 'scheduler'],
    ['execute (destination)', (ipvs) => ipvs.execute([
      { op: 'add-destination', service: SVC, destination: { address: '192.168.1.118' } },
      { op: 'update-destination', service: SVC, destination: { address: '192.168.1.116', wieght: 0 } } as never,
    ]), 'operations[1].destination.wieght', 'weight'],
    // The operation itself: a delete-service given a destination (a delete-destination meant) must not delete the service.
    ['execute (operation)', (ipvs) => ipvs.execute([{ op: 'delete-service', service: SVC, destination: { address: '192.168.1.116' } } as never]), 'operations[0].destination', ''],
    ['execute (operation, add)', (ipvs) => ipvs.execute([{ op: 'add-service', service: { ...SVC, port: 82 }, extra: 1 } as never]), 'operations[0].extra', ''],
  ];

  it.each(typos)('%s', async (_name, call, field, near) => {
    const { kernel, ipvs } = await setUp();
    const before = kernel.requests.length;
    const timeouts = await ipvs.timeouts();
    expect(await refusedField(call(ipvs))).toEqual([field, near]);
    expect(kernel.requests.length).toBe(before + 1); // the timeouts read above
    expect((await ipvs.services()).map((s) => [s.port, s.scheduler, s.persistence])).toEqual([[80, 'rr', undefined]]);
    expect((await ipvs.destinations(SVC)).map((d) => [d.address, d.weight, d.forwarding])).toEqual([['192.168.1.116', 5, 'masq']]);
    expect(await ipvs.timeouts()).toEqual(timeouts);
    expect(await ipvs.daemons()).toEqual([]);
    await ipvs.close();
  });

  it('the refusal names the fields a spec has', async () => {
    const { ipvs } = await setUp();
    const err = await ipvs.updateDestination(SVC, { address: '192.168.1.116', wieght: 0 } as never).then(() => undefined, (e: unknown) => e as ValidationError);
    expect(err?.message).toBe('invalid destination.wieght 0: unknown field (did you mean weight?); expected one of address, port, forwarding, weight, upperThreshold, lowerThreshold, tunnel');
    await ipvs.close();
  });

  it('a health config refuses a nested typo too (persistence, tunnel), by path', () => {
    const config = (svc: object, dest: object = {}) => ({ services: [{ ...SVC, ...svc, destinations: [{ address: '192.168.1.116', ...dest }] }] });
    expect(() => normaliseHealthConfig(config({ persistence: { timout: 60 } }) as never)).toThrow('invalid services[0].persistence.timout 60: unknown field (did you mean timeout?); expected one of timeout, netmask');
    expect(() => normaliseHealthConfig(config({}, { forwarding: 'tunnel', tunnel: { type: 'gre', chksum: 'csum' } }) as never))
      .toThrow('invalid services[0].destinations[0].tunnel.chksum "csum": unknown field (did you mean checksum?); expected one of type, port, checksum');
  });
});

describe('what the client reads back is a valid spec', () => {
  it('services (with and without stats), written back with a change', async () => {
    const { ipvs } = await setUp();
    const [svc] = await ipvs.services();
    expect(svc).toHaveProperty('stats');
    expect(svc).toHaveProperty('rawFlags');
    await ipvs.updateService({ ...svc!, scheduler: 'wlc', persistence: { timeout: 60 } } as never);
    const [lean] = await ipvs.services({ stats: false });
    await ipvs.updateService({ ...lean!, scheduler: 'sh' } as never);
    expect(await ipvs.service(SVC)).toMatchObject({ scheduler: 'sh', persistence: { timeout: 60, netmask: '255.255.255.255' } });
    // The object itself (a BoundService, its methods on the prototype), and one whose unknown attributes were copied as plain data.
    await ipvs.updateService((await ipvs.service(SVC)) as never);
    const copy = { ...(await ipvs.service(SVC)), unknownAttributes: [{ type: 99, data: new Uint8Array([1]) }] };
    await ipvs.updateService(copy as never);
    expect(await ipvs.execute([{ op: 'update-service', service: copy } as Operation])).toEqual([{ ok: true }]);
    await ipvs.close();
  });

  it('destinations, written back with a change (the drain loop), one by one and in execute()', async () => {
    const { ipvs } = await setUp();
    const [dest] = await ipvs.destinations(SVC);
    for (const field of ['family', 'activeConns', 'inactiveConns', 'persistentConns', 'stats']) expect(dest).toHaveProperty(field);
    await ipvs.updateDestination(SVC, { ...dest!, weight: 0 } as never);
    expect((await ipvs.destinations(SVC))[0]).toMatchObject({ weight: 0, forwarding: 'masq' });
    const [again] = await ipvs.destinations(SVC, { stats: false });
    expect(await ipvs.execute([{ op: 'update-destination', service: SVC, destination: { ...again!, weight: 3 } } as Operation])).toEqual([{ ok: true }]);
    await ipvs.updateDestination(SVC, { ...dest!, unknownAttributes: [{ type: 99, data: new Uint8Array([1]) }] } as never);
    expect((await ipvs.destinations(SVC))[0]).toMatchObject({ weight: 5 });
    await ipvs.close();
  });

  it('daemons and timeouts', async () => {
    const { ipvs } = await setUp();
    await ipvs.startDaemon({ state: 'backup', interface: 'eth0', syncId: 4 });
    const [daemon] = await ipvs.daemons();
    await ipvs.stopDaemon('backup');
    await ipvs.startDaemon(daemon!);
    expect(await ipvs.daemons()).toEqual([daemon]);
    await ipvs.setTimeouts(await ipvs.timeouts());
    await ipvs.close();
  });
});
