// The HTTP(S) GET check, on node:http and node:https with no agent (a fresh connection per check, as a
// client would open, never a pooled one that hides a dead listener). Healthy when the status is
// expected and, if asked, the body matches; only the first 64 KiB of a body are read, and headers up to
// 64 KiB in all are accepted (Node's default is 16 KiB). Every error and the abort signal end in a
// result, never a throw or an unhandled 'error' event.

import http from 'node:http';
import https from 'node:https';
import { isIP, isIPv6 } from 'node:net';
import tls from 'node:tls';
import { HTTP_BODY_LIMIT as BODY_LIMIT, HTTP_HEADER_LIMIT } from './limits.js';
import { networkFailure } from './net-errors.js';
import type { HttpCheck } from './types.js';

export interface ProbeOutcome {
  ok: boolean;
  detail: string;
  /** The errno name when the check failed because the checker's own host ran short (net-errors.ts): no verdict on the server. */
  local?: string;
}

function statusAccepted(expect: HttpCheck['expectStatus'], status: number): boolean {
  if (expect === undefined) return status >= 200 && status < 400;
  return typeof expect === 'number' ? status === expect : expect.includes(status);
}

function expectedText(expect: HttpCheck['expectStatus']): string {
  if (expect === undefined) return '2xx or 3xx';
  return typeof expect === 'number' ? String(expect) : expect.join(' or ');
}

function bodyMatches(want: string | RegExp, body: string): boolean {
  if (typeof want === 'string') return body.includes(want);
  want.lastIndex = 0;
  return want.test(body);
}

/**
 * The name in a `host` value, without brackets or port, or why there is none: '[2001:db8::1]:8443' ->
 * '2001:db8::1', 'www.example.com:8080' -> 'www.example.com', '192.0.2.1' -> '192.0.2.1'. An IPv6 address
 * must be bracketed, as in a URL: bare, its last group cannot be told from a port ('2001:db8::1:8443'), and a
 * Host header cannot carry it so.
 */
export function hostName(host: string): { name: string } | { error: string } {
  const port = (p: string | undefined): boolean => p === undefined || (/^\d{1,5}$/.test(p) && Number(p) <= 65535);
  if (host.startsWith('[')) {
    const m = /^\[([^\]]*)\](?::([^:]*))?$/.exec(host);
    if (!m || !isIPv6(m[1]!) || m[1]!.includes('%')) return { error: "must be '[IPv6 address]' or '[IPv6 address]:port', e.g. [2001:db8::1]:8443" };
    return port(m[2]) ? { name: m[1]! } : { error: 'the port after the brackets must be a number 0..65535' };
  }
  const parts = host.split(':');
  if (parts.length > 2) return { error: 'an IPv6 address goes in brackets, as in a URL: [2001:db8::1] or [2001:db8::1]:8443' };
  if (parts[0] === '') return { error: 'the name before the port is missing' };
  return port(parts[1]) ? { name: parts[0]! } : { error: "the port after ':' must be a number 0..65535" };
}

/**
 * TLS options for the name the check is for: the `host` given, else the address checked. A host name is
 * sent as the server name (SNI) and verified; an IP address is never sent as one (RFC 6066 forbids it, Node
 * warns), and the certificate is verified against that address, not against the address connected to.
 */
function tlsIdentity(host: string | undefined, address: string): https.RequestOptions {
  const parsed = host === undefined ? undefined : hostName(host);
  const name = parsed !== undefined && 'name' in parsed ? parsed.name : address;
  if (isIP(name) === 0) return { servername: name };
  return { servername: '', checkServerIdentity: (_servername, cert) => tls.checkServerIdentity(name, cert) };
}

export function httpProbe(spec: HttpCheck, address: string, port: number, localAddress: string | undefined, signal: AbortSignal): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const mod = spec.type === 'https' ? https : http;
    const headers: Record<string, string> = { 'user-agent': 'ipvs-health', connection: 'close', ...spec.headers };
    if (spec.host !== undefined) headers.host = spec.host;
    const options: https.RequestOptions = {
      host: address,
      port,
      path: spec.path ?? '/',
      method: 'GET',
      headers,
      agent: false,
      signal,
      maxHeaderSize: HTTP_HEADER_LIMIT,
      ...(localAddress !== undefined ? { localAddress } : {}),
      ...(spec.type === 'https'
        ? { rejectUnauthorized: spec.tlsVerify !== false, ...tlsIdentity(spec.host, address) }
        : {}),
    };
    let req: http.ClientRequest;
    const finish = (ok: boolean, detail: string, local?: string): void => {
      resolve({ ok, detail, ...(local !== undefined ? { local } : {}) });
      req.destroy();
    };
    const failed = (err: unknown): void => {
      const f = networkFailure(err);
      finish(false, f.detail, f.local);
    };
    try {
      req = mod.request(options);
    } catch (err) {
      resolve(networkFailure(err));
      return;
    }
    req.on('error', failed);
    req.on('response', (res) => {
      res.on('error', failed);
      const status = res.statusCode ?? 0;
      if (!statusAccepted(spec.expectStatus, status)) {
        finish(false, `HTTP ${status}, expected ${expectedText(spec.expectStatus)}`);
        return;
      }
      const want = spec.body;
      if (want === undefined) {
        finish(true, `HTTP ${status}`);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const judge = (): void => {
        const body = Buffer.concat(chunks).subarray(0, BODY_LIMIT).toString('utf8');
        if (bodyMatches(want, body)) finish(true, `HTTP ${status}, body matches`);
        else finish(false, `HTTP ${status}, but the body does not ${typeof want === 'string' ? `contain ${JSON.stringify(want)}` : `match ${want}`}`);
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= BODY_LIMIT) judge();
      });
      res.on('end', judge);
    });
    req.end();
  });
}
