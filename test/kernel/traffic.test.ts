// Proof with real traffic, on the real kernel (UML sandbox: `node scripts/sandbox.mjs --kernel-suite
// test/kernel/traffic.test.ts`): clients, a director and real servers in their own network namespaces
// (test/kernel/traffic/topology.ts), HTTP over real TCP through IPVS, the table programmed by this
// library (and by the examples themselves). It shows: round robin; PCC, PPC and fwmark persistence with
// the templates in /proc/net/ip_vs_conn and `ipvsadm -Lnc`; NAT, direct routing and IP tunnel (IPIP); counters that match
// what was sent (and a service's counters equal to the sum of its real servers'); `ipvs health`
// quiescing a stopped server, restoring it and falling back to the sorry server; the checker against the
// seed's script (an open connection to a deleted server hangs, to a quiesced one it finishes; a server
// already down is quiesced at start); a persistent service, whose clients weight 0 does not move, so the
// checker removes a failed server there; and a master/backup pair of sync daemons carrying connections and
// templates to the standby. The examples as programs: examples.kernel.test.ts.

import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Ipvs } from '../../src/client.js';
import type { ServiceKey } from '../../src/ipvs/types.js';
import { parseConnTable, type ConnEntry } from './traffic/conn-table.js';
import { LAB_SETUP_MS, run, waitFor } from './traffic/net.js';
import { buildTopology, CLIENT1, CLIENT2, DR_VIP, LAN_CLIENT, RS1, RS2, vip, type Topology } from './traffic/topology.js';

vi.mock('ipvs', async () => ({
  ...(await import('../../src/index.js')),
  ...(await import('../../src/health/index.js')),
  ...(await import('../../src/reconcile/index.js')),
}));

const onKernel = process.env.IPVS_KERNEL === '1';
const ADDRESS: Record<string, string> = { rs1: RS1, rs2: RS2 };
/** Waits for the kernel's estimator (a tick every 2 s, late on a loaded host). */
const STATS_WAIT_MS = 20_000;
/**
 * How long an `ipvs health` child (Node compiling the sources with tsx inside User-Mode Linux) may take to
 * start: tens of seconds on a loaded host; the tests that start one get a longer test timeout to match.
 */
const CHECKER_START_MS = 90_000;
const CHECKER_TEST_MS = 300_000;
/**
 * A health check's timeout where no check is meant to time out: servers that are sick answer 503 and
 * stopped ones refuse at once, so only a starved machine ever reaches it. At 300 ms a host loaded enough
 * to hold the guest's processes off the CPU could fail a healthy server's checks twice in a row, and the
 * checker would take it out mid-scenario.
 */
const CHECK_TIMEOUT_MS = 5000;
/**
 * How long to wait for a change made in the background (the checker acting on its checks, a sync daemon's
 * message): a few check intervals or a couple of seconds on a quiet host. Polling ends as soon as it shows, so
 * only a loaded host, or a change that never comes, waits long.
 */
const CHANGE_WAIT_MS = 30_000;
/** 'rs1 8080' -> 'rs1' */
const server = (body: string): string => body.split(' ')[0]!;

interface Example {
  main: (...args: unknown[]) => Promise<unknown>;
  cleanup: (...args: unknown[]) => Promise<unknown>;
}
const example = async (name: string): Promise<Example> => (await import(new URL(`../../examples/${name}.js`, import.meta.url).href)) as Example;

describe.skipIf(!onKernel)('real traffic through IPVS', () => {
  let t: Topology;
  let ipvs: Ipvs;
  const quiet = (): void => {};

  beforeAll(async () => {
    t = await buildTopology();
    ipvs = await Ipvs.open({ netns: t.dir });
  }, LAB_SETUP_MS);

  afterAll(async () => {
    await ipvs?.close();
    await t?.lab.cleanup();
  });

  const conns = (ns = t.dir): ConnEntry[] => parseConnTable(t.lab.exec(ns, 'cat', '/proc/net/ip_vs_conn'));
  const templates = (virtual: string, ns = t.dir): ConnEntry[] => conns(ns).filter((c) => c.template && c.virtual === virtual);
  /**
   * Counters are summed by the kernel's estimator every 2 s: wait for them to show `n` connections (a tick
   * comes late on a loaded host, and how late is not what these tests are about).
   */
  const statsAfter = async (key: ServiceKey, n: number) =>
    waitFor(`${n} connections in the stats of ${JSON.stringify(key)}`, async () => {
      const svc = await ipvs.service(key);
      return svc.stats.conns === BigInt(n) ? { svc, dests: await ipvs.destinations(key) } : undefined;
    }, STATS_WAIT_MS, 250);

  it('round robin alternates the real servers (NAT), and the counters match', async () => {
    const key = { protocol: 'tcp', address: vip(0), port: 80 } as const;
    await ipvs.addService({ ...key, scheduler: 'rr' });
    for (const address of [RS1, RS2]) await ipvs.addDestination(key, { address, forwarding: 'masq' });
    const got = (await t.client.get([`http://${vip(0)}/`], { count: 6 })).map(server);
    expect(new Set(got)).toEqual(new Set(['rs1', 'rs2']));
    for (let i = 1; i < got.length; i++) expect(got[i]).not.toBe(got[i - 1]);
    // Each connection its own IPVS entry, from a port below the ephemeral range that the client had not used
    // (agent.mjs): a reused port would meet an earlier entry instead of the scheduler.
    const ports = conns().filter((c) => !c.template && c.virtual === vip(0)).map((c) => c.clientPort);
    expect(new Set(ports).size).toBe(6);
    expect(ports.every((p) => p >= 20_000 && p < 32_768), JSON.stringify(ports)).toBe(true);
    const { svc, dests } = await statsAfter(key, 6);
    for (const d of dests) expect(d.stats.conns).toBe(3n);
    expect(svc.stats.inPackets).toBeGreaterThanOrEqual(6n * 4n); // SYN, ACK, request, FIN/ACK at least
    expect(svc.stats.outPackets).toBeGreaterThan(0n); // NAT: replies pass the director
    // Every packet and byte the service counted was counted for exactly one of its real servers.
    for (const field of ['conns', 'inPackets', 'outPackets', 'inBytes', 'outBytes'] as const) {
      expect(dests.reduce((sum, d) => sum + d.stats[field], 0n), field).toBe(svc.stats[field]);
    }
    // Six answers passed back through the director, each a status line, headers and a body "rsN 80".
    expect(svc.stats.outBytes).toBeGreaterThan(6n * BigInt('HTTP/1.1 200 OK\r\n\r\nrs1 80'.length));
    expect(svc.stats.inBytes).toBeGreaterThan(6n * BigInt(`GET / HTTP/1.1\r\nHost: ${vip(0)}\r\n\r\n`.length));
  });

  it('PCC (examples/pcc.js): every connection of a client, to any port, lands on one server; another client elsewhere', async () => {
    const pcc = await example('pcc');
    const options = { vip: vip(1), servers: [RS1, RS2], forwarding: 'masq', timeout: 600 };
    await pcc.main(ipvs, options, quiet);
    const urls = [`http://${vip(1)}:80/`, `http://${vip(1)}:8080/`];
    const first = await t.client.get(urls, { count: 3, localAddress: CLIENT1 });
    const x = server(first[0]!);
    expect(first).toEqual([`${x} 80`, `${x} 8080`, `${x} 80`, `${x} 8080`, `${x} 80`, `${x} 8080`]); // ports kept (port-0 destinations)
    const second = await t.client.get(urls, { count: 2, localAddress: CLIENT2 });
    const y = server(second[0]!);
    expect(second.map(server)).toEqual([y, y, y, y]);
    expect(y).not.toBe(x); // round robin gave the second client's template to the other server
    // The templates ipvsadm -Lnc shows: client:0 -> VIP:0 -> server:0, counting down from 600 s.
    const tpl = templates(vip(1));
    expect(tpl.map((c) => `${c.protocol} ${c.client}:${c.clientPort} ${c.virtual}:${c.virtualPort} ${c.destination}:${c.destinationPort}`).sort()).toEqual(
      [`TCP ${CLIENT1}:0 ${vip(1)}:0 ${ADDRESS[x]}:0`, `TCP ${CLIENT2}:0 ${vip(1)}:0 ${ADDRESS[y]}:0`].sort(),
    );
    for (const c of tpl) expect(c.expires).toBeGreaterThan(500);
    // The same templates as ipvsadm -Lnc lists them.
    const listed = t.lab.exec(t.dir, 'ipvsadm', '-Lnc');
    for (const [client, s] of [[CLIENT1, x], [CLIENT2, y]] as const) {
      expect(listed).toMatch(new RegExp(`TCP\\s+\\d\\d:\\d\\d\\s+\\S+\\s+${client}:0\\s+${vip(1)}:0\\s+${ADDRESS[s]}:0`));
    }
    const { dests } = await statsAfter({ protocol: 'tcp', address: vip(1), port: 0 }, 10);
    expect(Object.fromEntries(dests.map((d) => [d.address, d.stats.conns]))).toEqual({ [ADDRESS[x]!]: 6n, [ADDRESS[y]!]: 4n });
    await pcc.cleanup(ipvs, options, quiet);
    expect(await ipvs.hasService({ protocol: 'tcp', address: vip(1), port: 0 })).toBe(false);
  });

  it('PPC (examples/ppc.js): affinity per port, so one client may be on different servers for different ports', async () => {
    const ppc = await example('ppc');
    const options = { vip: vip(2), ports: [80, 8080], servers: [RS1, RS2], forwarding: 'masq', timeout: 600 };
    await ppc.main(ipvs, options, quiet);
    // Both services were built alike, so their round robins pick in the same order. Another client takes
    // the first pick of the 8080 service; our client then gets the first pick on 80 and the second on 8080.
    await t.client.get([`http://${vip(2)}:8080/`], { localAddress: CLIENT2 });
    const on80 = (await t.client.get([`http://${vip(2)}:80/`], { count: 3, localAddress: CLIENT1 })).map(server);
    const on8080 = (await t.client.get([`http://${vip(2)}:8080/`], { count: 3, localAddress: CLIENT1 })).map(server);
    expect(new Set(on80).size).toBe(1);
    expect(new Set(on8080).size).toBe(1);
    expect(on80[0]).not.toBe(on8080[0]);
    const mine = templates(vip(2)).filter((c) => c.client === CLIENT1);
    expect(mine.map((c) => `${c.virtualPort} ${c.destination}`).sort()).toEqual([`80 ${ADDRESS[on80[0]!]}`, `8080 ${ADDRESS[on8080[0]!]}`].sort());
    await ppc.cleanup(ipvs, options, quiet);
  });

  it('fwmark (examples/fwmark.js, iptables-legacy marking): both ports of one client on one server', async () => {
    const fwmark = await example('fwmark');
    const options = { vip: vip(3), ports: [80, 8080], mark: 10, timeout: 60, servers: [RS1, RS2], forwarding: 'masq', marker: 'iptables-legacy' };
    const exec = async (cmd: string, args: string[]) => t.lab.exec(t.dir, cmd, ...args);
    await fwmark.main(ipvs, options, quiet, exec);
    expect(t.lab.exec(t.dir, 'iptables-legacy', '-t', 'mangle', '-S', 'PREROUTING')).toContain('--set-xmark 0xa/0xffffffff');
    const urls = [`http://${vip(3)}:80/`, `http://${vip(3)}:8080/`];
    const one = (await t.client.get(urls, { count: 2, localAddress: CLIENT1 })).map(server);
    const two = (await t.client.get(urls, { count: 2, localAddress: CLIENT2 })).map(server);
    expect(new Set(one).size).toBe(1);
    expect(new Set(two).size).toBe(1);
    expect(one[0]).not.toBe(two[0]);
    // A fwmark template: protocol IP, the mark in the virtual address field, no ports.
    const tpl = conns().filter((c) => c.template && c.protocol === 'IP' && c.virtual === '0.0.0.10');
    expect(tpl.map((c) => `${c.client} ${c.destination}`).sort()).toEqual([`${CLIENT1} ${ADDRESS[one[0]!]}`, `${CLIENT2} ${ADDRESS[two[0]!]}`].sort());
    expect(tpl.every((c) => c.expires <= 60)).toBe(true);
    await fwmark.cleanup(ipvs, options, quiet, exec);
    expect(t.lab.exec(t.dir, 'iptables-legacy', '-t', 'mangle', '-S', 'PREROUTING')).not.toContain('0xa');
  });

  it('direct routing: the director forwards requests, the servers answer the client themselves', async () => {
    const key = { protocol: 'tcp', address: DR_VIP, port: 80 } as const;
    await ipvs.addService({ ...key, scheduler: 'rr' });
    for (const address of [RS1, RS2]) await ipvs.addDestination(key, { address, forwarding: 'route' });
    const got = (await t.lan.get([`http://${DR_VIP}/`], { count: 4, localAddress: LAN_CLIENT })).map(server);
    expect(got.filter((s) => s === 'rs1')).toHaveLength(2);
    expect(got.filter((s) => s === 'rs2')).toHaveLength(2);
    const { svc, dests } = await statsAfter(key, 4);
    expect(svc.stats.inPackets).toBeGreaterThan(0n);
    expect(svc.stats.outPackets).toBe(0n); // replies never came back through the director
    expect(dests.map((d) => d.forwarding)).toEqual(['route', 'route']);
  });

  it('IP tunnel: the director wraps requests in IPIP, the servers unwrap them and answer the client themselves', async () => {
    // Each real server holds the tunnel VIP on its tunl0 (the ipip module's fallback device, one per
    // namespace) with reverse-path filtering off: unwrapped packets arrive on tunl0 from a client routed via e0.
    run('modprobe', ['ipip']);
    const TUN_VIP = '10.9.2.101';
    t.lab.ip(t.dir, 'addr', 'add', `${TUN_VIP}/32`, 'dev', 'brs');
    for (const ns of [t.lab.name('rs1'), t.lab.name('rs2')]) {
      t.lab.ip(ns, 'link', 'set', 'tunl0', 'up');
      t.lab.ip(ns, 'addr', 'add', `${TUN_VIP}/32`, 'dev', 'tunl0');
      t.lab.sysctl(ns, 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.tunl0.rp_filter=0');
    }
    const key = { protocol: 'tcp', address: TUN_VIP, port: 80 } as const;
    await ipvs.addService({ ...key, scheduler: 'rr' });
    for (const address of [RS1, RS2]) await ipvs.addDestination(key, { address, forwarding: 'tunnel' });
    const answers = await t.lan.get([`http://${TUN_VIP}/`], { count: 4, localAddress: LAN_CLIENT });
    const got = answers.map(server);
    // One CI run (2026-12-06, before the agent gave every connection a port of its own) saw a single rs1 among
    // four answers, in a test shorter than a passing one. Round robin gives 2 and 2 only if every SYN is
    // scheduled. Through a tunnel IPVS sees only the client's half of a connection, so a closed one stays in
    // FIN_WAIT for 2 min, and conn_reuse_mode 1 (the default) reschedules a SYN that meets an entry only in
    // TIME_WAIT or CLOSE: a SYN from a port used before follows the old entry to its server, without a turn of
    // the scheduler. Run here with one port used twice (the first and the third of four), the answers were rs2,
    // rs1, rs2, rs2, none slow, and the director held three entries for four connections: that run's signature,
    // with the random ports the agent used then. So each connection must have its own entry, pointing at the
    // server that answered it; a failure shows the answers, the client's neighbours (who it took the VIP's MAC to
    // be) and the director's entries.
    const entries = conns().filter((c) => !c.template && c.virtual === TUN_VIP).sort((a, b) => a.clientPort - b.clientPort);
    const picked = entries.map((c) => Object.keys(ADDRESS).find((n) => ADDRESS[n] === c.destination) ?? c.destination);
    const balanced = got.filter((s) => s === 'rs1').length === 2 && got.filter((s) => s === 'rs2').length === 2;
    const detail = balanced && picked.join() === got.join()
      ? ''
      : `${JSON.stringify(answers)}\nlan neighbours:\n${t.lab.ip(t.lab.name('lan'), 'neigh')}\nIPVS connections:\n${t.lab.exec(t.dir, 'ipvsadm', '-Lnc')}`;
    expect(picked, detail).toEqual(got);
    expect(got.filter((s) => s === 'rs1'), detail).toHaveLength(2);
    expect(got.filter((s) => s === 'rs2'), detail).toHaveLength(2);
    const { svc, dests } = await statsAfter(key, 4);
    expect(svc.stats.outPackets).toBe(0n); // replies went straight to the client
    expect(dests.map((d) => d.forwarding)).toEqual(['tunnel', 'tunnel']);
    // The servers really received IPIP: their tunl0 counted the unwrapped packets.
    for (const ns of [t.lab.name('rs1'), t.lab.name('rs2')]) {
      const stats = JSON.parse(t.lab.ip(ns, '-s', '-j', 'link', 'show', 'tunl0')) as { stats64?: { rx?: { packets?: number } } }[];
      expect(stats[0]?.stats64?.rx?.packets ?? 0).toBeGreaterThan(0);
    }
  });

  it('ipvs health: quiesces a stopped server within fall x interval, restores it, falls back to 127.0.0.1, loses nothing', async () => {
    const key = { protocol: 'tcp', address: vip(4), port: 80 } as const;
    const intervalMs = 250;
    const fall = 2;
    const jitterMs = 50;
    const dir = mkdtempSync(join(tmpdir(), 'ipvs-traffic-'));
    const config = join(dir, 'health.json');
    writeFileSync(
      config,
      JSON.stringify({
        services: [
          {
            ...key,
            scheduler: 'wrr',
            destinations: [{ address: RS1, forwarding: 'masq', weight: 2 }, { address: RS2, forwarding: 'masq', weight: 1 }],
            check: { type: 'http', path: '/', intervalMs, timeoutMs: CHECK_TIMEOUT_MS, rise: 2, fall, jitterMs },
            sorryServer: { address: '127.0.0.1' },
          },
        ],
      }),
    );
    const child = t.lab.spawn(t.dir, process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./traffic/health-child.ts', import.meta.url)), config]);
    const out: string[] = [];
    readline.createInterface({ input: child.stdout! }).on('line', (l) => out.push(l));
    readline.createInterface({ input: child.stderr! }).on('line', (l) => out.push(l));
    const table = async (): Promise<string> =>
      (await ipvs.destinations(key).catch(() => [])).map((d) => `${d.address} ${d.forwarding} ${d.weight}`).sort().join(', ');
    const traffic = async (n: number): Promise<string[]> => (await t.client.get([`http://${vip(4)}/`], { count: n, localAddress: CLIENT1 })).map(server);
    try {
      await waitFor('the checker to start', () => out.some((l) => l.endsWith('running; stop with Ctrl-C or SIGTERM')), CHECKER_START_MS);
      expect(await table()).toBe(`${RS1} masq 2, ${RS2} masq 1`);
      expect(new Set(await traffic(6))).toEqual(new Set(['rs1', 'rs2']));

      // rs1 stops answering: quiesced after `fall` failed checks (the log below says so), not before. A stopped
      // server refuses at once, so no check waits for its timeout: on a quiet host `fall` intervals (with their
      // jitter) and the slack of UML's slow syscalls make it. A loaded host adds seconds to that, so the upper
      // bound tells refusals from timeouts only: checks run one after the other, and `fall` of them that each
      // waited for its timeout would take `fall` timeouts at least.
      const stoppedAt = Date.now();
      await t.rs1.stopServing();
      await waitFor('rs1 quiesced', async () => (await table()) === `${RS1} masq 0, ${RS2} masq 1`, CHANGE_WAIT_MS, 50);
      const tookMs = Date.now() - stoppedAt;
      expect(tookMs).toBeGreaterThanOrEqual(intervalMs * (fall - 1) - 50);
      expect(tookMs).toBeLessThan(fall * CHECK_TIMEOUT_MS);
      expect(await traffic(4)).toEqual(['rs2', 'rs2', 'rs2', 'rs2']);

      // It comes back: its configured weight is restored and traffic returns to it.
      await t.rs1.serve('rs1', [80, 8080]);
      await waitFor('rs1 restored', async () => (await table()) === `${RS1} masq 2, ${RS2} masq 1`, CHANGE_WAIT_MS, 50);
      expect(await traffic(6)).toContain('rs1');

      // Both stop: the sorry server (127.0.0.1, the director itself) answers.
      await Promise.all([t.rs1.stopServing(), t.rs2.stopServing()]);
      await waitFor('the sorry server in', async () => (await table()) === `${RS1} masq 0, ${RS2} masq 0, 127.0.0.1 route 1`, CHANGE_WAIT_MS, 50);
      expect(await traffic(3)).toEqual(['sorry', 'sorry', 'sorry']);

      // One returns: it is restored and the sorry server leaves.
      await t.rs2.serve('rs2', [80, 8080]);
      await waitFor('the sorry server out', async () => (await table()) === `${RS1} masq 0, ${RS2} masq 1`, CHANGE_WAIT_MS, 50);
      expect(await traffic(3)).toEqual(['rs2', 'rs2', 'rs2']);
      await t.rs1.serve('rs1', [80, 8080]);
      await waitFor('everything back', async () => (await table()) === `${RS1} masq 2, ${RS2} masq 1`, CHANGE_WAIT_MS, 50);

      // SIGTERM: a clean stop that leaves the table as it is.
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await table()).toBe(`${RS1} masq 2, ${RS2} masq 1`);
      const log = out.join('\n');
      expect(log).toMatch(/real server 10\.9\.2\.11:80 is DOWN: 2 checks failed in a row \(last: connection refused\)/);
      expect(log).toMatch(/quiesced 10\.9\.2\.11:80 \(weight 2 -> 0/);
      expect(log).toMatch(/real server 10\.9\.2\.11:80 is UP again/);
      expect(log).toMatch(/every real server is down: added the sorry server 127\.0\.0\.1:80 \(route, weight 1\)/);
      expect(log).toMatch(/a real server is back: removed the sorry server 127\.0\.0\.1:80/);
      expect(log).toMatch(/stopped; the table was left as it is/);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- ipvs health output:\n${out.join('\n')}`, { cause: err });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await Promise.all([t.rs1.serve('rs1', [80, 8080]), t.rs2.serve('rs2', [80, 8080])]);
      rmSync(dir, { recursive: true, force: true });
    }
  }, CHECKER_TEST_MS);

  /** Start `ipvs health CONFIG` (the CLI, from source) in the director's namespace. */
  function startHealth(config: object): { out: string[]; child: ReturnType<Topology['lab']['spawn']>; running: Promise<unknown>; stop(): Promise<number | null>; done(): void } {
    const dir = mkdtempSync(join(tmpdir(), 'ipvs-traffic-'));
    const file = join(dir, 'health.json');
    writeFileSync(file, JSON.stringify(config));
    const child = t.lab.spawn(t.dir, process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./traffic/health-child.ts', import.meta.url)), file]);
    const out: string[] = [];
    readline.createInterface({ input: child.stdout! }).on('line', (l) => out.push(l));
    readline.createInterface({ input: child.stderr! }).on('line', (l) => out.push(l));
    return {
      out,
      child,
      running: waitFor('the checker to start', () => out.some((l) => l.endsWith('running; stop with Ctrl-C or SIGTERM')), CHECKER_START_MS),
      stop: () => {
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        child.kill('SIGTERM');
        return exited;
      },
      done: () => {
        if (child.exitCode === null) child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  /**
   * A checker scenario on `key`: the checker's output is added to any failure; afterwards the checker is
   * stopped, both servers are healthy again and the service is deleted.
   */
  async function healthScenario(key: ServiceKey, body: (start: typeof startHealth) => Promise<void>): Promise<void> {
    let health: ReturnType<typeof startHealth> | undefined;
    try {
      await body((config) => (health = startHealth(config)));
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- ipvs health output:\n${health?.out.join('\n') ?? '(not started)'}`, { cause: err });
    } finally {
      health?.done();
      await Promise.all([t.rs1.setSick(false), t.rs2.setSick(false)]);
      await ipvs.deleteService(key).catch(() => {});
    }
  }

  it("better than the seed's script: a deleted server's open connection hangs, a quiesced one's finishes; a server already down when the checker starts is quiesced after `fall` checks", async () => {
    const v = vip(12);
    const key = { protocol: 'tcp', address: v, port: 80 } as const;
    const agents = { rs1: t.rs1, rs2: t.rs2 } as const;
    const url = `http://${v}/keep`;
    const table = async (): Promise<string> => (await ipvs.destinations(key)).map((d) => `${d.address} ${d.forwarding} ${d.weight}`).sort().join(', ');
    // The table as the script keeps it: both servers in with weight 1.
    await ipvs.addService({ ...key, scheduler: 'rr' });
    for (const address of [RS1, RS2]) await ipvs.addDestination(key, { address, forwarding: 'masq', weight: 1 });
    await healthScenario(key, async (start) => {
      // 1. The script on a failed curl: `ipvsadm -d`. A client's open connection to that server now hangs
      //    (the kernel drops its packets: the destination is gone), however healthy the server really is.
      const opened = await t.client.sessionGet('script', url, { localAddress: CLIENT2 });
      expect(opened).toMatch(/^rs[12] 80 new-connection$/);
      const victim = ADDRESS[server(opened)]!;
      t.lab.exec(t.dir, 'ipvsadm', '-d', '-t', `${v}:80`, '-r', `${victim}:80`);
      expect(await t.client.sessionGet('script', url, { localAddress: CLIENT2, timeoutMs: 1500 })).toBe('error: TIMEOUT');
      await t.client.sessionClose('script');
      t.lab.exec(t.dir, 'ipvsadm', '-a', '-t', `${v}:80`, '-r', `${victim}:80`, '-m', '-w', '1'); // the script's re-add

      // 2. The checker starts on that table while rs2 already fails its check. The table serves rs2 at its
      //    configured weight, so it starts up (one lost check at a restart must not take a server out) and is
      //    quiesced after `fall` (2) failed checks; nothing else is touched.
      await t.rs2.setSick(true);
      const health = start({
        services: [
          {
            ...key,
            scheduler: 'rr',
            destinations: [{ address: RS1, forwarding: 'masq' }, { address: RS2, forwarding: 'masq' }],
            check: { type: 'http', path: '/health', intervalMs: 200, timeoutMs: CHECK_TIMEOUT_MS, rise: 2, fall: 2, jitterMs: 20 },
          },
        ],
      });
      await health.running;
      await waitFor('rs2 quiesced', async () => (await table()) === `${RS1} masq 1, ${RS2} masq 0`, CHANGE_WAIT_MS, 50);
      // The checker logs a change once the kernel has answered it, so the table can show it before the line
      // has come through the pipe (seen on a loaded host: the count below read 0).
      await waitFor('the quiesce logged', () => health.out.some((l) => /: quiesced /.test(l)), CHANGE_WAIT_MS, 50);
      expect(health.out.join('\n')).toMatch(/real server 10\.9\.2\.12:80 is up: the table already serves it, and its first check failed \(1 of 2 before it counts as down: HTTP 503, expected 2xx or 3xx\)/);
      expect(health.out.join('\n')).toMatch(/real server 10\.9\.2\.12:80 is DOWN: 2 checks failed in a row/);
      expect(health.out.filter((l) => /: (quiesced|restored|added|removed|set) /.test(l))).toHaveLength(1);
      expect((await t.client.get([`http://${v}/`], { count: 4, localAddress: CLIENT1 })).map(server)).toEqual(['rs1', 'rs1', 'rs1', 'rs1']);
      await t.rs2.setSick(false);
      await waitFor('rs2 restored', async () => (await table()) === `${RS1} masq 1, ${RS2} masq 1`, CHANGE_WAIT_MS, 50);

      // 3. A server fails its check while a client holds a connection to it: quiesced (weight 0), the
      //    open connection still gets its answers from it; new connections go to the other server.
      const first = await t.client.sessionGet('held', url, { localAddress: CLIENT1 });
      const held = server(first) as keyof typeof agents;
      const other = held === 'rs1' ? 'rs2' : 'rs1';
      await agents[held].setSick(true);
      await waitFor(`${held} quiesced`, async () => (await table()).includes(`${ADDRESS[held]} masq 0`), CHANGE_WAIT_MS, 50);
      expect(await t.client.sessionGet('held', url, { localAddress: CLIENT1 })).toBe(`${held} 80 same-connection`);
      expect(conns().filter((c) => !c.template && c.client === CLIENT1 && c.virtual === v && c.state === 'ESTABLISHED').map((c) => c.destination)).toContain(ADDRESS[held]);
      expect((await t.client.get([`http://${v}/`], { count: 4, localAddress: CLIENT2 })).map(server)).toEqual([other, other, other, other]);
      await t.client.sessionClose('held');
      await agents[held].setSick(false);
      await waitFor(`${held} restored`, async () => (await table()) === `${RS1} masq 1, ${RS2} masq 1`, CHANGE_WAIT_MS, 50);
      expect(await health.stop()).toBe(0);
    });
  }, CHECKER_TEST_MS);

  it('a persistent service: weight 0 keeps a client on its server (the kernel follows the template), so the checker removes a failed one by default and the client moves', async () => {
    const v = vip(13);
    const key = { protocol: 'tcp', address: v, port: 80 } as const;
    const agents = { rs1: t.rs1, rs2: t.rs2 } as const;
    const persistence = { timeout: 600 };
    const table = async (): Promise<string> => (await ipvs.destinations(key)).map((d) => `${d.address} ${d.forwarding} ${d.weight}`).sort().join(', ');
    // The last answers as they came ("error: CODE" included), for the failure messages. One CI run (2026-12-06,
    // a loaded machine) saw the first connection after the removal fail. Two ways it could, both closed now: the
    // checks' 300 ms timeout, which a starved machine could miss twice in a row and so take the other server
    // out too; and a source port an earlier connection of this client had used, whose IPVS entry still names
    // the removed server, so the kernel drops the new SYN and its resends while that entry lives (the agent
    // now never reuses a port).
    let raw: string[] = [];
    const from1 = async (n: number): Promise<string[]> => {
      raw = await t.client.get([`http://${v}/`], { count: n, localAddress: CLIENT1 });
      return raw.map(server);
    };
    await ipvs.addService({ ...key, scheduler: 'rr', persistence });
    for (const address of [RS1, RS2]) await ipvs.addDestination(key, { address, forwarding: 'masq' });
    await healthScenario(key, async (start) => {
      // The kernel's rule, with its default sysctl: a quiesced server keeps the clients its templates name.
      expect(t.lab.exec(t.dir, 'sysctl', '-n', 'net.ipv4.vs.expire_quiescent_template').trim()).toBe('0');
      const pinned = (await from1(1))[0] as keyof typeof agents;
      const other = pinned === 'rs1' ? 'rs2' : 'rs1';
      await ipvs.updateDestination(key, { address: ADDRESS[pinned]!, forwarding: 'masq', weight: 0 });
      expect(await from1(3), JSON.stringify(raw)).toEqual([pinned, pinned, pinned]);
      await ipvs.updateDestination(key, { address: ADDRESS[pinned]!, forwarding: 'masq', weight: 1 });

      // The checker, onFailure left to its default: the pinned server fails its check, is removed, and the
      // client's next connections go to the other server; once healthy again it is added back.
      const health = start({
        services: [
          {
            ...key,
            scheduler: 'rr',
            persistence,
            destinations: [{ address: RS1, forwarding: 'masq' }, { address: RS2, forwarding: 'masq' }],
            check: { type: 'http', path: '/health', intervalMs: 200, timeoutMs: CHECK_TIMEOUT_MS, rise: 2, fall: 2, jitterMs: 20 },
          },
        ],
      });
      await health.running;
      expect(health.out.join('\n')).toContain(`tcp ${v}:80: checking 2 real servers`);
      expect(health.out.join('\n')).toContain('a server that is down is removed');
      await agents[pinned].setSick(true);
      await waitFor(`${pinned} removed`, async () => (await table()) === `${ADDRESS[other]} masq 1`, CHANGE_WAIT_MS, 50);
      expect(await from1(3), JSON.stringify(raw)).toEqual([other, other, other]);
      // Logged once the kernel answered, so possibly after the table showed it (see the scenario above).
      await waitFor('the removal logged', () => health.out.some((l) => l.includes(`tcp ${v}:80: removed ${ADDRESS[pinned]}:80`)), CHANGE_WAIT_MS, 50);
      await agents[pinned].setSick(false);
      await waitFor(`${pinned} added back`, async () => (await table()) === `${RS1} masq 1, ${RS2} masq 1`, CHANGE_WAIT_MS, 50);
      expect(await health.stop()).toBe(0);
    });
  }, CHECKER_TEST_MS);

  it('two directors: the backup sync daemon receives the master\'s connections and persistence templates', async () => {
    const backup = await Ipvs.open({ netns: t.dir2 });
    try {
      await ipvs.startDaemon({ state: 'master', interface: 'sync0', syncId: 9 });
      await backup.startDaemon({ state: 'backup', interface: 'sync1', syncId: 9 });
      expect(await ipvs.daemons()).toEqual([expect.objectContaining({ state: 'master', interface: 'sync0', syncId: 9 })]);
      expect(await backup.daemons()).toEqual([expect.objectContaining({ state: 'backup', interface: 'sync1', syncId: 9 })]);
      const key = { protocol: 'tcp', address: vip(5), port: 0 } as const;
      await ipvs.addService({ ...key, scheduler: 'rr', persistence: { timeout: 300 } });
      for (const address of [RS1, RS2]) await ipvs.addDestination(key, { address, port: 0, forwarding: 'masq' });
      const got = (await t.client.get([`http://${vip(5)}:80/`, `http://${vip(5)}:8080/`], { count: 2, localAddress: CLIENT1 })).map(server);
      expect(new Set(got).size).toBe(1);
      const served = ADDRESS[got[0]!]!;
      const master = templates(vip(5));
      expect(master.map((c) => `${c.client} ${c.destination}`)).toEqual([`${CLIENT1} ${served}`]);
      // The master sends its sync buffer about every 2 s.
      const seen = await waitFor('the template on the backup', () => {
        const tpl = templates(vip(5), t.dir2);
        return tpl.length > 0 ? tpl : undefined;
      }, CHANGE_WAIT_MS, 250);
      expect(seen.map((c) => `${c.protocol} ${c.client}:${c.clientPort} ${c.virtual}:${c.virtualPort} ${c.destination}:${c.destinationPort}`)).toEqual([
        `TCP ${CLIENT1}:0 ${vip(5)}:0 ${served}:0`,
      ]);
      // The connections themselves too, so a standby that takes over keeps both the flows and the affinity.
      const flows = await waitFor('connections on the backup', () => {
        const c = conns(t.dir2).filter((e) => !e.template && e.virtual === vip(5));
        return c.length >= 2 ? c : undefined;
      }, CHANGE_WAIT_MS, 250);
      expect(new Set(flows.map((c) => c.destination))).toEqual(new Set([served]));
    } finally {
      await ipvs.stopDaemon('master').catch(() => {});
      await backup.stopDaemon('backup').catch(() => {});
      expect(await ipvs.daemons()).toEqual([]);
      await backup.close();
    }
  });

  it('a standby takes over: with the VIP moved to the backup director, clients stay on the servers the master gave them', async () => {
    // Direct routing, so only the requests' path moves. Both directors hold the same service (programmed
    // through the library); the sync daemons carry the master's persistence templates to the backup.
    const VIP = '10.9.2.102';
    const lanNs = t.lab.name('lan');
    const clients = ['10.9.2.51', '10.9.2.52', '10.9.2.53'] as const; // a first client, then the two that matter
    for (const c of clients) t.lab.ip(lanNs, 'addr', 'add', `${c}/24`, 'dev', 'l0');
    for (const ns of [t.lab.name('rs1'), t.lab.name('rs2')]) t.lab.ip(ns, 'addr', 'add', `${VIP}/32`, 'dev', 'lo');
    t.lab.ip(t.dir, 'addr', 'add', `${VIP}/32`, 'dev', 'brs');
    const key = { protocol: 'tcp', address: VIP, port: 80 } as const;
    const backup = await Ipvs.open({ netns: t.dir2 });
    try {
      for (const director of [ipvs, backup]) {
        await director.addService({ ...key, scheduler: 'rr', persistence: { timeout: 300 } });
        for (const address of [RS1, RS2]) await director.addDestination(key, { address, forwarding: 'route' });
      }
      await ipvs.startDaemon({ state: 'master', interface: 'sync0', syncId: 12 });
      await backup.startDaemon({ state: 'backup', interface: 'sync1', syncId: 12 });
      const at = async (client: string): Promise<string> => server((await t.lan.get([`http://${VIP}/`], { localAddress: client }))[0]!);
      // On the master: the first client takes round robin's first pick, so A and B get the second and the first.
      const first = await at(clients[0]);
      const a = await at(clients[1]);
      const b = await at(clients[2]);
      expect(a).not.toBe(first);
      expect(b).toBe(first);
      const synced = await waitFor('the templates on the backup', () => {
        const tpl = templates(VIP, t.dir2);
        return tpl.length >= 3 ? tpl : undefined;
      }, CHANGE_WAIT_MS, 250);
      expect(synced.filter((c) => c.client === clients[1]).map((c) => c.destination)).toEqual([ADDRESS[a]]);

      // The master fails: its VIP moves to the standby, and the client's neighbour cache forgets the old owner.
      t.lab.ip(t.dir, 'addr', 'del', `${VIP}/32`, 'dev', 'brs');
      t.lab.ip(t.dir2, 'addr', 'add', `${VIP}/32`, 'dev', 's2');
      t.lab.ip(lanNs, 'neigh', 'flush', 'dev', 'l0');
      // A fresh round robin on the standby would send A to its first pick; the synced template keeps A where it was.
      expect([await at(clients[1]), await at(clients[1])]).toEqual([a, a]);
      expect(await at(clients[2])).toBe(b);
      // The standby scheduled those three connections itself (its estimator sums the counters every 2 s).
      await waitFor('3 connections counted on the standby', async () => (await backup.service(key)).stats.conns === 3n, STATS_WAIT_MS, 250);
    } finally {
      await ipvs.stopDaemon('master').catch(() => {});
      await backup.stopDaemon('backup').catch(() => {});
      await ipvs.deleteService(key).catch(() => {});
      await backup.deleteService(key).catch(() => {});
      await backup.close();
    }
  });
});

describe.skipIf(onKernel)('real traffic through IPVS', () => {
  it.skip('runs only inside the UML sandbox (node scripts/sandbox.mjs --kernel-suite)', () => {});
});

