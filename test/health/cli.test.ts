// `ipvs health CONFIG` (runHealth) on the fake kernel with real HTTP checks against servers on
// 127.0.0.1: it sets up the service, quiesces a server that stops answering, and stops on its signal,
// leaving the table (or deleting the services). Also its usage and config errors.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { runHealth, type HealthIo } from '../../src/cli/health.js';
import { Ipvs } from '../../src/client.js';
import { FakeKernel } from '../../src/testing/index.js';

const SERVICE = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
const servers: http.Server[] = [];

afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function backend(): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer((_req, res) => res.end('ok'));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, server };
}

function io(files: Record<string, string>, ipvs?: Ipvs, signal?: AbortSignal): HealthIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t) },
    ipvs: async () => {
      if (!ipvs) throw new Error('no kernel here');
      return ipvs;
    },
    readFile: async (p) => {
      const text = files[p];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${p}'`), { code: 'ENOENT' });
      return text;
    },
    now: () => new Date(0),
    ...(signal ? { signal } : {}),
  };
}

function config(ports: number[]): string {
  return JSON.stringify({
    services: [
      {
        ...SERVICE,
        scheduler: 'rr',
        destinations: ports.map((p, i) => ({ address: `10.0.0.${i + 2}`, weight: i + 1, check: { address: '127.0.0.1', port: p } })),
        check: { type: 'http', path: '/', intervalMs: 40, timeoutMs: 200, rise: 1, fall: 2, jitterMs: 10 },
        sorryServer: { address: '127.0.0.1' },
      },
    ],
  });
}

async function until(what: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ipvs health', () => {
  it('keeps the table healthy until its signal, then leaves it as it is', async () => {
    const a = await backend();
    const b = await backend();
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const stop = new AbortController();
    const t = io({ 'health.json': config([a.port, b.port]) }, ipvs, stop.signal);
    const run = runHealth(['health.json'], t);
    const weights = async () => (await ipvs.destinations(SERVICE).catch(() => [])).map((d) => `${d.address} ${d.weight}`).sort().join(', ');
    await until(async () => (await weights()) === '10.0.0.2 1, 10.0.0.3 2');
    a.server.close();
    a.server.closeAllConnections();
    await until(async () => (await weights()) === '10.0.0.2 0, 10.0.0.3 2');
    stop.abort();
    expect(await run).toBe(0);
    expect(await weights()).toBe('10.0.0.2 0, 10.0.0.3 2');
    const out = t.out.join('');
    expect(out).toContain('1970-01-01T00:00:00.000Z tcp 192.168.1.110:80: checking 2 real servers (HTTP every 40 ms, rise 1, fall 2)');
    expect(out).toContain('set up: + service tcp 192.168.1.110:80 (scheduler rr)');
    expect(out).toContain('tcp 192.168.1.110:80: quiesced 10.0.0.2:80 (weight 1 -> 0; its open connections finish)');
    expect(out).toContain('stopped; the table was left as it is');
    expect(t.err.join('')).toMatch(/warning: tcp 192\.168\.1\.110:80: real server 10\.0\.0\.2:80 is DOWN: 2 checks failed in a row \(last: connection refused\)/);
    await ipvs.close();
  });

  it('deletes the services on exit with --remove-on-exit', async () => {
    const a = await backend();
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const stop = new AbortController();
    const t = io({ 'h.json': config([a.port]) }, ipvs, stop.signal);
    const run = runHealth(['--remove-on-exit', 'h.json'], t);
    await until(async () => (await ipvs.services()).length === 1);
    stop.abort();
    expect(await run).toBe(0);
    expect(await ipvs.services()).toEqual([]);
    await ipvs.close();
  });

  it('-v on a standard output that stops draining drops the check results (not the rest) and says how many once it drains', async () => {
    const a = await backend();
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const stop = new AbortController();
    const t = io({ 'h.json': config([a.port]) }, ipvs, stop.signal);
    // A pipe whose reader stopped reading: every write says the buffer is full until 'drain'.
    const stalled = Object.assign(new EventEmitter(), { full: true, lines: [] as string[] });
    const stdout = Object.assign(stalled, { write: (text: string) => (stalled.lines.push(text), !stalled.full) });
    const run = runHealth(['-v', 'h.json'], { ...t, stdout });
    const checks = (): string[] => stalled.lines.filter((l) => / HTTP GET .*: ok, /.test(l));
    await until(async () => (await ipvs.destinations(SERVICE).catch(() => [])).length === 1);
    await new Promise((r) => setTimeout(r, 500)); // a dozen checks at 40 ms
    expect(checks()).toEqual([]); // the first line filled it: no check result was written since
    expect(stalled.lines.join('')).toContain('running; stop with Ctrl-C or SIGTERM'); // the other lines still are
    stalled.full = false;
    stdout.emit('drain');
    const note = stalled.lines.at(-1)!;
    expect(note).toMatch(/^1970-01-01T00:00:00\.000Z note: \d+ log lines dropped while standard output was not being read\n$/);
    expect(Number(/note: (\d+)/.exec(note)![1])).toBeGreaterThan(0);
    await until(async () => checks().length > 0); // written again once it drains
    stop.abort();
    expect(await run).toBe(0);
    await ipvs.close();
  });

  it('goes on checking when the reader of its standard output goes away (EPIPE): those lines go to standard error', async () => {
    const a = await backend();
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const stop = new AbortController();
    const t = io({ 'h.json': config([a.port]) }, ipvs, stop.signal);
    // A pipe whose reader exited: Node emits 'error' (EPIPE) on the stream; the process must not end for it.
    const lines: string[] = [];
    const stdout = Object.assign(new EventEmitter(), { write: (text: string) => (lines.push(text), true) });
    let handled = 0;
    const run = runHealth(['h.json'], { ...t, stdout, outputFailures: { handleInCommand: () => void handled++ } });
    await until(async () => lines.some((l) => l.includes('running; stop with Ctrl-C or SIGTERM')));
    expect(handled).toBe(1); // main.ts is told not to end the process on a failed write
    stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    const before = lines.length;
    expect(t.err.join('')).toBe(
      '1970-01-01T00:00:00.000Z warning: standard output failed (EPIPE: its reader went away): its log lines go to standard error from now on; the checks go on\n',
    );
    a.server.close();
    a.server.closeAllConnections();
    // The checks go on: the server is quiesced, and the lines that would have gone to standard output are on standard error.
    await until(async () => (await ipvs.destinations(SERVICE)).some((d) => d.weight === 0));
    await until(async () => t.err.join('').includes('quiesced 10.0.0.2:80'));
    stop.abort();
    expect(await run).toBe(0);
    expect(lines.length).toBe(before);
    expect(t.err.join('')).toContain('Z stopped; the table was left as it is\n');
    expect(stdout.listenerCount('error')).toBe(0); // its listener goes with the run
    await ipvs.close();
  });

  it('reads CONFIG again when asked (SIGHUP): a changed, valid one replaces the running config; an invalid one is logged and the running one kept', async () => {
    const a = await backend();
    const b = await backend();
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const stop = new AbortController();
    const files: Record<string, string> = { 'h.json': config([a.port]) };
    const t = io(files, ipvs, stop.signal);
    let reload: (() => void) | undefined;
    const run = runHealth(['h.json'], { ...t, onReload: (listener) => ((reload = listener), () => (reload = undefined)) });
    const weights = async () => (await ipvs.destinations(SERVICE).catch(() => [])).map((d) => `${d.address} ${d.weight}`).sort().join(', ');
    await until(async () => t.out.join('').includes('running; stop with Ctrl-C or SIGTERM'));
    expect(await weights()).toBe('10.0.0.2 1');
    // Unchanged: nothing restarts.
    reload!();
    await until(async () => t.out.join('').includes('reload: h.json is unchanged; nothing to do'));
    // A second server: it is checked and added, the first kept as it was.
    files['h.json'] = config([a.port, b.port]);
    reload!();
    await until(async () => t.out.join('').includes('reloaded h.json: running with the new config'));
    await until(async () => (await weights()) === '10.0.0.2 1, 10.0.0.3 2');
    // Invalid: logged, the running config kept (the second server still checked: quiesced when it stops answering).
    files['h.json'] = '{"services": [{"protocol": "tcp"}]}';
    reload!();
    await until(async () => t.err.join('').includes('warning: reload: h.json: '));
    expect(t.err.join('')).toMatch(/warning: reload: h\.json: invalid .*; still running the config read before\n/);
    b.server.close();
    b.server.closeAllConnections();
    await until(async () => (await weights()) === '10.0.0.2 1, 10.0.0.3 0');
    // A file that cannot be read: the same.
    delete files['h.json'];
    reload!();
    await until(async () => t.err.join('').includes('warning: reload: h.json: ENOENT'));
    // Valid, but its service cannot be set up: the config read before runs again.
    files['h.json'] = config([a.port]).replace('"port":80', '"port":81');
    kernel.failNext(1, 'ENOENT', 'IPVS_CMD_NEW_SERVICE');
    reload!();
    await until(async () => t.out.join('').includes('running with the config read before'));
    expect(t.err.join('')).toMatch(/error: reload: cannot start with the new h\.json: could not set up tcp 192\.168\.1\.110:81: .*; going back to the config read before\n/);
    b.server.listen(b.port, '127.0.0.1');
    await until(async () => (await weights()) === '10.0.0.2 1, 10.0.0.3 2'); // the old config's checks, again
    stop.abort();
    expect(await run).toBe(0);
    expect(reload).toBeUndefined(); // no longer listening
    expect(t.out.join('')).toContain('stopped; the table was left as it is');
    expect(await weights()).toBe('10.0.0.2 1, 10.0.0.3 2');
    await ipvs.close();
  });

  it('a SIGHUP while CONFIG is first read is kept: CONFIG is read again once the first config runs', async () => {
    const a = await backend();
    const b = await backend();
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const stop = new AbortController();
    const files: Record<string, string> = { 'h.json': config([a.port]) };
    const t = io(files, ipvs, stop.signal);
    let reload: (() => void) | undefined;
    let reads = 0;
    const run = runHealth(['h.json'], {
      ...t,
      onReload: (listener) => ((reload = listener), () => (reload = undefined)),
      // The first read returns the file as it was, which then changes, and the SIGHUP saying so comes before the
      // read is done (it used to be listened to only once the config was read: a SIGHUP then ended the process).
      readFile: async (p) => {
        const text = files[p]!;
        if (reads++ === 0) {
          files[p] = config([a.port, b.port]);
          reload!();
        }
        return text;
      },
    });
    await until(async () => t.out.join('').includes('reloaded h.json: running with the new config'));
    const weights = async () => (await ipvs.destinations(SERVICE).catch(() => [])).map((d) => `${d.address} ${d.weight}`).sort().join(', ');
    await until(async () => (await weights()) === '10.0.0.2 1, 10.0.0.3 2');
    expect(reads).toBe(2);
    stop.abort();
    expect(await run).toBe(0);
    expect(reload).toBeUndefined();
    await ipvs.close();
  });

  it('--check-config does not listen for SIGHUP', async () => {
    let listened = false;
    const t = io({ 'h.json': config([8080]) });
    expect(await runHealth(['--check-config', 'h.json'], { ...t, onReload: () => ((listened = true), () => undefined) })).toBe(0);
    expect(listened).toBe(false);
  });

  it('checks a config without touching the kernel', async () => {
    const t = io({ 'h.json': config([8080, 8081]) });
    expect(await runHealth(['--check-config', 'h.json'], t)).toBe(0);
    expect(t.out.join('')).toContain('  10.0.0.3:80 weight 2: HTTP GET http://127.0.0.1:8081/, timeout 200 ms\n');
    expect(t.out.join('')).toContain('h.json: valid\n');
    expect(t.out.join('')).toMatch(/\nat most \d+ checks? at a time \(the default: a quarter of the limit on open files, at most 1024 or the worst case below\)\nif every check timed out, 2 would be in flight at once\n/);
    const bounded = io({ 'b.json': JSON.stringify({ ...JSON.parse(config([8080])), maxChecksInFlight: 32 }) });
    expect(await runHealth(['--check-config', 'b.json'], bounded)).toBe(0);
    expect(bounded.out.join('')).toContain('\nat most 32 checks at a time\nif every check timed out, 1 would be in flight at once\nb.json: valid\n');
    // 4 000 servers at the default interval and timeout: 1 143 checks would be due at once; a bound of 256 checks each about 4.5 times less often.
    const big = { services: Array.from({ length: 200 }, (_, s) => ({ protocol: 'tcp', address: `192.168.${s >> 8}.${(s & 255) + 1}`, port: 80, destinations: Array.from({ length: 20 }, (_, j) => ({ address: `10.1.${s}.${j + 1}` })) })) };
    const sized = io({ 'big.json': JSON.stringify({ ...big, maxChecksInFlight: 256 }) });
    expect(await runHealth(['--check-config', 'big.json'], sized)).toBe(0);
    expect(sized.out.join('')).toContain('\nat most 256 checks at a time\nif every check timed out, 1143 would be in flight at once: each server would be checked about 4.5 times less often than its interval\n');
    const bad = io({ 'c.json': JSON.stringify({ ...JSON.parse(config([8080])), maxChecksInFlight: 0 }) });
    expect(await runHealth(['--check-config', 'c.json'], bad)).toBe(2);
    expect(bad.err.join('')).toContain('c.json: invalid maxChecksInFlight 0: must be an integer 1..1000000');
  });

  it('takes a udp check from JSON (a DNS query in hex) and names a bad payload', async () => {
    const dns = (check: Record<string, unknown>): string =>
      JSON.stringify({ services: [{ protocol: 'udp', address: '192.168.1.110', port: 53, destinations: [{ address: '10.0.0.2' }], check: { type: 'udp', timeoutMs: 500, ...check } }] });
    const t = io({ 'd.json': dns({ payloadHex: '1234 0100 0001 0000 0000 0000 00 0002 0001', expectHex: '1234' }) });
    expect(await runHealth(['--check-config', 'd.json'], t)).toBe(0);
    expect(t.out.join('')).toContain('10.0.0.2:53 weight 1: UDP request 10.0.0.2:53, timeout 500 ms\n');
    const bad = io({ 'e.json': dns({ payloadHex: '12 3' }) });
    expect(await runHealth(['--check-config', 'e.json'], bad)).toBe(2);
    expect(bad.err.join('')).toContain('e.json: invalid services[0].destinations[0].check.payloadHex "12 3": must be hexadecimal bytes');
  });

  it('refuses bad usage and bad configs with status 2, and a missing kernel with 1', async () => {
    let t = io({});
    expect(await runHealth([], t)).toBe(2);
    expect(t.err.join('')).toMatch(/^ipvs health: a CONFIG file is needed\nUsage: ipvs health/);
    t = io({});
    expect(await runHealth(['--frobnicate', 'x'], t)).toBe(2);
    t = io({});
    expect(await runHealth(['missing.json'], t)).toBe(2);
    expect(t.err.join('')).toContain('missing.json: ENOENT');
    t = io({ 'bad.json': '{"services":[{"protocol":"tcp","address":"192.168.1.110","port":80,"destinations":[{"address":"10.0.0.2","wieght":2}]}]}' });
    expect(await runHealth(['bad.json'], t)).toBe(2);
    expect(t.err.join('')).toContain('services[0].destinations[0].wieght');
    // A value every check would fail on (Node refuses a path with a space) is refused by --check-config too.
    const spaced = '{"services":[{"protocol":"tcp","address":"192.168.1.110","port":80,"destinations":[{"address":"10.0.0.2"}],"check":{"type":"http","path":"/health check"}}]}';
    t = io({ 'spaced.json': spaced });
    expect(await runHealth(['--check-config', 'spaced.json'], t)).toBe(2);
    expect(t.err.join('')).toContain('spaced.json: invalid services[0].destinations[0].check.path "/health check": must not contain spaces');
    expect(t.out.join('')).toBe('');
    t = io({ 'h.json': config([1]) }, undefined, new AbortController().signal);
    expect(await runHealth(['h.json'], t)).toBe(1);
    expect(t.err.join('')).toContain('error: cannot open IPVS: no kernel here');
    t = io({});
    expect(await runHealth(['--help'], t)).toBe(0);
    expect(t.out.join('')).toContain('--remove-on-exit');
  });
});
