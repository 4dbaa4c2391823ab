// Operations for bulk use (restore, reconcile): plain data naming one change each. Every operation is
// validated before the first byte of any is sent (an OperationBatch, batch.ts, validates and encodes each
// as it is added), so a batch with one bad operation fails as a whole, naming the operation's index, and
// changes nothing; the client's execute() then pipelines the encoded requests. Preparing is split from
// the family id so a batch can be validated (and described) without a socket.

import type { OutgoingRequest } from '../netlink/connection.js';
import type { IpvsError } from '../netlink/errors.js';
import * as cmd from './commands.js';
import { ValidationError } from './errors.js';
import { Fields, onlyKnownFields } from './fields.js';
import type { DestinationKey, DestinationSpec, ReadBackDestinationSpec, ReadBackServiceSpec, ServiceKey, ServiceSpec } from './types.js';
import {
  validateDestinationKey,
  validateDestinationSpec,
  validateNewServiceSpec,
  validateServiceKey,
  validateServiceSpec,
  type WireDestination,
  type WireService,
  type WireServiceKey,
} from './validate.js';

export type Operation =
  | { op: 'add-service'; service: ServiceSpec }
  | { op: 'update-service'; service: ServiceSpec }
  | { op: 'delete-service'; service: ServiceKey }
  | { op: 'add-destination'; service: ServiceKey; destination: DestinationSpec }
  | { op: 'update-destination'; service: ServiceKey; destination: DestinationSpec }
  | { op: 'delete-destination'; service: ServiceKey; destination: DestinationKey };

export type OperationKind = Operation['op'];

/**
 * What execute() takes: an Operation, or an add or update whose service or destination is an object read back
 * from the client, changed or not (`{ op: 'update-destination', service, destination: { ...d, weight: 0 } }`).
 * The values only another tool sets that such an object may hold are refused as in Operation, by the
 * operation's path, before anything is sent (see ReadBackServiceSpec, ReadBackDestinationSpec).
 */
export type OperationInput =
  | Operation
  | { op: 'add-service'; service: ReadBackServiceSpec }
  | { op: 'update-service'; service: ReadBackServiceSpec }
  | { op: 'add-destination'; service: ServiceKey; destination: ReadBackDestinationSpec }
  | { op: 'update-destination'; service: ServiceKey; destination: ReadBackDestinationSpec };

/**
 * One result per operation, in input order. `skipped`: never sent (stopOnError, or aborted first). Read-only:
 * execute() hands out one frozen `{ ok: true }` for every success and shares a `{ skipped: true }` among the
 * operations a call skipped. A failure's `error` is an IpvsError (its `code` readable without a cast): a
 * KernelError, a TimeoutError, an AbortError, a FamilyNotFoundError, ...; an error of a custom transport
 * that is not one comes wrapped (its message and code, the original as `cause`).
 */
export type OperationResult = { readonly ok: true } | { readonly ok: false; readonly error: IpvsError } | { readonly skipped: true };

/** An operation validated into wire values, ready to become a request for any family id. */
export type PreparedOperation =
  | { op: 'add-service' | 'update-service'; service: WireService }
  | { op: 'delete-service'; service: WireServiceKey }
  | { op: 'add-destination' | 'update-destination' | 'delete-destination'; service: WireServiceKey; destination: WireDestination };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

// An operation's own fields: `{ op: 'delete-service', service, destination }` (a destination meant) must not
// delete the whole service.
const SERVICE_OPERATION = new Fields(['op', 'service'] satisfies (keyof Extract<Operation, { op: 'add-service' | 'update-service' | 'delete-service' }>)[]);
const DESTINATION_OPERATION = new Fields(['op', 'service', 'destination'] satisfies (keyof Extract<Operation, { op: 'add-destination' }>)[]);

/**
 * Service keys already validated in this batch, by their text: a restore names each service once to add
 * it and again for every destination, and validating (address parsing, the wire object) once per
 * service instead of once per line halves the work of a bulk batch. Only plain protocol/address/port
 * keys are cached; anything else is validated every time. It holds at most `limit` keys (emptied when
 * full), so a batch of many services does not keep every one's key alive, and the last key is checked
 * first, field by field, since the lines naming one service come together.
 */
export class KeyCache {
  private readonly byId = new Map<string, WireServiceKey>();
  private lastProtocol = '';
  private lastAddress = '';
  private lastPort = -1;
  private last: WireServiceKey | undefined;

  constructor(private readonly limit = 64) {}

  key(service: Record<string, unknown>, protocol: string, address: string, port: number): WireServiceKey {
    if (this.last !== undefined && port === this.lastPort && address === this.lastAddress && protocol === this.lastProtocol) return this.last;
    const id = `${protocol} ${address} ${port}`;
    let key = this.byId.get(id);
    if (key === undefined) {
      key = validateServiceKey(service);
      if (this.byId.size >= this.limit) this.byId.clear();
      this.byId.set(id, key);
    }
    this.lastProtocol = protocol;
    this.lastAddress = address;
    this.lastPort = port;
    this.last = key;
    return key;
  }
}

function serviceKeyOf(service: unknown, cache: KeyCache | undefined): WireServiceKey {
  if (cache === undefined || !isObject(service) || service.fwmark !== undefined) return validateServiceKey(service);
  const { protocol, address, port } = service;
  if (typeof protocol !== 'string' || typeof address !== 'string' || typeof port !== 'number') return validateServiceKey(service);
  return cache.key(service, protocol, address, port);
}

/**
 * Run a validation of the operation's service, naming a refused field by its path in the operation
 * (`service.port`, not `port`, which could be the destination's) when the operation has an index.
 */
function ofService<T>(index: number | undefined, validate: () => T): T {
  if (index === undefined) return validate();
  try {
    return validate();
  } catch (err) {
    if (err instanceof ValidationError && err.field !== 'service' && !err.field.startsWith('service.')) throw err.withFieldPrefix('service');
    throw err;
  }
}

/**
 * Validate one operation; with an index, a ValidationError's field is its path in the operations
 * (`operations[3].service.port`, `operations[3].destination.weight`).
 */
export function prepareOperation(o: Operation, index?: number, cache?: KeyCache): PreparedOperation {
  try {
    if (!isObject(o)) throw new ValidationError('operation', o, 'must be an object { op, service, destination? }');
    switch (o.op) {
      case 'add-service':
        onlyKnownFields(o, SERVICE_OPERATION, '');
        return { op: o.op, service: ofService(index, () => validateNewServiceSpec(o.service)) };
      case 'update-service':
        onlyKnownFields(o, SERVICE_OPERATION, '');
        return { op: o.op, service: ofService(index, () => validateServiceSpec(o.service)) };
      case 'delete-service':
        onlyKnownFields(o, SERVICE_OPERATION, '');
        return { op: o.op, service: ofService(index, () => serviceKeyOf(o.service, cache)) };
      case 'add-destination':
      case 'update-destination': {
        onlyKnownFields(o, DESTINATION_OPERATION, '');
        const service = ofService(index, () => serviceKeyOf(o.service, cache));
        return { op: o.op, service, destination: validateDestinationSpec(service, o.destination) };
      }
      case 'delete-destination': {
        onlyKnownFields(o, DESTINATION_OPERATION, '');
        const service = ofService(index, () => serviceKeyOf(o.service, cache));
        return { op: o.op, service, destination: validateDestinationKey(service, o.destination) };
      }
      default:
        throw new ValidationError('op', (o as { op: unknown }).op, 'unknown operation; one of add-service, update-service, delete-service, add-destination, update-destination, delete-destination');
    }
  } catch (err) {
    if (err instanceof ValidationError && index !== undefined) throw err.withFieldPrefix(`operations[${index}]`);
    throw err;
  }
}

/** The request carrying a prepared operation. */
export function preparedRequest(fam: cmd.IpvsFamily, p: PreparedOperation): OutgoingRequest {
  switch (p.op) {
    case 'add-service': return cmd.newService(fam, p.service);
    case 'update-service': return cmd.setService(fam, p.service);
    case 'delete-service': return cmd.delService(fam, p.service);
    case 'add-destination': return cmd.newDest(fam, p.service, p.destination);
    case 'update-destination': return cmd.setDest(fam, p.service, p.destination);
    case 'delete-destination': return cmd.delDest(fam, p.service, p.destination);
  }
}

/** The request for one operation; throws ValidationError naming the operation's index when given. */
export function operationRequest(fam: cmd.IpvsFamily, o: Operation, index?: number): OutgoingRequest {
  return preparedRequest(fam, prepareOperation(o, index));
}

/** Validate every operation (the first bad one throws, naming its index) into wire values. */
export function validateOperations(ops: readonly Operation[]): PreparedOperation[] {
  if (!Array.isArray(ops)) throw new ValidationError('operations', ops, 'must be an array of operations');
  const cache = new KeyCache();
  return ops.map((o, i) => prepareOperation(o, i, cache));
}

/** Validate every operation first (the first bad one throws, naming its index), then build the requests. */
export function prepareOperations(fam: cmd.IpvsFamily, ops: readonly Operation[]): OutgoingRequest[] {
  return validateOperations(ops).map((p) => preparedRequest(fam, p));
}

/** A one-line description, e.g. 'add-destination 192.168.1.116:80 in service tcp 192.168.1.110:80'. */
export function describeOperation(o: OperationInput): string {
  // An add-service of a protocol number is refused when sent, and still described: a plan may hold one.
  const p: PreparedOperation = isObject(o) && o.op === 'add-service' ? { op: o.op, service: validateServiceSpec(o.service) } : prepareOperation(o as Operation);
  if ('destination' in p) return `${p.op} ${p.destination.text} in service ${p.service.text}`;
  return `${p.op} ${p.service.text}`;
}
