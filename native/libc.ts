// The few libc calls the `netlink` package does not offer, through koffi (prebuilt, maintained;
// ffi-napi/ref-napi do not build on Node 20+). Loaded lazily so that importing the library on a
// machine without libc (or in the fake-kernel-only tests) costs nothing.

import { constants as osConstants } from 'node:os';
import { NativeLoadError, nativeRequire } from './load.js';

type KoffiFn = (...args: unknown[]) => number;

interface Libc {
  setns: KoffiFn;
  open: KoffiFn;
  close: KoffiFn;
  setsockopt: KoffiFn;
  getsockopt: KoffiFn;
  send: KoffiFn;
  recvfrom: KoffiFn;
  recvmmsg: KoffiFn;
  errno: () => number;
  koffi: KoffiMemory;
}

/** The part of koffi's API that handles native memory (for recvmmsg's vector of message headers). */
interface KoffiMemory {
  alloc(type: string, count: number): unknown;
  view(ptr: unknown, length: number): ArrayBuffer;
  encode(ptr: unknown, type: string, value: unknown): void;
  address(ptr: unknown): bigint;
  free(ptr: unknown): void;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  try {
    libc = loadLibc();
  } catch (err) {
    throw new NativeLoadError('koffi', err);
  }
  return libc;
}

/** Whether libc can be reached through koffi (loading it now if it was not yet). */
export function libcAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

function loadLibc(): Libc {
  // koffi ships CommonJS with prebuilt binaries; require keeps its loading synchronous.
  const koffi = nativeRequire('koffi') as KoffiMemory & {
    load(path: string): { func(def: string): KoffiFn };
    errno(): number;
  };
  const lib = koffi.load('libc.so.6');
  return {
    setns: lib.func('int setns(int fd, int nstype)'),
    open: lib.func('int open(const char *path, int flags)'),
    close: lib.func('int close(int fd)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)'),
    getsockopt: lib.func('int getsockopt(int fd, int level, int name, _Out_ void *value, _Inout_ uint32_t *len)'),
    send: lib.func('long send(int fd, const void *buf, unsigned long len, int flags)'),
    recvfrom: lib.func('long recvfrom(int fd, _Out_ void *buf, unsigned long len, int flags, _Out_ void *addr, _Inout_ uint32_t *addrlen)'),
    recvmmsg: lib.func('int recvmmsg(int fd, void *vec, unsigned int vlen, int flags, void *timeout)'),
    errno: () => koffi.errno(),
    koffi,
  };
}

function errnoCode(errno: number): string {
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === errno) return name;
  return `E${errno}`;
}

export class LibcError extends Error {
  readonly errno: number;
  /** The errno's symbolic name, e.g. 'ENOENT', as Node's own system errors carry it. */
  readonly code: string;
  readonly syscall: string;
  constructor(syscall: string, errno: number, detail: string, message?: string) {
    const code = errnoCode(errno);
    super(message ?? `${syscall}(${detail}) failed: ${code} (errno ${errno})`);
    this.name = 'LibcError';
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
  }
}

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
export const CLONE_NEWNET = 0x40000000;

export function openReadOnly(path: string): number {
  const c = load();
  const fd = c.open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw new LibcError('open', c.errno(), path);
  return fd;
}

export function closeFd(fd: number): void {
  load().close(fd);
}

/** Move the calling thread into the namespace open at `fd`. */
export function setns(fd: number, nstype: number): void {
  const c = load();
  if (c.setns(fd, nstype) !== 0) throw new LibcError('setns', c.errno(), String(fd));
}

export function setIntSockopt(fd: number, level: number, name: number, value: number): void {
  const c = load();
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value);
  if (c.setsockopt(fd, level, name, buf, 4) !== 0) throw new LibcError('setsockopt', c.errno(), `${level}, ${name}`);
}

export function getIntSockopt(fd: number, level: number, name: number): number {
  const c = load();
  const buf = Buffer.alloc(4);
  const len = [4];
  if (c.getsockopt(fd, level, name, buf, len) !== 0) throw new LibcError('getsockopt', c.errno(), `${level}, ${name}`);
  return buf.readInt32LE(0);
}

/** A getsockopt value of up to `size` bytes (e.g. SO_MEMINFO's array of u32 counters). */
export function getSockoptBytes(fd: number, level: number, name: number, size: number): Buffer {
  const c = load();
  const buf = Buffer.alloc(size);
  const len = [size];
  if (c.getsockopt(fd, level, name, buf, len) !== 0) throw new LibcError('getsockopt', c.errno(), `${level}, ${name}`);
  return buf.subarray(0, Math.min(size, len[0] ?? size));
}

/**
 * Direct send(2) and recvfrom(2) on a socket, for the kernel transport's synchronous exchange. Each call
 * returns the byte count, or minus the errno; nothing is allocated per call but the result.
 */
export interface DirectIo {
  send(fd: number, data: Uint8Array, flags: number): number;
  /** Into `buf`; the sender's address goes into `addr` (16 bytes for netlink). */
  recvfrom(fd: number, buf: Buffer, flags: number, addr: Buffer): number;
}

export function directIo(): DirectIo {
  const c = load();
  const addrLen = [16];
  return {
    send(fd, data, flags) {
      const n = c.send(fd, data, data.length, flags);
      return n < 0 ? -c.errno() : n;
    },
    recvfrom(fd, buf, flags, addr) {
      addrLen[0] = addr.length;
      const n = c.recvfrom(fd, buf, buf.length, flags, addr, addrLen);
      return n < 0 ? -c.errno() : n;
    },
  };
}

/**
 * recvmmsg(2) into `slots` native buffers of `slotSize` bytes, set up once: one system call reads every
 * datagram already queued (up to `slots`). For a netlink dump that matters twice over: reading a part
 * makes the kernel queue the next one (or the DONE) during the same call, so a small dump's data and its
 * DONE come back from one call, where recvfrom needs two. x86-64 / aarch64 layout of struct mmsghdr.
 */
export interface MultiReceive {
  /** Datagrams read (0 when none waits), or minus the errno. */
  receive(fd: number, flags: number): number;
  /** Datagram i of the last receive: a view into native memory, valid until the next receive. */
  datagram(i: number): Buffer;
  /** Its length before truncation (MSG_TRUNC), when larger than the slot. */
  truncated(i: number): boolean;
  /** The sender's netlink port id (0: the kernel). */
  senderPort(i: number): number;
  /** Release the native memory; nothing may be called afterwards. */
  free(): void;
}

const MMSGHDR_SIZE = 64;
const MSGHDR_NAMELEN = 8;
const MSGHDR_FLAGS = 48;
const MMSGHDR_LEN = 56;
const MSG_TRUNC_FLAG = 0x20;

export function multiReceive(slots: number, slotSize: number): MultiReceive {
  const c = load();
  const k = c.koffi;
  const data = k.alloc('uint8_t', slots * slotSize);
  const names = k.alloc('uint8_t', slots * 16);
  const iovs = k.alloc('uint8_t', slots * 16);
  const vec = k.alloc('uint8_t', slots * MMSGHDR_SIZE);
  const dataView = Buffer.from(k.view(data, slots * slotSize));
  const namesView = Buffer.from(k.view(names, slots * 16));
  const iovView = Buffer.from(k.view(iovs, slots * 16));
  const vecView = Buffer.from(k.view(vec, slots * MMSGHDR_SIZE));
  const dataAt = k.address(data);
  const namesAt = k.address(names);
  const iovsAt = k.address(iovs);
  vecView.fill(0);
  for (let i = 0; i < slots; i++) {
    iovView.writeBigUInt64LE(dataAt + BigInt(i * slotSize), i * 16);
    iovView.writeBigUInt64LE(BigInt(slotSize), i * 16 + 8);
    const m = i * MMSGHDR_SIZE;
    vecView.writeBigUInt64LE(namesAt + BigInt(i * 16), m);
    vecView.writeBigUInt64LE(iovsAt + BigInt(i * 16), m + 16);
    vecView.writeBigUInt64LE(1n, m + 24);
  }
  const lengths = new Array<number>(slots).fill(0);
  return {
    receive(fd, flags) {
      for (let i = 0; i < slots; i++) vecView.writeUInt32LE(16, i * MMSGHDR_SIZE + MSGHDR_NAMELEN);
      const n = c.recvmmsg(fd, vec, slots, flags, null);
      if (n < 0) return -c.errno();
      for (let i = 0; i < n; i++) lengths[i] = vecView.readUInt32LE(i * MMSGHDR_SIZE + MMSGHDR_LEN);
      return n;
    },
    datagram(i) {
      return dataView.subarray(i * slotSize, i * slotSize + Math.min(lengths[i] ?? 0, slotSize));
    },
    truncated(i) {
      return (vecView.readInt32LE(i * MMSGHDR_SIZE + MSGHDR_FLAGS) & MSG_TRUNC_FLAG) !== 0;
    },
    senderPort(i) {
      return namesView.readUInt32LE(i * 16 + 4);
    },
    free() {
      for (const p of [data, names, iovs, vec]) k.free(p);
    },
  };
}
