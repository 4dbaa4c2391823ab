// `ipvs apply FILE`: make the kernel hold the desired state in FILE (JSON, or ipvsadm rules text; the
// format is detected) through src/reconcile, then printing every planned change with its outcome (one report at the end). Also
// holds what `ipvs diff` shares with it: the option grammar, reading the state file (or standard input
// for `-`), the drain-state file, and getting a client that can plan.
//
// Exit status: 0 when every change was applied (or there was nothing to do, or --dry-run), 1 when some
// change failed or was not attempted (the rest was applied; run again to converge), 2 for a usage error,
// a state file that cannot be read or is invalid, or a kernel that cannot be read. SIGINT or SIGTERM
// while changes go out stops sending (exit 1 with the report); see runApply.

import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { readAll, type CliContext } from './context.js';
import { printable } from './printable.js';
import { readInputFile } from './read-input.js';
import { ABORTED_REASON, apply, applyPlan, plan, describeApplyResult, type ApplyResult, type ReconcileClient, type DrainOption, type DrainState } from '../reconcile/index.js';
import { desiredStateFromRuleOperations, detectStateFormat, NO_RULES_REASON, parseDesiredStateJson, stateText, type DesiredState } from '../reconcile/state.js';
import { IpvsError } from '../netlink/errors.js';
import { parseRulesResolving } from '../rules/parse.js';
import { stopSignal } from './stop-signal.js';

/** The options apply and diff share. */
export interface ReconcileArgs {
  file: string;
  dryRun: boolean;
  prune: boolean;
  /** undefined: no drain; Infinity: until idle; a number: until idle or that many seconds. */
  drainSeconds: number | undefined;
  drainStateFile: string | undefined;
  stopOnError: boolean;
  quiet: boolean;
  help: boolean;
}

/** A command line the subcommand refuses: the sentence to print, exit status 2. */
export class ReconcileUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconcileUsageError';
  }
}

const APPLY_USAGE = `Usage: %p apply [--dry-run] [--prune] [--drain[=SECONDS]] [--drain-state FILE] [--stop-on-error] [-q] FILE
Make the IPVS table hold the desired state in FILE: JSON ({"services": [...]}) or ipvsadm rules text
(as written by -S), detected from the content; - reads standard input.
  --dry-run            print the changes, make none
  --prune              delete services that FILE does not list (default: leave them alone)
  --drain[=SECONDS]    remove destinations gracefully: weight 0 first, deleted by a later run once they
                       have no active connections (UDP: no connections; or SECONDS after draining began)
  --drain-state FILE   remember when each drain began in FILE (needed for --drain=SECONDS)
  --stop-on-error      attempt nothing more after the first failure
  -q, --quiet          print failures only
Exit status: 0 all applied, 1 some changes failed or were not attempted, 2 trouble.
`;

export function applyUsage(programName: string): string {
  return APPLY_USAGE.replaceAll('%p', programName);
}

/** Parse the arguments of apply (and, with `allowed` narrowed, diff). */
export function parseReconcileArgs(args: readonly string[], command: string, allowed: ReadonlySet<string>): ReconcileArgs {
  const out: ReconcileArgs = {
    file: '', dryRun: false, prune: false, drainSeconds: undefined, drainStateFile: undefined, stopOnError: false, quiet: false, help: false,
  };
  const files: string[] = [];
  let optionsDone = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (optionsDone || a === '-' || !a.startsWith('-')) {
      files.push(a);
      continue;
    }
    if (a === '--') {
      optionsDone = true;
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    const canonical = name === '-q' ? '--quiet' : name === '-h' ? '--help' : name;
    if (!allowed.has(canonical)) throw new ReconcileUsageError(`${command}: unknown option ${name}`);
    const noValue = (): void => {
      if (inline !== undefined) throw new ReconcileUsageError(`${command}: ${name} takes no value`);
    };
    switch (canonical) {
      case '--dry-run': noValue(); out.dryRun = true; break;
      case '--prune': noValue(); out.prune = true; break;
      case '--stop-on-error': noValue(); out.stopOnError = true; break;
      case '--quiet': noValue(); out.quiet = true; break;
      case '--help': noValue(); out.help = true; break;
      case '--drain': {
        if (inline === undefined) {
          out.drainSeconds = Infinity;
          break;
        }
        const s = Number(inline);
        if (inline.trim() === '' || !Number.isFinite(s) || s < 0) throw new ReconcileUsageError(`${command}: --drain=SECONDS needs a number of seconds >= 0, not '${inline}'`);
        out.drainSeconds = s;
        break;
      }
      case '--drain-state': {
        const value = inline ?? args[++i];
        if (value === undefined || value === '') throw new ReconcileUsageError(`${command}: --drain-state needs a file name`);
        // `--drain-state --dry-run state.json` (the name forgotten) took --dry-run as the file name: the changes
        // were made for real and a file named --dry-run written. A name that looks like an option must be glued.
        if (inline === undefined && value.startsWith('-')) {
          throw new ReconcileUsageError(`${command}: --drain-state needs a file name, not '${value}' (for a file of that name: --drain-state=${value}, or ./${value})`);
        }
        out.drainStateFile = value;
        break;
      }
      default:
        throw new ReconcileUsageError(`${command}: unknown option ${name}`);
    }
  }
  if (out.help) return out;
  if (files.length !== 1) throw new ReconcileUsageError(`${command}: ${files.length === 0 ? 'no state file given' : 'give one state file'} (use - for standard input)`);
  out.file = files[0]!;
  if (out.drainStateFile !== undefined && out.drainSeconds === undefined) throw new ReconcileUsageError(`${command}: --drain-state goes with --drain`);
  if (out.drainSeconds !== undefined && out.drainSeconds !== Infinity && out.drainStateFile === undefined) {
    throw new ReconcileUsageError(`${command}: --drain=SECONDS needs --drain-state FILE to remember when each drain began`);
  }
  return out;
}

/** Read and parse the desired state from a file or standard input; host names in rules text are resolved. */
export async function loadDesiredState(file: string, ctx: CliContext): Promise<DesiredState> {
  const text = stateText(file === '-' ? await readAll(ctx.stdin) : await readInputFile(file));
  if (detectStateFormat(text) === 'json') return parseDesiredStateJson(text);
  const ops = await parseRulesResolving(text, (name) => ctx.resolver.lookup(name), { services: ctx.resolver.services });
  // An empty file or pipe is far more often a failed `ipvsadm -S > file` than a wish for an empty table,
  // which with --prune would delete every service.
  if (ops.length === 0) throw new Error(NO_RULES_REASON);
  return desiredStateFromRuleOperations(ops);
}

/** The drain start times kept in a file; none yet when it does not exist. */
export async function loadDrainState(file: string | undefined): Promise<DrainState | undefined> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = (await readInputFile(file)).toString('utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return {};
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${file}: not a drain-state file (invalid JSON)`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'number')) {
    throw new Error(`${file}: not a drain-state file (expected {"<service> -> <destination>": <ms since the epoch>, ...})`);
  }
  return value as DrainState;
}

/** Write the drain state atomically (a crash leaves the old file or the new one, never half of one). */
export async function saveDrainState(file: string, state: DrainState): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const text = JSON.stringify(state, null, 2) + '\n';
  // The temporary file is created anew (O_EXCL): in a directory others can write to (/tmp), a symlink
  // planted at its guessable name would otherwise be followed, and the file it names overwritten by root.
  // One already there (left by a crash, or planted) is unlinked first, which removes a link, not its target.
  let handle: FileHandle;
  try {
    handle = await open(tmp, 'wx');
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw err;
    await unlink(tmp);
    handle = await open(tmp, 'wx');
  }
  try {
    await handle.writeFile(text);
    // On disk before the rename: after a power loss, a rename that reached the disk before the data (XFS, ext4
    // without auto_da_alloc) leaves an empty file, which every later apply refuses as no drain-state file.
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

/** The drain option for the library from the command line. */
export function drainOptionOf(args: ReconcileArgs, state: DrainState | undefined): DrainOption | undefined {
  if (args.drainSeconds === undefined) return undefined;
  return {
    ...(args.drainSeconds === Infinity ? {} : { timeout: args.drainSeconds }),
    ...(state ? { state } : {}),
  };
}

/** The run's client, as the reconcile functions need it. */
export async function reconcileClient(ctx: CliContext): Promise<ReconcileClient> {
  const ipvs = (await ctx.ipvs()) as unknown as Partial<ReconcileClient>;
  if (typeof ipvs.execute !== 'function' || typeof ipvs.iterateServices !== 'function' || typeof ipvs.destinations !== 'function') {
    throw new Error('this IPVS client cannot plan changes (it has no execute/iterateServices)');
  }
  return ipvs as ReconcileClient;
}

/** The message of an error for a one-line report; control characters from the input escaped (printable.ts). */
export function errorText(err: unknown): string {
  return printable(err instanceof IpvsError || err instanceof Error ? err.message : String(err));
}

export const APPLY_OPTIONS: ReadonlySet<string> = new Set(['--dry-run', '--prune', '--drain', '--drain-state', '--stop-on-error', '--quiet', '--help']);

/** What `ipvs apply` and `ipvs diff` have in hand before they touch the kernel. */
export interface ReconcileInput {
  /** How messages name the command, e.g. 'ipvs apply'. */
  name: string;
  parsed: ReconcileArgs;
  desired: DesiredState;
  drainState: DrainState | undefined;
}

/**
 * The part of `ipvs apply` and `ipvs diff` before the kernel: the arguments (a usage error or --help written
 * here), then the desired state and the drain-state file, each named in its own error. A number is the exit
 * status to end with.
 */
export async function reconcileInput(
  args: readonly string[],
  ctx: CliContext,
  command: string,
  allowed: ReadonlySet<string>,
  usage: (programName: string) => string,
): Promise<ReconcileInput | number> {
  const name = `${ctx.programName} ${command}`;
  let parsed: ReconcileArgs;
  try {
    parsed = parseReconcileArgs(args, name, allowed);
  } catch (err) {
    if (!(err instanceof ReconcileUsageError)) throw err;
    ctx.stderr.write(`${err.message}\n${usage(ctx.programName)}`);
    return 2;
  }
  if (parsed.help) {
    ctx.stdout.write(usage(ctx.programName));
    return 0;
  }
  let desired: DesiredState;
  try {
    desired = await loadDesiredState(parsed.file, ctx);
  } catch (err) {
    ctx.stderr.write(`${name}: ${parsed.file === '-' ? 'standard input' : parsed.file}: ${errorText(err)}\n`);
    return 2;
  }
  try {
    // Its errors name the drain-state file themselves.
    return { name, parsed, desired, drainState: await loadDrainState(parsed.drainStateFile) };
  } catch (err) {
    ctx.stderr.write(`${name}: ${errorText(err)}\n`);
    return 2;
  }
}

/**
 * `ipvs apply ...`; resolves to the exit status. Once changes start to go out, `signal` (default: the first
 * SIGINT or SIGTERM) stops sending; while the table is only being read, Ctrl-C ends the process as usual.
 */
export async function runApply(args: readonly string[], ctx: CliContext, options: { signal?: AbortSignal } = {}): Promise<number> {
  const input = await reconcileInput(args, ctx, 'apply', APPLY_OPTIONS, applyUsage);
  if (typeof input === 'number') return input;
  const { name, parsed, desired, drainState } = input;
  const ipvs = await reconcileClient(ctx);
  const now = Date.now();
  const drain = drainOptionOf(parsed, drainState);
  const planOptions = { prune: parsed.prune, now, ...(drain === undefined ? {} : { drain }) };
  let result: ApplyResult;
  try {
    if (parsed.dryRun) result = await apply(ipvs, desired, { ...planOptions, dryRun: true });
    else {
      const thePlan = await plan(ipvs, desired, planOptions);
      // Ctrl-C while changes go out: what was sent is answered and reported, the rest is not sent, and the
      // drain state is still written (a second Ctrl-C ends the process at once).
      const own = options.signal ? undefined : stopSignal();
      try {
        result = await applyPlan(ipvs, thePlan, { stopOnError: parsed.stopOnError, signal: options.signal ?? own!.signal });
      } finally {
        own?.dispose();
      }
    }
  } catch (err) {
    ctx.stderr.write(`${name}: ${errorText(err)}\n`);
    return 2;
  }
  const text = describeApplyResult(result, now);
  if (!parsed.quiet) ctx.stdout.write(text.out);
  ctx.stderr.write(text.err);
  if (result.notAttempted.some((n) => n.reason === ABORTED_REASON)) ctx.stderr.write(`${name}: interrupted; run it again to converge\n`);
  if (parsed.drainStateFile !== undefined && !parsed.dryRun) {
    try {
      await saveDrainState(parsed.drainStateFile, result.drainState);
    } catch (err) {
      ctx.stderr.write(`${name}: cannot write ${parsed.drainStateFile}: ${errorText(err)}\n`);
      return 1;
    }
  }
  return result.ok ? 0 : 1;
}
