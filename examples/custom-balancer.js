// A balancer of your own in a few lines: the table is described in a file (JSON, or ipvsadm rules as
// `ipvsadm -S` writes them), and every time the file changes the kernel is brought to match it with the
// fewest changes (a weight edit is one update, never a delete and add). Edit the file in another
// terminal and watch the changes go in (an editor's save by rename, and a Kubernetes ConfigMap's swap of
// its `..data` link, count as edits). Services the file does not list are left alone (--prune deletes
// them). A file that cannot be read, is not valid JSON or rules, holds a bad value (weight -1, an unknown
// scheduler, a service twice) or holds nothing at all (as `ipvs apply` refuses it: an empty file is far
// more often a truncated one than a wish for an empty table; write {"services": []} for that) is reported
// and the table left as it is; the next good edit goes in. The file is also applied again every
// --interval seconds (default 30; 0: only on edits), and 5 s after an apply with a failed step, so a
// refused change, a race with another writer or a hand edit (ipvs -d) is put right without an edit. At
// most FILE_LIMIT bytes of the file are read (a larger one is reported, not read until memory runs out),
// and text of the file quoted in a message has its control characters escaped, so a hostile file cannot
// act on the terminal. If the file's directory is deleted and created again, the new one is watched. Only a
// regular file (or a symlink to one) is read: a FIFO or a device is refused, as opening a FIFO with no
// writer would wait for ever. SIGHUP applies the file again at once, as an edit would.
//
//   sudo node examples/custom-balancer.js [--file examples/balancer.json] [--prune] [--keep] [--interval 30]
//
// Ctrl-C (or SIGTERM) stops watching, at once even while the file is being read or looked at (stat: a hung
// network file system), and deletes the services the file lists that this run created (absent when it started);
// a service that was there before stays, as the file last made it. --keep leaves everything.
import { open, stat } from 'node:fs/promises';
import { constants, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { apply, describeApplyResult, normaliseDesiredState, parseDesiredState } from 'ipvs';
import { runAsProgram } from './program.js';

/** The most of the file read: far above any real table (5 000 services of 4 servers are 1.7 MB of JSON). */
export const FILE_LIMIT = 16 * 1024 * 1024;

/** How often a deleted directory is looked for again, to watch it once it is back. */
const REWATCH_MS = 1000;

/**
 * `text` with its control characters (but tab) written as `\u001b`-style escapes, as JSON writes them: an error
 * quoting the file (an unknown key, the start of text that is no JSON) would otherwise put an escape sequence or
 * a forged line on the terminal of whoever runs this, as root. The library's messages keep the text they quote as
 * it is, for programs to print their own way (docs/decisions.md); this is this program's way, a copy rather than an
 * export of the command line's src/cli/printable.ts: a terminal helper is no part of an IPVS library's API, and that
 * one keeps vertical tab and form feed, for ipvsadm's sentences byte for byte, which a program of its own need not.
 */
export function printable(text) {
  return String(text).replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What a file that is not a regular one is, for the message refusing it. */
function kindOf(s) {
  if (s.isFIFO()) return 'a FIFO';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isDirectory()) return 'a directory';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The bytes of a regular file, at most `limit`: more (a runaway file) is an error, read no further. Anything but a
 * regular file is refused before a byte is read: opened without O_NONBLOCK a FIFO with no writer would hold the open
 * (and one of libuv's four threads) for ever, and a device can be endless.
 */
export async function readBounded(path, limit = FILE_LIMIT) {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const s = await handle.stat();
    if (!s.isFile()) throw new Error(`${kindOf(s)}, not a regular file: not read (give the path of a file)`);
    const chunks = [];
    let total = 0;
    for (;;) {
      const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(64 * 1024), 0, 64 * 1024, null);
      if (bytesRead === 0) return Buffer.concat(chunks, total);
      total += bytesRead;
      if (total > limit) throw new Error(`larger than ${limit / (1024 * 1024)} MiB: not read further (a runaway file?)`);
      chunks.push(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

export function parseOptions(argv, env = process.env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      file: { type: 'string', default: env.BALANCER_FILE ?? fileURLToPath(new URL('balancer.json', import.meta.url)) },
      prune: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      interval: { type: 'string', default: '30' },
    },
  });
  const interval = Number(values.interval);
  // A timer takes at most 2^31-1 ms (Node fires a longer one at once): about 24 days.
  if (!(interval >= 0 && interval <= 2147483)) throw new Error(`--interval ${values.interval}: give a number of seconds up to 2147483 (0: only on edits)`);
  return { ...values, file: resolve(values.file), interval };
}

/**
 * The desired state in a file's text, JSON or rules. Like `ipvs apply`, text with no rules at all (empty,
 * blank, only comments: a file caught between truncate and write) is refused rather than read as an
 * empty table, which with --prune would delete every service.
 */
export function readDesiredState(input) {
  return parseDesiredState(input, { requireRules: true });
}

/** `work`'s result, or STOPPED as soon as `signal` aborts (`work` is then left to end on its own, its result unused). */
const STOPPED = Symbol('stopped');
function unlessStopped(work, signal) {
  if (signal === undefined) return work;
  if (signal.aborted) return Promise.resolve(STOPPED);
  return new Promise((resolve, reject) => {
    const stop = () => resolve(STOPPED);
    signal.addEventListener('abort', stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}

/**
 * Read the file and make the kernel match it. Returns the state and apply's result, or undefined when
 * nothing was sent: a file that cannot be read or parsed, a bad value, a kernel that cannot be read (apply
 * throws only before it sends anything) are reported and the table left alone. When `signal` aborts while the
 * file is read (a file on a hung network file system can hold a read for minutes), the read is given up on and
 * nothing is applied: a stop must not wait for it. An apply under way is waited for (the kernel answers at once).
 */
export async function reconcileOnce(ipvs, options, log = console.log, { quietInSync = false, signal, read = readBounded } = {}) {
  // Stopped already (during a stat at start): no read begun, which a hung file system would hold.
  if (signal?.aborted) return undefined;
  try {
    const bytes = await unlessStopped(read(options.file), signal);
    if (bytes === STOPPED || signal?.aborted) return undefined;
    const desired = readDesiredState(bytes);
    const result = await apply(ipvs, desired, { prune: options.prune });
    const { out, err } = describeApplyResult(result);
    // The periodic pass says nothing when there was nothing to do.
    if (!quietInSync || result.plan.steps.length > 0) log((out + err).trimEnd().split('\n').map(printable).join('\n'));
    return { desired, result };
  } catch (err) {
    log(`${basename(options.file)}: ${printable(err.message)} (table left as it is)`);
    return undefined;
  }
}

/** Which file `path` reaches now (symlinks followed) and its size and time: changes with every edit or swap. */
async function fileIdentity(path, statPath = stat) {
  try {
    const s = await statPath(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** Which directory `path` is now (its size and time change with every file made in it: left out). */
async function directoryIdentity(path, statPath = stat) {
  try {
    const s = await statPath(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return 'missing';
  }
}

/** The ids ('tcp 192.168.1.110:80', as plan steps name them) of the services in the table now. */
async function servicesThere(ipvs) {
  try {
    const keys = (await ipvs.services()).map((s) => (s.fwmark !== undefined ? { fwmark: s.fwmark, family: s.family } : { protocol: s.protocol, address: s.address, port: s.port }));
    return [...normaliseDesiredState({ services: keys }).keys()];
  } catch {
    return []; // the first apply reports a table it cannot read
  }
}

/**
 * Reconcile now and on every change of the file, until `signal` aborts; then, unless options.keep, delete
 * the services the last good file lists that this run created. A service it deleted (--prune) and added
 * again is not its own: it was there before.
 */
export async function main(ipvs, options, { signal, log = console.log, debounceMs = 200, retryMs = 5000, hangups, read, stat: statPath = stat } = {}) {
  // SIGHUP applies the file again. Listened to before the first await (runAsProgram's hangups: until then it would
  // end the process); one during the first apply waits for it to end, as a second apply must not run beside it.
  let hangup = () => void (hangupWaiting = true);
  let hangupWaiting = false;
  const stopHangups = hangups?.(() => hangup());
  log(`Keeping IPVS in line with ${options.file}. Edit it; Ctrl-C to stop.`);
  const created = new Map(); // target ('tcp 192.168.1.110:80') -> the service key it was added with
  // Services that are not this run's to delete on stop: there before it started (even if deleted and re-added
  // since, by hand and then by a periodic pass), or deleted by this run without having made them.
  const notOurs = new Set(await servicesThere(ipvs));
  let listed = []; // the ids ('tcp 192.168.1.110:80') of the services the last good file lists
  let again; // the next periodic pass, or the retry after a failed step
  const reconcile = async (quietInSync = false) => {
    const done = await reconcileOnce(ipvs, options, log, { quietInSync, signal, read });
    if (done !== undefined) {
      listed = [...normaliseDesiredState(done.desired).keys()];
      for (const { operation, target } of done.result.applied) {
        if (operation.op === 'add-service' && !notOurs.has(target)) created.set(target, operation.service);
        if (operation.op === 'delete-service' && !created.delete(target)) notOurs.add(target);
      }
    }
    // A file it cannot use waits for its next edit (or the next pass); a failed step is tried again soon.
    clearTimeout(again);
    const ms = done !== undefined && !done.result.ok ? retryMs : options.interval * 1000;
    if (ms > 0 && !signal?.aborted) again = setTimeout(() => enqueue(undefined), ms);
  };
  // One reconcile at a time; reconcileOnce reports its own failures, the catch keeps the chain going whatever happens.
  let running = Promise.resolve();
  const enqueue = (header) => {
    running = running
      .then(async () => {
        if (signal?.aborted) return;
        if (header !== undefined) log(header);
        await reconcile(header === undefined);
      })
      .catch((err) => log(`${basename(options.file)}: ${printable(err.message)}`));
  };
  // A stat, like a read, can hang on a hung network file system: a stop gives it up too (unlessStopped), and
  // main goes on to its cleanup (every later step sees the signal aborted).
  let seen = await unlessStopped(fileIdentity(options.file, statPath), signal);
  await reconcile();
  hangup = () => enqueue(`SIGHUP: applying ${basename(options.file)} again:`);
  if (hangupWaiting) hangup();
  // Watch the directory, not the file: editors save by writing a new file and renaming it over the old. An
  // event naming the file is an edit; any other (a Kubernetes ConfigMap's file is a symlink through `..data`,
  // which is swapped, so the event names `..data`) is one if the file now reached is another or changed.
  // A watch follows its directory's inode: once the directory is deleted (and perhaps made again) it sees
  // nothing more, so the directory gone or replaced is looked for every REWATCH_MS and watched again.
  const dir = dirname(options.file);
  let timer;
  let named = false;
  let watcher;
  let watched; // the identity of the directory watched
  let rewatch; // the interval looking for the directory while it is gone
  const fileCheck = async () => {
    if (!signal?.aborted && (await directoryIdentity(dir, statPath)) !== watched) lost();
    const now = await fileIdentity(options.file, statPath);
    const edited = named || now !== seen;
    named = false;
    seen = now;
    if (edited) enqueue(`${basename(options.file)} changed:`);
  };
  const onEvent = (_event, name) => {
    if (name === basename(options.file)) named = true;
    clearTimeout(timer);
    timer = setTimeout(fileCheck, debounceMs);
  };
  const startWatching = async () => {
    const identity = await unlessStopped(directoryIdentity(dir, statPath), signal);
    if (identity === 'missing' || signal?.aborted) return false;
    try {
      watcher = watch(dir, onEvent);
    } catch {
      return false;
    }
    watcher.on('error', () => lost());
    watched = identity;
    return true;
  };
  function lost() {
    watcher?.close();
    watcher = undefined;
    if (rewatch !== undefined || signal?.aborted) return;
    let looking = false;
    rewatch = setInterval(async () => {
      if (looking) return;
      looking = true;
      try {
        if (await startWatching()) {
          clearInterval(rewatch);
          rewatch = undefined;
          await fileCheck(); // what was written before the watch began
        }
      } finally {
        looking = false;
      }
    }, REWATCH_MS);
  }
  if (!(await startWatching())) lost();
  if (!signal?.aborted) await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
  stopHangups?.();
  clearInterval(rewatch);
  watcher?.close();
  clearTimeout(timer);
  clearTimeout(again);
  await running;
  clearTimeout(again);
  if (options.keep) return log('Stopped; the table is left as it is.');
  let removed = 0;
  for (const id of listed.filter((id) => created.has(id))) {
    try {
      await ipvs.deleteService(created.get(id));
      removed++;
    } catch (err) {
      if (err.code !== 'ESRCH') log(`could not delete ${id}: ${printable(err.message)}`);
    }
  }
  const found = listed.filter((id) => !created.has(id)).length;
  const left = found === 0 ? '' : ` and this run created; left the ${found} that ${found === 1 ? 'was' : 'were'} there before it started`;
  log(`Stopped and removed the ${removed} service(s) the file lists${left}.`);
}


/** What `--help` prints: the options and their defaults (as docs/examples.md lists them). */
export const usage = `Usage: sudo node examples/custom-balancer.js [options]

Keeps IPVS in line with a desired-state file (JSON, or ipvsadm -S rules), with the fewest changes: at start, after
every edit, on SIGHUP and every --interval seconds. Runs until Ctrl-C or SIGTERM; then deletes the services of the
file that this run created.

  --file FILE            the desired state (default: $BALANCER_FILE or examples/balancer.json)
  --prune                delete the services the file does not list
  --keep                 leave the table as it is on exit
  --interval SECONDS     apply the file again this often without an edit (default 30; 0: only on edits)
  -h, --help             print this and exit
`;

await runAsProgram(import.meta, parseOptions, (ipvs, options, signal, hangups) => main(ipvs, options, { signal, hangups }), { longRunning: true, hangup: 'reload', usage });
