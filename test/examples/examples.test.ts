// Every example in examples/ run against the fake kernel: each exports main(ipvs, options) (and
// cleanup) beside the few lines that open the real kernel when it runs as a program, so these tests
// import main and hand it a client on a FakeKernel. The examples import from 'ipvs' (the package's
// self-reference, dist/ after a build); here 'ipvs' is the source, so no build is needed. The firewall
// commands of the fwmark example are recorded, not run. test/kernel/examples.kernel.test.ts runs the same
// files as real processes on the real kernel, against the built package.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { ManualScheduler } from '../../src/health/index.js';
import { FakeKernel } from '../../src/testing/index.js';

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

describe('fwmark.js', () => {
  it('builds the fwmark service and marks both ports with one firewall rule (recorded, not run)', async () => {
    const ex = await load('fwmark');
    const ran: string[] = [];
    const exec = async (cmd: string, args: string[]) => void ran.push([cmd, ...args].join(' '));
    const options = ex.parseOptions(['--marker', 'iptables-legacy']);
    await ex.main(ipvs, options, log, exec);
    expect(await table()).toEqual(['fwmark 10 rr persistent 60', '  -> 192.168.1.116:0 route 1', '  -> 192.168.1.117:0 route 1']);
    expect(ran).toEqual(['iptables-legacy -t mangle -A PREROUTING -d 192.168.1.110 -p tcp -m multiport --dports 80,443 -j MARK --set-mark 10']);
    await ex.cleanup!(ipvs, options, log, exec);
    expect(ran[1]).toBe('iptables-legacy -t mangle -D PREROUTING -d 192.168.1.110 -p tcp -m multiport --dports 80,443 -j MARK --set-mark 10');
    expect(await table()).toEqual([]);
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
});
