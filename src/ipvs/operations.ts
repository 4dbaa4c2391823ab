// Operations for bulk use (restore, reconcile): plain data naming one change each, validated all at
// once before the first byte is sent, then pipelined by the client's execute().

import type { OutgoingRequest } from '../netlink/connection.js';
import { ValidationError } from './errors.js';
import * as cmd from './commands.js';
import type { DestinationKey, DestinationSpec, ServiceKey, ServiceSpec } from './types.js';
import { validateDestinationKey, validateDestinationSpec, validateServiceKey, validateServiceSpec } from './validate.js';

export type Operation =
  | { op: 'add-service'; service: ServiceSpec }
  | { op: 'update-service'; service: ServiceSpec }
  | { op: 'delete-service'; service: ServiceKey }
  | { op: 'add-destination'; service: ServiceKey; destination: DestinationSpec }
  | { op: 'update-destination'; service: ServiceKey; destination: DestinationSpec }
  | { op: 'delete-destination'; service: ServiceKey; destination: DestinationKey };

export type OperationResult = { ok: true } | { ok: false; error: Error } | { skipped: true };

/** The request for one operation; throws ValidationError naming the operation's index when given. */
export function operationRequest(fam: cmd.IpvsFamily, o: Operation, index?: number): OutgoingRequest {
  try {
    switch (o.op) {
      case 'add-service': return cmd.newService(fam, validateServiceSpec(o.service));
      case 'update-service': return cmd.setService(fam, validateServiceSpec(o.service));
      case 'delete-service': return cmd.delService(fam, validateServiceKey(o.service));
      case 'add-destination': {
        const s = validateServiceKey(o.service);
        return cmd.newDest(fam, s, validateDestinationSpec(s, o.destination));
      }
      case 'update-destination': {
        const s = validateServiceKey(o.service);
        return cmd.setDest(fam, s, validateDestinationSpec(s, o.destination));
      }
      case 'delete-destination': {
        const s = validateServiceKey(o.service);
        return cmd.delDest(fam, s, validateDestinationKey(s, o.destination));
      }
      default:
        throw new ValidationError('op', (o as { op: unknown }).op, 'unknown operation');
    }
  } catch (err) {
    if (err instanceof ValidationError && index !== undefined) {
      throw new ValidationError(`operations[${index}].${err.field}`, err.value, err.message.replace(/^invalid [^:]*: /, ''));
    }
    throw err;
  }
}
