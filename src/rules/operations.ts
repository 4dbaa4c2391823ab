// The operations a rules text stands for, one per line, each remembering its line number so a refusal
// can be reported against the text. They mirror the client's methods one to one.

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
