// The connection synchronisation daemon end to end, on the real kernel (UML sandbox: `node scripts/sandbox.mjs
// --kernel-suite -- test/kernel/sync-takeover.test.ts`), in the lab of traffic.test.ts (test/kernel/traffic/
// topology.ts) with IPv6 laid over it. A master in the director's namespace and a backup in the standby's, both
// started through the library with every option given, carry real connections: over an IPv6 multicast group
// (IPv4 and IPv6 connections alike), and over an IPv4 group for a NAT takeover, where the standby takes the
// virtual address and becomes the real servers' gateway while two TCP connections are open; each goes on over
// the same TCP connection to the same real server, because the standby's table holds the synced entries. The
// `ipvs` command line prints the daemons and the standby's connection table as ipvsadm does, byte for byte.
// Two refusals only Linux gives: a backup whose group port another socket holds (EADDRINUSE) and an IPv6 master
// on an interface with no IPv6 address yet (EADDRNOTAVAIL), each in a sentence naming the cause.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import type { CliIpvs } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/run.js';
import type { DaemonSpec } from '../../src/ipvs/types.js';
import { parseConnTable, type ConnEntry } from './traffic/conn-table.js';
import { LAB_SETUP_MS, waitFor } from './traffic/net.js';
import { addIPv6, buildTopology, CLIENT1, CLIENT1_6, RS1, RS2, vip, vip6, type Topology } from './traffic/topology.js';

const onKernel = process.env.IPVS_KERNEL === '1';
const ADDRESS: Record<string, string> = { rs1: RS1, rs2: RS2 };
/** Waits for the kernel's estimator (a tick every 2 s, late on a loaded host), as in traffic.test.ts. */
const STATS_WAIT_MS = 20_000;
/** 'rs1 80 same-connection' -> ['rs1', 'same-connection'] */
const answer = (body: string): [string, string] => [body.split(' ')[0]!, body.split(' ')[2] ?? body];

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(!onKernel)('sync daemons carrying real connections, and a NAT takeover', () => {
  let t: Topology;
  let master: Ipvs;
  let backup: Ipvs;
  let scratch: string;

  beforeAll(async () => {
    t = await buildTopology('sy');
    addIPv6(t);
    master = await Ipvs.open({ netns: t.dir });
    backup = await Ipvs.open({ netns: t.dir2 });
    scratch = mkdtempSync(join(tmpdir(), 'ipvs-sync-'));
  }, LAB_SETUP_MS);

  afterAll(async () => {
    await master?.close();
    await backup?.close();
    await t?.lab.cleanup();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const conns = (ns: string): ConnEntry[] => parseConnTable(t.lab.exec(ns, 'cat', '/proc/net/ip_vs_conn'));

  /** One `ipvs` command line in-process over `client`, reading the connection table from `connFile`. */
  async function ipvsCli(line: string, client: Ipvs, connFile = '/nonexistent'): Promise<Outcome> {
    let stdout = '';
    let stderr = '';
    // runCli closes its client at the end: this one stays open for the next line.
    const shared = new Proxy(client, {
      get(target, key) {
        if (key === 'close') return async () => {};
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as CliIpvs;
    const code = await runCli(line.split(' '), {
      ipvs: async () => shared,
      stdin: '',
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      procConnPath: connFile,
      programName: 'ipvsadm',
    });
    return { code, stdout, stderr };
  }

  /** ipvsadm in `ns`; with `connFile`, reading it as its /proc/net/ip_vs_conn (a private /proc in a mount namespace). */
  function ipvsadm(ns: string, line: string, connFile?: string): Outcome {
    const cmd = connFile
      ? ['unshare', '-m', 'sh', '-c', `mount -t tmpfs none /proc && mkdir /proc/net && cp '${connFile}' /proc/net/ip_vs_conn && exec ipvsadm ${line}`]
      : ['ipvsadm', ...line.split(' ')];
    const r = spawnSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8' });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** The daemon listings of `ns` as both print them. */
  async function sameDaemonListing(ns: string, client: Ipvs): Promise<string> {
    const ours = await ipvsCli('-L --daemon', client);
    expect(ours).toEqual(ipvsadm(ns, '-L --daemon'));
    return ours.stdout;
  }

  /** One snapshot of `ns`'s connection table, listed by both in every numeric form. */
  async function sameConnectionListing(ns: string, client: Ipvs): Promise<string> {
    const file = join(scratch, `conn-${ns}`);
    writeFileSync(file, t.lab.exec(ns, 'cat', '/proc/net/ip_vs_conn'));
    for (const line of ['-Lnc', '-L -n -c --persistent-conn']) {
      const ours = await ipvsCli(line, client, file);
      expect({ line, ...ours }).toEqual({ line, ...ipvsadm(ns, line, file) });
    }
    return readFileSync(file, 'utf8');
  }

  it('an IPv6 group with its port, TTL, sync id and message sizes: IPv4 and IPv6 connections reach the backup', async () => {
    // The master's socket needs a usable link-local source on sync0 (duplicate address detection done).
    for (const [ns, dev] of [[t.dir, 'sync0'], [t.dir2, 'sync1']] as const) {
      await waitFor(`a link-local address on ${dev}`, () => {
        const out = t.lab.ip(ns, '-6', 'addr', 'show', 'dev', dev, 'scope', 'link');
        return out.includes('inet6 fe80:') && !out.includes('tentative');
      }, 30_000, 200);
    }
    const common = { syncId: 42, mcastGroup: 'ff02::9:42', mcastPort: 9100, mcastTtl: 2 } as const;
    const masterSpec: DaemonSpec = { state: 'master', interface: 'sync0', ...common, syncMaxLen: 1200 };
    const backupSpec: DaemonSpec = { state: 'backup', interface: 'sync1', ...common, syncMaxLen: 1400 };
    const v4 = { protocol: 'tcp', address: vip(1), port: 80 } as const;
    const v6 = { protocol: 'tcp', address: vip6(1), port: 80 } as const;
    try {
      await master.startDaemon(masterSpec);
      await backup.startDaemon(backupSpec);
      expect(await master.daemons()).toEqual([{ ...masterSpec }]);
      expect(await backup.daemons()).toEqual([{ ...backupSpec }]);
      expect(await sameDaemonListing(t.dir, master)).toBe(
        'master sync daemon (mcast=sync0, syncid=42, maxlen=1200, group=ff02::9:42, port=9100, ttl=2)\n',
      );
      expect(await sameDaemonListing(t.dir2, backup)).toBe(
        'backup sync daemon (mcast=sync1, syncid=42, maxlen=1400, group=ff02::9:42, port=9100, ttl=2)\n',
      );
      // The backup's kernel socket listens on the port given (9100 = 0x238C), not its byte-swapped twin.
      expect(t.lab.exec(t.dir2, 'cat', '/proc/net/udp6')).toMatch(/:238C /);

      await master.addService({ ...v4, scheduler: 'rr' });
      await master.addService({ ...v6, scheduler: 'rr' });
      for (const address of [RS1, RS2]) await master.addDestination(v4, { address, forwarding: 'masq' });
      for (const address of ['fd09:2::11', 'fd09:2::12']) await master.addDestination(v6, { address, forwarding: 'masq' });
      // Keep-alive sessions, so each connection lives on (a fresh GET would close before the sync).
      const s4 = answer(await t.client.sessionGet('v6group-4', `http://${vip(1)}/keep`, { localAddress: CLIENT1 }));
      const s6 = answer(await t.client.sessionGet('v6group-6', `http://[${vip6(1)}]/keep`, { localAddress: CLIENT1_6 }));
      expect([s4[1], s6[1]]).toEqual(['new-connection', 'new-connection']);
      const onMaster = conns(t.dir).filter((c) => c.virtual === vip(1) || c.virtual === vip6(1));
      expect(onMaster.map((c) => c.state)).toEqual(['ESTABLISHED', 'ESTABLISHED']);
      // The master sends its buffer at least every 2 s; the keep-alive requests stop the servers' idle timeout.
      const synced = await waitFor('both connections on the backup', async () => {
        await t.client.sessionGet('v6group-4', `http://${vip(1)}/keep`, { localAddress: CLIENT1 });
        await t.client.sessionGet('v6group-6', `http://[${vip6(1)}]/keep`, { localAddress: CLIENT1_6 });
        const got = conns(t.dir2).filter((c) => c.virtual === vip(1) || c.virtual === vip6(1));
        return got.length >= 2 ? got : undefined;
      }, 20_000, 1000);
      const key = (c: ConnEntry): string => `${c.protocol} ${c.client}:${c.clientPort} ${c.virtual}:${c.virtualPort} ${c.destination}:${c.destinationPort}`;
      expect(synced.map(key).sort()).toEqual(onMaster.map(key).sort());
      await sameConnectionListing(t.dir2, backup);
    } finally {
      await t.client.sessionClose('v6group-4');
      await t.client.sessionClose('v6group-6');
      await master.stopDaemon('master').catch(() => {});
      await backup.stopDaemon('backup').catch(() => {});
      await master.deleteService(v4).catch(() => {});
      await master.deleteService(v6).catch(() => {});
    }
    expect([await master.daemons(), await backup.daemons()]).toEqual([[], []]);
  });

  it("a backup whose group port another socket holds: EADDRINUSE, named with the port; nothing starts", async () => {
    // The sorry server's agent runs in the director's namespace: its UDP socket takes 9400 without SO_REUSEADDR.
    await t.sorry.serveUdp('sorry', [9400]);
    const err = await master.startDaemon({ state: 'backup', interface: 'sync0', mcastPort: 9400 }).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ name: 'KernelError', code: 'EADDRINUSE' });
    expect((err as Error).message).toBe("the backup sync daemon's multicast port 9400 is already in use by another socket [EADDRINUSE]");
    expect(await master.daemons()).toEqual([]);
    // The same line through the command line, as ipvsadm prints it.
    expect(await ipvsCli('--start-daemon backup --mcast-interface sync0 --mcast-port 9400', master)).toEqual(
      ipvsadm(t.dir, '--start-daemon backup --mcast-interface sync0 --mcast-port 9400'),
    );
  });

  it('an IPv6 master on an interface without an IPv6 address: EADDRNOTAVAIL, in a sentence that says so', async () => {
    // addrgenmode none: no link-local address, as while one is still tentative right after link-up (racy to catch).
    t.lab.ip(t.dir, 'link', 'add', 'noll0', 'type', 'dummy');
    t.lab.ip(t.dir, 'link', 'set', 'noll0', 'addrgenmode', 'none');
    t.lab.ip(t.dir, 'link', 'set', 'noll0', 'up');
    const err = await master.startDaemon({ state: 'master', interface: 'noll0', mcastGroup: 'ff02::5' }).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ name: 'KernelError', code: 'EADDRNOTAVAIL' });
    expect((err as Error).message).toContain('the master sync daemon has no IPv6 address on noll0 to send to its group ff02::5 from');
    expect(await master.daemons()).toEqual([]);
    const line = '--start-daemon master --mcast-interface noll0 --mcast-group ff02::5';
    expect(await ipvsCli(line, master)).toEqual(ipvsadm(t.dir, line));
    // With an address it starts.
    t.lab.ip(t.dir, 'addr', 'add', 'fe80::99/64', 'dev', 'noll0', 'nodad');
    await master.startDaemon({ state: 'master', interface: 'noll0', mcastGroup: 'ff02::5' });
    await master.stopDaemon('master');
  });

  it('a NAT takeover: the standby takes the VIP and the servers\' gateway, and open TCP connections go on to their servers', async () => {
    const VIP = vip(2);
    const key = { protocol: 'tcp', address: VIP, port: 80 } as const;
    const lab = t.lab;
    const cli = lab.name('cli');
    const rs = [lab.name('rs1'), lab.name('rs2')];
    // The standby's leg on the clients' segment (the director's bridge), and forwarding for NAT.
    lab.veth({ ns: t.dir2, ifname: 'c2', addresses: ['10.9.1.4/24'] }, { ns: t.dir, ifname: 'dir2c', bridge: 'brc' });
    lab.sysctl(t.dir2, 'net.ipv4.ip_forward=1');
    const group = { syncId: 7, mcastGroup: '239.9.9.9', mcastPort: 9200, mcastTtl: 1 } as const;
    try {
      for (const director of [master, backup]) {
        await director.addService({ ...key, scheduler: 'rr' });
        for (const address of [RS1, RS2]) await director.addDestination(key, { address, forwarding: 'masq' });
      }
      await master.startDaemon({ state: 'master', interface: 'sync0', ...group });
      await backup.startDaemon({ state: 'backup', interface: 'sync1', ...group });
      expect(await sameDaemonListing(t.dir2, backup)).toBe(
        'backup sync daemon (mcast=sync1, syncid=7, maxlen=1472, group=239.9.9.9, port=9200, ttl=1)\n',
      );
      // Two open connections on the master, round robin putting them on different servers.
      const url = `http://${VIP}/keep`;
      const a = answer(await t.client.sessionGet('nat-a', url, { localAddress: CLIENT1 }));
      const b = answer(await t.client.sessionGet('nat-b', url, { localAddress: CLIENT1 }));
      expect([a[1], b[1]]).toEqual(['new-connection', 'new-connection']);
      expect(a[0]).not.toBe(b[0]);
      const onMaster = conns(t.dir).filter((c) => c.virtual === VIP);
      expect(onMaster.map((c) => c.destination).sort()).toEqual([ADDRESS[a[0]], ADDRESS[b[0]]].sort());
      const synced = await waitFor('both connections on the standby', async () => {
        for (const s of ['nat-a', 'nat-b']) await t.client.sessionGet(s, url, { localAddress: CLIENT1 });
        const got = conns(t.dir2).filter((c) => c.virtual === VIP && c.state === 'ESTABLISHED');
        return got.length >= 2 ? got : undefined;
      }, 20_000, 1000);
      const flow = (c: ConnEntry): string => `${c.client}:${c.clientPort} -> ${c.destination}:${c.destinationPort}`;
      expect(synced.map(flow).sort()).toEqual(onMaster.map(flow).sort());
      const table = await sameConnectionListing(t.dir2, backup);
      expect(table).toMatch(new RegExp(`^TCP [0-9A-F]{8} [0-9A-F]{4} ${VIP.split('.').map((n) => Number(n).toString(16).toUpperCase().padStart(2, '0')).join('')} 0050 `, 'm'));

      // Node's servers close a keep-alive connection idle for 5 s: use both once more just before the switch.
      for (const s of ['nat-a', 'nat-b']) expect(answer(await t.client.sessionGet(s, url, { localAddress: CLIENT1 }))[1]).toBe('same-connection');
      // The master fails: the standby takes the VIP on the clients' side and becomes the servers' gateway.
      lab.ip(t.dir, 'addr', 'del', `${VIP}/32`, 'dev', 'brc');
      lab.ip(t.dir2, 'addr', 'add', `${VIP}/32`, 'dev', 'c2');
      for (const ns of rs) lab.ip(ns, 'route', 'replace', 'default', 'via', '10.9.2.2');
      for (const ns of [cli, ...rs]) lab.ip(ns, 'neigh', 'flush', 'all');
      // Over the same TCP connections, to the same servers: the standby found each in its synced table
      // (without an entry, a segment that is not a SYN is not scheduled, and the local stack would reset it).
      expect(answer(await t.client.sessionGet('nat-a', url, { localAddress: CLIENT1 }))).toEqual([a[0], 'same-connection']);
      expect(answer(await t.client.sessionGet('nat-b', url, { localAddress: CLIENT1 }))).toEqual([b[0], 'same-connection']);
      // The traffic went through the standby: its counters show it (the estimator sums them every 2 s)...
      await waitFor('packets counted on the standby', async () => (await backup.service(key)).stats.inPackets > 0n, STATS_WAIT_MS, 250);
      // ...and a new connection there is scheduled by the standby itself.
      expect(['rs1', 'rs2']).toContain((await t.client.get([`http://${VIP}/`], { localAddress: CLIENT1 }))[0]?.split(' ')[0]);
    } finally {
      await t.client.sessionClose('nat-a');
      await t.client.sessionClose('nat-b');
      await master.stopDaemon('master').catch(() => {});
      await backup.stopDaemon('backup').catch(() => {});
      for (const ns of rs) lab.ip(ns, 'route', 'replace', 'default', 'via', '10.9.2.1');
      await master.deleteService(key).catch(() => {});
      await backup.deleteService(key).catch(() => {});
    }
  });
});

describe.skipIf(onKernel)('sync daemons carrying real connections, and a NAT takeover', () => {
  it.skip('runs only inside the UML sandbox (node scripts/sandbox.mjs --kernel-suite)', () => {});
});
