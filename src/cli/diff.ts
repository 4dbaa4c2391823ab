// `ipvs diff FILE`: what `ipvs apply FILE` would change, in a human form (one line per change, marked
// + ~ - like a diff, remarks after #), without changing anything. The exit status follows diff(1), so
// scripts can test it: 0 when the kernel already holds the state, 1 when changes are pending (including
// destinations still draining), 2 for trouble (usage, an unreadable or invalid file, a kernel that
// cannot be read).

import type { CliContext } from './context.js';
import { drainOptionOf, errorText, reconcileClient, reconcileInput } from './apply.js';
import { describePlan, plan } from '../reconcile/index.js';

const DIFF_USAGE = `Usage: %p diff [--prune] [--drain[=SECONDS]] [--drain-state FILE] [-q] FILE
Print what \`%p apply\` would change to make the IPVS table hold the state in FILE (JSON or ipvsadm
rules text; - reads standard input), changing nothing. Lines: + add, ~ update, - delete, = draining.
  -q, --quiet   print nothing: only the exit status tells
Exit status: 0 in sync, 1 changes pending, 2 trouble.
`;

export function diffUsage(programName: string): string {
  return DIFF_USAGE.replaceAll('%p', programName);
}

export const DIFF_OPTIONS: ReadonlySet<string> = new Set(['--prune', '--drain', '--drain-state', '--quiet', '--help']);

/** `ipvs diff ...`; resolves to the exit status (0 in sync, 1 changes pending, 2 trouble). */
export async function runDiff(args: readonly string[], ctx: CliContext): Promise<number> {
  const input = await reconcileInput(args, ctx, 'diff', DIFF_OPTIONS, diffUsage);
  if (typeof input === 'number') return input;
  const { name, parsed, desired, drainState } = input;
  const now = Date.now();
  try {
    const ipvs = await reconcileClient(ctx);
    const drain = drainOptionOf(parsed, drainState);
    const p = await plan(ipvs, desired, { prune: parsed.prune, now, ...(drain === undefined ? {} : { drain }) });
    if (!parsed.quiet) ctx.stdout.write(describePlan(p, now));
    return p.inSync ? 0 : 1;
  } catch (err) {
    if (err instanceof Error && err.name === 'OpenFailure') throw err;
    ctx.stderr.write(`${name}: ${errorText(err)}\n`);
    return 2;
  }
}
