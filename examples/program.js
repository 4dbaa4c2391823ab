// What every example shares when it runs as a program (`sudo node examples/NAME.js`) rather than imported by a
// test: parse the options, open the kernel client, run, close. A failure (not root: EPERM; no ip_vs module; a bad
// option) becomes one line a person can read and exit status 1, never a stack trace. Long-running examples get an
// AbortSignal that SIGINT and SIGTERM fire, so they can clean up (a second signal ends them at once), and SIGHUP
// too unless the example reads its input again on SIGHUP (`hangup: 'reload'`): Node's default for SIGHUP (the
// terminal closed, or a service manager's reload) ended them with the table as it was. They listen from the start,
// before the kernel client is opened: a signal while it opens (a loaded machine, a slow module load) used to end
// them by Node's default too. One-shot ones keep the defaults. `--help` or `-h` prints the example's usage and exits
// 0, before anything is parsed or opened.
import { pathToFileURL } from 'node:url';
import { Ipvs, ValidationError } from 'ipvs';

/**
 * The first of `names` (SIGINT, SIGTERM, SIGHUP) aborts `controller`, its name the reason; a second one of any of them (Ctrl-C twice, a
 * service manager's SIGTERM after a Ctrl-C) ends the process at once, killed by that signal. The listeners stay
 * until the returned function removes them: libuv drops a second signal that arrives in the same turn as the first
 * once its listener is gone, and the example would then go on cleaning up as if it had not come.
 */
export function abortOnSignals(controller, names = ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  const listeners = names.map((name) => [name, () => onSignal(name)]);
  const onSignal = (name) => {
    if (!controller.signal.aborted) return controller.abort(name);
    dispose();
    process.kill(process.pid, name);
  };
  const dispose = () => {
    for (const [name, listener] of listeners) process.off(name, listener);
  };
  for (const [name, listener] of listeners) process.on(name, listener);
  return dispose;
}

/** Calls `listener` at every SIGHUP (instead of Node's default, which ends the process); returns how to stop. */
export function onHangup(listener) {
  process.on('SIGHUP', listener);
  return () => process.off('SIGHUP', listener);
}

/** The number an option's text says, or an error naming the option: `--timeout abc` never becomes NaN further on. */
export function numberOption(text, option) {
  const n = Number(text);
  if (text.trim() === '' || Number.isNaN(n)) throw new Error(`invalid ${option} ${JSON.stringify(text)}: not a number`);
  return n;
}

/**
 * A value the library refused (a ValidationError, its field a path such as `operations[1].destination.address`)
 * as an error naming the option it came from: `fields` pairs a pattern of the field with the option. Any other
 * error is returned as it is.
 */
export function byOption(err, fields) {
  if (!(err instanceof ValidationError)) return err;
  const option = fields.find(([re]) => re.test(err.field))?.[1];
  if (option === undefined) return err;
  const value = typeof err.value === 'string' ? JSON.stringify(err.value) : String(err.value);
  return new Error(`invalid ${option} ${value}: ${err.reason}`, { cause: err });
}

/** Whether `argv` asks for the usage: `--help` or `-h` anywhere before a `--` (after it, arguments are no options). */
export function wantsHelp(argv) {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/**
 * Runs `run(ipvs, options, signal, hangups)` when `meta` is the module node was started with; does nothing
 * otherwise (runProgram below does the work). A long-running example stopped by a signal ends once `run` has
 * returned and the client is closed; if something it gave up on still holds the process LINGER_MS later (a read of
 * a file on a hung network file system, which holds a libuv thread: even process.exit() waits for that thread), it
 * says so and ends by the signal that stopped it, its default action now, as a service manager expects.
 */
export async function runAsProgram(meta, parseOptions, run, options = {}) {
  if (meta.url !== pathToFileURL(process.argv[1] ?? '').href) return;
  const name = `examples/${meta.url.slice(meta.url.lastIndexOf('/') + 1)}`;
  const stoppedBy = await runProgram(name, process.argv.slice(2), parseOptions, run, options);
  if (stoppedBy === undefined) return;
  setTimeout(() => {
    console.error(`${name}: stopped, but a call it gave up on (a read of a file on a hung file system?) is still pending: ending by ${stoppedBy}`);
    process.kill(process.pid, stoppedBy);
  }, LINGER_MS).unref();
}

/** How long a stopped example may take to end by itself before it ends by its signal (see runAsProgram). */
const LINGER_MS = 3000;

/**
 * Parses `argv`, opens the client (`open`, Ipvs.open() by default) and runs `run(ipvs, options, signal, hangups)`;
 * resolves to the name of the signal that stopped it, if one did. `longRunning`: listen for SIGINT, SIGTERM and SIGHUP from the
 * start and abort `signal` instead of dying at once; one that comes before `run` is called (while the client opens)
 * stops the program there, nothing done. With `hangup: 'reload'` SIGHUP is not a stop but is handed to `run` as
 * `hangups` (onHangup above), which `run` must listen to at once (before its first await); one before that is
 * ignored, as `run` reads its input for the first time after it. `usage`: what `--help` and `-h` print (to standard
 * output, exit status 0; nothing else runs: no root needed).
 */
export async function runProgram(name, argv, parseOptions, run, { longRunning = false, hangup = 'stop', usage, open = () => Ipvs.open() } = {}) {
  if (usage !== undefined && wantsHelp(argv)) {
    process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`);
    return undefined;
  }
  const stop = new AbortController();
  const reloads = longRunning && hangup === 'reload';
  const dispose = longRunning ? abortOnSignals(stop, reloads ? ['SIGINT', 'SIGTERM'] : undefined) : () => {};
  const stopIgnoring = reloads ? onHangup(() => {}) : () => {};
  try {
    const options = parseOptions(argv);
    const ipvs = await open();
    try {
      if (stop.signal.aborted) console.log('Stopped before it began: nothing changed.');
      else await run(ipvs, options, stop.signal, reloads ? onHangup : undefined);
    } finally {
      await ipvs.close();
    }
  } catch (err) {
    console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  } finally {
    stopIgnoring();
    dispose();
  }
  return stop.signal.aborted ? stop.signal.reason : undefined;
}
