// The HTTP(S) and TCP checks against real sockets on 127.0.0.1: status and body rules, the Host header,
// refused connections, silent servers (the timeout), and TLS with a self-signed certificate.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseHealthConfig, systemScheduler, type CheckOverride } from '../../src/health/index.js';
import { runCheck } from '../../src/health/run-check.js';

let server: http.Server;
let port = 0;
let silent: net.Server;
let silentPort = 0;
const seenHosts: string[] = [];

function listen(s: net.Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)));
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seenHosts.push(req.headers.host ?? '');
    if (req.url === '/fail') res.writeHead(503).end('maintenance');
    else if (req.url === '/redirect') res.writeHead(302, { location: '/' }).end();
    else res.end('status: all good\n');
  });
  port = await listen(server);
  silent = net.createServer(() => {}); // accepts, never answers
  silentPort = await listen(silent);
});

afterAll(async () => {
  server.close();
  silent.close();
});

async function check(spec: CheckOverride, checkPort = port) {
  const [svc] = normaliseHealthConfig({
    services: [{ protocol: 'tcp', address: '192.168.1.110', port: 80, destinations: [{ address: '127.0.0.1', port: checkPort }], check: spec }],
  });
  const rs = svc!.realServers[0]!;
  return runCheck(rs.check, { address: rs.check.address, port: rs.check.port, service: svc!.key, destination: rs.spec }, systemScheduler, new AbortController().signal);
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  const p = await listen(s);
  await new Promise((r) => s.close(r));
  return p;
}

describe('HTTP check', () => {
  it('passes on 2xx and 3xx by default, and fails on 5xx', async () => {
    expect(await check({ type: 'http' })).toMatchObject({ ok: true, detail: 'HTTP 200' });
    expect(await check({ type: 'http', path: '/redirect' })).toMatchObject({ ok: true, detail: 'HTTP 302' });
    expect(await check({ type: 'http', path: '/fail' })).toMatchObject({ ok: false, detail: 'HTTP 503, expected 2xx or 3xx' });
    expect(await check({ type: 'http', path: '/fail', expectStatus: [503] })).toMatchObject({ ok: true });
    expect(await check({ type: 'http', path: '/redirect', expectStatus: 200 })).toMatchObject({ ok: false, detail: 'HTTP 302, expected 200' });
  });

  it('matches the body by text or expression', async () => {
    expect(await check({ type: 'http', body: 'all good' })).toMatchObject({ ok: true, detail: 'HTTP 200, body matches' });
    expect(await check({ type: 'http', body: /status: \w+ good/ })).toMatchObject({ ok: true });
    expect(await check({ type: 'http', body: 'degraded' })).toMatchObject({ ok: false, detail: 'HTTP 200, but the body does not contain "degraded"' });
  });

  it('sends the Host header it is given', async () => {
    seenHosts.length = 0;
    await check({ type: 'http', host: 'www.example.com' });
    await check({ type: 'http' });
    expect(seenHosts).toEqual(['www.example.com', `127.0.0.1:${port}`]);
  });

  it('reports a refused connection and a silent server in words', async () => {
    expect(await check({ type: 'http' }, await closedPort())).toMatchObject({ ok: false, detail: 'connection refused' });
    const r = await check({ type: 'http', timeoutMs: 150 }, silentPort);
    expect(r).toMatchObject({ ok: false, detail: 'no answer within 150 ms' });
    expect(r.durationMs).toBeGreaterThanOrEqual(140);
  });
});

describe('TCP check', () => {
  it('passes when the handshake completes, fails when refused', async () => {
    expect(await check({ type: 'tcp' })).toMatchObject({ ok: true, detail: 'TCP connect' });
    expect(await check({ type: 'tcp' }, silentPort)).toMatchObject({ ok: true });
    expect(await check({ type: 'tcp' }, await closedPort())).toMatchObject({ ok: false, detail: 'connection refused' });
  });
});

let hasOpenssl = true;
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' });
} catch {
  hasOpenssl = false;
}

describe.skipIf(!hasOpenssl)('HTTPS check', () => {
  let tls: https.Server;
  let tlsPort = 0;
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipvs-health-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=backend.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    tls = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('secure ok'));
    tlsPort = await listen(tls);
  });
  afterAll(() => {
    tls?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a self-signed certificate unless told not to verify', async () => {
    expect(await check({ type: 'https' }, tlsPort)).toMatchObject({ ok: false, detail: expect.stringMatching(/self-signed certificate/) });
    expect(await check({ type: 'https', tlsVerify: false, body: 'secure' }, tlsPort)).toMatchObject({ ok: true, detail: 'HTTP 200, body matches' });
  });
});
