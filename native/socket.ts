// The kernel transport: a NETLINK_GENERIC socket from the `netlink` package (non-blocking, polled by
// libuv, prebuilt binaries), opened in another network namespace when asked (setns on this thread
// around socket creation only), with the socket options a real tool wants set through libc.

import { readdirSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Transport, TransportReceiver } from '../src/netlink/transport.js';
import {
  CLONE_NEWNET,
  closeFd,
  getIntSockopt,
  getSockoptBytes,
  LibcError,
  netlinkSockname,
  openReadOnly,
  setIntSockopt,
  setns,
} from './libc.js';

const NETLINK_GENERIC = 16;
const AF_NETLINK = 16;
const SOL_SOCKET = 1;
const SO_RCVBUFFORCE = 33;
const SO_PROTOCOL = 38;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const NETLINK_GET_STRICT_CHK = 12;
const NETLINK_NO_ENOBUFS = 5;
const SO_MEMINFO = 55;
/** SO_MEMINFO is an array of u32 counters (SK_MEMINFO_VARS of them); SK_MEMINFO_DROPS is the 9th. */
const SK_MEMINFO_VARS = 9;
const SK_MEMINFO_DROPS = 8;
const ENOBUFS = 105;

export interface KernelSocketOptions {
  /** A name under /var/run/netns, or any namespace path such as /proc/123/ns/net. */
  netns?: string;
  /** Receive buffer in bytes (default 4 MiB; forced past rmem_max when privileged). */
  receiveBufferSize?: number;
  /** Ask for extended-ack error messages (NETLINK_EXT_ACK). Default true. */
  extendedAck?: boolean;
  /** Strict header checking of requests (NETLINK_GET_STRICT_CHK). Default true. */
  strictCheck?: boolean;
  /** Echo only the header of a refused request (NETLINK_CAP_ACK): smaller errors in bulk. Default true. */
  capAck?: boolean;
}

interface RawSocket {
  on(event: 'message', fn: (msg: Buffer, rinfo: { port: number }) => void): void;
  on(event: 'error', fn: (err: Error & { code?: string; errno?: number }) => void): void;
  send(msg: Uint8Array, options: { port: number }, cb: (err?: Error) => void): void;
  close(): void;
  address(): { port: number };
  ref(): void;
  unref(): void;
  getRecvBufferSize(): number;
  setRecvBufferSize(size: number): void;
}

type RawSocketCtor = new (protocol: number, options?: { recvBufferSize?: number; sendBufferSize?: number }) => RawSocket;

export function netnsPath(netns: string): string {
  return netns.includes('/') ? netns : `/var/run/netns/${netns}`;
}

function createRaw(): RawSocket {
  const require = createRequire(import.meta.url);
  const { RawNetlinkSocket } = require('netlink') as { RawNetlinkSocket: RawSocketCtor };
  return new RawNetlinkSocket(NETLINK_GENERIC);
}

/** Create the socket inside `netns`; the thread returns to its own namespace before this returns. */
function createInNamespace(netns: string): RawSocket {
  const path = netnsPath(netns);
  let target: number;
  try {
    target = openReadOnly(path);
  } catch (err) {
    if (!(err instanceof LibcError)) throw err;
    const why = err.code === 'ENOENT' ? 'it does not exist (create it with `ip netns add`, or pass a /proc/PID/ns/net path)' : err.code;
    throw new LibcError('open', err.errno, path, `cannot open network namespace "${netns}" at ${path}: ${why}`);
  }
  let own: number | undefined;
  try {
    own = openReadOnly('/proc/thread-self/ns/net');
    try {
      setns(target, CLONE_NEWNET);
    } catch (err) {
      if (!(err instanceof LibcError)) throw err;
      const why = err.code === 'EPERM' ? 'entering a network namespace needs CAP_SYS_ADMIN' : err.code === 'EINVAL' ? 'not a network namespace' : err.code;
      throw new LibcError('setns', err.errno, path, `cannot enter network namespace "${netns}" (${path}): ${why}`);
    }
    try {
      return createRaw();
    } finally {
      setns(own, CLONE_NEWNET);
    }
  } finally {
    closeFd(target);
    if (own !== undefined) closeFd(own);
  }
}

/** The socket file descriptors open in this process right now. */
function socketFds(): Set<number> {
  const fds = new Set<number>();
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`).startsWith('socket:')) fds.add(Number(name));
    } catch {
      // closed while we looked
    }
  }
  return fds;
}

function isGenericNetlinkPort(fd: number, portId: number): boolean {
  const addr = netlinkSockname(fd);
  if (addr?.family !== AF_NETLINK || addr.portId !== portId) return false;
  try {
    return getIntSockopt(fd, SOL_SOCKET, SO_PROTOCOL) === NETLINK_GENERIC;
  } catch {
    return false;
  }
}

/**
 * The file descriptor behind a netlink socket (the package does not expose it): a socket fd that was
 * not open before the socket was created and is bound to its port id. Port ids are unique only per
 * network namespace, so a socket of ours in another namespace may share the port id; the "new since"
 * filter tells them apart. Without a unique answer we return undefined rather than risk the wrong fd.
 */
function findFd(portId: number, before: ReadonlySet<number>): number | undefined {
  const all = [...socketFds()].filter((fd) => isGenericNetlinkPort(fd, portId));
  const fresh = all.filter((fd) => !before.has(fd));
  if (fresh.length === 1) return fresh[0];
  return all.length === 1 ? all[0] : undefined;
}

/** Run a listener body; an exception is re-thrown on its own stack, where the process can handle it. */
function guard(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

export class KernelSocketTransport implements Transport {
  readonly portId: number;
  readonly receiveBufferSize: number;
  /**
   * Which optional socket options took effect (they need libc through koffi and a recent kernel).
   * `dropDetection`: overflows of the receive buffer are noticed through the socket's drop counter
   * and reported as a non-fatal ENOBUFS (see the constructor for why the kernel's own ENOBUFS is off).
   */
  readonly features: { extendedAck: boolean; strictCheck: boolean; capAck: boolean; dropDetection: boolean };
  private readonly sock: RawSocket;
  private readonly fd: number | undefined;
  private drops = 0;
  private receiver: TransportReceiver | undefined;
  private closed = false;

  constructor(options: KernelSocketOptions = {}) {
    let before: Set<number> | undefined;
    try {
      before = socketFds();
    } catch {
      before = undefined; // no /proc: run without the optional options
    }
    this.sock = options.netns ? createInNamespace(options.netns) : createRaw();
    this.sock.unref();
    this.portId = this.sock.address().port;
    const want = options.receiveBufferSize ?? 4 * 1024 * 1024;
    const features = { extendedAck: false, strictCheck: false, capAck: false, dropDetection: false };
    let fd: number | undefined;
    try {
      fd = before === undefined ? undefined : findFd(this.portId, before);
    } catch {
      fd = undefined; // no koffi/libc: run without the optional options
    }
    if (fd !== undefined) {
      const tryOpt = (level: number, name: number, value: number): boolean => {
        try {
          setIntSockopt(fd as number, level, name, value);
          return true;
        } catch {
          return false;
        }
      };
      if (!tryOpt(SOL_SOCKET, SO_RCVBUFFORCE, want)) this.trySetRecv(want);
      features.extendedAck = options.extendedAck !== false && tryOpt(SOL_NETLINK, NETLINK_EXT_ACK, 1);
      features.strictCheck = options.strictCheck !== false && tryOpt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
      features.capAck = options.capAck !== false && tryOpt(SOL_NETLINK, NETLINK_CAP_ACK, 1);
      // When the receive buffer overflows, the kernel drops the reply and sets the socket error to
      // ENOBUFS, which makes poll() report POLLERR; libuv turns that into a poll failure and the
      // `netlink` package's native code aborts the whole process on it (std::terminate; seen with
      // 0.3.0). NETLINK_NO_ENOBUFS keeps the socket error clear; the drops still show in the socket's
      // drop counter, which we read before each datagram and report as the non-fatal ENOBUFS the
      // engine expects. Only when both work is the option left on.
      if (this.readDrops(fd) !== undefined && tryOpt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)) {
        features.dropDetection = true;
        this.drops = this.readDrops(fd) ?? 0;
      }
    } else {
      this.trySetRecv(want);
    }
    this.fd = features.dropDetection ? fd : undefined;
    this.features = features;
    this.receiveBufferSize = this.sock.getRecvBufferSize();
    // An exception escaping a listener inside the package's native callback also aborts the process,
    // so nothing may be thrown from here: a failure is re-thrown on a clean stack instead.
    this.sock.on('message', (msg, rinfo) => {
      if (rinfo.port !== 0) return; // only the kernel talks to us
      guard(() => {
        this.checkDrops();
        this.receiver?.datagram(msg);
      });
    });
    this.sock.on('error', (err) => {
      // ENOBUFS: the receive buffer overflowed and replies were dropped; the socket itself is fine.
      guard(() => this.receiver?.error(err, err.code !== 'ENOBUFS'));
    });
  }

  private readDrops(fd: number): number | undefined {
    try {
      const info = getSockoptBytes(fd, SOL_SOCKET, SO_MEMINFO, 4 * SK_MEMINFO_VARS);
      return info.length >= 4 * (SK_MEMINFO_DROPS + 1) ? info.readUInt32LE(4 * SK_MEMINFO_DROPS) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Replies dropped since the last look: report them before the next datagram is handled, so no
   * request can complete with part of its answer missing.
   */
  private checkDrops(): void {
    if (this.fd === undefined || this.closed) return;
    const now = this.readDrops(this.fd);
    if (now === undefined || now === this.drops) return;
    const lost = (now - this.drops) >>> 0;
    this.drops = now;
    const err = Object.assign(new Error(`recvmsg: ${lost} netlink message(s) dropped, the receive buffer overflowed (ENOBUFS)`), {
      code: 'ENOBUFS',
      errno: ENOBUFS,
      syscall: 'recvmsg',
    });
    this.receiver?.error(err, false);
  }

  private trySetRecv(size: number): void {
    try {
      this.sock.setRecvBufferSize(size);
    } catch {
      // capped by net.core.rmem_max; the engine sizes batches to what we got
    }
  }

  attach(receiver: TransportReceiver): void {
    this.receiver = receiver;
  }

  send(datagram: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(Object.assign(new Error('socket closed'), { code: 'ECLOSED' }));
        return;
      }
      this.sock.send(datagram, { port: 0 }, (err) => (err ? reject(err) : resolve()));
    });
  }

  hold(busy: boolean): void {
    if (this.closed) return;
    if (busy) this.sock.ref();
    else this.sock.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
  }
}
