// Option values are inputs too: a boolean option takes true or false only (read as JavaScript truth,
// `{ dryRun: 'false' }` did a dry run and `{ removeServices: 'false' }` deleted the services), a `signal`
// an AbortSignal, `now` a finite number, the rules format's `services` a ServiceNames and its lookups
// functions (a Map of hosts, which has no entries to read, gave no names at all), each refused by name before
// anything is read, sent or changed.
// The shared checks live in src/ipvs/option-keys.ts; each entry point that takes such an option is tried here.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import { booleanOption, signalOption } from '../../src/ipvs/option-keys.js';
import { HealthChecker } from '../../src/health/index.js';
import { apply, applyPlan, describeApplyResult, describePlan, exportState, plan, planAgainst } from '../../src/reconcile/index.js';
import { formatRules, iterateRules, parseRules, parseRulesResolving, parseServicesFile, prepareRules, prepareRulesResolving, resolveEndpointNames, staticResolver } from '../../src/rules/index.js';
import { FakeKernel } from '../../src/testing/index.js';

const WEB = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;

async function setup(): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel();
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  await ipvs.addService(WEB);
  kernel.requests.length = 0;
  return { kernel, ipvs };
}

const refusal = (field: string, value: unknown, reason: string | RegExp) =>
  expect.objectContaining({ name: 'ValidationError', field, value, reason: typeof reason === 'string' ? reason : expect.stringMatching(reason) });

describe('the shared checks', () => {
  it('booleanOption: the fallback when left out, true and false as given, anything else refused by name', () => {
    expect(booleanOption('dryRun', undefined, true)).toBe(true);
    expect(booleanOption('dryRun', false, true)).toBe(false);
    expect(booleanOption('dryRun', true, false)).toBe(true);
    for (const bad of ['false', 'true', 0, 1, null]) {
      expect(() => booleanOption('dryRun', bad, false)).toThrow(ValidationError);
      expect(() => booleanOption('dryRun', bad, false)).toThrow(refusal('dryRun', bad, 'must be true or false'));
    }
  });

  it('signalOption: undefined or an AbortSignal; its controller is refused with a hint', () => {
    const controller = new AbortController();
    expect(signalOption(undefined)).toBeUndefined();
    expect(signalOption(controller.signal)).toBe(controller.signal);
    expect(() => signalOption(controller)).toThrow(/pass the controller's \.signal, not the controller/);
    expect(() => signalOption(null)).toThrow(refusal('signal', null, 'must be an AbortSignal'));
  });
});

describe('reconcile', () => {
  it("apply: dryRun 'false' is refused rather than taken for a dry run, and nothing is read or sent", async () => {
    const { kernel, ipvs } = await setup();
    const desired = { services: [{ fwmark: 5 }] };
    await expect(apply(ipvs, desired, { dryRun: 'false' } as never)).rejects.toThrow(refusal('dryRun', 'false', 'must be true or false'));
    await expect(ipvs.apply(desired, { stopOnError: 'no' } as never)).rejects.toThrow(refusal('stopOnError', 'no', 'must be true or false'));
    await expect(ipvs.apply(desired, { dryRun: null } as never)).rejects.toThrow(refusal('dryRun', null, 'must be true or false'));
    expect(kernel.requests).toEqual([]);
    expect((await ipvs.apply(desired, { dryRun: true })).dryRun).toBe(true);
    expect(kernel.state().services).toHaveLength(1);
  });

  it('plan, apply and planAgainst: now must be a finite number', async () => {
    const { kernel, ipvs } = await setup();
    const message = 'must be a finite number of milliseconds since the epoch';
    await expect(plan(ipvs, { services: [] }, { now: 'abc', drain: 30 } as never)).rejects.toThrow(refusal('now', 'abc', message));
    await expect(ipvs.apply({ services: [] }, { now: Number.NaN, prune: true, drain: 30 })).rejects.toThrow(refusal('now', Number.NaN, message));
    expect(() => planAgainst(new Map(), new Map(), { now: Infinity })).toThrow(refusal('now', Infinity, message));
    expect(kernel.requests).toEqual([]);
    expect(kernel.state().services).toHaveLength(1);
    expect((await plan(ipvs, { services: [] }, { now: 0 })).inSync).toBe(true);
  });

  it("describePlan and describeApplyResult: a now that is not a number is refused, not printed as 'draining for NaN s'", async () => {
    const { kernel, ipvs } = await setup();
    await ipvs.addDestination(WEB, { address: '10.0.1.1' });
    kernel.setStats({ ...WEB, destination: '10.0.1.1' }, { activeConns: 3 });
    const result = await ipvs.apply({ services: [{ ...WEB, destinations: [] }] }, { drain: 30 });
    expect(result.plan.draining).toHaveLength(1);
    expect(() => describeApplyResult(result, 'x' as never)).toThrow(refusal('now', 'x', 'must be a finite number of milliseconds since the epoch'));
    expect(() => describePlan(result.plan, Number.NaN)).toThrow(refusal('now', Number.NaN, 'must be a finite number of milliseconds since the epoch'));
    expect(describePlan(result.plan, Date.now() + 20_000)).toMatch(/draining for 2\d s/);
  });

  it('applyPlan: a bad signal or stopOnError throws before anything is sent, rather than failing every step', async () => {
    const { kernel, ipvs } = await setup();
    const thePlan = await plan(ipvs, { services: [{ fwmark: 8 }, { fwmark: 9 }] });
    kernel.requests.length = 0;
    await expect(applyPlan(ipvs, thePlan, { signal: 'x' } as never)).rejects.toThrow(refusal('signal', 'x', 'must be an AbortSignal'));
    await expect(applyPlan(ipvs, thePlan, { stopOnError: 1 } as never)).rejects.toThrow(refusal('stopOnError', 1, 'must be true or false'));
    expect(kernel.requests).toEqual([]);
    expect((await applyPlan(ipvs, thePlan, { stopOnError: true })).ok).toBe(true);
  });

  it('plan, apply and exportState refuse a signal that is not an AbortSignal, also from a client without checks of its own', async () => {
    const { kernel, ipvs } = await setup();
    // A ReconcileClient of the caller's (a wrapper, a test double) may not look at the signal itself.
    const lenient = {
      iterateServices: () => ipvs.iterateServices(),
      destinations: (key: typeof WEB) => ipvs.destinations(key),
      execute: ipvs.execute.bind(ipvs),
    };
    const controller = new AbortController();
    await expect(plan(lenient as never, { services: [] }, { signal: controller } as never)).rejects.toThrow(/not the controller/);
    await expect(apply(lenient as never, { services: [] }, { signal: null } as never)).rejects.toThrow(refusal('signal', null, 'must be an AbortSignal'));
    await expect(exportState(lenient as never, { signal: 'x' } as never)).rejects.toThrow(refusal('signal', 'x', 'must be an AbortSignal'));
    expect(kernel.requests).toEqual([]);
  });
});

describe('the client', () => {
  it("execute: stopOnError 'no' is refused rather than taken for true, and nothing is sent", async () => {
    const { kernel, ipvs } = await setup();
    const ops = [{ op: 'add-service', service: WEB }, { op: 'add-service', service: { fwmark: 6 } }] as const;
    await expect(ipvs.execute(ops, { stopOnError: 'no' } as never)).rejects.toThrow(refusal('stopOnError', 'no', 'must be true or false'));
    expect(kernel.requests).toEqual([]);
    const results = await ipvs.execute(ops, { stopOnError: false, window: 1 });
    expect(results.map((r) => 'ok' in r && r.ok)).toEqual([false, true]);
  });
});

describe('the health checker', () => {
  const config = { services: [{ ...WEB, destinations: [{ address: '10.0.1.1' }], check: { type: 'custom' as const, run: () => true } }] };

  it("stop({ removeServices: 'false' }) is refused and removes nothing", async () => {
    const { kernel, ipvs } = await setup();
    const checker = new HealthChecker({ ipvs, config, resyncIntervalMs: 0 });
    await checker.start();
    await expect(checker.stop({ removeServices: 'false' } as never)).rejects.toThrow(refusal('removeServices', 'false', 'must be true or false'));
    await checker.stop();
    expect(kernel.state().services.map((s) => s.key)).toEqual(['tcp 10.0.0.1:80']);
  });

  it('the constructor refuses a manageServices, random or logger of the wrong kind', async () => {
    const { ipvs } = await setup();
    expect(() => new HealthChecker({ ipvs, config, manageServices: 'false' } as never)).toThrow(refusal('manageServices', 'false', 'must be true or false'));
    expect(() => new HealthChecker({ ipvs, config, random: 0.5 } as never)).toThrow(refusal('random', 0.5, /^must be a function/));
    expect(() => new HealthChecker({ ipvs, config, logger: true } as never)).toThrow(refusal('logger', true, /info is not a function$/));
    expect(() => new HealthChecker({ ipvs, config, logger: { info() {}, warn() {} } } as never)).toThrow(/error is not a function$/);
    expect(() => new HealthChecker({ ipvs, config, logger: { ...console, debug: 1 } } as never)).toThrow(/must have a debug method, or none/);
    expect(() => new HealthChecker({ ipvs, config, logger: console, manageServices: false, random: Math.random })).not.toThrow();
  });
});

describe('the rules format', () => {
  it("formatRules and iterateRules: numeric and noSort take true or false, chunkSize a positive integer", async () => {
    const { ipvs } = await setup();
    expect(() => formatRules([], { numeric: 'no' } as never)).toThrow(refusal('numeric', 'no', 'must be true or false'));
    const drain = async (options: object): Promise<string> => {
      let text = '';
      for await (const chunk of iterateRules(ipvs, options as never)) text += chunk;
      return text;
    };
    await expect(drain({ noSort: 'no' })).rejects.toThrow(refusal('noSort', 'no', 'must be true or false'));
    await expect(drain({ numeric: 1 })).rejects.toThrow(refusal('numeric', 1, 'must be true or false'));
    await expect(drain({ chunkSize: 'x' })).rejects.toThrow(refusal('chunkSize', 'x', 'must be an integer number of characters, 1 or more'));
    await expect(drain({ chunkSize: 0 })).rejects.toThrow(refusal('chunkSize', 0, 'must be an integer number of characters, 1 or more'));
    expect(await drain({ numeric: true, noSort: true, chunkSize: 1 })).toBe('-A -t 10.0.0.1:80 -s wlc\n');
  });
});

describe("the rules format's services, lookups and hosts", () => {
  const NAMED = '-A -t web:http -s rr\n';
  const services = parseServicesFile('http 80/tcp\n');

  it('parseRules and prepareRules: services must be a ServiceNames and lookupHost a function, refused by name', () => {
    const message = 'must be a ServiceNames (portOf and nameOf), such as parseServicesFile(text) or systemServiceNames()';
    expect(() => parseRules('-A -t 10.0.0.1:http\n', { services: new Map() } as never)).toThrow(refusal('services', new Map(), message));
    expect(() => prepareRules('', { services: 5 } as never)).toThrow(refusal('services', 5, message));
    expect(() => parseRules(NAMED, { services, lookupHost: { web: '10.0.0.1' } } as never))
      .toThrow(refusal('lookupHost', { web: '10.0.0.1' }, 'must be a function from a host name to its IPv4 address (or undefined)'));
    expect(parseRules(NAMED, { services, lookupHost: () => '10.0.0.1' })).toMatchObject([{ service: { address: '10.0.0.1', port: 80 } }]);
  });

  it('parseRulesResolving and prepareRulesResolving: the lookup must be a function', async () => {
    const reason = 'must be a function from a host name to a promise of its IPv4 address (or undefined)';
    await expect(parseRulesResolving(NAMED, { web: '10.0.0.1' } as never, { services })).rejects.toThrow(refusal('lookup', { web: '10.0.0.1' }, reason));
    await expect(prepareRulesResolving(NAMED, undefined as never, { services })).rejects.toThrow(refusal('lookup', undefined, reason));
    expect(await parseRulesResolving(NAMED, async () => '10.0.0.1', { services })).toMatchObject([{ service: { address: '10.0.0.1' } }]);
  });

  it('staticResolver: hosts an object of names (a Map, which has no entries to read, is refused), services a ServiceNames', async () => {
    expect(() => staticResolver(new Map([['web', '10.0.0.1']]) as never)).toThrow(refusal('hosts', new Map([['web', '10.0.0.1']]), /Object\.fromEntries\(map\)$/));
    expect(() => staticResolver({ web: 10 } as never)).toThrow(refusal('hosts.web', 10, 'must be an address string'));
    expect(() => staticResolver({}, {} as never)).toThrow(refusal('services', {}, /^must be a ServiceNames/));
    const names = await resolveEndpointNames(['10.0.0.1'], staticResolver({ web: '10.0.0.1' }, services));
    expect(names.hostName?.('10.0.0.1')).toBe('web');
  });
});

describe('the fake kernel', () => {
  it("unloadIpvs({ autoload: 'no' }) is refused and leaves ip_vs loaded", async () => {
    const { kernel, ipvs } = await setup();
    expect(() => kernel.unloadIpvs({ autoload: 'no' } as never)).toThrow(refusal('UnloadIpvsOptions.autoload', 'no', 'must be true or false'));
    expect(await ipvs.hasService(WEB)).toBe(true);
  });
});
