// The error hierarchy of the whole library. Every error thrown by `ipvs` is an IpvsError; the layers
// above add their own subclasses (validation in src/ipvs). Kernel refusals keep the errno, its name,
// the operation, and the kernel's extended-ack text, so a person and a program can both act on them.

import { constants as osConstants } from 'node:os';

const errnoNames = new Map<number, ErrnoName>();
for (const [name, value] of Object.entries(osConstants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}
// Linux aliases that os.constants lists first under another name.
errnoNames.set(95, 'EOPNOTSUPP');
errnoNames.set(11, 'EAGAIN');
errnoNames.set(35, 'EDEADLK');

/**
 * The symbolic name of a positive errno value, e.g. 17 -> 'EEXIST' (`E<number>` for one this platform has no
 * name for): an ErrnoName, as a KernelError's `code` is.
 */
export function errnoName(errno: number): ErrnoName {
  return errnoNames.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}

/** The positive errno value of a symbolic name, e.g. 'ESRCH' -> 3. */
export function errnoValue(name: string): number {
  const value = (osConstants.errno as Record<string, number>)[name];
  if (value === undefined) throw new Error(`unknown errno name ${name}`);
  return value;
}

/**
 * The errno names IPVS and this client's socket are known to give (the sentences of docs/api.md): named
 * for autocompletion and to catch a misspelt comparison. A KernelError carries whatever errno the kernel
 * sent, so its code is any errno name, these included.
 */
export type KnownErrnoName =
  | 'EEXIST' | 'ESRCH' | 'ENOENT' | 'EINVAL' | 'ERANGE' | 'EPERM' | 'EACCES' | 'EAFNOSUPPORT' | 'ENOPROTOOPT'
  | 'EBUSY' | 'ENODEV' | 'ENETUNREACH' | 'EADDRINUSE' | 'EADDRNOTAVAIL' | 'ENOMEM' | 'ENOBUFS' | 'EMFILE' | 'EIO';

/**
 * An errno name: one IPVS is known to give, or any other (`(string & {})` keeps every string assignable
 * while editors still offer the known names).
 */
export type ErrnoName = KnownErrnoName | (string & {});

/** The codes of the library's own errors, each fixed by its class (ValidationError: EINVALIDARG, ...). */
export type LibraryErrorCode =
  | 'EINVALIDARG' | 'ENOFAMILY' | 'ETIMEDOUT' | 'ABORT_ERR' | 'ECLOSED' | 'EDUMPINTR' | 'EDECODE' | 'ENATIVE'
  | 'EUSAGE' | 'ERULES' | 'EINVALIDSTATE' | 'ENOTSENT';

/** The `code` of an IpvsError: a library code or an errno name; any string stays assignable. */
export type IpvsErrorCode = LibraryErrorCode | ErrnoName;

export class IpvsError extends Error {
  /** A stable machine-readable code: an errno name (EEXIST, ...) or a library code (EINVALIDARG, ...). */
  readonly code: IpvsErrorCode;
  constructor(message: string, code: IpvsErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IpvsError';
    this.code = code;
  }
}

/**
 * `err` as an IpvsError: itself when it is one; an abort (an Error named AbortError) as an AbortError with its
 * message; otherwise an IpvsError with its message (or, not an Error,
 * its text), its own `code` when that is a non-empty string (`EIO` otherwise), and `err` as the `cause`. For
 * what reaches a user through a field typed IpvsError (execute()'s results, a step's failure, the health
 * checker's `error` event) from a transport or a client of the user's own. Not exported by the package.
 */
export function asIpvsError(err: unknown): IpvsError {
  if (err instanceof IpvsError) return err;
  // An abort of the user's own (a DOMException, Node's AbortError): the library's AbortError, so that `code`
  // says ABORT_ERR as for the client's own aborts, with the original's message.
  if (err instanceof Error && err.name === 'AbortError') {
    const aborted = new AbortError('request', { cause: err });
    aborted.message = err.message;
    return aborted;
  }
  const code = (err as { code?: unknown } | null | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return new IpvsError(message, typeof code === 'string' && code !== '' ? code : 'EIO', { cause: err });
}

/** Bytes that do not form a valid netlink message or attribute. Never a crash, always this. */
export class DecodeError extends IpvsError {
  declare readonly code: 'EDECODE';
  /** Byte offset at which the problem was found, relative to the buffer being decoded. */
  readonly offset: number;
  /** What was wrong, without the offset prefix (lets an outer decoder re-wrap it with context). */
  readonly reason: string;
  constructor(message: string, offset: number) {
    super(`malformed netlink data at byte ${offset}: ${message}`, 'EDECODE');
    this.name = 'DecodeError';
    this.offset = offset;
    this.reason = message;
  }
}

export interface KernelErrorDetails {
  /** Positive errno value. */
  errno: number;
  /** The operation that was refused, e.g. 'IPVS_CMD_NEW_SERVICE' or 'add service'. */
  operation: string;
  /** What the operation was about, e.g. 'tcp 192.168.1.110:80'. */
  object?: string | undefined;
  /** The kernel's extended-ack message (NLMSGERR_ATTR_MSG), when it sent one. */
  extack?: string | undefined;
  /** Offset of the offending attribute in the request (NLMSGERR_ATTR_OFFS). */
  extackOffset?: number | undefined;
  /** Sequence number of the refused request. */
  seq?: number | undefined;
  /** The sentence to show; a generic one is built when absent. */
  message?: string | undefined;
}

const generalAdvice: Record<string, string> = {
  EPERM: 'the operation needs CAP_NET_ADMIN: run as root or grant the capability',
  EACCES: 'the operation needs CAP_NET_ADMIN: run as root or grant the capability',
};

/** The kernel refused a request (an NLMSG_ERROR with a negative errno). */
export class KernelError extends IpvsError {
  /** The errno's name, e.g. 'EEXIST' (`E<number>` for one this platform has no name for). */
  declare readonly code: ErrnoName;
  readonly errno: number;
  readonly operation: string;
  readonly object: string | undefined;
  readonly extack: string | undefined;
  readonly extackOffset: number | undefined;
  readonly seq: number | undefined;
  constructor(details: KernelErrorDetails) {
    const code = errnoName(details.errno);
    const about = details.object ? ` ${details.object}` : '';
    const advice = generalAdvice[code];
    const base = details.message ?? (advice ? `${details.operation}${about}: ${advice}` : `${details.operation}${about} failed`);
    const extack = details.extack ? ` (kernel: ${details.extack})` : '';
    super(`${base} [${code}]${extack}`, code);
    this.name = 'KernelError';
    this.errno = details.errno;
    this.operation = details.operation;
    this.object = details.object;
    this.extack = details.extack;
    this.extackOffset = details.extackOffset;
    this.seq = details.seq;
  }
}

/**
 * A generic-netlink family the kernel does not have (nlctrl answered ENOENT), at open or, for a client
 * whose family went away since, in place of the kernel's refusal of its request (the `cause`).
 */
export class FamilyNotFoundError extends IpvsError {
  declare readonly code: 'ENOFAMILY';
  readonly family: string;
  constructor(family: string, hint?: string, options?: { cause?: unknown }) {
    super(`generic netlink family "${family}" not found${hint ? `: ${hint}` : ''}`, 'ENOFAMILY', options);
    this.name = 'FamilyNotFoundError';
    this.family = family;
  }
}

export class TimeoutError extends IpvsError {
  declare readonly code: 'ETIMEDOUT';
  /**
   * Whether a change's request had been sent: true when its answer did not come (its outcome is unknown: the kernel
   * may have carried it out), false when it timed out still waiting to be sent (the requests ahead of it got no
   * answer meanwhile). Undefined for a listing.
   */
  readonly sent: boolean | undefined;
  /**
   * `what`: what did not happen in time, when it is not the kernel's answer (a listing whose loop took the time).
   * `sent`: given for a change; only `false` shows in the message (a timeout of a sent request is the kernel's silence).
   */
  constructor(operation: string, ms: number, what = 'no answer from the kernel', sent?: boolean) {
    super(`${operation}${sent === false ? sentNote(false) : ''}: ${what} within ${ms} ms`, 'ETIMEDOUT');
    this.name = 'TimeoutError';
    this.sent = sent;
  }
}

/**
 * What an abort or a close says of a change's request (`sent` given): whether it had gone to the kernel. Sent, its
 * outcome is unknown (the kernel may have carried it out: read the table back); not sent, nothing happened.
 */
function sentNote(sent: boolean | undefined): string {
  return sent === undefined ? '' : sent ? ' (already sent: its outcome is unknown)' : ' (not sent)';
}

export class AbortError extends IpvsError {
  declare readonly code: 'ABORT_ERR';
  /**
   * Whether the request had been sent when the abort came: true, the kernel may have carried it out (read the table
   * back); false, nothing was sent. Undefined for a listing (which changes nothing) and an abort of a user's own.
   */
  readonly sent: boolean | undefined;
  constructor(operation: string, options?: { cause?: unknown; sent?: boolean }) {
    super(`${operation}${sentNote(options?.sent)}: aborted`, 'ABORT_ERR', options !== undefined && 'cause' in options ? { cause: options.cause } : undefined);
    this.name = 'AbortError';
    this.sent = options?.sent;
  }
}

/**
 * A request of a batch that never went out: the batch stopped before it, because the receive buffer
 * overflowed (ENOBUFS) on an earlier datagram of the same batch, or the transport refused an earlier
 * datagram of it (its send threw). Nothing of it reached the kernel. The
 * engine's own: execute() reports such operations `{ skipped: true }`, so users do not meet it there.
 */
export class NotSentError extends IpvsError {
  declare readonly code: 'ENOTSENT';
  /** `why`: what stopped the batch, when it is not an overflow (the transport refused an earlier datagram of it). */
  constructor(operation: string, options?: { cause?: unknown }, why = 'the receive buffer overflowed (ENOBUFS)') {
    super(`${operation}: not sent: ${why} on an earlier part of the same batch`, 'ENOTSENT', options);
    this.name = 'NotSentError';
  }
}

/**
 * The socket was closed while a request was waiting, or a request was made after close(); or the socket failed (a
 * fatal error of the transport, the `cause`), which ends the client as close() does: close it and open a new one.
 */
export class ClosedError extends IpvsError {
  declare readonly code: 'ECLOSED';
  /**
   * Whether the request had been sent: true for a change waiting for its answer at close() or at the socket's failure
   * (its outcome is unknown: the kernel may have carried it out), false for one made after either or still waiting
   * to be sent. Undefined for a listing.
   */
  readonly sent: boolean | undefined;
  /** `failure`: the socket's fatal error, when it failed rather than being closed. */
  constructor(operation: string, sent?: boolean, failure?: Error) {
    const why = failure === undefined
      ? 'the netlink socket is closed'
      : `the netlink socket failed (${failure.message}): this client can send nothing more; close it and open a new one`;
    super(`${operation}${sentNote(sent)}: ${why}`, 'ECLOSED', failure === undefined ? undefined : { cause: failure });
    this.name = 'ClosedError';
    this.sent = sent;
  }
}

/**
 * A dump came flagged NLM_F_DUMP_INTR (its producer saw its data change); the caller may retry. Linux
 * 6.1's IPVS never sets the flag, so a changed table is not reported this way.
 */
export class DumpInterruptedError extends IpvsError {
  declare readonly code: 'EDUMPINTR';
  constructor(operation: string) {
    super(`${operation}: the table changed during the dump (NLM_F_DUMP_INTR); retry`, 'EDUMPINTR');
    this.name = 'DumpInterruptedError';
  }
}

/** The native packages the kernel socket uses. */
export type NativePackage = 'netlink' | 'koffi';

/** What each native package is needed for, and what to do when it cannot be loaded. */
const NATIVE_PACKAGES: Readonly<Record<NativePackage, { role: string; remedy: string }>> = {
  netlink: {
    role: 'which provides the kernel socket',
    remedy: 'Its binaries are prebuilt for Linux on x64, arm64, arm and ia32; reinstall it, or build one for this machine with '
      + '`npm rebuild netlink` (needs python3, make and a C++ compiler).',
  },
  koffi: {
    role: 'which entering a network namespace needs',
    remedy: 'Its binary comes in a per-platform optional dependency (@koromix/koffi-<platform>-<arch>): install without '
      + '--omit=optional, on a platform koffi has a build for, with glibc (libc.so.6).',
  },
};

/**
 * A native package the kernel socket needs could not be loaded (its binary is missing or does not fit
 * this machine): `netlink`, without which there is no socket, or `koffi`, without which a network
 * namespace cannot be entered. `cause` is the loader's own error. Nothing was sent.
 */
export class NativeBindingError extends IpvsError {
  declare readonly code: 'ENATIVE';
  readonly packageName: NativePackage;
  constructor(packageName: NativePackage, cause: unknown) {
    const { role, remedy } = NATIVE_PACKAGES[packageName];
    const detail = (cause instanceof Error ? cause.message : String(cause)).trimEnd();
    super(`cannot load the native binding of the \`${packageName}\` package, ${role}: ${detail}\n${remedy}`, 'ENATIVE', { cause });
    this.name = 'NativeBindingError';
    this.packageName = packageName;
  }
}
