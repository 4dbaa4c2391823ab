// Fault injection for the fake kernel: armed faults wait for the requests they match and fire once per
// request, in the order they were armed. A fault without a command matches any IPVS request (not the
// nlctrl family lookup that Ipvs.open makes once); with one, only that command. A FaultTarget narrows it
// further: to one socket's requests, to those its `where` accepts, and past the first `after` of those it matches.

import * as C from '../ipvs/constants.js';
import type { Transport } from '../netlink/transport.js';
import { ValidationError } from '../ipvs/errors.js';
import { onlyKnownOptions, optionKeys } from '../ipvs/option-keys.js';
import type { FakeRequest } from './fake-request-log.js';

/**
 * A command to aim a fault at: an IPVS command number (5), or a name as `kernel.requests` logs it
 * ('IPVS_CMD_NEW_DEST', or 'CTRL_CMD_GETFAMILY' for the family lookup Ipvs.open makes). Not the
 * client's operation names ('add-destination'): a fault aimed at one would never fire.
 */
export type FaultCommand = number | C.IpvsCommandName | 'CTRL_CMD_GETFAMILY';

/**
 * Which requests a fault hits, beyond the next one it matches: `command` as above (default any IPVS request),
 * `after`, how many of the requests it matches to let through first (default 0), and `transport`, the one
 * socket whose requests it matches (default any). `{ command: 'IPVS_CMD_NEW_DEST', after: 2 }` hits the third
 * destination added from then on, the third of a batch included. `where`, a predicate given each request as
 * `kernel.requestLog` reads it, narrows it to the requests it accepts: `after` then counts only those. A fault
 * counts every request it matches, whatever other faults do to it.
 */
export interface FaultTarget {
  command?: FaultCommand | undefined;
  after?: number | undefined;
  /** Only the requests sent on this socket (an open `kernel.transport()` of this kernel); default any. */
  transport?: Transport | undefined;
  /**
   * Only the requests it accepts (a truthy return, as for Array.filter), given as `kernel.requestLog` holds
   * them: `(r) => r.destination?.address === '10.0.0.3'`. Called only for requests the other fields match.
   * It is asked about all the requests of a datagram (an execute() window) before any of them is carried out, so
   * `kernel.state()` read inside it shows the table as before that datagram. If it throws, nothing in the
   * datagram is carried out or logged, the faults count as before it, and the client's send of that datagram
   * fails with an error naming the fault, the thrown error its cause.
   * (Not `match`: beside FaultCommand's strings, whose String.prototype.match it would meet, an inline
   * `(r) => ...` would lose its parameter's type.)
   */
  where?: ((request: FakeRequest) => unknown) | undefined;
}

/** What a fault does to the request it hits. */
export type FaultEffect =
  /** Refused with this errno; the request has no effect. */
  | { kind: 'errno'; errno: number }
  /** Carried out, but nothing is ever answered (the client's timeout fires). */
  | { kind: 'drop' }
  /** Carried out, answered after `ms` milliseconds. */
  | { kind: 'delay'; ms: number }
  /** Carried out, its replies lost to a receive-buffer overflow: the socket reports ENOBUFS. */
  | { kind: 'overflow' };

/** An armed fault (internal). */
export interface Armed {
  effect: FaultEffect;
  remaining: number;
  /** Matching requests still to let through before it fires. */
  skip: number;
  command: string | undefined;
  /** The port id of the socket it is aimed at, if one. */
  port: number | undefined;
  where: ((request: FakeRequest) => unknown) | undefined;
  /** The call that armed it, for the error of a `where` that throws. */
  method: string;
}

/** How the armed faults stood before a datagram, to put them back if a `where` throws while it is read. */
export type FaultMark = readonly (readonly [Armed, number, number])[];

const TARGET_KEYS = optionKeys<FaultTarget>('FaultTarget', { command: true, after: true, transport: true, where: true });

const NAMES: ReadonlySet<string> = new Set<string>([...Object.values(C.IPVS_CMD_NAMES), 'CTRL_CMD_GETFAMILY']);

/** The logged name a fault's `command` stands for; anything the fake would never log is refused. */
export function commandName(command: unknown, method: string): string {
  const name = typeof command === 'number' && Number.isInteger(command) ? C.IPVS_CMD_NAMES[command] : typeof command === 'string' && NAMES.has(command) ? command : undefined;
  if (name === undefined) {
    throw new ValidationError(`FakeKernel.${method} command`, command, `not a command the fake kernel knows: an IPVS command name (${Object.values(C.IPVS_CMD_NAMES).join(', ')}), 'CTRL_CMD_GETFAMILY', or an IPVS command number 1..17`);
  }
  return name;
}

/** A fault's count: how many requests it hits. */
export function checkCount(count: unknown, method: string): number {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) throw new ValidationError(`FakeKernel.${method} count`, count, 'must be an integer of at least 1');
  return count;
}

export class FaultQueue {
  private armed: Armed[] = [];

  /** `portOf` gives the port id of an open transport of this kernel, undefined for anything else. */
  constructor(private readonly portOf: (transport: unknown) => number | undefined) {}

  /** Checks every argument first: a refused call arms nothing. `target` is a FaultCommand or a FaultTarget. */
  arm(method: string, effect: FaultEffect, count: unknown, target?: unknown): void {
    const remaining = checkCount(count, method);
    let command = target;
    let skip = 0;
    let port: number | undefined;
    let where: Armed['where'];
    if (typeof target === 'object' && target !== null) {
      const t = onlyKnownOptions(target as FaultTarget, TARGET_KEYS);
      command = t.command;
      if (t.where !== undefined) {
        if (typeof t.where !== 'function') throw new ValidationError(`FakeKernel.${method} where`, t.where, 'must be a function taking the request (as kernel.requestLog holds it) and returning whether the fault hits it');
        where = t.where;
      }
      if (t.transport !== undefined) {
        port = this.portOf(t.transport);
        if (port === undefined) throw new ValidationError(`FakeKernel.${method} transport`, t.transport, 'not an open transport of this kernel (kernel.transport(), not closed)');
      }
      if (t.after !== undefined) {
        if (typeof t.after !== 'number' || !Number.isInteger(t.after) || t.after < 0) {
          throw new ValidationError(`FakeKernel.${method} after`, t.after, 'must be an integer of at least 0: how many matching requests to let through first');
        }
        skip = t.after;
      }
    }
    const name = command === undefined ? undefined : commandName(command, method);
    this.armed.push({ effect, remaining, skip, command: name, port, where, method });
  }

  /** Whether an armed fault has a `where` (which may throw, so the caller must be able to take a datagram back). */
  get matching(): boolean {
    return this.armed.some((a) => a.where !== undefined);
  }

  /** Where the faults stand now, for restore(). */
  mark(): FaultMark {
    return this.armed.map((a) => [a, a.skip, a.remaining] as const);
  }

  restore(mark: FaultMark): void {
    this.armed = mark.map(([a, skip, remaining]) => {
      a.skip = skip;
      a.remaining = remaining;
      return a;
    });
  }

  /**
   * The fault for this request, sent on the socket of port id `port`, consumed; `ipvs` says whether it belongs
   * to the IPVS family, `request` reads it for a fault's `where`. Every fault still letting requests through
   * counts this one if it matches, whether another fault fires on it or not. A `where` that throws is thrown,
   * wrapped, with the faults part-way counted: restore() them.
   */
  take(name: string, ipvs: boolean, port: number, request: () => FakeRequest): FaultEffect | undefined {
    let fired: FaultEffect | undefined;
    for (const a of this.armed) {
      if (a.remaining <= 0) continue;
      if (a.command === undefined ? !ipvs : a.command !== name) continue;
      if (a.port !== undefined && a.port !== port) continue;
      if (a.where !== undefined) {
        let hit: unknown;
        try {
          hit = a.where(request());
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          throw new Error(`FakeKernel: the where of a ${a.method}() fault threw on ${name} (nothing in its datagram was carried out): ${why}`, { cause: err });
        }
        if (!hit) continue;
      }
      if (a.skip > 0) {
        a.skip--;
        continue;
      }
      if (fired !== undefined) continue;
      a.remaining--;
      fired = a.effect;
    }
    if (fired !== undefined) this.armed = this.armed.filter((x) => x.remaining > 0);
    return fired;
  }

  clear(): void {
    this.armed = [];
  }

  get pending(): number {
    return this.armed.reduce((n, a) => n + a.remaining, 0);
  }
}
