// `ipvs health CONFIG`: run the health checker (src/health) from a JSON config until SIGINT or SIGTERM,
// logging every transition and change with a timestamp (info to standard output, warnings and errors to
// standard error; a stream whose reader went away has its lines sent to the other one, and the checks go
// on). SIGHUP reads CONFIG again: a valid, changed one replaces the running checker as a restart would
// (the table left as it is, then reconciled); one that cannot be read or is invalid is logged and the
// running config kept; a SIGHUP while the first config is read or started is kept for when it runs. On the
// way out it waits for changes under way and then, by default, leaves the table as it is: a restart must
// not take the service down, and the next start reconciles the table with what it finds. --remove-on-exit
// deletes the config's services instead (for a director handing over to a standby). Only the command
// lives here; the dispatcher registers it as a subcommand.
//
// Exit status: 0 stopped cleanly (or, with --check-config, the config is valid), 1 the client could not
// be opened or the services could not be set up, 2 a usage error or a config that cannot be read or is
// invalid.

import { HealthChecker } from '../health/checker.js';
import { checksInFlightOf, normaliseHealthConfig, parseHealthConfig, slowdownText, worstCaseChecksInFlight } from '../health/config.js';
import { describeStart } from '../health/describe.js';
import type { HealthClient, HealthConfig, HealthLogger } from '../health/types.js';
import type { OutputFailures, TextSink } from './context.js';
import { OpenFailure } from './failures.js';
import { lineWriter, type LineWriter } from './log-lines.js';
import { printable } from './printable.js';
import { readInputFile } from './read-input.js';
import { stopSignal } from './stop-signal.js';

export interface HealthIo {
  stdout: TextSink;
  stderr: TextSink;
  /** Opens the client (the CLI's context does; it is closed by the caller). */
  ipvs(): Promise<HealthClient>;
  /** Ends the run. Default: the first SIGINT or SIGTERM this process receives. */
  signal?: AbortSignal;
  /** Default: the file's bytes (at most 256 MiB, src/cli/read-input.ts) as UTF-8. */
  readFile?: (path: string) => Promise<string>;
  /** Used in messages. Default 'ipvs'. */
  programName?: string;
  /** Timestamps of log lines. Default: the system clock. */
  now?: () => Date;
  /**
   * Calls `listener` at every request to read CONFIG again; returns the function that stops listening.
   * Default: SIGHUP, when the process's own signals stop the run (no `signal` given); none otherwise. Listened to
   * from before CONFIG is first read (a request then reads it again once running); not with --check-config.
   */
  onReload?: (listener: () => void) => () => void;
  /** Told that the command deals with failed writes to stdout and stderr itself (main.ts would end the process). */
  outputFailures?: OutputFailures;
}

const USAGE = `Usage: %p health [--check-config] [--remove-on-exit] [-v] CONFIG
Keep the real servers of the services in CONFIG (JSON) healthy: check each one on its own timer,
quiesce (weight 0) or remove a server that fails, restore it when it recovers, and put in the sorry
server while every real server is down. Runs until SIGINT or SIGTERM; SIGHUP reads CONFIG again (an
invalid one is logged and the running config kept). See docs/health.md.
  --check-config     read and check CONFIG, print what would be checked, change nothing
  --remove-on-exit   delete CONFIG's services when stopping (default: leave the table as it is)
  -v, --verbose      log every check result
Exit status: 0 stopped cleanly, 1 the services could not be set up, 2 a usage error or an invalid CONFIG.
`;

interface HealthArgs {
  file: string;
  checkConfig: boolean;
  removeOnExit: boolean;
  verbose: boolean;
  help: boolean;
}

function parseArgs(args: readonly string[]): HealthArgs | string {
  const out: HealthArgs = { file: '', checkConfig: false, removeOnExit: false, verbose: false, help: false };
  const files: string[] = [];
  let optionsDone = false;
  for (const a of args) {
    if (optionsDone || a === '-' || !a.startsWith('-')) files.push(a);
    else if (a === '--') optionsDone = true;
    else if (a === '--check-config') out.checkConfig = true;
    else if (a === '--remove-on-exit') out.removeOnExit = true;
    else if (a === '-v' || a === '--verbose') out.verbose = true;
    else if (a === '-h' || a === '--help') out.help = true;
    else return `unknown option ${a}`;
  }
  if (out.help) return out;
  if (files.length !== 1) return files.length === 0 ? 'a CONFIG file is needed' : 'only one CONFIG file, please';
  out.file = files[0]!;
  return out;
}

export async function runHealth(args: string[], io: HealthIo): Promise<number> {
  const program = io.programName ?? 'ipvs';
  const parsed = parseArgs(args);
  if (typeof parsed === 'string') {
    io.stderr.write(`${program} health: ${parsed}\n${USAGE.replaceAll('%p', program)}`);
    return 2;
  }
  if (parsed.help) {
    io.stdout.write(USAGE.replaceAll('%p', program));
    return 0;
  }
  // SIGHUP (by default only when the process's own signals stop it) asks for CONFIG to be read again. Listened to
  // from here on, before the first read: a SIGHUP then (Node's default ends the process) is kept and CONFIG read
  // again once the first config runs (the file may have changed after that first read). --check-config reads once.
  const onReload = parsed.checkConfig ? undefined : (io.onReload ?? (io.signal ? undefined : processHangups));
  let reloadAsked = false;
  let wake: (() => void) | undefined;
  const stopReloads = onReload?.(() => {
    reloadAsked = true;
    wake?.();
  });
  try {
    return await runConfig(parsed, io, program, {
      asked: () => reloadAsked,
      taken: () => (reloadAsked = false),
      onAsk: (w) => (wake = w),
    });
  } finally {
    stopReloads?.();
  }
}

/** The run's view of the SIGHUPs listened to by runHealth: whether one is waiting, and who to wake at the next. */
interface Reloads {
  asked(): boolean;
  taken(): void;
  onAsk(wake: (() => void) | undefined): void;
}

async function runConfig(parsed: HealthArgs, io: HealthIo, program: string, reloads: Reloads): Promise<number> {
  let config: HealthConfig;
  let text: string;
  try {
    text = await readConfigText(parsed.file, io);
    config = parseHealthConfig(text);
  } catch (err) {
    io.stderr.write(`${program} health: ${parsed.file}: ${printable((err as Error).message)}\n`);
    return 2;
  }
  if (parsed.checkConfig) {
    const services = normaliseHealthConfig(config);
    for (const svc of services) {
      io.stdout.write(`${describeStart(svc)}\n`);
      for (const rs of svc.realServers) io.stdout.write(`  ${rs.id} weight ${rs.spec.weight}: ${rs.check.label}, timeout ${rs.check.timeoutMs} ms\n`);
    }
    const bound = checksInFlightOf(config, services);
    const worst = worstCaseChecksInFlight(services);
    const derived = config.maxChecksInFlight === undefined ? ' (the default: a quarter of the limit on open files, at most 1024 or the worst case below)' : '';
    io.stdout.write(`at most ${bound} ${bound === 1 ? 'check' : 'checks'} at a time${derived}\n`);
    const slower = worst > bound ? `: each server would be checked about ${slowdownText(worst, bound)} times less often than its interval` : '';
    io.stdout.write(`if every check timed out, ${worst} would be in flight at once${slower}\n`);
    io.stdout.write(`${parsed.file}: valid\n`);
    return 0;
  }

  const now = io.now ?? (() => new Date());
  // A log line is one line, whatever a server or a config put in it (printable.ts).
  const stamped = (message: string): string => `${now().toISOString()} ${printable(message)}\n`;
  // A stream that stops being read must not make Node buffer every line: see log-lines.ts. One whose reader is
  // gone (EPIPE: `ipvs health f | head -1`, a log collector restarted) must not end the daemon either: its
  // lines go to the other stream from then on, after one line there saying so, and the checks go on.
  io.outputFailures?.handleInCommand();
  const dropNote = (name: string) => (n: number) => stamped(`note: ${n} log ${n === 1 ? 'line' : 'lines'} dropped while ${name} was not being read`);
  const goneNote = (name: string, other: string) => (e: Error) => {
    const why = (e as NodeJS.ErrnoException).code === 'EPIPE' ? 'EPIPE: its reader went away' : e.message;
    (name === 'standard output' ? errLog : outLog).write(stamped(`warning: ${name} failed (${why}): its log lines go to ${other} from now on; the checks go on`), false);
  };
  const outLog: LineWriter = lineWriter(io.stdout, dropNote('standard output'), goneNote('standard output', 'standard error'));
  const errLog: LineWriter = lineWriter(io.stderr, dropNote('standard error'), goneNote('standard error', 'standard output'));
  const toOut = (line: string, droppable: boolean): void => (outLog.gone ? errLog : outLog).write(line, droppable);
  const toErr = (line: string, droppable: boolean): void => (errLog.gone ? outLog : errLog).write(line, droppable);
  const logger: HealthLogger = {
    info: (m) => toOut(stamped(m), false),
    warn: (m) => toErr(stamped(`warning: ${m}`), false),
    error: (m) => toErr(stamped(`error: ${m}`), false),
    ...(parsed.verbose ? { debug: (m: string) => toOut(stamped(m), true) } : {}),
  };
  const own = io.signal ? undefined : stopSignal();
  const signal = io.signal ?? own!.signal;
  try {
    let ipvs: HealthClient;
    try {
      ipvs = await io.ipvs();
    } catch (err) {
      // The command line wraps a failed open in ipvsadm's two-line paragraph; a log line wants the
      // library's own one-line reason (`run \`modprobe ip_vs\``, `needs CAP_NET_ADMIN`) when there is one.
      const reason = err instanceof OpenFailure && err.cause instanceof Error ? err.cause : (err as Error);
      logger.error(`cannot open IPVS: ${reason.message}`);
      return 1;
    }
    // A checker for `c`, started; or, when it cannot start, stopped again and the reason.
    const startChecker = async (c: HealthConfig): Promise<HealthChecker | { failed: Error }> => {
      const started = new HealthChecker({ ipvs, config: c, logger });
      try {
        await started.start();
        return started;
      } catch (err) {
        await started.stop();
        return { failed: err as Error };
      }
    };
    const first = await startChecker(config);
    if (!(first instanceof HealthChecker)) {
      logger.error(`cannot start: ${first.failed.message}`);
      return 1;
    }
    let checker = first;
    logger.info(`running; stop with Ctrl-C or SIGTERM`);
    for (;;) {
      if (!signal.aborted && !reloads.asked()) {
        let woken = (): void => {};
        await new Promise<void>((resolve) => {
          woken = resolve;
          reloads.onAsk(resolve);
          signal.addEventListener('abort', woken, { once: true });
        });
        signal.removeEventListener('abort', woken);
        reloads.onAsk(undefined);
      }
      if (signal.aborted) break;
      reloads.taken();
      const next = await reload(parsed.file, text, io, logger);
      if (next === undefined) continue;
      // As a restart: the table is left as it is, and the new checker reconciles it (servers it serves start up).
      await checker.stop();
      const fresh = await startChecker(next.config);
      if (fresh instanceof HealthChecker) {
        checker = fresh;
        text = next.text;
        config = next.config;
        logger.info(`reloaded ${parsed.file}: running with the new config`);
        continue;
      }
      logger.error(`reload: cannot start with the new ${parsed.file}: ${fresh.failed.message}; going back to the config read before`);
      const back = await startChecker(config);
      if (!(back instanceof HealthChecker)) {
        logger.error(`cannot start: ${back.failed.message}`);
        return 1;
      }
      checker = back;
      logger.info(`running with the config read before`);
    }
    logger.info('stopping');
    await checker.stop({ removeServices: parsed.removeOnExit });
    logger.info(parsed.removeOnExit ? 'stopped; the services were deleted' : 'stopped; the table was left as it is');
    return 0;
  } finally {
    own?.dispose();
    outLog.dispose();
    errLog.dispose();
  }
}

/** SIGHUP's listener, while the command runs: Node's default for SIGHUP ends the process. */
function processHangups(listener: () => void): () => void {
  process.on('SIGHUP', listener);
  return () => process.off('SIGHUP', listener);
}

/**
 * CONFIG read again and checked whole, or undefined (logged why) to keep the running config: one that cannot be
 * read or is invalid, or one unchanged (the same text: a reload that changes nothing restarts nothing).
 */
async function reload(file: string, before: string, io: HealthIo, logger: HealthLogger): Promise<{ config: HealthConfig; text: string } | undefined> {
  let text: string;
  let config: HealthConfig;
  try {
    text = await readConfigText(file, io);
    if (text === before) {
      logger.info(`reload: ${file} is unchanged; nothing to do`);
      return undefined;
    }
    config = parseHealthConfig(text);
  } catch (err) {
    logger.warn(`reload: ${file}: ${(err as Error).message}; still running the config read before`);
    return undefined;
  }
  logger.info(`reload: ${file} changed: stopping the checks of the config read before (the table is left as it is) and starting the new one`);
  return { config, text };
}

function readConfigText(file: string, io: HealthIo): Promise<string> {
  return (io.readFile ?? (async (p: string) => (await readInputFile(p)).toString('utf8')))(file);
}
