// Compiled by the project's typecheck (tsconfig.json includes test/): a service's protocol is a name or an IP
// protocol number (a service another tool made, which Linux keeps but never balances), and a Service read
// back, whatever its protocol, is still a ServiceKey that callers pass back.
import type { AddressServiceKey, Ipvs, Operation, Protocol, Service, ServiceKey, ServiceSpec } from '../../src/index.js';
import type { FakeStatsTarget } from '../../src/testing/index.js';

export const gre: ServiceKey = { protocol: 47, address: '10.9.9.9', port: 80 };
export const tcpByNumber: AddressServiceKey = { protocol: 6, address: '10.9.9.9', port: 80 };
export const spec: ServiceSpec = { protocol: 50, address: '10.9.9.9', port: 0, scheduler: 'rr' };
export const op: Operation = { op: 'delete-service', service: { protocol: 47, address: '10.9.9.9', port: 80 } };
// @ts-expect-error a protocol name is one of the three Linux balances
export const icmp: ServiceKey = { protocol: 'icmp', address: '10.9.9.9', port: 80 };
// @ts-expect-error Protocol itself stays the three names
export const notAName: Protocol = 47;

/** Every service read back names itself, numbers included. */
export async function readAndRemove(ipvs: Ipvs): Promise<void> {
  for (const s of await ipvs.services()) {
    const key: ServiceKey = s;
    const protocol: Protocol | number | undefined = s.protocol;
    if (typeof protocol === 'number') await ipvs.deleteService(key);
  }
}

export const asKey = (s: Service): ServiceKey => s;
export const asTarget = (s: Service): FakeStatsTarget => s;
