// The desired state: plain, JSON-serialisable data naming every service that should exist, with its
// options and (optionally) its complete list of destinations. This file owns the shape, its strict
// reading from untrusted JSON (unknown fields are refused, so a typo such as "wieght" cannot silently
// fall back to a default), and its reading from ipvsadm rules text, which is interpreted as the table
// those rules would build on an empty kernel. Values (addresses, ranges, defaults) are checked later by
// the same validators the client uses, when the state is normalised for planning.

import { ValidationError } from '../ipvs/errors.js';
import type { DestinationSpec, ServiceSpec } from '../ipvs/types.js';
import { validateDestinationKey, validateServiceKey } from '../ipvs/validate.js';
import { RulesSyntaxError } from '../rules/errors.js';
import type { RuleOperation } from '../rules/operations.js';
import { parseRules, type ParseRulesOptions } from '../rules/parse.js';

/**
 * One service of the desired state. `destinations`, when given, is the complete list: a destination the
 * kernel holds that is not listed is removed. Leave `destinations` out to manage the service's options
 * only and leave its destinations to someone else (a health checker, say).
 */
export type DesiredService = ServiceSpec & {
  destinations?: DestinationSpec[];
};

/** Everything that should exist. Services the kernel holds that are not listed are left alone unless pruning. */
export interface DesiredState {
  services: DesiredService[];
}

const SERVICE_FIELDS = new Set([
  'protocol', 'address', 'port', 'fwmark', 'family', 'scheduler', 'persistence', 'flags', 'persistenceEngine', 'destinations',
]);
const DESTINATION_FIELDS = new Set(['address', 'port', 'forwarding', 'weight', 'upperThreshold', 'lowerThreshold', 'tunnel']);
const PERSISTENCE_FIELDS = new Set(['timeout', 'netmask']);
const TUNNEL_FIELDS = new Set(['type', 'port', 'checksum']);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyKnown(where: string, value: Record<string, unknown>, known: ReadonlySet<string>): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw new ValidationError(where === '' ? key : `${where}.${key}`, value[key], `unknown field; expected one of ${[...known].join(', ')}`);
  }
}

/**
 * Check the shape of a desired state read from JSON: the structure and field names, not the values
 * (those are validated when planning). Returns the same data, typed. Throws ValidationError naming the
 * path, e.g. `services[3].destinations[0].wieght`.
 */
export function checkDesiredState(value: unknown): DesiredState {
  if (!isRecord(value)) throw new ValidationError('state', value, 'must be an object { "services": [...] }');
  onlyKnown('', value, new Set(['services']));
  const services = value.services;
  if (!Array.isArray(services)) throw new ValidationError('services', services, 'must be an array of services');
  services.forEach((svc: unknown, i) => {
    const at = `services[${i}]`;
    if (!isRecord(svc)) throw new ValidationError(at, svc, 'must be an object');
    onlyKnown(at, svc, SERVICE_FIELDS);
    if (isRecord(svc.persistence)) onlyKnown(`${at}.persistence`, svc.persistence, PERSISTENCE_FIELDS);
    const dests = svc.destinations;
    if (dests === undefined) return;
    if (!Array.isArray(dests)) throw new ValidationError(`${at}.destinations`, dests, 'must be an array of destinations');
    dests.forEach((d: unknown, j) => {
      const dat = `${at}.destinations[${j}]`;
      if (!isRecord(d)) throw new ValidationError(dat, d, 'must be an object');
      onlyKnown(dat, d, DESTINATION_FIELDS);
      if (isRecord(d.tunnel)) onlyKnown(`${dat}.tunnel`, d.tunnel, TUNNEL_FIELDS);
    });
  });
  return value as unknown as DesiredState;
}

/** Parse JSON text holding a desired state (see checkDesiredState). */
export function parseDesiredStateJson(text: string): DesiredState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ValidationError('state', undefined, `not valid JSON: ${(err as Error).message}`);
  }
  return checkDesiredState(value);
}

/**
 * The desired state a rules text stands for: the table its lines would build on an empty kernel. A save
 * file (`ipvsadm -S` output: -A and -a lines) reads as exactly that table. Edits and deletions (-E, -e,
 * -D, -d, -C) are followed in order; commands that are not about the table (--set, -Z, daemons) and
 * lines that refer to a service or destination that would not exist at that point are refused with the
 * line number. Every service read from rules text manages its destinations (the list may be empty).
 */
export function desiredStateFromRuleOperations(ops: readonly RuleOperation[]): DesiredState {
  const services = new Map<string, { spec: ServiceSpec; dests: Map<string, DestinationSpec> }>();
  const serviceId = (op: RuleOperation & { service: object }): string => {
    try {
      return validateServiceKey(op.service).text;
    } catch (err) {
      throw new RulesSyntaxError(op.line, (err as Error).message, { cause: err });
    }
  };
  const existing = (op: RuleOperation & { service: object }): { spec: ServiceSpec; dests: Map<string, DestinationSpec> } => {
    const id = serviceId(op);
    const entry = services.get(id);
    if (!entry) throw new RulesSyntaxError(op.line, `service ${id} is not defined by an earlier line`);
    return entry;
  };
  const destId = (op: RuleOperation & { service: object; destination: { address: string; port?: number } }): string => {
    try {
      return validateDestinationKey(validateServiceKey(op.service), op.destination).text;
    } catch (err) {
      throw new RulesSyntaxError(op.line, (err as Error).message, { cause: err });
    }
  };
  for (const op of ops) {
    switch (op.op) {
      case 'addService': {
        const id = serviceId(op);
        if (services.has(id)) throw new RulesSyntaxError(op.line, `service ${id} is added twice`);
        services.set(id, { spec: op.service, dests: new Map() });
        break;
      }
      case 'updateService':
        existing(op).spec = op.service;
        break;
      case 'deleteService':
        existing(op);
        services.delete(serviceId(op));
        break;
      case 'addDestination': {
        const entry = existing(op);
        const id = destId(op);
        if (entry.dests.has(id)) throw new RulesSyntaxError(op.line, `destination ${id} of service ${serviceId(op)} is added twice`);
        entry.dests.set(id, op.destination);
        break;
      }
      case 'updateDestination': {
        const entry = existing(op);
        const id = destId(op);
        if (!entry.dests.has(id)) throw new RulesSyntaxError(op.line, `destination ${id} of service ${serviceId(op)} is not defined by an earlier line`);
        entry.dests.set(id, op.destination);
        break;
      }
      case 'deleteDestination': {
        const entry = existing(op);
        const id = destId(op);
        if (!entry.dests.delete(id)) throw new RulesSyntaxError(op.line, `destination ${id} of service ${serviceId(op)} is not defined by an earlier line`);
        break;
      }
      case 'flush':
        services.clear();
        break;
      default:
        throw new RulesSyntaxError(op.line, `${op.op} does not describe the table; a desired state holds services and destinations only`);
    }
  }
  return {
    services: [...services.values()].map(({ spec, dests }) => ({ ...spec, destinations: [...dests.values()] })),
  };
}

/** The desired state of an ipvsadm rules text (see desiredStateFromRuleOperations). */
export function desiredStateFromRules(text: string, options: ParseRulesOptions = {}): DesiredState {
  return desiredStateFromRuleOperations(parseRules(text, options));
}

export type StateFormat = 'json' | 'rules';

/**
 * Which format a state file is in: JSON when its first character that is not blank (and not inside a
 * leading `#` comment line) is `{`; ipvsadm rules text otherwise (rules lines start with an option or
 * with the word ipvsadm).
 */
export function detectStateFormat(text: string): StateFormat {
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    return t.startsWith('{') ? 'json' : 'rules';
  }
  return 'rules';
}

/** Read a desired state from text in either format (auto-detected, or as told). */
export function parseDesiredState(text: string, options: ParseRulesOptions & { format?: StateFormat } = {}): DesiredState {
  const format = options.format ?? detectStateFormat(text);
  return format === 'json' ? parseDesiredStateJson(text) : desiredStateFromRules(text, options);
}
