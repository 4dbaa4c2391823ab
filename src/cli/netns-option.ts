// `--netns NAME|PATH`, the one option of `ipvs` that comes before the command (or the subcommand's word): the
// whole run then happens in that network namespace, as under `ip netns exec NAME ipvs ...`. ipvsadm has no such
// option and takes none before its command, so no ipvsadm command line starts with it. The namespace is entered
// only when the run first needs the kernel or the network (the client's opening, the connection table), so
// `-h`, usage errors and `health --check-config` never touch it.

import { NativeLoadError } from '../../native/load.js';
import { printable } from './printable.js';

export const NETNS_OPTION = '--netns';

/** The leading --netns taken off the command line, or the sentence refusing how it was given. */
export type LeadingNetns = { netns: string | undefined; rest: readonly string[] } | { error: string };

/** Take `--netns NAME` or `--netns=NAME` off the front of `argv` (only there: after the command it is not ours). */
export function takeLeadingNetns(argv: readonly string[]): LeadingNetns {
  const first = argv[0];
  if (first === undefined || (first !== NETNS_OPTION && !first.startsWith(`${NETNS_OPTION}=`))) return { netns: undefined, rest: argv };
  const glued = first !== NETNS_OPTION;
  const value = glued ? first.slice(NETNS_OPTION.length + 1) : argv[1];
  const rest = argv.slice(glued ? 1 : 2);
  // `--netns -Ln` forgot the name: refused rather than taken for a namespace called "-Ln" (`--netns=-x` names one).
  if (value === undefined || value === '' || (!glued && value.startsWith('-'))) {
    return { error: `${NETNS_OPTION} needs a network namespace: a name under /var/run/netns or a path such as /proc/PID/ns/net` };
  }
  const again = rest[0];
  if (again !== undefined && (again === NETNS_OPTION || again.startsWith(`${NETNS_OPTION}=`))) return { error: `${NETNS_OPTION} is given twice` };
  return { netns: value, rest };
}

/**
 * Whether a subcommand's arguments hold --netns among its options (`ipvs health --netns blue c.json`): said to go
 * first, rather than left to the subcommand's "unknown option". A file of that name can follow `--`.
 */
export function netnsAfterWord(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === NETNS_OPTION || a.startsWith(`${NETNS_OPTION}=`));
}

/**
 * The one line that says why the namespace could not be entered. The system's refusals already name it and the
 * cause (native/socket.ts); koffi missing does not, and its loader's message runs over several lines.
 */
export function netnsFailureLine(netns: string, err: unknown): string {
  const text = (e: unknown): string => (e instanceof Error ? e.message : String(e));
  if (err instanceof NativeLoadError) {
    const loader = text(err.cause).split('\n')[0]!.trim();
    return `cannot enter network namespace "${printable(netns)}": the \`${err.packageName}\` package, which entering one needs, cannot be loaded (${printable(loader)}); \`ip netns exec\` needs no such package`;
  }
  // A name typed with a newline in it is the only way one could get into this message.
  return printable(text(err));
}
