// A fault aimed past the next request: `{ command, after }` lets the first `after` requests it matches through
// and hits the ones after them, so a test can refuse the third destination of a batch, or lose the answer to
// the second listing of a run, which a fault that hits the next matching request cannot express. And at one
// socket: `{ transport }` hits only the requests of that client, where several share the kernel.
import { describe, expect, it } from 'vitest';
import { Ipvs, KernelError, TimeoutError, ValidationError, type Operation } from '../../src/index.js';
import { FakeKernel, type FaultTarget } from '../../src/testing/index.js';

const web = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
const add = (address: string): Operation => ({ op: 'add-destination', service: web, destination: { address } });

describe('FakeKernel faults with { after }', () => {
  it('refuses the third destination of a batch, and only it', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService(web);
    kernel.failNext(1, 'ENOMEM', { command: 'IPVS_CMD_NEW_DEST', after: 2 });
    expect(kernel.pendingFaults).toBe(1);
    const results = await ipvs.execute(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map(add));
    expect(results.map((r) => ('error' in r ? (r.error as KernelError).code : 'ok'))).toEqual(['ok', 'ok', 'ENOMEM', 'ok']);
    expect(kernel.state().services[0]?.destinations.map((d) => d.address).sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.4']);
    expect(kernel.pendingFaults).toBe(0);
  });

  it('counts every request it matches, whatever other faults do to them; without a command, any IPVS request', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport(), timeoutMs: 200 });
    // The first request is refused by the fault armed second; the one armed first counts it all the same.
    kernel.dropReplies(1, { after: 1 }).failNext(1, 'EBUSY');
    expect(await ipvs.addService(web).catch((e: unknown) => e)).toMatchObject({ code: 'EBUSY' });
    expect(await ipvs.addService(web).catch((e: unknown) => e)).toBeInstanceOf(TimeoutError);
    expect(kernel.state().services).toHaveLength(1); // carried out, unanswered
    // count and after together: the 2nd and 3rd GET_SERVICE are refused, the 1st and 4th answered.
    kernel.requests.length = 0;
    kernel.failNext(2, 'EBUSY', { command: 'IPVS_CMD_GET_SERVICE', after: 1 });
    const got: unknown[] = [];
    for (let i = 0; i < 4; i++) got.push(await ipvs.hasService(web).catch((e: unknown) => (e as KernelError).code));
    expect(got).toEqual([true, 'EBUSY', 'EBUSY', true]);
    expect(kernel.requests).toEqual(Array(4).fill('IPVS_CMD_GET_SERVICE'));
    expect(kernel.pendingFaults).toBe(0);
  });

  it('refuses a target it could not fire on, arming nothing', () => {
    const kernel = new FakeKernel();
    const bad: [() => unknown, string][] = [
      [() => kernel.failNext(1, 'EBUSY', { after: -1 }), 'FakeKernel.failNext after'],
      [() => kernel.dropReplies(1, { after: 1.5 }), 'FakeKernel.dropReplies after'],
      [() => kernel.overflowReplies(1, { command: 'NEW_DEST' as never }), 'FakeKernel.overflowReplies command'],
      [() => kernel.delayReplies(1, 5, { comand: 'IPVS_CMD_NEW_DEST' } as never), 'FaultTarget.comand'],
    ];
    for (const [arm, field] of bad) {
      let err: unknown;
      try {
        arm();
      } catch (e) {
        err = e;
      }
      expect(err, field).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
    }
    expect(kernel.pendingFaults).toBe(0);
    const target: FaultTarget = { command: 5, after: 0 };
    expect(kernel.failNext(1, 'EBUSY', target).pendingFaults).toBe(1);
  });

  it('hits only the requests of one socket with { transport }', async () => {
    const kernel = new FakeKernel();
    const checkerSocket = kernel.transport();
    await using checker = await Ipvs.open({ transport: checkerSocket });
    await using reconciler = await Ipvs.open({ transport: kernel.transport() });
    kernel.failNext(1, 'ENOMEM', { transport: checkerSocket, command: 'IPVS_CMD_NEW_SERVICE' });
    await reconciler.addService(web); // another socket's: not hit
    expect(await checker.addService({ ...web, port: 81 }).catch((e: unknown) => e)).toMatchObject({ code: 'ENOMEM' });
    expect(kernel.state().services.map((s) => s.key)).toEqual(['tcp 192.168.1.110:80']);
    const closed = kernel.transport();
    await closed.close();
    let err: unknown;
    try {
      kernel.dropReplies(1, { transport: closed });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ name: 'ValidationError', field: 'FakeKernel.dropReplies transport' });
    expect(() => new FakeKernel().failNext(1, 'EBUSY', { transport: checkerSocket })).toThrow(/not an open transport of this kernel/);
    expect(kernel.pendingFaults).toBe(0);
  });
});
