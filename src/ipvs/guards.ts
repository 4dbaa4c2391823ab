// Type guards for names read back from the kernel: a Service's scheduler and engine are strings, a
// protocol, forwarding method or tunnel type may be a number (a value another tool set that has no
// name). Each checks against the same list the type is made of, so the two cannot drift apart.

import {
  FORWARDING_INPUTS, FORWARDING_METHODS, PERSISTENCE_ENGINES, PROTOCOLS, SCHEDULER_NAMES, TUNNEL_TYPES,
  type Forwarding, type ForwardingInput, type PersistenceEngine, type Protocol, type Scheduler, type TunnelType,
} from './types.js';

function isOneOf<T extends string>(names: readonly T[], value: unknown): value is T {
  return (names as readonly unknown[]).includes(value);
}

/** A scheduler name this library takes (SCHEDULER_NAMES), e.g. a read-back `service.scheduler`. */
export function isScheduler(value: unknown): value is Scheduler {
  return isOneOf(SCHEDULER_NAMES, value);
}

/** A persistence engine this library takes (PERSISTENCE_ENGINES), e.g. a read-back `service.persistenceEngine`. */
export function isPersistenceEngine(value: unknown): value is PersistenceEngine {
  return isOneOf(PERSISTENCE_ENGINES, value);
}

/** 'tcp', 'udp' or 'sctp' (PROTOCOLS): false for a read-back protocol number and for a fwmark service's undefined. */
export function isProtocol(value: unknown): value is Protocol {
  return isOneOf(PROTOCOLS, value);
}

/**
 * A named forwarding method (FORWARDING_METHODS), 'local' and 'bypass' included: false for a read-back number.
 * Only 'masq', 'route' and 'tunnel' can be sent back (ForwardingInput).
 */
export function isForwarding(value: unknown): value is Forwarding {
  return isOneOf(FORWARDING_METHODS, value);
}

/** 'masq', 'route' or 'tunnel' (FORWARDING_INPUTS): a read-back method a destination spec can send back as it is. */
export function isForwardingInput(value: unknown): value is ForwardingInput {
  return isOneOf(FORWARDING_INPUTS, value);
}

/** A named tunnel type (TUNNEL_TYPES): false for a read-back number past 'gre'. */
export function isTunnelType(value: unknown): value is TunnelType {
  return isOneOf(TUNNEL_TYPES, value);
}
