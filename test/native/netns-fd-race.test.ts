// The kernel socket's file descriptor, found while another thread makes sockets too. Port ids are unique per
// network namespace only, and the `netlink` package counts them per module instance (each Worker has its own),
// so another thread's socket in another namespace can carry the same port id. The fd used to be picked as "the
// socket with our port id that was not open when we listed the fds before making ours"; when ours took the fd
// of a socket closed since that listing, the pick was the other thread's socket: our options set on it, our
// requests sent through it, to the other namespace's table. It is now the fd linked to our socket's inode. The
// other thread is stood in for by the listing itself (node:fs wrapped): once read through, a decoy is made here
// with the port id our socket gets over there, and the sockets listed are closed, so that ours reuses one of
// their fds. Needs root and `ip netns`; skipped when either is missing.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it, vi } from 'vitest';

const hook = vi.hoisted(() => ({ once: undefined as (() => void) | undefined }));

vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  // The hook runs once the first listing of /proc/self/fd has been read through (its last link read).
  let last: string | undefined;
  const readdirSync = ((path: string, ...rest: unknown[]) => {
    const names = (fs.readdirSync as (...a: unknown[]) => string[])(path, ...rest);
    if (path === '/proc/self/fd' && hook.once !== undefined && last === undefined) last = `/proc/self/fd/${names[names.length - 1]}`;
    return names;
  }) as typeof fs.readdirSync;
  const readlinkSync = ((path: string, ...rest: unknown[]) => {
    try {
      return (fs.readlinkSync as (...a: unknown[]) => string)(path, ...rest);
    } finally {
      const run = path === last ? hook.once : undefined;
      if (run !== undefined) {
        hook.once = undefined;
        last = undefined;
        run();
      }
    }
  }) as typeof fs.readlinkSync;
  return { ...fs, default: { ...fs, readdirSync, readlinkSync }, readdirSync, readlinkSync };
});

const { KernelSocketTransport } = await import('../../native/socket.js');
const { NetlinkConnection } = await import('../../src/netlink/connection.js');
const { FamilyResolver } = await import('../../src/netlink/family.js');

const name = `ipvs-fdrace-${process.pid}`;
let skipReason: string | undefined;
try {
  execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
} catch (err) {
  skipReason = (err as Error).message.split('\n')[0];
}

interface Raw {
  close(): void;
  address(): { port: number };
}

describe.skipIf(skipReason !== undefined)(`the socket's fd among other threads' sockets (${skipReason ?? `netns ${name}`})`, () => {
  afterAll(() => {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'pipe' });
  });

  it('is the socket made, not a new one of another namespace with the same port id', async () => {
    const require = createRequire(import.meta.url);
    const { RawNetlinkSocket, generateLocalPort } = require('netlink') as {
      RawNetlinkSocket: new (protocol: number, options?: { localPort?: number }) => Raw;
      generateLocalPort(): number;
    };
    // Fill the holes among the fds open now, so that what follows takes the lowest numbers above them, in order.
    const open = (fs.readdirSync('/proc/self/fd') as string[]).map(Number);
    const holes: number[] = [];
    for (let fd = 0; fd < Math.max(...open); fd++) if (!open.includes(fd)) holes.push(openSync('/dev/null', 'r'));
    const spare = [0, 1, 2].map(() => new RawNetlinkSocket(0));
    const current = generateLocalPort() >>> 0;
    const next = ((((((current >>> 22) + 1) & 0x3ff) << 22) | (process.pid & 0x3fffff)) >>> 0);
    let decoy: Raw | undefined;
    hook.once = () => {
      decoy = new RawNetlinkSocket(16, { localPort: next });
      for (const s of spare) s.close();
    };
    const transport = new KernelSocketTransport({ netns: name });
    // Finding the fd by inode lists /proc/self/fd only after the socket is made, and may stop before the last
    // link: the other thread's socket then comes after, which must not matter either.
    const late = hook.once;
    hook.once = undefined;
    late?.();
    for (const fd of holes) closeSync(fd);
    try {
      expect(decoy?.address().port).toBe(transport.portId);
      // The decoy goes: a transport that took its fd would now write to a closed (or reused) descriptor.
      decoy?.close();
      const conn = new NetlinkConnection(transport, { timeoutMs: 5000 });
      expect((await new FamilyResolver(conn).resolve('nlctrl')).id).toBe(0x10);
      expect(transport.features.extendedAck).toBe(true);
      await conn.close();
    } finally {
      await transport.close();
    }
  });
});
