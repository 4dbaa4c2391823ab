// HealthChecker's options and stop()'s refuse keys they do not have: a misspelt `retryMs` would silently
// keep its default, and a misspelt `removeServices` would leave the services in the table. Refused before
// anything is sent (the config's own fields are refused by path: test/health/config.test.ts).

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { HealthChecker, ManualScheduler, type HealthConfig } from '../../src/health/index.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import { FakeKernel } from '../../src/testing/index.js';

const CONFIG: HealthConfig = {
  services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, destinations: [{ address: '10.0.1.1', check: { type: 'custom', run: () => true, rise: 1, jitterMs: 0 } }] }],
};

describe('HealthChecker options', () => {
  it('the constructor refuses an unknown key, and nothing is sent', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const before = kernel.requests.length;
    let err: unknown;
    try {
      new HealthChecker({ ipvs, config: CONFIG, retryMS: 10 } as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toBe(
      'invalid retryMS 10: unknown option (did you mean retryMs?); expected one of ipvs, config, logger, scheduler, random, resyncIntervalMs, retryMs, retryMaxMs, manageServices',
    );
    expect(() => new HealthChecker({ ipvs, config: CONFIG, manageservices: false } as never)).toThrow(/did you mean manageServices\?/);
    expect(kernel.requests.length).toBe(before);
    await ipvs.close();
  });

  it('stop() refuses an unknown key without stopping or removing anything', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const checker = new HealthChecker({ ipvs, config: CONFIG, scheduler: new ManualScheduler(), random: () => 0 });
    await checker.start();
    const before = kernel.requests.length;
    await expect(checker.stop({ removeservices: true } as never)).rejects.toMatchObject({
      field: 'removeservices',
      reason: 'unknown option (did you mean removeServices?); expected one of removeServices',
    });
    expect(kernel.requests.length).toBe(before);
    expect(kernel.state().services).toHaveLength(1);
    await checker.stop({ removeServices: true });
    expect(kernel.state().services).toEqual([]);
    await ipvs.close();
  });
});
