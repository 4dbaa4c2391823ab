// Graceful removal of destinations ("drain"), as kube-proxy does it: a destination that leaves the
// desired state is first given weight 0, so the scheduler sends it no new connections while existing
// ones finish, and is deleted by a later apply once it is idle (by default: no active connections, for a UDP
// service none at all) or once a timeout has passed since draining began. A destination that is already idle
// is deleted at once. The kernel keeps no timestamps, so the start of each drain is kept in a DrainState: a plain
// JSON object that apply returns and the caller hands back next time (the CLI keeps it in a file).

import type { Destination, ServiceKey } from '../ipvs/types.js';
import { ValidationError } from '../ipvs/errors.js';
import { onlyKnownOptions, optionKeys } from '../ipvs/option-keys.js';

/** Says whether a draining destination may now be deleted. */
export type IdlePredicate = (destination: Destination, service: ServiceKey) => boolean;

export interface DrainOptions {
  /** When a draining destination may be deleted. Default: it has no active connections (a UDP service's: no connections at all). */
  idle?: IdlePredicate;
  /** Seconds after draining began after which the destination is deleted even if not idle. Default: never. */
  timeout?: number;
  /**
   * When each destination began draining: the `drainState` of the previous apply. Without it a drain
   * seems to begin now, so a timeout only counts from this apply on.
   */
  state?: DrainState;
}

/**
 * `true`: drain until idle; a number: drain until idle or that many seconds; a function: drain until it
 * returns true; or the options in full. `false` / absent: delete at once.
 */
export type DrainOption = boolean | number | IdlePredicate | DrainOptions;

/** Drain start times, in milliseconds since the epoch, by `drainId` ('tcp 10.0.0.1:80 -> 192.168.1.2:80'). */
export type DrainState = Record<string, number>;

export interface DrainPolicy {
  idle: IdlePredicate;
  /** Milliseconds, or undefined for no timeout. */
  timeoutMs: number | undefined;
  state: DrainState;
  now: number;
}

/**
 * The default idleness: no active connections; for a UDP service no connection entries at all. Linux counts a
 * UDP flow as inactive for its whole life (UDP has no states to make it active), so "no active connections"
 * held for every UDP server, and a drain of one deleted it at once, cutting its flows off. Its entries expire
 * the udp timeout (300 s by default) after their last datagram.
 */
const idleByDefault: IdlePredicate = (d, service) =>
  d.activeConns === 0 && (!('protocol' in service) || service.protocol !== 'udp' || d.inactiveConns === 0);

/**
 * The default clock of drains, in ms since the epoch: the wall clock when the process started plus the
 * monotonic time since. Within one process a step of the wall clock (NTP correcting it, a VM resumed) then
 * moves no drain: Date.now() stepped an hour forward timed every drain under way out at once, deleting servers
 * that still had connections, and stepped back began them all again.
 */
export function drainClock(): number {
  return performance.timeOrigin + performance.now();
}

/** A `now` option (ms since the epoch): the drain clock when left out; anything but a finite number is refused. */
export function nowOption(now: unknown): number {
  if (now === undefined) return drainClock();
  if (typeof now !== 'number' || !Number.isFinite(now)) throw new ValidationError('now', now, 'must be a finite number of milliseconds since the epoch');
  return now;
}

const DRAIN_KEYS = optionKeys<DrainOptions>('drain', { idle: true, timeout: true, state: true });

/** The policy an option stands for, or undefined when destinations are deleted at once. */
export function drainPolicy(option: DrainOption | undefined, now: number): DrainPolicy | undefined {
  if (option === undefined || option === false) return undefined;
  let opts: DrainOptions;
  if (option === true) opts = {};
  else if (typeof option === 'number') opts = { timeout: option };
  else if (typeof option === 'function') opts = { idle: option };
  else if (typeof option === 'object' && option !== null) opts = onlyKnownOptions(option, DRAIN_KEYS);
  else throw new ValidationError('drain', option, 'must be a boolean, a number of seconds, a predicate or { idle, timeout, state }');
  if (opts.timeout !== undefined && (typeof opts.timeout !== 'number' || !(opts.timeout >= 0) || !Number.isFinite(opts.timeout))) {
    throw new ValidationError('drain.timeout', opts.timeout, 'must be a number of seconds >= 0');
  }
  if (opts.state !== undefined && (typeof opts.state !== 'object' || opts.state === null || Array.isArray(opts.state))) {
    throw new ValidationError('drain.state', opts.state, "must be the previous apply's drainState object");
  }
  return {
    idle: opts.idle ?? idleByDefault,
    timeoutMs: opts.timeout === undefined ? undefined : opts.timeout * 1000,
    state: opts.state ?? {},
    now,
  };
}

/** The key of a destination in a DrainState. */
export function drainId(serviceId: string, destinationId: string): string {
  return `${serviceId} -> ${destinationId}`;
}

export type DrainDecision =
  /** `since`: when an earlier apply began the drain (or now, for a timeout of 0), if it did. */
  | { action: 'delete'; why: string; since: number | undefined }
  | { action: 'quiesce'; since: number }
  | { action: 'wait'; since: number };

/** What to do now with a destination that is no longer wanted, under a drain policy. */
export function decideDrain(policy: DrainPolicy, id: string, destination: Destination, service: ServiceKey): DrainDecision {
  const recorded = policy.state[id];
  // A recorded start counts only while the destination is still at weight 0: one someone else gave its weight
  // back has taken new connections since, so its drain begins again now (a timeout must not delete it at once).
  const began = destination.weight === 0 && typeof recorded === 'number' && Number.isFinite(recorded) && recorded <= policy.now ? recorded : undefined;
  if (policy.idle(destination, service)) return { action: 'delete', why: `drained (${connectionsText(destination)})`, since: began };
  const since = began ?? policy.now;
  if (policy.timeoutMs !== undefined && policy.now - since >= policy.timeoutMs) {
    return { action: 'delete', why: `drain timed out after ${Math.round((policy.now - since) / 1000)} s (${connectionsText(destination)})`, since };
  }
  return destination.weight !== 0 ? { action: 'quiesce', since } : { action: 'wait', since };
}

export function connectionsText(d: Destination): string {
  return `${d.activeConns} active, ${d.inactiveConns} inactive connections`;
}
