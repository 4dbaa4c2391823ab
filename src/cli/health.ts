// `ipvs health CONFIG`: run the health checker (src/health) from a JSON config until SIGINT or SIGTERM,
// logging every transition and change with a timestamp (info to standard output, warnings and errors to
// standard error). On the way out it waits for changes under way and then, by default, leaves the table
// as it is: a restart must not take the service down, and the next start reconciles the table with what
// it finds. --remove-on-exit deletes the config's services instead (for a director handing over to a
// standby). Only the command lives here; the dispatcher registers it as a subcommand.
//
// Exit status: 0 stopped cleanly (or, with --check-config, the config is valid), 1 the client could not
// be opened or the services could not be set up, 2 a usage error or a config that cannot be read or is
// invalid.

import { HealthChecker } from '../health/checker.js';
import { checksInFlightOf, normaliseHealthConfig, parseHealthConfig } from '../health/config.js';
import { describeStart } from '../health/describe.js';
import type { HealthClient, HealthConfig, HealthLogger } from '../health/types.js';
import type { TextSink } from './context.js';
import { lineWriter } from './log-lines.js';
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
}

const USAGE = `Usage: %p health [--check-config] [--remove-on-exit] [-v] CONFIG
Keep the real servers of the services in CONFIG (JSON) healthy: check each one on its own timer,
quiesce (weight 0) or remove a server that fails, restore it when it recovers, and put in the sorry
server while every real server is down. Runs until SIGINT or SIGTERM. See docs/health.md.
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
  let config: HealthConfig;
  try {
    const text = await (io.readFile ?? (async (p: string) => (await readInputFile(p)).toString('utf8')))(parsed.file);
    config = parseHealthConfig(text);
  } catch (err) {
    io.stderr.write(`${program} health: ${parsed.file}: ${printable((err as Error).message)}\n`);
    return 2;
  }
  if (parsed.checkConfig) {
    for (const svc of normaliseHealthConfig(config)) {
      io.stdout.write(`${describeStart(svc)}\n`);
      for (const rs of svc.realServers) io.stdout.write(`  ${rs.id} weight ${rs.spec.weight}: ${rs.check.label}, timeout ${rs.check.timeoutMs} ms\n`);
    }
    const bound = checksInFlightOf(config);
    const derived = config.maxChecksInFlight === undefined ? ' (the default: a quarter of the limit on open files, at most 1024)' : '';
    io.stdout.write(`at most ${bound} ${bound === 1 ? 'check' : 'checks'} at a time${derived}\n`);
    io.stdout.write(`${parsed.file}: valid\n`);
    return 0;
  }

  const now = io.now ?? (() => new Date());
  // A log line is one line, whatever a server or a config put in it (printable.ts).
  const stamped = (message: string): string => `${now().toISOString()} ${printable(message)}\n`;
  // A stream that stops being read must not make Node buffer every line: see log-lines.ts.
  const dropNote = (name: string) => (n: number) => stamped(`note: ${n} log ${n === 1 ? 'line' : 'lines'} dropped while ${name} was not being read`);
  const out = lineWriter(io.stdout, dropNote('standard output'));
  const err = lineWriter(io.stderr, dropNote('standard error'));
  const logger: HealthLogger = {
    info: (m) => out.write(stamped(m), false),
    warn: (m) => err.write(stamped(`warning: ${m}`), false),
    error: (m) => err.write(stamped(`error: ${m}`), false),
    ...(parsed.verbose ? { debug: (m: string) => out.write(stamped(m), true) } : {}),
  };
  const own = io.signal ? undefined : stopSignal();
  const signal = io.signal ?? own!.signal;
  try {
    let ipvs: HealthClient;
    try {
      ipvs = await io.ipvs();
    } catch (err) {
      logger.error(`cannot open IPVS: ${(err as Error).message}`);
      return 1;
    }
    const checker = new HealthChecker({ ipvs, config, logger });
    try {
      await checker.start();
    } catch (err) {
      logger.error(`cannot start: ${(err as Error).message}`);
      await checker.stop();
      return 1;
    }
    logger.info(`running; stop with Ctrl-C or SIGTERM`);
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    logger.info('stopping');
    await checker.stop({ removeServices: parsed.removeOnExit });
    logger.info(parsed.removeOnExit ? 'stopped; the services were deleted' : 'stopped; the table was left as it is');
    return 0;
  } finally {
    own?.dispose();
  }
}
