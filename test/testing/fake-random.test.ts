// shuffleDumps draws from the `random` option: a draw outside [0, 1) (a seeded generator that returns integers,
// a NaN) put holes into the listing and the fake failed deep inside with "Cannot read properties of undefined
// (reading 'af')". The draw is checked and the listing refused with an error that names the option.
import { describe, expect, it } from 'vitest';
import { Ipvs, ValidationError } from '../../src/index.js';
import { FakeKernel } from '../../src/testing/index.js';

describe('FakeKernelOptions.random', () => {
  it('names itself when a draw is not in [0, 1)', async () => {
    for (const draw of [1, 42, -0.5, Number.NaN]) {
      const kernel = new FakeKernel({ shuffleDumps: true, random: () => draw });
      await using ipvs = await Ipvs.open({ transport: kernel.transport(), timeoutMs: 500 });
      for (let i = 1; i <= 3; i++) await ipvs.addService({ protocol: 'tcp', address: `10.1.1.${i}`, port: 80 });
      const err = await ipvs.services().catch((e: unknown) => e);
      expect(err, String(draw)).toBeInstanceOf(ValidationError);
      expect(err).toMatchObject({ field: 'FakeKernelOptions.random', value: draw });
      expect((err as Error).message).toContain('[0, 1)');
      // The socket is left usable: the next request answers.
      await ipvs.addService({ protocol: 'tcp', address: '10.1.1.9', port: 80 });
      expect(kernel.state().services).toHaveLength(4);
    }
  });

  it('shuffles with draws in [0, 1), reproducibly', async () => {
    const draws = [0, 0.999, 0.5, 0.25];
    const listed: string[][] = [];
    for (let run = 0; run < 2; run++) {
      let n = 0;
      const kernel = new FakeKernel({ shuffleDumps: true, random: () => draws[n++ % draws.length] as number });
      await using ipvs = await Ipvs.open({ transport: kernel.transport() });
      for (let i = 1; i <= 4; i++) await ipvs.addService({ protocol: 'tcp', address: `10.1.1.${i}`, port: 80 });
      listed.push((await ipvs.services()).map((s) => s.address as string));
    }
    expect(listed[0]?.slice().sort()).toEqual(['10.1.1.1', '10.1.1.2', '10.1.1.3', '10.1.1.4']);
    expect(listed[1]).toEqual(listed[0]);
  });
});
