// Plans and apply results as text for people (what `ipvs diff` and `ipvs apply` print). One line per
// step, marked like a diff: `+` adds, `~` updates, `-` deletes; `=` a destination still draining; `!`
// a step that failed, `?` one not attempted. Lines starting with `#` are remarks and a summary.

import type { ApplyResult } from './apply.js';
import { nowOption } from './drain.js';
import type { DrainingDestination, Plan, PlanStep } from './plan.js';
import { serviceIdOf } from './normalize.js';

const MARK: Readonly<Record<PlanStep['operation']['op'], string>> = {
  'add-service': '+ service',
  'add-destination': '+ destination',
  'update-service': '~ service',
  'update-destination': '~ destination',
  'delete-service': '- service',
  'delete-destination': '- destination',
};

/** One step as a line (without newline), e.g. `~ destination tcp 10.0.0.1:80 -> 192.168.1.2:80: weight 1 -> 3`. */
export function describeStep(step: PlanStep): string {
  const op = step.operation.op;
  const detail = step.detail === '' ? '' : op.startsWith('add-') ? ` (${step.detail})` : `: ${step.detail}`;
  return `${MARK[op]} ${step.target}${detail}`;
}

export function describeDraining(d: DrainingDestination, now: number): string {
  const seconds = Math.max(0, Math.round((now - d.since) / 1000));
  const tail = d.serviceRemoved ? '; its service is deleted after it' : '';
  return `= destination ${d.target}: draining for ${seconds} s (${d.activeConns} active, ${d.inactiveConns} inactive connections)${tail}`;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function summary(steps: readonly PlanStep[]): string {
  const adds = steps.filter((s) => s.operation.op.startsWith('add-')).length;
  const updates = steps.filter((s) => s.operation.op.startsWith('update-')).length;
  const deletes = steps.length - adds - updates;
  return `${adds} to add, ${updates} to update, ${deletes} to delete`;
}

/** The plan as `ipvs diff` prints it. */
export function describePlan(plan: Plan, now?: number): string {
  now = nowOption(now);
  let out = '';
  for (const step of plan.steps) out += describeStep(step) + '\n';
  for (const d of plan.draining) out += describeDraining(d, now) + '\n';
  if (plan.unmanaged.length > 0) {
    const shown = plan.unmanaged.slice(0, 5).map(serviceIdOf).join(', ');
    const more = plan.unmanaged.length > 5 ? `, ... (${plan.unmanaged.length - 5} more)` : '';
    out += `# left alone, not in the desired state (--prune deletes them): ${count(plan.unmanaged.length, 'service')}: ${shown}${more}\n`;
  }
  if (plan.inSync) out += '# in sync: no changes\n';
  else {
    out += `# ${count(plan.steps.length, 'change')}: ${summary(plan.steps)}`;
    if (plan.draining.length > 0) out += `; ${count(plan.draining.length, 'destination')} draining`;
    out += '\n';
  }
  return out;
}

/** What an apply did, as `ipvs apply` prints it: applied steps on `out`, failures and omissions on `err`. */
export function describeApplyResult(result: ApplyResult, now?: number): { out: string; err: string } {
  now = nowOption(now);
  if (result.dryRun) return { out: describePlan(result.plan, now), err: '' };
  let out = '';
  let err = '';
  for (const step of result.applied) out += describeStep(step) + '\n';
  // A destination whose weight-0 update failed or was not sent has not begun to drain: no line, and not counted.
  let draining = 0;
  for (const d of result.plan.draining) {
    if (!result.failed.some((f) => f.step.target === d.target) && !result.notAttempted.some((n) => n.step.target === d.target)) {
      out += describeDraining(d, now) + '\n';
      draining++;
    }
  }
  for (const f of result.failed) err += `! ${describeStep(f.step)}: failed: ${f.error.message}\n`;
  for (const n of result.notAttempted) err += `? ${describeStep(n.step)}: not attempted: ${n.reason}\n`;
  const total = result.plan.steps.length;
  if (total === 0) out += result.plan.draining.length > 0 ? `# no changes; ${count(result.plan.draining.length, 'destination')} draining\n` : '# in sync: no changes\n';
  else {
    out += `# ${result.applied.length} of ${count(total, 'change')} applied`;
    if (result.failed.length > 0) out += `, ${result.failed.length} failed`;
    if (result.notAttempted.length > 0) out += `, ${result.notAttempted.length} not attempted`;
    if (draining > 0) out += `; ${count(draining, 'destination')} draining`;
    out += '\n';
  }
  return { out, err };
}
