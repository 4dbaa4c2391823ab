// Every example in examples/ run against the fake kernel: each exports main(ipvs, options) (and
// cleanup) beside the few lines that open the real kernel when it runs as a program, so these tests
// import main and hand it a client on a FakeKernel. The examples import from 'ipvs' (the package's
// self-reference, dist/ after a build); here 'ipvs' is the source, so no build is needed. The firewall
// commands of the fwmark example are recorded, not run. test/kernel/examples.kernel.test.ts runs the same
// files as real processes on the real kernel, against the built package.

import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { getEventListeners } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { ManualScheduler } from '../../src/health/index.js';
import { FakeKernel } from '../../src/testing/index.js';
import { addForeignServices, GRE_AND_ESP } from '../helpers/foreign-service.js';

// The examples import the package by name; here 'ipvs' is the source entry, so a name the entry lacks fails below.
const NOT_YET_EXPORTED: string[] = [];

vi.mock('ipvs', async () => await import('../../src/index.js'));

// The examples are plain JavaScript with no declarations: load them as modules of unknown shape.
type Fn = (...args: unknown[]) => Promise<unknown>;
interface Example {
  main: Fn;
  cleanup?: Fn;
  parseOptions: (argv: string[], env?: Record<string, string>) => Record<string, unknown>;
  [name: string]: unknown;
}
const load = async (name: string): Promise<Example> => (await import(new URL(`../../examples/${name}.js`, import.meta.url).href)) as Example;

let kernel: FakeKernel;
let ipvs: Ipvs;
let lines: string[];
const log = (line: string): void => void lines.push(line);

beforeEach(async () => {
  kernel = new FakeKernel();
  ipvs = await Ipvs.open({ transport: kernel.transport() });
  lines = [];
});
afterEach(async () => {
  await ipvs.close();
});

/** The table as ipvsadm -Sn would summarise it: service line, then its destinations. */
async function table(): Promise<string[]> {
  const out: string[] = [];
  const services = (await ipvs.services()).sort((a, b) => (a.port ?? 0) - (b.port ?? 0));
  for (const s of services) {
    const name = s.fwmark !== undefined ? `fwmark ${s.fwmark}` : `${s.protocol} ${s.address}:${s.port}`;
    out.push(`${name} ${s.scheduler}${s.persistence ? ` persistent ${s.persistence.timeout}` : ''}`);
    const dests = await ipvs.destinations(s.fwmark !== undefined ? { fwmark: s.fwmark } : { protocol: s.protocol, address: s.address, port: s.port });
    out.push(...dests.map((d) => `  -> ${d.address}:${d.port} ${d.forwarding} ${d.weight}`).sort());
  }
  return out;
}

describe('every example', () => {
  const dir = new URL('../../examples/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.js'));

  it('imports only from node: modules, the package by its name and the shared program.js; never from src/ or dist/', () => {
    expect(files.sort()).toEqual(['custom-balancer.js', 'fwmark.js', 'health-check.js', 'pcc.js', 'ppc.js', 'program.js', 'stats.js']);
    for (const f of files) {
      const from = [...readFileSync(new URL(f, dir), 'utf8').matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]!);
      for (const m of from.filter((m) => !m.startsWith('node:'))) expect(['ipvs', './program.js'], f).toContain(m);
    }
  });

  it('every name an example imports from ipvs is exported by the package entry (src/index.ts)', async () => {
    const entry = await vi.importActual<Record<string, unknown>>('../../src/index.js');
    const missing = new Set<string>();
    for (const f of files) {
      const text = readFileSync(new URL(f, dir), 'utf8');
      for (const m of text.matchAll(/^import \{([^}]+)\} from 'ipvs';$/gm)) {
        for (const name of m[1]!.split(',').map((n) => n.trim()).filter(Boolean)) if (!(name in entry)) missing.add(name);
      }
    }
    expect([...missing].sort()).toEqual(NOT_YET_EXPORTED);
  });

  it('runs as a program only when started as one (importing it has no effect)', async () => {
    const before = kernel.requests.length;
    for (const f of files) await load(f.replace(/\.js$/, '')); // would open the real kernel (and fail here) if it ran
    expect(kernel.requests.length).toBe(before);
  });
});

describe('program.js', () => {
  it('a long-running example: the first SIGINT or SIGTERM aborts, a second of either kind (same turn or later) kills the process with it', async () => {
    const { abortOnSignals } = (await load('program')) as unknown as { abortOnSignals: (c: AbortController) => () => void };
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const listeners = (): number => process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');
    const before = listeners();
    try {
      for (const [first, second] of [['SIGINT', 'SIGTERM'], ['SIGINT', 'SIGINT'], ['SIGTERM', 'SIGINT']] as const) {
        const stop = new AbortController();
        const dispose = abortOnSignals(stop);
        // As libuv delivers two signals of one turn: both listeners called before anything else runs.
        process.emit(first);
        process.emit(second);
        expect(stop.signal.aborted).toBe(true);
        expect(kill).toHaveBeenLastCalledWith(process.pid, second);
        expect(listeners()).toBe(before);
        dispose();
      }
      const stop = new AbortController();
      const dispose = abortOnSignals(stop);
      process.emit('SIGTERM');
      expect(stop.signal.aborted).toBe(true);
      expect(kill).toHaveBeenCalledTimes(3);
      dispose();
      expect(listeners()).toBe(before);
    } finally {
      kill.mockRestore();
    }
  });
});

describe('--help', () => {
  const dir = new URL('../../examples/', import.meta.url);
  const examples = readdirSync(dir).filter((f) => f.endsWith('.js') && f !== 'program.js').sort();

  // As programs (the package by its name: the built dist/, as in test/package-require.test.ts): no kernel is opened.
  it.each(examples)('%s prints its usage and exits 0 on --help and -h, whatever else is given, and takes -- --help as no option', (file) => {
    const path = fileURLToPath(new URL(file, dir));
    const run = (...args: string[]) => spawnSync(process.execPath, [path, ...args], { encoding: 'utf8', timeout: 20_000 });
    const help = run('--help');
    expect({ status: help.status, stderr: help.stderr }).toEqual({ status: 0, stderr: '' });
    expect(help.stdout).toMatch(new RegExp(`^Usage: sudo node examples/${file.replace('.', '\\.')} \\[options\\]\n`));
    expect(help.stdout).toMatch(/\n {2}-h, --help {13}print this and exit\n$/);
    for (const args of [['-h'], ['--bogus', '--help']]) {
      const r = run(...args);
      expect({ args, status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ args, status: 0, stdout: help.stdout, stderr: '' });
    }
    const after = run('--', '--help');
    expect(after.status).toBe(1);
    expect(after.stderr).toMatch(new RegExp(`^examples/${file}: `));
  }, 60_000);

  it.each(examples)('the usage of %s names every option it takes, and the environment variables it reads, and nothing else', async (file) => {
    const text = readFileSync(new URL(file, dir), 'utf8');
    const { usage } = (await load(file.replace(/\.js$/, ''))) as unknown as { usage: string };
    const block = /parseArgs\(\{[\s\S]*?\n\s*\}\);|parseArgs\(\{[^\n]*\}\)/.exec(text.slice(text.indexOf('export function parseOptions')))![0];
    const taken = [...block.matchAll(/'?([a-z][a-z-]*)'?: \{ type: '(?:string|boolean)'/g)].map((m) => `--${m[1]}`).sort();
    const listed = [...new Set([...usage.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)].map((m) => `--${m[1]}`))].filter((o) => o !== '--help').sort();
    expect(listed).toEqual(taken);
    const env = [...new Set([...block.matchAll(/env\.([A-Z_]+)/g)].map((m) => m[1]!))];
    for (const name of env) expect(usage).toContain(`$${name}`);
  });

  it('wantsHelp: --help or -h anywhere before a --', async () => {
    const { wantsHelp } = (await load('program')) as unknown as { wantsHelp: (argv: string[]) => boolean };
    expect([['--help'], ['-h'], ['--vip', '10.0.0.1', '-h'], [], ['--', '--help'], ['--vip', '10.0.0.1'], ['-hx'], ['--helpme']].map(wantsHelp)).toEqual([
      true, true, true, false, false, false, false, false,
    ]);
  });
});

describe('pcc.js', () => {
  it("builds the seed's port-0 persistent service, replaces it when run again, and cleans up", async () => {
    const ex = await load('pcc');
    const options = ex.parseOptions([]);
    expect(options).toMatchObject({ vip: '192.168.1.110', servers: ['192.168.1.116', '192.168.1.117'], timeout: 600, forwarding: 'route' });
    await ex.main(ipvs, options, log);
    const expected = ['tcp 192.168.1.110:0 rr persistent 600', '  -> 192.168.1.116:0 route 1', '  -> 192.168.1.117:0 route 1'];
    expect(await table()).toEqual(expected);
    expect(lines.join('\n')).toContain('Persistent client connections (PCC) on 192.168.1.110, every TCP port');
    await ex.main(ipvs, options, log);
    expect(await table()).toEqual(expected);
    await ex.cleanup!(ipvs, options, log);
    expect(await table()).toEqual([]);
  });

  it('takes addresses from arguments and the environment', async () => {
    const ex = await load('pcc');
    expect(ex.parseOptions(['--vip', '10.9.1.101', '--forwarding', 'masq'], { REAL_SERVERS: '10.9.2.11,10.9.2.12' })).toMatchObject({
      vip: '10.9.1.101', forwarding: 'masq', servers: ['10.9.2.11', '10.9.2.12'],
    });
  });
  it('refuses a bad option before it changes anything: no empty persistent service', async () => {
    const ex = await load('pcc');
    await expect(ex.main(ipvs, ex.parseOptions(['--forwarding', 'bogus']), log)).rejects.toThrow(/forwarding "bogus"/);
    expect(await table()).toEqual([]);
    await ex.main(ipvs, ex.parseOptions([]), log);
    const before = await table();
    await expect(ex.main(ipvs, ex.parseOptions(['--forwarding', 'bogus']), log)).rejects.toThrow(/forwarding "bogus"/);
    expect(await table()).toEqual(before); // the one in place is not deleted either
  });
});

describe('ppc.js', () => {
  it('builds one persistent service per port', async () => {
    const ex = await load('ppc');
    const options = ex.parseOptions([]);
    await ex.main(ipvs, options, log);
    expect(await table()).toEqual([
      'tcp 192.168.1.110:80 rr persistent 600', '  -> 192.168.1.116:80 route 1', '  -> 192.168.1.117:80 route 1',
      'tcp 192.168.1.110:443 rr persistent 600', '  -> 192.168.1.116:443 route 1', '  -> 192.168.1.117:443 route 1',
    ]);
    await ex.main(ipvs, options, log); // again: replaced, not refused
    expect(await table()).toHaveLength(6);
    await ex.cleanup!(ipvs, options, log);
    expect(await table()).toEqual([]);
  });
});

/** iptables as far as fwmark.js uses it: -A appends, -C checks, -D deletes one copy (failing when there is none). */
function fakeIptables(fail?: string) {
  const rules: string[] = [];
  const ran: string[] = [];
  const exec = async (cmd: string, args: string[]): Promise<void> => {
    ran.push([cmd, ...args].join(' '));
    if (fail !== undefined) throw Object.assign(new Error(`Command failed: ${cmd}`), { stderr: fail });
    const at = args.findIndex((a) => a === '-A' || a === '-C' || a === '-D');
    const rule = args.filter((_, i) => i !== at).join(' ');
    const k = rules.indexOf(rule);
    if (args[at] === '-A') rules.push(rule);
    else if (k < 0) throw Object.assign(new Error(`Command failed: ${cmd}`), { stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).' });
    else if (args[at] === '-D') rules.splice(k, 1);
  };
  return { rules, ran, exec };
}

describe('fwmark.js', () => {
  const rule = '-t mangle PREROUTING -d 192.168.1.110 -p tcp -m multiport --dports 80,443 -j MARK --set-mark 10';
  const command = (flag: string) => `iptables-legacy -t mangle ${flag} PREROUTING -d 192.168.1.110 -p tcp -m multiport --dports 80,443 -j MARK --set-mark 10`;

  it('builds the fwmark service and marks both ports with one firewall rule, once however often it runs; cleanup removes every copy', async () => {
    const ex = await load('fwmark');
    const fw = fakeIptables();
    const options = ex.parseOptions(['--marker', 'iptables-legacy']);
    await ex.main(ipvs, options, log, fw.exec);
    const expected = ['fwmark 10 rr persistent 60', '  -> 192.168.1.116:0 route 1', '  -> 192.168.1.117:0 route 1'];
    expect(await table()).toEqual(expected);
    expect(fw.ran).toEqual([command('-C'), command('-A')]);
    expect(fw.rules).toEqual([rule]);
    await ex.main(ipvs, options, log, fw.exec); // again: the service replaced, the rule found in place
    expect(await table()).toEqual(expected);
    expect(fw.rules).toEqual([rule]);
    expect(lines).toContain(`  already there: ${command('-A')}`);
    fw.rules.push(rule); // a copy left by an older version of the example, which appended one per run
    fw.ran.length = 0;
    await ex.cleanup!(ipvs, options, log, fw.exec);
    expect(fw.ran).toEqual([command('-D'), command('-D'), command('-D')]);
    expect(fw.rules).toEqual([]);
    expect(await table()).toEqual([]);
  });

  it('leaves no service behind when the marking command fails', async () => {
    const ex = await load('fwmark');
    const fw = fakeIptables('iptables v1.8.9 (nf_tables): TABLE_ADD failed (Operation not supported)');
    await expect(ex.main(ipvs, ex.parseOptions([]), log, fw.exec)).rejects.toThrow(
      'iptables v1.8.9 (nf_tables): TABLE_ADD failed (Operation not supported) (the service for mark 10 is removed again; try another --marker)',
    );
    expect(await table()).toEqual([]);
  });

  it('refuses a bad option before it changes anything (no empty service, the old one in place)', async () => {
    const ex = await load('fwmark');
    const fw = fakeIptables();
    await ex.main(ipvs, ex.parseOptions(['--marker', 'iptables-legacy']), log, fw.exec);
    const before = await table();
    await expect(ex.main(ipvs, ex.parseOptions(['--marker', 'iptables-legacy', '--forwarding', 'bogus']), log, fw.exec)).rejects.toThrow(/forwarding "bogus"/);
    expect(await table()).toEqual(before);
    expect(fw.rules).toEqual([rule]);
  });

  it('writes nft rules, or none', async () => {
    const ex = await load('fwmark');
    const commands = ex.markingCommands as (o: unknown, remove?: boolean) => [string, string[]][];
    const nft = commands(ex.parseOptions(['--marker', 'nft']));
    expect(nft.map(([c, a]) => [c, ...a].join(' '))).toEqual([
      'nft add table ip ipvs_example_fwmark',
      'nft add chain ip ipvs_example_fwmark prerouting { type filter hook prerouting priority mangle; }',
      'nft add rule ip ipvs_example_fwmark prerouting ip daddr 192.168.1.110 tcp dport { 80, 443 } meta mark set 10',
    ]);
    expect(commands(ex.parseOptions(['--marker', 'nft']), true)).toEqual([['nft', ['delete', 'table', 'ip', 'ipvs_example_fwmark']]]);
    expect(commands(ex.parseOptions(['--marker', 'none']))).toEqual([]);
  });
});

describe('pcc.js, ppc.js and fwmark.js as an operator meets them', () => {
  it.each([
    ['pcc', ['--timeout', 'abc'], 'invalid --timeout "abc": not a number'],
    ['pcc', ['--timeout', '0'], 'invalid --timeout 0: must be an integer 1..2678400'],
    ['pcc', ['--servers', '10.0.0.2,'], 'invalid --servers "": not an IPv4 or IPv6 address'],
    ['pcc', ['--vip', '1.2.3'], 'invalid --vip "1.2.3": not four decimal numbers'],
    ['ppc', ['--ports', '80,abc'], 'invalid --ports "abc": not a number'],
    ['ppc', ['--ports', '80,70000'], 'invalid --ports 70000: must be an integer 0..65535'],
    ['ppc', ['--servers', '1.2.3.4,bad'], 'invalid --servers "bad": not an IPv4 or IPv6 address'],
    ['fwmark', ['--ports', '80,x'], 'invalid --ports "x": not a number'],
    ['fwmark', ['--ports', '0'], 'invalid --ports 0: must be an integer 1..65535'],
    ['fwmark', ['--mark', '0'], 'invalid --mark 0: must be an integer 1..4294967295'],
    ['fwmark', ['--marker', 'bogus'], 'invalid --marker "bogus": give iptables, iptables-legacy, nft, none'],
    ['fwmark', ['--marker', 'none', '--forwarding', 'x'], `invalid --forwarding "x": must be 'masq', 'route' or 'tunnel'`],
  ])('%s %j: refused naming the option (it named operations[1].destination.address, or ran a command of that name, or marked port NaN)', async (name, argv, message) => {
    const ex = await load(name);
    const fw = fakeIptables();
    await expect((async () => ex.main(ipvs, ex.parseOptions(argv), log, fw.exec))()).rejects.toThrow(message);
    expect(await table()).toEqual([]);
    expect(fw.ran).toEqual([]);
  });

  it('the undo line names what --cleanup needs to find what was made (it said --cleanup alone, which looked at the defaults)', async () => {
    const fw = fakeIptables();
    await (await load('pcc')).main(ipvs, (await load('pcc')).parseOptions(['--vip', '10.0.0.1']), log);
    await (await load('ppc')).main(ipvs, (await load('ppc')).parseOptions(['--vip', '10.0.0.1', '--ports', '80']), log);
    await (await load('fwmark')).main(ipvs, (await load('fwmark')).parseOptions(['--vip', '10.0.0.1', '--ports', '80,8080', '--marker', 'iptables-legacy']), log, fw.exec);
    expect(lines.filter((l) => l.startsWith('Undo with: '))).toEqual([
      'Undo with: node examples/pcc.js --cleanup --vip 10.0.0.1',
      'Undo with: node examples/ppc.js --cleanup --vip 10.0.0.1 --ports 80',
      'Undo with: node examples/fwmark.js --cleanup --vip 10.0.0.1 --ports 80,8080 --marker iptables-legacy',
    ]);
    expect(lines).toContain('Persistent port connections (PPC) on 10.0.0.1: 1 service, one per port.');
    expect(lines.join('\n')).not.toContain('port ...');
  });
});

describe('health-check.js', () => {
  it("runs the seed's health check: quiesce, sorry server 127.0.0.1, restore; removes the service on stop", async () => {
    const ex = await load('health-check');
    const healthy = new Map<string, boolean>();
    const options = {
      ...ex.parseOptions([]),
      check: { type: 'custom', run: (t: { address: string }) => healthy.get(t.address) ?? true, jitterMs: 0 },
    };
    const clock = new ManualScheduler();
    const stop = new AbortController();
    const messages: string[] = [];
    const logger = { info: (m: string) => messages.push(m), warn: (m: string) => messages.push(m), error: (m: string) => messages.push(m) };
    const running = ex.main(ipvs, options, { signal: stop.signal, logger, scheduler: clock });
    await clock.advance(0);
    await vi.waitFor(async () => expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 2', '  -> 192.168.1.117:80 route 1']));
    healthy.set('192.168.1.116', false);
    healthy.set('192.168.1.117', false);
    await clock.advance(10_000); // fall 2 at 5 s intervals
    expect(await table()).toEqual([
      'tcp 192.168.1.110:80 wrr', '  -> 127.0.0.1:80 route 1', '  -> 192.168.1.116:80 route 0', '  -> 192.168.1.117:80 route 0',
    ]);
    expect(messages).toContain('All real servers are down: 127.0.0.1:80 is answering for 192.168.1.110.');
    healthy.set('192.168.1.117', true);
    await clock.advance(10_000);
    expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 0', '  -> 192.168.1.117:80 route 1']);
    stop.abort();
    await running;
    expect(await table()).toEqual([]);
    expect(messages.at(-1)).toBe('Stopped and removed tcp 192.168.1.110:80.');
    const said: string[] = [];
    await ex.cleanup!(ipvs, options, (m: string) => said.push(m));
    expect(said).toEqual(['Nothing to remove: no service on tcp 192.168.1.110:80.']);
  });

  /** Run main with every check passing until `stop` aborts; resolves to the log once started. */
  async function runHealth(argv: string[], seen: (port: number) => void = () => {}) {
    const ex = await load('health-check');
    const options = { ...ex.parseOptions(argv), check: { type: 'custom', run: (t: { port: number }) => void seen(t.port), jitterMs: 0 } };
    const clock = new ManualScheduler();
    const stop = new AbortController();
    const messages: string[] = [];
    const logger = { info: (m: string) => messages.push(m), warn: (m: string) => messages.push(m), error: (m: string) => messages.push(m) };
    const running = ex.main(ipvs, options, { signal: stop.signal, logger, scheduler: clock });
    await vi.waitFor(() => expect(messages.some((m) => m.startsWith('Watching '))).toBe(true));
    await clock.advance(0);
    return { messages, stop: async () => void (stop.abort(), await running) };
  }

  it("on stop leaves a service that was there before it started (the seed's case), real servers it does not manage included", async () => {
    const svc = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
    await ipvs.addService({ ...svc, scheduler: 'wrr' });
    await ipvs.addDestination(svc, { address: '192.168.1.200', weight: 5 });
    const run = await runHealth([]);
    const expected = ['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 2', '  -> 192.168.1.117:80 route 1', '  -> 192.168.1.200:80 route 5'];
    await vi.waitFor(async () => expect(await table()).toEqual(expected));
    await run.stop();
    expect(await table()).toEqual(expected);
    expect(run.messages.at(-1)).toBe('Stopped; tcp 192.168.1.110:80 was there before this run, so it is left as it is (--cleanup deletes it).');
  });

  it('--keep leaves the service it created', async () => {
    const run = await runHealth(['--keep']);
    await run.stop();
    expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 2', '  -> 192.168.1.117:80 route 1']);
    expect(run.messages.at(-1)).toBe('Stopped; the table is left as it is.');
  });

  it("takes the seed's other variables: a PCC service (port 0, persistent) checked on port 80; a real-server port", async () => {
    const ports = new Set<number>();
    const pcc = await runHealth(['--port', '0', '--persistent', '600', '--check-port', '80'], (p) => ports.add(p));
    await vi.waitFor(async () => expect(await table()).toEqual(['tcp 192.168.1.110:0 wrr persistent 600', '  -> 192.168.1.116:0 route 2', '  -> 192.168.1.117:0 route 1']));
    expect([...ports]).toEqual([80]);
    await pcc.stop();
    expect(await table()).toEqual([]);
    const nat = await runHealth(['--rport', '8080', '--forwarding', 'masq', '--sorry', '192.168.1.120']);
    await vi.waitFor(async () => expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:8080 masq 2', '  -> 192.168.1.117:8080 masq 1']));
    await nat.stop();
  });

  it('--protocol udp: a UDP service checked by a real datagram (a DNS query by default); a server that stops answering is deleted, the sorry server in', async () => {
    const ex = await load('health-check');
    const server = createSocket('udp4');
    const got: Buffer[] = [];
    server.on('message', (m, from) => (got.push(m), server.send(m, from.port, from.address))); // the reply begins with the query's ID
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    const port = server.address().port;
    const options = ex.parseOptions(['--protocol', 'udp', '--servers', '127.0.0.1', '--check-port', String(port), '--sorry', '192.168.1.120', '--interval', '20', '--timeout', '2000']);
    expect(options).toMatchObject({ protocol: 'udp', port: 53, checkType: 'udp' });
    const stop = new AbortController();
    const messages: string[] = [];
    const logger = { info: (m: string) => messages.push(m), warn: (m: string) => messages.push(m), error: (m: string) => messages.push(m) };
    const running = ex.main(ipvs, options, { signal: stop.signal, logger });
    try {
      await vi.waitFor(async () => expect(await table()).toEqual(['udp 192.168.1.110:53 wrr', '  -> 127.0.0.1:53 route 2']), { timeout: 5000 });
      expect(got[0]!.toString('hex')).toBe('12340100000100000000000000000200' + '01');
      expect(messages).toContain('Watching 127.0.0.1 behind udp 192.168.1.110:53. Ctrl-C to stop.');
      server.close(); // Linux answers the next query with ICMP port unreachable: failed at once
      await vi.waitFor(async () => expect(await table()).toEqual(['udp 192.168.1.110:53 wrr', '  -> 192.168.1.120:53 route 1']), { timeout: 5000 });
    } finally {
      stop.abort();
      await running;
    }
    expect(await table()).toEqual([]);
    expect(messages.at(-1)).toBe('Stopped and removed udp 192.168.1.110:53.');
  });

  it('--check and the udp options: the datagram and the reply as given, an option of another check refused, a bad value named by its option', async () => {
    const ex = await load('health-check');
    const config = ex.healthConfig as (o: unknown) => { check: Record<string, unknown>; services: { protocol: string; port: number }[] };
    expect(config(ex.parseOptions([])).check).toMatchObject({ type: 'http', path: '/' });
    expect(config(ex.parseOptions(['--check', 'tcp'])).check).not.toHaveProperty('path');
    const dns = config(ex.parseOptions(['--protocol', 'udp']));
    expect(dns.check).toMatchObject({ type: 'udp', payloadHex: '1234 0100 0001 0000 0000 0000 00 0002 0001', expectHex: '1234' });
    expect(dns.services[0]).toMatchObject({ protocol: 'udp', port: 53 });
    const ping = config(ex.parseOptions(['--protocol', 'udp', '--port', '1812', '--payload', 'ping']));
    expect(ping.check).toMatchObject({ type: 'udp', payload: 'ping' });
    expect(ping.check).not.toHaveProperty('expectHex');
    expect(config(ex.parseOptions(['--protocol', 'udp', '--expect-hex', '1234 8180'])).check).toMatchObject({ expectHex: '1234 8180', payloadHex: '1234 0100 0001 0000 0000 0000 00 0002 0001' });
    expect(() => ex.parseOptions(['--check', 'udp', '--path', '/x'])).toThrow('--path is for an http(s) check, not the udp check');
    expect(() => ex.parseOptions(['--payload', 'x'])).toThrow('--payload is for a udp check, not the http check (the default for a tcp service; --check udp)');
    expect(() => ex.parseOptions(['--check', 'icmp'])).toThrow('invalid --check "icmp": give http, https, tcp, udp');
    expect(() => ex.parseOptions(['--protocol', 'sctp'])).toThrow('invalid --protocol "sctp": give tcp or udp');
    const logger = { info: log, warn: log, error: log };
    await expect(ex.main(ipvs, ex.parseOptions(['--protocol', 'udp', '--payload-hex', '12 3']), { logger })).rejects.toThrow(/^invalid --payload-hex "12 3": must be hexadecimal bytes/);
    await expect(ex.main(ipvs, ex.parseOptions(['--protocol', 'udp', '--payload', 'a', '--payload-hex', '12']), { logger })).rejects.toThrow(/^invalid --payload-hex "12": give payload or payloadHex, not both/);
    expect(await table()).toEqual([]);
  });

  it('--forwarding masq with a real server on loopback is refused, naming the address and the remedy, before anything is changed', async () => {
    const ex = await load('health-check');
    const options = ex.parseOptions(['--forwarding', 'masq', '--servers', '127.0.0.1,192.168.1.117']);
    const logger = { info: log, warn: log, error: log };
    await expect(ex.main(ipvs, options, { logger })).rejects.toThrow(
      `invalid --forwarding "masq": the kernel drops traffic from other hosts that it would NAT to a loopback address (127.0.0.1): leave forwarding out or use 'route' for a real server on the director itself`,
    );
    expect(await table()).toEqual([]);
    expect(lines).toEqual([]);
  });

  it("docs/examples.md quotes that refusal as the program prints it", async () => {
    const ex = await load('health-check');
    const options = ex.parseOptions(['--forwarding', 'masq', '--servers', '127.0.0.1,192.168.1.117']);
    const err = await ex.main(ipvs, options, { logger: { info: log, warn: log, error: log } }).catch((e: unknown) => e);
    const doc = readFileSync(new URL('../../docs/examples.md', import.meta.url), 'utf8');
    // examples/program.js prints a failure as `<file>: <message>`.
    expect(doc).toContain(`\nexamples/health-check.js: ${(err as Error).message}\n`);
  });

  it.each([
    [['--servers', '10.0.0.1,bad'], 'invalid --servers "bad": not an IPv4 or IPv6 address'],
    [['--weights', '2,-1'], 'invalid --weights -1 for 192.168.1.117: must be an integer 0..2147483647'],
    [['--vip', '1.2.3'], 'invalid --vip "1.2.3": not four decimal numbers 0..255: the short and hex forms ipvsadm takes (127.1, 0x7f.0.0.1) are refused'],
    [['--port', '70000'], 'invalid --port 70000: must be an integer 0..65535'],
    [['--sorry', 'nope'], 'invalid --sorry "nope": not an IPv4 or IPv6 address'],
    [['--interval', '0'], 'invalid --interval 0: must be an integer 1..86400000'],
    [['--check-port', '99999'], 'invalid --check-port 99999: must be an integer 1..65535'],
    [['--path', 'x'], `invalid --path "x": must be a string starting with '/'`],
  ])('a refused value is named by its option, not the config path it becomes (%j)', async (argv, message) => {
    const ex = await load('health-check');
    const logger = { info: log, warn: log, error: log };
    await expect(ex.main(ipvs, ex.parseOptions(argv), { logger })).rejects.toThrow(message);
    expect(await table()).toEqual([]);
  });

  it('text that is no number is refused by parseOptions, naming the option', async () => {
    const ex = await load('health-check');
    expect(() => ex.parseOptions(['--weights', '2,x'])).toThrow('invalid --weights "x": not a number');
    expect(() => ex.parseOptions(['--timeout', ''])).toThrow('invalid --timeout "": not a number');
  });

  it('more --weights than --servers is refused, naming both counts (extra weights were dropped without a word)', async () => {
    const ex = await load('health-check');
    const parse = ex.parseOptions as (argv: string[]) => { servers: { address: string; weight: number }[] };
    expect(() => parse(['--servers', '10.0.0.1,10.0.0.2', '--weights', '2,1,3'])).toThrow(
      'invalid --weights "2,1,3": 3 weights for 2 servers (--servers): give at most one per server, in order',
    );
    expect(() => parse(['--servers', '10.0.0.1', '--weights', '2,1'])).toThrow('invalid --weights "2,1": 2 weights for 1 server (--servers)');
    // Fewer is documented (1 for a server without one), and the default 2,1 goes with any number of servers.
    expect(parse(['--servers', '10.0.0.1,10.0.0.2,10.0.0.3', '--weights', '5']).servers.map((s) => s.weight)).toEqual([5, 1, 1]);
    expect(parse(['--servers', '10.0.0.1']).servers).toEqual([{ address: '10.0.0.1', weight: 2 }]);
  });

  it('--cleanup takes the rest of the command line that set the service up and ignores it (check options were refused)', async () => {
    const ex = await load('health-check');
    const svc = { protocol: 'udp', address: '192.168.1.110', port: 1812 } as const;
    await ipvs.addService({ ...svc, scheduler: 'wrr' });
    const setUp = ['--protocol', 'udp', '--port', '1812', '--payload', 'ping', '--expect', 'pong', '--weights', '2,1,3'];
    await ex.cleanup!(ipvs, ex.parseOptions([...setUp, '--cleanup']), log);
    expect(await table()).toEqual([]);
    expect(lines).toEqual(['Removed udp 192.168.1.110:1812 and its real servers (the sorry server too, if it was in).']);
    expect(() => ex.parseOptions(['--cleanup', '--payload', 'x', '--path', '/x'])).not.toThrow();
  });

  it('--cleanup removes a service left behind (e.g. by --keep), sorry server and all', async () => {
    const ex = await load('health-check');
    const svc = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
    await ipvs.addService({ ...svc, scheduler: 'wrr' });
    await ipvs.addDestination(svc, { address: '127.0.0.1', forwarding: 'route' });
    await ex.cleanup!(ipvs, ex.parseOptions(['--cleanup']), log);
    expect(await table()).toEqual([]);
    expect(lines).toEqual(['Removed tcp 192.168.1.110:80 and its real servers (the sorry server too, if it was in).']);
  });
});

describe('program.js and SIGHUP', () => {
  it('a long-running example stops on SIGHUP as on SIGTERM (Node\'s default ended it, the table as it was), unless it reloads on SIGHUP', async () => {
    const { abortOnSignals, onHangup } = (await load('program')) as unknown as {
      abortOnSignals: (c: AbortController, names?: string[]) => () => void;
      onHangup: (l: () => void) => () => void;
    };
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const before = process.listenerCount('SIGHUP');
    try {
      const stop = new AbortController();
      const dispose = abortOnSignals(stop);
      expect(process.listenerCount('SIGHUP')).toBe(before + 1);
      process.emit('SIGHUP');
      expect(stop.signal.aborted).toBe(true);
      process.emit('SIGHUP'); // a second one ends it, as a second SIGTERM does
      expect(kill).toHaveBeenLastCalledWith(process.pid, 'SIGHUP');
      dispose();
      // An example that reads its input again on SIGHUP (hangup: 'reload') stops on SIGINT and SIGTERM only.
      const reloading = new AbortController();
      const undo = abortOnSignals(reloading, ['SIGINT', 'SIGTERM']);
      let heard = 0;
      const unhear = onHangup(() => heard++);
      process.emit('SIGHUP');
      expect({ aborted: reloading.signal.aborted, heard }).toEqual({ aborted: false, heard: 1 });
      unhear();
      undo();
      expect(process.listenerCount('SIGHUP')).toBe(before);
    } finally {
      kill.mockRestore();
    }
  });
});

describe('program.js as a real process: signals from the start, and a prompt end', () => {
  const child = fileURLToPath(new URL('../helpers/example-program-child.mjs', import.meta.url));

  /** Start the helper; `line(text)` waits for an output line, `exited` for its end. */
  function start(args: string[]) {
    const proc = spawn(process.execPath, [child, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: string[] = [];
    let err = '';
    const waiters = new Set<() => void>();
    readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
      out.push(l);
      for (const w of waiters) w();
    });
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('close', (code, signal) => resolve({ code, signal })));
    const line = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => out.includes(text) && (waiters.delete(check), resolve(), true);
        if (check()) return;
        waiters.add(check);
        void exited.then(() => check() || reject(new Error(`exited without printing ${text}: ${out.join(' | ')} ${err}`)));
      });
    /** Its end, or 'hung' when it has not ended 15 s after (then it is killed). */
    const ended = async () => {
      const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000).unref());
      const result = await Promise.race([exited, hung]);
      if (result === 'hung') proc.kill('SIGKILL');
      return result;
    };
    return { proc, out, line, ended, stderr: () => err };
  }

  it.each(['SIGHUP', 'SIGTERM', 'SIGINT'] as const)('a long-running example stopped by %s while its kernel client opens stops there, nothing run, status 0 (it died of the signal)', async (name) => {
    const p = start(['stop', 'wait']);
    await p.line('opening');
    p.proc.kill(name);
    await p.line(`seen ${name}`); // handled (without the listeners from the start, it died of it instead)
    p.proc.stdin!.write('opened\n');
    expect(await p.ended()).toEqual({ code: 0, signal: null });
    expect(p.out).toEqual(['opening', `seen ${name}`, 'Stopped before it began: nothing changed.', 'closed']);
  }, 30_000);

  it('one that reloads on SIGHUP takes a SIGHUP while its client opens as nothing (it reads its input first after it), and runs', async () => {
    const p = start(['reload', 'wait']);
    await p.line('opening');
    p.proc.kill('SIGHUP');
    await p.line('seen SIGHUP');
    p.proc.stdin!.write('opened\n');
    await p.line('running');
    p.proc.kill('SIGHUP');
    await p.line('hangup');
    p.proc.kill('SIGTERM');
    expect(await p.ended()).toEqual({ code: 0, signal: null });
    expect(p.out).toEqual(['opening', 'seen SIGHUP', 'running', 'hangup', 'stopping', 'closed']);
  }, 30_000);

  it('ends when stopped, even with a read it gave up on still pending: by its signal, saying why (it waited for the read for ever)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipvs-program-'));
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    try {
      const p = start(['stop', 'slow-read', fifo]);
      await p.line('opening');
      p.proc.stdin!.write('opened\n');
      await p.line('running');
      p.proc.kill('SIGTERM');
      expect(await p.ended()).toEqual({ code: null, signal: 'SIGTERM' });
      expect(p.out).toEqual(['opening', 'running', 'stopping', 'closed']);
      expect(p.stderr()).toMatch(/: stopped, but a call it gave up on \(a read of a file on a hung file system\?\) is still pending: ending by SIGTERM\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('custom-balancer.js', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ipvs-balancer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('applies the file, follows its edits with the fewest changes, and removes its services on stop', async () => {
    const ex = await load('custom-balancer');
    const file = join(dir, 'balancer.json');
    const state = (weight: number) =>
      JSON.stringify({ services: [{ protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'wrr', destinations: [{ address: '192.168.1.116', weight }] }] });
    writeFileSync(file, state(2));
    const stop = new AbortController();
    const running = ex.main(ipvs, { ...ex.parseOptions(['--file', file]) }, { signal: stop.signal, log, debounceMs: 20 });
    await vi.waitFor(async () => expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 2']));
    const before = kernel.state().services.length;
    writeFileSync(file, state(5));
    await vi.waitFor(async () => expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 5']), { timeout: 5000 });
    expect(kernel.state().services.length).toBe(before);
    writeFileSync(file, '{ not json');
    await vi.waitFor(() => expect(lines.join('\n')).toContain('table left as it is'), { timeout: 5000 });
    stop.abort();
    await running;
    expect(await table()).toEqual([]);
    expect(lines.join('\n')).toMatch(/~ destination tcp 192\.168\.1\.110:80 -> 192\.168\.1\.116:80: weight 2 -> 5/);
  });

  const service80 = (weight: number, scheduler = 'wrr') =>
    ({ protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler, destinations: [{ address: '192.168.1.116', weight }] });
  /** Start main on `text`, wait for its first reconcile; `edit` writes the file and waits for the reconcile it causes. */
  async function runBalancer(text: string, argv: string[] = []) {
    const ex = await load('custom-balancer');
    const file = join(dir, 'balancer.json');
    writeFileSync(file, text);
    const stop = new AbortController();
    const running = ex.main(ipvs, ex.parseOptions(['--file', file, ...argv]), { signal: stop.signal, log, debounceMs: 20 });
    await vi.waitFor(() => expect(lines.length).toBeGreaterThanOrEqual(2));
    await new Promise((r) => setTimeout(r, 20)); // and watching
    const edit = async (next: string) => {
      const from = lines.length;
      writeFileSync(file, next);
      await vi.waitFor(() => expect(lines.slice(from).filter((l) => !l.endsWith(' changed:'))).not.toEqual([]), { timeout: 5000 });
      return lines.slice(from).filter((l) => !l.endsWith(' changed:')).join('\n');
    };
    return { edit, stop: async () => void (stop.abort(), await running) };
  }

  it('reports a file with a bad value, or an apply that fails, leaves the table alone, and applies the next good edit', async () => {
    const b = await runBalancer(JSON.stringify({ services: [service80(2)] }));
    const good = ['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 2'];
    expect(await table()).toEqual(good);
    expect(await b.edit(JSON.stringify({ services: [service80(-1)] }))).toBe(
      'balancer.json: invalid services[0].destinations[0].weight -1: must be an integer 0..2147483647 (table left as it is)',
    );
    expect(await b.edit(JSON.stringify({ services: [service80(3, 'foo')] }))).toMatch(/^balancer\.json: invalid services\[0\]\.scheduler "foo": unknown scheduler.*\(table left as it is\)$/);
    expect(await b.edit(JSON.stringify({ services: [service80(3), service80(4)] }))).toMatch(/the service tcp 192\.168\.1\.110:80 is also services\[0\] \(table left as it is\)$/);
    kernel.failNext(1, 'ENOMEM', 'IPVS_CMD_GET_SERVICE'); // the table cannot be read
    expect(await b.edit(JSON.stringify({ services: [service80(3)] }))).toMatch(/^balancer\.json: .*\(table left as it is\)$/);
    expect(await table()).toEqual(good);
    expect(await b.edit(JSON.stringify({ services: [service80(5)] }))).toMatch(/~ destination tcp 192\.168\.1\.110:80 -> 192\.168\.1\.116:80: weight 2 -> 5/);
    expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 5']);
    await b.stop();
    expect(await table()).toEqual([]);
  });

  it('refuses a file with no rules (empty, blank, only comments: a truncated file) as ipvs apply does, even with --prune; {"services": []} empties', async () => {
    await ipvs.addService({ protocol: 'udp', address: '192.168.1.110', port: 53 }); // someone else's, pruned below
    const b = await runBalancer(JSON.stringify({ services: [service80(2)] }), ['--prune']);
    const good = ['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 2'];
    expect(await table()).toEqual(good);
    for (const text of ['', ' \n\n', '# ipvsadm -S output, cut short\n']) {
      expect(await b.edit(text)).toBe(`balancer.json: invalid state ${JSON.stringify(text)}: holds no rules and no JSON state (for an empty table, write {"services": []}) (table left as it is)`);
      expect(await table()).toEqual(good);
    }
    expect(await b.edit('{"services": []}')).toMatch(/^- service tcp 192\.168\.1\.110:80: not in the desired state/);
    expect(await table()).toEqual([]);
    await b.stop();
  });

  it('on stop deletes only the services it created, never one that was there before it started', async () => {
    const svc = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
    await ipvs.addService({ ...svc, scheduler: 'wrr' });
    await ipvs.addDestination(svc, { address: '192.168.1.200', weight: 5 });
    const other = { protocol: 'tcp', address: '192.168.1.110', port: 443, scheduler: 'rr', destinations: [{ address: '192.168.1.117' }] };
    const b = await runBalancer(JSON.stringify({ services: [{ ...svc, scheduler: 'wrr' }, other] }));
    expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.200:80 route 5', 'tcp 192.168.1.110:443 rr', '  -> 192.168.1.117:443 route 1']);
    await b.stop();
    expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.200:80 route 5']);
    expect(lines.at(-1)).toBe('Stopped and removed the 1 service(s) the file lists and this run created; left the 1 that was there before it started.');
  });

  it('on stop leaves a service that was there before it started, even one deleted by hand and re-added by a periodic pass', async () => {
    const svc = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
    await ipvs.addService({ ...svc, scheduler: 'wrr' });
    const ex = await load('custom-balancer');
    const file = join(dir, 'balancer.json');
    writeFileSync(file, JSON.stringify({ services: [service80(2)] }));
    const stop = new AbortController();
    const running = ex.main(ipvs, ex.parseOptions(['--file', file, '--interval', '0.1']), { signal: stop.signal, log, debounceMs: 20 });
    const good = ['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 2'];
    await vi.waitFor(async () => expect(await table()).toEqual(good));
    await ipvs.deleteService(svc); // by hand
    await vi.waitFor(async () => expect(await table()).toEqual(good), { timeout: 2000 });
    stop.abort();
    await running;
    expect(await table()).toEqual(good);
    expect(() => ex.parseOptions(['--interval', '2200000'])).toThrow(/up to 2147483/);
  });

  it('on stop does not count as its own a service it pruned and then added again', async () => {
    await ipvs.addService({ protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'wrr' });
    const b = await runBalancer('{"services": []}', ['--prune']);
    expect(await table()).toEqual([]);
    await b.edit(JSON.stringify({ services: [service80(2)] }));
    expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 2']);
    await b.stop();
    expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 2']);
  });

  it('applies the file again on its own: soon after a failed step, and every --interval seconds (a hand edit is put right); silent when in sync', async () => {
    const ex = await load('custom-balancer');
    const file = join(dir, 'balancer.json');
    writeFileSync(file, JSON.stringify({ services: [service80(2)] }));
    kernel.failNext(1, 'ENOMEM', 'IPVS_CMD_NEW_DEST');
    const stop = new AbortController();
    const options = ex.parseOptions(['--file', file, '--interval', '0.2']);
    expect(options.interval).toBe(0.2);
    const running = ex.main(ipvs, options, { signal: stop.signal, log, debounceMs: 20, retryMs: 50 });
    const good = ['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 2'];
    await vi.waitFor(async () => expect(await table()).toEqual(good), { timeout: 2000 });
    expect(lines.join('\n')).toMatch(/failed: .*\[ENOMEM\]/);
    await ipvs.deleteDestination({ protocol: 'tcp', address: '192.168.1.110', port: 80 }, { address: '192.168.1.116' }); // by hand
    await vi.waitFor(async () => expect(await table()).toEqual(good), { timeout: 2000 });
    const quiet = lines.length;
    await new Promise((r) => setTimeout(r, 500)); // two or three passes with nothing to do
    expect(lines.slice(quiet)).toEqual([]);
    stop.abort();
    await running;
    expect(() => ex.parseOptions(['--interval', 'soon'])).toThrow(/--interval soon/);
  });

  it('applies the file again on SIGHUP (hangups), with no edit and no periodic pass: a hand edit is put right; one during the first apply waits for it', async () => {
    const ex = await load('custom-balancer');
    const file = join(dir, 'balancer.json');
    writeFileSync(file, JSON.stringify({ services: [service80(2)] }));
    const stop = new AbortController();
    let hangup: (() => void) | undefined;
    const hangups = (listener: () => void) => ((hangup = listener), () => (hangup = undefined));
    const running = ex.main(ipvs, ex.parseOptions(['--file', file, '--interval', '0']), { signal: stop.signal, log, debounceMs: 20, hangups });
    // Listened to before the first apply, which is still to come: this one is applied after it, not beside it.
    expect(hangup).toBeDefined();
    hangup!();
    const good = ['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 2'];
    await vi.waitFor(() => expect(lines).toContain('SIGHUP: applying balancer.json again:'), { timeout: 2000 });
    await vi.waitFor(() => expect(lines.at(-1)).not.toBe('SIGHUP: applying balancer.json again:'), { timeout: 2000 });
    expect(await table()).toEqual(good);
    await ipvs.deleteDestination({ protocol: 'tcp', address: '192.168.1.110', port: 80 }, { address: '192.168.1.116' }); // by hand
    await new Promise((r) => setTimeout(r, 100));
    expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr']); // nothing puts it right on its own (--interval 0)
    const from = lines.length;
    hangup!();
    await vi.waitFor(async () => expect(await table()).toEqual(good), { timeout: 2000 });
    expect(lines[from]).toBe('SIGHUP: applying balancer.json again:');
    stop.abort();
    await running;
    expect(hangup).toBeUndefined(); // no longer listening
  });

  it('a stop while the file is read (a hung network file system) does not wait for the read: nothing more applied, its services removed', async () => {
    const ex = await load('custom-balancer');
    const file = join(dir, 'balancer.json');
    writeFileSync(file, JSON.stringify({ services: [service80(2)] }));
    let reads = 0;
    const read = async (path: string): Promise<Buffer> => {
      if (++reads === 1) return readFileSync(path);
      lines.push('reading');
      return new Promise<Buffer>(() => {}); // never ends
    };
    let hangup: (() => void) | undefined;
    const hangups = (listener: () => void) => ((hangup = listener), () => (hangup = undefined));
    const stop = new AbortController();
    let ended = false;
    const running = ex.main(ipvs, ex.parseOptions(['--file', file, '--interval', '0']), { signal: stop.signal, log, debounceMs: 20, hangups, read }).finally(() => (ended = true));
    await vi.waitFor(async () => expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 2']));
    hangup!(); // SIGHUP: the file read again, and this read hangs
    await vi.waitFor(() => expect(lines).toContain('reading'));
    stop.abort();
    await vi.waitFor(() => expect(ended).toBe(true), { timeout: 2000 });
    await running;
    expect(await table()).toEqual([]);
    expect(lines.at(-1)).toBe('Stopped and removed the 1 service(s) the file lists.');
    // And the first read: a stop during it ends main at once, nothing applied.
    lines.length = 0;
    const first = new AbortController();
    const hung = ex.main(ipvs, ex.parseOptions(['--file', file, '--interval', '0']), { signal: first.signal, log, read: () => new Promise(() => {}) });
    await vi.waitFor(() => expect(lines).toHaveLength(1)); // "Keeping IPVS in line with ..."
    first.abort();
    await hung;
    expect(await table()).toEqual([]);
    expect(lines.at(-1)).toBe('Stopped and removed the 0 service(s) the file lists.');
  });

  it('a stop while the file or its directory is looked at (stat on a hung network file system) does not wait for it either', async () => {
    const ex = await load('custom-balancer');
    const file = join(dir, 'balancer.json');
    writeFileSync(file, JSON.stringify({ services: [service80(2)] }));
    const { stat } = await import('node:fs/promises');
    // Each of main's stats in turn hangs: the file's at start, then the directory's as the watch begins.
    for (const hangAt of [1, 2]) {
      lines.length = 0;
      let stats = 0;
      const hanging = (path: string) => (++stats === hangAt ? new Promise(() => {}) : stat(path));
      const stop = new AbortController();
      let ended = false;
      let reads = 0;
      const read = async (path: string) => (reads++, readFileSync(path));
      const running = ex.main(ipvs, ex.parseOptions(['--file', file, '--interval', '0']), { signal: stop.signal, log, stat: hanging, read }).finally(() => (ended = true));
      await vi.waitFor(() => expect(stats).toBe(hangAt));
      stop.abort();
      await vi.waitFor(() => expect(ended).toBe(true), { timeout: 2000 });
      await running;
      expect(reads).toBe(hangAt - 1); // stopped before the first read: none begun
      expect(await table()).toEqual([]);
      expect(lines.at(-1)).toBe(`Stopped and removed the ${hangAt - 1} service(s) the file lists.`);
    }
  });

  it('refuses a FIFO (or a device, a directory) as its file before reading a byte, rather than waiting for ever for a writer', async () => {
    const ex = await load('custom-balancer');
    const fifo = join(dir, 'balancer.json');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // Without the check this open waits for a writer, for ever (the test times out).
    expect(await (ex.reconcileOnce as Fn)(ipvs, { file: fifo }, log)).toBeUndefined();
    expect(await (ex.reconcileOnce as Fn)(ipvs, { file: '/dev/zero' }, log)).toBeUndefined();
    expect(await (ex.reconcileOnce as Fn)(ipvs, { file: dir }, log)).toBeUndefined();
    expect(lines).toEqual([
      'balancer.json: a FIFO, not a regular file: not read (give the path of a file) (table left as it is)',
      'zero: a device, not a regular file: not read (give the path of a file) (table left as it is)',
      `${basename(dir)}: a directory, not a regular file: not read (give the path of a file) (table left as it is)`,
    ]);
    expect(await table()).toEqual([]);
  }, 10_000);

  /** Start main on `file` (written already) with no periodic pass: only the watch can see an edit. */
  async function watching(file: string) {
    const ex = await load('custom-balancer');
    const stop = new AbortController();
    const running = ex.main(ipvs, ex.parseOptions(['--file', file, '--interval', '0']), { signal: stop.signal, log, debounceMs: 20 });
    await vi.waitFor(async () => expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 2']));
    await new Promise((r) => setTimeout(r, 50)); // and watching
    return async () => void (stop.abort(), await running);
  }
  const weighs = (w: number) => async () => expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', `  -> 192.168.1.116:80 route ${w}`]);

  it('follows a Kubernetes ConfigMap mount: the file a symlink through ..data, swapped by renaming a new ..data over it', async () => {
    // dir/state.json -> ..data/state.json, dir/..data -> ..2026_01, as the kubelet lays a ConfigMap out.
    const stateOf = (w: number) => JSON.stringify({ services: [service80(w)] });
    mkdirSync(join(dir, '..2026_01'));
    writeFileSync(join(dir, '..2026_01', 'state.json'), stateOf(2));
    symlinkSync('..2026_01', join(dir, '..data'));
    symlinkSync('..data/state.json', join(dir, 'state.json'));
    const stop = await watching(join(dir, 'state.json'));
    // The kubelet's update: a new timestamped directory, a new ..data link renamed over the old one, the old directory removed.
    const swap = (from: string, to: string, w: number) => {
      mkdirSync(join(dir, to));
      writeFileSync(join(dir, to, 'state.json'), stateOf(w));
      symlinkSync(to, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      rmSync(join(dir, from), { recursive: true });
    };
    swap('..2026_01', '..2026_02', 5);
    await vi.waitFor(weighs(5), { timeout: 3000 });
    swap('..2026_02', '..2026_03', 7);
    await vi.waitFor(weighs(7), { timeout: 3000 });
    expect(lines.filter((l) => l === 'state.json changed:')).toHaveLength(2);
    writeFileSync(join(dir, 'unrelated.txt'), 'x'); // another file in the directory changes: nothing to do
    await new Promise((r) => setTimeout(r, 200));
    expect(lines.filter((l) => l === 'state.json changed:')).toHaveLength(2);
    await stop();
  });

  it('follows an editor that saves by writing a temporary file and renaming it over the file', async () => {
    const file = join(dir, 'balancer.json');
    writeFileSync(file, JSON.stringify({ services: [service80(2)] }));
    const stop = await watching(file);
    writeFileSync(join(dir, '.balancer.json.swp'), JSON.stringify({ services: [service80(4)] }));
    renameSync(join(dir, '.balancer.json.swp'), file);
    await vi.waitFor(weighs(4), { timeout: 3000 });
    await stop();
  });

  it('follows the file when its directory is deleted and created again (it used to watch the old directory for good)', async () => {
    const sub = join(dir, 'conf');
    mkdirSync(sub);
    const file = join(sub, 'balancer.json');
    writeFileSync(file, JSON.stringify({ services: [service80(2)] }));
    const stop = await watching(file);
    rmSync(sub, { recursive: true });
    await vi.waitFor(() => expect(lines.join('\n')).toContain('(table left as it is)'), { timeout: 3000 }); // the file gone: reported
    mkdirSync(sub);
    writeFileSync(file, JSON.stringify({ services: [service80(6)] }));
    await vi.waitFor(weighs(6), { timeout: 5000 });
    // And it watches the new directory: an edit there goes in as before.
    writeFileSync(file, JSON.stringify({ services: [service80(8)] }));
    await vi.waitFor(weighs(8), { timeout: 3000 });
    await stop();
  });

  it('stops cleanly while its directory is gone (nothing watched then), removing its services', async () => {
    const sub = join(dir, 'conf');
    mkdirSync(sub);
    const file = join(sub, 'balancer.json');
    writeFileSync(file, JSON.stringify({ services: [service80(2)] }));
    const stop = await watching(file);
    rmSync(sub, { recursive: true });
    await vi.waitFor(() => expect(lines.join('\n')).toContain('(table left as it is)'), { timeout: 3000 });
    await stop();
    expect(await table()).toEqual([]);
  });

  it('reads at most FILE_LIMIT bytes of the file: a larger one (a runaway file, a device) is refused, not read until memory runs out', async () => {
    const ex = await load('custom-balancer');
    const limit = ex.FILE_LIMIT as number;
    expect(limit).toBe(16 * 1024 * 1024);
    const file = join(dir, 'balancer.json');
    const json = JSON.stringify({ services: [service80(2)] });
    writeFileSync(file, json + ' '.repeat(limit + 1 - json.length));
    expect(await (ex.reconcileOnce as Fn)(ipvs, { file }, log)).toBeUndefined();
    expect(lines).toEqual(['balancer.json: larger than 16 MiB: not read further (a runaway file?) (table left as it is)']);
    expect(await table()).toEqual([]);
    writeFileSync(file, json + ' '.repeat(limit - json.length)); // at the bound: read
    expect(await (ex.reconcileOnce as Fn)(ipvs, { file }, log)).toBeDefined();
    expect(await table()).toEqual(['tcp 192.168.1.110:80 wrr', '  -> 192.168.1.116:80 route 2']);
  });

  it("writes a control character of the file's text (quoted in an error) as an escape, never raw to the terminal", async () => {
    const ex = await load('custom-balancer');
    const file = join(dir, 'balancer.json');
    writeFileSync(file, JSON.stringify({ services: [{ ...service80(2), '\u001b]0;owned\u0007\u001b[2J\nforged line': 1 }] }));
    expect(await (ex.reconcileOnce as Fn)(ipvs, { file }, log)).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/);
    expect(lines[0]).toContain('\\u001b]0;owned\\u0007\\u001b[2J\\u000aforged line');
    expect(lines[0]).toMatch(/^balancer\.json: .*\(table left as it is\)$/);
  });

  it('ships a sample file with the seed addresses', async () => {
    const ex = await load('custom-balancer');
    const options = ex.parseOptions([]);
    expect(String(options.file)).toMatch(/examples\/balancer\.json$/);
    await (ex.reconcileOnce as Fn)(ipvs, options, log);
    expect(await table()).toContain('tcp 192.168.1.110:443 rr persistent 600');
  });
});

describe('stats.js', () => {
  it('prints each service and real server with counters and rates', async () => {
    const ex = await load('stats');
    const svc = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
    await ipvs.addService({ ...svc, scheduler: 'rr' });
    await ipvs.addDestination(svc, { address: '192.168.1.116', weight: 2 });
    kernel.setStats({ ...svc }, { conns: 12, cps: 3, inbps: 2048 });
    kernel.setStats({ ...svc, destination: '192.168.1.116' }, { conns: 12, cps: 3, inpps: 40, outbps: 1_500_000, activeConns: 4, inactiveConns: 8 });
    await ex.main(ipvs, { ...ex.parseOptions(['--once']) }, { log });
    const text = lines.join('\n');
    expect(lines[0]).toBe('IPVS services and real servers: connections so far and per-second rates now.');
    expect(text).toMatch(/TCP 192\.168\.1\.110:80 +4 +8 +12 +3 .* 2\.0 kB\/s/);
    expect(text).toMatch(/ -> 192\.168\.1\.116:80 +2 +4 +8 +12 +3 +40 .* 1\.5 MB\/s/);
  });

  it('a service of another protocol (another tool\'s, which Linux keeps) is printed with its number', async () => {
    const ex = await load('stats');
    await addForeignServices(kernel.transport(), GRE_AND_ESP);
    await ex.main(ipvs, { ...ex.parseOptions(['--once']) }, { log });
    const text = lines.join('\n');
    expect(text).toMatch(/proto 47 10\.9\.9\.9:80 +0 +0 +0 /);
    expect(text).toMatch(/proto 50 10\.9\.9\.9:0 +0 +0 +0 /);
    expect(text).toMatch(/ -> 10\.9\.9\.10:80 +1 +0 +0 +0 /);
  });

  it('a fwmark service names its family when IPv6, as ipvsadm does (FWM 10 and FWM 10 IPv6 are two services)', async () => {
    const ex = await load('stats');
    await ipvs.addService({ fwmark: 10, scheduler: 'rr' });
    await ipvs.addService({ fwmark: 10, family: 'ipv6', scheduler: 'rr' });
    await ipvs.addDestination({ fwmark: 10, family: 'ipv6' }, { address: '2001:db8::10', weight: 3 });
    await ex.main(ipvs, { ...ex.parseOptions(['--once']) }, { log });
    const rows = lines.join('\n').split('\n');
    expect(rows.filter((l) => /^FWM 10 /.test(l))).toHaveLength(2);
    expect(rows.some((l) => /^FWM 10 +0 +0 +0 /.test(l))).toBe(true);
    expect(rows.some((l) => /^FWM 10 IPv6 +0 +0 +0 /.test(l))).toBe(true);
    expect(rows[rows.findIndex((l) => l.startsWith('FWM 10 IPv6')) + 1]).toMatch(/^ {2}-> \[2001:db8::10\]:0 +3 /);
  });

  it('keeps printing snapshots every interval, with the newest numbers, until stopped', async () => {
    const ex = await load('stats');
    const svc = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
    await ipvs.addService({ ...svc, scheduler: 'rr' });
    const stop = new AbortController();
    const snapshots = (): string[] => lines.filter((l) => l.includes('TCP 192.168.1.110:80'));
    const running = ex.main(ipvs, ex.parseOptions(['--interval', '20']), { signal: stop.signal, log });
    await vi.waitFor(() => expect(snapshots().length).toBeGreaterThanOrEqual(1));
    kernel.setStats({ ...svc }, { conns: 7, cps: 2 });
    await vi.waitFor(() => expect(snapshots().at(-1)).toMatch(/TCP 192\.168\.1\.110:80 +0 +0 +7 +2 /));
    stop.abort();
    await running;
    expect(lines[0]).toMatch(/^IPVS services and real servers every 0\.02 s: .* Ctrl-C to stop\.$/);
    const count = snapshots().length;
    await new Promise((r) => setTimeout(r, 60));
    expect(snapshots().length).toBe(count); // stopped means stopped
  });

  it('running for long leaves one abort listener on the signal, not one per snapshot', async () => {
    const ex = await load('stats');
    const stop = new AbortController();
    let snapshots = 0;
    const running = ex.main(ipvs, ex.parseOptions(['--interval', '1']), { signal: stop.signal, log: () => void snapshots++ });
    await vi.waitFor(() => expect(snapshots).toBeGreaterThanOrEqual(40), { timeout: 5000 });
    expect(getEventListeners(stop.signal, 'abort').length).toBeLessThanOrEqual(1);
    stop.abort();
    await running;
  });

  it('--interval is a whole number of milliseconds a timer can hold (a longer one would fire at once)', async () => {
    const ex = await load('stats');
    expect(ex.parseOptions(['--interval', '2147483647']).interval).toBe(2147483647);
    for (const bad of ['0', '-5', '1.5', 'soon', '2147483648', 'Infinity']) expect(() => ex.parseOptions([`--interval=${bad}`])).toThrow(`--interval ${bad}:`);
  });
});
