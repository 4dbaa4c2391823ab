// Bulk benchmark on a real IPVS kernel, side by side with the real ipvsadm on the same data, in one boot
// (`npm run build && node scripts/sandbox.mjs -- node bench/kernel/run.mjs`; not part of npm test).
//
// Each contender works in its own fresh network namespace from start to end (IPVS keeps deleted
// destinations in a per-namespace trash list that slows re-adding them, so a shared namespace would
// favour whoever ran first). Every step is a separate process started the same way for both
// (`ip netns exec NS ...`) and timed whole; the library's worker also reports the time of the work
// itself, after Node's start-up and the library's imports (bench/kernel/worker.mjs). Targets compare
// the library's work time with ipvsadm's whole-process time (ipvsadm, in C, starts in a few ms).
//
// Steps, on SERVICES services x DESTS destinations (default 5 000 x 4):
//   restore    ipvsadm -R < save file         vs  parseRules + execute (what `ipvs -R` should do)
//   save       ipvsadm -Sn                    vs  services() + destinations() + formatRules   (outputs compared)
//   reconcile  1% of the destinations changed (half weight edits, a quarter removed, a quarter added):
//              ipvsadm -R < the minimal -e/-d/-a lines, and ipvsadm -Sn + that (a script must read to
//              know what to change)          vs  apply(desired state JSON): read, plan, execute
//   no-change  ipvsadm -Sn (the read that shows nothing needs doing)  vs  apply() making zero changes
//   memory     iterateServices() over 50 000 services vs 5 000: peak RSS and heap (streaming must stay flat),
//              and services() collecting an array, for contrast
// Environment: BENCH_SERVICES, BENCH_DESTS, BENCH_BIG (services of the memory run), BENCH_REPEAT (runs per
// timed step; the median is reported; default 1).

import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem, release } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVICES = Number(process.env.BENCH_SERVICES ?? 5000);
const DESTS = Number(process.env.BENCH_DESTS ?? 4);
const BIG = Number(process.env.BENCH_BIG ?? 50000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1);
const here = dirname(fileURLToPath(import.meta.url));
const WORKER = join(here, 'worker.mjs');
const work = mkdtempSync(join(tmpdir(), 'ipvs-bench-'));

if (process.getuid?.() !== 0) {
  process.stderr.write('bench/kernel: run as root on a kernel with ip_vs, normally inside the sandbox:\n  npm run build && node scripts/sandbox.mjs -- node bench/kernel/run.mjs\n');
  process.exit(2);
}

// ---- data ------------------------------------------------------------------------------------------

const svcAddr = (i) => `10.1.${i >> 8}.${i & 255}`;
const destAddr = (i, j) => {
  const k = i * DESTS + j + 1;
  return `10.${64 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`;
};
const newAddr = (k) => `10.200.${k >> 8}.${(k & 255) + 1}`;
const weight = (i, j) => 1 + ((i + j) % 3);

function saveText() {
  // The order ipvsadm -Sn prints does not matter to -R; services in index order, destinations likewise.
  const lines = [];
  for (let i = 0; i < SERVICES; i++) {
    lines.push(`-A -t ${svcAddr(i)}:80 -s wlc`);
    for (let j = 0; j < DESTS; j++) lines.push(`-a -t ${svcAddr(i)}:80 -r ${destAddr(i, j)}:8080 -m -w ${weight(i, j)}`);
  }
  return lines.join('\n') + '\n';
}

/** 1% of the destinations: half get a new weight, a quarter are removed, a quarter are added (new addresses). */
function changes() {
  const count = Math.max(4, Math.round((SERVICES * DESTS) / 100));
  const stride = Math.max(1, Math.floor(SERVICES / count));
  const edits = [];
  for (let k = 0; k < count; k++) {
    const i = (k * stride) % SERVICES;
    const kind = k % 4 < 2 ? 'edit' : k % 4 === 2 ? 'remove' : 'add';
    edits.push({ i, kind, k });
  }
  return edits;
}

function changedState(edits) {
  const byService = new Map(edits.map((e) => [e.i, e]));
  const services = [];
  for (let i = 0; i < SERVICES; i++) {
    const destinations = [];
    const e = byService.get(i);
    for (let j = 0; j < DESTS; j++) {
      if (e?.kind === 'remove' && j === 1) continue;
      const w = e?.kind === 'edit' && j === 0 ? 50 : weight(i, j);
      destinations.push({ address: destAddr(i, j), port: 8080, forwarding: 'masq', weight: w });
    }
    if (e?.kind === 'add') destinations.push({ address: newAddr(e.k), port: 8080, forwarding: 'masq', weight: 1 });
    services.push({ protocol: 'tcp', address: svcAddr(i), port: 80, destinations });
  }
  return { services };
}

function changeRules(edits) {
  return edits
    .map((e) => {
      const svc = `-t ${svcAddr(e.i)}:80`;
      if (e.kind === 'edit') return `-e ${svc} -r ${destAddr(e.i, 0)}:8080 -m -w 50`;
      if (e.kind === 'remove') return `-d ${svc} -r ${destAddr(e.i, 1)}:8080`;
      return `-a ${svc} -r ${newAddr(e.k)}:8080 -m -w 1`;
    })
    .join('\n') + '\n';
}

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

/** Run a command inside a namespace; whole-process wall time in ms, stdout, and the worker's BENCH line. */
function timed(ns, argv, stdinFile) {
  const fd = stdinFile ? openSync(stdinFile, 'r') : 'ignore';
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { stdio: [fd, 'pipe', 'pipe'], maxBuffer: 1 << 30, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (typeof fd === 'number') closeSync(fd);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} in ${ns} exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  const line = r.stderr.split('\n').find((l) => l.startsWith('BENCH '));
  return { ms, stdout: r.stdout, stderr: r.stderr, worker: line ? JSON.parse(line.slice(6)) : undefined };
}

const node = (...args) => [process.execPath, '--expose-gc', WORKER, ...args];

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/** Repeat a step REPEAT times (the first run of a pair may not change state, e.g. save and no-change). */
function repeated(fn) {
  const runs = [];
  for (let i = 0; i < REPEAT; i++) runs.push(fn());
  const pick = runs.find((r) => r.ms === median(runs.map((x) => x.ms))) ?? runs[0];
  return pick;
}

const fmt = (ms) => (ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
const ratio = (a, b) => `${(a / b).toFixed(1)}x`;
const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;
const rows = [];
function row(step, ipvsadm, lib, note = '') {
  rows.push({ step, ipvsadm, lib, note });
  process.stdout.write(`  ${step.padEnd(24)} ipvsadm ${fmt(ipvsadm).padStart(8)}   ipvs ${fmt(lib).padStart(8)}   ${ratio(ipvsadm, lib).padStart(7)} ${note}\n`);
}

// ---- the run ---------------------------------------------------------------------------------------

const started = Date.now();
const cpu = cpus()[0]?.model ?? 'unknown CPU';
process.stdout.write(`ipvs kernel benchmark: ${SERVICES} services x ${DESTS} destinations; kernel ${release()}; ${cpus().length} CPU (${cpu}); ${Math.round(totalmem() / 1048576)} MiB; node ${process.version}; ${new Date().toISOString()}\n`);
process.stdout.write(`ipvsadm: ${sh('ipvsadm', ['--version']).trim()}\n`);

const baseFile = join(work, 'base.rules');
writeFileSync(baseFile, saveText());
const edits = changes();
const changedFile = join(work, 'changed.json');
writeFileSync(changedFile, JSON.stringify(changedState(edits)));
const changesFile = join(work, 'changes.rules');
writeFileSync(changesFile, changeRules(edits));

const nsA = makeNamespace('bench-ipvsadm');
const nsB = makeNamespace('bench-ipvs');
const nsIdle = makeNamespace('bench-idle');

// Start-up costs, measured the same way as the steps.
const spawnOnly = median([0, 1, 2].map(() => timed(nsIdle, ['true']).ms));
const nodeBare = median([0, 1, 2].map(() => timed(nsIdle, [process.execPath, '-e', '0']).ms));
const noop = [0, 1, 2].map(() => timed(nsIdle, node('noop')));
const nodeWithLib = median(noop.map((r) => r.ms));
const libOpen = median(noop.map((r) => r.worker.workMs));
process.stdout.write(
  `start-up (whole processes): \`ip netns exec\` + a no-op ${fmt(spawnOnly)}; node -e 0 ${fmt(nodeBare)}; ` +
    `node + importing ipvs ${fmt(nodeWithLib)} (of which opening the socket and resolving the family ${fmt(libOpen)})\n\n`,
);
process.stdout.write('  step                     (ipvsadm: whole process; ipvs: work after start-up; ratio = ipvsadm / ipvs)\n');

// restore
const rA = timed(nsA, ['ipvsadm', '-R'], baseFile);
const rB = timed(nsB, node('restore', baseFile));
if (rB.worker.failed) throw new Error(`restore: ${rB.worker.failed} operations failed`);
row('restore', rA.ms, rB.worker.workMs, `(ipvs whole process ${fmt(rB.ms)}; parse ${fmt(rB.worker.parseMs)})`);

// save
const sA = repeated(() => timed(nsA, ['ipvsadm', '-Sn']));
const sB = repeated(() => timed(nsB, node('save')));
if (sA.stdout !== sB.stdout) throw new Error('save: ipvsadm -Sn and the library print different tables');
if (sA.stdout.split('\n').length !== SERVICES * (DESTS + 1) + 1) throw new Error('save: the table does not hold the restored data');
row('save', sA.ms, sB.worker.workMs, `(ipvs whole process ${fmt(sB.ms)}; outputs identical, ${SERVICES * (DESTS + 1)} lines)`);

// reconcile 1%
const cA = timed(nsA, ['ipvsadm', '-R'], changesFile);
const cB = timed(nsB, node('reconcile', changedFile));
if (cB.worker.failed) throw new Error(`reconcile: ${cB.worker.failed} steps failed`);
if (cB.worker.operations !== edits.length) throw new Error(`reconcile: ${cB.worker.operations} operations planned, ${edits.length} expected`);
const afterA = timed(nsA, ['ipvsadm', '-Sn']).stdout;
const afterB = timed(nsB, ['ipvsadm', '-Sn']).stdout;
if (afterA !== afterB) throw new Error('reconcile: the two tables differ afterwards');
row(`reconcile ${edits.length} changes`, sA.ms + cA.ms, cB.worker.workMs, `(ipvsadm -Sn + -R of the changes; -R alone ${fmt(cA.ms)}; ipvs read+plan ${fmt(cB.worker.readAndPlanMs)})`);

// no-change reconcile
const nB = repeated(() => timed(nsB, node('reconcile', changedFile)));
if (nB.worker.operations !== 0) throw new Error(`no-change reconcile planned ${nB.worker.operations} operations`);
const nA = repeated(() => timed(nsA, ['ipvsadm', '-Sn']));
row('no-change reconcile', nA.ms, nB.worker.workMs, '(ipvsadm: the -Sn that shows nothing to do)');

// the library's own pieces, for the "save plus the changes" target
const revertFile = join(work, 'revert.rules');
writeFileSync(revertFile, edits.map((e) => {
  const svc = `-t ${svcAddr(e.i)}:80`;
  if (e.kind === 'edit') return `-e ${svc} -r ${destAddr(e.i, 0)}:8080 -m -w ${weight(e.i, 0)}`;
  if (e.kind === 'remove') return `-a ${svc} -r ${destAddr(e.i, 1)}:8080 -m -w ${weight(e.i, 1)}`;
  return `-d ${svc} -r ${newAddr(e.k)}:8080`;
}).join('\n') + '\n');
const execB = timed(nsB, node('execute', revertFile));
if (execB.worker.failed) throw new Error('execute of the changes failed');

// memory: streaming 50 000 vs 5 000 services
const nsC = makeNamespace('bench-big');
const fill = timed(nsC, node('fill', String(BIG)));
if (fill.worker.failed) throw new Error('fill failed');
const itSmall = timed(nsB, node('iterate'));
const itBig = timed(nsC, node('iterate'));
const colSmall = timed(nsB, node('collect'));
const colBig = timed(nsC, node('collect'));

process.stdout.write(`\n  (ipvs, ${edits.length} changes through execute() alone: ${fmt(execB.worker.workMs)}; ${BIG} services added through execute(): ${fmt(fill.worker.workMs)})\n`);
process.stdout.write('\nmemory while reading services (peak minus before; whole-process max RSS):\n');
for (const [label, r] of [
  [`iterateServices() ${SERVICES}`, itSmall],
  [`iterateServices() ${BIG}`, itBig],
  [`services()        ${SERVICES}`, colSmall],
  [`services()        ${BIG}`, colBig],
]) {
  const w = r.worker;
  process.stdout.write(
    `  ${label.padEnd(26)} ${String(w.services).padStart(6)} services in ${fmt(w.workMs).padStart(7)}: RSS +${mib(w.peakRss - w.rssBefore)}, heap +${mib(w.peakHeap - w.heapBefore)}; max RSS ${mib(w.maxRssKiB * 1024)}\n`,
  );
}

// targets
const restoreRatio = rA.ms / rB.worker.workMs;
const saveRatio = sA.ms / sB.worker.workMs;
const reconcileBudget = sB.worker.workMs + execB.worker.workMs;
const heapGrowthSmall = itSmall.worker.peakHeap - itSmall.worker.heapBefore;
const heapGrowthBig = itBig.worker.peakHeap - itBig.worker.heapBefore;
const rssGrowthBig = itBig.worker.peakRss - itBig.worker.rssBefore;
const rssGrowthSmall = itSmall.worker.peakRss - itSmall.worker.rssBefore;
const targets = [
  [`restore >= 10x faster than ipvsadm -R`, restoreRatio >= 10, ratio(rA.ms, rB.worker.workMs)],
  [`save >= 2x faster than ipvsadm -Sn`, saveRatio >= 2, ratio(sA.ms, sB.worker.workMs)],
  [`1% reconcile <= one save + the changes`, cB.worker.workMs <= reconcileBudget, `${fmt(cB.worker.workMs)} vs ${fmt(sB.worker.workMs)} + ${fmt(execB.worker.workMs)}`],
  [`streaming memory flat (${BIG} vs ${SERVICES})`, heapGrowthBig < Math.max(4 * 1048576, 3 * heapGrowthSmall) && rssGrowthBig < Math.max(16 * 1048576, 3 * rssGrowthSmall),
    `heap +${mib(heapGrowthBig)} vs +${mib(heapGrowthSmall)}, RSS +${mib(rssGrowthBig)} vs +${mib(rssGrowthSmall)}`],
];
process.stdout.write('\ntargets (start-up excluded):\n');
for (const [what, ok, detail] of targets) process.stdout.write(`  ${ok ? 'met ' : 'MISSED'}  ${what}: ${detail}\n`);
process.stdout.write(`\ntotal ${fmt(Date.now() - started)}\n`);
writeFileSync(join(work, 'results.json'), JSON.stringify({ rows, targets, restore: rB.worker, save: sB.worker, reconcile: cB.worker, noChange: nB.worker }, null, 2));
for (const ns of [nsA, nsB, nsC, nsIdle]) sh('ip', ['netns', 'del', ns]);
process.exit(targets.every(([, ok]) => ok) ? 0 : 1);
