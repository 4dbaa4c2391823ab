// Node flag sets side by side in ONE boot of the sandbox: for each set in turn, a cold reconcile plan of the
// benchmark's 1% change (phases.mjs) and then a library save (worker.mjs), both with that set, ROUNDS times.
// What the reconcile target weighs is the plan's extra time over the save next to it, so each pair's difference
// is printed, per round and as a median.
//   LAB_FLAG_SETS="--single-threaded-gc;--single-threaded-gc --max-semi-space-size=1" \
//     node scripts/sandbox.mjs --env LAB_FLAG_SETS -- node bench/kernel/lab/flags.mjs
// Environment: LAB_FLAG_SETS (sets separated by ';', flags by spaces; default: the benchmark's two young
// generations), LAB_ROUNDS (default 5), LAB_SERVICES and LAB_DESTS (5 000 x 4). Uses the repo's dist/.

import { labTable, phases, tagged, worker } from './table.mjs';

const sets = (process.env.LAB_FLAG_SETS ?? '--single-threaded-gc;--single-threaded-gc --max-semi-space-size=1')
  .split(';')
  .map((set) => set.split(' ').filter((f) => f !== ''));
const rounds = Number(process.env.LAB_ROUNDS ?? 5);
const { state, run, done } = labTable();

const results = sets.map(() => ({ plan: [], save: [], gap: [] }));
for (let r = 1; r <= rounds; r++) {
  sets.forEach((flags, i) => {
    const p = tagged(run([...flags, phases, state]), 'PHASES');
    const s = tagged(run([...flags, worker, 'save']), 'BENCH');
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
done();
