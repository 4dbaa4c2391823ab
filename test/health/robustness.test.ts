// The promises of issue 7 that the scenario tests (checker.test.ts) do not pin down one by one: a custom
// check that throws or says no; network failures of every kind, on real sockets, ending in a failed check
// and never in an uncaught exception; no duplicate kernel change while the kernel is slow and verdicts
// keep changing underneath; reconciliation at start of tables left behind by an earlier run; and exactly
// one log line per transition.

import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { HealthChecker, ManualScheduler, normaliseHealthConfig, systemScheduler, type CheckOverride, type HealthClient } from '../../src/health/index.js';
import { describeNetworkError, localResourceError } from '../../src/health/net-errors.js';
import { runCheck } from '../../src/health/run-check.js';
import type { Operation } from '../../src/ipvs/operations.js';
import { FakeKernel } from '../../src/testing/index.js';
import { harness, seedConfig, SERVICE, type Harness } from './harness.js';

/** One server on 127.0.0.1 per behaviour (each accepted socket handed to it): kept in `servers`, its port in `ports` by name. */
async function listenEach(behaviours: Record<string, (s: net.Socket) => void>, servers: net.Server[], ports: Record<string, number>): Promise<void> {
  for (const [name, behave] of Object.entries(behaviours)) {
    const server = net.createServer((s) => {
      s.on('error', () => {});
      behave(s);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    ports[name] = (server.address() as net.AddressInfo).port;
  }
}

const A = '192.168.1.116';
const B = '192.168.1.117';
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function runOne(spec: CheckOverride, port = 80, address = '127.0.0.1') {
  const [svc] = normaliseHealthConfig({ services: [{ ...SERVICE, destinations: [{ address, port }], check: spec }] });
  const rs = svc!.realServers[0]!;
  return runCheck(rs.check, { address: rs.check.address, port: rs.check.port, service: svc!.key, destination: rs.spec }, systemScheduler, new AbortController().signal);
}

describe('custom checks', () => {
  it('is healthy on true or nothing, failed on false, a throw (its message) or a rejection', async () => {
    expect(await runOne({ type: 'custom', run: async () => true })).toMatchObject({ ok: true, detail: 'custom check passed' });
    expect(await runOne({ type: 'custom', name: 'db ping', run: async () => undefined })).toMatchObject({ ok: true, detail: 'db ping passed' });
    expect(await runOne({ type: 'custom', name: 'db ping', run: () => false })).toMatchObject({ ok: false, detail: 'db ping returned false' });
    expect(await runOne({ type: 'custom', run: () => { throw new Error('replica lag 40 s'); } })).toMatchObject({ ok: false, detail: 'replica lag 40 s' });
    expect(await runOne({ type: 'custom', run: async () => Promise.reject(Object.assign(new Error('nope'), { code: 'ECONNRESET' })) })).toMatchObject({
      ok: false,
      detail: 'connection reset',
    });
  });

  it('fails, saying so, on an answer that is no verdict (a fetch Response, a string, 0, null)', async () => {
    expect(await runOne({ type: 'custom', name: 'api', run: async () => new Response('down', { status: 503 }) as never })).toMatchObject({
      ok: false,
      detail: 'api returned [object Response], not true, false or nothing',
    });
    expect(await runOne({ type: 'custom', run: () => 'false' as never })).toMatchObject({ ok: false, detail: 'custom check returned "false", not true, false or nothing' });
    expect(await runOne({ type: 'custom', run: () => 0 as never })).toMatchObject({ ok: false, detail: 'custom check returned 0, not true, false or nothing' });
    expect(await runOne({ type: 'custom', run: () => null as never })).toMatchObject({ ok: false, detail: 'custom check returned null, not true, false or nothing' });
  });

  it('fails on a throw of a value that is no Error, whatever it is', async () => {
    expect(await runOne({ type: 'custom', run: () => { throw 'replica lag'; } })).toMatchObject({ ok: false, detail: 'replica lag' });
    expect(await runOne({ type: 'custom', run: () => Promise.reject(Object.create(null)) })).toMatchObject({ ok: false });
    expect(await runOne({ type: 'custom', run: () => { throw undefined; } })).toMatchObject({ ok: false, detail: 'undefined' });
  });

  it('receives its target and a signal that aborts at the timeout', async () => {
    let seen: { address: string; port: number; aborted: () => boolean } | undefined;
    const r = await runOne(
      {
        type: 'custom',
        port: 8080,
        timeoutMs: 50,
        run: (t, signal) => {
          seen = { address: t.address, port: t.port, aborted: () => signal.aborted };
          return new Promise(() => {});
        },
      },
      0,
      '10.0.0.7',
    );
    expect(r).toMatchObject({ ok: false, detail: 'no answer within 50 ms' });
    expect(seen).toMatchObject({ address: '10.0.0.7', port: 8080 });
    expect(seen!.aborted()).toBe(true);
  });

  it('is not run once the checker is stopping: its stop signal is already aborted', async () => {
    const [svc] = normaliseHealthConfig({ services: [{ ...SERVICE, destinations: [{ address: '10.0.0.7' }], check: { type: 'custom', run: () => new Promise(() => {}) } }] });
    const rs = svc!.realServers[0]!;
    let ran = false;
    const check = { ...rs.check, spec: { type: 'custom' as const, run: () => ((ran = true), new Promise<boolean>(() => {})) } };
    const stop = new AbortController();
    stop.abort();
    // The manual clock never moves: a check that waited for its timeout would never settle.
    const result = runCheck(check, { address: rs.check.address, port: rs.check.port, service: svc!.key, destination: rs.spec }, new ManualScheduler(), stop.signal);
    const pending = Symbol('pending');
    let outcome: unknown = pending;
    void result.then((r) => (outcome = r));
    for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
    expect(outcome).toMatchObject({ ok: false, detail: 'stopped' });
    expect(ran).toBe(false);
  });
});

describe('servers that never stop sending', () => {
  // Each writes without end, as fast as the socket takes it; the check must read a bounded amount and end.
  const servers: net.Server[] = [];
  const ports: Record<string, number> = {};
  const flood = (head: string, unit: string) => (s: net.Socket) =>
    s.once('data', () => {
      s.write(head);
      const block = unit.repeat(Math.ceil(65_536 / unit.length));
      const pump = (): void => {
        while (s.writable && s.write(block));
      };
      s.on('drain', pump);
      pump();
    });
  const behaviours: Record<string, (s: net.Socket) => void> = {
    body: flood('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n', 'a'),
    chunks: flood('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n', '1\r\na\r\n'),
    headerLine: flood('HTTP/1.1 200 OK\r\nx-endless: ', 'a'),
    headerLines: flood('HTTP/1.1 200 OK\r\n', 'x-a: b\r\n'),
    statusLine: flood('HTTP/1.1 200 ', 'a'),
    interim: flood('', 'HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n'),
  };

  beforeAll(async () => {
    await listenEach(behaviours, servers, ports);
  });
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it('a body: judged on its first 64 KiB, long before the timeout', async () => {
    const started = performance.now();
    expect(await runOne({ type: 'http', timeoutMs: 5000 }, ports.body!)).toMatchObject({ ok: true, detail: 'HTTP 200' });
    expect(await runOne({ type: 'http', timeoutMs: 5000, body: 'zzz' }, ports.body!)).toMatchObject({ ok: false, detail: 'HTTP 200, but the body does not contain "zzz"' });
    expect(await runOne({ type: 'http', timeoutMs: 5000, body: /a{10}/ }, ports.body!)).toMatchObject({ ok: true, detail: 'HTTP 200, body matches' });
    expect(await runOne({ type: 'http', timeoutMs: 5000, body: 'zzz' }, ports.chunks!)).toMatchObject({ ok: false, detail: 'HTTP 200, but the body does not contain "zzz"' });
    expect(performance.now() - started).toBeLessThan(4000);
  });

  it('a header line, header lines, a status line: refused past 64 KiB', async () => {
    for (const name of ['headerLine', 'headerLines', 'statusLine']) {
      expect(await runOne({ type: 'http', timeoutMs: 5000 }, ports[name]!), name).toMatchObject({ ok: false, detail: 'response headers larger than 64 KiB' });
    }
  });

  it('interim (1xx) responses without end: over by the timeout', async () => {
    expect(await runOne({ type: 'http', timeoutMs: 300 }, ports.interim!)).toMatchObject({ ok: false, detail: 'no answer within 300 ms' });
  });
});

describe('network failures never crash the process', () => {
  // One server per way of misbehaving, all on 127.0.0.1.
  const servers: net.Server[] = [];
  const ports: Record<string, number> = {};
  const behaviours: Record<string, (s: net.Socket) => void> = {
    reset: (s) => s.once('data', () => s.resetAndDestroy()),
    hangup: (s) => s.once('data', () => s.end()),
    closeAtOnce: (s) => s.end(),
    midHeaders: (s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nx-half: of the head')),
    bigHeaders: (s) => s.once('data', () => s.end(`HTTP/1.1 200 OK\r\ncontent-security-policy: ${'a'.repeat(20_000)}\r\ncontent-length: 2\r\n\r\nok`)),
    hugeHeaders: (s) => s.once('data', () => s.end(`HTTP/1.1 200 OK\r\nset-cookie: ${'a'.repeat(70_000)}\r\ncontent-length: 2\r\n\r\nok`)),
    garbage: (s) => s.once('data', () => s.end('SSH-2.0-OpenSSH_9.2\r\n\r\n')),
    truncated: (s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort')),
    drip: (s) => s.once('data', () => {
      s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
      const t = setInterval(() => (s.writable ? s.write('1\r\nx\r\n') : clearInterval(t)), 20);
      s.once('close', () => clearInterval(t));
    }),
  };

  beforeAll(async () => {
    await listenEach(behaviours, servers, ports);
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    ports.closed = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
  });
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it('turns each misbehaviour into a failed check described in words', async () => {
    const http = (port: number, extra: CheckOverride = {}) => runOne({ type: 'http', timeoutMs: 300, ...extra } as CheckOverride, port);
    expect(await http(ports.reset!)).toMatchObject({ ok: false, detail: 'connection reset' });
    // A clean close (a FIN) is no reset, though Node's http reports both as ECONNRESET.
    expect(await http(ports.hangup!)).toMatchObject({ ok: false, detail: 'connection closed before a complete response' });
    expect(await http(ports.closeAtOnce!)).toMatchObject({ ok: false, detail: 'connection closed before a complete response' });
    expect(await http(ports.midHeaders!)).toMatchObject({ ok: false, detail: 'connection closed before a complete response' });
    expect(await http(ports.truncated!, { body: 'never there' })).toMatchObject({ ok: false, detail: 'connection closed in the middle of the body' });
    expect(await http(ports.garbage!)).toMatchObject({ ok: false, detail: expect.stringMatching(/HTTP|parse|Parse/) });
    expect((await http(ports.truncated!, { body: 'short and more' })).ok).toBe(false);
    expect(await http(ports.drip!, { body: 'never' })).toMatchObject({ ok: false, detail: 'no answer within 300 ms' });
    expect(await http(ports.closed!)).toMatchObject({ ok: false, detail: 'connection refused' });
    expect(await http(ports.closed!)).not.toHaveProperty('local');
    expect(await runOne({ type: 'https', timeoutMs: 300 }, ports.garbage!)).toMatchObject({ ok: false });
    // bind(2) EADDRNOTAVAIL: the source address is not on this host. The checker's fault, not the server's: marked local.
    expect(await runOne({ type: 'tcp', localAddress: '192.0.2.77', timeoutMs: 300 }, ports.closed!)).toMatchObject({
      ok: false,
      detail: 'local address not available (EADDRNOTAVAIL: check.localAddress is not on this host, or no ephemeral port is free)',
      local: 'EADDRNOTAVAIL',
    });
    expect(await runOne({ type: 'http', localAddress: '192.0.2.77', timeoutMs: 300 }, ports.closed!)).toMatchObject({ ok: false, local: 'EADDRNOTAVAIL' });
  });

  it("reads response headers up to 64 KiB (Node's default limit is 16 KiB), and says so beyond", async () => {
    const http = (port: number) => runOne({ type: 'http', timeoutMs: 2000 }, port);
    expect(await http(ports.bigHeaders!)).toMatchObject({ ok: true, detail: 'HTTP 200' });
    expect(await http(ports.hugeHeaders!)).toMatchObject({ ok: false, detail: 'response headers larger than 64 KiB' });
  });

  it('keeps checking, quiesces every broken server and stays up, with no uncaught error', async () => {
    const uncaught: unknown[] = [];
    const onError = (err: unknown): void => void uncaught.push(err);
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const names = ['reset', 'hangup', 'garbage', 'truncated', 'drip', 'closed'];
    const checker = new HealthChecker({
      ipvs,
      config: {
        check: { type: 'http', intervalMs: 40, timeoutMs: 150, rise: 1, fall: 2, jitterMs: 10, body: 'ok' },
        services: names.map((n, i) => ({ protocol: 'tcp', address: '10.1.0.1', port: 1000 + i, destinations: [{ address: '127.0.0.1', port: ports[n]!, weight: 3 }] })),
      },
    });
    try {
      await checker.start();
      await new Promise((r) => setTimeout(r, 800));
      expect(checker.status().flatMap((s) => s.destinations.map((d) => d.status))).toEqual(names.map(() => 'down'));
      for (let i = 0; i < names.length; i++) {
        expect((await ipvs.destinations({ protocol: 'tcp', address: '10.1.0.1', port: 1000 + i })).map((d) => d.weight)).toEqual([0]);
      }
    } finally {
      await checker.stop();
      await ipvs.close();
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    }
    expect(uncaught).toEqual([]);
  });
});

describe('errors in words', () => {
  it("says the checker's own lack of descriptors is its own, not the server's", () => {
    const emfile = Object.assign(new Error('connect EMFILE 127.0.0.4:34351 - Local (undefined:undefined)'), { code: 'EMFILE', errno: -24 });
    expect(describeNetworkError(emfile)).toBe('the checker process has too many open files (EMFILE): raise its limit (ulimit -n, LimitNOFILE=)');
    expect(describeNetworkError(Object.assign(new Error('connect ENFILE'), { code: 'ENFILE' }))).toMatch(/^this host has too many open files \(ENFILE/);
    // An ECONNRESET from a real reset stays a reset.
    expect(describeNetworkError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe('connection reset');
  });

  it("tells the checker's own host running short (no verdict on the server) from the server's failures", () => {
    const err = (code: string): Error => Object.assign(new Error(`connect ${code}`), { code });
    for (const code of ['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL', 'EADDRINUSE']) expect(localResourceError(err(code))).toBe(code);
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPROTO']) expect(localResourceError(err(code))).toBeUndefined();
    // fetch() wraps the socket's error: TypeError('fetch failed') with the error as its cause.
    expect(localResourceError(new TypeError('fetch failed', { cause: err('EMFILE') }))).toBe('EMFILE');
    expect(localResourceError(new TypeError('fetch failed', { cause: err('ECONNREFUSED') }))).toBeUndefined();
    expect(localResourceError('EMFILE')).toBeUndefined();
    expect(localResourceError(null)).toBeUndefined();
  });
});

describe('no duplicate kernel changes', () => {
  it('while the kernel is slow and verdicts change underneath, sends each needed change once, in order', async () => {
    let ipvs!: Ipvs; // the harness's client, wrapped below
    // A client whose execute() waits at a gate the test opens, so changes pile up behind a slow kernel.
    let gate: (() => void) | undefined;
    const sent: string[] = [];
    const slow: HealthClient = {
      services: (o) => ipvs.services(o),
      service: (k, o) => ipvs.service(k, o),
      addService: (s, o) => ipvs.addService(s, o),
      deleteService: (k, o) => ipvs.deleteService(k, o),
      destinations: (k, o) => ipvs.destinations(k, o),
      execute: async (ops: readonly Operation[], o) => {
        if (gateOn) await new Promise<void>((r) => (gate = r));
        for (const op of ops) sent.push('destination' in op && op.op !== 'delete-destination' ? `${op.op} ${op.destination.address} w${op.destination.weight}` : `${op.op} ${'destination' in op ? op.destination.address : ''}`);
        return ipvs.execute(ops, o);
      },
    };
    let gateOn = false;
    h = await harness(seedConfig(), { ipvs: slow, before: async (inner) => void (ipvs = inner) });
    await h.checker.start();
    sent.length = 0;
    gateOn = true;
    h.setUp(A, false);
    await h.clock.advance(3000); // A down: its quiesce waits at the gate
    expect(gate).toBeDefined();
    h.setUp(B, false);
    await h.clock.advance(3000); // B down meanwhile: one more sync is queued, not a second copy of the first
    h.setUp(A, true);
    await h.clock.advance(2000); // and A is back before anything landed
    gateOn = false;
    gate!();
    await h.checker.settled();
    expect(sent).toEqual([
      'update-destination 192.168.1.116 w0', // the first sync, planned before the gate
      'update-destination 192.168.1.116 w2', // the queued sync sees the newest verdicts: A up, B down
      'update-destination 192.168.1.117 w0',
    ]);
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 0`]);
    // The queued sync never re-sends a change the kernel already has.
    await h.clock.advance(5000);
    await h.checker.settled();
    expect(sent).toHaveLength(3);
  });
});

describe('reconciling at start', () => {
  it("removes a sorry server an earlier run left in while the real servers are up, and restores a quiesced one's weight", async () => {
    h = await harness(seedConfig(), {
      before: async (ipvs) => {
        await ipvs.addService({ ...SERVICE, scheduler: 'rr' });
        await ipvs.addDestination(SERVICE, { address: A, weight: 0, forwarding: 'route' });
        await ipvs.addDestination(SERVICE, { address: B, weight: 1, forwarding: 'route' });
        await ipvs.addDestination(SERVICE, { address: '127.0.0.1', weight: 1, forwarding: 'route' });
      },
    });
    await h.checker.start();
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
    expect(h.events.filter((e) => e.type === 'sorry')).toEqual([{ type: 'sorry', text: '127.0.0.1:80 false' }]);
    expect(h.destChanges()).toEqual(['IPVS_CMD_SET_DEST', 'IPVS_CMD_DEL_DEST']); // restore first, then remove
  });

  it("puts a real server's tunnel options right, and leaves equal ones (written with defaults) alone", async () => {
    h = await harness(
      seedConfig({
        destinations: [
          { address: A, forwarding: 'tunnel', weight: 2, tunnel: { type: 'gue', port: 6080 } },
          { address: B, forwarding: 'tunnel', weight: 1 },
        ],
      }),
      {
        before: async (ipvs) => {
          await ipvs.addService({ ...SERVICE, scheduler: 'rr' });
          await ipvs.addDestination(SERVICE, { address: A, weight: 2, forwarding: 'tunnel' }); // ipip, not gue
          await ipvs.addDestination(SERVICE, { address: B, weight: 1, forwarding: 'tunnel', tunnel: { type: 'ipip' } });
        },
      },
    );
    await h.checker.start();
    expect(h.destChanges()).toEqual(['IPVS_CMD_SET_DEST']);
    const tunnels = Object.fromEntries((await h.ipvs.destinations(SERVICE)).map((d) => [d.address, d.tunnel]));
    expect(tunnels).toEqual({ [A]: { type: 'gue', port: 6080, checksum: 'nocsum' }, [B]: { type: 'ipip', port: 0, checksum: 'nocsum' } });
  });

  it('with onFailure: remove, deletes a dead server the table holds and leaves a healthy one untouched', async () => {
    h = await harness(seedConfig({ onFailure: 'remove' }), {
      before: async (ipvs) => {
        await ipvs.addService({ ...SERVICE, scheduler: 'rr' });
        await ipvs.addDestination(SERVICE, { address: A, weight: 2, forwarding: 'route' });
        await ipvs.addDestination(SERVICE, { address: B, weight: 1, forwarding: 'route' });
      },
    });
    h.setUp(A, false);
    await h.checker.start();
    // Served by the table at its configured weight, A starts up: gone only after `fall` (3) failures.
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
    expect(h.destChanges()).toEqual([]);
    await h.clock.advance(2000);
    expect(await h.table()).toEqual([`${B}:80 1`]);
    expect(h.destChanges()).toEqual(['IPVS_CMD_DEL_DEST']);
  });
});

describe('log lines', () => {
  it('writes exactly one line per transition and per change, at the right level', async () => {
    h = await harness(seedConfig());
    await h.checker.start();
    const from = h.logs.length;
    const events = h.events.length;
    h.setUp(A, false);
    h.setUp(B, false);
    await h.clock.advance(3000);
    h.setUp(A, true);
    await h.clock.advance(2000);
    const lines = h.logs.slice(from);
    const happened = h.events.slice(events);
    const transitions = happened.filter((e) => e.type === 'up' || e.type === 'down');
    const changes = happened.filter((e) => e.type === 'change');
    expect(transitions.map((e) => `${e.type} ${e.text}`)).toEqual([`down ${A}:80`, `down ${B}:80`, `up ${A}:80`]);
    expect(lines.filter((l) => / is (DOWN|UP again)/.test(l))).toHaveLength(transitions.length);
    expect(lines.filter((l) => l.startsWith('warn ') && l.includes(' is DOWN: 3 checks failed in a row'))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith('info ') && l.includes(' is UP again: 2 checks passed in a row'))).toHaveLength(1);
    for (const c of changes) expect(lines.filter((l) => l === `info ${c.text}`)).toHaveLength(1);
    expect(lines).toHaveLength(transitions.length + changes.length);
  });
});

describe('a logger that throws', () => {
  it.each(['throws', 'rejects'] as const)('%s on a line: that line is lost, never the checking or the change it tells of', async (how) => {
    // A log sink with a hiccup (a full disk, a closed pipe, a bug in a formatter): once in weeks is enough.
    const failing = new Set<string>();
    const lines: string[] = [];
    const sink = (level: string) => (m: string): unknown => {
      const hiccup = [...failing].find((text) => m.includes(text));
      if (hiccup === undefined) {
        lines.push(`${level} ${m}`);
        return undefined;
      }
      failing.delete(hiccup);
      if (how === 'throws') throw new Error('log sink hiccup');
      return Promise.reject(new Error('log sink hiccup'));
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown): void => void unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      h = await harness(seedConfig(), { logger: { info: sink('info'), warn: sink('warn'), error: sink('error'), debug: sink('debug') } });
      await h.checker.start();
      // The lines of A going down, of the change that follows, of its first check after recovering, and of its
      // coming back: each fails once.
      for (const text of [`${A}:80 is DOWN`, `quiesced ${A}:80`, `switchboard ${A}:80: ok`, `${A}:80 is UP again`]) failing.add(text);
      h.setUp(A, false);
      await h.clock.advance(3000);
      // Down after `fall` failures, and quiesced at once, not at the next resync (30 s).
      expect(await h.table()).toEqual([`${A}:80 0`, `${B}:80 1`]);
      h.setUp(A, true);
      await h.clock.advance(2000);
      // Checked still: up after `rise` successes, and its weight back.
      expect(h.checker.status()[0]!.destinations.map((d) => `${d.destinationId} ${d.status}`)).toEqual([`${A}:80 up`, `${B}:80 up`]);
      expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
      expect(failing).toEqual(new Set());
      expect(lines.filter((l) => l.startsWith('error '))).toEqual([]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
