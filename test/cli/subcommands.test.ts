// The words wired in SUBCOMMANDS (src/cli/subcommands.ts), run through runCli with its default table on
// the fake kernel, as `ipvs WORD ...` runs them: `-h` and an unknown word list them; apply, diff and
// export each with their exit statuses and output; and for each, the errors for a bad file or bad
// arguments (status 2, the file named, nothing sent to the kernel). test/reconcile/cli.test.ts covers
// the options of apply/diff/export in depth; this file proves the wiring and the edges.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SUBCOMMANDS } from '../../src/cli/subcommands.js';
import { IPVS_CMD_NEW_SERVICE } from '../../src/ipvs/constants.js';
import { CliHarness } from './harness.js';

const STATE = {
  services: [
    { protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'rr', destinations: [{ address: '192.168.1.116', weight: 2 }, { address: '192.168.1.117' }] },
    { fwmark: 10, persistence: { timeout: 60 }, destinations: [{ address: '192.168.1.118' }] },
  ],
};

const SAVED = [
  '-A -t 192.168.1.110:80 -s rr',
  '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2',
  '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g -w 1',
  '-A -f 10 -s wlc -p 60',
  '-a -f 10 -r 192.168.1.118:0 -g -w 1',
  '',
].join('\n');

const changes = (h: CliHarness): string[] => h.fake.requests.filter((r) => /NEW|SET|DEL/.test(r));

let dir: string;
let h: CliHarness;

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipvs-subcommands-'));
  h = new CliHarness();
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the subcommand table', () => {
  it('holds apply, diff, export and health', () => {
    expect(Object.keys(SUBCOMMANDS).sort()).toEqual(['apply', 'diff', 'export', 'health']);
  });

  it('`ipvs -h` lists them after the ipvsadm usage, aligned', async () => {
    for (const flag of ['-h', '--help']) {
      const r = await h.run(flag);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const tail = r.stdout.slice(r.stdout.indexOf('\nOther commands:\n'));
      expect(tail).toBe(
        '\nOther commands:\n' +
          '  ipvs apply   FILE    make the table hold the desired state in FILE (JSON or rules text)\n' +
          '  ipvs diff    FILE    show what apply FILE would change (exit 0 in sync, 1 changes pending)\n' +
          '  ipvs export          print the table as a desired state in JSON\n' +
          '  ipvs health  CONFIG  keep real servers healthy from a JSON config until SIGINT/SIGTERM\n' +
          'Each takes --help for its own options (ipvs apply --help).\n',
      );
    }
    expect(h.opened).toBe(0);
  });

  it('an unknown word prints the usage and the words on standard error, status 2', async () => {
    const r = await h.run('aply state.json');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ipvs: unknown command 'aply'\n/);
    for (const word of ['apply', 'diff', 'export', 'health']) expect(r.stderr).toContain(`  ipvs ${word} `);
    expect(h.opened).toBe(0);
  });
});

describe('ipvs apply', () => {
  it('applies a JSON file (exit 0, one line per change), then changes nothing the second time', async () => {
    const path = file('state.json', JSON.stringify(STATE));
    const first = await h.run(['apply', path]);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain('+ service tcp 192.168.1.110:80');
    expect(first.stdout).toContain('+ destination tcp 192.168.1.110:80 -> 192.168.1.116:80');
    expect(first.stdout.trimEnd().split('\n').at(-1)).toBe('# 5 of 5 changes applied');
    expect(await h.save()).toBe(SAVED);
    const before = changes(h).length;
    const second = await h.run(['apply', path]);
    expect(second).toEqual({ code: 0, stdout: '# in sync: no changes\n', stderr: '' });
    expect(changes(h).length).toBe(before);
    expect(h.closed).toBe(h.opened);
  });

  it('applies ipvsadm rules text read from standard input', async () => {
    const r = await h.run(['apply', '-'], SAVED);
    expect(r.code).toBe(0);
    expect(await h.save()).toBe(SAVED);
  });

  it('--dry-run prints the plan, exits 0 and sends no change', async () => {
    const r = await h.run(['apply', '--dry-run', file('s.json', JSON.stringify(STATE))]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('# 5 changes: 5 to add, 0 to update, 0 to delete');
    expect(changes(h)).toEqual([]);
  });

  it('exits 1 when a change fails, with the failure and what was not attempted on standard error; a re-run converges', async () => {
    const path = file('state.json', JSON.stringify(STATE));
    h.fake.failNext(1, 'ENOMEM', IPVS_CMD_NEW_SERVICE);
    const r = await h.run(['apply', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^! \+ service tcp 192\.168\.1\.110:80 .*: failed: /m);
    expect(r.stderr).toMatch(/^\? \+ destination tcp 192\.168\.1\.110:80 -> 192\.168\.1\.116:80 .*: not attempted: depends on add-service/m);
    expect(r.stdout).toContain('# 2 of 5 changes applied, 1 failed, 2 not attempted');
    const again = await h.run(['apply', path]);
    expect(again.code).toBe(0);
    expect(await h.save()).toBe(SAVED);
  });

  it('a bad file: status 2, the file named, nothing sent', async () => {
    const cases: [string[], RegExp][] = [
      [['apply', join(dir, 'missing.json')], /^ipvs apply: .*missing\.json: .*ENOENT/],
      [['apply', file('broken.json', '{"services": [')], /^ipvs apply: .*broken\.json: /],
      [['apply', file('typo.json', '{"services":[{"protocol":"tcp","address":"10.0.0.1","port":80,"destinations":[{"address":"10.0.0.2","wieght":2}]}]}')], /services\[0\]\.destinations\[0\]\.wieght/],
      [['apply', file('weight.json', '{"services":[{"protocol":"tcp","address":"10.0.0.1","port":80,"destinations":[{"address":"10.0.0.2","weight":-1}]}]}')], /services\[0\]\.destinations\[0\]\.weight/],
      [['apply', file('rules.txt', '-A -t 10.0.0.1:80\n-a -t 10.0.0.9:80 -r 10.0.0.2\n')], /^ipvs apply: .*rules\.txt: .*line 2/],
    ];
    for (const [argv, message] of cases) {
      const r = await h.run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
    }
    expect(changes(h)).toEqual([]);
  });

  it('usage errors: status 2 with the usage; --help: status 0', async () => {
    for (const argv of [['apply'], ['apply', 'a.json', 'b.json'], ['apply', '--frobnicate', 'a.json'], ['apply', '--drain=soon', 'a.json']]) {
      const r = await h.run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toContain('Usage: ipvs apply');
    }
    const help = await h.run(['apply', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: ipvs apply /);
    expect(h.opened).toBe(0);
  });
});

describe('ipvs diff', () => {
  it('exits 1 with the pending changes, 0 once in sync, and changes nothing', async () => {
    const path = file('state.json', JSON.stringify(STATE));
    const pending = await h.run(['diff', path]);
    expect(pending.code).toBe(1);
    expect(pending.stdout).toContain('+ service tcp 192.168.1.110:80');
    expect(pending.stdout).toContain('# 5 changes: 5 to add, 0 to update, 0 to delete');
    expect(changes(h)).toEqual([]);
    await h.run(['apply', path]);
    expect(await h.run(['diff', path])).toEqual({ code: 0, stdout: '# in sync: no changes\n', stderr: '' });
    const s = structuredClone(STATE);
    s.services[0]!.destinations[1]!.address = '192.168.1.119';
    const changed = await h.run(['diff', file('changed.json', JSON.stringify(s))]);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toContain('+ destination tcp 192.168.1.110:80 -> 192.168.1.119:80');
    expect(changed.stdout).toContain('- destination tcp 192.168.1.110:80 -> 192.168.1.117:80: not in the desired state');
  });

  it('a bad file or bad arguments: status 2, nothing read from the kernel', async () => {
    for (const argv of [['diff', join(dir, 'missing.json')], ['diff', file('bad.json', '{"services": 3}')], ['diff'], ['diff', '--dry-run', 'x.json']]) {
      const r = await h.run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^ipvs diff: /);
    }
    expect(h.fake.requests.filter((r) => r.startsWith('IPVS_'))).toEqual([]);
  });
});

describe('ipvs export', () => {
  it('prints the table as JSON that apply and diff accept unchanged', async () => {
    await h.run(['apply', '-'], SAVED);
    const r = await h.run(['export']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const exported = JSON.parse(r.stdout) as { services: unknown[] };
    expect(exported.services).toHaveLength(2);
    expect(r.stdout).toContain('\n  "services": [\n');
    const compact = await h.run(['export', '--compact']);
    expect(compact.stdout).toBe(JSON.stringify(exported) + '\n');
    const path = file('exported.json', r.stdout);
    expect((await h.run(['diff', path])).code).toBe(0);
    const before = changes(h).length;
    expect((await h.run(['apply', path])).stdout).toBe('# in sync: no changes\n');
    expect(changes(h).length).toBe(before);
  });

  it('an empty table exports as no services', async () => {
    expect(await h.run(['export', '--compact'])).toEqual({ code: 0, stdout: '{"services":[]}\n', stderr: '' });
  });

  it('a kernel without IPVS: the table cannot be read, status 1 (2 is usage only)', async () => {
    h.fake.setFamilyMissing(true);
    expect(await h.run(['export'])).toEqual({
      code: 1,
      stdout: '',
      stderr: "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n",
    });
  });

  it('unknown arguments: status 2 with the usage; --help: status 0', async () => {
    const r = await h.run(['export', 'state.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ipvs export: unknown argument state\.json\nUsage: ipvs export/);
    expect((await h.run(['export', '-h'])).code).toBe(0);
    expect(h.opened).toBe(0);
  });
});

describe('ipvs health', () => {
  const CONFIG = { services: [{ protocol: 'tcp', address: '192.168.1.110', port: 80, destinations: [{ address: '192.168.1.116' }] }] };

  it('--check-config reads the config, prints what would be checked and sends nothing', async () => {
    const path = file('health.json', JSON.stringify(CONFIG));
    const r = await h.run(['health', '--check-config', path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('tcp 192.168.1.110:80: checking 1 real server');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(`${path}: valid`);
    expect(h.opened).toBe(0);
  });

  it('a bad config or bad arguments: status 2', async () => {
    const cases: [string[], RegExp][] = [
      [['health', join(dir, 'missing.json')], /^ipvs health: .*missing\.json: /],
      [['health', file('bad.json', '{"services": [{"protocol": "tcp"}]}')], /^ipvs health: .*bad\.json: /],
      [['health', file('broken.json', '{')], /^ipvs health: .*broken\.json: /],
      [['health'], /^ipvs health: a CONFIG file is needed/],
      [['health', '--frobnicate', 'x.json'], /^ipvs health: unknown option --frobnicate/],
    ];
    for (const [argv, message] of cases) {
      const r = await h.run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(h.opened).toBe(0);
    const help = await h.run(['health', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: ipvs health /);
  });
});
