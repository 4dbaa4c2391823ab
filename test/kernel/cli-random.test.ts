// A randomised differential test of the `ipvs` command line against the real ipvsadm 1.31 on a real kernel:
// seeded sequences of command lines (test/helpers/cli-random-lines.ts), valid and not, each run through ipvsadm
// in one network namespace and through `ipvs` in another; every line must give the same exit status, stderr and
// stdout lines (their order is compared on listings read from one namespace, below), and after each sequence the
// real ipvsadm must save the same table and timeouts from both namespaces.
// A third contender checks the fake kernel (src/testing/) against the real one: the same lines run through `ipvs`
// in-process over a FakeKernel with the namespace's interfaces, and every line's status, stderr and stdout, the
// listings and the timeouts afterwards must be those `ipvs` gets from the real kernel; then a few lines only the
// two kernels get (fakeExtras: a -R file of the sequence's rule lines, and values ipvsadm takes otherwise).
// Runs only inside the UML sandbox (IPVS_KERNEL=1), as root.
//
// It runs for IPVS_CLI_RANDOM_SECONDS of guest time (default 45: 120 to 700 lines, by the host's load), from the seed
// IPVS_CLI_RANDOM_SEED (default 1; `random` picks one). The seed is printed, and every difference is reported
// with it and with the lines of its sequence up to the one that differs, which reproduce it: make that a fixed
// case in cli-diff.test.ts (a difference of the fake kernel: fix it with a unit test in test/testing/, and a
// conformance scenario when it is a fact of the kernel). A longer hunt:
//   IPVS_CLI_RANDOM_SECONDS=900 IPVS_CLI_RANDOM_SEED=random node scripts/sandbox.mjs --timeout 1500 \
//     --kernel-suite -- test/kernel/cli-random.test.ts
// (IPVS_CLI_RANDOM_IPVSADM=0 hunts the fake kernel alone: ipvsadm's process starts are most of the time.)

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { enabled, FakeSide, ipvsadmBatch, pair, scratch, sh, type Outcome, type Step, useCliDiffHooks } from '../helpers/cli-diff-pair.js';
import { randomLines } from '../helpers/cli-random-lines.js';
import { seededRandom } from '../helpers/seeded-random.js';

useCliDiffHooks();

const SECONDS = Number(process.env.IPVS_CLI_RANDOM_SECONDS ?? 45);
const SEED_TEXT = process.env.IPVS_CLI_RANDOM_SEED ?? '1';
const SEED = SEED_TEXT === 'random' ? Math.floor(Math.random() * 2 ** 32) : Number(SEED_TEXT);
/** IPVS_CLI_RANDOM_IPVSADM=0 leaves ipvsadm out, for a hunt of the fake kernel alone (some 4 times the lines). */
const WITH_IPVSADM = process.env.IPVS_CLI_RANDOM_IPVSADM !== '0';
/** Lines per sequence: long enough to build a table worth listing, short enough to pin a difference down. */
const LINES = 60;
/** What the real ipvsadm reads back from each namespace after a sequence, and the reset before the next one. */
const STATE = ['-Sn', '-L --timeout', '-L --daemon'];
const RESET = ['-C', '--set 900 120 300', '--stop-daemon master', '--stop-daemon backup'];
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

/**
 * What the fake side reads after a sequence: the listings (compared with `ipvs` reading the real kernel, which reads
 * SAME_ORDER already), the timeouts and the sync daemons.
 */
const FAKE_STATE = [...SAME_ORDER, '-L --timeout', '-L --daemon'];

/** A table-changing command line: what a rules file for -R may hold. */
const RULE_LINE = /^(-[AEDaed]|--(add|edit|delete)-(service|server)\b)/;

/**
 * Lines that only the fake and the kernel get, after the sequence: its table-changing lines that succeeded, as a
 * rules file for -R on an empty table, in another order now and then and with a line or two repeated (an addition
 * made twice is refused mid-file: `ipvs -R` pipelines additions and takes back those sent after a refused one), then
 * a few lines ipvsadm takes otherwise than `ipvs` does (docs/cli.md: fwmarks above 2^31, non-contiguous IPv4
 * masks), which the two kernels must still answer alike.
 */
function fakeExtras(rand: () => number, steps: readonly string[], outcomes: readonly Outcome[]): Step[] {
  const rules = steps.filter((line, i) => outcomes[i]!.code === 0 && RULE_LINE.test(line));
  if (rand() < 0.4) {
    for (let i = rules.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [rules[i], rules[j]] = [rules[j]!, rules[i]!];
    }
  }
  for (let n = Math.floor(rand() * 3); n > 0 && rules.length > 0; n--) {
    rules.splice(Math.floor(rand() * (rules.length + 1)), 0, rules[Math.floor(rand() * rules.length)]!);
  }
  const mark = (): string => String(pick(rand, [2 ** 31, 2 ** 31 + 1, 2 ** 32 - 1, 2 ** 32, 3_000_000_000]));
  const odd = (): string => pick(rand, ['255.0.255.0', '0.255.255.255', '255.255.255.1', '128.0.0.0']);
  return [
    '-C',
    { line: '-R', input: rules.map((l) => `${l}\n`).join('') },
    `-A -f ${mark()} -s ${pick(rand, ['rr', 'wlc', 'mh'])}`,
    `-a -f ${mark()} -r 10.0.0.2 -m`,
    `-A -t 10.0.0.9:80 -p -M ${odd()}`,
    `-E -f ${mark()} -p 60 -M ${odd()}`,
    `-D -f ${mark()}`,
  ];
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

/** A line whose outcome differs between `ipvs` on the real kernel and `ipvs` on the fake one. */
interface FakeDifference {
  sequence: number;
  line: string;
  kernel: Outcome;
  fake: Outcome;
  /** The sequence's lines up to this one (or all of them, for a listing afterwards), from an empty table. */
  lines: string[];
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
    // The extra lines draw from a stream of their own: the sequences stay those of the seed without them.
    const extraRand = seededRandom(SEED ^ 0x5a5a5a5a);
    const p = pair();
    // The fake's connection table: the namespace's own, which has none (no traffic reaches it); the fake makes none.
    const connFile = join(scratch, 'conn-fake');
    const conns = sh('ip', ['netns', 'exec', p.ours, 'cat', '/proc/net/ip_vs_conn']).stdout;
    expect(conns.trim().split('\n')).toHaveLength(1);
    writeFileSync(connFile, conns);
    const fake = new FakeSide(connFile);
    const differences: Difference[] = [];
    const fakeDifferences: FakeDifference[] = [];
    let timeFake = 0;
    const deadline = Date.now() + SECONDS * 1000;
    let lines = 0;
    let refused = 0;
    let timeRef = 0;
    let timeOurs = 0;
    for (let sequence = 0; Date.now() < deadline; sequence++) {
      const steps = randomLines(rand, LINES);
      let t = performance.now();
      // The reference side reads its state back and resets in the same script (a process start is dear here).
      const refRun = WITH_IPVSADM ? ipvsadmBatch(p.ref, [...steps, ...STATE, ...RESET]) : [];
      const expected = refRun.slice(0, steps.length);
      timeRef += performance.now() - t;
      t = performance.now();
      const actual = await p.ipvsLines(steps);
      timeOurs += performance.now() - t;
      lines += steps.length;
      refused += actual.filter((o) => o.code !== 0).length;
      const first = WITH_IPVSADM ? steps.findIndex((_, i) => !sameLines(actual[i]!, expected[i]!)) : -1;
      if (first >= 0) {
        differences.push({ sequence, line: steps[first]!, ipvsadm: expected[first]!, ipvs: actual[first]!, lines: steps.slice(0, first + 1) });
      }
      const kernelState = await p.ipvsLines(FAKE_STATE);
      const oursOrder = kernelState.slice(0, SAME_ORDER.length);
      // The ipvsadm side reads the kernel's table before the extra lines change it.
      const oursRun = WITH_IPVSADM ? ipvsadmBatch(p.ours, [...SAME_ORDER, ...STATE]) : [];
      const extras = fakeExtras(extraRand, steps, actual);
      t = performance.now();
      const kernelExtras = await p.ipvsLines([...extras, ...FAKE_STATE]);
      timeOurs += performance.now() - t;
      // The fake side: the same lines, the listings and timeouts, the extra lines and the listings again, then
      // the reset (as the namespaces get).
      t = performance.now();
      const fakeRun = await fake.lines([...steps, ...FAKE_STATE, ...extras, ...FAKE_STATE, ...RESET]);
      timeFake += performance.now() - t;
      // Lines are compared as sets (sameLines), as across the two namespaces: the fake lists in its own order, not
      // the kernel's hash order, and ipvsadm's sorting (which `ipvs` follows) depends on the order it reads when
      // addresses are more than 2^31 apart. Counters need no allowance: no traffic reaches the namespace, so the
      // kernel's are zero, as the fake's are (it models no traffic). Nothing else is normalised.
      const f = steps.findIndex((_, i) => !sameLines(fakeRun[i]!, actual[i]!));
      if (f >= 0) fakeDifferences.push({ sequence, line: steps[f]!, kernel: actual[f]!, fake: fakeRun[f]!, lines: steps.slice(0, f + 1) });
      const g = FAKE_STATE.findIndex((_, i) => !sameLines(fakeRun[steps.length + i]!, kernelState[i]!));
      if (f < 0 && g >= 0) {
        fakeDifferences.push({ sequence, line: `${FAKE_STATE[g]!} (afterwards)`, kernel: kernelState[g]!, fake: fakeRun[steps.length + g]!, lines: steps });
      }
      const fakeAfter = fakeRun.slice(steps.length + FAKE_STATE.length, steps.length + FAKE_STATE.length + kernelExtras.length);
      const x = kernelExtras.findIndex((o, i) => !sameLines(fakeAfter[i]!, o));
      if (f < 0 && g < 0 && x >= 0) {
        const label = (st: Step): string => (typeof st === 'string' ? st : `${st.line} <<${JSON.stringify(st.input)}`);
        const line = x < extras.length ? label(extras[x]!) : `${FAKE_STATE[x - extras.length]!} (after the extra lines)`;
        fakeDifferences.push({ sequence, line, kernel: kernelExtras[x]!, fake: fakeAfter[x]!, lines: [...steps, ...extras.slice(0, x + 1).map(label)] });
      }
      const fakeReset = fakeRun.slice(steps.length + FAKE_STATE.length + kernelExtras.length);
      // The table and timeouts reset cleanly; stopping a daemon that is not running is refused alike on both.
      expect(fakeReset.slice(0, 2), 'the fake side resets').toEqual([0, 1].map(() => ({ code: 0, stdout: '', stderr: '' })));
      // Each sequence starts from the same empty table, whatever the last one did (or where it differed).
      expect(await p.ipvsLines(RESET), 'the kernel side resets').toEqual(fakeReset);
      if (!WITH_IPVSADM) continue;
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
    await fake.close();
    console.log(
      `cli-random: seed ${SEED}: ${lines} lines (${refused} refused), ${differences.length} differences, ` +
        `${fakeDifferences.length} between the fake and the kernel; ipvsadm ${(timeRef / 1000).toFixed(1)} s, ipvs ${(timeOurs / 1000).toFixed(1)} s, ` +
        `ipvs on the fake ${(timeFake / 1000).toFixed(1)} s`,
    );
    expect({ differences, fakeDifferences }, `seed ${SEED}`).toEqual({ differences: [], fakeDifferences: [] });
  });
});
