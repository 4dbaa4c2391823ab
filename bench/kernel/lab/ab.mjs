// Builds side by side in ONE boot of the sandbox: a cold reconcile plan (phases.mjs) of the benchmark's 1%
// change, each build in turn, ROUNDS times, with the library's save (worker.mjs, the repo's dist/) in every round
// for scale. The guest's speed drifts within a boot and between boots, so only builds alternated in one boot
// compare; read the rounds, not only the medians.
//   cp -r dist /tmp/build-a; (change, npm run build); cp -r dist /tmp/build-b
//   LAB_BUILDS="/tmp/build-a /tmp/build-b" node scripts/sandbox.mjs --env LAB_BUILDS -- node bench/kernel/lab/ab.mjs
// Environment: LAB_BUILDS (default: the repo's dist/), LAB_ROUNDS (default 6), LAB_NODE_FLAGS (added to
// --single-threaded-gc, e.g. --trace-gc, whose lines are passed through), LAB_SERVICES and LAB_DESTS (5 000 x 4).

import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchData } from '../data.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..', '..');
const builds = (process.env.LAB_BUILDS ?? join(repo, 'dist')).split(' ').filter((b) => b !== '').map((b) => resolve(b));
const rounds = Number(process.env.LAB_ROUNDS ?? 6);
const flags = ['--single-threaded-gc', ...(process.env.LAB_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '')];
const data = benchData(Number(process.env.LAB_SERVICES ?? 5000), Number(process.env.LAB_DESTS ?? 4));

if (process.getuid?.() !== 0) {
  process.stderr.write('bench/kernel/lab: run as root on a kernel with ip_vs, normally inside the sandbox (see the top of this file)\n');
  process.exit(2);
}

// The same allocator setting as the benchmark's rows (see run.mjs).
const env = { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=268435456:glibc.malloc.top_pad=16777216:glibc.malloc.arena_max=1' };
const work = mkdtempSync(join(tmpdir(), 'ipvs-lab-'));
const rules = join(work, 'base.rules');
const state = join(work, 'changed.json');
writeFileSync(rules, data.saveText());
writeFileSync(state, JSON.stringify(data.changedState(data.changes())));
const ns = `lab-${process.pid}`;
execFileSync('ip', ['netns', 'add', ns]);
execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);

function run(argv, extraEnv = {}) {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...argv], { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...env, ...extraEnv } });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  return r.stderr.split('\n');
}
const line = (lines, tag) => JSON.parse(lines.find((l) => l.startsWith(`${tag} `)).slice(tag.length + 1));

const worker = join(here, '..', 'worker.mjs');
const filled = line(run([...flags, worker, 'restore', rules]), 'BENCH');
if (filled.failed !== 0) throw new Error(`restore: ${filled.failed} operations failed`);

const totals = new Map(builds.map((b) => [b, []]));
const saves = [];
for (let r = 1; r <= rounds; r++) {
  for (const build of builds) {
    const lines = run([...flags, join(here, 'phases.mjs'), state], { LAB_BUILD: build });
    for (const l of lines) if (/^\[\d+:0x[0-9a-f]+\]/.test(l)) process.stdout.write(`  ${l}\n`);
    const p = line(lines, 'PHASES');
    totals.get(build).push(p.total);
    process.stdout.write(`round ${r} ${basename(build)} ${JSON.stringify(p)}\n`);
  }
  const save = line(run([...flags, worker, 'save']), 'BENCH');
  saves.push(save.workMs);
  process.stdout.write(`round ${r} save (work) ${save.workMs} ms\n`);
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
process.stdout.write('\nopen + input + plan, ms: median [fastest]\n');
for (const [build, v] of totals) process.stdout.write(`  ${basename(build)} ${median(v)} [${Math.min(...v)}]  (${build})\n`);
process.stdout.write(`  save (work) ${median(saves)} [${Math.min(...saves)}]\n`);
execFileSync('ip', ['netns', 'del', ns]);
