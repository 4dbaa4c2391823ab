// Hand-built Service and Destination objects (what the client reports) for format and listing tests.

import type { Destination, Service, Stats } from '../../src/ipvs/types.js';
import type { ServiceWithDestinations } from '../../src/rules/format.js';

export function stats(partial: Partial<Stats> = {}): Stats {
  return {
    conns: 0n,
    inPackets: 0n,
    outPackets: 0n,
    inBytes: 0n,
    outBytes: 0n,
    cps: 0,
    inPps: 0,
    outPps: 0,
    inBps: 0,
    outBps: 0,
    ...partial,
  };
}

type ServiceInput = Partial<Omit<Service, 'stats'>> & { stats?: Partial<Stats> };

export function service(input: ServiceInput): Service {
  const base = {
    family: input.family ?? (input.address?.includes(':') ? 'ipv6' : 'ipv4'),
    scheduler: input.scheduler ?? 'wlc',
    flags: input.flags ?? [],
    rawFlags: input.rawFlags ?? 0x2,
    stats: stats(input.stats),
    ...(input.persistence ? { persistence: input.persistence } : {}),
    ...(input.persistenceEngine ? { persistenceEngine: input.persistenceEngine } : {}),
  };
  if (input.fwmark !== undefined) return { ...base, fwmark: input.fwmark } as Service;
  return { ...base, protocol: input.protocol ?? 'tcp', address: input.address ?? '10.0.0.1', port: input.port ?? 80 } as Service;
}

type DestinationInput = Partial<Omit<Destination, 'stats'>> & { stats?: Partial<Stats> };

export function destination(input: DestinationInput): Destination {
  const d: Destination = {
    address: input.address ?? '192.168.1.2',
    family: input.family ?? (input.address?.includes(':') ? 'ipv6' : 'ipv4'),
    port: input.port ?? 80,
    forwarding: input.forwarding ?? 'route',
    weight: input.weight ?? 1,
    upperThreshold: input.upperThreshold ?? 0,
    lowerThreshold: input.lowerThreshold ?? 0,
    activeConns: input.activeConns ?? 0,
    inactiveConns: input.inactiveConns ?? 0,
    persistentConns: input.persistentConns ?? 0,
    stats: stats(input.stats),
  };
  if (input.tunnel) d.tunnel = input.tunnel;
  return d;
}

export function withDestinations(svc: Service, destinations: Destination[]): ServiceWithDestinations {
  return { ...svc, destinations };
}
