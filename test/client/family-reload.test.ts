// A client whose IPVS family id went stale: ip_vs unloaded and loaded again gives the family a new id
// (generic netlink allocates ids cyclically: 0x1c became 0x1d on the UML kernel), and generic netlink
// answers a message for the old id with a bare ENOENT that IPVS's own ENOENT ("no such destination")
// looks like. The client looks the family up again after such a refusal (once per call), adopts a new id
// and sends the refused requests again, says FamilyNotFoundError when IPVS is gone, and leaves IPVS's
// own ENOENT alone. On the fake kernel's unloadIpvs/loadIpvs/reloadIpvs.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { FamilyNotFoundError, KernelError } from '../../src/netlink/errors.js';
import type { Operation } from '../../src/ipvs/operations.js';
import { FakeKernel } from '../../src/testing/index.js';

const SVC = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
const LOOKUP = 'CTRL_CMD_GETFAMILY';

async function setUp(kernel = new FakeKernel()): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  await ipvs.addService({ ...SVC, scheduler: 'rr' });
  await ipvs.addDestination(SVC, { address: '10.0.1.1', weight: 2 });
  kernel.requests.length = 0;
  return { kernel, ipvs };
}

const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);

describe('a client after ip_vs was loaded again (a new family id)', () => {
  it('adopts the new id after one lookup and carries the refused request out; later requests go straight to it', async () => {
    const { kernel, ipvs } = await setUp();
    kernel.reloadIpvs();
    expect(kernel.familyId).toBe(0x1d);
    await ipvs.addService({ ...SVC, scheduler: 'wlc' });
    // The request to the old id (unknown now: netlink type 28), the lookup, the request again.
    expect(kernel.requests).toEqual(['netlink type 28', LOOKUP, 'IPVS_CMD_NEW_SERVICE']);
    kernel.requests.length = 0;
    await ipvs.addDestination(SVC, { address: '10.0.1.2' });
    expect(kernel.requests).toEqual(['IPVS_CMD_NEW_DEST']);
    expect(kernel.state().services).toMatchObject([{ key: 'tcp 10.0.0.1:80', scheduler: 'wlc', destinations: [{ address: '10.0.1.2' }] }]);
    await ipvs.close();
  });

  it('every kind of call recovers: changes, single reads, collected and streamed listings, daemons', async () => {
    type Call = (ipvs: Ipvs) => Promise<unknown>;
    const calls: Array<[string, Call, unknown]> = [
      ['services', async (c) => (await c.services()).length, 0],
      ['iterateServices', async (c) => {
        let n = 0;
        for await (const _ of c.iterateServices()) n++;
        return n;
      }, 0],
      ['destinations', async (c) => (await c.destinations(SVC)).length, 0],
      ['iterateDestinations', async (c) => {
        let n = 0;
        for await (const _ of c.iterateDestinations(SVC)) n++;
        return n;
      }, 0],
      ['destinationsOfEach', async (c) => {
        const runs = [];
        for await (const run of c.destinationsOfEach([SVC, { ...SVC, port: 81 }], { runLength: 1 })) runs.push(run.map((p) => p.destinations.length));
        return runs;
      }, [[0], [0]]],
      ['hasService', (c) => c.hasService(SVC), false],
      ['timeouts', async (c) => (await c.timeouts()).tcp, 900],
      ['info', async (c) => (await c.info()).version, '1.2.1'],
      ['daemons', async (c) => (await c.daemons()).length, 0],
      ['setTimeouts', (c) => c.setTimeouts({ tcp: 100 }), undefined],
      ['zero', (c) => c.zero(), undefined],
      ['flush', (c) => c.flush(), undefined],
      ['startDaemon', (c) => c.startDaemon({ state: 'master', interface: 'eth0' }), undefined],
      ['addService', (c) => c.addService(SVC), undefined],
    ];
    for (const [name, call, expected] of calls) {
      const { kernel, ipvs } = await setUp();
      kernel.reloadIpvs();
      expect([name, await call(ipvs)]).toEqual([name, expected]);
      expect([name, kernel.requests.filter((r) => r === LOOKUP).length]).toEqual([name, 1]);
      await ipvs.close();
    }
    // stopDaemon: started on the old id, stopped after the reload (no daemon then: ESRCH, not ENOENT).
    const { kernel, ipvs } = await setUp();
    await ipvs.startDaemon({ state: 'backup', interface: 'eth0' });
    kernel.reloadIpvs();
    expect(await failure(ipvs.stopDaemon('backup'))).toMatchObject({ code: 'ESRCH', message: 'no backup sync daemon is running [ESRCH]' });
    await ipvs.startDaemon({ state: 'backup', interface: 'eth0' });
    kernel.reloadIpvs();
    await ipvs.startDaemon({ state: 'backup', interface: 'eth0' });
    await ipvs.stopDaemon('backup');
    expect(kernel.state().daemons).toEqual([]);
    await ipvs.close();
  });

  it("reports what the new table says, not IPVS's sentence for the old id's ENOENT", async () => {
    const { kernel, ipvs } = await setUp();
    kernel.reloadIpvs();
    // The service went with the old table: no such service (ESRCH), not "no such destination" (ENOENT).
    const err = await failure(ipvs.updateDestination(SVC, { address: '10.0.1.1', weight: 0 }));
    expect(err).toBeInstanceOf(KernelError);
    expect(err).toMatchObject({ code: 'ESRCH', message: 'no such service tcp 10.0.0.1:80 [ESRCH]' });
    expect(await failure(ipvs.service(SVC))).toMatchObject({ code: 'ESRCH' });
    await ipvs.close();
  });

  it("keeps IPVS's own ENOENT, after one lookup that finds the same id", async () => {
    const { kernel, ipvs } = await setUp(new FakeKernel({ schedulers: ['rr'] }));
    const err = await failure(ipvs.deleteDestination(SVC, { address: '10.0.9.9' }));
    expect(err).toMatchObject({ code: 'ENOENT', message: 'no such destination 10.0.9.9:80 in service tcp 10.0.0.1:80 [ENOENT]' });
    expect(kernel.requests).toEqual(['IPVS_CMD_DEL_DEST', LOOKUP]);
    const missing = await failure(ipvs.addService({ ...SVC, port: 81, scheduler: 'wlc' }));
    expect(missing).toMatchObject({ code: 'ENOENT', message: 'scheduler "wlc" not found: load its module (modprobe ip_vs_wlc) [ENOENT]' });
    expect(kernel.requests.filter((r) => r === LOOKUP)).toHaveLength(2);
    await ipvs.close();
  });

  it('sends no lookup while requests succeed or fail with other errnos', async () => {
    const { kernel, ipvs } = await setUp();
    await ipvs.services();
    await ipvs.destinations(SVC);
    await failure(ipvs.addService(SVC));
    await failure(ipvs.deleteService({ ...SVC, port: 99 }));
    await ipvs.execute([{ op: 'add-destination', service: SVC, destination: { address: '10.0.1.1' } }]);
    expect(kernel.requests).not.toContain(LOOKUP);
    await ipvs.close();
  });

  it('calls refused together share one lookup', async () => {
    const { kernel, ipvs } = await setUp();
    kernel.reloadIpvs();
    const results = await Promise.all([ipvs.services(), ipvs.timeouts(), ipvs.info(), ipvs.hasService(SVC), ipvs.addService({ fwmark: 5 })]);
    expect(results[0]).toEqual([]);
    expect(kernel.requests.filter((r) => r === LOOKUP)).toHaveLength(1);
    expect(kernel.state().services.map((s) => s.key)).toEqual(['fwmark 5']);
    await ipvs.close();
  });

  it('follows a second reload too', async () => {
    const { kernel, ipvs } = await setUp();
    kernel.reloadIpvs();
    await ipvs.addService(SVC);
    kernel.reloadIpvs();
    expect(kernel.familyId).toBe(0x1e);
    await ipvs.addService(SVC);
    expect(kernel.state().services).toHaveLength(1);
    await ipvs.close();
  });
});

describe('a client after ip_vs was unloaded', () => {
  it('says the family is gone (FamilyNotFoundError: modprobe ip_vs, the refusal as its cause), and recovers once it is loaded', async () => {
    const { kernel, ipvs } = await setUp();
    kernel.unloadIpvs();
    const err = await failure(ipvs.deleteDestination(SVC, { address: '10.0.1.1' }));
    expect(err).toBeInstanceOf(FamilyNotFoundError);
    expect(err).toMatchObject({
      code: 'ENOFAMILY',
      family: 'IPVS',
      message: 'generic netlink family "IPVS" not found: the ip_vs kernel module is no longer loaded (it was when this client opened): run `modprobe ip_vs`',
    });
    expect((err as Error).cause).toBeInstanceOf(KernelError);
    expect((err as Error).cause).toMatchObject({ code: 'ENOENT' });
    expect(await failure(ipvs.services())).toBeInstanceOf(FamilyNotFoundError);
    const iterated = await failure((async () => {
      for await (const _ of ipvs.iterateServices());
    })());
    expect(iterated).toBeInstanceOf(FamilyNotFoundError);
    const each = await failure((async () => {
      for await (const _ of ipvs.destinationsOfEach([SVC]));
    })());
    expect(each).toBeInstanceOf(FamilyNotFoundError);
    kernel.loadIpvs();
    await ipvs.addService(SVC);
    expect(await ipvs.services()).toHaveLength(1);
    await ipvs.close();
  });

  it('loads it again with its lookup when the kernel autoloads modules (as for an installed ip_vs)', async () => {
    const { kernel, ipvs } = await setUp();
    kernel.unloadIpvs({ autoload: true });
    expect(await ipvs.services()).toEqual([]);
    expect(kernel.familyId).toBe(0x1d);
    expect(kernel.requests).toEqual(['netlink type 28', LOOKUP, 'IPVS_CMD_GET_SERVICE']);
    await ipvs.close();
  });

  it('a family hidden under the same id (setFamilyMissing) is FamilyNotFoundError too, and the id works again after', async () => {
    const { kernel, ipvs } = await setUp();
    kernel.setFamilyMissing(true);
    expect(await failure(ipvs.info())).toBeInstanceOf(FamilyNotFoundError);
    kernel.setFamilyMissing(false);
    expect((await ipvs.info()).version).toBe('1.2.1');
    await ipvs.close();
  });
});

describe('execute() and a stale family id', () => {
  const dests = (n: number, from = 1): Operation[] => Array.from({ length: n }, (_, i) => ({ op: 'add-destination', service: SVC, destination: { address: `10.0.2.${from + i}` } }));

  it('sends a batch refused for the old id again, window by window, with one lookup per call', async () => {
    const { kernel, ipvs } = await setUp();
    kernel.reloadIpvs();
    const results = await ipvs.execute([{ op: 'add-service', service: { ...SVC, scheduler: 'rr' } }, ...dests(6)], { window: 3 });
    expect(results).toEqual(Array.from({ length: 7 }, () => ({ ok: true })));
    expect(kernel.requests.filter((r) => r === LOOKUP)).toHaveLength(1);
    expect(kernel.requests.filter((r) => r === 'netlink type 28')).toHaveLength(3);
    expect(kernel.state().services[0]?.destinations).toHaveLength(6);
    await ipvs.close();
  });

  it('a reload between two windows: the windows carried out stay, the refused one goes to the new table', async () => {
    const { kernel, ipvs } = await setUp();
    // The first window is carried out at once and answered after 20 ms; ip_vs is reloaded meanwhile.
    kernel.delayReplies(2, 20);
    setTimeout(() => kernel.reloadIpvs(), 5);
    const results = await ipvs.execute([{ op: 'add-service', service: { ...SVC, port: 81 } }, ...dests(3)], { window: 2 });
    expect(results.slice(0, 2)).toEqual([{ ok: true }, { ok: true }]);
    // The service went with the old table: the new one has none (ESRCH), not "no such family" (ENOENT).
    expect(results.slice(2).map((r) => ('error' in r ? (r.error as KernelError).code : r))).toEqual(['ESRCH', 'ESRCH']);
    expect(kernel.requests.filter((r) => r === LOOKUP)).toHaveLength(1);
    await ipvs.close();
  });

  it('with the family gone, every refused operation is a FamilyNotFoundError, one lookup for the call', async () => {
    const { kernel, ipvs } = await setUp();
    kernel.unloadIpvs();
    const results = await ipvs.execute(dests(5), { window: 2 });
    expect(results.every((r) => 'error' in r && r.error instanceof FamilyNotFoundError && (r.error.cause as KernelError).code === 'ENOENT')).toBe(true);
    expect(kernel.requests.filter((r) => r === LOOKUP)).toHaveLength(1);
    await ipvs.close();
  });

  it("IPVS's own ENOENTs in many windows cost one lookup and keep their sentences", async () => {
    const { kernel, ipvs } = await setUp();
    const deletes: Operation[] = Array.from({ length: 6 }, (_, i) => ({ op: 'delete-destination', service: SVC, destination: { address: `10.0.3.${i + 1}` } }));
    const results = await ipvs.execute(deletes, { window: 2 });
    expect(results.map((r) => ('error' in r ? (r.error as KernelError).code : r))).toEqual(Array.from({ length: 6 }, () => 'ENOENT'));
    expect(((results[0] as { error: Error }).error).message).toBe('no such destination 10.0.3.1:80 in service tcp 10.0.0.1:80 [ENOENT]');
    expect(kernel.requests.filter((r) => r === LOOKUP)).toHaveLength(1);
    await ipvs.close();
  });

  it('apply() converges on the reloaded table', async () => {
    const { kernel, ipvs } = await setUp();
    kernel.reloadIpvs();
    const desired = { services: [{ ...SVC, scheduler: 'rr' as const, destinations: [{ address: '10.0.1.1', weight: 2 }] }] };
    const result = await ipvs.apply(desired);
    expect(result.failed).toEqual([]);
    expect((await ipvs.plan(desired)).steps).toEqual([]);
    await ipvs.close();
  });
});
