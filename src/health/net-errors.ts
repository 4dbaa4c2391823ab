// Network errors in words, for check results and log lines: 'connection refused' says more to a person
// than 'connect ECONNREFUSED 10.0.0.2:80', and the address is already in the line. A server that closes
// cleanly (a FIN) is told apart from one that resets: Node's http reports both with the code ECONNRESET,
// the clean close as 'socket hang up' (before the response was complete) or 'aborted' (in its body).
// Running out of descriptors is said to be the checker's own problem, not the server's, and
// localResourceError() tells the checker so: such a check did not run, and says nothing about the server.

import { HTTP_HEADER_LIMIT } from './limits.js';

const PHRASES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EADDRNOTAVAIL: 'local address not available (EADDRNOTAVAIL: check.localAddress is not on this host, or no ephemeral port is free)',
  EADDRINUSE: 'no ephemeral port is free to bind (EADDRINUSE)',
  ENOBUFS: 'this host is short of socket buffer memory (ENOBUFS)',
  ENOMEM: 'this host is short of kernel memory (ENOMEM)',
  EPIPE: 'connection closed while sending',
  ECONNABORTED: 'connection aborted',
  EMFILE: 'the checker process has too many open files (EMFILE): raise its limit (ulimit -n, LimitNOFILE=)',
  ENFILE: 'this host has too many open files (ENFILE, the system-wide limit fs.file-max)',
  EPROTO: 'protocol error (TLS?)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate does not match the host name',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate (set tlsVerify: false to accept it)',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in chain (set tlsVerify: false to accept it)',
  CERT_HAS_EXPIRED: 'certificate expired',
  HPE_INVALID_CONSTANT: 'not an HTTP response',
  ERR_INVALID_HTTP_RESPONSE: 'not an HTTP response',
  HPE_HEADER_OVERFLOW: `response headers larger than ${HTTP_HEADER_LIMIT / 1024} KiB`,
};

export function describeNetworkError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ECONNRESET' && message === 'socket hang up') return 'connection closed before a complete response';
  if (code === 'ECONNRESET' && message === 'aborted') return 'connection closed in the middle of the body';
  if (typeof code === 'string' && PHRASES[code]) return PHRASES[code];
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}

/**
 * The errno names that say a check could not run for want of something of the checker's own host, not
 * of the server (socket(2), bind(2), connect(2)): descriptors of the process (EMFILE) or of the host
 * (ENFILE), kernel memory (ENOBUFS, ENOMEM: socket(2), and connect(2)'s SYN), an ephemeral port (connect(2)'s
 * EADDRNOTAVAIL, bind(2)'s EADDRINUSE for port 0: the checker never binds a fixed port) or the source
 * address itself (bind(2)'s EADDRNOTAVAIL: check.localAddress is not, or no longer, on this host).
 */
const LOCAL_RESOURCE_CODES: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL', 'EADDRINUSE']);

/**
 * The errno name if `err` (or an error it wraps as its `cause`, as fetch's 'fetch failed' does, up to
 * three deep) is one of the checker's own host running short (LOCAL_RESOURCE_CODES), else undefined.
 */
export function localResourceError(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && LOCAL_RESOURCE_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A probe's failure on `err`: described, and marked when the checker's own host ran short (see localResourceError). */
export function networkFailure(err: unknown): { ok: false; detail: string; local?: string } {
  const local = localResourceError(err);
  return { ok: false, detail: describeNetworkError(err), ...(local !== undefined ? { local } : {}) };
}
