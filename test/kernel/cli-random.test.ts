// A randomised differential test of the `ipvs` command line against the real ipvsadm 1.31 on a real kernel:
// seeded sequences of command lines (test/helpers/cli-random-lines.ts), valid and not, each run through ipvsadm
// in one network namespace and through `ipvs` in another; every line must give the same exit status, stderr and
// stdout lines (their order is compared on listings read from one namespace, below), and after each sequence the
// real ipvsadm must save the same table and timeouts from both namespaces.
// Runs only inside the UML sandbox (IPVS_KERNEL=1), as root.
//
// It runs for IPVS_CLI_RANDOM_SECONDS of guest time (default 45: 300 to 700 lines, by the load), from the seed
// IPVS_CLI_RANDOM_SEED (default 1; `random` picks one). The seed is printed, and every difference is reported
// with it and with the lines of its sequence up to the one that differs, which reproduce it: make that a fixed
// case in cli-diff.test.ts. A longer hunt:
//   IPVS_CLI_RANDOM_SECONDS=900 IPVS_CLI_RANDOM_SEED=random node scripts/sandbox.mjs --timeout 1500 \
//     --kernel-suite -- test/kernel/cli-random.test.ts

import { describe, expect, it } from 'vitest';
import { enabled, ipvsadmBatch, pair, type Outcome, useCliDiffHooks } from '../helpers/cli-diff-pair.js';
import { randomLines } from '../helpers/cli-random-lines.js';
import { seededRandom } from '../helpers/seeded-random.js';

useCliDiffHooks();

const SECONDS = Number(process.env.IPVS_CLI_RANDOM_SECONDS ?? 45);
const SEED_TEXT = process.env.IPVS_CLI_RANDOM_SEED ?? '1';
const SEED = SEED_TEXT === 'random' ? Math.floor(Math.random() * 2 ** 32) : Number(SEED_TEXT);
/** Lines per sequence: long enough to build a table worth listing, short enough to pin a difference down. */
const LINES = 60;
/** What the real ipvsadm reads back from each namespace after a sequence, and the reset before the next one. */
const STATE = ['-Sn', '-L --timeout'];
const RESET = ['-C', '--set 900 120 300'];
/**
 * Listings whose order both programs must agree on, read from the same namespace. Across two namespaces the
 * kernel's hash order differs, and with addresses more than 2^31 apart ipvsadm's comparison has cycles
 * (docs/cli.md), so its sorted order depends on the order it read: there the lines are compared as a set.
 */
const SAME_ORDER = ['-Sn', '-Ln', '-Ln --nosort', '-L -n --stats --exact', '-L -n --thresholds'];

function sameLines(a: Outcome, b: Outcome): boolean {
  const lines = (o: Outcome): string => o.stdout.split('\n').sort().join('\n');
  return a.code === b.code && a.stderr === b.stderr && lines(a) === lines(b);
}

interface Difference {
  sequence: number;
  line: string;
  ipvsadm: Outcome | string;
  ipvs: Outcome | string;
  /** The sequence's lines up to this one: run in two fresh namespaces, they show the difference. */
  lines: string[];
}

describe.runIf(enabled)('ipvs vs ipvsadm 1.31, random command lines', () => {
  it(`seeded sequences agree line by line and leave the same table (seed ${SEED_TEXT})`, { timeout: (SECONDS + 120) * 1000 }, async () => {
    expect(Number.isInteger(SEED) && SEED >= 0).toBe(true);
    console.log(`cli-random: seed ${SEED}, ${SECONDS} s`);
    const rand = seededRandom(SEED);
    const p = pair();
    const differences: Difference[] = [];
    const deadline = Date.now() + SECONDS * 1000;
    let lines = 0;
    let refused = 0;
    let timeRef = 0;
    let timeOurs = 0;
    for (let sequence = 0; Date.now() < deadline; sequence++) {
      const steps = randomLines(rand, LINES);
      let t = performance.now();
      // The reference side reads its state back and resets in the same script (a process start is dear here).
      const refRun = ipvsadmBatch(p.ref, [...steps, ...STATE, ...RESET]);
      const expected = refRun.slice(0, steps.length);
      timeRef += performance.now() - t;
      t = performance.now();
      const actual = await p.ipvsLines(steps);
      timeOurs += performance.now() - t;
      lines += steps.length;
      refused += expected.filter((o) => o.code !== 0).length;
      const first = steps.findIndex((_, i) => !sameLines(actual[i]!, expected[i]!));
      if (first >= 0) {
        differences.push({ sequence, line: steps[first]!, ipvsadm: expected[first]!, ipvs: actual[first]!, lines: steps.slice(0, first + 1) });
      }
      const oursOrder = await p.ipvsLines(SAME_ORDER);
      // Each sequence starts from the same empty table, whatever the last one did (or where it differed).
      const oursRun = ipvsadmBatch(p.ours, [...SAME_ORDER, ...STATE, ...RESET]);
      const refOrder = oursRun.slice(0, SAME_ORDER.length);
      const k = SAME_ORDER.findIndex((_, i) => JSON.stringify(oursOrder[i]) !== JSON.stringify(refOrder[i]));
      if (first < 0 && k >= 0) {
        differences.push({ sequence, line: `${SAME_ORDER[k]!} (the same namespace)`, ipvsadm: refOrder[k]!, ipvs: oursOrder[k]!, lines: steps });
      }
      const oursState = oursRun.slice(SAME_ORDER.length, SAME_ORDER.length + STATE.length);
      const refState = refRun.slice(steps.length, steps.length + STATE.length);
      if (first < 0 && k < 0 && !STATE.every((_, i) => sameLines(oursState[i]!, refState[i]!))) {
        const text = (o: Outcome[]): string => o.map((x) => x.stdout + x.stderr).join('');
        differences.push({ sequence, line: '(the table afterwards)', ipvsadm: text(refState), ipvs: text(oursState), lines: steps });
      }
    }
    console.log(`cli-random: seed ${SEED}: ${lines} lines (${refused} refused by ipvsadm), ${differences.length} differences; ipvsadm ${(timeRef / 1000).toFixed(1)} s, ipvs ${(timeOurs / 1000).toFixed(1)} s`);
    expect(differences, `seed ${SEED}`).toEqual([]);
  });
});
