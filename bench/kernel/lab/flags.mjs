// Node flag sets side by side in ONE boot of the sandbox: for each set in turn, a cold reconcile plan of the
// benchmark's 1% change (phases.mjs) and then a library save (worker.mjs), both with that set, ROUNDS times.
// What the reconcile target weighs is the plan's extra time over the save next to it, so each pair's difference
// is printed, per round and as a median.
//   LAB_FLAG_SETS="--single-threaded-gc;--single-threaded-gc --max-semi-space-size=1" \
//     node scripts/sandbox.mjs --env LAB_FLAG_SETS -- node bench/kernel/lab/flags.mjs
// Environment: LAB_FLAG_SETS (sets separated by ';', flags by spaces; default: the benchmark's two young
// generations), LAB_ROUNDS (default 5), LAB_SERVICES and LAB_DESTS (5 000 x 4). Uses the repo's dist/.

import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchData } from '../data.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const sets = (process.env.LAB_FLAG_SETS ?? '--single-threaded-gc;--single-threaded-gc --max-semi-space-size=1')
  .split(';')
  .map((set) => set.split(' ').filter((f) => f !== ''));
const rounds = Number(process.env.LAB_ROUNDS ?? 5);
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

function run(argv) {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...argv], { encoding: 'utf8', maxBuffer: 1 << 30, env });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  return r.stderr.split('\n');
}
const line = (lines, tag) => JSON.parse(lines.find((l) => l.startsWith(`${tag} `)).slice(tag.length + 1));

const worker = join(here, '..', 'worker.mjs');
const filled = line(run(['--single-threaded-gc', worker, 'restore', rules]), 'BENCH');
if (filled.failed !== 0) throw new Error(`restore: ${filled.failed} operations failed`);

const results = sets.map(() => ({ plan: [], save: [], gap: [] }));
for (let r = 1; r <= rounds; r++) {
  sets.forEach((flags, i) => {
    const p = line(run([...flags, join(here, 'phases.mjs'), state]), 'PHASES');
    const s = line(run([...flags, worker, 'save']), 'BENCH');
    results[i].plan.push(p.total);
    results[i].save.push(s.workMs);
    results[i].gap.push(p.total - s.workMs);
    process.stdout.write(`round ${r} [${flags.join(' ')}] plan ${JSON.stringify(p)} save ${s.workMs} ms (${s.minorPageFaults} faults) plan - save ${p.total - s.workMs} ms\n`);
  });
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
process.stdout.write('\nopen + input + plan, save, and their difference, ms: median [each round]\n');
sets.forEach((flags, i) => {
  const { plan, save, gap } = results[i];
  process.stdout.write(`  [${flags.join(' ')}] plan ${median(plan)} save ${median(save)} plan - save ${median(gap)} [${gap.join(', ')}]\n`);
});
execFileSync('ip', ['netns', 'del', ns]);
