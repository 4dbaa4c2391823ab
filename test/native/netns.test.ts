// KernelSocketTransport({ netns }): the socket is created inside another network namespace while the
// process (this thread) stays where it was. Needs root and `ip netns`; skipped when either is missing.

import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { LibcError } from '../../native/libc.js';
import { KernelSocketTransport } from '../../native/socket.js';
import { NetlinkConnection } from '../../src/netlink/connection.js';
import { FamilyResolver } from '../../src/netlink/family.js';
import { Ipvs } from '../../src/client.js';
import { IpvsError } from '../../src/netlink/errors.js';

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

  it('a path that is not a network namespace is refused', () => {
    const before = ownNamespace();
    expect(() => new KernelSocketTransport({ netns: '/proc/self/ns/uts' })).toThrow(/not a network namespace/);
    expect(() => new KernelSocketTransport({ netns: '/etc/hostname' })).toThrow(/cannot enter network namespace/);
    expect(ownNamespace()).toBe(before);
  });
});
