// The HTTP(S) and TCP checks against real sockets on 127.0.0.1: status and body rules, the Host header,
// refused connections, silent servers (the timeout), TLS with a self-signed certificate, and every check
// releasing its socket (counted in /proc/self/fd) against servers that greet first, hold or never accept.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { HealthChecker, normaliseHealthConfig, systemScheduler, type CheckOverride, type HealthService } from '../../src/health/index.js';
import { runCheck } from '../../src/health/run-check.js';
import { FakeKernel } from '../../src/testing/index.js';

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

// On a one-armed IPv6 direct-routing director Linux gives the checks the VIP as their source, and the real
// server, which holds the VIP too, answers itself: every check times out. Here the layout cannot be built
// (tests/kernel/health-source.kernel.test.ts builds it), but the loopback addresses can play the VIPs: a
// server that accepts and never answers times the checks out, and the check's source is a VIP either because
// Linux picks it (::1 to reach ::1) or because the check binds it (localAddress 127.0.0.2).
describe('a check that times out from a virtual address says so', () => {
  let silent6: net.Server;
  let port6 = 0;
  beforeAll(async () => {
    silent6 = net.createServer(() => {});
    await new Promise<void>((r) => silent6.listen(0, '::1', r));
    port6 = (silent6.address() as net.AddressInfo).port;
  });
  afterAll(() => silent6?.close());

  /** The first check's detail of a one-service checker on a fake kernel that already holds `table`. */
  async function firstDetail(service: HealthService, table: { protocol: 'tcp'; address: string; port: number }[] = []): Promise<string | undefined> {
    const ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
    for (const key of table) await ipvs.addService(key);
    const checker = new HealthChecker({ ipvs, config: { services: [service] }, resyncIntervalMs: 0 });
    try {
      await checker.start();
      return checker.status()[0]!.destinations[0]!.lastResult?.detail;
    } finally {
      await checker.stop();
      await ipvs.close();
    }
  }
  const timing = { intervalMs: 60_000, timeoutMs: 200 };
  const DR = 'a direct-routing or tunnel real server holds that address itself and answers it locally';

  it('the source Linux picks (IPv6): the cause and both remedies', async () => {
    const detail = await firstDetail({
      protocol: 'tcp', address: '0:0::1', port: 80,
      destinations: [{ address: '::1', port: port6, forwarding: 'route' }],
      check: { type: 'http', ...timing },
    });
    expect(detail).toBe(
      `no answer within 200 ms; the check left from ::1, the virtual address of tcp [::1]:80: ${DR}; set check.localAddress to another address of this director, or give ::1 preferred_lft 0 on this director (Linux never picks a deprecated address as a source)`,
    );
  });

  it('the source the check binds (IPv4), a virtual address of the config or only of the table', async () => {
    const service = (vip: string, forwarding: 'route' | 'tunnel' | 'masq'): HealthService => ({
      protocol: 'tcp', address: vip, port: 80,
      // A NAT server cannot be on loopback (the config refuses it: Linux's NAT drops what it would send there); the check goes there all the same.
      destinations: [{ address: forwarding === 'masq' ? '192.0.2.2' : '127.0.0.1', port: silentPort, forwarding }],
      check: { type: 'http', address: '127.0.0.1', localAddress: '127.0.0.2', ...timing },
    });
    expect(await firstDetail(service('127.0.0.2', 'route'))).toMatch(/^no answer within 200 ms; check\.localAddress 127\.0\.0\.2, the virtual address of tcp 127\.0\.0\.2:80: .*; set check\.localAddress to another address of this director$/);
    expect(await firstDetail(service('192.168.1.110', 'tunnel'), [{ protocol: 'tcp', address: '127.0.0.2', port: 443 }])).toMatch(/; check\.localAddress 127\.0\.0\.2, the virtual address of tcp 127\.0\.0\.2:443: /);
    // A NAT server does not hold the VIP: its silence has another cause. No VIP, no hint.
    expect(await firstDetail(service('127.0.0.2', 'masq'))).toBe('no answer within 200 ms');
    expect(await firstDetail(service('192.168.1.110', 'route'))).toBe('no answer within 200 ms');
  });

  it('binds a localAddress however it is written', async () => {
    const detail = await firstDetail({
      protocol: 'tcp', address: '2001:db8::10', port: 80,
      destinations: [{ address: '::1', port: port6, forwarding: 'route' }],
      check: { type: 'tcp', localAddress: '[0::1]', ...timing },
    });
    expect(detail).toBe('TCP connect');
  });
});

// A server in a child process, so that only the checks' own sockets are counted in this one: 'banner'
// greets and closes (SMTP, FTP, a MySQL handshake), 'greet' greets and holds the connection, 'http-hold'
// answers HTTP 200 and holds the connection, 'hung' is stopped with SIGSTOP after it listens (the kernel
// completes handshakes from the backlog and nobody accepts them).
async function serverProcess(mode: 'banner' | 'greet' | 'http-hold' | 'hung'): Promise<{ port: number; child: ChildProcess }> {
  const script = `
    const net = require('node:net');
    const mode = process.argv[1];
    const held = [];
    const srv = net.createServer((s) => {
      held.push(s);
      s.on('error', () => {});
      if (mode === 'banner') s.end('220 mail.example ESMTP ready\\r\\n');
      if (mode === 'greet') s.write('SSH-2.0-OpenSSH_9.2\\r\\n');
      if (mode === 'http-hold') s.once('data', () => s.write('HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\n\\r\\nok'));
    });
    srv.listen(0, '127.0.0.1', () => process.stdout.write(srv.address().port + '\\n'));`;
  const child = spawn(process.execPath, ['-e', script, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
  });
  if (mode === 'hung') child.kill('SIGSTOP');
  return { port, child };
}

const openFds = (): number => readdirSync('/proc/self/fd').length;

/** The descriptors this process holds, once closes in progress have had up to 3 s to finish. */
async function fdsSettledTo(target: number): Promise<number> {
  for (let i = 0; i < 60 && openFds() > target; i++) await new Promise((r) => setTimeout(r, 50));
  return openFds();
}

describe('a check releases its socket whatever the server does', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  for (const [mode, type] of [
    ['banner', 'tcp'],
    ['greet', 'tcp'],
    ['hung', 'tcp'],
    ['http-hold', 'http'],
    ['hung', 'http'],
  ] as const) {
    it(`${type} check against a server that ${mode === 'banner' ? 'greets and closes' : mode === 'greet' ? 'greets and holds the connection' : mode === 'hung' ? 'never accepts' : 'answers and holds the connection'}`, async () => {
      const { port: p, child } = await serverProcess(mode);
      children.push(child);
      const before = openFds();
      const rounds = 40;
      const results = [];
      // Ten at a time, as a checker of ten servers would run them; an HTTP check of the hung server times out.
      for (let i = 0; i < rounds; i += 10) {
        results.push(...(await Promise.all(Array.from({ length: 10 }, () => check({ type, timeoutMs: type === 'http' ? 300 : 10_000 }, p)))));
      }
      expect(results.map((r) => r.ok)).toEqual(results.map(() => !(type === 'http' && mode === 'hung')));
      // Without the release, every check leaves a descriptor behind (40 more).
      expect(await fdsSettledTo(before)).toBeLessThanOrEqual(before + 3);
    });
  }
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

// Certificates signed by a CA of the test's own, trusted through NODE_EXTRA_CA_CERTS by a child process that
// runs the checks (the variable is read once, at start): the certificate holds IP ::1, IP 127.0.0.1 and DNS
// www.example.test. The server, here, records the server name (SNI) and Host header of every request.
describe.skipIf(!hasOpenssl)('HTTPS check verifies the certificate against the host given', () => {
  let dir = '';
  let server: https.Server;
  let tlsPort = 0;
  const seen: { sni: string | false | null; host: string }[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipvs-health-ca-'));
    const f = (name: string): string => join(dir, name);
    const ssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    ssl('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=ipvs test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'));
    ssl('req', ...ec, '-subj', '/CN=www.example.test', '-keyout', f('srv.key'), '-out', f('srv.csr'));
    writeFileSync(f('ext.cnf'), 'subjectAltName=IP:::1,IP:127.0.0.1,DNS:www.example.test\n');
    ssl('x509', '-req', '-in', f('srv.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('ext.cnf'), '-out', f('srv.pem'));
    server = https.createServer({ key: readFileSync(f('srv.key')), cert: readFileSync(f('srv.pem')) }, (req, res) => {
      seen.push({ sni: (req.socket as TLSSocket).servername, host: req.headers.host ?? '' });
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '::', r));
    tlsPort = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('IPv6, IPv4 and names, with and without a port: no server name for an address, the Host header as given', async () => {
    const p = tlsPort;
    const cases: [string, string | undefined][] = [
      ['::1', undefined],
      ['::1', `[::1]:${p}`],
      ['::1', '[::1]'],
      ['::1', '[0:0::1]:443'],
      ['127.0.0.1', undefined],
      ['127.0.0.1', `127.0.0.1:${p}`],
      ['127.0.0.1', '127.0.0.1'],
      ['::1', 'www.example.test'],
      ['127.0.0.1', `www.example.test:${p}`],
      // Verified against the host's address or name, not the address connected to: these fail.
      ['::1', '[::2]'],
      ['::1', '127.0.0.2'],
      ['127.0.0.1', 'other.example.test'],
    ];
    const code = `
      import { normaliseHealthConfig, systemScheduler } from './src/health/index.ts';
      import { runCheck } from './src/health/run-check.ts';
      const results = [];
      for (const [address, host] of JSON.parse(process.argv[1])) {
        const [svc] = normaliseHealthConfig({ services: [{ protocol: 'tcp', address: address.includes(':') ? '2001:db8::10' : '10.0.0.10', port: 80,
          destinations: [{ address, port: ${p} }], check: { type: 'https', timeoutMs: 5000, ...(host ? { host } : {}) } }] });
        const rs = svc.realServers[0];
        const r = await runCheck(rs.check, { address, port: ${p}, service: svc.key, destination: rs.spec }, systemScheduler, new AbortController().signal);
        results.push(r.detail);
      }
      console.log(JSON.stringify(results));`;
    const repo = fileURLToPath(new URL('../..', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, JSON.stringify(cases)], {
      cwd: repo,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const status = await new Promise<number | null>((r) => child.once('exit', r));
    expect(status, err).toBe(0);
    const details = JSON.parse(out) as string[];
    const mismatch = 'certificate does not match the host name';
    expect(Object.fromEntries(cases.map(([a, h], i) => [`${a} ${h}`, details[i]]))).toEqual({
      '::1 undefined': 'HTTP 200',
      [`::1 [::1]:${p}`]: 'HTTP 200',
      '::1 [::1]': 'HTTP 200',
      '::1 [0:0::1]:443': 'HTTP 200',
      '127.0.0.1 undefined': 'HTTP 200',
      [`127.0.0.1 127.0.0.1:${p}`]: 'HTTP 200',
      '127.0.0.1 127.0.0.1': 'HTTP 200',
      '::1 www.example.test': 'HTTP 200',
      [`127.0.0.1 www.example.test:${p}`]: 'HTTP 200',
      '::1 [::2]': mismatch,
      '::1 127.0.0.2': mismatch,
      '127.0.0.1 other.example.test': mismatch,
    });
    // The nine that reached a response: SNI only for the name, the Host header as written (Node's own default when none).
    expect(seen).toEqual([
      { sni: false, host: `[::1]:${p}` },
      { sni: false, host: `[::1]:${p}` },
      { sni: false, host: '[::1]' },
      { sni: false, host: '[0:0::1]:443' },
      { sni: false, host: `127.0.0.1:${p}` },
      { sni: false, host: `127.0.0.1:${p}` },
      { sni: false, host: '127.0.0.1' },
      { sni: 'www.example.test', host: 'www.example.test' },
      { sni: 'www.example.test', host: `www.example.test:${p}` },
    ]);
    expect(err).not.toMatch(/RFC 6066|Warning/);
  });
});
