// stopSignal, shared by `ipvs apply` and `ipvs health`: the first SIGINT or SIGTERM aborts and ends the listening
// for both. The listeners are called directly: signalling the test runner itself would end it.

import { describe, expect, it } from 'vitest';
import { stopSignal } from '../../src/cli/stop-signal.js';

describe('stopSignal', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('hears only the first signal (%s), leaving a second one of either kind to Node, which ends the process', async (first) => {
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const stop = stopSignal();
    (process.listeners(first).at(-1) as () => void)();
    expect(stop.signal.aborted).toBe(true);
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
    stop.dispose();
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
  });
});
