// Carrying a plan out. The phases of the plan run in order, each as one pipelined execute() on the
// client (many requests per socket write, one acknowledgement per write); a step whose prerequisite failed (the
// destinations of a service that could not be added, the service delete after a destination delete
// that failed) is not attempted rather than sent to fail. The result says exactly what was applied,
// what failed with which error, and what was not attempted and why; since the plan is computed from a
// fresh read of the kernel every time, running apply again converges from wherever this one stopped.

import { ValidationError } from '../ipvs/errors.js';
import type { Operation, OperationResult } from '../ipvs/operations.js';
import { newServiceRefusal } from '../ipvs/validate.js';
import { plan, type Plan, type PlanOptions, type PlanStep, type ReconcileClient, PHASES } from './plan.js';
import type { DrainState } from './drain.js';
import type { DesiredState } from './state.js';

/** The reason given for each step not sent because the signal aborted. */
export const ABORTED_REASON = 'aborted before it was sent';

export interface ApplyOptions extends PlanOptions {
  /** Plan only: read the kernel, send nothing. */
  dryRun?: boolean;
  /** After the first failure, attempt nothing more (the rest is reported as not attempted). Default false. */
  stopOnError?: boolean;
}

export interface StepFailure {
  step: PlanStep;
  /** The typed error: a KernelError (errno, code, operation, object), a TimeoutError, ... */
  error: Error;
}

export interface StepNotAttempted {
  step: PlanStep;
  reason: string;
}

export interface ApplyResult {
  plan: Plan;
  dryRun: boolean;
  applied: PlanStep[];
  failed: StepFailure[];
  notAttempted: StepNotAttempted[];
  /** Hand back as `drain: { state }` next time, so drain timeouts count from when draining began. */
  drainState: DrainState;
  /** Every step was applied (trivially true for a dry run or an empty plan). */
  ok: boolean;
}

/** Carry out a plan already made (see plan()); the plan must have been made against this client's kernel. */
export async function applyPlan(
  ipvs: Pick<ReconcileClient, 'execute'>,
  thePlan: Plan,
  options: Pick<ApplyOptions, 'stopOnError' | 'signal'> = {},
): Promise<ApplyResult> {
  const steps = thePlan.steps;
  const outcome: ('ok' | 'failed' | 'skipped' | undefined)[] = new Array(steps.length).fill(undefined);
  const applied: PlanStep[] = [];
  const failed: StepFailure[] = [];
  const notAttempted: StepNotAttempted[] = [];
  const skip = (i: number, reason: string): void => {
    outcome[i] = 'skipped';
    notAttempted.push({ step: steps[i]!, reason });
  };
  // Once set, nothing more is sent and every step not yet sent is reported with this reason.
  let stopped: string | undefined;
  const stopOnError = options.stopOnError ?? false;
  const signal = options.signal;
  /** Send the batch (indexes into steps) in one execute() and record each outcome. */
  const send = async (batch: number[]): Promise<void> => {
    if (signal?.aborted) {
      stopped = ABORTED_REASON;
      for (const i of batch) skip(i, ABORTED_REASON);
      return;
    }
    const ops: Operation[] = batch.map((i) => steps[i]!.operation);
    let results: OperationResult[];
    try {
      results = await ipvs.execute(ops, { stopOnError, ...(signal ? { signal } : {}) });
    } catch (err) {
      // execute() throws only before sending anything: an operation it refuses (a plan edited by hand).
      // That step failed with the refusal; the rest of the call was not sent, and nothing more is.
      const thrown = err instanceof Error ? err : new Error(String(err));
      const k = refusedIndex(thrown, batch.length);
      const refused = k === undefined ? undefined : steps[batch[k]!]!;
      // The caller knows the plan, not the call: the field is renamed from operations[k] to the step's own path.
      const error = k === undefined ? thrown : inPlanTerms(thrown as ValidationError, k, batch[k]!);
      for (const i of batch) {
        if (refused === undefined || steps[i] === refused) {
          outcome[i] = 'failed';
          failed.push({ step: steps[i]!, error });
        } else skip(i, `not sent: ${refused.operation.op} ${refused.target} in the same call was refused (${error.message})`);
      }
      stopped = 'not sent: an earlier step was refused before sending';
      return;
    }
    // Operations execute() skipped were never sent: after a failure with stopOnError, or after an abort.
    const skippedReason = signal?.aborted ? ABORTED_REASON : 'stopped after the first failure';
    batch.forEach((i, k) => {
      const r = results[k];
      if (r === undefined || 'skipped' in r) skip(i, skippedReason);
      else if (r.ok) {
        outcome[i] = 'ok';
        applied.push(steps[i]!);
      } else {
        outcome[i] = 'failed';
        failed.push({ step: steps[i]!, error: r.error });
      }
    });
    if (signal?.aborted) stopped = ABORTED_REASON;
    else if (failed.length > 0 && stopOnError) stopped = 'stopped after the first failure';
  };
  /**
   * send(), but an add-service step the client refuses for its protocol alone (a number: a service another
   * tool made, which an exported state may name) fails by itself, its destinations not attempted through
   * their dependency, instead of making execute() refuse the whole call.
   */
  const run = async (batch: number[]): Promise<void> => {
    const sendUnlessStopped = async (part: number[]): Promise<void> => {
      if (part.length === 0) return;
      if (stopped === undefined) await send(part);
      else for (const i of part) skip(i, stopped);
    };
    let from = 0;
    for (let k = 0; k < batch.length; k++) {
      const i = batch[k]!;
      const op = steps[i]!.operation;
      const refusal = op.op === 'add-service' ? newServiceRefusal(op.service) : undefined;
      if (refusal === undefined) continue;
      await sendUnlessStopped(batch.slice(from, k));
      from = k + 1;
      if (stopped !== undefined) {
        skip(i, stopped);
        continue;
      }
      outcome[i] = 'failed';
      failed.push({ step: steps[i]!, error: new ValidationError(`steps[${i}].operation.service.protocol`, refusal.value, refusal.reason) });
      if (stopOnError) stopped = 'stopped after the first failure';
    }
    await sendUnlessStopped(from === 0 ? batch : batch.slice(from));
  };
  // Phases follow one another in one execute() (the kernel handles requests in the order sent, so capacity
  // still comes before removal) until a step depends on one not yet answered: then what is pending is sent
  // first, so that a step whose prerequisite failed is not attempted. With stopOnError each phase is its own
  // call, so nothing after the phase of the first failure is sent.
  let pending: number[] = [];
  const inPending = new Set<number>();
  for (const phase of PHASES) {
    if (stopOnError && pending.length > 0) {
      await run(pending);
      pending = [];
      inPending.clear();
    }
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      if (step.phase !== phase) continue;
      if (pending.length > 0 && step.dependsOn.some((j) => inPending.has(j))) {
        await run(pending);
        pending = [];
        inPending.clear();
      }
      if (stopped !== undefined) {
        skip(i, stopped);
        continue;
      }
      const blocker = step.dependsOn.find((j) => outcome[j] !== 'ok');
      if (blocker !== undefined) {
        const b = steps[blocker]!;
        skip(i, `depends on ${b.operation.op} ${b.target}, which ${outcome[blocker] === 'failed' ? 'failed' : 'was not attempted'}`);
        continue;
      }
      pending.push(i);
      inPending.add(i);
    }
  }
  if (pending.length > 0) await run(pending);
  // A drain that did not start (its weight-0 update failed) has no start time yet; one whose final delete
  // failed (or was not attempted) is still draining since it began.
  const drainState: DrainState = { ...thePlan.drainState };
  steps.forEach((step, i) => {
    // Plan step targets of destinations are their drain ids.
    if (outcome[i] === 'ok') return;
    if (step.drain) delete drainState[step.target];
    else if (step.drainSince !== undefined) drainState[step.target] = step.drainSince;
  });
  return { plan: thePlan, dryRun: false, applied, failed, notAttempted, drainState, ok: failed.length === 0 && notAttempted.length === 0 };
}

/** The index in a call of `count` operations that execute() refused (`operations[3].port`), when it says. */
function refusedIndex(error: Error, count: number): number | undefined {
  if (!(error instanceof ValidationError)) return undefined;
  const m = /^operations\[(\d+)\]/.exec(error.field);
  const k = m ? Number(m[1]) : NaN;
  return k < count ? k : undefined;
}

/** execute()'s refusal of operations[k], with the field named as the plan's steps[i].operation. */
function inPlanTerms(error: ValidationError, k: number, i: number): ValidationError {
  const field = `steps[${i}].operation${error.field.slice(`operations[${k}]`.length)}`;
  return new ValidationError(field, error.value, error.reason, { cause: error });
}

/**
 * Make the kernel hold the desired state: read it, plan the minimal steps, carry them out (or, with
 * `dryRun`, only plan). Throws only before anything is sent (a ValidationError naming the path of a bad
 * field in `desired`, or an error reading the kernel); failures while applying are in the result.
 */
export async function apply(ipvs: ReconcileClient, desired: DesiredState, options: ApplyOptions = {}): Promise<ApplyResult> {
  const thePlan = await plan(ipvs, desired, options);
  if (options.dryRun) {
    return { plan: thePlan, dryRun: true, applied: [], failed: [], notAttempted: [], drainState: thePlan.drainState, ok: true };
  }
  return applyPlan(ipvs, thePlan, options);
}
