// Carrying a plan out. The phases of the plan run in order, each as one pipelined execute() on the
// client (many requests per socket write, one acknowledgement per window); a step whose prerequisite failed (the
// destinations of a service that could not be added, the service delete after a destination delete
// that failed) is not attempted rather than sent to fail. The result says exactly what was applied,
// what failed with which error, and what was not attempted and why; since the plan is computed from a
// fresh read of the kernel every time, running apply again converges from wherever this one stopped.

import { ValidationError } from '../ipvs/errors.js';
import { asIpvsError, type IpvsError } from '../netlink/errors.js';
import type { Operation, OperationResult } from '../ipvs/operations.js';
import { booleanOption, onlyKnownOptions, optionKeys, signalOption } from '../ipvs/option-keys.js';
import { checkedPlanOptions, planChecked, type Plan, type PlanOptions, type PlanStep, type ReconcileClient, PHASES } from './plan.js';
import type { DrainState } from './drain.js';
import type { DesiredState } from './state.js';

const APPLY_KEYS = optionKeys<ApplyOptions>('', { prune: true, drain: true, now: true, signal: true, dryRun: true, stopOnError: true });
const APPLY_PLAN_KEYS = optionKeys<Pick<ApplyOptions, 'stopOnError' | 'signal'>>('', { stopOnError: true, signal: true });

/** The reason given for each step not sent because the signal aborted. */
export const ABORTED_REASON = 'aborted before it was sent';
/** The reason given for each step not sent after the receive buffer overflowed (ENOBUFS). */
export const OVERFLOW_REASON = 'not sent: the receive buffer overflowed (ENOBUFS) and the outcome of the steps sent before is unknown; plan again from a fresh read';

export interface ApplyOptions extends PlanOptions {
  /** Plan only: read the kernel, send nothing. */
  dryRun?: boolean;
  /** After the first failure, attempt nothing more (the rest is reported as not attempted). Default false. */
  stopOnError?: boolean;
}

export interface StepFailure {
  step: PlanStep;
  /**
   * The typed error: a KernelError (errno, code, operation, object), a TimeoutError, a ValidationError, ...
   * Always an IpvsError: one that a client of your own throws or reports and is not one comes wrapped (its
   * message, its string `code` or `EIO`, the original as `cause`).
   */
  error: IpvsError;
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
  onlyKnownOptions(options, APPLY_PLAN_KEYS);
  signalOption(options.signal);
  return applyChecked(ipvs, thePlan, options);
}

async function applyChecked(ipvs: Pick<ReconcileClient, 'execute'>, thePlan: Plan, options: Pick<ApplyOptions, 'stopOnError' | 'signal'>): Promise<ApplyResult> {
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
  const stopOnError = booleanOption('stopOnError', options.stopOnError, false);
  const signal = options.signal;
  /**
   * Send the batch (indexes into steps) in one execute() and record each outcome. execute() throws only
   * before sending anything, when it refuses an operation: a plan edited by hand, or a value the client
   * does not take that the plan carries (a service of another protocol named in an exported state). That
   * step fails alone, with the refusal; the steps before it are sent, then those after it (each call
   * checks its operations again, so no operation is checked more than twice).
   */
  const send = async (batch: number[]): Promise<void> => {
    let rest = batch;
    while (rest.length > 0) {
      if (stopped === undefined && signal?.aborted) stopped = ABORTED_REASON;
      if (stopped !== undefined) {
        for (const i of rest) skip(i, stopped);
        return;
      }
      const ops: Operation[] = rest.map((i) => steps[i]!.operation);
      let results: OperationResult[];
      try {
        results = await ipvs.execute(ops, { stopOnError, ...(signal ? { signal } : {}) });
      } catch (err) {
        const thrown = asIpvsError(err);
        const k = refusedIndex(thrown, rest.length);
        if (k === undefined) {
          // Not one operation's refusal (nothing names one): every step of the call fails with it.
          for (const i of rest) {
            outcome[i] = 'failed';
            failed.push({ step: steps[i]!, error: thrown });
          }
          stopped = 'not sent: an earlier call was refused before sending';
          return;
        }
        const i = rest[k]!;
        await send(rest.slice(0, k));
        if (stopped !== undefined) skip(i, stopped);
        else {
          // The caller knows the plan, not the call: the field is renamed from operations[k] to the step's own path.
          outcome[i] = 'failed';
          failed.push({ step: steps[i]!, error: inPlanTerms(thrown as ValidationError, k, i) });
          if (stopOnError) stopped = 'stopped after the first failure';
        }
        rest = rest.slice(k + 1);
        continue;
      }
      // Operations execute() skipped were never sent: after a failure with stopOnError, after an abort, or
      // after an overflow of the receive buffer, which also stops the rest of the plan (what it depends on
      // has an unknown outcome).
      const overflow = results.some((r) => r !== undefined && 'ok' in r && !r.ok && isOverflow(r.error));
      const skippedReason = signal?.aborted ? ABORTED_REASON : overflow ? OVERFLOW_REASON : 'stopped after the first failure';
      rest.forEach((i, k) => {
        const r = results[k];
        if (r === undefined || 'skipped' in r) skip(i, skippedReason);
        else if (r.ok) {
          outcome[i] = 'ok';
          applied.push(steps[i]!);
        } else {
          outcome[i] = 'failed';
          // Typed an IpvsError; a client of the user's own (a JavaScript double) may still hand back another.
          failed.push({ step: steps[i]!, error: asIpvsError(r.error) });
        }
      });
      if (signal?.aborted) stopped = ABORTED_REASON;
      else if (overflow) stopped = OVERFLOW_REASON;
      else if (failed.length > 0 && stopOnError) stopped = 'stopped after the first failure';
      return;
    }
  };
  // Phases follow one another in one execute() (the kernel handles requests in the order sent, so capacity
  // still comes before removal) until a step depends on one not yet answered: then what is pending is sent
  // first, so that a step whose prerequisite failed is not attempted. With stopOnError each phase is its own
  // call, so nothing after the phase of the first failure is sent.
  let pending: number[] = [];
  const inPending = new Set<number>();
  for (const phase of PHASES) {
    if (stopOnError && pending.length > 0) {
      await send(pending);
      pending = [];
      inPending.clear();
    }
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      if (step.phase !== phase) continue;
      if (pending.length > 0 && step.dependsOn.some((j) => inPending.has(j))) {
        await send(pending);
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
  if (pending.length > 0) await send(pending);
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

/** A failure that says the receive buffer overflowed: the answers were lost, the outcome is unknown. */
function isOverflow(error: IpvsError): boolean {
  return error.code === 'ENOBUFS';
}

/** The index in a call of `count` operations that execute() refused (`operations[3].service.port`), when it says. */
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
  checkedPlanOptions(options, APPLY_KEYS);
  const dryRun = booleanOption('dryRun', options.dryRun, false);
  booleanOption('stopOnError', options.stopOnError, false);
  const thePlan = await planChecked(ipvs, desired, options);
  if (dryRun) {
    return { plan: thePlan, dryRun: true, applied: [], failed: [], notAttempted: [], drainState: thePlan.drainState, ok: true };
  }
  return applyChecked(ipvs, thePlan, options);
}
