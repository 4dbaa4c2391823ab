// The operations a rules text stands for, one per line, each remembering its line number so a refusal
// can be reported against the text. They mirror the client's methods one to one; those on services and
// destinations map onto the client's bulk Operation (toClientOperation) for execute().

import type { Operation } from '../ipvs/operations.js';
import type {
  DaemonSpec,
  DaemonState,
  DestinationKey,
  DestinationSpec,
  ServiceKey,
  ServiceSpec,
  Timeouts,
} from '../ipvs/types.js';

export type RuleOperation = (
  | { op: 'addService'; service: ServiceSpec }
  | { op: 'updateService'; service: ServiceSpec }
  | { op: 'deleteService'; service: ServiceKey }
  | { op: 'addDestination'; service: ServiceKey; destination: DestinationSpec }
  | { op: 'updateDestination'; service: ServiceKey; destination: DestinationSpec }
  | { op: 'deleteDestination'; service: ServiceKey; destination: DestinationKey }
  | { op: 'flush' }
  | { op: 'zero'; service?: ServiceKey }
  | { op: 'setTimeouts'; timeouts: Timeouts }
  | { op: 'startDaemon'; daemon: DaemonSpec }
  | { op: 'stopDaemon'; state: DaemonState }
) & {
  /** 1-based line of the rules text. */
  line: number;
};

/** The rules operations that are changes to services and destinations (what the client's execute() takes). */
export type TableRuleOperation = Extract<
  RuleOperation,
  { op: 'addService' | 'updateService' | 'deleteService' | 'addDestination' | 'updateDestination' | 'deleteDestination' }
>;

/**
 * Whether an operation changes a service or destination (the ones execute() can carry, after
 * toClientOperation), rather than timeouts, daemons, zeroing or flushing.
 */
export function isTableOperation(op: RuleOperation): op is TableRuleOperation {
  return (
    op.op === 'addService' ||
    op.op === 'updateService' ||
    op.op === 'deleteService' ||
    op.op === 'addDestination' ||
    op.op === 'updateDestination' ||
    op.op === 'deleteDestination'
  );
}

/** The client's bulk Operation for a service or destination change. */
export function toClientOperation(op: TableRuleOperation): Operation {
  switch (op.op) {
    case 'addService':
      return { op: 'add-service', service: op.service };
    case 'updateService':
      return { op: 'update-service', service: op.service };
    case 'deleteService':
      return { op: 'delete-service', service: op.service };
    case 'addDestination':
      return { op: 'add-destination', service: op.service, destination: op.destination };
    case 'updateDestination':
      return { op: 'update-destination', service: op.service, destination: op.destination };
    case 'deleteDestination':
      return { op: 'delete-destination', service: op.service, destination: op.destination };
  }
}
