// The desired state: plain, JSON-serialisable data naming every service that should exist, with its
// options and (optionally) its complete list of destinations. This file owns the shape, its strict
// reading from untrusted JSON (unknown fields are refused, so a typo such as "wieght" cannot silently
// fall back to a default), and its reading from ipvsadm rules text, which is interpreted as the table
// those rules would build on an empty kernel. Values (addresses, ranges, defaults) are checked later by
// the same validators the client uses, when the state is normalised for planning.

import { ValidationError } from '../ipvs/errors.js';
import { refuseDuplicateKeys } from './duplicate-keys.js';
import { onlyKnownOptions, optionKeys } from '../ipvs/option-keys.js';
import {
  DESTINATION_FIELDS as DESTINATION_SPEC_FIELDS,
  Fields,
  PERSISTENCE_INPUT,
  SERVICE_FIELDS as SERVICE_SPEC_FIELDS,
  TUNNEL_INPUT,
  unknownField,
  unknownFieldError,
} from '../ipvs/fields.js';
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
  destinations?: readonly DestinationSpec[];
};

/** Everything that should exist. Services the kernel holds that are not listed are left alone unless pruning. */
export interface DesiredState {
  services: readonly DesiredService[];
}

// The client's own field lists (src/ipvs/fields.ts), without the extras of objects read back: a desired state is written, not read.
const STATE_FIELDS = new Fields(['services']);
const SERVICE_FIELDS = new Fields([...SERVICE_SPEC_FIELDS, 'destinations']);
const DESTINATION_FIELDS = new Fields(DESTINATION_SPEC_FIELDS);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The path of services[i] (i >= 0), of its destinations[j] (j >= 0), then `tail`: spelled only for an error. */
function pathOf(i: number, j: number, tail: string): string {
  let at = i < 0 ? '' : `services[${i}]`;
  if (j >= 0) at += `.destinations[${j}]`;
  return tail === '' ? at : at === '' ? tail : `${at}.${tail}`;
}

/**
 * Refuse a field not in `fields` (src/ipvs/fields.ts); the object is at pathOf(i, j, tail). No path text
 * unless refused, which counts when a state holds 20 000 destinations.
 */
function onlyKnown(value: Record<string, unknown>, fields: Fields, i: number, j: number, tail: string): void {
  const key = unknownField(value, fields);
  if (key !== undefined) throw unknownFieldError(pathOf(i, j, tail === '' ? key : `${tail}.${key}`), key, value[key], fields);
}

/**
 * States checkDesiredState has passed and no plan has used yet. A state read by parseDesiredState has
 * just been checked, and walking its 20 000 destinations again when planning cost 0.2 s of a cold
 * reconcile in the sandbox; so the first plan of such a state takes the mark instead of checking again.
 * One use only: a program that keeps one state object and changes it between applies gets every later
 * plan checked. (Values are validated by every plan regardless; only the shape check is skipped.)
 */
const freshlyChecked = new WeakSet<object>();

/** Whether `state` was checked by checkDesiredState and not planned since; clears the mark. */
export function takeFreshlyChecked(state: object): boolean {
  return freshlyChecked.delete(state);
}

/**
 * Check the shape of a desired state read from JSON: the structure and field names, not the values
 * (those are validated when planning). Returns the same data, typed. Throws ValidationError naming the
 * path, e.g. `services[3].destinations[0].wieght`.
 */
export function checkDesiredState(value: unknown): DesiredState {
  const state = checkShape(value);
  freshlyChecked.add(state);
  return state;
}

/** checkDesiredState without the mark: what planning runs on a state it was handed. */
export function checkShape(value: unknown): DesiredState {
  if (!isRecord(value)) throw new ValidationError('state', value, 'must be an object { "services": [...] }');
  onlyKnown(value, STATE_FIELDS, -1, -1, '');
  const services = value.services;
  if (!Array.isArray(services)) throw new ValidationError('services', services, 'must be an array of services');
  // Plain loops and no path text unless refused: this walks every destination of a big state.
  for (let i = 0; i < services.length; i++) {
    const svc: unknown = services[i];
    if (!isRecord(svc)) throw new ValidationError(pathOf(i, -1, ''), svc, 'must be an object');
    onlyKnown(svc, SERVICE_FIELDS, i, -1, '');
    if (isRecord(svc.persistence)) onlyKnown(svc.persistence, PERSISTENCE_INPUT, i, -1, 'persistence');
    const dests = svc.destinations;
    if (dests === undefined) continue;
    if (!Array.isArray(dests)) throw new ValidationError(pathOf(i, -1, 'destinations'), dests, 'must be an array of destinations');
    for (let j = 0; j < dests.length; j++) {
      const d: unknown = dests[j];
      if (!isRecord(d)) throw new ValidationError(pathOf(i, j, ''), d, 'must be an object');
      onlyKnown(d, DESTINATION_FIELDS, i, j, '');
      if (isRecord(d.tunnel)) onlyKnown(d.tunnel, TUNNEL_INPUT, i, j, 'tunnel');
    }
  }
  return value as unknown as DesiredState;
}

/** What a refusal shows of a state text: its first 40 characters. */
function excerpt(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/**
 * Parse JSON text holding a desired state (see checkDesiredState). Leading `#` comment lines are passed
 * over, as detectStateFormat passes over them.
 */
export function parseDesiredStateJson(text: string): DesiredState {
  let value: unknown;
  const json = withoutLeadingComments(text);
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new ValidationError('state', excerpt(text), `not valid JSON: ${(err as Error).message}`);
  }
  refuseDuplicateKeys(json, 'state');
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

/** What String.prototype.trim removes. */
const SPACE = /\s/;

/**
 * Which format a state file is in: JSON when its first character that is not blank (and not inside a
 * leading `#` comment line) is `{`; ipvsadm rules text otherwise (rules lines start with an option or
 * with the word ipvsadm).
 */
export function detectStateFormat(text: string): StateFormat {
  return jsonStart(text) === -1 ? 'rules' : 'json';
}

/** Where the JSON of a state text begins, past blanks and leading `#` comment lines; -1 when it is not JSON. */
function jsonStart(text: string): number {
  // Scanned in place, not split into lines: a pretty-printed state of 20 000 destinations has 200 000.
  let at = 0;
  while (at < text.length) {
    const c = text.charCodeAt(at);
    if (c === 0x7b) return at; // {
    if (c === 0x23) {
      // #: a comment line, passed over whole
      const end = text.indexOf('\n', at);
      if (end === -1) break;
      at = end + 1;
    } else if (SPACE.test(text[at]!)) {
      at++;
    } else {
      return -1;
    }
  }
  return -1;
}

/** JSON text with its leading `#` comment lines blanked (same length, so JSON.parse's positions still hold). */
function withoutLeadingComments(text: string): string {
  const start = jsonStart(text);
  if (start <= 0 || !text.slice(0, start).includes('#')) return text;
  return text.slice(0, start).replace(/[^\n]/g, ' ') + text.slice(start);
}

/**
 * The text of a state file: its bytes decoded as UTF-8, a leading byte-order mark dropped. Reading a file
 * as bytes and decoding them in one go costs less than readFile(path, 'utf8'), notably fs/promises', which
 * decodes in chunks and hands JSON.parse a string it must flatten first (docs/performance.md).
 */
export function stateText(input: string | Uint8Array): string {
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Why `requireRules` refuses a text: what `ipvs apply` says of it too. */
export const NO_RULES_REASON = 'holds no rules and no JSON state (for an empty table, write {"services": []})';

export interface ParseDesiredStateOptions extends ParseRulesOptions {
  /** The text's format; default: detected (detectStateFormat). */
  format?: StateFormat;
  /**
   * Refuse rules text with no rules at all (empty, blank, only comments) with a ValidationError (`state`)
   * instead of reading it as an empty table: such a file is far more often a truncated one, or a failed
   * `ipvsadm -S > file`, than a wish for an empty table, which with `prune` deletes every service. JSON
   * `{"services": []}` still means an empty table. Default false.
   */
  requireRules?: boolean;
}

const PARSE_STATE_KEYS = optionKeys<ParseDesiredStateOptions>('', { services: true, lookupHost: true, format: true, requireRules: true });

/**
 * Read a desired state from text in either format (auto-detected, or as told), or from a file's bytes
 * (decoded as UTF-8; the cheaper way to read a big state file: `parseDesiredState(readFileSync(path))`).
 * A leading byte-order mark is ignored.
 */
export function parseDesiredState(input: string | Uint8Array, options: ParseDesiredStateOptions = {}): DesiredState {
  const { format: given, requireRules, services, lookupHost } = onlyKnownOptions(options, PARSE_STATE_KEYS);
  if (given !== undefined && given !== 'json' && given !== 'rules') throw new ValidationError('format', given, "must be 'json' or 'rules' (or left out: detected)");
  if (requireRules !== undefined && typeof requireRules !== 'boolean') throw new ValidationError('requireRules', requireRules, 'must be a boolean');
  const text = stateText(input);
  const format = given ?? detectStateFormat(text);
  if (format === 'json') return parseDesiredStateJson(text);
  const ops = parseRules(text, { services, lookupHost });
  if (ops.length === 0 && requireRules) throw new ValidationError('state', excerpt(text), NO_RULES_REASON);
  return desiredStateFromRuleOperations(ops);
}
