// How each example starts when it is run as a program (`sudo node examples/NAME.js`) rather than imported by a
// test: parse the options, open the kernel client, run, close. A failure (not root: EPERM; no ip_vs module; a bad
// option) becomes one line a person can read and exit status 1, never a stack trace. Long-running examples get an
// AbortSignal that SIGINT and SIGTERM fire, so they can clean up (a second signal ends them at once); one-shot ones
// keep Ctrl-C's default.
import { pathToFileURL } from 'node:url';
import { Ipvs } from 'ipvs';

/**
 * The first SIGINT or SIGTERM aborts `controller`; a second one of either kind (Ctrl-C twice, a service manager's
 * SIGTERM after a Ctrl-C) ends the process at once, killed by that signal. Both listeners stay until the returned
 * function removes them: libuv drops a second signal that arrives in the same turn as the first once its listener
 * is gone, and the example would then go on cleaning up as if it had not come.
 */
export function abortOnSignals(controller) {
  const onSignal = (name) => {
    if (!controller.signal.aborted) return controller.abort();
    dispose();
    process.kill(process.pid, name);
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  const dispose = () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return dispose;
}

/**
 * Runs `run(ipvs, options, signal)` when `meta` is the module node was started with; does nothing otherwise.
 * `longRunning`: listen for SIGINT/SIGTERM and abort `signal` instead of dying at once.
 */
export async function runAsProgram(meta, parseOptions, run, { longRunning = false } = {}) {
  if (meta.url !== pathToFileURL(process.argv[1] ?? '').href) return;
  const name = `examples/${meta.url.slice(meta.url.lastIndexOf('/') + 1)}`;
  try {
    const options = parseOptions(process.argv.slice(2));
    const ipvs = await Ipvs.open();
    const stop = new AbortController();
    const dispose = longRunning ? abortOnSignals(stop) : () => {};
    try {
      await run(ipvs, options, stop.signal);
    } finally {
      await ipvs.close();
      dispose();
    }
  } catch (err) {
    console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
