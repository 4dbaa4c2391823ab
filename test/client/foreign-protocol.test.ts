// A service of a protocol other than TCP, UDP and SCTP: Linux's generic netlink path takes any protocol
// number and keeps the service (only the old sockopt path checks), but balances nothing through it. Another
// tool can leave one in the table; the client reads it with its number (one used to fail every listing of
// the table), names it by its number to read, change and remove it, and refuses to add one.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { describeOperation, OperationBatch } from '../../src/index.js';
import type { Operation } from '../../src/ipvs/operations.js';
import { FakeKernel } from '../../src/testing/index.js';
import { addForeignServices, GRE_AND_ESP } from '../helpers/foreign-service.js';
import { refusedSync as refused, refusedAsync } from '../helpers/refused.js';

const GRE = { protocol: 47, address: '10.9.9.9', port: 80 } as const;
const ESP = { protocol: 50, address: '10.9.9.9', port: 0 } as const;
const WEB = { protocol: 'tcp', address: '10.9.9.9', port: 80 } as const;

async function table(): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel();
  await addForeignServices(kernel.transport(), GRE_AND_ESP);
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  await ipvs.addService({ ...WEB, scheduler: 'rr' });
  return { kernel, ipvs };
}

const ADD_REASON = /Linux would create a service of this protocol but balance nothing.*numbers exist to read and remove services other tools made/;

describe('services of other protocols', () => {
  it('are read with their number, and the rest of the table with them', async () => {
    const { ipvs } = await table();
    const list = await ipvs.services();
    expect(list.map((s) => [s.protocol, s.address, s.port])).toEqual(
      expect.arrayContaining([[47, '10.9.9.9', 80], [50, '10.9.9.9', 0], ['tcp', '10.9.9.9', 80]]),
    );
    expect(list).toHaveLength(3);
    const streamed = [];
    for await (const s of ipvs.iterateServices({ stats: false })) streamed.push(s.protocol);
    expect(streamed.sort()).toEqual([47, 50, 'tcp']);
    expect(await ipvs.service(GRE)).toMatchObject({ ...GRE, family: 'ipv4', scheduler: 'rr', flags: [] });
    expect(await ipvs.hasService(ESP)).toBe(true);
    expect(await ipvs.hasService({ ...ESP, protocol: 51 })).toBe(false);
    expect(await ipvs.destinations(GRE)).toMatchObject([{ address: '10.9.9.10', port: 80, forwarding: 'masq', weight: 1 }]);
    // Each one read back is its own key, as any service is.
    for (const s of list) expect(await ipvs.service(s)).toMatchObject({ protocol: s.protocol, port: s.port });
    const runs = [];
    for await (const run of ipvs.destinationsOfEach(list)) runs.push(...run.map((r) => [r.service.protocol, r.destinations.length]));
    expect(runs.sort()).toEqual([[47, 1], [50, 1], ['tcp', 0]]);
    await ipvs.close();
  });

  it('are changed and removed by their number; 6, 17 and 132 are the names', async () => {
    const { kernel, ipvs } = await table();
    await ipvs.updateService({ ...GRE, scheduler: 'wrr' });
    expect(await ipvs.service(GRE)).toMatchObject({ scheduler: 'wrr' });
    await ipvs.addDestination(GRE, { address: '10.9.9.11', forwarding: 'masq', weight: 3 });
    await ipvs.updateDestination(GRE, { address: '10.9.9.11', forwarding: 'masq', weight: 4 });
    await ipvs.deleteDestination(GRE, { address: '10.9.9.10' });
    expect((await ipvs.destinations(GRE)).map((d) => [d.address, d.weight])).toEqual([['10.9.9.11', 4]]);
    // The fake kernel names them the same way for its counters.
    kernel.setStats({ ...ESP, destination: '10.9.9.10' }, { conns: 5n, activeConns: 2 });
    kernel.bumpStats(ESP, { conns: 7 });
    expect((await ipvs.service(ESP)).stats.conns).toBe(7n);
    expect(await ipvs.destinations(ESP)).toMatchObject([{ activeConns: 2, stats: { conns: 5n } }]);
    await ipvs.zero(ESP);
    expect((await ipvs.service(ESP)).stats.conns).toBe(0n);
    // 6 is TCP: the same service, read back by name.
    expect(await ipvs.service({ protocol: 6, address: '10.9.9.9', port: 80 })).toMatchObject(WEB);
    await ipvs.deleteService(GRE);
    await ipvs.deleteService({ ...ESP, protocol: 50 });
    expect((await ipvs.services()).map((s) => s.protocol)).toEqual(['tcp']);
    expect(kernel.state().services.map((s) => s.key)).toEqual(['tcp 10.9.9.9:80']);
    await ipvs.close();
  });

  it('are named "proto N" in sentences', async () => {
    const { ipvs } = await table();
    await ipvs.deleteService(GRE);
    const err = await ipvs.deleteService(GRE).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/^no such service proto 47 10\.9\.9\.9:80 \[ESRCH\]/);
    await ipvs.close();
  });

  it('are never added: addService, an add-service operation and a batch refuse a number other than 6, 17, 132', async () => {
    const { kernel, ipvs } = await table();
    const sent = kernel.requests.length;
    for (const protocol of [47, 0, 255, 300]) {
      const e = await refusedAsync(ipvs.addService({ protocol, address: '10.9.9.1', port: 80 }));
      expect(e).toMatchObject({ field: 'protocol', value: protocol });
      expect(e.message).toMatch(ADD_REASON);
    }
    const ops: Operation[] = [{ op: 'delete-service', service: ESP }, { op: 'add-service', service: { ...GRE, port: 81 } }];
    expect(await refusedAsync(ipvs.execute(ops))).toMatchObject({ field: 'operations[1].service.protocol', value: 47 });
    expect(refused(() => new OperationBatch().add(ops[0]!).add(ops[1]!))).toMatchObject({ field: 'operations[1].service.protocol', value: 47 });
    expect(kernel.requests.length).toBe(sent);
    // Still described, as a plan step holding one is.
    expect(describeOperation(ops[1]!)).toBe('add-service proto 47 10.9.9.9:81');
    expect(describeOperation({ op: 'add-destination', service: GRE, destination: { address: '10.9.9.12' } })).toBe('add-destination 10.9.9.12:80 in service proto 47 10.9.9.9:80');
    // 6, 17 and 132 are TCP, UDP and SCTP, added as such.
    await ipvs.addService({ protocol: 17, address: '10.9.9.9', port: 53 });
    await ipvs.addService({ protocol: 132, address: '10.9.9.9', port: 3868 });
    expect(await ipvs.execute([{ op: 'add-service', service: { protocol: 6, address: '10.9.9.9', port: 443 } }])).toEqual([{ ok: true }]);
    expect(kernel.state().services.map((s) => s.key).sort()).toEqual([
      'proto 47 10.9.9.9:80', 'proto 50 10.9.9.9:0', 'sctp 10.9.9.9:3868', 'tcp 10.9.9.9:443', 'tcp 10.9.9.9:80', 'udp 10.9.9.9:53',
    ]);
    // Other operations take them.
    expect(await ipvs.execute([{ op: 'update-service', service: { ...GRE, scheduler: 'lc' } }, { op: 'delete-service', service: ESP }]))
      .toEqual([{ ok: true }, { ok: true }]);
    expect(await ipvs.execute(new OperationBatch().add({ op: 'delete-service', service: GRE }))).toEqual([{ ok: true }]);
    await ipvs.close();
  });

  it('numbers past 255 too: the kernel keeps the protocol in 16 bits, and each one read back is removed by it', async () => {
    const kernel = new FakeKernel();
    await addForeignServices(kernel.transport(), [{ protocol: 300, address: '10.9.9.9', port: 80 }, { protocol: 65535, address: '10.9.9.9', port: 80 }]);
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const list = await ipvs.services();
    expect(list.map((s) => s.protocol).sort()).toEqual([300, 65535]);
    for (const s of list) await ipvs.deleteService(s);
    expect(kernel.state().services).toEqual([]);
    await ipvs.close();
  });

  it.each([65536, -1, 1.5, Number.NaN, Infinity])('refuses protocol %s wherever a key is taken, naming field and value', async (protocol) => {
    const { ipvs } = await table();
    const key = { protocol, address: '10.9.9.9', port: 80 };
    for (const call of [ipvs.service(key), ipvs.deleteService(key), ipvs.destinations(key), ipvs.zero(key), ipvs.addService(key), ipvs.updateService(key)]) {
      const e = await refusedAsync(call);
      expect(e).toMatchObject({ field: 'protocol', value: protocol });
      expect(e.message).toMatch(/a protocol number must be an integer 0\.\.65535/);
    }
    expect(await refusedAsync(ipvs.execute([{ op: 'delete-service', service: key }]))).toMatchObject({ field: 'operations[0].service.protocol' });
    await ipvs.close();
  });
});
