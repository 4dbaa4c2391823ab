// Declarative state for `ipvs`: describe every service and destination that should exist (plain JSON,
// or ipvsadm rules text), then `plan` the minimal operations against what the kernel holds and `apply`
// them, pipelined, with graceful draining, pruning of unlisted services, and a result that says what
// was applied, what failed and what was not attempted. Sits above the client; see docs/reconcile.md.

export {
  checkDesiredState,
  parseDesiredState,
  parseDesiredStateJson,
  desiredStateFromRules,
  desiredStateFromRuleOperations,
  detectStateFormat,
  stateText,
  type DesiredState,
  type DesiredService,
  type StateFormat,
  type ParseDesiredStateOptions,
} from './state.js';
export {
  plan,
  planAgainst,
  readCurrent,
  PHASES,
  type Plan,
  type PlanStep,
  type PlanOptions,
  type Phase,
  type DrainingDestination,
  type ReconcileClient,
  type CurrentService,
} from './plan.js';
export { normaliseDesiredState, type DesiredEntry } from './desired.js';
export { ABORTED_REASON, OVERFLOW_REASON, apply, applyPlan, type ApplyOptions, type ApplyResult, type StepFailure, type StepNotAttempted } from './apply.js';
export { drainId, type DrainOption, type DrainOptions, type DrainState, type IdlePredicate } from './drain.js';
export { exportState, desiredServiceOf, desiredDestinationOf, type ExportStateOptions } from './export.js';
export { describePlan, describeStep, describeApplyResult } from './describe.js';
