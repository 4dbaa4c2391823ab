// Fault injection for the fake kernel: armed faults wait for the requests they match and fire once per
// request, in the order they were armed. A fault without a command matches any IPVS request (not the
// nlctrl family lookup that Ipvs.open makes once); with one, only that command.

import * as C from '../ipvs/constants.js';

/** A command to aim a fault at: an IPVS command number, or a name like 'IPVS_CMD_NEW_DEST' or 'CTRL_CMD_GETFAMILY'. */
export type FaultCommand = number | string;

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

export function commandName(command: FaultCommand): string {
  if (typeof command === 'string') return command;
  const name = C.IPVS_CMD_NAMES[command];
  if (name === undefined) throw new TypeError(`FakeKernel: unknown IPVS command ${command}`);
  return name;
}

export class FaultQueue {
  private armed: Armed[] = [];

  arm(effect: FaultEffect, count: number, command?: FaultCommand): void {
    if (!Number.isInteger(count) || count < 1) throw new TypeError(`FakeKernel: a fault needs a count of at least 1, not ${count}`);
    this.armed.push({ effect, remaining: count, command: command === undefined ? undefined : commandName(command) });
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
