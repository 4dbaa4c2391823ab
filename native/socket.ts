// The kernel transport: a NETLINK_GENERIC socket from the `netlink` package (non-blocking, polled by
// libuv, prebuilt binaries), opened in another network namespace when asked (setns on this thread
// around socket creation only), with the socket options a real tool wants set through libc.

import { readdirSync, readlinkSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { ExchangeResult, Transport, TransportReceiver } from '../src/netlink/transport.js';
import {
  CLONE_NEWNET,
  closeFd,
  directIo,
  multiReceive,
  type DirectIo,
  type MultiReceive,
  getIntSockopt,
  getSockoptBytes,
  LibcError,
  libcAvailable,
  openReadOnly,
  setIntSockopt,
  setns,
} from './libc.js';
import { NativeLoadError, nativeRequire } from './load.js';
import { fsIo, nonBlockingFdOf, procNetlinkSocket } from './proc-socket.js';
import { inChildUserNamespace } from './user-namespace.js';

const NETLINK_GENERIC = 16;
const SOL_SOCKET = 1;
const SO_RCVBUFFORCE = 33;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const NETLINK_GET_STRICT_CHK = 12;
const NETLINK_NO_ENOBUFS = 5;
const SO_MEMINFO = 55;
const SO_ERROR = 4;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
/** NLM_F_DUMP (0x300), as it sits in the high byte of a request's nlmsg_flags (byte 7). */
const DUMP_FLAGS_HIGH = 0x03;
/** SO_MEMINFO is an array of u32 counters (SK_MEMINFO_VARS of them); SK_MEMINFO_DROPS is the 9th. */
const SK_MEMINFO_VARS = 9;
const SK_MEMINFO_DROPS = 8;
const ENOBUFS = 105;
const EAGAIN = 11;
const EINTR = 4;
const SO_SNDBUF = 7;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
/** Room for one datagram read synchronously: the kernel cuts dump datagrams at about 32 KiB. */
const RECEIVE_CHUNK = 65536;
/** Datagrams one synchronous read may return (recvmmsg): a dump reads this far ahead at most. */
const RECEIVE_SLOTS = 4;
/** Datagrams read at most through our own reads when the package's poll meets a paused dump (readOn). */
const POLL_RESCUE_READS = 1024;
/** The kernel refuses a datagram longer than its send buffer less this much (netlink_sendmsg). */
const SEND_SLACK = 32;

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
  getSendBufferSize(): number;
  setRecvBufferSize(size: number): void;
}

type RawSocketCtor = new (protocol: number, options?: { recvBufferSize?: number; sendBufferSize?: number }) => RawSocket;

export function netnsPath(netns: string): string {
  return netns.includes('/') ? netns : `/var/run/netns/${netns}`;
}

let rawSocketClass: RawSocketCtor | undefined;

/**
 * The package's RawNetlinkSocket, from its raw-socket module alone: its main entry also loads the whole
 * rtnetlink and generic-netlink layer we do not use, which is most of a client's opening time (7x the
 * load time on the host; far more where page faults are slow). A version that moves the module falls
 * back to the main entry.
 */
function rawSocketCtor(): RawSocketCtor {
  if (rawSocketClass === undefined) {
    let mod: { RawNetlinkSocket?: RawSocketCtor } | undefined;
    try {
      mod = nativeRequire('netlink/dist/raw.js') as { RawNetlinkSocket?: RawSocketCtor };
    } catch {
      mod = undefined;
    }
    try {
      rawSocketClass = mod?.RawNetlinkSocket ?? (nativeRequire('netlink') as { RawNetlinkSocket: RawSocketCtor }).RawNetlinkSocket;
    } catch (err) {
      // Most often node-gyp-build's "No native build was found for platform=...": no binary for this machine.
      throw new NativeLoadError('netlink', err);
    }
  }
  return rawSocketClass;
}

function createRaw(): RawSocket {
  const RawNetlinkSocket = rawSocketCtor();
  try {
    return new RawNetlinkSocket(NETLINK_GENERIC);
  } catch (err) {
    // The package binds to a port id of the pid and a 10-bit counter, so a process holding 1 024 of its
    // sockets has none left; it then throws a bare Error, which would reach users as EIO.
    if (err instanceof Error && (err as { errno?: unknown }).errno === undefined && /free address/.test(err.message)) {
      throw Object.assign(
        errnoError('bind', osConstants.errno.EADDRINUSE, 'no free netlink port id: the `netlink` package allots 1 024 per process (the pid and a 10-bit counter) and every one is taken; close the clients no longer in use'),
        { cause: err },
      );
    }
    throw err;
  }
}

/** What to say when a namespace path cannot be opened. */
function openFailure(netns: string, path: string, err: LibcError): LibcError {
  const proc = /^\/proc\/(\d+)\//.exec(path);
  // A namespace `ip netns add` mounted under /var/run/netns is an nsfs file anyone may open (mode 0444); the file
  // it is mounted on is empty and of mode 0, so a refusal there means the namespace is not (or no longer) mounted:
  // root would open that file and be told it is not a network namespace. Another process's takes root.
  const named = /^\/(var\/)?run\/netns\/[^/]+$/.test(path);
  const refused = proc
    ? "opening another process's namespace needs root"
    : named ? 'no network namespace is mounted there (one `ip netns add` mounted any user may open)' : undefined;
  const why = err.code !== 'ENOENT'
    ? (err.code === 'EACCES' || err.code === 'EPERM') && refused !== undefined ? `${err.code}: ${refused}` : err.code
    : netns.includes('/')
      ? proc ? `it does not exist (is process ${proc[1]} still running?)` : 'it does not exist'
      : 'it does not exist (create it with `ip netns add`, or pass a /proc/PID/ns/net path)';
  return new LibcError('open', err.errno, path, `cannot open network namespace "${netns}" at ${path}: ${why}`);
}

/** An fd of the namespace file at `path` (named `netns` by the caller), or the sentence of why it cannot be opened. */
function openNamespace(netns: string, path: string): number {
  try {
    return openReadOnly(path);
  } catch (err) {
    if (!(err instanceof LibcError)) throw err;
    throw openFailure(netns, path, err);
  }
}

/**
 * Move the calling thread into `netns` for good, as the command line's --netns does before it makes anything: the
 * sockets this thread makes from then on, and what /proc/net shows the process (the main thread's namespace), are
 * that namespace's. Threads that exist already, libuv's pool among them, stay where they are. Needs koffi (a
 * NativeLoadError without it) and CAP_SYS_ADMIN over the target only: there is no coming back to check.
 */
export function enterNamespaceForGood(netns: string): void {
  const path = netnsPath(netns);
  const target = openNamespace(netns, path);
  try {
    setns(target, CLONE_NEWNET);
  } catch (err) {
    if (!(err instanceof LibcError)) throw err;
    throw new LibcError('setns', err.errno, path, `cannot enter network namespace "${netns}" (${path}): ${enterRefusal(err)}`);
  } finally {
    closeFd(target);
  }
}

/**
 * Why setns() into the target refused. Linux asks for CAP_SYS_ADMIN over the user namespace owning the target (and
 * over our own): a container's root holds it in its own user namespace, so there the plain "needs CAP_SYS_ADMIN"
 * would send it after what it has; it lacks it over namespaces its user namespace does not own (the host's).
 */
function enterRefusal(err: LibcError): string {
  if (err.code === 'EPERM') {
    return inChildUserNamespace()
      ? 'entering a network namespace needs CAP_SYS_ADMIN over the user namespace that owns it, and this process runs in another user namespace (a container), whose capabilities count only over the namespaces it owns'
      : 'entering a network namespace needs CAP_SYS_ADMIN';
  }
  return err.code === 'EINVAL' ? 'not a network namespace' : err.code;
}

/**
 * Create the socket inside `netns`; the thread returns to its own namespace before this returns. All of it is
 * synchronous, so no other JavaScript of this thread runs while the thread is elsewhere (other threads,
 * Workers included, have namespaces of their own).
 */
function createInNamespace(netns: string): MadeSocket {
  const path = netnsPath(netns);
  const target = openNamespace(netns, path);
  let own: number | undefined;
  try {
    try {
      own = openReadOnly('/proc/thread-self/ns/net');
    } catch (err) {
      if (!(err instanceof LibcError)) throw err;
      throw new LibcError('open', err.errno, '/proc/thread-self/ns/net', `cannot open network namespace "${netns}": this thread's own namespace (/proc/thread-self/ns/net), to come back to, cannot be opened: ${err.code}${err.code === 'ENOENT' ? ' (is /proc mounted?)' : ''}`);
    }
    // Coming back takes CAP_SYS_ADMIN over our own namespace's user namespace, which a process in a user
    // namespace may lack while it has it over the target's (one its user namespace owns): it could go and not
    // return, its thread left in the target for good. setns() into the namespace we are in checks exactly
    // that and changes nothing, so it is asked first.
    try {
      setns(own, CLONE_NEWNET);
    } catch (err) {
      if (!(err instanceof LibcError)) throw err;
      // Outside a user namespace this EPERM just means no CAP_SYS_ADMIN at all; inside one, it is the
      // missing way back, which the long sentence explains.
      const why = err.code !== 'EPERM'
        ? err.code
        : inChildUserNamespace()
          ? 'entering a network namespace needs CAP_SYS_ADMIN, over the namespace this thread is in as well (to come back to it; a process inside a user namespace lacks it over the namespace it started in)'
          : 'entering a network namespace needs CAP_SYS_ADMIN';
      throw new LibcError('setns', err.errno, path, `cannot enter network namespace "${netns}" (${path}): ${why}`);
    }
    try {
      setns(target, CLONE_NEWNET);
    } catch (err) {
      if (!(err instanceof LibcError)) throw err;
      throw new LibcError('setns', err.errno, path, `cannot enter network namespace "${netns}" (${path}): ${enterRefusal(err)}`);
    }
    let made: MadeSocket | undefined;
    try {
      made = createHere();
    } finally {
      comeBack(own, netns, made?.sock);
    }
    return made;
  } finally {
    closeFd(target);
    if (own !== undefined) closeFd(own);
  }
}

/**
 * Return the thread to its own namespace (`own`, an fd). Should that fail after all, the thread stays in
 * `netns`, which nothing here can undo: the socket made there is closed (left open, it would hold the
 * process alive) and the error says where the thread is.
 */
function comeBack(own: number, netns: string, sock: RawSocket | undefined): void {
  try {
    setns(own, CLONE_NEWNET);
  } catch (err) {
    if (!(err instanceof LibcError)) throw err;
    try {
      sock?.close();
    } catch {
      // already closed
    }
    throw new LibcError('setns', err.errno, String(own), `cannot return from network namespace "${netns}": ${err.code}; this thread is still inside it`);
  }
}

/** A socket just made, and its inode (undefined when /proc cannot tell it). */
interface MadeSocket {
  sock: RawSocket;
  inode: number | undefined;
}

/**
 * A socket in the calling thread's namespace, and its inode, read from that namespace's netlink table while
 * the thread is still in it: port ids are unique within a namespace, so its line there is its own.
 */
function createHere(): MadeSocket {
  const sock = createRaw();
  let inode: number | undefined;
  try {
    inode = procNetlinkSocket(NETLINK_GENERIC, sock.address().port, '/proc/thread-self/net/netlink')?.inode;
  } catch {
    inode = undefined; // run without the optional options
  }
  return { sock, inode };
}

/**
 * The file descriptor behind a netlink socket (the package does not expose it): the one of this process
 * linked to its inode. Found by port id instead, it could be another socket: port ids are unique only per
 * namespace, and another thread (a Worker, with its own count of them) may make a socket with the same one in
 * another namespace meanwhile, even on an fd that was free when ours was made.
 */
function fdOfInode(inode: number): number | undefined {
  const target = `socket:[${inode}]`;
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === target) return Number(name);
    } catch {
      // closed while we looked
    }
  }
  return undefined;
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

/** send/recvfrom on the socket's own fd (see KernelSocketTransport.direct). */
interface DirectSocket {
  io: DirectIo;
  fd: number;
  buf: Buffer;
  addr: Buffer;
  multi: MultiReceive | undefined;
}

/**
 * What the kernel socket runs with beyond the `netlink` package's own socket. Every option needs libc,
 * reached through koffi's native binding; without it (`libc: false`) the socket still works, with none of
 * them: its receive buffer only as large as net.core.rmem_max allows, and refusals without the kernel's
 * explanation. An overflow of its receive buffer is then the kernel's own socket error, which the socket reads
 * (through its fd, found in /proc) before the package's poll can abort on it, and reports as ENOBUFS.
 */
export interface SocketFeatures {
  /** koffi's binding and libc loaded (a network namespace can be entered only then). */
  libc: boolean;
  /** SO_RCVBUFFORCE set the receive buffer past net.core.rmem_max (it needs CAP_NET_ADMIN). */
  forcedReceiveBuffer: boolean;
  /** NETLINK_EXT_ACK: refusals carry the kernel's message. */
  extendedAck: boolean;
  /** NETLINK_GET_STRICT_CHK: the kernel checks request headers strictly. */
  strictCheck: boolean;
  /** NETLINK_CAP_ACK: a refusal echoes only the request's header. */
  capAck: boolean;
  /**
   * Overflows of the receive buffer are noticed through the socket's drop counter and reported as a
   * non-fatal ENOBUFS (see the constructor for why the kernel's own ENOBUFS is off).
   */
  dropDetection: boolean;
}

export class KernelSocketTransport implements Transport {
  readonly portId: number;
  readonly receiveBufferSize: number;
  /** Which optional socket options took effect (see SocketFeatures). */
  readonly features: Readonly<SocketFeatures>;
  /** The kernel answers a datagram's messages in order, inside sendmsg (see Transport.answersInOrder). */
  readonly answersInOrder = true;
  // Optional as in Transport (absent when unknown): `number | undefined` breaks exactOptionalPropertyTypes users.
  readonly maxDatagramSize?: number;
  private readonly sock: RawSocket;
  private readonly fd: number | undefined;
  /** send/recvfrom on the socket itself, when its fd was found: the synchronous exchange. */
  private readonly direct: DirectSocket | undefined;
  private drops = 0;
  /**
   * The sequence number of the last dump request sent, until its last datagram is read or a read finds
   * the socket empty: while it runs, a read that leaves other replies queued can make the kernel pause it
   * (see pausedDump).
   */
  private dumpSeq: number | undefined;
  /** A read during a dump met a reply to another request: the dump may have been paused (see settleDump). */
  private mixed = false;
  /** The exchange under way has read a datagram answering another request (see exchange). */
  private foreign = false;
  /** The answer the exchange under way took is its dump's start refused for room (see refusedForRoom). */
  private refused = false;
  private receiver: TransportReceiver | undefined;
  private closed = false;
  /** Without libc: the drop counter last seen in /proc/net/netlink, for the socket of this inode (see withoutLibc). */
  private proc: { inode: number; drops: number } | undefined;
  /** A settle() is queued or running (without libc). */
  private settling = false;
  /** A write or a dump's read since settle() last read: it must read (again). */
  private unsettled = false;
  /** Its entry among the sockets closed at the process's exit (closeAtExit). */
  private readonly exitEntry: WeakRef<RawSocket>;

  constructor(options: KernelSocketOptions = {}) {
    const made = options.netns ? createInNamespace(options.netns) : createHere();
    this.sock = made.sock;
    this.sock.unref();
    this.exitEntry = closeAtExit(this.sock);
    this.portId = this.sock.address().port;
    const want = options.receiveBufferSize ?? 4 * 1024 * 1024;
    const features: SocketFeatures = { libc: libcAvailable(), forcedReceiveBuffer: false, extendedAck: false, strictCheck: false, capAck: false, dropDetection: false };
    let fd: number | undefined;
    try {
      fd = made.inode === undefined || !features.libc ? undefined : fdOfInode(made.inode);
    } catch {
      fd = undefined; // run without the optional options
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
      features.forcedReceiveBuffer = tryOpt(SOL_SOCKET, SO_RCVBUFFORCE, want);
      if (!features.forcedReceiveBuffer) this.trySetRecv(want);
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
    this.features = Object.freeze(features);
    let direct: typeof this.direct;
    let maxDatagram: number | undefined;
    if (fd !== undefined) {
      try {
        maxDatagram = getIntSockopt(fd, SOL_SOCKET, SO_SNDBUF) - SEND_SLACK;
        let multi: MultiReceive | undefined;
        try {
          multi = process.arch === 'x64' || process.arch === 'arm64' ? multiReceive(RECEIVE_SLOTS, RECEIVE_CHUNK) : undefined;
        } catch {
          multi = undefined; // recvfrom, one datagram per call
        }
        direct = { io: directIo(), fd, buf: Buffer.allocUnsafe(RECEIVE_CHUNK), addr: Buffer.alloc(16), multi };
      } catch {
        direct = undefined; // the package's own send and poll remain
      }
    }
    if (direct === undefined && !features.libc) direct = this.withoutLibc();
    // Without libc the package still knows SO_SNDBUF: a datagram larger than it is refused whole (EMSGSIZE).
    if (maxDatagram === undefined) maxDatagram = this.sendBufferSize() - SEND_SLACK;
    this.direct = direct;
    if (maxDatagram !== undefined && maxDatagram > 0) this.maxDatagramSize = maxDatagram;
    this.receiveBufferSize = this.sock.getRecvBufferSize();
    // An exception escaping a listener inside the package's native callback also aborts the process,
    // so nothing may be thrown from here: a failure is re-thrown on a clean stack instead.
    this.sock.on('message', (msg, rinfo) => {
      if (rinfo.port !== 0) return; // only the kernel talks to us
      // The package's poll reads up to 32 datagrams a turn; a pause left by the last of them would meet
      // its next poll as POLLERR, which it aborts the process on. Only while a dump runs: no cost otherwise.
      guard(() => {
        if (this.dumpSeq !== undefined) {
          this.sawDatagram(msg);
          if (this.dumpSeq !== undefined) this.clearSocketError();
        }
        this.checkDrops();
        this.receiver?.datagram(msg);
      });
    });
    this.sock.on('error', (err) => {
      // ENOBUFS with drop detection on: a dump paused for room (see pausedDump), nothing was lost; the
      // drop counter says whether anything was. Without it: replies were dropped; the socket is fine.
      if (err.code === 'ENOBUFS' && this.fd !== undefined) {
        guard(() => {
          this.checkDrops();
          this.readOn();
        });
        return;
      }
      // Without libc: the package's read met the kernel's own ENOBUFS, an overflow or a paused dump.
      if (err.code === 'ENOBUFS' && this.proc !== undefined) {
        guard(() => {
          const lost = this.procDropped();
          if (lost !== 0) this.receiver?.error(overflowError(lost), false);
          this.readOn();
        });
        return;
      }
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
    this.receiver?.error(overflowError(lost), false);
  }

  /**
   * Without libc the kernel's own ENOBUFS stays on (NETLINK_NO_ENOBUFS needs setsockopt): an overflow sets the
   * socket error, and the package's poll, meeting it as POLLERR, aborts the process. Only a read clears it, so
   * the socket is read and written through its fd, found in /proc, with Node's fs, and every write, and every
   * read while a dump runs, is settled before the event loop turns (settle). Undefined when the fd cannot be
   * found (no /proc): the package's own send and poll remain, and so does the abort on an overflow.
   */
  private withoutLibc(): DirectSocket | undefined {
    const entry = procNetlinkSocket(NETLINK_GENERIC, this.portId);
    const fd = entry === undefined ? undefined : nonBlockingFdOf(entry.inode);
    if (entry === undefined || fd === undefined) return undefined;
    this.proc = entry;
    return { io: fsIo(), fd, buf: Buffer.allocUnsafe(RECEIVE_CHUNK), addr: Buffer.alloc(16), multi: undefined };
  }

  /** Without libc: messages the kernel dropped for this socket since the last look (undefined: unknown, no /proc). */
  private procDropped(): number | undefined {
    const p = this.proc as { inode: number; drops: number };
    const now = procNetlinkSocket(NETLINK_GENERIC, this.portId);
    if (now === undefined || now.inode !== p.inode) return undefined;
    const lost = (now.drops - p.drops) >>> 0;
    p.drops = now.drops;
    return lost;
  }

  /** Without libc: have settle() run before the event loop's next turn. */
  private settleSoon(): void {
    if (this.proc === undefined || this.closed) return;
    this.unsettled = true;
    if (this.settling) return;
    this.settling = true;
    queueMicrotask(() => guard(() => this.settle()));
  }

  /**
   * Without libc: a write may have overflowed the buffer, and a read during a dump may have paused it; either
   * left the socket error set, for the package's poll to abort on at the event loop's next turn. Reads clear
   * it: they go on until one finds nothing (EAGAIN) or the error (ENOBUFS: receive() reads on through a pause
   * and reports a loss), or after the first one when no dump runs (only building a dump's part sets the error
   * at a read). What they read goes to the receiver in order, as the poll's reads would: a running dump is
   * so read ahead to its end or its next pause.
   */
  private settle(): void {
    try {
      while (this.unsettled && !this.closed) {
        this.unsettled = false;
        while (this.receive() && this.dumpSeq !== undefined && !this.closed);
      }
    } finally {
      this.settling = false;
    }
  }

  /** SO_SNDBUF as the package reads it (0 when it cannot). */
  private sendBufferSize(): number {
    try {
      return this.sock.getSendBufferSize();
    } catch {
      return 0;
    }
  }

  private trySetRecv(size: number): void {
    try {
      this.sock.setRecvBufferSize(size);
    } catch {
      // capped by net.core.rmem_max; the engine sizes batches to what we got
    }
  }

  /**
   * A read that failed with ENOBUFS although NETLINK_NO_ENOBUFS is set: nothing was dropped (drops never
   * set the socket error then). netlink_recvmsg() builds a running dump's next part after each read that
   * leaves the queue at most half full, and when that part does not fit beside the replies still queued
   * it leaves the dump paused and sets the socket error to ENOBUFS; the next read retries it. So the
   * read is simply made again. (Reported as a loss, it failed every waiting request at every read: at a
   * 4-8 KiB buffer, a listing sent behind other replies never got its part.) Without libc (NETLINK_NO_ENOBUFS
   * off) the error may be an overflow instead, reported here when the drop counter grew: false then.
   */
  private pausedDump(n: number): boolean {
    if (n !== -ENOBUFS) return false;
    if (this.fd !== undefined) return true;
    // Without libc the error is also the kernel's report of an overflow: the drop counter tells them apart.
    if (this.proc === undefined) return false;
    const lost = this.procDropped();
    if (lost === 0) return true;
    guard(() => this.receiver?.error(overflowError(lost), false));
    return false;
  }

  /**
   * The package's poll met a paused dump. It reads by peeking at a datagram's size first, and a peek has
   * the kernel retry the dump without taking anything off the queue, so the retry fails again, the read
   * after it returns the error, and the poll goes round forever (thousands of errors a second, nothing
   * delivered: seen at the 8 KiB minimum on Linux 6.1). Our own reads take datagrams off the queue, so
   * the dump goes on once they have made room.
   */
  private readOn(): void {
    for (let n = 0; n < POLL_RESCUE_READS && this.receive(); n++);
  }

  /**
   * Note a datagram read while a dump may run: one of another request means others share the queue; the
   * dump's own last one (NLMSG_DONE or an error) ends it, so that reads after it pay nothing (settleDump).
   */
  private sawDatagram(data: Buffer): void {
    if (data.length < 16) return;
    if (data.readUInt32LE(8) !== this.dumpSeq) {
      this.mixed = true;
      return;
    }
    let at = 0;
    let last = 0;
    while (at + 16 <= data.length) {
      const len = data.readUInt32LE(at);
      if (len < 16) return;
      last = at;
      at += (len + 3) & ~3;
    }
    const type = data.readUInt16LE(last + 4);
    if (refusedForRoom(data, last)) return;
    if (type === NLMSG_DONE || type === NLMSG_ERROR) this.dumpSeq = undefined;
  }

  /**
   * After reads that shared the queue with a running dump: the last of them may have paused it and left
   * the socket error set, which the `netlink` package's poll would take for a failure of the socket
   * (POLLERR) and abort the process on at the event loop's next turn. Reading SO_ERROR clears it; the
   * dump goes on at the next read, which the replies still queued make happen.
   */
  private settleDump(): void {
    if (this.proc !== undefined) {
      if (this.dumpSeq !== undefined) this.settleSoon();
      return;
    }
    if (!this.mixed) return;
    this.mixed = false;
    this.clearSocketError();
  }

  /** Read (and so clear) the socket error a paused dump may have left. */
  private clearSocketError(): void {
    if (this.proc !== undefined) {
      this.settleSoon();
      return;
    }
    if (this.fd === undefined || this.closed) return;
    try {
      getIntSockopt(this.fd, SOL_SOCKET, SO_ERROR);
    } catch {
      // closed meanwhile
    }
  }

  /** Note a dump request going out (its first message flagged NLM_F_DUMP). */
  private noteSent(datagram: Uint8Array): void {
    if (datagram.length >= 16 && ((datagram[7] as number) & DUMP_FLAGS_HIGH) === DUMP_FLAGS_HIGH) {
      this.dumpSeq = u32At(datagram, 8);
      this.mixed = false;
    }
  }

  attach(receiver: TransportReceiver): void {
    this.receiver = receiver;
  }

  /**
   * With the socket's fd: send(2) at once, so the kernel has answered (inside the call) when this
   * returns and receive() can read the replies without an event-loop turn. The package's send instead
   * queues the write for its poll and reports it on a 0 ms timer, re-arming epoll twice per request.
   */
  send(datagram: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(Object.assign(new Error('socket closed'), { code: 'ECLOSED' }));
    const d = this.direct;
    if (d === undefined) {
      return new Promise((resolve, reject) => {
        this.sock.send(datagram, { port: 0 }, (err) => (err ? reject(err) : resolve()));
      });
    }
    let n: number;
    do n = d.io.send(d.fd, datagram, 0);
    while (n === -EINTR);
    if (n < 0) return Promise.reject(errnoError('sendmsg', -n));
    this.noteSent(datagram);
    this.settleSoon();
    // Several requests in one datagram: their replies were queued during the call, all at once, so an
    // overflow of the receive buffer would show now (single requests cannot overflow it: every earlier
    // reply has been read by the engine before it sends again).
    if (isMultiMessage(datagram)) this.checkDrops();
    return Promise.resolve();
  }

  /**
   * Read one waiting datagram synchronously (MSG_DONTWAIT) and hand it to the receiver; false when
   * none waits. A copy is handed over: the engine keeps views into it while a dump is consumed.
   */
  receive(): boolean {
    const d = this.direct;
    if (d === undefined || this.closed) return false;
    if (d.multi !== undefined) return this.receiveMany(d.fd, d.multi);
    for (;;) {
      const n = d.io.recvfrom(d.fd, d.buf, MSG_DONTWAIT | MSG_TRUNC, d.addr);
      if (n === -EINTR || this.pausedDump(n)) continue;
      if (n < 0) {
        if (n === -EAGAIN) this.nothingWaiting();
        else if (n !== -ENOBUFS || this.proc === undefined) guard(() => this.receiver?.error(errnoError('recvmsg', -n), false));
        return false;
      }
      // Only the kernel (port 0) talks to us; anything else is dropped, as on the package's path.
      if (d.addr.readUInt32LE(4) !== 0) continue;
      if (n > d.buf.length) {
        guard(() => this.receiver?.error(errnoError('recvmsg', ENOBUFS, `a ${n}-byte datagram did not fit the ${d.buf.length}-byte read buffer`), false));
        return true;
      }
      const copy = Buffer.allocUnsafe(n);
      d.buf.copy(copy, 0, 0, n);
      if (this.dumpSeq !== undefined) this.sawDatagram(copy);
      this.receiver?.datagram(copy);
      this.settleDump();
      return true;
    }
  }

  /**
   * The engine read everything waiting while it still expects an answer. On this socket a reply is
   * queued inside the sendmsg that asked for it, so one that is missing now was dropped: a request sent
   * while the receive buffer was still full of replies left unread (those of requests an overflow had
   * already failed) loses its ACK that way, and would otherwise wait for its whole timeout.
   */
  private nothingWaiting(): void {
    // An empty queue: no dump is running (a running one always has a part queued, or is built at this read).
    this.dumpSeq = undefined;
    this.mixed = false;
    guard(() => this.checkDrops());
  }

  /**
   * send() and receive() in one go, with no copy and no event-loop turn: the kernel answers inside
   * sendmsg and queues each next part of a dump while the previous one is read, so a request and its
   * whole answer take one send and (for a small answer) one recvmmsg. `take` sees views into the receive
   * slots; datagrams read after it is satisfied go to the receiver as copies.
   */
  exchange(datagram: Uint8Array, take: (view: Buffer) => boolean): ExchangeResult {
    const d = this.direct;
    if (d === undefined || d.multi === undefined || this.closed) return 'unsupported';
    this.foreign = false;
    this.refused = false;
    const result = this.exchangeOn(d, d.multi, datagram, take, datagram.length >= 12 ? u32At(datagram, 8) : -1);
    if (this.foreign) this.mixed = true;
    this.settleDump();
    // Its end was read, unless that was the dump's start refused for room: the kernel still runs it.
    if (result === 'done' && !this.refused) this.dumpSeq = undefined;
    // Replies to other requests were waiting when this one was sent: the buffer may have been full, and
    // the kernel then refuses the dump's start (its error, dropped in turn, counts as a drop) but runs
    // the dump as soon as the reader has made room. Its whole answer came (or the read failed), so the
    // drop is reported now, while nothing waits (the engine exchanges only then), rather than blamed on
    // the next batch. A 'partial' answer leaves it to the engine's next read (nothingWaiting).
    if (this.foreign && result !== 'partial') this.checkDrops();
    return result;
  }

  /** exchange() itself; sets `foreign` when it reads a datagram that answers another request. */
  private exchangeOn(d: DirectSocket, multi: MultiReceive, datagram: Uint8Array, take: (view: Buffer) => boolean, seq: number): ExchangeResult {
    const fd = d.fd;
    let n: number;
    do n = d.io.send(fd, datagram, 0);
    while (n === -EINTR);
    if (n < 0) return errnoError('sendmsg', -n);
    this.noteSent(datagram);
    if (isMultiMessage(datagram)) this.checkDrops();
    for (;;) {
      do n = multi.receive(fd, MSG_DONTWAIT);
      while (n === -EINTR || this.pausedDump(n));
      if (n === -EAGAIN || n === 0) return 'partial';
      if (n < 0) return errnoError('recvmsg', -n);
      for (let i = 0; i < n; i++) {
        if (multi.senderPort(i) !== 0) continue; // only the kernel talks to us
        if (multi.truncated(i)) return errnoError('recvmsg', ENOBUFS, `a datagram did not fit the ${RECEIVE_CHUNK}-byte read buffer`);
        const view = multi.datagram(i);
        if (!this.foreign && view.length >= 12 && view.readUInt32LE(8) !== seq) this.foreign = true;
        if (!take(view)) continue;
        this.refused = view.length >= 20 && view.readUInt32LE(8) === this.dumpSeq && refusedForRoom(view, 0);
        for (let j = i + 1; j < n; j++) {
          if (multi.senderPort(j) !== 0 || multi.truncated(j)) continue;
          const view = multi.datagram(j);
          const copy = Buffer.allocUnsafe(view.length);
          view.copy(copy);
          this.receiver?.datagram(copy);
        }
        return 'done';
      }
    }
  }

  /** receive() through recvmmsg: every waiting datagram, up to RECEIVE_SLOTS, in one system call. */
  private receiveMany(fd: number, multi: MultiReceive): boolean {
    let n: number;
    do n = multi.receive(fd, MSG_DONTWAIT);
    while (n === -EINTR || this.pausedDump(n));
    if (n < 0) {
      if (n !== -EAGAIN) guard(() => this.receiver?.error(errnoError('recvmsg', -n), false));
      else this.nothingWaiting();
      return false;
    }
    // Copied out first: the receiver may read again (a dump's consumer) and reuse the slots.
    const copies: Buffer[] = [];
    let truncated = false;
    for (let i = 0; i < n; i++) {
      if (multi.senderPort(i) !== 0) continue; // only the kernel talks to us
      if (multi.truncated(i)) {
        truncated = true;
        continue;
      }
      const view = multi.datagram(i);
      const copy = Buffer.allocUnsafe(view.length);
      view.copy(copy);
      if (this.dumpSeq !== undefined) this.sawDatagram(copy);
      copies.push(copy);
    }
    if (truncated) guard(() => this.receiver?.error(errnoError('recvmsg', ENOBUFS, `a datagram did not fit the ${RECEIVE_CHUNK}-byte read buffer`), false));
    for (const copy of copies) this.receiver?.datagram(copy);
    this.settleDump();
    return n > 0;
  }

  hold(busy: boolean): void {
    if (this.closed) return;
    if (busy) this.sock.ref();
    else this.sock.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    openSockets.delete(this.exitEntry);
    this.sock.close();
    this.direct?.multi?.free();
  }
}

/**
 * Sockets not closed yet, closed when the process exits. The package's socket is unref'd while idle, so a
 * process may end with one open; a reply still queued on it (a request sent through the raw Transport and
 * never read) then reaches the package's poll during Node's teardown, which can no longer call into
 * JavaScript: the package throws in native code and the process aborts (exit 134). Weak: a transport
 * dropped without close() stays collectable.
 */
const openSockets = new Set<WeakRef<RawSocket>>();
let exitHooked = false;

function closeAtExit(sock: RawSocket): WeakRef<RawSocket> {
  const entry = new WeakRef(sock);
  openSockets.add(entry);
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const e of openSockets) {
        try {
          e.deref()?.close();
        } catch {
          // already closed by the package
        }
      }
      openSockets.clear();
    });
  }
  return entry;
}

/** The little-endian u32 at `at` (a netlink header's sequence number is at 8). */
function u32At(b: Uint8Array, at: number): number {
  return ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16) | ((b[at + 3] as number) << 24)) >>> 0;
}

/**
 * Whether the message at `at` is an NLMSG_ERROR carrying ENOBUFS: for a dump request, its start refused for
 * room. That does not end the dump: the kernel leaves it running and builds its parts once reads have made
 * room, pausing it as any other.
 */
function refusedForRoom(data: Buffer, at: number): boolean {
  return at + 20 <= data.length && data.readUInt16LE(at + 4) === NLMSG_ERROR && data.readInt32LE(at + 16) === -ENOBUFS;
}

/** Whether a datagram holds more than one netlink message (its first nlmsg_len is shorter than it). */
function isMultiMessage(datagram: Uint8Array): boolean {
  if (datagram.length < 4) return false;
  const first = (datagram[0] as number) | ((datagram[1] as number) << 8) | ((datagram[2] as number) << 16) | ((datagram[3] as number) << 24);
  return first >>> 0 < datagram.length;
}

/** The non-fatal ENOBUFS the engine expects for replies the kernel dropped (`lost` of them, when known). */
function overflowError(lost: number | undefined): Error & { code: string; errno: number; syscall: string } {
  const what = lost === undefined ? 'netlink messages' : `${lost} netlink message(s)`;
  return Object.assign(new Error(`recvmsg: ${what} dropped, the receive buffer overflowed (ENOBUFS)`), { code: 'ENOBUFS', errno: ENOBUFS, syscall: 'recvmsg' });
}

function errnoError(syscall: string, errno: number, detail?: string): Error & { code: string; errno: number; syscall: string } {
  const code = errno === ENOBUFS ? 'ENOBUFS' : errno === EAGAIN ? 'EAGAIN' : `E${errno}`;
  const name = Object.entries(osConstants.errno).find(([, v]) => v === errno)?.[0] ?? code;
  return Object.assign(new Error(`${syscall}: ${detail ?? name} (errno ${errno})`), { code: name, errno, syscall });
}
