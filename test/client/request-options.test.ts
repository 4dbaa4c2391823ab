// The per-call request options (`timeoutMs`, `signal`) and open()'s `timeoutMs` are inputs like any other:
// checked before anything is sent, refused with a ValidationError naming the field and the value. 0 and
// Infinity wait forever; a delay Node's timers cannot take (2^31 ms or more) is refused rather than
// turned into 1 ms by setTimeout (with a TimeoutOverflowWarning).

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import type { RequestOptions } from '../../src/netlink/connection.js';
import { TimeoutError } from '../../src/netlink/errors.js';
import { FakeKernel } from '../../src/testing/index.js';
import { collectProcessWarnings } from '../helpers/process-warnings.js';

const WEB = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;

/** Every client call that takes request options, with `o` as them. */
function calls(ipvs: Ipvs): Record<string, (o: RequestOptions) => Promise<unknown>> {
  const drain = async (it: AsyncIterable<unknown>): Promise<void> => {
    for await (const x of it) void x;
  };
  return {
    info: (o) => ipvs.info(o),
    timeouts: (o) => ipvs.timeouts(o),
    setTimeouts: (o) => ipvs.setTimeouts({ tcp: 900 }, o),
    addService: (o) => ipvs.addService({ ...WEB, port: 81 }, o),
    service: (o) => ipvs.service(WEB, o),
    hasService: (o) => ipvs.hasService(WEB, o),
    services: (o) => ipvs.services(o),
    iterateServices: (o) => drain(ipvs.iterateServices(o)),
    destinations: (o) => ipvs.destinations(WEB, o),
    iterateDestinations: (o) => drain(ipvs.iterateDestinations(WEB, o)),
    destinationsOfEach: (o) => drain(ipvs.destinationsOfEach([WEB], o)),
    addDestination: (o) => ipvs.addDestination(WEB, { address: '10.0.1.2' }, o),
    daemons: (o) => ipvs.daemons(o),
    startDaemon: (o) => ipvs.startDaemon({ state: 'master', interface: 'eth0' }, o),
    stopDaemon: (o) => ipvs.stopDaemon('master', o),
    zero: (o) => ipvs.zero(undefined, o),
    flush: (o) => ipvs.flush(o),
    execute: (o) => ipvs.execute([{ op: 'delete-service', service: WEB }], o),
    // The reconcile methods take a signal only; it reaches the reads, which refuse it before the first is sent.
    exportState: (o) => ipvs.exportState({ signal: o.signal as AbortSignal }),
    plan: (o) => ipvs.plan({ services: [] }, { signal: o.signal as AbortSignal }),
    apply: (o) => ipvs.apply({ services: [] }, { prune: true, signal: o.signal as AbortSignal }),
  };
}

const RECONCILE = new Set(['exportState', 'plan', 'apply']);

const warningsSoFar = collectProcessWarnings();

async function setup(timeoutMs?: number): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel();
  const ipvs = await Ipvs.open({ transport: kernel.transport(), ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  await ipvs.addService(WEB);
  await ipvs.addDestination(WEB, { address: '10.0.1.1' });
  return { kernel, ipvs };
}

describe('request options are checked before anything is sent', () => {
  const badTimeouts: unknown[] = [Number.NaN, -5, -Infinity, 0.5, '100', 2 ** 31, 1e10, null, true];

  it('a bad timeoutMs: a ValidationError naming it and its value, from every call, nothing sent', async () => {
    const { kernel, ipvs } = await setup();
    for (const [name, call] of Object.entries(calls(ipvs))) {
      if (RECONCILE.has(name)) continue;
      for (const timeoutMs of badTimeouts) {
        const before = kernel.requests.length;
        const err = await call({ timeoutMs } as RequestOptions).then(() => undefined, (e: unknown) => e);
        expect(err, `${name} ${String(timeoutMs)}`).toBeInstanceOf(ValidationError);
        expect(err).toMatchObject({ field: 'timeoutMs', value: timeoutMs });
        expect(kernel.requests.length, name).toBe(before);
      }
    }
  }, 30_000);

  it('the sentences name the value as written, NaN and Infinity included', async () => {
    const { ipvs } = await setup();
    const reason = 'must be an integer number of milliseconds from 0 to 2147483647, or Infinity (0 and Infinity wait forever)';
    await expect(ipvs.info({ timeoutMs: Number.NaN })).rejects.toThrow(`invalid timeoutMs NaN: ${reason}`);
    await expect(ipvs.info({ timeoutMs: -Infinity })).rejects.toThrow(`invalid timeoutMs -Infinity: ${reason}`);
    await expect(ipvs.info({ timeoutMs: 2 ** 31 })).rejects.toThrow(`invalid timeoutMs 2147483648: ${reason}`);
    await expect(ipvs.info({ timeoutMs: '100' as never })).rejects.toThrow(`invalid timeoutMs "100": ${reason}`);
    await expect(ipvs.info({ signal: new AbortController() as never })).rejects.toThrow(
      "invalid signal AbortController {}: must be an AbortSignal: pass the controller's .signal, not the controller",
    );
    await expect(ipvs.info({ signal: 'x' as never })).rejects.toThrow('invalid signal "x": must be an AbortSignal');
    await expect(ipvs.info(null as never)).rejects.toThrow('invalid options null: must be an object');
  });

  it('a signal that is not an AbortSignal: a ValidationError naming it, from every call, nothing sent', async () => {
    const { kernel, ipvs } = await setup();
    for (const [name, call] of Object.entries(calls(ipvs))) {
      for (const signal of [{}, 'x', new AbortController(), { aborted: false }]) {
        const before = kernel.requests.length;
        const err = await call({ signal } as never).then(() => undefined, (e: unknown) => e);
        expect(err, name).toBeInstanceOf(ValidationError);
        expect(err).toMatchObject({ field: 'signal', value: signal });
        expect(kernel.requests.length, name).toBe(before);
      }
    }
  }, 30_000);

  it('open() refuses a timeoutMs its timers cannot take, and takes Infinity and the largest they can', async () => {
    const kernel = new FakeKernel();
    for (const timeoutMs of [2 ** 31, 1e10, Number.NaN, -1, 1.5, -Infinity]) {
      const err = await Ipvs.open({ transport: kernel.transport(), timeoutMs }).then(() => undefined, (e: unknown) => e);
      expect(err, String(timeoutMs)).toBeInstanceOf(ValidationError);
      expect(err).toMatchObject({ field: 'timeoutMs', value: timeoutMs });
    }
    for (const timeoutMs of [Infinity, 2 ** 31 - 1, 0]) {
      const ipvs = await Ipvs.open({ transport: kernel.transport(), timeoutMs });
      kernel.delayReplies(1, 50);
      expect((await ipvs.info()).version).toBe('1.2.1');
      await ipvs.close();
    }
    expect(warningsSoFar().map((w) => w.name)).toEqual([]);
  });
});

describe('timeouts Node cannot take are not turned into 1 ms', () => {
  it('timeoutMs Infinity waits as 0 does, on every kind of request, with no TimeoutOverflowWarning', async () => {
    const { kernel, ipvs } = await setup();
    for (const timeoutMs of [Infinity, 0, 2 ** 31 - 1]) {
      kernel.delayReplies(1, 40);
      expect((await ipvs.info({ timeoutMs })).version).toBe('1.2.1');
      kernel.delayReplies(1, 40);
      expect(await ipvs.services({ timeoutMs })).toHaveLength(1);
      kernel.delayReplies(1, 40);
      let n = 0;
      for await (const s of ipvs.iterateServices({ timeoutMs })) if (s) n++;
      expect(n).toBe(1);
      kernel.delayReplies(1, 40);
      const [result] = await ipvs.execute([{ op: 'update-service', service: { ...WEB, scheduler: 'rr' } }], { timeoutMs });
      expect(result).toEqual({ ok: true });
    }
    expect(warningsSoFar().map((w) => w.name)).toEqual([]);
    // A short one still times out: the check changed nothing else.
    kernel.dropReplies(1);
    await expect(ipvs.info({ timeoutMs: 30 })).rejects.toBeInstanceOf(TimeoutError);
    await ipvs.close();
  });

  it('a client opened with timeoutMs Infinity waits for a slow answer', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport(), timeoutMs: Infinity });
    await ipvs.addService(WEB);
    kernel.delayReplies(1, 60);
    expect(await ipvs.services()).toHaveLength(1);
    expect(warningsSoFar().map((w) => w.name)).toEqual([]);
    await ipvs.close();
  });
});
