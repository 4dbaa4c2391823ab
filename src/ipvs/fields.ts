// The fields of each input spec, one list per spec, shared by the client's validators (validate.ts), the
// desired state's shape check (reconcile/state.ts) and health configs (health/config.ts). A field outside
// its spec's list is refused by path, with the closest known field as a suggestion ("destination.wieght:
// unknown field (did you mean weight?)"), rather than ignored: an update replaces every option, so a
// misspelt one would silently take its default. The objects the client reads back carry more than their
// spec (counters, family, raw flags); those extras are accepted by the client's validators too, so that a
// Service or Destination read back stays a valid spec. The lists are typed against the spec types below:
// a field added to a type without its list fails to compile.

import { ValidationError } from './errors.js';
import { closestKey } from './option-keys.js';
import type {
  DaemonSpec,
  Daemon,
  Destination,
  DestinationSpec,
  PersistenceSpec,
  Service,
  ServiceSpec,
  Timeouts,
  TunnelSpec,
} from './types.js';

/** Every key of every member of a union (keyof a union gives only the common ones). */
type KeysOf<T> = T extends unknown ? keyof T : never;

/** `L` when it names every key of T, never otherwise (so that assigning the list fails to compile). */
type Complete<T, L extends readonly unknown[]> = [Exclude<KeysOf<T>, L[number]>] extends [never] ? L : never;

const SERVICE = ['protocol', 'address', 'port', 'fwmark', 'family', 'scheduler', 'persistence', 'flags', 'persistenceEngine'] as const satisfies readonly KeysOf<ServiceSpec>[];
const PERSISTENCE = ['timeout', 'netmask'] as const satisfies readonly (keyof PersistenceSpec)[];
const DESTINATION = ['address', 'port', 'forwarding', 'weight', 'upperThreshold', 'lowerThreshold', 'tunnel'] as const satisfies readonly (keyof DestinationSpec)[];
const TUNNEL = ['type', 'port', 'checksum'] as const satisfies readonly (keyof TunnelSpec)[];
const TIMEOUTS = ['tcp', 'tcpFin', 'udp'] as const satisfies readonly (keyof Timeouts)[];
const DAEMON = ['state', 'interface', 'syncId', 'syncMaxLen', 'mcastGroup', 'mcastPort', 'mcastTtl'] as const satisfies readonly (keyof DaemonSpec)[];

/** What a Service, Destination or Daemon read back has besides its spec's fields (src/ipvs/service.ts, destination.ts, daemon.ts). */
const SERVICE_READ = ['rawFlags', 'stats', 'unknownAttributes'] as const;
const DESTINATION_READ = ['family', 'activeConns', 'inactiveConns', 'persistentConns', 'stats', 'unknownAttributes'] as const;
const DAEMON_READ = ['unknownAttributes'] as const;

export const SERVICE_FIELDS: Complete<ServiceSpec, typeof SERVICE> = SERVICE;
export const PERSISTENCE_FIELDS: Complete<PersistenceSpec, typeof PERSISTENCE> = PERSISTENCE;
export const DESTINATION_FIELDS: Complete<DestinationSpec, typeof DESTINATION> = DESTINATION;
export const TUNNEL_FIELDS: Complete<TunnelSpec, typeof TUNNEL> = TUNNEL;
export const TIMEOUTS_FIELDS: Complete<Timeouts, typeof TIMEOUTS> = TIMEOUTS;
export const DAEMON_FIELDS: Complete<DaemonSpec, typeof DAEMON> = DAEMON;
const SERVICE_READ_FIELDS: Complete<Service, readonly [...typeof SERVICE, ...typeof SERVICE_READ]> = [...SERVICE, ...SERVICE_READ];
const DESTINATION_READ_FIELDS: Complete<Destination, readonly [...typeof DESTINATION, ...typeof DESTINATION_READ]> = [...DESTINATION, ...DESTINATION_READ];
const DAEMON_READ_FIELDS: Complete<Daemon, readonly [...typeof DAEMON, ...typeof DAEMON_READ]> = [...DAEMON, ...DAEMON_READ];

/** The fields a spec may have, and the list its refusal names (the spec's own: the read-back extras are not asked for). */
export class Fields {
  readonly names: ReadonlySet<string>;
  constructor(
    readonly expected: readonly string[],
    accepted: readonly string[] = expected,
  ) {
    this.names = new Set(accepted);
  }
}

/** What the client's methods take: a spec, or the object read back. */
export const SERVICE_INPUT = new Fields(SERVICE_FIELDS, SERVICE_READ_FIELDS);
export const PERSISTENCE_INPUT = new Fields(PERSISTENCE_FIELDS);
export const DESTINATION_INPUT = new Fields(DESTINATION_FIELDS, DESTINATION_READ_FIELDS);
export const TUNNEL_INPUT = new Fields(TUNNEL_FIELDS);
export const TIMEOUTS_INPUT = new Fields(TIMEOUTS_FIELDS);
export const DAEMON_INPUT = new Fields(DAEMON_FIELDS, DAEMON_READ_FIELDS);

/**
 * Refuse an own enumerable field of `value` not in `fields`, naming it as `${path}.${key}` (the key alone
 * when `path` is '').
 */
export function onlyKnownFields(value: object, fields: Fields, path: string): void {
  const key = unknownField(value, fields);
  if (key !== undefined) throw unknownFieldError(path === '' ? key : `${path}.${key}`, key, (value as Record<string, unknown>)[key], fields);
}

/**
 * The first own enumerable field of `value` not in `fields`, if any. A for-in loop: no array per object,
 * which counts for a restore's tens of thousands of destinations; inherited keys are passed over. For a
 * caller that spells the path only when refused (the desired state's shape check); others use onlyKnownFields.
 */
export function unknownField(value: object, fields: Fields): string | undefined {
  for (const key in value) {
    if (!fields.names.has(key) && Object.hasOwn(value, key)) return key;
  }
  return undefined;
}

/** The refusal of the unknown field `key` (at path `field`, holding `value`), suggesting the closest field the spec has. */
export function unknownFieldError(field: string, key: string, value: unknown, fields: Fields): ValidationError {
  const near = closestKey(key, fields.expected);
  const hint = near === undefined ? '' : ` (did you mean ${near}?)`;
  return new ValidationError(field, value, `unknown field${hint}; expected one of ${fields.expected.join(', ')}`);
}
