// The few libc calls the `netlink` package does not offer, through koffi (prebuilt, maintained;
// ffi-napi/ref-napi do not build on Node 20+). Loaded lazily so that importing the library on a
// machine without libc (or in the fake-kernel-only tests) costs nothing.

import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';

type KoffiFn = (...args: unknown[]) => number;

interface Libc {
  setns: KoffiFn;
  open: KoffiFn;
  close: KoffiFn;
  setsockopt: KoffiFn;
  getsockopt: KoffiFn;
  getsockname: KoffiFn;
  errno: () => number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const require = createRequire(import.meta.url);
  // koffi ships CommonJS with prebuilt binaries; require keeps its loading synchronous.
  const koffi = require('koffi') as {
    load(path: string): { func(def: string): KoffiFn };
    errno(): number;
  };
  const lib = koffi.load('libc.so.6');
  libc = {
    setns: lib.func('int setns(int fd, int nstype)'),
    open: lib.func('int open(const char *path, int flags)'),
    close: lib.func('int close(int fd)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)'),
    getsockopt: lib.func('int getsockopt(int fd, int level, int name, _Out_ void *value, _Inout_ uint32_t *len)'),
    getsockname: lib.func('int getsockname(int fd, _Out_ void *addr, _Inout_ uint32_t *len)'),
    errno: () => koffi.errno(),
  };
  return libc;
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

/** The (family, netlink port id) of a socket; family is 16 (AF_NETLINK) for netlink sockets. */
export function netlinkSockname(fd: number): { family: number; portId: number } | undefined {
  const c = load();
  const addr = Buffer.alloc(16);
  const len = [16];
  if (c.getsockname(fd, addr, len) !== 0) return undefined;
  return { family: addr.readUInt16LE(0), portId: addr.readUInt32LE(4) };
}
