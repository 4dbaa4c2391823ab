// `ipvs --netns NAME ...`: the leading option taken off before the ipvsadm grammar or a subcommand sees the
// command line, the namespace entered once and only when the run needs the kernel (or the connection table),
// and a namespace that cannot be entered reported in one line with the status of the command's other open
// failures. Entering itself is stood in for; test/kernel/cli-netns.kernel.test.ts enters real ones.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { takeLeadingNetns } from '../../src/cli/netns-option.js';
import { LibcError } from '../../native/libc.js';
import { NativeLoadError } from '../../native/load.js';
import { CliHarness, CONN_FIXTURE, type Run } from './harness.js';

const NOT_THERE = 'cannot open network namespace "blue" at /var/run/netns/blue: it does not exist (create it with `ip netns add`, or pass a /proc/PID/ns/net path)';

/** Runs `line` with --netns handled by `enter` (recording each call and when the client was opened). */
async function run(line: string, enter?: (netns: string) => void): Promise<Run & { events: string[] }> {
  const h = new CliHarness();
  const events: string[] = [];
  let stdout = '';
  let stderr = '';
  const code = await runCli(line.split(' ').filter((w) => w !== ''), {
    ipvs: () => {
      events.push('open');
      return h.openIpvs();
    },
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    procConnPath: CONN_FIXTURE,
    resolver: h.resolver,
    ...(enter ? { enterNetns: (ns: string) => { events.push(`enter ${ns}`); enter(ns); } } : {}),
  });
  return { code, stdout, stderr, events };
}

const ok = (): void => undefined;
const missing = (): never => {
  throw new LibcError('open', 2, '/var/run/netns/blue', NOT_THERE);
};

describe('takeLeadingNetns', () => {
  it('takes --netns NAME and --netns=NAME off the front only', () => {
    expect(takeLeadingNetns(['--netns', 'blue', '-Ln'])).toEqual({ netns: 'blue', rest: ['-Ln'] });
    expect(takeLeadingNetns(['--netns=/proc/7/ns/net', 'health', 'c.json'])).toEqual({ netns: '/proc/7/ns/net', rest: ['health', 'c.json'] });
    expect(takeLeadingNetns(['--netns', 'blue'])).toEqual({ netns: 'blue', rest: [] });
    expect(takeLeadingNetns(['-Ln', '--netns', 'blue'])).toEqual({ netns: undefined, rest: ['-Ln', '--netns', 'blue'] });
    expect(takeLeadingNetns(['--netnsx', 'blue'])).toEqual({ netns: undefined, rest: ['--netnsx', 'blue'] });
    expect(takeLeadingNetns([])).toEqual({ netns: undefined, rest: [] });
    // Glued, a value may start with a dash.
    expect(takeLeadingNetns(['--netns=-odd', '-Ln'])).toEqual({ netns: '-odd', rest: ['-Ln'] });
  });

  it('refuses a missing or empty name, an option where the name should be, and a second --netns', () => {
    const needs = { error: '--netns needs a network namespace: a name under /var/run/netns or a path such as /proc/PID/ns/net' };
    expect(takeLeadingNetns(['--netns'])).toEqual(needs);
    expect(takeLeadingNetns(['--netns='])).toEqual(needs);
    expect(takeLeadingNetns(['--netns', '', '-Ln'])).toEqual(needs);
    expect(takeLeadingNetns(['--netns', '-Ln'])).toEqual(needs);
    expect(takeLeadingNetns(['--netns', 'a', '--netns=b', '-Ln'])).toEqual({ error: '--netns is given twice' });
  });
});

describe('ipvs --netns', () => {
  it('enters the namespace once, before the client is opened, then runs the command as without it', async () => {
    const r = await run('--netns blue -Ln', ok);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^IP Virtual Server version /);
    expect(r.events).toEqual(['enter blue', 'open']);
    for (const word of ['export', 'export --compact']) {
      const s = await run(`--netns=blue ${word}`, ok);
      expect(s.events.slice(0, 2)).toEqual(['enter blue', 'open']);
      expect(s.stderr).toBe('');
    }
    // Alone it lists, as `ipvs` alone does.
    expect((await run('--netns blue', ok)).events).toEqual(['enter blue', 'open']);
  });

  it('enters it before reading the connection table, which belongs to the namespace', async () => {
    const r = await run('--netns blue -Lnc', ok);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.events).toEqual(['enter blue']);
  });

  it('does not enter it for help, usage errors or --check-config', async () => {
    const help = await run('--netns blue -h', missing);
    expect(help).toMatchObject({ code: 0, stderr: '', events: [] });
    const usage = await run('--netns blue -Ln --bogus', missing);
    expect(usage.events).toEqual([]);
    expect(usage.code).toBe(255);
    const dir = mkdtempSync(join(tmpdir(), 'netns-option-'));
    const config = join(dir, 'h.json');
    writeFileSync(config, JSON.stringify({ services: [{ protocol: 'tcp', address: '192.168.1.110', port: 80, destinations: [{ address: '10.0.0.2' }] }] }));
    const checked = await run(`--netns blue health --check-config ${config}`, missing);
    expect(checked).toMatchObject({ code: 0, stderr: '', events: [] });
  });

  it('a namespace that cannot be entered: one line naming it and why, the status of the command\'s open failures', async () => {
    for (const line of ['--netns blue -Ln', '--netns blue -A -t 10.0.0.1:80', '--netns blue -Lnc', '--netns blue']) {
      const r = await run(line, missing);
      expect(r).toMatchObject({ code: 2, stdout: '', stderr: `ipvs: ${NOT_THERE}\n` });
      expect(r.events).toEqual(['enter blue']);
    }
    // export's table that cannot be read is 1; health logs the reason and exits with 1.
    expect(await run('--netns blue export', missing)).toMatchObject({ code: 1, stdout: '', stderr: `ipvs: ${NOT_THERE}\n` });
    const dir = mkdtempSync(join(tmpdir(), 'netns-option-'));
    const config = join(dir, 'h.json');
    writeFileSync(config, JSON.stringify({ services: [{ protocol: 'tcp', address: '192.168.1.110', port: 80, destinations: [{ address: '10.0.0.2' }] }] }));
    const health = await run(`--netns blue health ${config}`, missing);
    expect(health.code).toBe(1);
    expect(health.stderr).toMatch(new RegExp(`^\\S+ error: cannot open IPVS: ${NOT_THERE.replace(/[().`/]/g, '\\$&')}\n$`));
  });

  it('without koffi: one line naming the namespace, the package and the way that needs none', async () => {
    const cause = new Error("Cannot find module 'koffi'\nRequire stack:\n- /x/native/load.js");
    const r = await run('--netns blue -Ln', () => {
      throw new NativeLoadError('koffi', cause);
    });
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toBe(
      'ipvs: cannot enter network namespace "blue": the `koffi` package, which entering one needs, cannot be loaded ' +
        "(Cannot find module 'koffi'); `ip netns exec` needs no such package\n",
    );
  });

  it('refuses a bad --netns with status 2, and one given where nothing can enter it', async () => {
    expect(await run('--netns -Ln', ok)).toMatchObject({ code: 2, stdout: '', stderr: 'ipvs: --netns needs a network namespace: a name under /var/run/netns or a path such as /proc/PID/ns/net\n', events: [] });
    expect(await run('--netns blue -Ln')).toMatchObject({ code: 2, stdout: '', stderr: 'ipvs: --netns is not available here\n', events: [] });
  });

  it('after a subcommand\'s word: said to go first, status 2', async () => {
    for (const line of ['health --netns blue c.json', 'apply --dry-run --netns=blue s.json']) {
      const word = line.split(' ')[0]!;
      expect(await run(line, ok)).toMatchObject({ code: 2, stdout: '', stderr: `ipvs ${word}: --netns goes before the command: ipvs --netns NAME ${word} ...\n`, events: [] });
    }
  });

  it('leaves ipvsadm command lines as they were: after the command it is an unknown option', async () => {
    const h = new CliHarness();
    const plain = await h.run('-Ln --netns blue');
    expect(await run('-Ln --netns blue', ok)).toMatchObject({ ...plain, events: [] });
    expect(plain.code).toBe(255);
  });

  it('is in the help', async () => {
    const r = await run('-h');
    expect(r.stdout).toContain('  ipvs --netns NAME|PATH command ...\n');
    expect(r.stdout).toContain("      --netns NAME|PATH   run in that network namespace, as `ip netns exec NAME ipvs ...' would:\n");
  });
});
