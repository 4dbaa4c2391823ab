// KernelSocketTransport({ netns }): the socket is created inside another network namespace while the
// process (this thread) stays where it was. Needs root and `ip netns`; skipped when either is missing.

import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { LibcError } from '../../native/libc.js';
import { KernelSocketTransport } from '../../native/socket.js';
import { NetlinkConnection } from '../../src/netlink/connection.js';
import { FamilyResolver } from '../../src/netlink/family.js';
import { Ipvs } from '../../src/client.js';
import { IpvsError } from '../../src/netlink/errors.js';
import { runChildScript } from '../helpers/kernel-socket-child.js';

const name = `ipvs-test-${process.pid}`;

function tryAddNamespace(): string | undefined {
  try {
    execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

// Created at load time so that the skip decision can use the result; removed in afterAll.
const skipReason = tryAddNamespace();

/** Port ids of the NETLINK_GENERIC sockets listed in /proc/net/netlink, as seen from `netns` (or here). */
function genericPorts(netns?: string): number[] {
  const text = netns
    ? execFileSync('ip', ['netns', 'exec', netns, 'cat', '/proc/net/netlink'], { encoding: 'utf8' })
    : execFileSync('cat', ['/proc/net/netlink'], { encoding: 'utf8' });
  // Columns: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode; Eth is the protocol, Pid the port id.
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[1] === '16')
    .map((cols) => Number(cols[2]));
}

const ownNamespace = (): string => readlinkSync('/proc/thread-self/ns/net');

/** Why no user namespace (owning a network namespace of its own) can be made here, or undefined. */
function userNamespaceUnavailable(): string | undefined {
  try {
    execFileSync('unshare', ['--user', '--map-root-user', 'unshare', '--net', 'true'], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

/** uid and gid 65534 with no capabilities, through util-linux's setpriv (needs root to switch). */
const AS_NOBODY = ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups'];

function asNobodyPossible(): boolean {
  try {
    execFileSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), 'true'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Run in a user namespace of its own (root there, not in the network namespace it started in): a process
 * holding a network namespace that this user namespace owns, which the child can enter but not come back from.
 */
const USERNS_CHILD = `
  import { spawn } from 'node:child_process';
  import { readlinkSync } from 'node:fs';
  import { KernelSocketTransport } from './native/socket.ts';
  const holder = spawn('unshare', ['--net', 'sleep', '30'], { stdio: 'ignore' });
  const target = '/proc/' + holder.pid + '/ns/net';
  const ns = (path) => { try { return readlinkSync(path); } catch { return undefined; } };
  while (ns(target) === undefined || ns(target) === ns('/proc/self/ns/net')) await new Promise((r) => setTimeout(r, 10));
  const before = ns('/proc/thread-self/ns/net');
  const result = {};
  try {
    new KernelSocketTransport({ netns: target });
    result.opened = true;
  } catch (err) {
    Object.assign(result, { code: err.code, message: err.message });
  }
  result.stayed = ns('/proc/thread-self/ns/net') === before;
  holder.kill();
  console.log(JSON.stringify(result));
`;

describe.skipIf(skipReason !== undefined)(`network namespaces (${skipReason ?? `netns ${name}`})`, () => {
  afterAll(() => {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'pipe' });
  });

  it('opens the socket in the other namespace and leaves this thread where it was', async () => {
    const before = ownNamespace();
    const processBefore = readlinkSync('/proc/self/ns/net');
    const transport = new KernelSocketTransport({ netns: name });
    try {
      expect(ownNamespace()).toBe(before);
      expect(readlinkSync('/proc/self/ns/net')).toBe(processBefore);
      // The socket shows up in the other namespace's netlink table, not in ours.
      expect(genericPorts(name)).toContain(transport.portId);
      expect(genericPorts()).not.toContain(transport.portId);
      // And it works there: nlctrl answers inside the namespace.
      const conn = new NetlinkConnection(transport, { timeoutMs: 5000 });
      const family = await new FamilyResolver(conn).resolve('nlctrl');
      expect(family.id).toBe(0x10);
      expect(transport.features.extendedAck).toBe(true);
      await conn.close();
    } finally {
      await transport.close();
    }
    expect(ownNamespace()).toBe(before);
  });

  it('finds its own fd even when a socket in this namespace has the same port id', async () => {
    // Port ids are unique per namespace only. Bind a decoy here to the port id the next socket will
    // take, on a higher fd than the one the real socket will get, then open the real one over there:
    // the socket options (extended ack) must land on the real socket, not on the decoy.
    const require = createRequire(import.meta.url);
    const { RawNetlinkSocket, generateLocalPort } = require('netlink') as {
      RawNetlinkSocket: new (protocol: number, options?: { localPort?: number }) => { close(): void; address(): { port: number } };
      generateLocalPort(): number;
    };
    const current = generateLocalPort() >>> 0;
    const next = ((((((current >>> 22) + 1) & 0x3ff) << 22) | (process.pid & 0x3fffff)) >>> 0);
    // Free low fds for the two namespace fds and the socket that the transport opens.
    const low = [0, 1, 2, 3].map(() => openSync('/dev/null', 'r'));
    const decoy = new RawNetlinkSocket(16, { localPort: next });
    for (const fd of low) closeSync(fd);
    const transport = new KernelSocketTransport({ netns: name });
    try {
      expect(decoy.address().port).toBe(transport.portId);
      expect(genericPorts()).toContain(transport.portId);
      expect(genericPorts(name)).toContain(transport.portId);
      expect(transport.features.extendedAck).toBe(true);
      const conn = new NetlinkConnection(transport, { timeoutMs: 5000 });
      const err = await conn
        .request({
          type: 0x10,
          body: (w) => {
            w.genlHeader(3, 2);
            w.string(2, 'x'.repeat(40));
          },
          label: { operation: 'get family' },
        })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'EINVAL', extackOffset: 20 });
      await conn.close();
    } finally {
      decoy.close();
      await transport.close();
    }
  });

  it('accepts a namespace path as well as a name', async () => {
    const transport = new KernelSocketTransport({ netns: `/var/run/netns/${name}` });
    try {
      expect(genericPorts(name)).toContain(transport.portId);
    } finally {
      await transport.close();
    }
  });

  it('a missing namespace is a clear error, and the thread stays put', () => {
    const before = ownNamespace();
    let err: unknown;
    try {
      new KernelSocketTransport({ netns: `${name}-missing` });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LibcError);
    expect((err as LibcError).code).toBe('ENOENT');
    expect((err as Error).message).toBe(
      `cannot open network namespace "${name}-missing" at /var/run/netns/${name}-missing: it does not exist (create it with \`ip netns add\`, or pass a /proc/PID/ns/net path)`,
    );
    expect(ownNamespace()).toBe(before);
  });

  it('through Ipvs.open, the same failure is an IpvsError with the errno name as code', async () => {
    const err = await Ipvs.open({ netns: `${name}-missing` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpvsError);
    expect(err).toMatchObject({ code: 'ENOENT' });
    expect((err as Error).message).toMatch(/^cannot open network namespace ".*-missing" .*: it does not exist/);
    expect((err as Error).cause).toBeInstanceOf(LibcError);
  });

  it('opens from Worker threads and the main thread at once, each thread back in its own namespace', async () => {
    // setns() moves one thread: a Worker's open leaves the main thread alone, and the other way round.
    const script = `
      import { Worker } from 'node:worker_threads';
      import { readlinkSync } from 'node:fs';
      import { execFileSync } from 'node:child_process';
      import { KernelSocketTransport } from './native/socket.ts';
      const ports = (argv) => execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' }).trim().split('\\n').slice(1)
        .map((l) => l.trim().split(/\\s+/)).filter((c) => c[1] === '16').map((c) => Number(c[2]));
      const worker = \`
        import { parentPort } from 'node:worker_threads';
        import { readlinkSync } from 'node:fs';
        import { register } from 'tsx/esm/api';
        register();
        const { KernelSocketTransport } = await import('./native/socket.ts');
        const before = readlinkSync('/proc/thread-self/ns/net');
        const t = new KernelSocketTransport({ netns: '${name}' });
        parentPort.postMessage({ port: t.portId, stayed: readlinkSync('/proc/thread-self/ns/net') === before, ext: t.features.extendedAck });
        await new Promise((r) => parentPort.once('message', r));
        await t.close();
      \`;
      const workers = [0, 1, 2].map(() => new Worker(worker, { eval: true }));
      const answers = workers.map((w) => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
      const before = readlinkSync('/proc/thread-self/ns/net');
      const mine = [];
      for (let i = 0; i < 20; i++) mine.push(new KernelSocketTransport({ netns: '${name}' }));
      const main = { ports: mine.map((t) => t.portId), stayed: readlinkSync('/proc/thread-self/ns/net') === before, ext: mine.every((t) => t.features.extendedAck) };
      const fromWorkers = await Promise.all(answers);
      const there = ports(['ip', 'netns', 'exec', '${name}', 'cat', '/proc/net/netlink']);
      const here = ports(['cat', '/proc/net/netlink']);
      console.log(JSON.stringify({ main, workers: fromWorkers, there, here }));
      for (const w of workers) w.postMessage('close');
      await Promise.all(workers.map((w) => new Promise((r) => w.once('exit', r))));
      for (const t of mine) await t.close();
    `;
    const { code, signal, stdout, stderr } = await runChildScript(script, [], { killAfterMs: 15_000 });
    expect(stderr).toBe('');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    const r = JSON.parse(stdout) as {
      main: { ports: number[]; stayed: boolean; ext: boolean };
      workers: Array<{ port: number; stayed: boolean; ext: boolean }>;
      there: number[];
      here: number[];
    };
    expect(r.main.stayed).toBe(true);
    expect(r.main.ext).toBe(true);
    expect(r.workers).toHaveLength(3);
    for (const w of r.workers) expect(w).toMatchObject({ stayed: true, ext: true });
    // Every socket was made over there, none here.
    const all = [...r.main.ports, ...r.workers.map((w) => w.port)];
    expect(new Set(all).size).toBe(23);
    for (const port of all) {
      expect(r.there).toContain(port);
      expect(r.here).not.toContain(port);
    }
  });

  it('a missing path says so, without the advice for names', () => {
    expect(() => new KernelSocketTransport({ netns: '/proc/999999999/ns/net' })).toThrow(
      'cannot open network namespace "/proc/999999999/ns/net" at /proc/999999999/ns/net: it does not exist (is process 999999999 still running?)',
    );
    expect(() => new KernelSocketTransport({ netns: `/var/run/netns/${name}-missing` })).toThrow(/: it does not exist$/);
  });

  it.skipIf(!asNobodyPossible())('a name any user opens; an unmounted one refused as such, not for lack of root', async () => {
    // `ip netns add` mounts the namespace (an nsfs file, mode 0444) on an empty file of mode 0; left unmounted, that
    // file is what a user other than root is refused (root opens it and is told it is not a namespace).
    const stale = `${name}-unmounted`;
    writeFileSync(`/var/run/netns/${stale}`, '', { mode: 0 });
    onTestFinished(() => rmSync(`/var/run/netns/${stale}`, { force: true }));
    const script = `
      import { KernelSocketTransport } from './native/socket.ts';
      const result = {};
      for (const ns of ['${name}', '${stale}']) {
        try {
          new KernelSocketTransport({ netns: ns });
          result[ns] = 'opened';
        } catch (err) {
          result[ns] = err.message;
        }
      }
      console.log(JSON.stringify(result));
    `;
    const { code, stdout, stderr } = await runChildScript(script, AS_NOBODY, { killAfterMs: 10_000 });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stdout)).toEqual({
      // Opened: refused only when entering.
      [name]: `cannot enter network namespace "${name}" (/var/run/netns/${name}): entering a network namespace needs CAP_SYS_ADMIN`,
      [stale]: `cannot open network namespace "${stale}" at /var/run/netns/${stale}: EACCES: no network namespace is mounted there (one \`ip netns add\` mounted any user may open)`,
    });
  });

  it('a path that is not a network namespace is refused', () => {
    const before = ownNamespace();
    expect(() => new KernelSocketTransport({ netns: '/proc/self/ns/uts' })).toThrow(/not a network namespace/);
    expect(() => new KernelSocketTransport({ netns: '/etc/hostname' })).toThrow(/cannot enter network namespace/);
    expect(ownNamespace()).toBe(before);
  });
});

describe.skipIf(skipReason !== undefined || userNamespaceUnavailable() !== undefined)('a namespace this thread could not come back from', () => {
  it('is refused before the thread leaves, and the process ends on its own', async () => {
    // In a user namespace, a process may enter a network namespace its user namespace owns but lack
    // CAP_SYS_ADMIN over the one it started in: it went, could not return (EPERM), and stayed there for good,
    // its socket left open keeping the process alive.
    const { code, signal, stdout, stderr } = await runChildScript(USERNS_CHILD, ['unshare', '--user', '--map-root-user'], { killAfterMs: 10_000 });
    expect(stderr).toBe('');
    expect({ code, signal }).toEqual({ code: 0, signal: null }); // SIGKILL: still running after 10 s
    const result = JSON.parse(stdout) as { opened?: boolean; code?: string; message?: string; stayed: boolean };
    expect(result).toMatchObject({ code: 'EPERM', stayed: true });
    expect(result.message).toMatch(/^cannot enter network namespace "\/proc\/\d+\/ns\/net" \(\/proc\/\d+\/ns\/net\): entering a network namespace needs CAP_SYS_ADMIN, over the namespace this thread is in as well/);
  });

  it("entering for good (the command line's --netns) a namespace its user namespace does not own: says so, not just CAP_SYS_ADMIN", async () => {
    // Root of a user namespace of its own holds CAP_SYS_ADMIN there, but not over a namespace the initial user
    // namespace owns, such as one `ip netns add` made (its file under /var/run/netns opens: nsfs files are 0444).
    const target = `${name}-for-good`;
    execFileSync('ip', ['netns', 'add', target], { stdio: 'pipe' });
    onTestFinished(() => {
      execFileSync('ip', ['netns', 'del', target], { stdio: 'pipe' });
    });
    const script = `
      import { enterNamespaceForGood } from './native/socket.ts';
      try {
        enterNamespaceForGood('${target}');
        console.log(JSON.stringify({ entered: true }));
      } catch (err) {
        console.log(JSON.stringify({ code: err.code, message: err.message }));
      }
    `;
    const { code, stdout, stderr } = await runChildScript(script, ['unshare', '--user', '--map-root-user'], { killAfterMs: 10_000 });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stdout)).toEqual({
      code: 'EPERM',
      message: `cannot enter network namespace "${target}" (/var/run/netns/${target}): entering a network namespace needs CAP_SYS_ADMIN over the user namespace that owns it, and this process runs in another user namespace (a container), whose capabilities count only over the namespaces it owns`,
    });
  });
});
