// The public API of `ipvs`: the client, the data types, the errors, the operations of execute(), and the
// transport seam (for the fake kernel, `ipvs/testing`, or a transport of your own).
export {
  Ipvs, windowSize, type OpenOptions, type ExecuteOptions, type BoundService, type ServiceMethods, type ServiceDestinations, type DestinationsOfEachOptions,
  type ReadResult, type ReadWithoutStats, type OnlyKeysOf,
} from './client.js';
export type { SocketFeatures } from '../native/socket.js';
export * from './ipvs/types.js';
export { isScheduler, isPersistenceEngine, isProtocol, isForwarding, isForwardingInput, isTunnelType } from './ipvs/guards.js';
export type { Operation, OperationInput, OperationKind, OperationResult } from './ipvs/operations.js';
export { describeOperation } from './ipvs/operations.js';
export { OperationBatch, type OperationBatchOptions } from './ipvs/batch.js';
export { ValidationError } from './ipvs/errors.js';
export {
  IpvsError, KernelError, DecodeError, FamilyNotFoundError, TimeoutError, AbortError, ClosedError, DumpInterruptedError, NativeBindingError, errnoName,
  type KernelErrorDetails, type NativePackage, type IpvsErrorCode, type ErrnoName, type KnownErrnoName, type LibraryErrorCode,
} from './netlink/errors.js';
export type { ExchangeResult, Transport, TransportReceiver } from './netlink/transport.js';
export type { RequestOptions } from './netlink/connection.js';
// Declarative state: plan and apply a desired table (also as ipvs.plan/apply/exportState and `ipvs apply|diff|export`).
export * from './reconcile/index.js';
// The ipvsadm rules format (save/restore text) as a library: parse to typed operations, format a table.
export {
  parseRules, parseRulesResolving, prepareRules, prepareRulesResolving, PreparedRun, formatRules, formatServiceRule, formatDestinationRule, iterateRules, isTableOperation, toClientOperation, RulesSyntaxError, CommandLineError,
  type PreparedStep, type OtherRuleOperation, type UsageExitCode, type ParseRulesOptions, type FormatRulesOptions, type IterateRulesOptions, type RulesSource, type ServiceWithDestinations, type RuleOperation, type TableRuleOperation,
  // Host and service names, for the non-numeric text (`ipvsadm -S`) and for parsing `host:http`.
  resolveEndpointNames, systemResolver, staticResolver, systemServiceNames, parseServicesFile, NO_SERVICE_NAMES,
  type Resolver, type SystemResolverOptions, type AddressSource, type EndpointNames, type ServiceNames,
} from './rules/index.js';
// Health checks: HealthChecker and its config (also `ipvs health CONFIG`).
export * from './health/index.js';
