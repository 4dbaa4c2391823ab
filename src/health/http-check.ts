// The HTTP(S) GET check, on node:http and node:https with no agent (a fresh connection per check, as a
// client would open, never a pooled one that hides a dead listener). Healthy when the status is
// expected and, if asked, the body matches; only the first 64 KiB of a body are read, and headers up to
// 64 KiB in all are accepted (Node's default is 16 KiB). Every error and the abort signal end in a
// result, never a throw or an unhandled 'error' event.

import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { HTTP_BODY_LIMIT as BODY_LIMIT, HTTP_HEADER_LIMIT } from './limits.js';
import { describeNetworkError } from './net-errors.js';
import type { HttpCheck } from './types.js';

export interface ProbeOutcome {
  ok: boolean;
  detail: string;
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

export function httpProbe(spec: HttpCheck, address: string, port: number, signal: AbortSignal): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const mod = spec.type === 'https' ? https : http;
    const headers: Record<string, string> = { 'user-agent': 'ipvs-health', connection: 'close', ...spec.headers };
    if (spec.host !== undefined) headers.host = spec.host;
    const sniName = spec.host?.replace(/:\d+$/, '');
    const options: https.RequestOptions = {
      host: address,
      port,
      path: spec.path ?? '/',
      method: 'GET',
      headers,
      agent: false,
      signal,
      maxHeaderSize: HTTP_HEADER_LIMIT,
      ...(spec.localAddress !== undefined ? { localAddress: spec.localAddress } : {}),
      ...(spec.type === 'https'
        ? { rejectUnauthorized: spec.tlsVerify !== false, ...(sniName && isIP(sniName) === 0 ? { servername: sniName } : {}) }
        : {}),
    };
    let req: http.ClientRequest;
    const finish = (ok: boolean, detail: string): void => {
      resolve({ ok, detail });
      req.destroy();
    };
    try {
      req = mod.request(options);
    } catch (err) {
      resolve({ ok: false, detail: describeNetworkError(err) });
      return;
    }
    req.on('error', (err) => finish(false, describeNetworkError(err)));
    req.on('response', (res) => {
      res.on('error', (err) => finish(false, describeNetworkError(err)));
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
