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
  const target = openReadOnly(netnsPath(netns));
  let own: number | undefined;
  try {
    own = openReadOnly('/proc/thread-self/ns/net');
    setns(target, CLONE_NEWNET);
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

/** The file descriptor behind a netlink socket, found by its port id (the package does not expose it). */
function findFd(portId: number): number | undefined {
  let found: number | undefined;
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue;
    }
    if (!link.startsWith('socket:')) continue;
    const addr = netlinkSockname(fd);
    if (addr?.family !== AF_NETLINK || addr.portId !== portId) continue;
    try {
      if (getIntSockopt(fd, SOL_SOCKET, SO_PROTOCOL) !== NETLINK_GENERIC) continue;
    } catch {
      continue;
    }
    found = fd;
  }
  return found;
}

export class KernelSocketTransport implements Transport {
  readonly portId: number;
  readonly receiveBufferSize: number;
  /** Which optional socket options took effect (they need libc through koffi and a recent kernel). */
  readonly features: { extendedAck: boolean; strictCheck: boolean; capAck: boolean };
  private readonly sock: RawSocket;
  private receiver: TransportReceiver | undefined;
  private closed = false;

  constructor(options: KernelSocketOptions = {}) {
    this.sock = options.netns ? createInNamespace(options.netns) : createRaw();
    this.sock.unref();
    this.portId = this.sock.address().port;
    const want = options.receiveBufferSize ?? 4 * 1024 * 1024;
    const features = { extendedAck: false, strictCheck: false, capAck: false };
    let fd: number | undefined;
    try {
      fd = findFd(this.portId);
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
    } else {
      this.trySetRecv(want);
    }
    this.features = features;
    this.receiveBufferSize = this.sock.getRecvBufferSize();
    this.sock.on('message', (msg, rinfo) => {
      if (rinfo.port !== 0) return; // only the kernel talks to us
      this.receiver?.datagram(msg);
    });
    this.sock.on('error', (err) => {
      // ENOBUFS: the receive buffer overflowed and replies were dropped; the socket itself is fine.
      this.receiver?.error(err, err.code !== 'ENOBUFS');
    });
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
