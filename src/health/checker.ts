// The health checker: checks every configured real server on its own timer, decides up and down with
// rise/fall counts, and keeps the kernel's table in line through the client (never ipvsadm). It owns the
// lifecycle (start: set up the services, check everything once, reconcile the table with the verdicts;
// stop: cancel timers, abort checks in flight, let the last changes land), the per-service belief of
// what the kernel holds, and the serialisation of changes: one sync per service at a time, later
// requests coalesced into one more run that sees the newest verdicts, so a change is never sent twice
// and never sent out of order. A failed change or read marks the service for a fresh read of the table
// and a retry; nothing a network or the kernel does ends the process.

import { setMaxListeners } from 'node:events';
import { ValidationError } from '../ipvs/errors.js';
import { booleanOption, onlyKnownOptions, optionKeys } from '../ipvs/option-keys.js';
import type { ServiceKey } from '../ipvs/types.js';
import { destinationKeyText, serviceKeyText, validateServiceSpec } from '../ipvs/validate.js';
import { asIpvsError, IpvsError } from '../netlink/errors.js';
import { apply, type StepFailure } from '../reconcile/apply.js';
import { describeStep } from '../reconcile/describe.js';
import { normalKernelService, normalServiceOf, sameService, serviceDifferences, serviceSpecOf, type NormalService } from '../reconcile/normalize.js';
import type { ReconcileClient } from '../reconcile/plan.js';
import { systemScheduler, type HealthScheduler, type Timer } from './clock.js';
import { CheckSlots } from './check-slots.js';
import { checksInFlightOf, normaliseHealthConfig, slowdownText, worstCaseChecksInFlight, type NormalHealthService, type NormalRealServer } from './config.js';
import { RepeatedWarnings } from './repeated-warnings.js';
import { describeChange, describeCheck, describeFailedChange, describeStart, describeTransition } from './describe.js';
import { TypedEmitter } from './emitter.js';
import { runCheck, type CheckRun } from './run-check.js';
import { believedOf, planChanges, wantedDestinations, type BelievedDestination, type PlannedChange } from './table.js';
import type { CheckEvent, CheckResult, HealthClient, HealthConfig, HealthEvents, HealthLogger, HealthStatus, ServiceHealth } from './types.js';

export interface HealthCheckerOptions {
  ipvs: HealthClient;
  config: HealthConfig;
  /** Where log lines go (e.g. console). Default: nowhere. */
  logger?: HealthLogger;
  /** Time source for intervals, timeouts and retries. Default: the system clock. */
  scheduler?: HealthScheduler;
  /** Random numbers in [0, 1) for jitter, the first wait after start-up and a retry's wait. Default Math.random. */
  random?: () => number;
  /** Re-read the table this often, repairing what others changed (destinations, and options with manageServices); 0: never. Default 30 000. */
  resyncIntervalMs?: number;
  /**
   * After a failed kernel change or read, re-read the table and retry after this long, doubled after
   * every retry that fails too, up to retryMaxMs. Default 2000.
   */
  retryMs?: number;
  /** The longest wait between retries of a change or read that keeps failing. Default 60 000 (at least retryMs). */
  retryMaxMs?: number;
  /**
   * At start, create services the table lacks and correct their options (scheduler, persistence, ...);
   * later, set options another writer changed back at the next read and re-create a service someone
   * deleted. Default true. With false the services must exist and their options are left alone.
   */
  manageServices?: boolean;
}

export interface StopOptions {
  /** Delete the configured services on the way out. Default false: the table is left as it is. */
  removeServices?: boolean;
}

const CHECKER_KEYS = optionKeys<HealthCheckerOptions>('', {
  ipvs: true, config: true, logger: true, scheduler: true, random: true, resyncIntervalMs: true, retryMs: true, retryMaxMs: true, manageServices: true,
});
const STOP_KEYS = optionKeys<StopOptions>('', { removeServices: true });

interface DestState {
  rs: NormalRealServer;
  status: HealthStatus | 'unknown';
  lastOk: boolean | undefined;
  consecutive: number;
  last: CheckResult | undefined;
  timer: Timer | undefined;
  running: Promise<void> | undefined;
  /** Checks in a row that could not run for want of something of the checker's own (EMFILE, ...): the retry's backoff. */
  unrun: number;
  /** The latest of those, while unrun > 0 (status()). */
  lastUnrun: { code: string; result: CheckResult } | undefined;
  /** Calls of its custom check still running after their timeout failed them (see straggling()). */
  stragglers: number;
  /** At start the table already served it at its configured weight: it starts up and goes down only after `fall` failures. */
  heldUp: boolean;
  /** Adds of it the kernel refused in a row with EINVAL (an address Linux does not take as a destination): see refused(). */
  refusals: number;
  /** While refusals > 0: until when (scheduler time) it is left out, and the timer of the next try. */
  refusedUntil: number;
  refusedTimer: Timer | undefined;
  /** The latest refusal, while refusals > 0 (status()). */
  lastRefusal: { code: string; message: string } | undefined;
}

interface ServiceState {
  svc: NormalHealthService;
  /** The configured options (scheduler, persistence, flags, ...) in the form reconcile compares. */
  options: NormalService;
  /** The options the table held at the last read (undefined: not read yet, or the service was re-created). */
  tableOptions: NormalService | undefined;
  dests: DestState[];
  believed: Map<string, BelievedDestination>;
  /** Destinations of the service the config does not name that have a weight (id -> weight), as last read. */
  others: Map<string, number>;
  /** What the last log line about the sorry server held out by `others` named ('' for none). */
  othersLogged: string;
  dirty: boolean;
  syncing: Promise<void> | undefined;
  again: boolean;
  retryTimer: Timer | undefined;
  /** When the retry timer fires (scheduler time). */
  retryAt: number;
  /** Retries scheduled since the last sync that went through: the backoff's exponent. */
  failures: number;
  /** Set by fail(): the sync under way did not go through. */
  runFailed: boolean;
  /** Failures warned of since the last sync that went through: repeats are throttled. */
  warned: RepeatedWarnings;
  /**
   * Options set back after another writer changed them: throttled the same way, but not forgotten when a
   * sync goes through (each correction does), so a writer that keeps changing them is not a warning a pass.
   */
  optionsWarned: RepeatedWarnings;
}

/**
 * A check that could not run for want of something of the checker's own host (descriptors, memory, ports)
 * is tried again after this long (half of it to all of it, at random), doubled at every such failure in a
 * row, up to the check's interval.
 */
const UNRUN_RETRY_MS = 1000;

/**
 * After a warning that checks could not run, how long every check must run (none failing for the checker's own
 * reasons) before the log says they run again: a shortage that comes and goes (a descriptor count near its
 * limit) would otherwise be a warning and a recovery line every few seconds.
 */
export const UNRUN_QUIET_MS = 60_000;
/** How long the table's virtual addresses, read to explain a check that timed out, are reused. */
const TABLE_ADDRESSES_MS = 30_000;

/** The longest wait a timer takes (2^31 - 1 ms, some 24.8 days): Node fires a longer one, Infinity or NaN after 1 ms. */
const MAX_WAIT_MS = 2_147_483_647;

/** A timing option of the checker, checked: an integer number of ms from `min` to MAX_WAIT_MS, or the default. */
function waitOption(name: string, value: unknown, fallback: number, min: number, note = ''): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_WAIT_MS) {
    throw new ValidationError(name, value, `must be an integer number of milliseconds from ${min} to ${MAX_WAIT_MS}${note}`);
  }
  return value;
}

type Phase = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The ids of an event about one real server. Keys, specs, operations and results handed to code of the
 * caller's (events, status(), a custom check's target) are copies: the caller may change them, and the ones
 * the checker sends by stay as configured.
 */
type DestinationEventFields = Pick<CheckEvent, 'service' | 'serviceId' | 'destination' | 'destinationId'>;

const NO_LOG: HealthLogger = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * The `logger` option: left out, nothing is logged; given, it must have the methods the checker calls. Each call
 * is made so that it cannot stop the checker: a logger that throws (a sink with a hiccup, once in weeks) loses
 * that line, and the promise of an async one that rejects is dropped. Thrown from inside the checker, it ended
 * the check loop of the server whose line it was (never checked again) and left the change it told of unsent;
 * a rejection was an unhandled one, which ends a Node process.
 */
function loggerOption(logger: unknown): HealthLogger {
  if (logger === undefined) return NO_LOG;
  const l = logger as Partial<Record<keyof HealthLogger, unknown>> | null;
  const missing = typeof l !== 'object' || l === null ? 'info' : (['info', 'warn', 'error'] as const).find((m) => typeof l[m] !== 'function');
  if (missing !== undefined) throw new ValidationError('logger', logger, `must be an object with info, warn and error methods (and debug, optional), such as console: ${missing} is not a function`);
  if (l!.debug !== undefined && typeof l!.debug !== 'function') throw new ValidationError('logger', logger, 'must have a debug method, or none');
  const given = l as HealthLogger;
  // Called as methods of the logger (a pino or winston logger needs its `this`), looked up at each call as before.
  const safe = (level: keyof HealthLogger) => (message: string): void => {
    try {
      const returned: unknown = (given[level] as (m: string) => unknown).call(given, message);
      if (typeof (returned as PromiseLike<unknown> | undefined)?.then === 'function') (returned as PromiseLike<unknown>).then(undefined, () => {});
    } catch {
      // The line is lost; the checker goes on.
    }
  };
  // debug only when given: the checker builds each check's line only for a logger that takes it.
  return { info: safe('info'), warn: safe('warn'), error: safe('error'), ...(given.debug !== undefined ? { debug: safe('debug') } : {}) };
}

/** Start-up's apply is tried this often when the only failures are races with another writer. */
const SET_UP_ATTEMPTS = 3;

/** A service step refused only because another writer got there first: it exists, or it is gone. */
function raced(f: StepFailure): boolean {
  const code = f.error.code;
  return (f.step.operation.op === 'add-service' && code === 'EEXIST') || (f.step.operation.op === 'update-service' && code === 'ESRCH');
}

/**
 * A change execute() skipped (never sent: without stopOnError or a signal, only after the receive buffer
 * overflowed on an earlier part of the same call) or a result missing: code ENOTSENT, as the engine's own.
 */
const notAttempted = (): IpvsError => new IpvsError('not attempted', 'ENOTSENT');

/** A change that takes a destination out of rotation (weight 0 or deleted). */
const takesAway = (c: PlannedChange): boolean => c.kind === 'quiesce' || c.kind === 'remove';

const destinationIdOf = (address: string, port: number): string => destinationKeyText(address, port, address.includes(':'));

/** Whether `d` is left out of the table at `now`, within the backoff of an add the kernel refused (refused()). */
function isRefused(d: DestState, now: number): boolean {
  return d.refusals > 0 && now < d.refusedUntil;
}

/** The destinations the config does not name that serve, e.g. '10.0.0.9:80 (weight 5), not in the config, serves'. */
function othersText(s: ServiceState): string {
  const list = [...s.others].map(([id, w]) => `${id} (weight ${w})`);
  return `${list.join(', ')}, not in the config, ${list.length === 1 ? 'serves' : 'serve'}`;
}

export class HealthChecker extends TypedEmitter<HealthEvents> {
  private readonly ipvs: HealthClient;
  private readonly log: HealthLogger;
  private readonly scheduler: HealthScheduler;
  private readonly random: () => number;
  private readonly resyncIntervalMs: number;
  private readonly retryMs: number;
  private readonly retryMaxMs: number;
  private readonly manageServices: boolean;
  private readonly services: ServiceState[];
  private readonly stopController = new AbortController();
  private resyncTimer: Timer | undefined;
  private phase: Phase = 'new';
  /** start()'s work, settled either way: stop() waits for it. */
  private starting: Promise<void> | undefined;
  /** The stop under way: a second stop() waits for it. */
  private stopping: Promise<void> | undefined;
  /** The configured services' virtual addresses, to their names. */
  private readonly configAddresses = new Map<string, string>();
  /** Those of every service in the table (others' too), read when a check times out; see virtualServiceOf. */
  private tableAddresses: { at: number; byAddress: Promise<Map<string, string>> } | undefined;
  private readonly checkContext = { virtualServiceOf: (address: string) => this.virtualServiceOf(address) };
  /** The bound on checks in flight (the config's maxChecksInFlight). */
  private readonly slots: CheckSlots;
  /** Checks in flight at once if every one timed out (worstCaseChecksInFlight), and whether the config set the bound. */
  private readonly worstCase: number;
  private readonly boundGiven: boolean;
  /** Checks that could not run (EMFILE, ...): warned of once, then at most every 10 min with the count. */
  private readonly unrunWarned = new RepeatedWarnings('problem');
  /** Custom checks whose calls pile up past their timeout: warned of once per server, then at most every 10 min. */
  private readonly stragglersWarned = new RepeatedWarnings('warning');
  /** Servers whose latest check could not run. */
  private unrunServers = 0;
  /** Checks that could not run since the last warning of it, while its recovery is yet to be logged (undefined: none due). */
  private unrunSinceWarning: number | undefined;
  /** The quiet time after which the recovery is logged (UNRUN_QUIET_MS). */
  private unrunQuietTimer: Timer | undefined;

  /** Checks the config and the timing options at once: a bad one throws ValidationError naming the path of the field. */
  constructor(options: HealthCheckerOptions) {
    super((err, event) => this.log.error(`a listener of the '${String(event)}' event threw: ${err instanceof Error ? err.message : String(err)}`));
    onlyKnownOptions(options, CHECKER_KEYS);
    this.ipvs = options.ipvs;
    this.log = loggerOption(options.logger);
    this.scheduler = options.scheduler ?? systemScheduler;
    if (options.random !== undefined && typeof options.random !== 'function') {
      throw new ValidationError('random', options.random, 'must be a function returning a number in [0, 1), such as Math.random');
    }
    this.random = options.random ?? Math.random;
    // Checked before anything is scheduled: a wait beyond a timer's reach would fire after 1 ms, every time.
    this.resyncIntervalMs = waitOption('resyncIntervalMs', options.resyncIntervalMs, 30_000, 0, ' (0: never)');
    this.retryMs = waitOption('retryMs', options.retryMs, 2000, 1);
    this.retryMaxMs = Math.max(this.retryMs, waitOption('retryMaxMs', options.retryMaxMs, 60_000, 1));
    this.manageServices = booleanOption('manageServices', options.manageServices, true);
    // Every check in flight listens for the stop on this one signal, and up to maxChecksInFlight run at
    // once: past 10 Node would print "Possible EventTarget memory leak detected", though each listener
    // goes with its check. The signal is the checker's own, never given out, so the limit is lifted on it.
    setMaxListeners(0, this.stopController.signal);
    this.services = normaliseHealthConfig(options.config).map((svc) => ({
      svc,
      options: normalServiceOf(validateServiceSpec(svc.spec)),
      tableOptions: undefined,
      dests: svc.realServers.map((rs) => ({ rs, status: 'unknown', lastOk: undefined, consecutive: 0, last: undefined, timer: undefined, running: undefined, unrun: 0, lastUnrun: undefined, stragglers: 0, heldUp: false, refusals: 0, refusedUntil: 0, refusedTimer: undefined, lastRefusal: undefined })),
      believed: new Map(),
      others: new Map(),
      othersLogged: '',
      dirty: true,
      syncing: undefined,
      again: false,
      retryTimer: undefined,
      retryAt: 0,
      failures: 0,
      runFailed: false,
      warned: new RepeatedWarnings('failure'),
      optionsWarned: new RepeatedWarnings('change'),
    }));
    const normal = this.services.map((s) => s.svc);
    this.slots = new CheckSlots(checksInFlightOf(options.config, normal));
    this.worstCase = worstCaseChecksInFlight(normal);
    this.boundGiven = (options.config as { maxChecksInFlight?: unknown }).maxChecksInFlight !== undefined;
    for (const { svc } of this.services) if ('address' in svc.key && !this.configAddresses.has(svc.key.address)) this.configAddresses.set(svc.key.address, svc.id);
  }

  /**
   * Set up the services, check every real server once, and make the table agree with what was found
   * (the table may hold servers that are down, or lack ones that are up). Resolves once that is done and
   * the periodic checks are running. Rejects only if the services cannot be set up (no permission, no
   * IPVS, another writer's changes racing it three times in a row): later failures are events and log lines, retried. A stop() called meanwhile ends start-up at
   * its next step (the request under way finishes); start() then resolves, before stop() does.
   */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new IpvsError(`the health checker cannot start: it is ${this.phase}`, 'EINVALIDSTATE');
    this.phase = 'starting';
    const run = this.startUp();
    this.starting = run.catch(() => {});
    return run;
  }

  private async startUp(): Promise<void> {
    try {
      if (this.manageServices) await this.setUpServices();
      if (this.isStopping()) return;
      await Promise.all(this.services.map((s) => this.readHeld(s)));
      if (this.isStopping()) return;
      for (const s of this.services) this.log.info(describeStart(s.svc));
      this.logBoundShort();
      await Promise.all(this.services.flatMap((s) => s.dests.map(async (d) => this.counted(s, d, await this.check(s, d)))));
      if (this.isStopping()) return;
      await Promise.all(this.services.map((s) => this.requestSync(s)));
    } catch (err) {
      // A stop() under way sets 'stopped' itself once it is done.
      if (!this.isStopping()) this.phase = 'stopped';
      throw err;
    }
    if (this.isStopping()) return;
    this.phase = 'running';
    for (const s of this.services) for (const d of s.dests) this.scheduleCheck(s, d, true);
    this.scheduleResync();
  }

  /**
   * Stop checking: cancel every timer, abort checks in flight, wait for start-up (if start() is still
   * running) and for changes already under way. Once it resolves nothing the checker does changes the
   * table. The table is left as it is unless `removeServices` (a later start reconciles it again).
   * Idempotent: a call while a stop is under way waits for that one (whose options apply).
   */
  stop(options: StopOptions = {}): Promise<void> {
    try {
      onlyKnownOptions(options, STOP_KEYS);
      booleanOption('removeServices', options.removeServices, false);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.phase === 'stopped') return Promise.resolve();
    this.stopping ??= this.shutDown(options);
    return this.stopping;
  }

  /** `await using checker = new HealthChecker(...)`: stop() (the table left as it is) when the block ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async shutDown(options: StopOptions): Promise<void> {
    this.phase = 'stopping';
    this.stopController.abort();
    this.resyncTimer?.cancel();
    this.unrunQuietTimer?.cancel();
    for (const s of this.services) {
      s.retryTimer?.cancel();
      for (const d of s.dests) {
        d.timer?.cancel();
        d.refusedTimer?.cancel();
      }
    }
    await this.starting;
    await Promise.allSettled(this.services.flatMap((s) => s.dests.map((d) => d.running)));
    await this.settled();
    if (options.removeServices) {
      for (const s of this.services) {
        try {
          await this.ipvs.deleteService(s.svc.key);
          this.log.info(`${s.svc.id}: deleted the service`);
        } catch (err) {
          if ((err as { code?: string }).code !== 'ESRCH') this.fail(s, err, `could not delete the service ${s.svc.id}`, false);
        }
      }
    }
    this.phase = 'stopped';
  }

  /** Resolves when no change to the table is under way or queued. */
  async settled(): Promise<void> {
    for (;;) {
      const pending = this.services.map((s) => s.syncing).filter((p) => p !== undefined);
      if (pending.length === 0) return;
      await Promise.allSettled(pending);
    }
  }

  /** Every service and real server as the checker sees them now. */
  status(): ServiceHealth[] {
    return this.services.map((s) => ({
      service: { ...s.svc.key },
      serviceId: s.svc.id,
      sorryActive: s.svc.sorry !== undefined && s.believed.has(s.svc.sorry.id),
      destinations: s.dests.map((d) => ({
        destination: { ...d.rs.key },
        destinationId: d.rs.id,
        status: d.status,
        consecutive: d.consecutive,
        weight: d.rs.spec.weight,
        ...(d.last ? { lastResult: { ...d.last } } : {}),
        ...(d.unrun > 0 && d.lastUnrun ? { unchecked: { count: d.unrun, code: d.lastUnrun.code, result: { ...d.lastUnrun.result } } } : {}),
        ...(d.refusals > 0 && d.lastRefusal ? { refused: { count: d.refusals, ...d.lastRefusal } } : {}),
      })),
    }));
  }

  // Start-up

  private async setUpServices(): Promise<void> {
    const ipvs = this.ipvs;
    const client: ReconcileClient = {
      async *iterateServices(options) {
        yield* await ipvs.services(options);
      },
      destinations: (key, options) => ipvs.destinations(key, options),
      execute: (ops, options) => ipvs.execute(ops, options),
    };
    for (let attempt = 1; ; attempt++) {
      const result = await apply(client, { services: this.services.map((s) => s.svc.spec) });
      for (const step of result.applied) this.log.info(`set up: ${describeStep(step)}`);
      const problem = result.failed[0];
      if (!problem) return;
      // Another writer added or deleted a service between the read and the write: a fresh read converges,
      // as every later sync does. Anything else (no permission, no scheduler module, ...) is fatal.
      if (attempt < SET_UP_ATTEMPTS && result.failed.every(raced)) {
        for (const f of result.failed) this.log.warn(`set up: ${describeStep(f.step)}: ${f.error.message}: changed by another writer meanwhile; reading the table again`);
        if (this.isStopping()) return;
        continue;
      }
      throw new IpvsError(`could not set up ${problem.step.target}: ${problem.error.message}`, problem.error.code, { cause: problem.error });
    }
  }

  // Checking

  /**
   * Say at start when the bound on checks in flight is below what the config needs if every check times out (a
   * network partition, a rack down): the checks then queue, and each server is checked that many times less
   * often, so a failure takes as many times longer to act on. A warning when the bound is the default (the limit
   * on open files is too low for the config), else an info line (the config chose it).
   */
  private logBoundShort(): void {
    const bound = this.slots.size;
    if (bound >= this.worstCase) return;
    const factor = slowdownText(this.worstCase, bound);
    const why = this.boundGiven ? 'maxChecksInFlight' : "the default: a quarter of the process's limit on open files";
    const remedy = this.boundGiven ? 'raise maxChecksInFlight' : 'raise the limit on open files (ulimit -n, LimitNOFILE=) or set maxChecksInFlight';
    const text = `at most ${bound} checks at a time (${why}): if every check timed out, ${this.worstCase} would be in flight at once, and each server would be checked about ${factor} times less often than its interval; ${remedy} to ${this.worstCase} or more`;
    if (this.boundGiven) this.log.info(text);
    else this.log.warn(text);
  }

  private isStopping(): boolean {
    return this.phase === 'stopping' || this.phase === 'stopped';
  }

  /** Run one check of `d` once a slot is free (see CheckSlots); its timeout starts when it runs. */
  private async check(s: ServiceState, d: DestState): Promise<CheckRun> {
    const release = await this.slots.take();
    try {
      const target = { address: d.rs.check.address, port: d.rs.check.port, service: { ...s.svc.key }, destination: structuredClone(d.rs.spec) };
      const run = await runCheck(d.rs.check, target, this.scheduler, this.stopController.signal, this.checkContext);
      if (run.straggler) this.straggling(s, d, run.straggler);
      return run;
    } finally {
      release();
    }
  }

  /**
   * A custom check's call outlived its timeout: its function goes on after its signal aborted. The checker waits
   * for it no longer (the server's check failed, its slot is free), but a function whose calls never end piles one
   * up per interval, with whatever each holds (a socket each: descriptors, until EMFILE stops every check). Two of
   * one server's calls running at once is a warning, repeated as other warnings are.
   */
  private straggling(s: ServiceState, d: DestState, call: Promise<unknown>): void {
    d.stragglers++;
    void call.then(() => d.stragglers--);
    if (d.stragglers < 2 || this.isStopping()) return;
    const text = `${s.svc.id}: ${d.rs.id}: ${d.rs.check.label}: calls that failed at their timeout are still running, one more each interval: make the function end its work when its signal aborts (what each call holds stays held)`;
    const verdict = this.stragglersWarned.note(text, this.scheduler.now());
    if (verdict.repeat) this.log.debug?.(`${text}; ${d.stragglers} now`);
    else this.log.warn(`${text}; ${d.stragglers} now${verdict.since}`);
  }

  /** Count a check's result, unless it did not run for want of something of the checker's own. */
  private counted(s: ServiceState, d: DestState, run: CheckRun): void {
    const { local, straggler: _straggler, ...result } = run;
    if (local === undefined) {
      if (d.unrun > 0) this.ranAgain(d);
      this.record(s, d, result);
    } else this.unrun(s, d, result, local);
  }

  /**
   * A check of a server whose checks could not run has run. Once no server's latest check failed so, and none has
   * for UNRUN_QUIET_MS, the log says they run again (if it warned that they could not), and a new shortage is a
   * warning again rather than a debug line under the old one.
   */
  private ranAgain(d: DestState): void {
    d.unrun = 0;
    d.lastUnrun = undefined;
    if (--this.unrunServers > 0 || this.unrunSinceWarning === undefined || this.isStopping()) return;
    this.unrunQuietTimer?.cancel();
    this.unrunQuietTimer = this.scheduler.schedule(UNRUN_QUIET_MS, () => {
      this.unrunQuietTimer = undefined;
      const n = this.unrunSinceWarning ?? 0;
      this.unrunSinceWarning = undefined;
      this.unrunWarned.clear();
      this.log.info(`checks run again: every check that could not run has run, and none has failed for want of the checker's own resources for ${UNRUN_QUIET_MS / 1000} s (${n} could not run since the warning)`);
    });
  }

  /**
   * A check that could not run (EMFILE, ENOBUFS, ...; net-errors.ts): it says nothing about the server, whose
   * state and count of checks in a row stay as they were. Tried again soon (scheduleCheck); one warning
   * for a burst of them, however many servers, and an `unchecked` event each.
   */
  private unrun(s: ServiceState, d: DestState, result: CheckResult, code: string): void {
    if (this.isStopping()) return;
    if (d.unrun++ === 0) this.unrunServers++;
    d.lastUnrun = { code, result };
    this.unrunQuietTimer?.cancel();
    this.unrunQuietTimer = undefined;
    const text = `checks could not run: ${result.detail}; no server's state changes for that, and each such check is tried again within ${UNRUN_RETRY_MS} ms, then at longer waits up to its interval`;
    const verdict = this.unrunWarned.note(text, this.scheduler.now());
    const line = `${s.svc.id}: ${d.rs.id}: ${d.rs.check.label} could not run (${result.detail}); its state stays ${d.status}`;
    if (verdict.repeat) {
      if (this.unrunSinceWarning !== undefined) this.unrunSinceWarning++;
      this.log.debug?.(line);
    } else {
      this.unrunSinceWarning = 1;
      this.log.warn(`${text}${verdict.since}; for example ${s.svc.id}: ${d.rs.id}`);
    }
    this.emit('unchecked', {
      service: { ...s.svc.key },
      serviceId: s.svc.id,
      destination: { ...d.rs.key },
      destinationId: d.rs.id,
      result: { ...result },
      code,
      status: d.status,
    });
  }

  /**
   * The service whose virtual address `address` is: a configured one, else any in the table (read at most
   * every TABLE_ADDRESSES_MS, and only when a check timed out, to explain it; a failed read explains nothing).
   */
  private async virtualServiceOf(address: string): Promise<string | undefined> {
    const own = this.configAddresses.get(address);
    if (own !== undefined) return own;
    const now = this.scheduler.now();
    if (!this.tableAddresses || now - this.tableAddresses.at >= TABLE_ADDRESSES_MS) {
      const byAddress = new Map<string, string>();
      const read = this.ipvs.services({ stats: false }).then(
        (services) => {
          for (const s of services) if (s.address !== undefined && !byAddress.has(s.address)) byAddress.set(s.address, serviceKeyText(s, s.family === 'ipv6'));
          return byAddress;
        },
        () => byAddress,
      );
      this.tableAddresses = { at: now, byAddress: read };
    }
    return (await this.tableAddresses.byAddress).get(address);
  }

  /**
   * A number of the `random` option, for a wait: one outside [0, 1), or a throw, counts as 0. A NaN made the wait
   * NaN, which a timer fires after 1 ms (a check every millisecond, for good), and a throw ended the check loop.
   */
  private draw(): number {
    let r: unknown;
    try {
      r = this.random();
    } catch {
      return 0;
    }
    return typeof r === 'number' && r >= 0 && r < 1 ? r : 0;
  }

  /**
   * `first`: the check after start-up's, which checked every server at once. Its wait is drawn from the whole
   * interval (up to intervalMs), so that servers' checks are spread over it from then on; at intervalMs plus
   * jitter they started within the jitter of one another, and that burst came back every interval for many
   * minutes (a random walk of jitterMs steps is slow to cover an interval): with many servers timing out, all of
   * them in flight at once instead of the rate times the timeout, and with the bound full, healthy servers'
   * checks queued behind them.
   */
  private scheduleCheck(s: ServiceState, d: DestState, first = false): void {
    if (this.isStopping()) return;
    const c = d.rs.check;
    // A check that could not run is tried again soon, at a random point of the wait's second half whatever
    // jitterMs: the checks of a burst (every server's, at start) must not come back together.
    const retry = d.unrun > 0 ? Math.min(c.intervalMs, UNRUN_RETRY_MS * 2 ** Math.min(d.unrun - 1, 30)) : 0;
    const wait =
      retry > 0 ? Math.ceil(retry * (1 - this.draw() / 2)) : first ? Math.ceil(c.intervalMs * (1 - this.draw())) : c.intervalMs + Math.floor(this.draw() * c.jitterMs);
    d.timer = this.scheduler.schedule(wait, () => {
      d.timer = undefined;
      d.running = (async () => {
        const result = await this.check(s, d);
        if (this.isStopping()) return;
        this.counted(s, d, result);
        this.scheduleCheck(s, d);
      })().catch((err: unknown) => this.log.error(`${s.svc.id}: ${d.rs.id}: check loop failed: ${String(err)}`));
    });
  }

  /**
   * Count a result; on a transition tell everyone and (after start-up) bring the table along. The first
   * result a server gets is its initial one: at start-up, or later when its checks at start could not run.
   */
  private record(s: ServiceState, d: DestState, result: CheckResult): void {
    if (this.isStopping()) return;
    const initial = d.status === 'unknown';
    d.last = result;
    d.consecutive = d.lastOk === result.ok ? d.consecutive + 1 : 1;
    d.lastOk = result.ok;
    const base = (): DestinationEventFields => ({ service: { ...s.svc.key }, serviceId: s.svc.id, destination: { ...d.rs.key }, destinationId: d.rs.id });
    let next: HealthStatus | undefined;
    // A server the table already serves starts up: one lost check at a restart must not take it out.
    if (initial) next = result.ok || (d.heldUp && d.consecutive < d.rs.check.fall) ? 'up' : 'down';
    else if (d.status === 'up' && !result.ok && d.consecutive >= d.rs.check.fall) next = 'down';
    else if (d.status === 'down' && result.ok && d.consecutive >= d.rs.check.rise) next = 'up';
    const previous = d.status;
    if (next) d.status = next;
    this.emit('check', { ...base(), result: { ...result }, status: d.status === 'unknown' ? (result.ok ? 'up' : 'down') : d.status });
    this.log.debug?.(describeCheck(s.svc, d.rs, result));
    if (!next) return;
    const text = describeTransition(s.svc, d.rs, next, previous, d.consecutive, result);
    if (next === 'down' && !initial) this.log.warn(text);
    else this.log.info(text);
    this.emit(next, { ...base(), status: next, previous, result: { ...result }, consecutive: d.consecutive });
    // Start-up syncs every service once all first results are in.
    if (this.phase === 'running') void this.requestSync(s);
  }

  // Keeping the table

  /** Run a sync of this service now, or once more after the one under way. Never rejects. */
  private requestSync(s: ServiceState): Promise<void> {
    if (this.phase === 'stopped') return Promise.resolve();
    if (s.syncing) {
      s.again = true;
      return s.syncing;
    }
    s.syncing = (async () => {
      try {
        do {
          s.again = false;
          s.runFailed = false;
          await this.sync(s);
          if (!s.runFailed) this.wentThrough(s);
        } while (s.again && !this.isStopping());
      } finally {
        s.syncing = undefined;
      }
    })().catch((err: unknown) => this.log.error(`${s.svc.id}: sync failed unexpectedly: ${String(err)}`));
    return s.syncing;
  }

  private async sync(s: ServiceState): Promise<void> {
    // Whether the sorry server goes in when every real server is down depends on destinations only a read
    // shows (someone else's, with a weight): the decision is made on a fresh one, never on one up to
    // resyncIntervalMs old, so a destination taken away meanwhile does not leave the service with nothing.
    const now = this.scheduler.now();
    const refused = (d: DestState): boolean => isRefused(d, now);
    const allDown = s.svc.sorry !== undefined && s.dests.every((d) => d.status === 'down' || refused(d));
    if (s.dirty || (allDown && s.others.size > 0)) {
      try {
        await this.readTable(s);
      } catch (err) {
        this.fail(s, err, `${s.svc.id}: could not read the table`);
        return;
      }
    }
    if (this.manageServices) await this.correctOptions(s);
    // By id from a map made once per sync: a search of s.dests per real server made each sync quadratic in
    // the service's servers, and a mass failure (a sync per transition) cubic: minutes for 2 000 servers.
    const statuses = new Map<string, HealthStatus | 'unknown' | 'refused'>();
    for (const d of s.dests) statuses.set(d.rs.id, refused(d) ? 'refused' : d.status);
    const statusOf = (id: string): HealthStatus | 'unknown' | 'refused' => statuses.get(id) ?? 'unknown';
    const othersServe = s.others.size > 0;
    this.logSorryHeldOut(s, allDown && othersServe);
    const changes = planChanges(s.svc, wantedDestinations(s.svc, statusOf, othersServe), s.believed);
    if (changes.length === 0) return;
    // What adds capacity goes first and on its own: what takes capacity away (quiesces, removals, the
    // sorry server out) may rely on it, and an add or restore can fail (another writer deleted the server).
    const adding = changes.filter((c) => !takesAway(c));
    const takingAway = changes.filter(takesAway);
    const sent = adding.length > 0 ? await this.send(s, adding) : 'all';
    if (sent === 'error' || takingAway.length === 0) return;
    let sendNow = takingAway;
    if (sent === 'some') {
      // Only what leaves something serving goes now; the rest waits for the retry's fresh read.
      const serving = new Set([...s.believed].filter(([, b]) => b.weight > 0).map(([id]) => id));
      sendNow = takingAway.filter((c) => {
        if (!serving.has(c.destinationId)) return true;
        if (serving.size === 1 && s.others.size === 0) return false;
        serving.delete(c.destinationId);
        return true;
      });
      const now = new Set(sendNow);
      const held = takingAway.filter((c) => !now.has(c));
      if (held.length > 0) this.log.debug?.(`${s.svc.id}: not yet taking ${held.map((c) => c.destinationId).join(', ')} out of rotation: nothing else would serve`);
    }
    if (sendNow.length > 0) await this.send(s, sendNow);
  }

  /**
   * Set the service's options back to the configured ones when the last read found them changed (another
   * writer's `ipvs -E`, an apply of other options): the checker created the service and re-creates it with
   * those options, so it keeps them too. A refusal is a failure like any other (retried); the destinations'
   * changes go ahead regardless.
   */
  private async correctOptions(s: ServiceState): Promise<void> {
    const have = s.tableOptions;
    if (!have || sameService(have, s.options)) return;
    const differences = serviceDifferences(have, s.options).join(', ');
    const operation = { op: 'update-service', service: serviceSpecOf(s.options) } as const;
    let error: unknown;
    try {
      const [result] = await this.ipvs.execute([operation]);
      if (result && 'ok' in result && result.ok) {
        s.tableOptions = s.options;
        const description = `${s.svc.id}: the service's options were changed by another writer: set them back (${differences})`;
        const verdict = s.optionsWarned.note(description, this.scheduler.now());
        if (verdict.repeat) this.log.debug?.(`${description}${s.optionsWarned.repeatNote()}`);
        else this.log.warn(`${description}${verdict.since}`);
        this.emit('change', { service: { ...s.svc.key }, serviceId: s.svc.id, operation: structuredClone(operation), description });
        return;
      }
      error = result && 'error' in result ? result.error : notAttempted();
    } catch (err) {
      error = err;
    }
    this.fail(s, error, `${s.svc.id}: could not set the service's options back (${differences})`);
  }

  /** Send changes pipelined in one execute(): did the kernel accept all of them, some, or was the call itself refused? */
  private async send(s: ServiceState, changes: PlannedChange[]): Promise<'all' | 'some' | 'error'> {
    let results;
    try {
      results = await this.ipvs.execute(changes.map((c) => c.operation));
    } catch (err) {
      this.fail(s, err, `${s.svc.id}: could not change the table`);
      return 'error';
    }
    let all = true;
    let byId: Map<string, DestState> | undefined;
    const destOf = (id: string): DestState | undefined => (byId ??= new Map(s.dests.map((d) => [d.rs.id, d]))).get(id);
    changes.forEach((c, i) => {
      const r = results[i];
      const realAdd = c.kind === 'add' && !c.sorry;
      if (r && 'ok' in r && r.ok) {
        this.applied(s, c);
        const d = realAdd ? destOf(c.destinationId) : undefined;
        if (d !== undefined && d.refusals > 0) this.takenAfterRefusals(s, d, 'the kernel took');
        return;
      }
      all = false;
      const error = r && 'error' in r ? r.error : notAttempted();
      const d = realAdd && asIpvsError(error).code === 'EINVAL' ? destOf(c.destinationId) : undefined;
      if (d !== undefined) this.refused(s, d, error, describeFailedChange(s.svc, c));
      else this.fail(s, error, describeFailedChange(s.svc, c));
    });
    return all ? 'all' : 'some';
  }

  /**
   * The kernel refused to add a real server with EINVAL: an address it does not take as a destination (an
   * IPv4-mapped ::ffff:a.b.c.d, a link-local IPv6 address that is not this host's, ...), which trying again at
   * every sync would not change. It is said once, as a warning; the server is then left out of the table (and
   * counts as down for the sorry server: it cannot serve) and its add tried again on a backoff of its own
   * (retryMs doubling to retryMaxMs, each refusal a debug line and an `error` event), since a host can come to
   * take it (a link-local address given to an interface). Not a failure of the service: its other servers' changes
   * and its retries go on as if this one were not configured. A new config (a restart, a reload) starts afresh.
   */
  private refused(s: ServiceState, d: DestState, err: unknown, description: string): void {
    const error = asIpvsError(err);
    const wait = this.backoffMs(d.refusals);
    d.refusals++;
    d.lastRefusal = { code: error.code, message: error.message };
    d.refusedUntil = this.scheduler.now() + wait;
    d.refusedTimer?.cancel();
    d.refusedTimer = this.isStopping()
      ? undefined
      : this.scheduler.schedule(wait, () => {
          d.refusedTimer = undefined;
          // The wait is over whatever now() says: Node's setTimeout counts from the event loop's cached,
          // whole-millisecond time and can fire up to a millisecond before performance.now() reaches
          // refusedUntil, and a sync that still found it refused left it out until some other sync.
          d.refusedUntil = 0;
          void this.requestSync(s);
        });
    // One more pass now, that counts it as down: the sorry server may be due.
    s.again = true;
    const text = `${description}: ${error.message}`;
    if (d.refusals === 1) {
      this.log.warn(`${text}; left out of the table (it counts as down) and tried again in ${wait} ms, then at most every ${this.retryMaxMs} ms, without a warning each time`);
    } else {
      this.log.debug?.(`${text}; refused ${d.refusals} times in a row: tried again in ${wait} ms`);
    }
    this.emit('error', { service: { ...s.svc.key }, serviceId: s.svc.id, error, description });
  }

  /** `d`, refused before, is in the table now: said once, and its refusal state and backoff are dropped. */
  private takenAfterRefusals(s: ServiceState, d: DestState, how: 'the kernel took' | 'the table holds'): void {
    this.log.info(`${s.svc.id}: ${how} ${d.rs.id} after ${d.refusals} ${d.refusals === 1 ? 'refusal' : 'refusals'}`);
    d.refusals = 0;
    d.refusedUntil = 0;
    d.lastRefusal = undefined;
    d.refusedTimer?.cancel();
    d.refusedTimer = undefined;
  }

  private applied(s: ServiceState, c: PlannedChange): void {
    if (c.after) s.believed.set(c.destinationId, c.after);
    else s.believed.delete(c.destinationId);
    // Every configured server down or refused (as sync() counts them): the sorry server goes out for the others.
    const now = this.scheduler.now();
    const othersServing = c.sorry && c.kind === 'remove' && s.dests.every((d) => d.status === 'down' || isRefused(d, now)) ? othersText(s) : undefined;
    const description = describeChange(s.svc, c, othersServing);
    this.log.info(description);
    this.emit('change', { service: { ...s.svc.key }, serviceId: s.svc.id, operation: structuredClone(c.operation), description });
    if (c.sorry && s.svc.sorry && (c.kind === 'add' || c.kind === 'remove')) {
      this.emit('sorry', { service: { ...s.svc.key }, serviceId: s.svc.id, destination: { ...s.svc.sorry.key }, destinationId: s.svc.sorry.id, active: c.kind === 'add' });
    }
  }

  /**
   * Before the first checks: which real servers the table already serves at their configured weight (a
   * checker restarted over its own table, or a service set up by hand). A table that cannot be read leaves
   * every server to its first result; the first sync reads it again either way.
   */
  private async readHeld(s: ServiceState): Promise<void> {
    try {
      await this.readTable(s);
    } catch {
      return;
    } finally {
      s.dirty = true;
    }
    for (const d of s.dests) {
      const held = s.believed.get(d.rs.id);
      d.heldUp = held !== undefined && held.weight > 0 && held.weight === d.rs.spec.weight;
    }
  }

  /** Read what the kernel holds for the configured destinations (re-creating a vanished service). */
  private async readTable(s: ServiceState): Promise<void> {
    const key: ServiceKey = s.svc.key;
    let exists = true;
    let options: NormalService | undefined;
    try {
      options = normalKernelService(await this.ipvs.service(key));
    } catch (err) {
      if ((err as { code?: string }).code !== 'ESRCH') throw err;
      exists = false;
    }
    const managed = new Set([...s.svc.realServers.map((r) => r.id), ...(s.svc.sorry ? [s.svc.sorry.id] : [])]);
    const believed = new Map<string, BelievedDestination>();
    const others = new Map<string, number>();
    if (!exists) {
      if (!this.manageServices) throw new IpvsError(`the service ${s.svc.id} is not in the table`, 'ESRCH');
      if (this.isStopping()) throw new IpvsError(`the service ${s.svc.id} is not in the table (not re-created: the checker is stopping)`, 'ESRCH');
      await this.ipvs.addService(s.svc.spec);
      const description = `${s.svc.id}: the service was missing from the table: added it again`;
      this.log.warn(description);
      this.emit('change', { service: { ...s.svc.key }, serviceId: s.svc.id, operation: { op: 'add-service', service: structuredClone(s.svc.spec) }, description });
    } else {
      for (const d of await this.ipvs.destinations(key)) {
        const id = destinationIdOf(d.address, d.port);
        if (managed.has(id)) believed.set(id, believedOf(d));
        else if (d.weight > 0) others.set(id, d.weight);
      }
    }
    s.believed = believed;
    s.others = others;
    // A refused server the table now holds (another writer added it once the kernel would take it) is refused no
    // more: an add of ours would only meet EEXIST, and the refusal would stay in status() for good.
    for (const d of s.dests) if (d.refusals > 0 && believed.has(d.rs.id)) this.takenAfterRefusals(s, d, 'the table holds');
    s.tableOptions = options;
    s.dirty = false;
  }

  /**
   * Report a failure, and (unless stopping) re-read the table and retry: after retryMs, doubled for every
   * retry in a row that fails too, up to retryMaxMs, so a change the kernel always refuses costs a read
   * and a warning a minute, not one every 2 s. The same warning (same change, same error) is logged once,
   * then at debug level, and as a warning again every REPEAT_WARNING_MS (repeated-warnings.ts) with the count meanwhile; the
   * `error` event is emitted every time.
   */
  private fail(s: ServiceState, err: unknown, description: string, retry = true): void {
    // The event's error is typed an IpvsError: one a client of the user's own throws is wrapped.
    const error = asIpvsError(err);
    s.dirty = true;
    s.runFailed = true;
    // The client closed under the checker (its owner's close(), or `await using` ending first): no retry can
    // reach the table again, and retrying for good kept the process alive with a warning a minute. It stops.
    const closed = error.code === 'ECLOSED' && !this.isStopping();
    const again = retry && !this.isStopping() && !closed;
    const now = this.scheduler.now();
    if (again && !s.retryTimer) {
      const wait = this.backoffMs(s.failures);
      s.failures++;
      s.retryAt = now + wait;
      s.retryTimer = this.scheduler.schedule(wait, () => {
        s.retryTimer = undefined;
        void this.requestSync(s);
      });
    }
    const text = `${description}: ${error.message}`;
    const retryText = again ? `; will re-read the table and retry in ${Math.max(0, Math.round(s.retryAt - now))} ms` : '';
    const verdict = s.warned.note(text, now);
    if (verdict.repeat) this.log.debug?.(`${text}${retryText}${s.warned.repeatNote()}`);
    else this.log.warn(`${text}${retryText}${verdict.since}`);
    this.emit('error', { service: { ...s.svc.key }, serviceId: s.svc.id, error, description });
    if (closed) {
      // A ClosedError with a cause: the client's socket failed (the cause), which ends the client as close() does.
      const cause = error.cause instanceof Error ? error.cause.message : undefined;
      const what = cause === undefined ? 'the client was closed' : `the client's socket failed (${cause})`;
      this.log.error(`${what} while the health checker ran: it stops (the table is left as it is)`);
      void this.stop();
    }
  }

  /** Say once per episode why the sorry server stays out while every configured server is down. */
  private logSorryHeldOut(s: ServiceState, heldOut: boolean): void {
    const text = heldOut ? othersText(s) : '';
    if (text === s.othersLogged) return;
    s.othersLogged = text;
    if (heldOut) this.log.info(`${s.svc.id}: every configured real server is down; the sorry server stays out while ${text}`);
  }

  /** The wait before the next try after `tries` in a row that failed: retryMs, doubled for each, up to retryMaxMs. */
  private backoffMs(tries: number): number {
    return Math.min(this.retryMs * 2 ** Math.min(tries, 30), this.retryMaxMs);
  }

  /** A sync went through: the backoff and the repeated-warning memory start afresh. */
  private wentThrough(s: ServiceState): void {
    if (s.failures > 0) {
      this.log.info(`${s.svc.id}: the table is in line again, after ${s.failures} failed ${s.failures === 1 ? 'attempt' : 'attempts'}`);
    }
    s.failures = 0;
    s.warned.clear();
  }

  private scheduleResync(): void {
    if (this.resyncIntervalMs <= 0 || this.isStopping()) return;
    this.resyncTimer = this.scheduler.schedule(this.resyncIntervalMs, () => {
      for (const s of this.services) {
        s.dirty = true;
        void this.requestSync(s);
      }
      this.scheduleResync();
    });
  }
}
