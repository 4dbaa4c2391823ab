// Fault injection for the fake kernel: armed faults wait for the requests they match and fire once per
// request, in the order they were armed. A fault without a command matches any IPVS request (not the
// nlctrl family lookup that Ipvs.open makes once); with one, only that command.

import * as C from '../ipvs/constants.js';
import { ValidationError } from '../ipvs/errors.js';

/**
 * A command to aim a fault at: an IPVS command number (5), or a name as `kernel.requests` logs it
 * ('IPVS_CMD_NEW_DEST', or 'CTRL_CMD_GETFAMILY' for the family lookup Ipvs.open makes). Not the
 * client's operation names ('add-destination'): a fault aimed at one would never fire.
 */
export type FaultCommand = number | C.IpvsCommandName | 'CTRL_CMD_GETFAMILY';

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

interface Armed {
  effect: FaultEffect;
  remaining: number;
  command: string | undefined;
}

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

  /** Checks every argument first: a refused call arms nothing. */
  arm(method: string, effect: FaultEffect, count: unknown, command?: unknown): void {
    const remaining = checkCount(count, method);
    const name = command === undefined ? undefined : commandName(command, method);
    this.armed.push({ effect, remaining, command: name });
  }

  /** The fault for this request, consumed; `ipvs` says whether it belongs to the IPVS family. */
  take(name: string, ipvs: boolean): FaultEffect | undefined {
    for (const a of this.armed) {
      if (a.remaining <= 0) continue;
      if (a.command === undefined ? !ipvs : a.command !== name) continue;
      a.remaining--;
      this.armed = this.armed.filter((x) => x.remaining > 0);
      return a.effect;
    }
    return undefined;
  }

  clear(): void {
    this.armed = [];
  }

  get pending(): number {
    return this.armed.reduce((n, a) => n + a.remaining, 0);
  }
}
