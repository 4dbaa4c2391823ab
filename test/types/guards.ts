// Compiled by the project's typecheck and, under exactOptionalPropertyTypes, by test/types/exact-optional.test.ts:
// the guards narrow what a read gives (a scheduler string, a protocol or forwarding number) to the named types.
import {
  isForwarding, isForwardingInput, isPersistenceEngine, isProtocol, isScheduler, isTunnelType,
  type Destination, type DestinationSpec, type Forwarding, type PersistenceEngine, type Protocol, type Scheduler, type Service, type ServiceSpec, type TunnelType,
} from '../../src/index.js';

export function specOf(s: Service): ServiceSpec | undefined {
  if (!isScheduler(s.scheduler)) return undefined;
  const scheduler: Scheduler = s.scheduler;
  const engine: PersistenceEngine | undefined = isPersistenceEngine(s.persistenceEngine) ? s.persistenceEngine : undefined;
  if (s.fwmark !== undefined) return { fwmark: s.fwmark, family: s.family, scheduler, ...(engine ? { persistenceEngine: engine } : {}) };
  if (!isProtocol(s.protocol)) return undefined;
  const protocol: Protocol = s.protocol;
  return { protocol, address: s.address, port: s.port, scheduler };
}

export function named(d: Destination): [Forwarding, TunnelType | undefined] | undefined {
  if (!isForwarding(d.forwarding)) return undefined;
  const type = d.tunnel?.type;
  return [d.forwarding, isTunnelType(type) ? type : undefined];
}

export function forwardingOf(d: Destination): DestinationSpec['forwarding'] {
  return isForwardingInput(d.forwarding) ? d.forwarding : undefined;
}

// @ts-expect-error 'local' and 'bypass' are read-back methods, not inputs
export const unnarrowed = (d: Destination): DestinationSpec['forwarding'] => (isForwarding(d.forwarding) ? d.forwarding : undefined);

// @ts-expect-error without the guard, a read-back scheduler is a string
export const unguarded = (s: Service): Scheduler => s.scheduler;
