// `ipvs -R`: rules in ipvsadm's save format from standard input, applied in bulk. Every line is parsed
// and checked first, so a malformed line N is reported as "line N: ..." and nothing is applied; then the
// operations go to the kernel in order and stop at the first refusal, reported with its line number and
// ipvsadm's sentence. Each line is one kernel request, so no line is ever half applied.

import { readAll, type CliContext, type CliIpvs } from './context.js';
import { describeFailure } from './failures.js';
import type { KernelAction } from './messages.js';
import { CommandLineError, RulesSyntaxError } from '../rules/errors.js';
import type { RuleOperation } from '../rules/operations.js';
import { parseRulesResolving } from '../rules/parse.js';

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

/** Apply the operations in order, stopping at the first refusal; the failed operation and its error. */
export async function applyOperations(
  ipvs: CliIpvs,
  ops: readonly RuleOperation[],
): Promise<{ failed: RuleOperation; error: unknown } | undefined> {
  for (const op of ops) {
    try {
      await applyOperation(ipvs, op);
    } catch (error) {
      return { failed: op, error };
    }
  }
  return undefined;
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
  const failure = await applyOperations(ipvs, ops);
  if (failure) {
    ctx.stderr.write(`line ${failure.failed.line}: ${describeFailure(failure.error, ACTION_OF_OPERATION[failure.failed.op])}\n`);
    return 255;
  }
  return 0;
}
