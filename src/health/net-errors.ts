// Network errors in words, for check results and log lines: 'connection refused' says more to a person
// than 'connect ECONNREFUSED 10.0.0.2:80', and the address is already in the line. A server that closes
// cleanly (a FIN) is told apart from one that resets: Node's http reports both with the code ECONNRESET,
// the clean close as 'socket hang up' (before the response was complete) or 'aborted' (in its body).
// Running out of descriptors is said to be the checker's own problem, not the server's.

import { HTTP_HEADER_LIMIT } from './limits.js';

const PHRASES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EADDRNOTAVAIL: 'local address not available',
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
