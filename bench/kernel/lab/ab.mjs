// Builds side by side in ONE boot of the sandbox: a cold reconcile plan (phases.mjs) of the benchmark's 1%
// change, each build in turn, ROUNDS times, with the library's save (worker.mjs, the repo's dist/) in every round
// for scale. The guest's speed drifts within a boot and between boots, so only builds alternated in one boot
// compare; read the rounds, not only the medians.
//   cp -r dist /tmp/build-a; (change, npm run build); cp -r dist /tmp/build-b
//   LAB_BUILDS="/tmp/build-a /tmp/build-b" node scripts/sandbox.mjs --env LAB_BUILDS -- node bench/kernel/lab/ab.mjs
// Environment: LAB_BUILDS (default: the repo's dist/), LAB_ROUNDS (default 6), LAB_NODE_FLAGS (added to
// the benchmark's flags, settings.mjs, e.g. --trace-gc, whose lines are passed through), LAB_SERVICES and LAB_DESTS (5 000 x 4).

import { basename, join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_NODE_FLAGS } from '../settings.mjs';
import { labTable, phases, tagged, worker } from './table.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const builds = (process.env.LAB_BUILDS ?? join(repo, 'dist')).split(' ').filter((b) => b !== '').map((b) => resolve(b));
const rounds = Number(process.env.LAB_ROUNDS ?? 6);
const flags = [...DEFAULT_NODE_FLAGS.split(' '), ...(process.env.LAB_NODE_FLAGS ?? '').split(' ')].filter((f) => f !== '');
const { state, run, done } = labTable();

const totals = new Map(builds.map((b) => [b, []]));
const saves = [];
for (let r = 1; r <= rounds; r++) {
  for (const build of builds) {
    const lines = run([...flags, phases, state], { LAB_BUILD: build });
    for (const l of lines) if (/^\[\d+:0x[0-9a-f]+\]/.test(l)) process.stdout.write(`  ${l}\n`);
    const p = tagged(lines, 'PHASES');
    totals.get(build).push(p.total);
    process.stdout.write(`round ${r} ${basename(build)} ${JSON.stringify(p)}\n`);
  }
  const save = tagged(run([...flags, worker, 'save']), 'BENCH');
  saves.push(save.workMs);
  process.stdout.write(`round ${r} save (work) ${save.workMs} ms\n`);
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
process.stdout.write('\nopen + input + plan, ms: median [fastest]\n');
for (const [build, v] of totals) process.stdout.write(`  ${basename(build)} ${median(v)} [${Math.min(...v)}]  (${build})\n`);
process.stdout.write(`  save (work) ${median(saves)} [${Math.min(...saves)}]\n`);
done();
