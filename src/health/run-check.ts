// Running one check with its timeout: dispatch on the check's type, bound it by `timeoutMs` on the
// injected scheduler (so tests are deterministic), and turn anything that goes wrong, including a custom
// function that throws or never settles, into a failed CheckResult (a custom call still running then is
// handed back as `straggler`). Never rejects. A failure for want of something of the checker's own host
// (descriptors, memory, ports) is marked `local`: it is no verdict.

import type { HealthScheduler } from './clock.js';
import type { NormalCheck } from './config.js';
import { httpProbe, type ProbeOutcome } from './http-check.js';
import { networkFailure } from './net-errors.js';
import { routeSourceAddress, virtualSourceHint } from './source-address.js';
import { tcpProbe } from './tcp-check.js';
import { udpProbe } from './udp-check.js';
import type { CheckResult, CheckTarget } from './types.js';

/** A check's result, and whether it did not run for want of a resource of the checker's own host. */
export interface CheckRun extends CheckResult {
  /** The errno name (EMFILE, ...; net-errors.ts) when the check failed for the checker's own reasons: no verdict on the server. */
  local?: string;
  /** A custom check's call still running when its timeout (or the stop) failed it: resolves when the call settles. */
  straggler?: Promise<unknown>;
}

export interface CheckContext {
  /** The virtual service (e.g. 'tcp [2001:db8::10]:80') whose address this normalised address is, if any. */
  virtualServiceOf(address: string): Promise<string | undefined> | string | undefined;
}

function probe(check: NormalCheck, target: CheckTarget, signal: AbortSignal): Promise<ProbeOutcome> {
  const spec = check.spec;
  switch (spec.type) {
    case 'http':
    case 'https':
      return httpProbe(spec, check.address, check.port, check.localAddress, signal);
    case 'tcp':
      return tcpProbe(check.address, check.port, check.localAddress, signal);
    case 'udp':
      return udpProbe(spec, check.address, check.port, check.localAddress, signal);
    case 'custom':
      return (async () => {
        const verdict: unknown = await spec.run(target, signal);
        const name = spec.name ?? 'custom check';
        if (verdict === true || verdict === undefined) return { ok: true, detail: `${name} passed` };
        if (verdict === false) return { ok: false, detail: `${name} returned false` };
        // A fetch Response, 'false', 0, null: a mistake that passing would hide behind a dead server.
        return { ok: false, detail: `${name} returned ${verdictText(verdict)}, not true, false or nothing` };
      })();
  }
}

/** A custom check's answer that is no verdict, for the failure's detail. */
function verdictText(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'object' && value !== null) return Object.prototype.toString.call(value);
  return String(value);
}

/**
 * After a timeout: why, when the check's source was a virtual address and the server holds that address too
 * (direct routing, tunnel; a NAT server does not, and answers the director whatever the source). The source
 * of an http(s), tcp or udp check: the localAddress given, else the one Linux picks for the route.
 */
async function explainVirtualSource(check: NormalCheck, target: CheckTarget, context: CheckContext): Promise<string | undefined> {
  const forwarding = target.destination.forwarding ?? 'route';
  if (check.spec.type === 'custom' || (forwarding !== 'route' && forwarding !== 'tunnel')) return undefined;
  try {
    const source = check.localAddress ?? (await routeSourceAddress(check.address, check.port));
    const serviceId = source === undefined ? undefined : await context.virtualServiceOf(source);
    return serviceId === undefined ? undefined : virtualSourceHint(source!, serviceId, check.localAddress !== undefined);
  } catch {
    return undefined; // an explanation only
  }
}

/**
 * Run `check` against `target`; `stop` aborts it early (the checker is stopping). With a `context`, a check
 * that times out from a virtual address says so (see source-address.ts).
 */
export async function runCheck(check: NormalCheck, target: CheckTarget, scheduler: HealthScheduler, stop: AbortSignal, context?: CheckContext): Promise<CheckRun> {
  const started = scheduler.now();
  // An 'abort' listener added to a signal already aborted never runs: the check would wait its whole timeout.
  if (stop.aborted) return { ok: false, detail: 'stopped', durationMs: 0 };
  const controller = new AbortController();
  const onStop = (): void => controller.abort();
  stop.addEventListener('abort', onStop, { once: true });
  let timedOut = false;
  let timer: { cancel(): void } | undefined;
  const deadline = new Promise<ProbeOutcome>((resolve) => {
    timer = scheduler.schedule(check.timeoutMs, () => {
      timedOut = true;
      controller.abort();
      resolve({ ok: false, detail: `no answer within ${check.timeoutMs} ms` });
    });
    controller.signal.addEventListener('abort', () => resolve({ ok: false, detail: timedOut ? `no answer within ${check.timeoutMs} ms` : 'stopped' }), { once: true });
  });
  let outcome: ProbeOutcome;
  let running: Promise<ProbeOutcome> | undefined;
  let settled = false;
  try {
    running = probe(check, target, controller.signal).catch((err: unknown): ProbeOutcome => networkFailure(err));
    // Both ways: networkFailure itself throws for a rejection with no prototype (a TypeError, handled below).
    const done = (): void => void (settled = true);
    running.then(done, done);
    outcome = await Promise.race([running, deadline]);
  } catch (err) {
    outcome = networkFailure(err);
  } finally {
    timer?.cancel();
    stop.removeEventListener('abort', onStop);
  }
  if (timedOut && outcome.ok === false) outcome = { ok: false, detail: `no answer within ${check.timeoutMs} ms` };
  // A probe finishing after it was aborted reports how it died; the abort is the real reason.
  if (controller.signal.aborted && !timedOut && !outcome.ok) outcome = { ok: false, detail: 'stopped' };
  const durationMs = Math.round(scheduler.now() - started);
  if (timedOut && !outcome.ok && context && !stop.aborted) {
    const hint = await explainVirtualSource(check, target, context);
    if (hint !== undefined) outcome = { ok: false, detail: `${outcome.detail}; ${hint}` };
  }
  // http, tcp and udp probes end on the abort; a custom function may not: the checker tells its caller so (checker.ts).
  const straggler = check.spec.type === 'custom' && !settled && running !== undefined ? { straggler: running.then(() => undefined, () => undefined) } : {};
  return { ok: outcome.ok, detail: outcome.detail, durationMs, ...(!outcome.ok && outcome.local !== undefined ? { local: outcome.local } : {}), ...straggler };
}
