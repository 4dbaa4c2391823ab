// The checker under a real, low limit on open files: a child process under `ulimit -n 64` checks 150 real
// servers (TCP and HTTP checks against a server of this process's own, on 127.0.1.x) on the fake kernel. With
// the default bound on checks in flight (a quarter of the limit: 16) every check runs and every server comes
// up; with a bound far above the limit, checks fail with a real EMFILE, and no server is taken out for it: each
// comes up once its check is tried again. Each child runs for a second or two.

import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SERVERS = 150;
let server: http.Server;
let port: number;

beforeAll(async () => {
  server = http.createServer((_req, res) => res.end('ok'));
  // 0.0.0.0 takes connections to every 127.x address.
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

interface ChildReport {
  limit: string;
  statuses: Record<string, number>;
  unchecked: Record<string, number>;
  downs: number;
  weights: Record<string, number>;
  warnings: string[];
}

async function underLowLimit(maxChecksInFlight: number | undefined): Promise<ChildReport> {
  const code = `
    import { readFileSync } from 'node:fs';
    import { Ipvs } from './src/client.ts';
    import { HealthChecker } from './src/health/index.ts';
    import { FakeKernel } from './src/testing/index.ts';
    const [port, n, bound] = JSON.parse(process.argv[1]);
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const destinations = Array.from({ length: n }, (_, i) => ({
      address: '127.0.1.' + (i + 1), port, forwarding: 'route',
      ...(i % 2 ? { check: { type: 'http', path: '/' } } : {}),
    }));
    const config = {
      services: [{ protocol: 'tcp', address: '10.0.0.10', port: 80, scheduler: 'rr', destinations }],
      check: { type: 'tcp', intervalMs: 60000, timeoutMs: 5000, jitterMs: 0 },
      ...(bound === null ? {} : { maxChecksInFlight: bound }),
    };
    const warnings = [];
    const logger = { info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
    const checker = new HealthChecker({ ipvs, config, logger, resyncIntervalMs: 0 });
    const unchecked = {};
    let downs = 0;
    checker.on('unchecked', (e) => (unchecked[e.code] = (unchecked[e.code] ?? 0) + 1));
    checker.on('down', () => downs++);
    await checker.start();
    // Checks that could not run at start are tried again after 1 s.
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline && checker.status()[0].destinations.some((d) => d.status !== 'up')) await new Promise((r) => setTimeout(r, 100));
    const statuses = {};
    for (const d of checker.status()[0].destinations) statuses[d.status] = (statuses[d.status] ?? 0) + 1;
    const weights = {};
    for (const d of await ipvs.destinations({ protocol: 'tcp', address: '10.0.0.10', port: 80 })) weights[d.weight] = (weights[d.weight] ?? 0) + 1;
    await checker.stop();
    await ipvs.close();
    const limit = readFileSync('/proc/self/limits', 'utf8').match(/Max open files +(\\S+)/)[1];
    console.log(JSON.stringify({ limit, statuses, unchecked, downs, weights, warnings }));`;
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  const args = ['--import', 'tsx', '--input-type=module', '-e', code, JSON.stringify([port, SERVERS, maxChecksInFlight ?? null])];
  const quoted = [process.execPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawn('/bin/sh', ['-c', `ulimit -n 64 && exec ${quoted}`], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(status, err).toBe(0);
  return JSON.parse(out) as ChildReport;
}

describe('under ulimit -n 64', () => {
  it('with the default bound (16 checks at a time) every check runs and all 150 servers come up at start', async () => {
    const r = await underLowLimit(undefined);
    expect(r.limit).toBe('64');
    expect(r).toMatchObject({ statuses: { up: SERVERS }, unchecked: {}, downs: 0, weights: { 1: SERVERS }, warnings: [] });
  }, 30_000);

  it('with a bound far above the limit checks fail with EMFILE, no server is taken out for it, and all come up when tried again', async () => {
    const r = await underLowLimit(1000);
    expect(r.limit).toBe('64');
    expect(r.unchecked.EMFILE).toBeGreaterThan(0);
    expect(r).toMatchObject({ statuses: { up: SERVERS }, downs: 0, weights: { 1: SERVERS } });
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^checks could not run: the checker process has too many open files \(EMFILE\)/);
  }, 30_000);
});
