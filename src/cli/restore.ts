// `ipvs -R`: rules in ipvsadm's save format from standard input, applied in bulk. Every line is parsed
// and checked first, so a malformed line N is reported as "line N: ..." and nothing is applied; then the
// operations go to the kernel in order, services and destinations pipelined through the client's
// execute(), and stop after the first refusal, reported with its line number and ipvsadm's sentence.
// Each line is one kernel request, so no line is ever half applied.

import { readAll, type CliContext, type CliIpvs } from './context.js';
import { describeFailure } from './failures.js';
import type { KernelAction } from './messages.js';
import { CommandLineError, RulesSyntaxError } from '../rules/errors.js';
import { isTableOperation, toClientOperation, type RuleOperation, type TableRuleOperation } from '../rules/operations.js';
import { parseRulesResolving } from '../rules/parse.js';
import { ValidationError } from '../ipvs/errors.js';

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

/**
 * Apply the operations in order. Runs of service/destination operations go through the client's
 * execute() (validated as a whole first, then pipelined, stopping after the window of the first
 * refusal); flush, zero, timeouts and daemons go one by one. Returns every refusal, in line order; the
 * first one ends the run.
 */
export async function applyOperations(ipvs: CliIpvs, ops: readonly RuleOperation[]): Promise<RestoreFailure[]> {
  let i = 0;
  while (i < ops.length) {
    const op = ops[i]!;
    if (!isTableOperation(op)) {
      try {
        await applyOperation(ipvs, op);
      } catch (error) {
        return [{ failed: op, error }];
      }
      i++;
      continue;
    }
    const run: TableRuleOperation[] = [];
    while (i < ops.length && isTableOperation(ops[i]!)) run.push(ops[i++] as TableRuleOperation);
    let results;
    try {
      results = await ipvs.execute(run.map(toClientOperation), { stopOnError: true });
    } catch (error) {
      // Refused before anything was sent: the validation error names the operation's index.
      const m = error instanceof ValidationError ? /^operations\[(\d+)\]/.exec(error.field) : null;
      const at = m ? run[Number(m[1])] : undefined;
      return [{ failed: at ?? run[0]!, error }];
    }
    const failures: RestoreFailure[] = [];
    results.forEach((r, j) => {
      if ('ok' in r && !r.ok) failures.push({ failed: run[j]!, error: r.error });
    });
    if (failures.length > 0) return failures;
  }
  return [];
}

export async function restoreRules(ctx: CliContext): Promise<number> {
  const text = await readAll(ctx.stdin);
  let ops: RuleOperation[];
  try {
    ops = await parseRulesResolving(text, (name) => ctx.resolver.lookup(name), { services: ctx.resolver.services });
  } catch (err) {
    if (err instanceof RulesSyntaxError) {
      ctx.stderr.write(`${err.message}\n`);
      return err.cause instanceof CommandLineError ? err.cause.exitCode : 2;
    }
    throw err;
  }
  if (ops.length === 0) return 0;
  const ipvs = await ctx.ipvs();
  const failures = await applyOperations(ipvs, ops);
  for (const f of failures) {
    ctx.stderr.write(`line ${f.failed.line}: ${describeFailure(f.error, ACTION_OF_OPERATION[f.failed.op])}\n`);
  }
  return failures.length > 0 ? 255 : 0;
}
