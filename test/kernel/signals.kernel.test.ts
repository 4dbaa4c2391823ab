// The built command line (`node dist/src/cli/main.js`) receiving real signals mid-work on a real kernel, as
// docs/reconcile.md and docs/health.md promise: `ipvs apply` stops sending on SIGINT or SIGTERM, reports what was
// sent, exits 1 and leaves exactly what it reported; a second signal ends it at once; a re-run converges. `ipvs
// health` stops on SIGTERM with status 0 and leaves the table as it was (or, with --remove-on-exit, deletes its
// services). Each case gets its own network namespace. Runs only inside the UML sandbox (IPVS_KERNEL=1), as root:
//   npm run build && node scripts/sandbox.mjs --timeout 1500 --kernel-suite -- test/kernel/signals.kernel.test.ts
//
// Nothing waits for a fixed time: the signal goes once the command's first service is in the kernel (polled), and
// a signal that came after the work had ended is seen as such (exit 0, nothing aborted) and the case is run once
// more on a table three times larger. A second signal goes only once the first is seen handled (the report begun),
// never back to back: two signals sent together may be handled in either order.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import type { DesiredState } from '../../src/reconcile/state.js';
import { createNamespace } from './netns.js';

const onKernel = process.env.IPVS_KERNEL === '1';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');
/** Destinations in the first attempt: enough that sending them takes seconds under UML (BIG_TABLE overrides). */
const FIRST_SIZE = Number(process.env.BIG_TABLE ?? 30_000);
const PER_SERVICE = 200;
/** Steps not sent (report lines on standard error) enough to fill the pipe and the test's buffer several times. */
const HELD_LINES = 5000;
const ABORTED = 'aborted before it was sent';

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ReturnType<typeof spawn>;
  exited: Promise<Exit>;
  /** Resolves with the first line of standard output matching `pattern`; rejects if the command ends first. */
  line(pattern: RegExp): Promise<string>;
  /** Standard output so far. */
  text(): string;
  /** Start reading standard error (`start(..., { holdStderr: true })` leaves it unread until then). */
  readStderr(): void;
  /** Standard error so far. */
  errText(): string;
}

/** Poll `check` every 20 ms until it is true, failing after a generous `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `count` destinations over services of PER_SERVICE each (direct routing, rr). */
function bigState(count: number): DesiredState {
  const services = [];
  for (let s = 0; s * PER_SERVICE < count; s++) {
    const destinations = [];
    for (let d = 0; d < PER_SERVICE && s * PER_SERVICE + d < count; d++) {
      const j = s * PER_SERVICE + d + 1;
      destinations.push({ address: `10.1.${j >> 8}.${j & 255}`, forwarding: 'route' as const });
    }
    services.push({ protocol: 'tcp' as const, address: `172.16.${(s + 1) >> 8}.${(s + 1) & 255}`, port: 80, scheduler: 'rr' as const, destinations });
  }
  return { services };
}

/** Services as `tcp A:P`, destinations as `tcp A:P -> B:Q`: the targets `ipvs apply` names in its report. */
function entriesOf(state: DesiredState): Set<string> {
  const out = new Set<string>();
  for (const s of state.services) {
    const svc = s as { protocol: string; address: string; port: number };
    const id = `${svc.protocol} ${svc.address}:${svc.port}`;
    out.add(id);
    for (const d of s.destinations ?? []) out.add(`${id} -> ${d.address}:${d.port ?? svc.port}`);
  }
  return out;
}

/** What an `ipvs apply` report says of each step: applied (stdout), failed and not attempted (stderr). */
function parseReport(r: Exit): { applied: Set<string>; failed: Map<string, string>; notAttempted: Map<string, string>; summary: string | undefined } {
  const target = /^\+ (?:service|destination) (tcp \S+(?: -> \S+)?)/;
  const applied = new Set<string>();
  const failed = new Map<string, string>();
  const notAttempted = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = target.exec(line);
    if (m) applied.add(m[1]!);
  }
  for (const line of r.stderr.split('\n')) {
    const m = /^([!?]) (.*)$/.exec(line);
    if (!m) continue;
    const t = target.exec(m[2]!);
    if (!t) throw new Error(`unexpected report line: ${line}`);
    const f = /: failed: (.*)$/.exec(line);
    const n = /: not attempted: (.*)$/.exec(line);
    if (m[1] === '!' && f) failed.set(t[1]!, f[1]!);
    else if (m[1] === '?' && n) notAttempted.set(t[1]!, n[1]!);
    else throw new Error(`unexpected report line: ${line}`);
  }
  const summary = /^# .*$/m.exec(r.stdout)?.[0];
  return { applied, failed, notAttempted, summary };
}

describe.skipIf(!onKernel)('signals to the built command line mid-work (real kernel)', () => {
  let scratch = '';
  const namespaces: string[] = [];
  const children: Running[] = [];
  let counter = 0;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'ipvs-signals-'));
    if (!existsSync(CLI)) throw new Error(`the test runs the built command line: run \`npm run build\` first (${CLI} is missing)`);
    if (statSync(join(ROOT, 'src/cli/stop-signal.ts')).mtimeMs > statSync(CLI).mtimeMs) console.warn('dist/ may be older than src/: run `npm run build`');
  });

  afterAll(() => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });

  /** A fresh namespace with lo and a dummy device holding 10.0.0.1/8 and 192.168.1.1/24 (destinations need an IPv4 local table). */
  function namespace(): string {
    const ns = `ipvs-sig-${process.pid}-${++counter}`;
    namespaces.push(ns);
    createNamespace(ns, ['link set lo up', 'link add dum0 type dummy', 'addr add 10.0.0.1/8 dev dum0', 'addr add 192.168.1.1/24 dev dum0', 'link set dum0 up']);
    return ns;
  }

  /**
   * Start `ipvs ARGS` (the built CLI) in the namespace. With `holdStderr` its standard error is not read until
   * `readStderr()`: once the pipe and our buffer are full (some 200 KiB), its writes there wait, and so does its exit.
   */
  function start(ns: string, args: string[], { holdStderr = false } = {}): Running {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const listeners = new Set<() => void>();
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      for (const l of listeners) l();
    });
    const readStderr = (): void => {
      if (child.stderr!.listenerCount('data') === 0) child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    };
    if (!holdStderr) readStderr();
    // Once it has ended there is nothing to hold: its standard error must be read for 'close' to come.
    child.once('exit', readStderr);
    const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
    const line = (pattern: RegExp): Promise<string> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = stdout.split('\n').find((l) => pattern.test(l));
          if (found !== undefined) {
            listeners.delete(check);
            resolve(found);
          }
        };
        listeners.add(check);
        check();
        void exited.then((e) => {
          listeners.delete(check);
          reject(new Error(`ipvs ${args.join(' ')} ended (${e.code ?? e.signal}) without printing ${pattern}:\n${e.stdout}${e.stderr}`));
        });
      });
    const running = { child, exited, line, text: () => stdout, readStderr, errText: () => stderr };
    children.push(running);
    return running;
  }

  async function run(ns: string, args: string[]): Promise<Exit> {
    return start(ns, args).exited;
  }

  /**
   * `ipvs apply FILE` of `size` destinations into an empty namespace, sent `signal` once its first service (or
   * destination) is in the kernel. With `then`, a second signal goes once the first is seen handled: the report's
   * summary is out on standard output. Its standard error, where it lists the steps not sent, is held unread
   * meanwhile, so that it is still writing there (it cannot end) when the second signal comes; `late` says the first
   * came too late for that (too few steps left unsent to fill the pipe) and the second was not sent.
   */
  async function interruptedApply(size: number, signal: NodeJS.Signals, when: 'first service' | 'first destination', then?: NodeJS.Signals) {
    const ns = namespace();
    const desired = bigState(size);
    const file = join(scratch, `${ns}.json`);
    writeFileSync(file, JSON.stringify(desired));
    const ipvs = await Ipvs.open({ netns: ns });
    try {
      const apply = start(ns, ['apply', file], { holdStderr: then !== undefined });
      let done = false;
      apply.child.once('exit', () => (done = true));
      const first = { protocol: 'tcp', address: '172.16.0.1', port: 80 } as const;
      await until(`the ${when} sent`, async () => {
        if (done) return true;
        if (when === 'first service') return (await ipvs.services({ stats: false })).length > 0;
        // The first service's destinations are the first to go out (the plan's order).
        return (await ipvs.hasService(first)) && (await ipvs.destinations(first, { stats: false })).length > 0;
      });
      apply.child.kill(signal);
      let late = false;
      if (then !== undefined) {
        const summary = await apply.line(/^# \d+ of \d+ changes? applied/);
        // Each step not sent is a line of some 90 bytes: a few thousand fill the pipe and what we buffer.
        late = Number(/, (\d+) not attempted/.exec(summary)?.[1] ?? 0) < HELD_LINES;
        if (!late) apply.child.kill(then);
        apply.readStderr();
      }
      const exit = await apply.exited;
      const kernel = entriesOf(await ipvs.exportState());
      return { ns, file, desired, exit, kernel, ipvs, late };
    } catch (err) {
      await ipvs.close();
      throw err;
    }
  }

  /** The re-run converges: exit 0, then `ipvs diff` is in sync and the kernel holds exactly the desired state. */
  async function expectConverges(ns: string, file: string, desired: DesiredState, ipvs: Ipvs): Promise<void> {
    const again = await run(ns, ['apply', '-q', file]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toBe('');
    const diff = await run(ns, ['diff', file]);
    expect(diff.code, diff.stdout + diff.stderr).toBe(0);
    expect(diff.stdout).toBe('# in sync: no changes\n');
    expect([...entriesOf(await ipvs.exportState())].sort()).toEqual([...entriesOf(desired)].sort());
  }

  it.each([
    ['SIGINT', 'first destination'],
    ['SIGTERM', 'first destination'],
    ['SIGINT', 'first service'],
  ] as const)(
    'ipvs apply: %s once the %s is in stops sending, reports every step, exits 1, and the kernel holds exactly what it reported',
    async (signal, when) => {
      let size = FIRST_SIZE;
      for (let attempt = 1; ; attempt++) {
        const r = await interruptedApply(size, signal, when);
        try {
          const report = parseReport(r.exit);
          if (r.exit.code === 0 && report.notAttempted.size === 0 && report.failed.size === 0 && attempt === 1) {
            // The signal came after the last answer: run once more with a larger table.
            console.warn(`${signal} landed after ${size} destinations were all sent; again with ${size * 3}`);
            size *= 3;
            continue;
          }
          // It arrived mid-work: the command was interrupted, not killed, and said so.
          expect(r.exit.signal, r.exit.stderr).toBeNull();
          expect(r.exit.code, r.exit.stderr.slice(-2000)).toBe(1);
          expect(r.exit.stderr.trimEnd().split('\n').at(-1)).toBe('ipvs apply: interrupted; run it again to converge');
          expect(report.notAttempted.size).toBeGreaterThan(0);
          for (const reason of report.notAttempted.values()) expect(reason).toBe(ABORTED);
          // A request still waiting for its answer fails with AbortError (the kernel may have carried it out).
          for (const error of report.failed.values()) expect(error).toMatch(/: aborted$/);
          // Every step of the plan is reported once, and the summary counts them.
          const planned = entriesOf(r.desired);
          const reported = [...report.applied, ...report.failed.keys(), ...report.notAttempted.keys()];
          expect(reported.length).toBe(planned.size);
          expect(new Set(reported)).toEqual(planned);
          const notes = [`${report.failed.size} failed`, `${report.notAttempted.size} not attempted`].filter((n) => !n.startsWith('0 '));
          expect(report.summary).toBe(`# ${report.applied.size} of ${planned.size} changes applied${notes.map((n) => `, ${n}`).join('')}`);
          // The kernel: every applied step, none of those not sent, nothing else (an aborted one may or may not be in).
          const missing = [...report.applied].filter((e) => !r.kernel.has(e));
          const unsent = [...report.notAttempted.keys()].filter((e) => r.kernel.has(e));
          const unreported = [...r.kernel].filter((e) => !report.applied.has(e) && !report.failed.has(e));
          expect({ missing, unsent, unreported }).toEqual({ missing: [], unsent: [], unreported: [] });
          console.log(`${signal} at the ${when} (${size} destinations): ${report.applied.size} applied, ${report.failed.size} aborted in flight (${[...report.failed.keys()].filter((e) => r.kernel.has(e)).length} carried out), ${report.notAttempted.size} not sent`);
          await expectConverges(r.ns, r.file, r.desired, r.ipvs);
          return;
        } finally {
          await r.ipvs.close();
        }
      }
    },
    600_000,
  );

  it('ipvs apply: a second signal (SIGTERM once the SIGINT is handled) ends it at once, killed by it, its report cut short; a re-run converges', async () => {
    let size = FIRST_SIZE;
    for (let attempt = 1; ; attempt++) {
      const r = await interruptedApply(size, 'SIGINT', 'first destination', 'SIGTERM');
      try {
        if (r.late && attempt === 1) {
          console.warn(`the SIGINT landed when fewer than ${HELD_LINES} of ${size} destinations were left to send; again with ${size * 3}`);
          size *= 3;
          continue;
        }
        expect(r.late, r.exit.stdout.slice(-300)).toBe(false);
        // Killed by the second signal, as Node's default does, before its report was all out: standard error, held,
        // has what it wrote before the signal, which may be nothing (the signal may come before it starts there).
        expect({ code: r.exit.code, signal: r.exit.signal }, r.exit.stderr.slice(-2000)).toEqual({ code: null, signal: 'SIGTERM' });
        expect(r.exit.stderr).not.toContain('ipvs apply: interrupted');
        const report = parseReport({ ...r.exit, stderr: r.exit.stderr.slice(0, r.exit.stderr.lastIndexOf('\n') + 1) });
        for (const reason of report.notAttempted.values()) expect(reason).toBe(ABORTED);
        for (const error of report.failed.values()) expect(error).toMatch(/: aborted$/);
        // Standard output, whole, holds: every step it applied is in the kernel, and besides them at most the
        // requests aborted in flight that the summary counts as failed.
        const planned = entriesOf(r.desired);
        const summary = new RegExp(`^# ${report.applied.size} of ${planned.size} changes applied(?:, (\\d+) failed)?, (\\d+) not attempted$`).exec(report.summary ?? '');
        expect(summary, report.summary).not.toBeNull();
        const failed = Number(summary![1] ?? 0);
        expect(failed + Number(summary![2]) + report.applied.size).toBe(planned.size);
        const missing = [...report.applied].filter((e) => !r.kernel.has(e));
        const extra = [...r.kernel].filter((e) => !report.applied.has(e));
        expect({ missing, unplanned: extra.filter((e) => !planned.has(e)) }).toEqual({ missing: [], unplanned: [] });
        expect(extra.length).toBeLessThanOrEqual(failed);
        expect(r.kernel.size).toBeGreaterThan(0);
        expect(r.kernel.size).toBeLessThan(planned.size);
        console.log(`SIGINT, then SIGTERM once it was reporting (${size} destinations): killed with ${r.kernel.size} of ${planned.size} entries in the kernel, ${r.exit.stderr.length} bytes of its report on standard error out`);
        await expectConverges(r.ns, r.file, r.desired, r.ipvs);
        return;
      } finally {
        await r.ipvs.close();
      }
    }
  }, 600_000);

  it.each([
    ['leaves the table as it was', [] as string[]],
    ['with --remove-on-exit deletes its services', ['--remove-on-exit']],
  ])('ipvs health: SIGTERM stops it cleanly with status 0 and %s', async (_, options) => {
    const ns = namespace();
    const config = join(scratch, `${ns}-health.json`);
    // Two route destinations on the namespace's own addresses: nothing listens on port 80, so every check is
    // refused at once, both servers stay down, and nothing changes once it runs.
    writeFileSync(config, JSON.stringify({
      services: [{
        protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'wrr',
        destinations: [{ address: '10.0.0.1', forwarding: 'route', weight: 2 }, { address: '192.168.1.1', forwarding: 'route', weight: 1 }],
        check: { type: 'tcp', intervalMs: 200, timeoutMs: 1000, rise: 1, fall: 1 },
      }],
    }));
    const ipvs = await Ipvs.open({ netns: ns });
    try {
      const health = start(ns, ['health', ...options, config]);
      // The first checks come before the servers are added, so they go in at weight 0 before it runs.
      await health.line(/running; stop with Ctrl-C or SIGTERM$/);
      expect(health.text()).toMatch(/added 10\.0\.0\.1:80 \(route, weight 0\)/);
      const before = await ipvs.exportState();
      expect(before.services[0]?.destinations?.map((d) => d.weight)).toEqual([0, 0]);
      health.child.kill('SIGTERM');
      const exit = await health.exited;
      expect({ code: exit.code, signal: exit.signal }, exit.stdout + exit.stderr).toEqual({ code: 0, signal: null });
      // What it logged from the signal on, without the timestamps.
      const lines = exit.stdout.trimEnd().split('\n').map((l) => l.replace(/^\S+ /, ''));
      const tail = lines.slice(lines.lastIndexOf('running; stop with Ctrl-C or SIGTERM') + 1);
      if (options.length === 0) {
        expect(tail).toEqual(['stopping', 'stopped; the table was left as it is']);
        expect(await ipvs.exportState()).toEqual(before);
      } else {
        expect(tail).toEqual(['stopping', 'tcp 192.168.1.110:80: deleted the service', 'stopped; the services were deleted']);
        expect((await ipvs.exportState()).services).toEqual([]);
      }
      expect(exit.stderr).toBe('');
    } finally {
      await ipvs.close();
    }
  }, 120_000);

  it('ipvs health: its standard output closed (EPIPE) it goes on with its log on standard error; SIGHUP reads CONFIG again (an invalid one is kept out); SIGTERM exits 0', async () => {
    const ns = namespace();
    const config = join(scratch, `${ns}-reload.json`);
    const write = (scheduler: string): void =>
      writeFileSync(config, JSON.stringify({
        services: [{
          protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler,
          destinations: [{ address: '10.0.0.1', forwarding: 'route', weight: 2 }],
          check: { type: 'tcp', intervalMs: 200, timeoutMs: 1000, rise: 1, fall: 1 },
        }],
      }));
    write('wrr');
    const ipvs = await Ipvs.open({ netns: ns });
    try {
      // -v: a line on standard output at every check, so a closed pipe is met within 200 ms.
      const health = start(ns, ['health', '-v', config]);
      await health.line(/running; stop with Ctrl-C or SIGTERM$/);
      health.child.stdout!.destroy();
      const ended = (): boolean => health.child.exitCode !== null || health.child.signalCode !== null;
      // It used to die there, with 141 (and of SIGHUP below): its end fails the test at once, with its status.
      await until('the EPIPE noticed', () => ended() || health.errText().includes('warning: standard output failed (EPIPE'));
      expect({ code: health.child.exitCode, signal: health.child.signalCode }, health.errText()).toEqual({ code: null, signal: null });
      const scheduler = async () => (await ipvs.service({ protocol: 'tcp', address: '192.168.1.110', port: 80 })).scheduler;
      expect(await scheduler()).toBe('wrr');
      write('rr');
      health.child.kill('SIGHUP');
      await until('the new config running', async () => ended() || (health.errText().includes('reloaded ') && (await scheduler()) === 'rr'));
      expect({ code: health.child.exitCode, signal: health.child.signalCode }, health.errText()).toEqual({ code: null, signal: null });
      writeFileSync(config, '{"services": [');
      health.child.kill('SIGHUP');
      await until('the invalid config refused', () => /warning: reload: .*; still running the config read before\n/.test(health.errText()));
      expect(health.child.exitCode).toBeNull();
      health.child.kill('SIGTERM');
      const exit = await health.exited;
      expect({ code: exit.code, signal: exit.signal }, exit.stderr).toEqual({ code: 0, signal: null });
      expect(exit.stderr).toMatch(/Z stopped; the table was left as it is\n$/);
      expect(await scheduler()).toBe('rr');
    } finally {
      await ipvs.close();
    }
  }, 120_000);
});

describe.skipIf(onKernel)('signals to the built command line mid-work (real kernel)', () => {
  it.skip('runs only inside the UML sandbox (node scripts/sandbox.mjs --kernel-suite)', () => {});
});
