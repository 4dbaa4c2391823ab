// One client, many callers at once (an admin API, a health checker, a reconcile loop sharing one Ipvs): calls made
// without awaiting are sent in call order, each settles once with its own answer, and a burst larger than the
// receive buffer can hold answers for is sent as room frees up instead of overflowing it (which failed every call
// of the burst with ENOBUFS, "outcome unknown", although the kernel had carried each one out).

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { FakeKernel } from '../../src/testing/index.js';

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
