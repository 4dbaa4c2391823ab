// One client, many callers at once (an admin API, a health checker, a reconcile loop sharing one Ipvs): calls made
// without awaiting are sent in call order, each settles once with its own answer, and a burst larger than the
// receive buffer can hold answers for is sent as room frees up instead of overflowing it (which failed every call
// of the burst with ENOBUFS, "outcome unknown", although the kernel had carried each one out).

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { FakeKernel } from '../../src/testing/index.js';
import { ClosedError, type AbortError } from '../../src/netlink/errors.js';
import type { OperationResult } from '../../src/ipvs/operations.js';

const web = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
const server = (i: number) => `10.1.${i >> 7}.${(i & 127) + 1}`;

describe('a burst of calls made without awaiting', () => {
  it('more calls than the receive buffer has room for answers: every one answered, none lost to an overflow', async () => {
    const kernel = new FakeKernel();
    // 64 KiB: room for about 97 answers on the fake, as on the kernel for a buffer of that size.
    const ipvs = await Ipvs.open({ transport: kernel.transport({ receiveBufferSize: 64 * 1024 }) });
    await ipvs.addService(web);
    const calls = Array.from({ length: 600 }, (_, i) => ipvs.addDestination(web, { address: server(i) }).then(() => 'ok', (e: Error & { code?: string }) => e.code));
    // One of them refused by the kernel: that call alone fails.
    calls.push(ipvs.addDestination(web, { address: server(5) }).then(() => 'ok', (e: Error & { code?: string }) => e.code));
    const results = await Promise.all(calls);
    expect(results.slice(0, 600)).toEqual(new Array(600).fill('ok'));
    expect(results[600]).toBe('EEXIST');
    expect(await ipvs.destinations(web)).toHaveLength(600);
    await ipvs.close();
  });

  it('a listing made after changes that wait for room is sent after them, and shows them', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport({ receiveBufferSize: 8 * 1024 }) });
    await ipvs.addService(web);
    // 8 KiB: four answers awaited at once; the other 16 additions wait for room, the listing behind them.
    const adds = Array.from({ length: 20 }, (_, i) => ipvs.addDestination(web, { address: server(i) }));
    const listed = ipvs.destinations(web);
    const more = ipvs.addDestination(web, { address: server(20) });
    await Promise.all([...adds, more]);
    expect((await listed).length).toBeGreaterThanOrEqual(20);
    await ipvs.close();
  });

  it('are sent in call order, execute() among them: a destination added right after the execute() that adds its service', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const other = { ...web, port: 81 };
    const made = ipvs.execute([{ op: 'add-service', service: web }]);
    const added = ipvs.addDestination(web, { address: '10.1.0.1' });
    const listed = ipvs.services({ stats: false });
    const more = ipvs.execute([{ op: 'add-service', service: other }, { op: 'add-destination', service: other, destination: { address: '10.1.0.2' } }]);
    const deleted = ipvs.deleteService(other);
    expect(await made).toEqual([{ ok: true }]);
    await expect(added).resolves.toBeUndefined();
    expect((await listed).map((s) => s.port)).toEqual([80]);
    expect(await more).toEqual([{ ok: true }, { ok: true }]);
    await expect(deleted).resolves.toBeUndefined();
    expect(kernel.requestLog.map((r) => r.command).slice(-6)).toEqual([
      'IPVS_CMD_NEW_SERVICE', 'IPVS_CMD_NEW_DEST', 'IPVS_CMD_GET_SERVICE', 'IPVS_CMD_NEW_SERVICE', 'IPVS_CMD_NEW_DEST', 'IPVS_CMD_DEL_SERVICE',
    ]);
    await ipvs.close();
  });
});

describe('what an abort or a close tells a caller', () => {
  const settle = (p: Promise<unknown>): Promise<unknown> => p.then((v) => v ?? 'ok', (e: unknown) => e);

  it('an AbortError says whether its request had been sent: before the call, while it waited for room, or after it was sent', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport({ receiveBufferSize: 8 * 1024 }) });
    await ipvs.addService(web);
    const aborted = AbortSignal.abort();
    const before = await settle(ipvs.addDestination(web, { address: '10.1.0.1' }, { signal: aborted }));
    expect(before).toMatchObject({ name: 'AbortError', sent: false, message: 'add destination (not sent): aborted' });
    // 8 KiB: four answers awaited at once; the calls after them wait for room, unsent.
    const controller = new AbortController();
    const calls = Array.from({ length: 10 }, (_, i) => settle(ipvs.addDestination(web, { address: server(i + 10) }, { signal: controller.signal })));
    controller.abort();
    const results = await Promise.all(calls);
    expect(results.map((e) => (e as AbortError).sent)).toEqual([true, true, true, true, false, false, false, false, false, false]);
    expect((results[0] as Error).message).toBe('add destination (already sent: its outcome is unknown): aborted');
    // The kernel got exactly those said to be sent (and carried them out), nothing of the others.
    const added = kernel.requestLog.filter((r) => r.command === 'IPVS_CMD_NEW_DEST').map((r) => r.destination?.address);
    expect(added).toEqual([10, 11, 12, 13].map(server));
    expect((await ipvs.destinations(web)).map((d) => d.address).sort()).toEqual([10, 11, 12, 13].map(server).sort());
    // A listing's abort says nothing of it.
    const listing = await settle(ipvs.services({ signal: aborted }));
    expect(listing).toMatchObject({ name: 'AbortError', sent: undefined, message: 'list services: aborted' });
    await ipvs.close();
  });

  it('close() settles every call in flight with ClosedError, sent or not, sends nothing more, and refuses later calls', async () => {
    const kernel = new FakeKernel({ dumpBudget: 2 });
    const ipvs = await Ipvs.open({ transport: kernel.transport({ receiveBufferSize: 8 * 1024 }) });
    await ipvs.execute(Array.from({ length: 20 }, (_, i) => ({ op: 'add-service' as const, service: { ...web, port: i + 1 } })));
    const logged = kernel.requestLog.length;
    const changes = Array.from({ length: 10 }, (_, i) => settle(ipvs.updateService({ ...web, port: i + 1, scheduler: 'rr' })));
    const listings = [settle(ipvs.services()), settle(ipvs.services()), settle(ipvs.daemons())];
    const bulk = settle(ipvs.execute([{ op: 'delete-service', service: { ...web, port: 20 } }]));
    const loop = settle((async () => {
      for await (const s of ipvs.iterateServices()) void s;
    })());
    const sentBeforeClose = kernel.requestLog.length - logged;
    await Promise.all([ipvs.close(), ipvs.close()]);
    const outcomes = await Promise.all(changes);
    expect(outcomes.every((e) => e instanceof ClosedError)).toBe(true);
    expect(outcomes.map((e) => (e as ClosedError).sent)).toEqual([true, true, true, true, false, false, false, false, false, false]);
    expect((outcomes[9] as Error).message).toBe('update service (not sent): the netlink socket is closed');
    for (const l of [...(await Promise.all(listings)), await loop]) expect(l).toBeInstanceOf(ClosedError);
    const [result] = (await bulk) as OperationResult[];
    expect(result).toMatchObject({ ok: false, error: { name: 'ClosedError', sent: false } });
    // Nothing was sent once close() was called.
    expect(kernel.requestLog.length - logged).toBe(sentBeforeClose);
    expect(await settle(ipvs.info())).toMatchObject({ name: 'ClosedError', sent: false });
    expect(await settle(ipvs.apply({ services: [] }))).toBeInstanceOf(ClosedError);
  });
});
