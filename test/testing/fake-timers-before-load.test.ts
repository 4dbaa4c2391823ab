// A test runner's setup file that fakes timers for every test (`setupFiles` with vi.useFakeTimers(), jest's
// `fakeTimers.enableGlobally`) fakes them before the test's modules load. The fake kernel took the global
// setImmediate when its module loaded, so there it took the faked one: no answer came until the test moved
// its clock, and Ipvs.open() hung. Here the fake is loaded afresh while timers are faked.
import { afterEach, expect, it, vi } from 'vitest';
import { setTimeout as realSleep } from 'node:timers/promises';
import { Ipvs } from '../../src/index.js';

afterEach(() => {
  vi.useRealTimers();
});

it('answers with the clock standing still when timers were faked before the fake kernel loaded', async () => {
  vi.useFakeTimers();
  vi.resetModules();
  const { FakeKernel } = await import('../../src/testing/index.js');
  const kernel = new FakeKernel();
  const answered = (async () => {
    await using ipvs = await Ipvs.open({ transport: kernel.transport(), timeoutMs: 500 });
    await ipvs.addService({ protocol: 'tcp', address: '10.1.1.1', port: 80 });
    return (await ipvs.services()).length;
  })();
  // The faked clock stands still: the answers must come on real turns of the event loop (node:timers' own
  // timer, which vitest leaves alone, bounds the wait).
  const outcome = await Promise.race([answered, realSleep(2000, 'no answer with the clock standing still')]);
  expect(outcome).toBe(1);
  expect(kernel.state().services).toHaveLength(1);
});
