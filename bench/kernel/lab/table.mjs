// What every lab harness starts from: the benchmark's table restored into a namespace of its own, the 1% change
// written as a desired-state file, and a way to run node in that namespace with the benchmark's allocator setting.

import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchData } from '../data.mjs';
import { DEFAULT_NODE_FLAGS, DEFAULT_TUNABLES } from '../settings.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const worker = join(here, '..', 'worker.mjs');
export const phases = join(here, 'phases.mjs');

/** The JSON a worker or phases.mjs prints on stderr after `TAG `. */
export const tagged = (lines, tag) => JSON.parse(lines.find((l) => l.startsWith(`${tag} `)).slice(tag.length + 1));

/**
 * Restore LAB_SERVICES x LAB_DESTS (5 000 x 4) into a fresh namespace. Returns the state file, `run(argv, env)`
 * (node with argv in the namespace; its stderr lines) and `done()` (deletes the namespace).
 */
export function labTable() {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench/kernel/lab: run as root on a kernel with ip_vs, normally inside the sandbox (see the top of each harness)\n');
    process.exit(2);
  }
  const data = benchData(Number(process.env.LAB_SERVICES ?? 5000), Number(process.env.LAB_DESTS ?? 4));
  // The benchmark's allocator setting (see run.mjs); LAB_GLIBC_TUNABLES to choose another.
  const tunables = process.env.LAB_GLIBC_TUNABLES ?? DEFAULT_TUNABLES;
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES;
  if (tunables !== '') env.GLIBC_TUNABLES = tunables;
  const work = mkdtempSync(join(tmpdir(), 'ipvs-lab-'));
  const rules = join(work, 'base.rules');
  const state = join(work, 'changed.json');
  writeFileSync(rules, data.saveText());
  writeFileSync(state, JSON.stringify(data.changedState(data.changes())));
  const ns = `lab-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);

  const run = (argv, extraEnv = {}) => {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...argv], { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...env, ...extraEnv } });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
    return r.stderr.split('\n');
  };
  const filled = tagged(run([...DEFAULT_NODE_FLAGS.split(' ').filter((f) => f !== ''), worker, 'restore', rules]), 'BENCH');
  if (filled.failed !== 0) throw new Error(`restore: ${filled.failed} operations failed`);
  return { state, run, done: () => execFileSync('ip', ['netns', 'del', ns]) };
}
