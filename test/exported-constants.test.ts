// The lists and objects the entries export are the library's own: validation and the guards read the
// name lists (isScheduler is true exactly for SCHEDULER_NAMES, docs/api.md), the decoder maps tunnel
// numbers through TUNNEL_TYPES, apply runs PHASES in their order, every health checker without a scheduler
// of its own uses systemScheduler. TypeScript types them readonly, but JavaScript has no such check: a
// program that pushed to one, sorted it or replaced a method changed what every client of the process
// accepts, reads back or runs first. So each is frozen, and a change throws in strict code.

import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import * as testing from '../src/testing/index.js';
import { FakeKernel } from '../src/testing/index.js';

describe('the objects the entries export', () => {
  it.each([['ipvs', api], ['ipvs/testing', testing]] as const)('%s: every one that is not a function or class is frozen', (_, entry) => {
    const objects = Object.entries(entry).filter(([, v]) => typeof v === 'object' && v !== null);
    expect(objects.filter(([, v]) => !Object.isFrozen(v)).map(([name]) => name)).toEqual([]);
  });

  it("a program's change to a list cannot widen what validation takes, nor reorder apply's phases", async () => {
    const names = api.SCHEDULER_NAMES as unknown as string[];
    expect(() => names.push('mine')).toThrow(TypeError);
    expect(() => (api.PHASES as unknown as string[]).reverse()).toThrow(TypeError);
    expect(() => { (api.TUNNEL_TYPES as unknown as string[])[0] = 'x'; }).toThrow(TypeError);
    expect(api.isScheduler('mine')).toBe(false);
    const ipvs = await api.Ipvs.open({ transport: new FakeKernel().transport() });
    await expect(ipvs.addService({ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'mine' as never })).rejects.toMatchObject({ field: 'scheduler' });
    await ipvs.close();
  });
});
