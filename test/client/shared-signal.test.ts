// One AbortSignal shared by many calls in flight at once (a program's shutdown signal): the engine listens
// once per request, and Node warns (MaxListenersExceededWarning) past 10 listeners on one signal. The client
// puts one listener of its own on the caller's signal, however many of its calls use it, and removes it when
// the last of them has settled; aborting still fails every call in flight.

import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { AbortError } from '../../src/netlink/errors.js';
import { FakeKernel } from '../../src/testing/index.js';
import { collectProcessWarnings } from '../helpers/process-warnings.js';

const key = (port: number) => ({ protocol: 'tcp', address: '10.0.0.1', port }) as const;

const warningsSoFar = collectProcessWarnings();

/** Let process.emitWarning's event (emitted on the next tick) arrive. */
const warned = async (): Promise<string[]> => {
  await new Promise((r) => setImmediate(r));
  return warningsSoFar().map((w) => w.name);
};

describe('one signal shared by many calls in flight', () => {
  it('50 changes, 20 listings, reads and a bulk job at once: no MaxListenersExceededWarning, no listener left', async () => {
    const kernel = new FakeKernel({ dumpBudget: 400 });
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const shutdown = new AbortController();
    const signal = shutdown.signal;
    const jobs: Promise<unknown>[] = [];
    for (let i = 1; i <= 50; i++) jobs.push(ipvs.addService(key(i), { signal }));
    for (let i = 1; i <= 20; i++) jobs.push(ipvs.services({ signal }), ipvs.destinations(key(1), { signal }));
    for (let i = 1; i <= 20; i++) jobs.push(ipvs.info({ signal }), ipvs.daemons({ signal }), ipvs.exportState({ signal }));
    jobs.push(ipvs.execute([{ op: 'add-destination', service: key(1), destination: { address: '10.0.1.1' } }], { signal }));
    jobs.push((async () => {
      for await (const run of ipvs.destinationsOfEach([key(1), key(2)], { signal })) void run;
    })());
    const inFlight = getEventListeners(signal, 'abort').length;
    await Promise.all(jobs);
    expect(await warned()).toEqual([]);
    expect(inFlight).toBe(1);
    expect(getEventListeners(signal, 'abort')).toEqual([]);
    expect(await ipvs.services()).toHaveLength(50);
    await ipvs.close();
  });

  it('an abort still fails every call in flight with AbortError, and a later call at once', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const shutdown = new AbortController();
    const signal = shutdown.signal;
    kernel.delayReplies(30, 200);
    const jobs = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? ipvs.services({ signal }) : ipvs.info({ signal })).then(() => 'ok', (e: unknown) => e));
    await new Promise((r) => setTimeout(r, 20));
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    const reason = new Error('shutting down');
    shutdown.abort(reason);
    const results = await Promise.all(jobs);
    for (const r of results) {
      expect(r).toBeInstanceOf(AbortError);
      expect((r as AbortError).cause).toBe(reason);
    }
    await expect(ipvs.info({ signal })).rejects.toBeInstanceOf(AbortError);
    expect(getEventListeners(signal, 'abort')).toEqual([]);
    expect(await warned()).toEqual([]);
    await ipvs.close();
  });

  it('an iteration holds the listener until it ends; two clients share a signal with one listener each', async () => {
    const kernel = new FakeKernel({ dumpBudget: 400 });
    const a = await Ipvs.open({ transport: kernel.transport() });
    const b = await Ipvs.open({ transport: kernel.transport() });
    await a.execute(Array.from({ length: 30 }, (_, i) => ({ op: 'add-service' as const, service: key(i + 1) })));
    const signal = new AbortController().signal;
    let n = 0;
    for await (const s of a.iterateServices({ signal })) {
      if (n++ === 0) {
        expect(s.port).toBeGreaterThan(0);
        await Promise.all(Array.from({ length: 15 }, () => b.info({ signal })));
        expect(getEventListeners(signal, 'abort')).toHaveLength(1); // the iteration's client's
        const pending = Array.from({ length: 15 }, () => b.services({ signal }));
        expect(getEventListeners(signal, 'abort')).toHaveLength(2);
        await Promise.all(pending);
      }
    }
    expect(n).toBe(30);
    expect(getEventListeners(signal, 'abort')).toEqual([]);
    expect(await warned()).toEqual([]);
    await a.close();
    await b.close();
  });
});
