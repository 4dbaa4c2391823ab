// The harness of the differential tests of the `ipvs` command line against the real ipvsadm 1.31
// (test/kernel/cli-diff.test.ts, test/kernel/cli-random.test.ts). A Pair is two fresh network namespaces:
// command lines run with ipvsadm in one and with `ipvs` in the other. Runs only inside the UML sandbox
// (IPVS_KERNEL=1), as root.
//
// Why it is batched: under UML every process start costs tens of milliseconds (node's ~0.8 s), so the
// ipvsadm side of a batch of command lines is ONE shell script run in the reference namespace (each line's
// status, stdout and stderr go to files), and the ipvs side runs runCli in-process, line after line, over
// one client opened in the other namespace for the whole scenario. A batch compares as one array, so a
// failure shows every differing line at once.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { Ipvs } from '../../src/client.js';
import type { CliIpvs } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/run.js';
import { FakeKernel, type FakeInterface } from '../../src/testing/index.js';
import { createNamespaces } from '../kernel/netns.js';
import { DIFF_NAMESPACE_SETUP, sh, shared, useUnreachableNameServers, type Outcome } from './ipvsadm-diff.js';

export { sh, shared, type Outcome };

export const enabled = process.env.IPVS_KERNEL === '1';
export const scratch = mkdtempSync(join(tmpdir(), 'ipvs-cli-diff-'));
const created: string[] = [];
let counter = 0;

/** A command line, optionally with its standard input (for -R). */
export type Step = string | { line: string; input: string };

export function must(cmd: string, args: string[]): void {
  const r = sh(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

export function quote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

export function words(line: string): string[] {
  return line.split(' ').filter((w) => w !== '');
}

/** The ipvsadm side of a batch: one script, each line's outcome in three files. */
export function ipvsadmBatch(netns: string, steps: readonly Step[]): Outcome[] {
  const dir = mkdtempSync(join(scratch, 'batch-'));
  const script = steps.map((step, i) => {
    const line = typeof step === 'string' ? step : step.line;
    let stdin = '</dev/null';
    if (typeof step !== 'string') {
      writeFileSync(join(dir, `${i}.in`), step.input);
      stdin = `<${i}.in`;
    }
    // Called by name, so argv[0] (used in ipvsadm's hints) is "ipvsadm".
    return `ipvsadm ${words(line).map(quote).join(' ')} ${stdin} >${i}.out 2>${i}.err; echo $? >${i}.rc`;
  });
  writeFileSync(join(dir, 'run.sh'), `cd ${quote(dir)} || exit 99\n${script.join('\n')}\n`);
  must('ip', ['netns', 'exec', netns, 'sh', join(dir, 'run.sh')]);
  const out = steps.map((_, i) => ({
    code: Number(readFileSync(join(dir, `${i}.rc`), 'utf8').trim()),
    stdout: readFileSync(join(dir, `${i}.out`), 'utf8'),
    stderr: readFileSync(join(dir, `${i}.err`), 'utf8'),
  }));
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/** Run one command line through `ipvs` in-process. */
export async function runIpvs(args: readonly string[], client: (() => Promise<CliIpvs>) | undefined, connFile: string, input?: string): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    ...(client ? { ipvs: client } : {}),
    stdin: input ?? '',
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    procConnPath: connFile,
    programName: 'ipvsadm',
  });
  return { code, stdout, stderr };
}

export class Pair {
  readonly ref: string;
  readonly ours: string;
  private client: Promise<Ipvs> | undefined;

  constructor() {
    const id = `${process.pid}-${++counter}`;
    this.ref = `ipvs-diff-${id}-ref`;
    this.ours = `ipvs-diff-${id}-ours`;
    created.push(this.ref, this.ours);
    createNamespaces([this.ref, this.ours], DIFF_NAMESPACE_SETUP);
  }

  private open(): Promise<CliIpvs> {
    this.client ??= Ipvs.open({ netns: this.ours });
    return this.client.then(shared);
  }

  async close(): Promise<void> {
    if (this.client) await (await this.client).close();
    this.client = undefined;
  }

  /** `ipvs` over lines, in order, in the ours namespace. */
  async ipvsLines(steps: readonly Step[]): Promise<Outcome[]> {
    // /proc/net is per namespace and this process stays in its own: copy the table out of the target.
    const connFile = join(scratch, `conn-${this.ours}`);
    writeFileSync(connFile, sh('ip', ['netns', 'exec', this.ours, 'cat', '/proc/net/ip_vs_conn']).stdout);
    const out: Outcome[] = [];
    for (const step of steps) {
      const line = typeof step === 'string' ? step : step.line;
      out.push(await runIpvs(words(line), () => this.open(), connFile, typeof step === 'string' ? undefined : step.input));
    }
    return out;
  }

  async ipvs(line: string, input?: string): Promise<Outcome> {
    return (await this.ipvsLines([input === undefined ? line : { line, input }]))[0]!;
  }

  /** Run lines on both sides (ipvsadm as one script); every line must agree on status, stdout and stderr. */
  async both(...steps: Step[]): Promise<Outcome[]> {
    const expected = ipvsadmBatch(this.ref, steps);
    const actual = await this.ipvsLines(steps);
    const label = (s: Step): string => (typeof s === 'string' ? s : `${s.line} <<${JSON.stringify(s.input)}`);
    expect(steps.map((s, i) => ({ line: label(s), ...actual[i] }))).toEqual(steps.map((s, i) => ({ line: label(s), ...expected[i] })));
    return actual;
  }

  /** The same state: the save form, and every listing form, byte for byte (plus `extra` lines). */
  async sameListings(extra: readonly Step[] = []): Promise<void> {
    await this.both(...LISTINGS, ...extra);
    // Without sorting the order is the kernel's hash order, which depends on the namespace: same lines.
    const [a] = ipvsadmBatch(this.ref, ['-Ln --nosort']);
    const b = await this.ipvs('-Ln --nosort');
    expect(b.code).toBe(a!.code);
    expect(b.stdout.split('\n').sort()).toEqual(a!.stdout.split('\n').sort());
  }

  /** ipvsadm -Sn of both namespaces (both read by the real ipvsadm); they must be equal. */
  save(): string {
    const [r] = ipvsadmBatch(this.ref, ['-Sn']);
    const [o] = ipvsadmBatch(this.ours, ['-Sn']);
    expect(r!.code).toBe(0);
    expect(o!.stdout).toBe(r!.stdout);
    return r!.stdout;
  }
}

/** Every listing and save form, long and short spellings, with and without names. */
export const LISTINGS: readonly string[] = [
  '-Sn',
  '-S',
  '--save --numeric',
  '-L',
  '-Ln',
  '-l -n',
  '--list -n --sort',
  '-Ln --stats',
  '-L --stats',
  '-Ln --rate',
  '-Ln --stats --exact',
  '-Ln --rate --exact',
  '-LnX --stats',
  '-Ln --thresholds',
  '-Ln --persistent-conn',
  '-Ln --tun-info',
  '-L --timeout',
  '-L --daemon',
  '-Lc',
  '-Lnc',
  '-L -n --connection',
  '-Lnc --persistent-conn',
];

/** The interfaces DIFF_NAMESPACE_SETUP gives a Pair's namespaces, for a FakeKernel that stands for one. */
export const DIFF_FAKE_INTERFACES: readonly FakeInterface[] = [
  { name: 'lo', mtu: 65536, addresses: ['127.0.0.1/8', '::1/128'] },
  { name: 'dum0', mtu: 1500, addresses: ['192.168.1.1/24', '10.0.0.1/8', '2001:db8::1/64'] },
];

/**
 * `ipvs` in-process over a FakeKernel dressed as a Pair's namespace under the sandbox: the same interfaces and
 * addresses, the UML kernel's HZ (100, which bounds timeouts) and u64 padding; one client for every line (as
 * Pair's). The connection table it reads is `connFile`: the fake makes no connections, and a Pair's namespace,
 * which sees no traffic, has none either.
 */
export class FakeSide {
  readonly kernel = new FakeKernel({ interfaces: DIFF_FAKE_INTERFACES, u64Padding: true, hz: 100 });
  private client: Promise<Ipvs> | undefined;

  constructor(private readonly connFile: string) {}

  async lines(steps: readonly Step[]): Promise<Outcome[]> {
    this.client ??= Ipvs.open({ transport: this.kernel.transport() });
    const out: Outcome[] = [];
    for (const step of steps) {
      const line = typeof step === 'string' ? step : step.line;
      out.push(await runIpvs(words(line), () => this.client!.then(shared), this.connFile, typeof step === 'string' ? undefined : step.input));
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.client) await (await this.client).close();
    this.client = undefined;
  }
}

const pairs: Pair[] = [];
/** A new pair of namespaces, closed and deleted after the file's tests. */
export function pair(): Pair {
  const p = new Pair();
  pairs.push(p);
  return p;
}

/** Register the file's set-up and clean-up: call once at the top level of a test file. */
export function useCliDiffHooks(): void {
  useUnreachableNameServers(enabled);

  afterAll(() => {
    if (created.length > 0) sh('sh', ['-c', created.map((n) => `ip netns del ${n}`).join('; ')]);
    rmSync(scratch, { recursive: true, force: true });
  });

  afterAll(async () => {
    for (const p of pairs) await p.close();
  });
}
