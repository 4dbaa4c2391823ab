// Health checks and services of protocols Linux keeps but does not balance (another tool's): a config may
// not name one, since health checks manage services that carry traffic, and one in the table does not stop
// the checker from starting (it reads the whole table) nor is it touched.

import { afterEach, describe, expect, it } from 'vitest';
import { normaliseHealthConfig, type HealthConfig } from '../../src/health/index.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import { addForeignServices, GRE_AND_ESP } from '../helpers/foreign-service.js';
import { harness, seedConfig, SERVICE, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('health checks and services of other protocols', () => {
  it('a config naming a protocol number other than 6, 17, 132 is refused, naming the field', () => {
    const config = (protocol: number): HealthConfig => ({
      services: [{ protocol, address: '192.168.1.110', port: 80, destinations: [{ address: '192.168.1.116' }] }],
    });
    let err: unknown;
    try {
      normaliseHealthConfig(config(47));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'services[0].protocol', value: 47 });
    expect((err as Error).message).toBe(
      'invalid services[0].protocol 47: health checks manage services that carry traffic, and Linux balances TCP, UDP and SCTP only',
    );
    // 6 is TCP.
    expect(normaliseHealthConfig(config(6))[0]!.id).toBe('tcp 192.168.1.110:80');
  });

  it('starts with one in the table and leaves it alone', async () => {
    h = await harness(seedConfig(), { before: (_ipvs, kernel) => addForeignServices(kernel.transport(), GRE_AND_ESP) });
    await h.checker.start();
    expect(await h.table()).toEqual(['192.168.1.116:80 2', '192.168.1.117:80 1']);
    expect(h.kernel.state().services.map((s) => s.key).sort()).toEqual(['proto 47 10.9.9.9:80', 'proto 50 10.9.9.9:0', 'tcp 192.168.1.110:80']);
    expect(h.kernel.state().services.find((s) => s.protocol === 47)?.destinations.map((d) => d.address)).toEqual(['10.9.9.10']);
    expect((await h.ipvs.service(SERVICE)).scheduler).toBe('rr');
  });
});
