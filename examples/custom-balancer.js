// A balancer of your own in a few lines: the table is described in a file (JSON, or ipvsadm rules as
// `ipvsadm -S` writes them), and every time the file changes the kernel is brought to match it with the
// fewest changes (a weight edit is one update, never a delete and add). Edit the file in another
// terminal and watch the changes go in. Services the file does not list are left alone.
//
//   sudo node examples/custom-balancer.js [--file examples/balancer.json] [--prune] [--keep]
//
// Ctrl-C stops watching and removes the services the file lists (--keep leaves them).
import { readFile } from 'node:fs/promises';
import { watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { apply, describeApplyResult, parseDesiredState } from 'ipvs';
import { runAsProgram } from './program.js';

export function parseOptions(argv, env = process.env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      file: { type: 'string', default: env.BALANCER_FILE ?? fileURLToPath(new URL('balancer.json', import.meta.url)) },
      prune: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  return { ...values, file: resolve(values.file) };
}

/** Read the file and make the kernel match it; a bad file is reported and the table left alone. */
export async function reconcileOnce(ipvs, options, log = console.log) {
  let desired;
  try {
    desired = parseDesiredState(await readFile(options.file, 'utf8'));
  } catch (err) {
    log(`${basename(options.file)}: ${err.message} (table left as it is)`);
    return undefined;
  }
  const result = await apply(ipvs, desired, { prune: options.prune });
  const { out, err } = describeApplyResult(result);
  log((out + err).trimEnd());
  return desired;
}

/** Reconcile now and on every change of the file, until `signal` aborts; then clean up unless options.keep. */
export async function main(ipvs, options, { signal, log = console.log, debounceMs = 200 } = {}) {
  log(`Keeping IPVS in line with ${options.file}. Edit it; Ctrl-C to stop.`);
  let last = await reconcileOnce(ipvs, options, log);
  // Watch the directory, not the file: editors save by writing a new file and renaming it over the old.
  let timer;
  let running = Promise.resolve();
  const watcher = watch(dirname(options.file), (_event, name) => {
    if (name !== basename(options.file)) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(async () => {
        log(`${basename(options.file)} changed:`);
        last = (await reconcileOnce(ipvs, options, log)) ?? last;
      });
    }, debounceMs);
  });
  if (!signal?.aborted) await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
  watcher.close();
  clearTimeout(timer);
  await running;
  if (!options.keep && last) {
    for (const svc of last.services) await ipvs.deleteService(svc).catch(() => {});
    log(`Stopped and removed the ${last.services.length} service(s) the file lists.`);
  } else log('Stopped; the table is left as it is.');
}

await runAsProgram(import.meta, parseOptions, (ipvs, options, signal) => main(ipvs, options, { signal }), { longRunning: true });
