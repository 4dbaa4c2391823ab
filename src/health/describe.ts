// The checker's log lines, in words a person on call understands at 3 a.m.: which service, which server,
// what happened, why, and what was done about it. Kept apart from the checker so the wording is in one
// place and tests can read it.

import type { NormalHealthService, NormalRealServer } from './config.js';
import type { PlannedChange } from './table.js';
import type { CheckResult, HealthStatus } from './types.js';

const seconds = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

export function describeStart(svc: NormalHealthService): string {
  const n = svc.realServers.length;
  const checks = [...new Set(svc.realServers.map((r) => `${r.check.label.split(' ')[0]} every ${seconds(r.check.intervalMs)}, rise ${r.check.rise}, fall ${r.check.fall}`))];
  const sorry = svc.sorry ? `; sorry server ${svc.sorry.id}` : '';
  const action = svc.onFailure === 'quiesce' ? 'quiesced (weight 0)' : 'removed';
  return `${svc.id}: checking ${n} real server${n === 1 ? '' : 's'} (${checks.join('; ') || 'none'}); a server that is down is ${action}${sorry}`;
}

export function describeTransition(
  svc: NormalHealthService,
  rs: NormalRealServer,
  status: HealthStatus,
  previous: HealthStatus | 'unknown',
  consecutive: number,
  result: CheckResult,
): string {
  const where = `${svc.id}: real server ${rs.id}`;
  if (previous === 'unknown' && status === 'up' && !result.ok) {
    return `${where} is up: the table already serves it, and its first check failed (1 of ${rs.check.fall} before it counts as down: ${result.detail})`;
  }
  if (previous === 'unknown') return `${where} is ${status} (${result.detail})`;
  if (status === 'down') return `${where} is DOWN: ${consecutive} check${consecutive === 1 ? '' : 's'} failed in a row (last: ${result.detail})`;
  return `${where} is UP again: ${consecutive} check${consecutive === 1 ? '' : 's'} passed in a row (${result.detail})`;
}

export function describeCheck(svc: NormalHealthService, rs: NormalRealServer, result: CheckResult): string {
  return `${svc.id}: ${rs.check.label}: ${result.ok ? 'ok' : 'FAILED'}, ${result.detail} (${result.durationMs} ms)`;
}

/** `othersServing`: the sorry server goes out though every configured server is down, because these serve. */
export function describeChange(svc: NormalHealthService, c: PlannedChange, othersServing?: string): string {
  const what = c.sorry ? `the sorry server ${c.destinationId}` : c.destinationId;
  const spec = c.operation.op === 'add-destination' || c.operation.op === 'update-destination' ? c.operation.destination : undefined;
  const w = spec?.weight ?? 1;
  switch (c.kind) {
    case 'add':
      return c.sorry
        ? `${svc.id}: every real server is down: added ${what} (${spec?.forwarding ?? 'route'}, weight ${w})`
        : `${svc.id}: added ${what} (${spec?.forwarding ?? 'route'}, weight ${w})`;
    case 'restore':
      return `${svc.id}: restored ${what} to weight ${w}`;
    case 'quiesce':
      return `${svc.id}: quiesced ${what} (weight ${c.before?.weight ?? '?'} -> 0; its open connections finish)`;
    case 'update':
      return `${svc.id}: set ${what} to its configured options (${differences(c) || `weight ${c.before?.weight ?? '?'} -> ${w}`})`;
    case 'remove':
      if (c.sorry && othersServing !== undefined) return `${svc.id}: ${othersServing}: removed ${what}`;
      return c.sorry ? `${svc.id}: a real server is back: removed ${what}` : `${svc.id}: removed ${what}`;
  }
}

/** What an update changes, e.g. 'forwarding masq -> route, weight 2 -> 3': the weight alone is often not it. */
function differences(c: PlannedChange): string {
  const { before, after } = c;
  if (before === undefined || after === undefined) return '';
  const tunnel = (b: typeof before): string => (b.tunnel ? `${b.tunnel.type}${b.tunnel.port ? ` port ${b.tunnel.port}` : ''} ${b.tunnel.checksum}` : 'none');
  const fields: [string, string | number, string | number][] = [
    ['forwarding', before.forwarding, after.forwarding],
    ['weight', before.weight, after.weight],
    ['upper threshold', before.upperThreshold, after.upperThreshold],
    ['lower threshold', before.lowerThreshold, after.lowerThreshold],
    ['tunnel', tunnel(before), tunnel(after)],
  ];
  return fields.filter(([, b, a]) => b !== a).map(([name, b, a]) => `${name} ${b} -> ${a}`).join(', ');
}

export function describeFailedChange(svc: NormalHealthService, c: PlannedChange): string {
  const what = c.sorry ? `the sorry server ${c.destinationId}` : c.destinationId;
  return `${svc.id}: could not ${c.kind} ${what}`;
}
