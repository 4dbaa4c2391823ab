// `ipvs -R`: rules in ipvsadm's save format from standard input, applied in bulk. Every line is parsed
// and checked first (and encoded as it is read, src/rules/prepare.ts, so nothing per line is kept), so a
// malformed line N is reported as "line N: ..." and nothing is applied; then the
// operations go to the kernel in order and stop at the first refusal, reported with its line number and
// ipvsadm's sentence, with every line before it applied and none after it (as ipvsadm -R stops there).
// Runs of additions (what a saved table is made of) are pipelined through the client's execute(); the
// kernel carries on past a refused request inside one datagram, so the additions after the refused one in
// its window are taken back (a delete is the exact inverse of an addition). Edits and deletions, whose
// inverse would need the old state, go one request at a time. Each line is one kernel request, so no line
// is ever half applied. A value the client refuses before sending (an unknown scheduler, a lower threshold
// above the upper one) stops the restore at its line like a kernel refusal: the lines before it are applied.

import { readAll, type CliContext, type CliIpvs } from './context.js';
import { describeFailure, earlierRefusal } from './failures.js';
import { printable } from './printable.js';
import { stateText } from '../reconcile/state.js';
import type { KernelAction } from './messages.js';
import { CommandLineError, RulesSyntaxError } from '../rules/errors.js';
import type { RuleOperation, TableRuleOperation } from '../rules/operations.js';
import { PreparedRun, prepareRulesResolving, stepsOf, type PreparedStep } from '../rules/prepare.js';
import type { Operation, OperationResult } from '../ipvs/operations.js';
import type { ServiceKey } from '../ipvs/types.js';
import { canonicalAddress } from '../rules/addresses.js';

export const ACTION_OF_OPERATION: Record<RuleOperation['op'], KernelAction> = {
  addService: 'add-service',
  updateService: 'edit-service',
  deleteService: 'delete-service',
  addDestination: 'add-server',
  updateDestination: 'edit-server',
  deleteDestination: 'delete-server',
  flush: 'other',
  zero: 'zero',
  setTimeouts: 'other',
  startDaemon: 'start-daemon',
  stopDaemon: 'stop-daemon',
};

/** Apply one operation through the client's single-operation methods. */
export async function applyOperation(ipvs: CliIpvs, op: RuleOperation): Promise<unknown> {
  switch (op.op) {
    case 'addService':
      return ipvs.addService(op.service);
    case 'updateService':
      return ipvs.updateService(op.service);
    case 'deleteService':
      return ipvs.deleteService(op.service);
    case 'addDestination':
      return ipvs.addDestination(op.service, op.destination);
    case 'updateDestination':
      return ipvs.updateDestination(op.service, op.destination);
    case 'deleteDestination':
      return ipvs.deleteDestination(op.service, op.destination);
    case 'flush':
      return ipvs.flush();
    case 'zero':
      return op.service ? ipvs.zero(op.service) : ipvs.zero();
    case 'setTimeouts':
      return ipvs.setTimeouts(op.timeouts);
    case 'startDaemon':
      return ipvs.startDaemon(op.daemon);
    case 'stopDaemon':
      return ipvs.stopDaemon(op.state);
  }
}

export interface RestoreFailure {
  failed: RuleOperation;
  error: unknown;
}

function sameService(a: ServiceKey, b: ServiceKey): boolean {
  return serviceIdentity(a) === serviceIdentity(b);
}

function serviceIdentity(key: ServiceKey): string {
  if ('fwmark' in key && key.fwmark !== undefined) return `fwm:${key.fwmark}:${key.family ?? 'ipv4'}`;
  const k = key as { protocol: string; address: string; port: number };
  return `${k.protocol}:${canonicalAddress(k.address)?.text ?? k.address}:${k.port}`;
}

/**
 * The deletes that undo additions the kernel carried out after a refused request of the same window,
 * newest first; a destination of a service that is itself taken back goes with it.
 */
function undoAdditions(applied: readonly TableRuleOperation[]): Operation[] {
  const removed: ServiceKey[] = [];
  const undo: Operation[] = [];
  for (const op of [...applied].reverse()) {
    if (op.op === 'addService') {
      removed.push(op.service);
      undo.push({ op: 'delete-service', service: op.service });
    } else if (op.op === 'addDestination' && !removed.some((k) => sameService(k, op.service))) {
      undo.push({ op: 'delete-destination', service: op.service, destination: op.destination });
    }
  }
  // Services are deleted after their destinations would have been: reverse order already gives that.
  return undo;
}

/**
 * Apply one run of service/destination operations: additions pipelined, other changes one by one. Returns
 * the first refusal. A run the client's validation refused holds the lines before the refused one: they
 * are applied first, as ipvsadm applies them, and the refused line is reported only when none of them is
 * refused by the kernel, with the kernel's earlier answer (no such service, ...) when it would give one.
 */
async function applyRun(ipvs: CliIpvs, run: PreparedRun): Promise<RestoreFailure | undefined> {
  const failure = await applyValidLines(ipvs, run);
  if (failure !== undefined || run.invalid === undefined) return failure;
  const { rule, error } = run.invalid;
  return { failed: rule, error: (await earlierRefusal(ipvs, ACTION_OF_OPERATION[rule.op], rule.service, error)) ?? error };
}

async function applyValidLines(ipvs: CliIpvs, run: PreparedRun): Promise<RestoreFailure | undefined> {
  const n = run.length;
  let i = 0;
  while (i < n) {
    let end = i + 1;
    if (run.isAddition(i)) while (end < n && run.isAddition(end)) end++;
    const results = await ipvs.execute(run.operations.slice(i, end), { stopOnError: true });
    const j = results.findIndex((r) => 'ok' in r && !r.ok);
    if (j < 0) {
      i = end;
      continue;
    }
    const failed = results[j] as Extract<OperationResult, { ok: false }>;
    // Only additions are pipelined: those the kernel carried out after the refused one are taken back.
    const after: TableRuleOperation[] = [];
    for (let k = j + 1; k < results.length; k++) {
      const r = results[k]!;
      if ('ok' in r && r.ok) after.push(run.rule(i + k));
    }
    if (after.length > 0) await ipvs.execute(undoAdditions(after));
    return { failed: run.rule(i + j), error: failed.error };
  }
  return undefined;
}

/**
 * Apply prepared steps in order: runs of service/destination changes through applyRun, flush, zero,
 * timeouts and daemons one by one. Returns the first refusal (an empty list when all went in).
 */
export async function applySteps(ipvs: CliIpvs, steps: readonly PreparedStep[]): Promise<RestoreFailure[]> {
  for (const step of steps) {
    if (step instanceof PreparedRun) {
      const failure = await applyRun(ipvs, step);
      if (failure) return [failure];
      continue;
    }
    try {
      await applyOperation(ipvs, step);
    } catch (error) {
      return [{ failed: step, error }];
    }
  }
  return [];
}

/** applySteps for operations already parsed. */
export async function applyOperations(ipvs: CliIpvs, ops: readonly RuleOperation[]): Promise<RestoreFailure[]> {
  return applySteps(ipvs, stepsOf(ops));
}

export async function restoreRules(ctx: CliContext): Promise<number> {
  // A leading byte-order mark (a file saved by a Windows editor) is dropped, as `ipvs apply` drops it: kept,
  // it made the first word `\ufeff-A`, refused as no command with a message showing a bare `-A`.
  const text = stateText(await readAll(ctx.stdin));
  let steps: PreparedStep[];
  try {
    // Parsed, checked and encoded line by line (src/rules/prepare.ts): nothing per line is kept.
    steps = await prepareRulesResolving(text, (name) => ctx.resolver.lookup(name), { services: ctx.resolver.services });
  } catch (err) {
    if (err instanceof RulesSyntaxError) {
      // The line's own words may be in it: see printable.ts.
      ctx.stderr.write(`${printable(err.message)}\n`);
      return err.cause instanceof CommandLineError ? err.cause.exitCode : 2;
    }
    throw err;
  }
  if (steps.length === 0) return 0;
  const ipvs = await ctx.ipvs();
  const failures = await applySteps(ipvs, steps);
  for (const f of failures) {
    ctx.stderr.write(`line ${f.failed.line}: ${describeFailure(f.error, ACTION_OF_OPERATION[f.failed.op])}\n`);
  }
  return failures.length > 0 ? 255 : 0;
}
