// How each example starts when it is run as a program (`sudo node examples/NAME.js`) rather than imported by a
// test: parse the options, open the kernel client, run, close. A failure (not root: EPERM; no ip_vs module; a bad
// option) becomes one line a person can read and exit status 1, never a stack trace. Long-running examples get an
// AbortSignal that SIGINT and SIGTERM fire, so they can clean up; one-shot ones keep Ctrl-C's default.
import { pathToFileURL } from 'node:url';
import { Ipvs } from 'ipvs';

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
    if (longRunning) {
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
    }
    try {
      await run(ipvs, options, stop.signal);
    } finally {
      await ipvs.close();
    }
  } catch (err) {
    console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
