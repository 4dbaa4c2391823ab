// The client's options objects refuse keys they do not have, before anything is sent: from JavaScript a
// misspelt option would otherwise be ignored, and for some the difference is the table (`dryrun` for
// `dryRun` would apply for real, `purne` for `prune` would not prune). The refusal names the key and, when
// one is close, the known key meant.

import { describe, expect, it } from 'vitest';
import { Ipvs, type BoundService } from '../../src/client.js';
import { FakeKernel } from '../../src/testing/index.js';
import { refusedAsync as refused } from '../helpers/refused.js';

const WEB = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
const OTHER = { protocol: 'tcp', address: '10.0.0.2', port: 80 } as const;

async function setup(): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel();
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  await ipvs.addService({ ...WEB, scheduler: 'rr' });
  await ipvs.addDestination(WEB, { address: '10.0.1.1', weight: 3 });
  await ipvs.addService(OTHER);
  return { kernel, ipvs };
}

const drain = async (it: AsyncIterable<unknown>): Promise<void> => {
  for await (const x of it) void x;
};

/** Each call with a misspelt key, the key, and the suggestion the refusal must make. */
const TYPOS: [string, (ipvs: Ipvs, web: BoundService) => Promise<unknown>, string, string][] = [
  ['info', (ipvs) => ipvs.info({ timeoutMS: 100 } as never), 'timeoutMS', 'timeoutMs'],
  ['timeouts', (ipvs) => ipvs.timeouts({ signl: undefined } as never), 'signl', 'signal'],
  ['setTimeouts', (ipvs) => ipvs.setTimeouts({ tcp: 900 }, { timeout: 100 } as never), 'timeout', 'timeoutMs'],
  ['addService', (ipvs) => ipvs.addService({ ...WEB, port: 81 }, { timeoutM: 100 } as never), 'timeoutM', 'timeoutMs'],
  ['updateService', (ipvs) => ipvs.updateService({ ...WEB, scheduler: 'wlc' }, { Signal: undefined } as never), 'Signal', 'signal'],
  ['deleteService', (ipvs) => ipvs.deleteService(WEB, { timeoutms: 100 } as never), 'timeoutms', 'timeoutMs'],
  ['service', (ipvs) => ipvs.service(WEB, { timeoutMS: 100 } as never), 'timeoutMS', 'timeoutMs'],
  ['hasService', (ipvs) => ipvs.hasService(WEB, { timeoutMS: 100 } as never), 'timeoutMS', 'timeoutMs'],
  ['services', (ipvs) => ipvs.services({ stat: false } as never), 'stat', 'stats'],
  ['iterateServices', (ipvs) => drain(ipvs.iterateServices({ Stats: false } as never)), 'Stats', 'stats'],
  ['destinations', (ipvs) => ipvs.destinations(WEB, { stat: false } as never), 'stat', 'stats'],
  ['iterateDestinations', (ipvs) => drain(ipvs.iterateDestinations(WEB, { stat: false } as never)), 'stat', 'stats'],
  ['destinationsOfEach', (ipvs) => drain(ipvs.destinationsOfEach([WEB], { runlength: 10 } as never)), 'runlength', 'runLength'],
  ['addDestination', (ipvs) => ipvs.addDestination(WEB, { address: '10.0.1.2' }, { timeoutMS: 100 } as never), 'timeoutMS', 'timeoutMs'],
  ['updateDestination', (ipvs) => ipvs.updateDestination(WEB, { address: '10.0.1.1', weight: 0 }, { timeoutMS: 100 } as never), 'timeoutMS', 'timeoutMs'],
  ['deleteDestination', (ipvs) => ipvs.deleteDestination(WEB, { address: '10.0.1.1' }, { timeoutMS: 100 } as never), 'timeoutMS', 'timeoutMs'],
  ['daemons', (ipvs) => ipvs.daemons({ timeoutMS: 100 } as never), 'timeoutMS', 'timeoutMs'],
  ['startDaemon', (ipvs) => ipvs.startDaemon({ state: 'master', interface: 'eth0' }, { timeoutMS: 100 } as never), 'timeoutMS', 'timeoutMs'],
  ['stopDaemon', (ipvs) => ipvs.stopDaemon('master', { timeoutMS: 100 } as never), 'timeoutMS', 'timeoutMs'],
  ['zero', (ipvs) => ipvs.zero(undefined, { timeoutMS: 100 } as never), 'timeoutMS', 'timeoutMs'],
  ['flush', (ipvs) => ipvs.flush({ timeoutMS: 100 } as never), 'timeoutMS', 'timeoutMs'],
  ['execute', (ipvs) => ipvs.execute([{ op: 'delete-service', service: WEB }], { stopOnErorr: true } as never), 'stopOnErorr', 'stopOnError'],
  ['execute (window)', (ipvs) => ipvs.execute([{ op: 'delete-service', service: WEB }], { windows: 1 } as never), 'windows', 'window'],
  ['a service\'s destinations()', (_ipvs, web) => web.destinations({ stat: false } as never), 'stat', 'stats'],
  ['a service\'s addDestination()', (_ipvs, web) => web.addDestination({ address: '10.0.1.2' }, { timeoutMS: 1 } as never), 'timeoutMS', 'timeoutMs'],
  ['apply (dryRun)', (ipvs) => ipvs.apply({ services: [] }, { prune: true, dryrun: true } as never), 'dryrun', 'dryRun'],
  ['apply (prune)', (ipvs) => ipvs.apply({ services: [{ ...WEB, scheduler: 'wlc' }] }, { purne: true } as never), 'purne', 'prune'],
  ['apply (stopOnError)', (ipvs) => ipvs.apply({ services: [] }, { prune: true, stopOnerror: true } as never), 'stopOnerror', 'stopOnError'],
  ['apply (drain)', (ipvs) => ipvs.apply({ services: [{ ...WEB, destinations: [] }] }, { drain: { timout: 0 } } as never), 'drain.timout', 'timeout'],
  ['plan', (ipvs) => ipvs.plan({ services: [] }, { drian: true } as never), 'drian', 'drain'],
  ['exportState', (ipvs) => ipvs.exportState({ signl: undefined } as never), 'signl', 'signal'],
];

describe('an unknown option key is refused, and nothing is sent', () => {
  it.each(TYPOS)('%s', async (_name, call, field, meant) => {
    const { kernel, ipvs } = await setup();
    const web = await ipvs.service(WEB);
    const table = kernel.state();
    const before = kernel.requests.length;
    const err = await refused(call(ipvs, web));
    expect(err.field).toBe(field);
    expect(err.reason).toMatch(new RegExp(`^unknown option \\(did you mean ${meant}\\?\\); expected one of `));
    expect(kernel.requests.length).toBe(before);
    expect(kernel.state()).toEqual(table);
    await ipvs.close();
  });

  it('a misspelt dryRun does not apply: the table keeps what apply would have pruned', async () => {
    const { kernel, ipvs } = await setup();
    const err = await refused(ipvs.apply({ services: [] }, { prune: true, dryrun: true } as never));
    expect(err.message).toBe('invalid dryrun true: unknown option (did you mean dryRun?); expected one of prune, drain, now, signal, dryRun, stopOnError');
    expect(kernel.state().services.map((s) => s.key)).toEqual(['tcp 10.0.0.1:80', 'tcp 10.0.0.2:80']);
    await ipvs.close();
  });

  it('an option of another call is refused too (stats on a change), and an unknown key set to undefined', async () => {
    const { kernel, ipvs } = await setup();
    const before = kernel.requests.length;
    expect((await refused(ipvs.addService({ ...WEB, port: 82 }, { stats: false } as never))).message).toBe(
      'invalid stats false: unknown option; expected one of timeoutMs, signal',
    );
    expect((await refused(ipvs.flush({ timeoutMS: undefined } as never))).field).toBe('timeoutMS');
    expect(kernel.requests.length).toBe(before);
    expect(kernel.state().services).toHaveLength(2);
    await ipvs.close();
  });

  it('symbol and inherited keys are not options, and known keys set to undefined are fine', async () => {
    const { ipvs } = await setup();
    const inherited = Object.create({ timeoutMS: 5 }) as object;
    expect(await ipvs.services({ stats: false, timeoutMs: undefined, signal: undefined, [Symbol('tag')]: 1 } as never)).toHaveLength(2);
    expect(await ipvs.info(inherited)).toHaveProperty('version');
    await ipvs.close();
  });
});

describe('Ipvs.open', () => {
  it('refuses an unknown key before opening anything', async () => {
    const kernel = new FakeKernel();
    const transport = kernel.transport();
    const err = await refused(Ipvs.open({ transport, recieveBufferSize: 1 << 20 } as never));
    expect(err.message).toBe('invalid recieveBufferSize 1048576: unknown option (did you mean receiveBufferSize?); expected one of netns, transport, timeoutMs, receiveBufferSize');
    expect(kernel.requests).toEqual([]);
    const err2 = await refused(Ipvs.open({ transport, netNs: 'blue' } as never));
    expect(err2.reason).toMatch(/^unknown option \(did you mean netns\?\)/);
  });
});

describe('Ipvs.open() and a given transport', () => {
  it('closes the transport when it refuses the options, as when the family lookup fails: the client owns it from the call on', async () => {
    const kernel = new FakeKernel();
    await refused(Ipvs.open({ transport: kernel.transport(), timeoutMs: -1 }));
    await refused(Ipvs.open({ transport: kernel.transport(), netns: 'blue' }));
    await refused(Ipvs.open({ transport: kernel.transport(), timeout: 5 } as never));
    expect(kernel.openTransports).toBe(0);
    kernel.setFamilyMissing(true);
    await expect(Ipvs.open({ transport: kernel.transport() })).rejects.toMatchObject({ code: 'ENOFAMILY' });
    expect(kernel.openTransports).toBe(0);
  });
});
