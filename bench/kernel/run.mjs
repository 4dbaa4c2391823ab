// Bulk benchmark on a real IPVS kernel, side by side with the real ipvsadm 1.31 on the same data, in ONE
// boot of the User-Mode Linux sandbox:
//   npm run build && node scripts/sandbox.mjs --timeout 1500 -- node bench/kernel/run.mjs
// (not part of npm test; the sandbox writes the guest's output to .uml/run-*/output and prints it on the host,
// since the UML console mangles it; BENCH_OUT=FILE also writes this report and a JSON copy of the numbers).
//
// Each contender works in its own fresh network namespace (`ip netns add`, then `ip netns exec`): IPVS keeps
// deleted destinations in a per-namespace trash list that slows re-adding them, so a shared namespace would
// favour whoever ran first. Every step is a separate process started the same way for both and timed whole;
// the library's worker (bench/kernel/worker.mjs) also reports the time of the work itself, after Node's
// start-up and the library's imports, opening the socket and resolving the family included. Targets compare
// that work time with ipvsadm's whole-process time (ipvsadm, in C, starts in a few ms); Node's start-up
// (`node -e 0`, and node plus the imports) is printed on its own line, and the CLI rows show `ipvs` whole.
//
// Steps, on SERVICES services x DESTS destinations (default 5 000 x 4):
//   restore    ipvsadm -R < save file      vs  the library in-process: prepareRules + execute; and `ipvs -R` whole
//   save       ipvsadm -Sn                 vs  the library: iterateRules (services(), then each one's destinations()); and
//                                              `ipvs -Sn` whole (all outputs compared byte for byte)
//   reconcile  1% of the destinations changed (half weight edits, a quarter removed, a quarter added):
//              ipvsadm -Sn + ipvsadm -R < the minimal -e/-d/-a lines (a script must read to know what to change)
//                                          vs  apply(desired state JSON): read, plan, execute; also printed without
//                                              reading and JSON.parse of the file (a state held in memory; not a target),
//                                              and each against a library save run just before it (judged too);
//                                              again with V8's default young generation (not a target; see NODE_FLAGS),
//                                              that one also without the file's input (both settings at once)
//   no-change  ipvsadm -Sn (the read that shows nothing needs doing)  vs  apply() making zero changes
//   memory     iterateServices() over BIG (50 000) services vs SERVICES: peak RSS and heap (streaming must stay
//              flat), and services() collecting an array, for contrast
// Environment: BENCH_SERVICES, BENCH_DESTS, BENCH_BIG, BENCH_NODE_FLAGS, BENCH_GLIBC_TUNABLES, BENCH_REPEAT (runs per timed step,
// contenders alternating who goes first; medians and minimums are reported; default 3), BENCH_OUT.

import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem, release } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchData } from './data.mjs';
import { DEFAULT_NODE_FLAGS, DEFAULT_TUNABLES, KEEP_FREED_MEMORY } from './settings.mjs';

const SERVICES = Number(process.env.BENCH_SERVICES ?? 5000);
const DESTS = Number(process.env.BENCH_DESTS ?? 4);
const BIG = Number(process.env.BENCH_BIG ?? 50000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const here = dirname(fileURLToPath(import.meta.url));
const WORKER = join(here, 'worker.mjs');
const work = mkdtempSync(join(tmpdir(), 'ipvs-bench-'));

if (process.getuid?.() !== 0) {
  process.stderr.write('bench/kernel: run as root on a kernel with ip_vs, normally inside the sandbox:\n  npm run build && node scripts/sandbox.mjs -- node bench/kernel/run.mjs\n');
  process.exit(2);
}

// ---- data ------------------------------------------------------------------------------------------

const { saveText, changes, changedState, changeRules, revertRules } = benchData(SERVICES, DESTS);

// ---- processes -------------------------------------------------------------------------------------

function sh(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

function makeNamespace(name) {
  sh('ip', ['netns', 'add', name]);
  const ip = (...a) => sh('ip', ['-n', name, ...a]);
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'dum0', 'type', 'dummy');
  ip('addr', 'add', '10.0.0.1/8', 'dev', 'dum0');
  ip('link', 'set', 'dum0', 'up');
  return name;
}

// glibc's allocator, the same for every contender (ipvsadm and node alike): its defaults unless
// BENCH_GLIBC_TUNABLES says otherwise. By default glibc hands the freed top of its heap back to the kernel once
// 128 KiB are free, so a program that mallocs and frees in bursts faults the same pages in again and again. V8's
// optimising compiler does exactly that (a zone per function it compiles), and under UML every page fault is a
// round trip through the host: about 3 500 extra faults and 0.5 s in a 5 000-service save, which a hardware
// machine would not notice. So the save is timed once more with glibc keeping freed memory (KEEP_FREED_MEMORY:
// trim threshold 256 MiB, heap grown 16 MiB at a time, one arena) for both contenders and printed beside it, not a
// target (runs before JJ used that setting for every row; docs/decisions.md says why the defaults are judged now).
// With BENCH_GLIBC_TUNABLES set, every step uses it and the extra save row uses the defaults. The memory steps
// always run with the defaults.
const TUNABLES = process.env.BENCH_GLIBC_TUNABLES ?? DEFAULT_TUNABLES;
const withTunables = (tunables) => {
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES;
  if (tunables !== '') env.GLIBC_TUNABLES = tunables;
  return env;
};
const ENV = withTunables(TUNABLES);
const DEFAULT_ENV = withTunables('');

/** Run a command inside a namespace; whole-process wall time in ms, stdout, and the worker's BENCH line. */
function timed(ns, argv, stdinFile, env = ENV) {
  const fd = stdinFile ? openSync(stdinFile, 'r') : 'ignore';
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { stdio: [fd, 'pipe', 'pipe'], maxBuffer: 1 << 30, encoding: 'utf8', env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (typeof fd === 'number') closeSync(fd);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} in ${ns} exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  const line = r.stderr.split('\n').find((l) => l.startsWith('BENCH '));
  return { ms, stdout: r.stdout, stderr: r.stderr, worker: line ? JSON.parse(line.slice(6)) : undefined };
}

// Node runs with its default flags unless BENCH_NODE_FLAGS says otherwise. Two that help in the one-CPU guest
// (settings.mjs's SANDBOX_NODE_FLAGS): --single-threaded-gc, since every switch between a process's threads goes
// through the host (ptrace), so V8's parallel GC helpers make each collection slower than on hardware; and
// --max-semi-space-size=1, which keeps V8's young generation at 1 MiB instead of letting it grow to 16 MiB when
// many objects survive, as in a reconcile (fresh pages, each fault a round trip through the host: 0.15-0.35 s of a
// reconcile beside the allocator setting, nothing with glibc's defaults; docs/performance.md, item 41). When the
// flags set the young generation, the reconcile is also run without that flag and printed beside it (not a target).
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? DEFAULT_NODE_FLAGS).split(' ').filter((f) => f !== '');
const YOUNG_FLAG = /^--(max|min)-semi-space-size(=|$)/;
const V8_YOUNG_FLAGS = NODE_FLAGS.filter((f) => !YOUNG_FLAG.test(f));
const nodeWith = (flags, ...args) => [process.execPath, ...flags, '--expose-gc', WORKER, ...args];
const node = (...args) => nodeWith(NODE_FLAGS, ...args);
const CLI = join(here, '..', '..', 'dist', 'src', 'cli', 'main.js');
const cli = (...args) => [process.execPath, ...NODE_FLAGS, CLI, ...args];

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}


const reportLines = [];
/** Everything printed goes to stdout and, with BENCH_OUT, to that file at the end. */
function say(text) {
  process.stdout.write(text);
  reportLines.push(text);
}

const fmt = (ms) => (ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
const ratio = (a, b) => `${(a / b).toFixed(1)}x`;
const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

// ---- the run ---------------------------------------------------------------------------------------

const started = Date.now();
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
say(`ipvs kernel benchmark: ${SERVICES} services x ${DESTS} destinations, ${REPEAT} run(s) per step, contenders alternating (median; fastest in brackets)\n`);
say(`kernel ${release()}; ${cpus().length} CPU (${cpu}); ${Math.round(totalmem() / 1048576)} MiB; node ${process.version} ${NODE_FLAGS.join(' ') || '(default flags)'}; ${sh('ipvsadm', ['--version']).trim()}; GLIBC_TUNABLES=${TUNABLES || "'' (glibc defaults)"}; ${new Date().toISOString()}; load ${load()}\n`);

const baseFile = join(work, 'base.rules');
writeFileSync(baseFile, saveText());
const edits = changes();
const changedFile = join(work, 'changed.json');
writeFileSync(changedFile, JSON.stringify(changedState(edits)));
const changesFile = join(work, 'changes.rules');
writeFileSync(changesFile, changeRules(edits));
const revertFile = join(work, 'revert.rules');
writeFileSync(revertFile, revertRules(edits));

let nsCount = 0;
const namespaces = [];
const fresh = (label) => {
  const ns = makeNamespace(`bench-${label}-${nsCount++}`);
  namespaces.push(ns);
  return ns;
};
const nsIdle = fresh('idle');


/** Median and minimum of some runs' times. */
function stats(values) {
  return { median: median(values), min: Math.min(...values) };
}
const both = (s) => `${fmt(s.median)} [${fmt(s.min)}]`;

// Start-up costs, measured the same way as the steps.
// Fastest of five, like the targets: a start-up measured while the host is busy would make the CLI rows'
// "minus start-up" figures meaningless.
const fastest = (n, f) => Math.min(...Array.from({ length: n }, f));
const spawnOnly = fastest(5, () => timed(nsIdle, ['true']).ms);
const nodeBare = fastest(5, () => timed(nsIdle, [process.execPath, ...NODE_FLAGS, '-e', '0']).ms);
const noop = Array.from({ length: 5 }, () => timed(nsIdle, node('noop')));
const nodeWithLib = Math.min(...noop.map((r) => r.ms));
const libOpen = Math.min(...noop.map((r) => r.worker.workMs));
/** Node's start-up plus the library's imports, without opening the socket: what the CLI rows subtract. */
const startupLib = nodeWithLib - libOpen;
say(
  `start-up (whole processes, fastest of 5): \`ip netns exec\` + a no-op ${fmt(spawnOnly)}; node -e 0 ${fmt(nodeBare)}; ` +
    `node + importing ipvs ${fmt(nodeWithLib)} (of which opening the socket and resolving the family ${fmt(libOpen)})\n\n`,
);
say('  step                         ipvsadm (whole process)        ipvs                 ratio ipvsadm/ipvs: of minimums (of medians)\n');
function row(step, a, b, note = '') {
  say(`  ${step.padEnd(28)} ${both(a).padStart(20)}   ${both(b).padStart(20)}   ${ratio(a.min, b.min).padStart(6)} (${ratio(a.median, b.median)})  ${note}\n`);
}

// restore: each run in a fresh pair of namespaces, contenders alternating who goes first
const restoreA = [];
const restoreB = [];
const restoreC = [];
let nsA;
let nsB;
let nsC;
const restoreParse = [];
const restoreWhole = [];
for (let r = 0; r < REPEAT; r++) {
  const a = fresh('ipvsadm');
  const b = fresh('ipvs');
  const c = fresh('cli');
  const runA = () => restoreA.push(timed(a, ['ipvsadm', '-R'], baseFile).ms);
  const runB = () => {
    const res = timed(b, node('restore', baseFile));
    if (res.worker.failed) throw new Error(`restore: ${res.worker.failed} operations failed`);
    restoreB.push(res.worker.workMs);
    restoreWhole.push(res.ms);
    restoreParse.push(res.worker.parseMs);
  };
  const runC = () => restoreC.push(timed(c, cli('-R'), baseFile).ms);
  if (r % 2 === 0) { runA(); runB(); runC(); } else { runC(); runB(); runA(); }
  // Earlier tables are kept until the end: tearing one down (flush, namespace exit) leaves the kernel
  // freeing it in the background, which would slow whoever runs next.
  nsA = a;
  nsB = b;
  nsC = c;
}
const rows = [];
const rA = stats(restoreA);
const rB = stats(restoreB);
const rC = stats(restoreC);
row('restore: library', rA, rB, `prepareRules + execute in-process (preparing: parse, validate, encode: median ${fmt(median(restoreParse))}); its whole process ${fmt(median(restoreWhole))}`);
row('restore: `ipvs -R` whole', rA, rC, `whole process, Node start-up included; fastest minus node+imports (${fmt(startupLib)}): ${fmt(rC.min - startupLib)}, ratio ${ratio(rA.min, rC.min - startupLib)}`);
rows.push({ step: 'restore', ipvsadm: rA, library: rB, cli: rC });

// save
const saveA = [];
const saveB = [];
const saveC = [];
const saveWhole = [];
let saveText1;
let saveText2;
let saveText3;
for (let r = 0; r < REPEAT; r++) {
  const runA = () => { const x = timed(nsA, ['ipvsadm', '-Sn']); saveA.push(x.ms); saveText1 = x.stdout; };
  const runB = () => { const x = timed(nsB, node('save')); saveB.push(x.worker.workMs); saveWhole.push(x.ms); saveText2 = x.stdout; };
  const runC = () => { const x = timed(nsC, cli('-Sn')); saveC.push(x.ms); saveText3 = x.stdout; };
  if (r % 2 === 0) { runA(); runB(); runC(); } else { runC(); runB(); runA(); }
}
if (saveText1 !== saveText2) throw new Error('save: ipvsadm -Sn and the library print different tables');
if (saveText1 !== saveText3) throw new Error('save: ipvsadm -Sn and `ipvs -Sn` print different tables');
if (saveText1.split('\n').length !== SERVICES * (DESTS + 1) + 1) throw new Error('save: the table does not hold the restored data');
const sA = stats(saveA);
const sB = stats(saveB);
const sC = stats(saveC);
row('save: library', sA, sB, `iterateRules, streamed; its whole process ${fmt(median(saveWhole))}; outputs identical`);
row('save: `ipvs -Sn` whole', sA, sC, `whole process; fastest minus node+imports: ${fmt(sC.min - startupLib)}, ratio ${ratio(sA.min, sC.min - startupLib)}; output identical`);
rows.push({ step: 'save', ipvsadm: sA, library: sB, cli: sC });
// The same save with the other allocator setting, for both contenders (see TUNABLES): glibc's defaults beside rows
// that keep freed memory, and freed memory kept beside rows run with the defaults (BENCH_GLIBC_TUNABLES=''), so one
// run shows the save's target under both. Shown, not a target.
const OTHER_TUNABLES = TUNABLES === '' ? KEEP_FREED_MEMORY : '';
const OTHER_NAME = TUNABLES === '' ? 'glibc keeping freed' : 'glibc malloc defaults';
{
  const OTHER_ENV = withTunables(OTHER_TUNABLES);
  const saveDA = [];
  const saveDB = [];
  for (let r = 0; r < REPEAT; r++) {
    const runA = () => saveDA.push(timed(nsA, ['ipvsadm', '-Sn'], undefined, OTHER_ENV).ms);
    const runB = () => saveDB.push(timed(nsB, node('save'), undefined, OTHER_ENV).worker.workMs);
    if (r % 2 === 0) { runA(); runB(); } else { runB(); runA(); }
  }
  const sD = { ipvsadm: stats(saveDA), library: stats(saveDB) };
  const how = OTHER_TUNABLES === '' ? 'GLIBC_TUNABLES unset' : "glibc keeping freed memory (settings.mjs's KEEP_FREED_MEMORY)";
  row(`save: ${OTHER_NAME}`, sD.ipvsadm, sD.library, `the library row above, both contenders with ${how} (not a target)`);
  rows.push({ step: `save (${OTHER_NAME})`, ...sD });
}

// reconcile 1%, then back (untimed for ipvsadm; timed for ipvs as "the changes through execute() alone")
const recA = [];
const recAread = [];
const recB = [];
const recBread = [];
const recBparse = [];
const recBheld = [];
const execB = [];
// A library save in the same namespace just before each library reconcile (the target judges these pairs too): the boot's speed
// drifts over a run, and the save step above ran minutes earlier; the pairs show the reconcile against a save
// measured under the same conditions.
const pairedSave = [];
const pairedGap = [];
// The same pairs for a state held in memory (the reconcile less its input phase).
const pairedHeldGap = [];
for (let r = 0; r < REPEAT; r++) {
  const runA = () => {
    const read = timed(nsA, ['ipvsadm', '-Sn']).ms;
    const write = timed(nsA, ['ipvsadm', '-R'], changesFile).ms;
    recAread.push(write);
    recA.push(read + write);
  };
  const runB = () => {
    const beside = timed(nsB, node('save')).worker.workMs;
    const x = timed(nsB, node('reconcile', changedFile));
    pairedSave.push(beside);
    pairedGap.push(x.worker.workMs - beside);
    if (x.worker.failed) throw new Error(`reconcile: ${x.worker.failed} steps failed`);
    if (x.worker.operations !== edits.length) throw new Error(`reconcile: ${x.worker.operations} operations planned, ${edits.length} expected`);
    recB.push(x.worker.workMs);
    recBread.push(x.worker.readAndPlanMs);
    recBparse.push(x.worker.parseMs);
    // The same reconcile for a program that holds the state in memory: without reading and parsing the file.
    recBheld.push(x.worker.workMs - x.worker.inputMs);
    pairedHeldGap.push(x.worker.workMs - x.worker.inputMs - beside);
  };
  if (r % 2 === 0) { runA(); runB(); } else { runB(); runA(); }
  const afterA = timed(nsA, ['ipvsadm', '-Sn']).stdout;
  const afterB = timed(nsB, ['ipvsadm', '-Sn']).stdout;
  if (afterA !== afterB) throw new Error('reconcile: the two tables differ afterwards');
  if (r < REPEAT - 1) {
    timed(nsA, ['ipvsadm', '-R'], revertFile);
    const back = timed(nsB, node('execute', revertFile));
    if (back.worker.failed) throw new Error('revert failed');
    execB.push(back.worker.workMs);
  }
}
if (execB.length === 0) {
  // One run only: time the changes through execute() on a copy of the changed table by reverting it.
  const back = timed(nsB, node('execute', revertFile));
  execB.push(back.worker.workMs);
  timed(nsB, node('execute', changesFile));
}
const cA = stats(recA);
const cB = stats(recB);
row(`reconcile (${edits.length} changes)`, cA, cB, `ipvsadm: -Sn + -R of the ${edits.length} lines (-R alone ${fmt(median(recAread))}); ipvs: reading and checking the state file ${fmt(median(recBparse))}, read+plan ${fmt(median(recBread))}`);
const cH = stats(recBheld);

// The same reconcile with V8's default young generation (see NODE_FLAGS), each against a save with the same flags
// just before it; the library's table is taken back first, ipvsadm's stays changed and is compared afterwards.
let young;
if (V8_YOUNG_FLAGS.length !== NODE_FLAGS.length) {
  const rec = [];
  const saves = [];
  const gaps = [];
  const heldGaps = [];
  for (let r = 0; r < REPEAT; r++) {
    if (timed(nsB, node('execute', revertFile)).worker.failed) throw new Error('revert failed');
    const beside = timed(nsB, nodeWith(V8_YOUNG_FLAGS, 'save')).worker.workMs;
    const x = timed(nsB, nodeWith(V8_YOUNG_FLAGS, 'reconcile', changedFile));
    if (x.worker.failed || x.worker.operations !== edits.length) throw new Error(`reconcile (V8's young generation): ${x.worker.operations} planned, ${x.worker.failed} failed`);
    rec.push(x.worker.workMs);
    saves.push(beside);
    gaps.push(x.worker.workMs - beside);
    heldGaps.push(x.worker.workMs - x.worker.inputMs - beside);
  }
  if (timed(nsA, ['ipvsadm', '-Sn']).stdout !== timed(nsB, ['ipvsadm', '-Sn']).stdout) throw new Error('reconcile: the two tables differ afterwards');
  young = { flags: V8_YOUNG_FLAGS, library: stats(rec), pairedSave: stats(saves), pairedGap: stats(gaps), heldGap: stats(heldGaps) };
}

// no-change reconcile
const noA = [];
const noB = [];
for (let r = 0; r < REPEAT; r++) {
  const runA = () => noA.push(timed(nsA, ['ipvsadm', '-Sn']).ms);
  const runB = () => {
    const x = timed(nsB, node('reconcile', changedFile));
    if (x.worker.operations !== 0) throw new Error(`no-change reconcile planned ${x.worker.operations} operations`);
    noB.push(x.worker.workMs);
  };
  if (r % 2 === 0) { runA(); runB(); } else { runB(); runA(); }
}
const nA = stats(noA);
const nB = stats(noB);
row('no-change reconcile', nA, nB, 'ipvsadm: the -Sn that shows there is nothing to do');
const ex = stats(execB);
say(`  (ipvs: the ${edits.length} changes through execute() alone: ${both(ex)})\n`);

// memory: streaming 50 000 vs 5 000 services
const nsBig = fresh('big');
const fill = timed(nsBig, node('fill', String(BIG)));
if (fill.worker.failed) throw new Error('fill failed');
// Memory is measured with glibc's defaults: kept freed memory (TUNABLES) would show in the peak RSS as growth
// that has nothing to do with what the iteration holds (seen: +9.5 MiB against +4.0 MiB, live heap flat).
const itSmall = timed(nsB, node('iterate'), undefined, DEFAULT_ENV);
const itBig = timed(nsBig, node('iterate'), undefined, DEFAULT_ENV);
const colSmall = timed(nsB, node('collect'), undefined, DEFAULT_ENV);
const colBig = timed(nsBig, node('collect'), undefined, DEFAULT_ENV);
say(`\nmemory while reading services (growth from before the first service to the peak) [${BIG} services added through execute() in ${fmt(fill.worker.workMs)}]:\n`);
for (const [label, r] of [
  [`iterateServices() ${SERVICES}`, itSmall],
  [`iterateServices() ${BIG}`, itBig],
  [`services()        ${SERVICES}`, colSmall],
  [`services()        ${BIG}`, colBig],
]) {
  const w = r.worker;
  say(
    `  ${label.padEnd(26)} ${String(w.services).padStart(6)} services in ${fmt(w.workMs).padStart(7)}: peak RSS +${mib(w.peakRss - w.rssBefore)}, peak heap +${mib(w.peakHeap - w.heapBefore)}, live heap after GC +${mib(w.peakLiveHeap - w.heapBefore)}; process max RSS ${mib(w.maxRssKiB * 1024)}\n`,
  );
}

// targets
// Targets are judged on each contender's fastest run: the machine is shared (other guests, other work) and
// interference only ever adds time, so the minimum of alternating runs is the best estimate of each side's
// own cost. The medians are printed beside them.
const restoreRatio = rA.min / rB.min;
const saveRatio = sA.min / sB.min;
const reconcileBudget = sB.min + ex.min;
const liveSmall = itSmall.worker.peakLiveHeap - itSmall.worker.heapBefore;
const liveBig = itBig.worker.peakLiveHeap - itBig.worker.heapBefore;
const liveCollectBig = colBig.worker.peakLiveHeap - colBig.worker.heapBefore;
const rssGrowthBig = itBig.worker.peakRss - itBig.worker.rssBefore;
const rssGrowthSmall = itSmall.worker.peakRss - itSmall.worker.rssBefore;
const targets = [
  [`restore >= 10x faster than ipvsadm -R`, restoreRatio >= 10, `${ratio(rA.min, rB.min)} (medians ${ratio(rA.median, rB.median)})`],
  [`save >= 2x faster than ipvsadm -Sn`, saveRatio >= 2, `${ratio(sA.min, sB.min)} (medians ${ratio(sA.median, sB.median)})`],
  // The reconcile is judged twice, and met only if both agree: fastest against fastest like the other targets, and
  // each reconcile against the save run just before it in the same namespace (see pairedSave), whose median extra
  // time must not pass the changes' median. The save step ran minutes earlier in a guest whose speed drifts, and the
  // first reading alone said met in runs where the pairs said 0.15 s over.
  [`1% reconcile <= one save + the changes`, cB.min <= reconcileBudget && median(pairedGap) <= ex.median,
    `${fmt(cB.min)} vs ${fmt(sB.min)} + ${fmt(ex.min)} (medians ${fmt(cB.median)} vs ${fmt(sB.median)} + ${fmt(ex.median)}); `
    + `each against a save just before it: ${fmt(median(pairedGap))} more (median; fastest ${fmt(Math.min(...pairedGap))}) vs the changes' ${fmt(ex.median)} (those saves: ${both(stats(pairedSave))})`],
  // Not a target, printed for the team: the reconcile of a state a program holds in memory (the balancer),
  // i.e. the row above without reading the file, decoding it and JSON.parse (the shape check stays in).
  [`(not a target) the same, state held in memory`, cH.min <= reconcileBudget && median(pairedHeldGap) <= ex.median,
    `${fmt(cH.min)} vs ${fmt(sB.min)} + ${fmt(ex.min)} (medians ${fmt(cH.median)}); each against a save just before it: ${fmt(median(pairedHeldGap))} more (median; fastest ${fmt(Math.min(...pairedHeldGap))}) vs the changes' ${fmt(ex.median)}`, true],
  // Not a target either: the reconcile with V8's default young generation, judged by its own pairs.
  ...(young ? [[`(not a target) the same, V8's default young generation (${young.flags.join(' ') || 'no flags'})`, young.pairedGap.median <= ex.median,
    `${both(young.library)}; each against a save just before it: ${fmt(young.pairedGap.median)} more (median; fastest ${fmt(young.pairedGap.min)}) vs the changes' ${fmt(ex.median)} (those saves: ${both(young.pairedSave)})`, true],
    // ... and both settings at once: a state held in memory under V8's default young generation.
    [`(not a target) the same, state held in memory, V8's default young generation`, young.heldGap.median <= ex.median,
      `each against a save just before it: ${fmt(young.heldGap.median)} more (median; fastest ${fmt(young.heldGap.min)}) vs the changes' ${fmt(ex.median)}`, true]] : []),
  // Streaming: what the iteration retains must not grow with the table (1 MiB of slack for noise), and its
  // peak RSS must stay far below what collecting the big table into an array retains.
  [`streaming memory bounded (${BIG} vs ${SERVICES} services)`, liveBig <= liveSmall + 1048576 && rssGrowthBig < Math.max(2 * rssGrowthSmall, liveCollectBig / 2),
    `live heap +${mib(liveBig)} vs +${mib(liveSmall)}; peak RSS +${mib(rssGrowthBig)} vs +${mib(rssGrowthSmall)}; services() of ${BIG} retains +${mib(liveCollectBig)}`],
];
say('\ntargets (start-up excluded; fastest runs compared, the reconcile also in pairs; see the comments in run.mjs):\n');
for (const [what, ok, detail, info] of targets) say(`  ${ok ? (info ? 'under' : 'met ') : info ? 'over ' : 'MISSED'}  ${what}: ${detail}\n`);
say(`\ntotal ${fmt(Date.now() - started)}; load ${load()}\n`);
for (const ns of namespaces) sh('ip', ['netns', 'del', ns]);
if (process.env.BENCH_OUT) {
  const numbers = {
    date: new Date().toISOString(), kernel: release(), node: process.version, nodeFlags: NODE_FLAGS, glibcTunables: TUNABLES, services: SERVICES, destinations: DESTS, repeat: REPEAT,
    startup: { spawnOnly, nodeBare, nodeWithLib, libOpen, startupLib },
    rows: [...rows, { step: 'reconcile', ipvsadm: cA, library: cB, readAndPlan: median(recBread), parseState: median(recBparse), stateHeld: cH, pairedHeldGap: stats(pairedHeldGap), pairedSave: stats(pairedSave), pairedGap: stats(pairedGap) }, ...(young ? [{ step: "reconcile, V8's default young generation", ...young }] : []), { step: 'no-change', ipvsadm: nA, library: nB }, { step: 'changes through execute()', library: ex }],
    memory: { iterateSmall: itSmall.worker, iterateBig: itBig.worker, collectSmall: colSmall.worker, collectBig: colBig.worker },
    targets: targets.map(([what, ok, detail, info]) => ({ what, ok, detail, ...(info ? { notATarget: true } : {}) })),
  };
  writeFileSync(process.env.BENCH_OUT, reportLines.join(''));
  writeFileSync(`${process.env.BENCH_OUT}.json`, `${JSON.stringify(numbers, null, 2)}\n`);
}
process.exit(targets.every(([, ok, , info]) => ok || info) ? 0 : 1);
