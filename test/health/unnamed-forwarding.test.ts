// The health checker on a service in which another tool left destinations with a forwarding method or tunnel
// type Linux keeps but has no name for: they used to make the service's destinations unreadable, so the
// checker of that service never made a change ("could not read the table" every 2 s). They belong to
// someone else and are left alone; a configured server another tool set to one is put back as configured.

import { afterEach, describe, expect, it } from 'vitest';
import { addRawDestinations } from '../helpers/foreign-service.js';
import { harness, seedConfig, SERVICE, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('health checks beside destinations without a named forwarding method or tunnel type', () => {
  it('starts, adds and quiesces the configured servers, leaves the others as they are', async () => {
    h = await harness(seedConfig(), {
      before: async (ipvs, kernel) => {
        await ipvs.addService({ ...SERVICE, scheduler: 'rr' });
        await addRawDestinations(kernel.transport(), { ...SERVICE, protocol: 6 }, [
          { address: '10.0.0.9', fwd: 5, weight: 5 },
          { address: '10.0.0.8', fwd: 2, tunnel: { type: 3 } },
          // A configured server (route, weight 1) that another tool set to method 6.
          { address: '192.168.1.117', fwd: 6 },
        ]);
      },
    });
    await h.checker.start();
    expect(h.logs.filter((l) => l.includes('could not read'))).toEqual([]);
    expect(await h.table()).toEqual(['10.0.0.8:80 1', '10.0.0.9:80 5', '192.168.1.116:80 2', '192.168.1.117:80 1']);
    const forwarding = async (): Promise<Record<string, unknown>> =>
      Object.fromEntries((await h!.ipvs.destinations(SERVICE)).map((d) => [d.address, d.tunnel ? [d.forwarding, d.tunnel.type] : d.forwarding]));
    expect(await forwarding()).toEqual({ '10.0.0.9': 5, '10.0.0.8': ['tunnel', 3], '192.168.1.116': 'route', '192.168.1.117': 'route' });
    h.setUp('192.168.1.117', false);
    await h.clock.advance(10_000);
    expect(await h.table()).toEqual(['10.0.0.8:80 1', '10.0.0.9:80 5', '192.168.1.116:80 2', '192.168.1.117:80 0']);
    expect(await forwarding()).toEqual({ '10.0.0.9': 5, '10.0.0.8': ['tunnel', 3], '192.168.1.116': 'route', '192.168.1.117': 'route' });
    expect(h.logs.filter((l) => l.startsWith('warn') && !l.includes('is DOWN'))).toEqual([]);
  });
});
