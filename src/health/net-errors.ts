// Network errors in words, for check results and log lines: 'connection refused' says more to a person
// than 'connect ECONNREFUSED 10.0.0.2:80', and the address is already in the line.

const PHRASES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EADDRNOTAVAIL: 'local address not available',
  EPIPE: 'connection closed while sending',
  ECONNABORTED: 'connection aborted',
  EPROTO: 'protocol error (TLS?)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate does not match the host name',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate (set tlsVerify: false to accept it)',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in chain (set tlsVerify: false to accept it)',
  CERT_HAS_EXPIRED: 'certificate expired',
  HPE_INVALID_CONSTANT: 'not an HTTP response',
  ERR_INVALID_HTTP_RESPONSE: 'not an HTTP response',
};

export function describeNetworkError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && PHRASES[code]) return PHRASES[code];
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}
