// The kernel socket without libc (koffi's binding missing). The `netlink` package's poll aborts the process
// when it meets the socket error an overflow sets (POLLERR), and only a read clears that error: so the socket's
// file descriptor is found through /proc (its line of /proc/net/netlink gives its inode, one of /proc/self/fd
// links to it) and read and written with Node's own fs (read(2), write(2)). /proc/net/netlink also gives the
// socket's drop counter, which tells an overflow from a dump the kernel paused for room.

import { readdirSync, readFileSync, readlinkSync, readSync, writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { DirectIo } from './libc.js';

const EIO = 5;
/** O_NONBLOCK as /proc/self/fdinfo prints the file's flags (octal). */
const O_NONBLOCK = 0o4000;

/** A socket's line of /proc/net/netlink: its inode and how many messages the kernel dropped for it. */
export interface ProcNetlinkSocket {
  inode: number;
  drops: number;
}

/**
 * The line of /proc/net/netlink (the netlink sockets of this process's network namespace; `table`
 * /proc/thread-self/net/netlink for those of the calling thread's) for the socket of `protocol` bound to
 * `portId`; undefined when there is none or no /proc. Its columns: sk, Eth (the protocol), Pid (the port id),
 * Groups, Rmem, Wmem, Dump, Locks, Drops, Inode.
 */
export function procNetlinkSocket(protocol: number, portId: number, table = '/proc/net/netlink'): ProcNetlinkSocket | undefined {
  let text: string;
  try {
    text = readFileSync(table, 'latin1');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || Number(f[1]) !== protocol || Number(f[2]) !== portId) continue;
    const drops = Number(f[8]);
    const inode = Number(f[9]);
    return Number.isInteger(drops) && Number.isInteger(inode) && inode > 0 ? { inode, drops } : undefined;
  }
  return undefined;
}

/**
 * The file descriptor of this process open on socket `inode`, if it is non-blocking (libuv makes the
 * package's socket so when it starts polling it): a read must never wait.
 */
export function nonBlockingFdOf(inode: number): number | undefined {
  const target = `socket:[${inode}]`;
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return undefined;
  }
  for (const name of names) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) !== target) continue;
      const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${name}`, 'latin1'));
      return flags !== null && (parseInt(flags[1] as string, 8) & O_NONBLOCK) !== 0 ? Number(name) : undefined;
    } catch {
      // closed while we looked
    }
  }
  return undefined;
}

function errnoOf(err: unknown): number {
  const code = (err as { code?: unknown }).code;
  const known = typeof code === 'string' ? (osConstants.errno as Record<string, number | undefined>)[code] : undefined;
  return known ?? EIO;
}

/**
 * send/recvfrom as DirectIo has them, through write(2) and read(2) on the (non-blocking) fd. Neither can name
 * the peer: writes go to the kernel (an unconnected netlink socket's default destination is port 0), and
 * every read is taken as the kernel's, since generic netlink lets only the kernel, or a process with
 * CAP_NET_ADMIN, send to a user's port (NL_CFG_F_NONROOT_SEND is not among its flags). Flags are ignored:
 * the fd is non-blocking, and a 64 KiB buffer holds any datagram the kernel sends.
 */
export function fsIo(): DirectIo {
  return {
    send(fd, data) {
      try {
        return writeSync(fd, data);
      } catch (err) {
        return -errnoOf(err);
      }
    },
    recvfrom(fd, buf, _flags, addr) {
      addr.fill(0);
      try {
        return readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        return -errnoOf(err);
      }
    },
  };
}
