// Inputs the library only reads accept readonly data: an object kept in a variable `as const` (TypeScript's
// way to keep `protocol: 'tcp'` a literal) has readonly arrays, and a desired state, a health config, an
// operation list, a fake kernel's interfaces must take it. `npm run typecheck` compiles this file, so a
// mutable array type in one of those inputs fails the build; run, it hands the same inputs deep-frozen
// to the library (ES modules are strict: a write into a frozen object throws), so none is changed.
// The README's plan/apply snippet is kept here verbatim (only `as const` added), checked against README.md.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthChecker, Ipvs, ManualScheduler, apply, plan, type DesiredState, type HealthConfig } from '../src/index.js';
import { FakeKernel } from '../src/testing/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

let ipvs: Ipvs;
afterEach(async () => {
  await ipvs?.close();
});

/** README's "Desired state" snippet, as a TypeScript program writes it: `as const` after the literal. */
async function readmeDesiredState(): Promise<{ steps: unknown; ok: boolean }> {
  // README: desired state (begin)
const desired = { services: [{ protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'rr',
  destinations: [{ address: '192.168.1.116', weight: 2 }, { address: '192.168.1.117' }] }] } as const;
const steps = await ipvs.plan(desired);                  // what would change; nothing sent
const result = await ipvs.apply(desired, { prune: true, drain: 30 });
if (!result.ok) console.error(result.failed, result.notAttempted);
  // README: desired state (end)
  return { steps, ok: result.ok };
}

describe('readonly inputs', () => {
  it("README's plan/apply snippet compiles `as const` and applies", async () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const at = readme.indexOf('## Desired state');
    const block = /```js\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
    const own = readFileSync(fileURLToPath(import.meta.url), 'utf8');
    const copy = /\/\/ README: desired state \(begin\)\n([\s\S]*?)\s*\/\/ README: desired state \(end\)/.exec(own)?.[1];
    expect(copy?.replace(' as const;', ';').trim()).toBe(block?.trim());

    ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
    const { steps, ok } = await readmeDesiredState();
    expect(steps).toHaveProperty('steps.length', 3);
    expect(ok).toBe(true);
  });

  it('a desired state `as const` or annotated, deep-frozen, plans, applies and is left as it was', async () => {
    ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
    const literal = {
      services: [
        { protocol: 'udp', address: '192.168.1.110', port: 80, scheduler: 'rr', flags: ['one-packet'],
          destinations: [{ address: '192.168.1.116', weight: 2, forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } }, { address: '192.168.1.117' }] },
        { fwmark: 10, persistence: { timeout: 60 }, destinations: [] },
      ],
    } as const;
    const annotated: DesiredState = literal;
    const frozen = deepFreeze(literal);
    expect((await apply(ipvs, frozen, { prune: true, drain: { timeout: 30 } })).ok).toBe(true);
    expect((await plan(ipvs, annotated)).inSync).toBe(true);
    expect((await ipvs.apply({ services: [] }, { prune: true })).ok).toBe(true);
    expect(literal.services[0].destinations).toHaveLength(2);
  });

  it('a health config `as const`, deep-frozen, starts, checks and stops', async () => {
    const kernel = new FakeKernel();
    ipvs = await Ipvs.open({ transport: kernel.transport() });
    const config = deepFreeze({
      services: [{
        protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'wrr',
        destinations: [{ address: '192.168.1.116', weight: 2, check: { rise: 1 } }, { address: '192.168.1.117' }],
        check: { type: 'custom', run: () => true, intervalMs: 1000, jitterMs: 0, rise: 1, fall: 1 },
        sorryServer: { address: '127.0.0.1' },
      }],
      // Overridden by the service's custom check; here for its readonly status list.
      check: { type: 'http', expectStatus: [200, 204], headers: { 'x-probe': '1' } },
    } as const);
    const typed: HealthConfig = config;
    const clock = new ManualScheduler();
    const checker = new HealthChecker({ ipvs, config: typed, scheduler: clock, random: () => 0 });
    await checker.start();
    await clock.advance(3000);
    expect(checker.status()[0]!.destinations.map((d) => `${d.destinationId} ${d.status}`)).toEqual(['192.168.1.116:80 up', '192.168.1.117:80 up']);
    await checker.stop({ removeServices: true });
    expect(kernel.state().services).toEqual([]);
  });

  it('operation lists, service flags and fake interfaces `as const`', async () => {
    const interfaces = [{ name: 'lo', addresses: ['127.0.0.1/8'] }, { name: 'eth0', addresses: ['192.168.1.1/24'] }] as const;
    ipvs = await Ipvs.open({ transport: new FakeKernel({ interfaces, schedulers: ['rr', 'wlc'] as const }).transport() });
    const ops = [
      { op: 'add-service', service: { protocol: 'udp', address: '192.168.1.110', port: 53, flags: ['one-packet'] } },
      { op: 'add-destination', service: { protocol: 'udp', address: '192.168.1.110', port: 53 }, destination: { address: '192.168.1.116' } },
    ] as const;
    expect(await ipvs.execute(deepFreeze(ops))).toEqual([{ ok: true }, { ok: true }]);
  });
});
