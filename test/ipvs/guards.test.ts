// The name guards of read-back values: true exactly for the names of each list, false for numbers, other
// strings (an out-of-tree scheduler) and undefined (a fwmark service's protocol, a destination without tunnel).
import { describe, expect, it } from 'vitest';
import {
  FORWARDING_INPUTS, FORWARDING_METHODS, PERSISTENCE_ENGINES, PROTOCOLS, SCHEDULER_NAMES, TUNNEL_TYPES,
  isForwarding, isForwardingInput, isPersistenceEngine, isProtocol, isScheduler, isTunnelType,
} from '../../src/index.js';
import { FakeKernel } from '../../src/testing/index.js';
import { Ipvs } from '../../src/index.js';
import { addForeignServices, addRawDestinations } from '../helpers/foreign-service.js';

const cases = [
  ['isScheduler', isScheduler, SCHEDULER_NAMES],
  ['isPersistenceEngine', isPersistenceEngine, PERSISTENCE_ENGINES],
  ['isProtocol', isProtocol, PROTOCOLS],
  ['isForwarding', isForwarding, FORWARDING_METHODS],
  ['isForwardingInput', isForwardingInput, FORWARDING_INPUTS],
  ['isTunnelType', isTunnelType, TUNNEL_TYPES],
] as const;

describe.each(cases)('%s', (_name, guard, names) => {
  it('takes every name of its list', () => {
    for (const name of names) expect(guard(name)).toBe(true);
  });
  it('refuses numbers, other strings, other types and undefined', () => {
    for (const value of [0, 1, 5, 47, '', 'RR', 'tcp ', 'myscheduler', 'none2', undefined, null, {}, ['rr'], String]) {
      expect(guard(value)).toBe(false);
    }
  });
});

describe('the lists', () => {
  it('are the names the types have', () => {
    expect(PROTOCOLS).toEqual(['tcp', 'udp', 'sctp']);
    expect(FORWARDING_METHODS).toEqual(['masq', 'route', 'tunnel', 'local', 'bypass']);
    expect(TUNNEL_TYPES).toEqual(['ipip', 'gue', 'gre']);
    expect(FORWARDING_INPUTS).toEqual(['masq', 'route', 'tunnel']);
    expect(isForwardingInput('local')).toBe(false);
    expect(isForwardingInput('bypass')).toBe(false);
  });
});

describe('on what a read gives', () => {
  it('narrows the names and is false for the numbers another tool left', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    try {
      const web = { protocol: 'udp', address: '10.0.0.1', port: 53 } as const;
      await ipvs.addService({ ...web, scheduler: 'sh' });
      await ipvs.addDestination(web, { address: '10.0.1.1', forwarding: 'tunnel', tunnel: { type: 'gre' } });
      await addRawDestinations(kernel.transport(), { protocol: 17, address: web.address, port: web.port }, [
        { address: '10.0.1.5', fwd: 5 }, { address: '10.0.1.3', fwd: 2, tunnel: { type: 3 } },
      ]);
      await addForeignServices(kernel.transport(), [{ protocol: 47, address: '10.0.0.2', port: 0 }]);
      await ipvs.addService({ fwmark: 7, scheduler: 'rr' });
      const services = await ipvs.services();
      const seen = services.map((s) => [s.protocol ?? s.fwmark, isProtocol(s.protocol), isScheduler(s.scheduler)]);
      expect(seen).toHaveLength(3);
      expect(seen).toEqual(expect.arrayContaining([[47, false, true], ['udp', true, true], [7, false, true]]));
      const byAddress = Object.fromEntries((await ipvs.destinations(web)).map((d) => [d.address, [isForwarding(d.forwarding), isTunnelType(d.tunnel?.type)]]));
      expect(byAddress).toEqual({ '10.0.1.1': [true, true], '10.0.1.5': [false, false], '10.0.1.3': [true, false] });
    } finally {
      await ipvs.close();
    }
  });
});
