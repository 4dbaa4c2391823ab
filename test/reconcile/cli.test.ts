// `ipvs apply`, `ipvs diff` and `ipvs export` end to end through runCli on the fake kernel: outputs,
// exit statuses (apply 0/1/2, diff 0/1/2 like diff(1)), files and standard input in both formats,
// --dry-run, --prune, --drain with a drain-state file, partial failure, and refused input. The words
// come from the real subcommand table (runCli's default).

import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { APPLY_OPTIONS, runApply } from '../../src/cli/apply.js';
import { DIFF_OPTIONS } from '../../src/cli/diff.js';
import type { CliContext, CliIpvs } from '../../src/cli/context.js';
import { staticResolver } from '../../src/rules/resolver.js';
import { runCli } from '../../src/cli/run.js';
import { stopSignal } from '../../src/cli/stop-signal.js';
import { Ipvs } from '../../src/client.js';
import * as cmd from '../../src/ipvs/commands.js';
import { IPVS_CMD_NEW_DEST, IPVS_CMD_SET_DEST, IP_VS_CONN_F_TUNNEL_TYPE_GRE } from '../../src/ipvs/constants.js';
import { validateDestinationSpec, validateServiceKey, validateServiceSpec } from '../../src/ipvs/validate.js';
import type { OutgoingRequest } from '../../src/netlink/index.js';
import { parseServicesFile } from '../../src/rules/service-names.js';
import { FakeKernel } from '../../src/testing/index.js';

const STATE = {
  services: [
    { protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'rr', destinations: [{ address: '192.168.1.116', weight: 2 }, { address: '192.168.1.117' }] },
    { fwmark: 10, destinations: [{ address: '192.168.1.118' }] },
  ],
};

const RULES = '-A -t 192.168.1.110:80 -s rr\n-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2\n-a -t 192.168.1.110:80 -r web2 -g -w 1\n-A -f 10 -s wlc\n-a -f 10 -r 192.168.1.118 -g -w 1\n';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let kernel: FakeKernel;
let dir: string;

async function run(line: string, stdin = ''): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(line.split(' ').filter((w) => w !== ''), {
    ipvs: async () => (await Ipvs.open({ transport: kernel.transport() })) as unknown as CliIpvs,
    stdin,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    resolver: staticResolver({ web2: '192.168.1.117' }, parseServicesFile('http 80/tcp\n')),
  });
  return { code, stdout, stderr };
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

beforeEach(() => {
  kernel = new FakeKernel();
  dir = mkdtempSync(join(tmpdir(), 'ipvs-reconcile-'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('ipvs apply', () => {
  it('applies a JSON state, then finds nothing to do', async () => {
    const f = file('state.json', JSON.stringify(STATE));
    expect(await run(`apply ${f}`)).toEqual({
      code: 0,
      stderr: '',
      stdout:
        '+ service tcp 192.168.1.110:80 (scheduler rr)\n' +
        '+ service fwmark 10 (scheduler wlc)\n' +
        '+ destination tcp 192.168.1.110:80 -> 192.168.1.116:80 (route, weight 2)\n' +
        '+ destination tcp 192.168.1.110:80 -> 192.168.1.117:80 (route, weight 1)\n' +
        '+ destination fwmark 10 -> 192.168.1.118:0 (route, weight 1)\n' +
        '# 5 of 5 changes applied\n',
    });
    expect(kernel.state().services).toHaveLength(2);
    expect(await run(`apply ${f}`)).toEqual({ code: 0, stderr: '', stdout: '# in sync: no changes\n' });
  });

  it('reads ipvsadm rules text from standard input, resolving host names', async () => {
    const r = await run('apply -', RULES);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('+ destination tcp 192.168.1.110:80 -> 192.168.1.117:80 (route, weight 1)');
    expect((await run(`diff ${file('s.json', JSON.stringify(STATE))}`)).code).toBe(0);
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const r = await run(`apply --dry-run ${file('state.json', JSON.stringify(STATE))}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\+ service tcp 192\.168\.1\.110:80 \(scheduler rr\)\n/);
    expect(r.stdout).toContain('# 5 changes: 5 to add, 0 to update, 0 to delete\n');
    expect(kernel.state().services).toEqual([]);
  });

  it('--prune deletes unlisted services; without it they are left alone', async () => {
    await run('apply -', RULES);
    const only = file('only.json', JSON.stringify({ services: [STATE.services[1]] }));
    const kept = await run(`apply ${only}`);
    expect(kept.stdout).toBe('# in sync: no changes\n');
    const diff = await run(`diff ${only}`);
    expect(diff).toEqual({ code: 0, stderr: '', stdout: '# left alone, not in the desired state (--prune deletes them): 1 service: tcp 192.168.1.110:80\n# in sync: no changes\n' });
    expect((await run(`diff --prune ${only}`)).code).toBe(1);
    const pruned = await run(`apply --prune ${only}`);
    expect(pruned.stdout).toBe('- service tcp 192.168.1.110:80: not in the desired state (its destinations go with it)\n# 1 of 1 change applied\n');
    expect(kernel.state().services).toHaveLength(1);
  });

  it('--drain quiesces, remembers when in --drain-state, and deletes later', async () => {
    await run('apply -', RULES);
    kernel.setStats({ address: '192.168.1.110', port: 80, destination: '192.168.1.117' }, { activeConns: 2 });
    const smaller = file('smaller.json', JSON.stringify({ services: [{ ...STATE.services[0], destinations: [{ address: '192.168.1.116', weight: 2 }] }, STATE.services[1]] }));
    const stateFile = join(dir, 'drain.json');
    const first = await run(`apply --drain=600 --drain-state ${stateFile} ${smaller}`);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^~ destination tcp 192\.168\.1\.110:80 -> 192\.168\.1\.117:80: drain: weight 1 -> 0 \(2 active, 0 inactive connections\)\n= destination tcp 192\.168\.1\.110:80 -> 192\.168\.1\.117:80: draining for 0 s/);
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, number>;
    expect(Object.keys(saved)).toEqual(['tcp 192.168.1.110:80 -> 192.168.1.117:80']);
    const pending = await run(`diff --drain=600 --drain-state ${stateFile} ${smaller}`);
    expect(pending.code).toBe(1);
    expect(pending.stdout).toContain('# 0 changes: 0 to add, 0 to update, 0 to delete; 1 destination draining\n');
    // Pretend draining began long ago: the timeout has passed.
    writeFileSync(stateFile, JSON.stringify({ 'tcp 192.168.1.110:80 -> 192.168.1.117:80': Date.now() - 601_000 }));
    const done = await run(`apply --drain=600 --drain-state=${stateFile} ${smaller}`);
    expect(done.stdout).toMatch(/^- destination tcp 192\.168\.1\.110:80 -> 192\.168\.1\.117:80: drain timed out after 601 s/);
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({});
    expect((await run(`diff --drain ${smaller}`)).code).toBe(0);
  });

  it('--drain whose weight-0 update fails: the summary counts no destination draining, as the drain-state file says', async () => {
    await run('apply -', RULES);
    kernel.setStats({ address: '192.168.1.110', port: 80, destination: '192.168.1.117' }, { activeConns: 2 });
    const smaller = file('smaller.json', JSON.stringify({ services: [{ ...STATE.services[0], destinations: [{ address: '192.168.1.116', weight: 2 }] }, STATE.services[1]] }));
    const stateFile = join(dir, 'drain.json');
    kernel.failNext(1, 'EIO', IPVS_CMD_SET_DEST);
    const failed = await run(`apply --drain --drain-state ${stateFile} ${smaller}`);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('# 0 of 1 change applied, 1 failed\n');
    expect(failed.stderr).toMatch(/^! ~ destination tcp 192\.168\.1\.110:80 -> 192\.168\.1\.117:80: drain: weight 1 -> 0 .*failed: .*\[EIO\]\n$/);
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({});
    // The next run begins the drain: now it is draining, and says so.
    const again = await run(`apply --drain --drain-state ${stateFile} ${smaller}`);
    expect(again.stdout).toMatch(/\n# 1 of 1 change applied; 1 destination draining\n$/);
  });

  it('exits 1 on partial failure, listing failures and what was not attempted', async () => {
    kernel.failNext(1, 'ENOMEM', IPVS_CMD_NEW_DEST);
    const f = file('state.json', JSON.stringify(STATE));
    const r = await run(`apply ${f}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^! \+ destination tcp 192\.168\.1\.110:80 -> 192\.168\.1\.116:80 \(route, weight 2\): failed: .*ENOMEM/);
    expect(r.stdout).toContain('# 4 of 5 changes applied, 1 failed\n');
    const again = await run(`apply ${f}`);
    expect(again).toEqual({ code: 0, stderr: '', stdout: '+ destination tcp 192.168.1.110:80 -> 192.168.1.116:80 (route, weight 2)\n# 1 of 1 change applied\n' });
  });

  it('-q prints failures only', async () => {
    const r = await run(`apply -q ${file('state.json', JSON.stringify(STATE))}`);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it.each([
    ['apply', /no state file given/],
    ['apply a b', /give one state file/],
    ['apply --force x', /unknown option --force/],
    ['apply --drain=soon x', /--drain=SECONDS needs a number/],
    ['apply --drain=30 x', /--drain=SECONDS needs --drain-state FILE/],
    ['apply --drain-state s.json x', /--drain-state goes with --drain/],
    // The file name forgotten: --dry-run was taken as the name, and the changes made for real.
    ['apply --drain --drain-state --dry-run x', /--drain-state needs a file name, not '--dry-run' \(for a file of that name: --drain-state=--dry-run, or \.\/--dry-run\)/],
    ['diff --drain --drain-state - x', /--drain-state needs a file name, not '-'/],
    ['apply --prune=yes x', /--prune takes no value/],
    ['diff --dry-run x', /unknown option --dry-run/],
  ])('refuses `%s` with status 2', async (line, message) => {
    const r = await run(line);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('Usage: ipvs ');
  });

  it('refuses an unreadable or invalid file with status 2, naming it', async () => {
    const missing = await run(`apply ${join(dir, 'nope.json')}`);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^ipvs apply: .*nope\.json: ENOENT/);
    const bad = await run(`apply ${file('bad.json', '{"services":[{"fwmark":1,"destinations":[{"address":"10.0.0.2","weight":-3}]}]}')}`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid services\[0\]\.destinations\[0\]\.weight -3/);
    // A refused IPv6 value (its colons once defeated the re-wording) is named once, at its path.
    const zone = await run(`apply ${file('zone.json', '{"services":[{"protocol":"tcp","address":"2001:db8::1","port":80,"destinations":[{"address":"fe80::1%eth0"}]}]}')}`);
    expect(zone).toMatchObject({
      code: 2,
      stderr: `ipvs apply: invalid services[0].destinations[0].address "fe80::1%eth0": a zone id (%eth0) cannot be given: IPVS carries none; give the address alone\n`,
    });
    const rules = await run('diff -', '-A -t 10.0.0.1:80\n-x\n');
    expect(rules.code).toBe(2);
    expect(rules.stderr).toMatch(/^ipvs diff: standard input: line 2: /);
    expect(kernel.requests.filter((r) => r.startsWith('IPVS_CMD_NEW'))).toEqual([]);
  });

  it('refuses an empty input (a failed `ipvsadm -S > file`), which with --prune would delete every service', async () => {
    await run('apply -', RULES);
    for (const [line, stdin] of [['apply --prune -', ''], ['apply --prune -', '\n# nothing yet\n  \n'], [`apply --prune ${file('empty.rules', '')}`, ''], ['diff --prune -', '']] as const) {
      const r = await run(line, stdin);
      expect(r.code, line).toBe(2);
      expect(r.stderr).toMatch(/: holds no rules and no JSON state \(for an empty table, write \{"services": \[\]\}\)\n$/);
    }
    expect(kernel.state().services).toHaveLength(2);
    // Said explicitly, an empty table is applied.
    expect((await run(`apply --prune ${file('none.json', '{"services": []}')}`)).code).toBe(0);
    expect(kernel.state().services).toEqual([]);
  });

  it('refuses a broken drain-state file with status 2, naming that file and not the state', async () => {
    const state = file('ok.json', JSON.stringify(STATE));
    const drains = file('drains.json', '{"tcp 10.0.0.1:80 -> 10.0.0.2:80": "yesterday"}');
    for (const command of ['apply', 'diff']) {
      const r = await run(`${command} --drain=60 --drain-state ${drains} ${state}`);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`ipvs ${command}: ${drains}: not a drain-state file (expected {"<service> -> <destination>": <ms since the epoch>, ...})\n`);
    }
    expect(kernel.requests.filter((r) => r.startsWith('IPVS_CMD_NEW'))).toEqual([]);
  });

  it('--help prints the usage', async () => {
    expect((await run('apply --help')).stdout).toMatch(/^Usage: ipvs apply /);
    expect((await run('diff -h')).stdout).toMatch(/^Usage: ipvs diff /);
    expect((await run('export --help')).stdout).toMatch(/^Usage: ipvs export/);
    expect((await run('export --help')).stdout).toMatch(/apply refuses is written as reported, and named in a warning on standard error/);
  });

  it("docs/reconcile.md's sample output is what ipvs diff --drain prints for the table it describes", async () => {
    const doc = readFileSync(new URL('../../docs/reconcile.md', import.meta.url), 'utf8');
    const sample = /^Output: one line per change[\s\S]*?^```\n([\s\S]*?)^```/m.exec(doc)?.[1];
    // The table behind it: .116 at weight 2, .117 idle, .120 quiesced 12 s ago with 3 connections, a UDP service unlisted.
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const web = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
    await ipvs.addService({ ...web, scheduler: 'rr' });
    await ipvs.addDestination(web, { address: '192.168.1.116', weight: 2 });
    await ipvs.addDestination(web, { address: '192.168.1.117' });
    await ipvs.addDestination(web, { address: '192.168.1.120', weight: 0 });
    await ipvs.addService({ protocol: 'udp', address: '192.168.1.110', port: 53 });
    await ipvs.close();
    kernel.setStats({ ...web, destination: '192.168.1.120' }, { activeConns: 3 });
    const state = file('state.json', JSON.stringify({ services: [{ ...web, scheduler: 'wrr', destinations: [{ address: '192.168.1.116', weight: 5 }, { address: '192.168.1.119' }] }] }));
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(1_732_512_345_678);
      const drains = file('drains.json', JSON.stringify({ 'tcp 192.168.1.110:80 -> 192.168.1.120:80': Date.now() - 12_000 }));
      expect(await run(`diff --drain --drain-state ${drains} ${state}`)).toEqual({ code: 1, stdout: sample, stderr: '' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('--help names every option the command takes in its synopsis (diff -q was missing)', async () => {
    for (const [command, options] of [['apply', APPLY_OPTIONS], ['diff', DIFF_OPTIONS]] as const) {
      const usage = (await run(`${command} --help`)).stdout;
      for (const option of options) if (option !== '--help') expect(usage, `${command} ${option}`).toContain(option === '--quiet' ? '[-q]' : `[${option}`);
    }
  });
});

describe('ipvs apply, interrupted', () => {
  /** runApply with its own signal, aborted (as Ctrl-C would) once the first execute() call is answered. */
  async function interrupted(argv: string[], abortFirst = false): Promise<Run> {
    let stdout = '';
    let stderr = '';
    const controller = new AbortController();
    if (abortFirst) controller.abort();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const execute = ipvs.execute.bind(ipvs);
    ipvs.execute = async (...args) => {
      const results = await execute(...args);
      controller.abort();
      return results;
    };
    const ctx: CliContext = {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      stdin: undefined,
      resolver: staticResolver({}),
      procConnPath: '/nonexistent',
      programName: 'ipvs',
      ipvs: async () => ipvs as unknown as CliIpvs,
    };
    const code = await runApply(argv, ctx, { signal: controller.signal });
    return { code, stdout, stderr };
  }

  it('sends nothing more, reports what was applied and what was not sent, writes the drain state, exits 1', async () => {
    const f = file('state.json', JSON.stringify(STATE));
    const drainFile = join(dir, 'drain.json');
    const r = await interrupted(['--drain', '--drain-state', drainFile, f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('+ service tcp 192.168.1.110:80 (scheduler rr)\n+ service fwmark 10 (scheduler wlc)\n# 2 of 5 changes applied, 3 not attempted\n');
    expect(r.stderr.split('\n').filter((l) => l.startsWith('? '))).toHaveLength(3);
    expect(r.stderr).toContain('? + destination tcp 192.168.1.110:80 -> 192.168.1.116:80 (route, weight 2): not attempted: aborted before it was sent\n');
    expect(r.stderr).toMatch(/ipvs apply: interrupted; run it again to converge\n$/);
    expect(existsSync(drainFile)).toBe(true);
    expect(kernel.state().services.map((s) => s.destinations.length)).toEqual([0, 0]);
    const again = await run(`apply ${f}`);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/# 3 of 3 changes applied\n$/);
  });

  it('before anything is sent: every change not attempted, the kernel untouched, exit 1', async () => {
    const r = await interrupted([file('state.json', JSON.stringify(STATE))], true);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('# 0 of 5 changes applied, 5 not attempted\n');
    expect(r.stderr.split('\n').filter((l) => l.endsWith(': not attempted: aborted before it was sent'))).toHaveLength(5);
    expect(r.stderr).toMatch(/ipvs apply: interrupted; run it again to converge\n$/);
    expect(kernel.state().services).toEqual([]);
  });

  it('--dry-run and a run with nothing to send report no interruption', async () => {
    const f = file('state.json', JSON.stringify(STATE));
    expect((await interrupted(['--dry-run', f], true)).stderr).toBe('');
    await run(`apply ${f}`);
    expect(await interrupted([f], true)).toEqual({ code: 0, stdout: '# in sync: no changes\n', stderr: '' });
  });

  it('through runCli, the handler apply installs stops it once changes go out', async () => {
    const f = file('state.json', JSON.stringify(STATE));
    const before = process.listenerCount('SIGINT');
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const execute = ipvs.execute.bind(ipvs);
    let listening = -1;
    ipvs.execute = async (...args) => {
      const results = await execute(...args);
      if (listening < 0) {
        listening = process.listenerCount('SIGINT');
        // What Ctrl-C would do, without signalling the test runner: call the newest SIGINT listener, apply's own.
        (process.listeners('SIGINT').at(-1) as () => void)();
      }
      return results;
    };
    let stdout = '';
    let stderr = '';
    const code = await runCli(['apply', f], {
      ipvs: async () => ipvs as unknown as CliIpvs,
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      resolver: staticResolver({}),
    });
    expect(listening).toBe(before + 1);
    expect(code).toBe(1);
    expect(stdout).toBe('+ service tcp 192.168.1.110:80 (scheduler rr)\n+ service fwmark 10 (scheduler wlc)\n# 2 of 5 changes applied, 3 not attempted\n');
    expect(stderr).toMatch(/ipvs apply: interrupted; run it again to converge\n$/);
    expect(process.listenerCount('SIGINT')).toBe(before);
  });

  it('through runCli, a SIGTERM in the same turn as the Ctrl-C is not lost: it ends the process', async () => {
    const f = file('state.json', JSON.stringify(STATE));
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')] as const;
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const execute = ipvs.execute.bind(ipvs);
    let signalled = false;
    ipvs.execute = async (...args) => {
      const results = await execute(...args);
      if (!signalled) {
        signalled = true;
        // Both signals in one turn of the event loop: libuv calls, for each, the listeners still registered then.
        for (const l of process.listeners('SIGINT').slice(before[0])) (l as () => void)();
        for (const l of process.listeners('SIGTERM').slice(before[1])) (l as () => void)();
      }
      return results;
    };
    try {
      await runCli(['apply', f], {
        ipvs: async () => ipvs as unknown as CliIpvs,
        stdout: { write: () => true },
        stderr: { write: () => true },
        resolver: staticResolver({}),
      });
      expect(kill.mock.calls).toEqual([[process.pid, 'SIGTERM']]);
      expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
    } finally {
      kill.mockRestore();
    }
  });

  it('listens to SIGINT and SIGTERM only while it runs', async () => {
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const stop = stopSignal();
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual([before[0]! + 1, before[1]! + 1]);
    const onInt = process.listeners('SIGINT').at(-1) as () => void;
    onInt();
    expect(stop.signal.aborted).toBe(true);
    stop.dispose();
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
    expect((await run(`apply ${file('state.json', JSON.stringify(STATE))}`)).code).toBe(0);
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
  });
});

describe('ipvs diff', () => {
  it('exits 1 with the changes pending, 0 once in sync', async () => {
    await run('apply -', RULES);
    const changed = file('changed.json', JSON.stringify({
      services: [
        { ...STATE.services[0], scheduler: 'wrr', destinations: [{ address: '192.168.1.116', weight: 5 }, { address: '192.168.1.119' }] },
        STATE.services[1],
      ],
    }));
    const d = await run(`diff ${changed}`);
    expect(d).toEqual({
      code: 1,
      stderr: '',
      stdout:
        '~ service tcp 192.168.1.110:80: scheduler rr -> wrr\n' +
        '~ destination tcp 192.168.1.110:80 -> 192.168.1.116:80: weight 2 -> 5\n' +
        '+ destination tcp 192.168.1.110:80 -> 192.168.1.119:80 (route, weight 1)\n' +
        '- destination tcp 192.168.1.110:80 -> 192.168.1.117:80: not in the desired state\n' +
        '# 4 changes: 1 to add, 2 to update, 1 to delete\n',
    });
    expect((await run(`diff -q ${changed}`)).stdout).toBe('');
    await run(`apply ${changed}`);
    expect(await run(`diff ${changed}`)).toEqual({ code: 0, stderr: '', stdout: '# in sync: no changes\n' });
  });

  it('exits 2 when the kernel cannot be read', async () => {
    kernel.setUnprivileged(true);
    const r = await run(`diff ${file('s.json', JSON.stringify(STATE))}`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ipvs diff: .*CAP_NET_ADMIN/);
  });
});

describe('ipvs export', () => {
  it('prints the table as a state that apply and diff accept unchanged', async () => {
    await run('apply -', RULES);
    const e = await run('export');
    expect(e.code).toBe(0);
    const parsed = JSON.parse(e.stdout) as { services: unknown[] };
    expect(parsed.services).toHaveLength(2);
    expect(e.stdout).toMatch(/^\{\n {2}"services": \[/);
    const f = file('exported.json', e.stdout);
    expect((await run(`diff ${f}`)).code).toBe(0);
    expect((await run('export --compact')).stdout).toBe(JSON.stringify(parsed) + '\n');
    expect(e.stderr).toBe('');
    expect(existsSync(f)).toBe(true);
  });

  it('warns on standard error of each value apply would refuse (Linux keeps them), the export itself unchanged', async () => {
    await run('apply -', RULES);
    // As raw netlink or another tool sets them: a gre tunnel with remcsum, and a persistence timeout of 0.
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const raw = ipvs as unknown as { run(make: (fam: cmd.IpvsFamily) => OutgoingRequest): Promise<unknown> };
    const web = validateServiceKey({ protocol: 'tcp', address: '192.168.1.110', port: 80 });
    const gre = validateDestinationSpec(web, { address: '192.168.1.120', forwarding: 'tunnel', tunnel: { type: 'gue', port: 5555, checksum: 'remcsum' } });
    gre.tunType = IP_VS_CONN_F_TUNNEL_TYPE_GRE;
    gre.tunPort = 0;
    await raw.run((fam) => cmd.newDest(fam, web, gre));
    await raw.run((fam) => cmd.newService(fam, { ...validateServiceSpec({ protocol: 'udp', address: '192.168.1.110', port: 53, persistence: true }), timeout: 0 }));
    await ipvs.close();
    const e = await run('export --compact');
    expect(e.code).toBe(0);
    const state = JSON.parse(e.stdout) as { services: Array<{ persistence?: unknown; destinations: Array<{ address: string; tunnel?: unknown }> }> };
    expect(state.services[0]!.destinations.find((d) => d.address === '192.168.1.120')?.tunnel).toEqual({ type: 'gre', checksum: 'remcsum' });
    expect(state.services[1]!.persistence).toEqual({ timeout: 0 });
    expect(e.stderr).toBe(
      'ipvs export: warning: `ipvs apply` refuses this state as it is (values Linux keeps that it does not take as input):\n' +
        `  invalid services[0].destinations[2].tunnel.checksum "remcsum": remcsum applies to gue tunnels only; a gre tunnel takes 'nocsum' or 'csum'\n` +
        '  invalid services[1].persistence.timeout 0: must be an integer 1..2678400\n',
    );
    const refused = await run(`apply ${file('exported.json', e.stdout)}`);
    expect(refused.code).toBe(2);
    expect((await run('export')).stderr).toBe(e.stderr);
  });

  it('lists at most 20 entries apply would refuse, and counts the rest', async () => {
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const raw = ipvs as unknown as { run(make: (fam: cmd.IpvsFamily) => OutgoingRequest): Promise<unknown> };
    for (let i = 0; i < 23; i++) {
      await raw.run((fam) => cmd.newService(fam, { ...validateServiceSpec({ protocol: 'tcp', address: `10.0.0.${i + 1}`, port: 80, persistence: true }), timeout: 0 }));
    }
    await ipvs.close();
    const e = await run('export --compact');
    expect(e.code).toBe(0);
    const lines = e.stderr.split('\n');
    expect(lines.filter((l) => l.startsWith('  invalid services['))).toHaveLength(20);
    expect(lines.slice(-2)).toEqual(['  ... and 3 more', '']);
  });

  it('refuses unknown arguments', async () => {
    const r = await run('export --yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown argument --yaml/);
  });
});
