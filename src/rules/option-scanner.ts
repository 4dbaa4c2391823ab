// The option scanner of ipvsadm's command line. ipvsadm 1.31 parses its arguments with popt, whose
// behaviour users (and saved rule files) depend on: bundled short options (`-Ln`, `-Lnc`), a value glued
// to its letter (`-w2`, `-w=2`), `--long=value` or `--long value` (a value given with `=` to an option that
// takes none is an error: `-C=` or `--clear=1` clears nothing), a required value taken from the next
// argument even when it starts with a dash, an optional value (`-p`) taken only when the next argument
// does not start with a dash, `--` ending the options, and words that are not options collected for
// later. This file reproduces those rules over the ipvsadm option table; the meaning of each option lives
// in command-line.ts.

export type ArgKind = 'none' | 'required' | 'optional';

export interface OptionSpec {
  /** Stable identifier used by the grammar. */
  readonly id: string;
  readonly long?: string;
  readonly short?: string;
  readonly arg: ArgKind;
}

/** ipvsadm 1.31's option table, in its order (the first of two equal long names wins, as in popt). */
export const IPVSADM_OPTIONS: readonly OptionSpec[] = [
  { id: 'A', long: 'add-service', short: 'A', arg: 'none' },
  { id: 'E', long: 'edit-service', short: 'E', arg: 'none' },
  { id: 'D', long: 'delete-service', short: 'D', arg: 'none' },
  { id: 'C', long: 'clear', short: 'C', arg: 'none' },
  { id: 'L', long: 'list', short: 'L', arg: 'none' },
  { id: 'l', long: 'list', short: 'l', arg: 'none' },
  { id: 'Z', long: 'zero', short: 'Z', arg: 'none' },
  { id: 'a', long: 'add-server', short: 'a', arg: 'none' },
  { id: 'e', long: 'edit-server', short: 'e', arg: 'none' },
  { id: 'd', long: 'delete-server', short: 'd', arg: 'none' },
  { id: 'set', long: 'set', arg: 'none' },
  { id: 'h', long: 'help', short: 'h', arg: 'none' },
  { id: 'v', long: 'version', short: 'v', arg: 'none' },
  { id: 'R', long: 'restore', short: 'R', arg: 'none' },
  { id: 'S', long: 'save', short: 'S', arg: 'none' },
  { id: 'start-daemon', long: 'start-daemon', arg: 'required' },
  { id: 'stop-daemon', long: 'stop-daemon', arg: 'required' },
  { id: 't', long: 'tcp-service', short: 't', arg: 'required' },
  { id: 'u', long: 'udp-service', short: 'u', arg: 'required' },
  { id: 'sctp-service', long: 'sctp-service', arg: 'required' },
  { id: 'f', long: 'fwmark-service', short: 'f', arg: 'required' },
  { id: 's', long: 'scheduler', short: 's', arg: 'required' },
  { id: 'p', long: 'persistent', short: 'p', arg: 'optional' },
  { id: 'M', long: 'netmask', short: 'M', arg: 'required' },
  { id: 'r', long: 'real-server', short: 'r', arg: 'required' },
  { id: 'm', long: 'masquerading', short: 'm', arg: 'none' },
  { id: 'i', long: 'ipip', short: 'i', arg: 'none' },
  { id: 'g', long: 'gatewaying', short: 'g', arg: 'none' },
  { id: 'w', long: 'weight', short: 'w', arg: 'required' },
  { id: 'x', long: 'u-threshold', short: 'x', arg: 'required' },
  { id: 'y', long: 'l-threshold', short: 'y', arg: 'required' },
  { id: 'n', long: 'numeric', short: 'n', arg: 'none' },
  { id: 'c', long: 'connection', short: 'c', arg: 'none' },
  { id: 'mcast-interface', long: 'mcast-interface', arg: 'required' },
  { id: 'syncid', long: 'syncid', arg: 'required' },
  { id: 'timeout', long: 'timeout', arg: 'none' },
  { id: 'daemon', long: 'daemon', arg: 'none' },
  { id: 'stats', long: 'stats', arg: 'none' },
  { id: 'rate', long: 'rate', arg: 'none' },
  { id: 'thresholds', long: 'thresholds', arg: 'none' },
  { id: 'persistent-conn', long: 'persistent-conn', arg: 'none' },
  { id: 'nosort', long: 'nosort', arg: 'none' },
  { id: 'sort', long: 'sort', arg: 'none' },
  { id: 'X', long: 'exact', short: 'X', arg: 'none' },
  { id: '6', long: 'ipv6', short: '6', arg: 'none' },
  { id: 'o', long: 'ops', short: 'o', arg: 'none' },
  { id: 'pe', long: 'pe', arg: 'required' },
  { id: 'b', long: 'sched-flags', short: 'b', arg: 'required' },
  { id: 'mcast-group', long: 'mcast-group', arg: 'required' },
  { id: 'mcast-port', long: 'mcast-port', arg: 'required' },
  { id: 'mcast-ttl', long: 'mcast-ttl', arg: 'required' },
  { id: 'sync-maxlen', long: 'sync-maxlen', arg: 'required' },
  { id: 'tun-info', long: 'tun-info', arg: 'none' },
  { id: 'tun-type', long: 'tun-type', arg: 'required' },
  { id: 'tun-port', long: 'tun-port', arg: 'required' },
  { id: 'tun-nocsum', long: 'tun-nocsum', arg: 'none' },
  { id: 'tun-csum', long: 'tun-csum', arg: 'none' },
  { id: 'tun-remcsum', long: 'tun-remcsum', arg: 'none' },
];

export type ScanItem =
  | { kind: 'option'; spec: OptionSpec; value: string | undefined; token: string }
  | { kind: 'error'; error: 'unknown option' | 'missing argument' | 'option does not take an argument'; token: string }
  | { kind: 'end' };

/**
 * Walks an argument vector the way popt does. `token` is what popt's poptBadOption reports for the
 * item: the last argument consumed (so an option that took the next word as its value reports that word).
 */
export class OptionScanner {
  private next = 0;
  private pendingShort: string | undefined;
  private restAreWords = false;
  private readonly leftovers: string[] = [];
  private leftoverIndex = 0;

  constructor(
    private readonly argv: readonly string[],
    private readonly table: readonly OptionSpec[] = IPVSADM_OPTIONS,
  ) {}

  nextItem(): ScanItem {
    for (;;) {
      let spec: OptionSpec | undefined;
      let longValue: string | undefined;
      if (this.pendingShort === undefined) {
        if (this.next >= this.argv.length) return { kind: 'end' };
        const token = this.argv[this.next++]!;
        if (this.restAreWords || !token.startsWith('-') || token === '-') {
          this.leftovers.push(token);
          continue;
        }
        if (token === '--') {
          this.restAreWords = true;
          continue;
        }
        if (token.startsWith('--')) {
          const body = token.slice(2);
          const eq = body.indexOf('=');
          const name = eq >= 0 ? body.slice(0, eq) : body;
          if (eq >= 0) longValue = body.slice(eq + 1);
          spec = this.table.find((o) => o.long === name);
          if (!spec) return { kind: 'error', error: 'unknown option', token };
        } else {
          // A single dash never names a long option in ipvsadm's table: the letters are short options.
          this.pendingShort = token.slice(1);
        }
      }
      if (this.pendingShort !== undefined) {
        const letters = this.pendingShort;
        this.pendingShort = undefined;
        const letter = letters[0]!;
        spec = this.table.find((o) => o.short === letter);
        if (!spec) return { kind: 'error', error: 'unknown option', token: this.lastToken() };
        const rest = letters.slice(1);
        if (rest !== '') this.pendingShort = rest;
      }
      const option = spec!;
      if (option.arg === 'none') {
        // popt: `--clear=` or `-n=` is refused (the whole word reported), not read as more letters.
        if (longValue !== undefined || this.pendingShort?.startsWith('=')) {
          this.pendingShort = undefined;
          return { kind: 'error', error: 'option does not take an argument', token: this.lastToken() };
        }
        return { kind: 'option', spec: option, value: undefined, token: this.lastToken() };
      }
      let value: string | undefined;
      if (longValue !== undefined) {
        value = longValue;
      } else if (this.pendingShort !== undefined) {
        value = this.pendingShort.startsWith('=') ? this.pendingShort.slice(1) : this.pendingShort;
        this.pendingShort = undefined;
      } else if (this.next >= this.argv.length) {
        if (option.arg === 'required') return { kind: 'error', error: 'missing argument', token: this.lastToken() };
        value = undefined;
      } else if (option.arg === 'optional' && this.argv[this.next]!.startsWith('-')) {
        value = undefined;
      } else {
        value = this.argv[this.next++]!;
      }
      return { kind: 'option', spec: option, value, token: this.lastToken() };
    }
  }

  /** The next word that was not an option (popt's poptGetArg), after scanning has ended. */
  nextWord(): string | undefined {
    if (this.leftoverIndex < this.leftovers.length) return this.leftovers[this.leftoverIndex++];
    return undefined;
  }

  private lastToken(): string {
    return this.argv[this.next - 1] ?? '';
  }
}
