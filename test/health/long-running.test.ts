// A checker that runs for weeks: its timing options cannot turn into a busy loop (a wait beyond a timer's
// reach fires after 1 ms), and thousands of passes with servers flapping and the kernel refusing now and
// then leave its timers, listeners and per-server state as they were; nor do hundreds of restarts (a program
// reloading its config makes a new checker) on one client.

import { getEventListeners, setMaxListeners } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { HealthChecker, ManualScheduler, normaliseHealthConfig, systemScheduler, type HealthCheckerOptions } from '../../src/health/index.js';
import { runCheck } from '../../src/health/run-check.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import type { Transport, TransportReceiver } from '../../src/netlink/transport.js';
import { FakeKernel } from '../../src/testing/index.js';
import { harness, type Harness } from './harness.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

const CONFIG = {
  check: { type: 'custom' as const, run: () => true, intervalMs: 60_000 },
  services: [{ protocol: 'tcp' as const, address: '10.0.0.1', port: 80, destinations: [{ address: '10.0.0.2' }] }],
};

describe('timing options', () => {
  it.each([
    ['resyncIntervalMs', 30 * 86_400_000],
    ['resyncIntervalMs', Infinity],
    ['resyncIntervalMs', Number.NaN],
    ['resyncIntervalMs', -1],
    ['resyncIntervalMs', 1.5],
    ['retryMs', 0],
    ['retryMs', 2 ** 31],
    ['retryMaxMs', Infinity],
    ['retryMaxMs', '60000'],
  ] as const)('%s: %s is refused, naming the option, before anything is sent', async (name, value) => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    try {
      let thrown: unknown;
      try {
        new HealthChecker({ ipvs, config: CONFIG, [name]: value } as HealthCheckerOptions);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect(thrown).toMatchObject({ field: name });
      expect((thrown as Error).message).toMatch(/from \d+ to 2147483647/);
      expect(kernel.requests.filter((r) => r !== 'CTRL_CMD_GETFAMILY')).toEqual([]);
    } finally {
      await ipvs.close();
    }
  });

  it('takes the longest wait a timer can hold, and 0 for no resync', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    try {
      for (const options of [{ resyncIntervalMs: 0 }, { resyncIntervalMs: 2_147_483_647, retryMs: 1, retryMaxMs: 2_147_483_647 }]) {
        expect(() => new HealthChecker({ ipvs, config: CONFIG, ...options })).not.toThrow();
      }
    } finally {
      await ipvs.close();
    }
  });

  it('the longest resync a timer holds (2^31 - 1 ms, 24.8 days) does not read the table again meanwhile', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const checker = new HealthChecker({ ipvs, config: CONFIG, resyncIntervalMs: 2_147_483_647 });
    try {
      await checker.start();
      kernel.requests.length = 0;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(kernel.requests).toEqual([]);
    } finally {
      await checker.stop();
      await ipvs.close();
    }
  });
});

describe('a random option that misbehaves', () => {
  it.each([
    ['returns NaN', (): number => Number.NaN],
    ['returns a number outside [0, 1)', (): number => 7],
    ['throws', (): number => {
      throw new Error('generator exhausted');
    }],
  ] as const)('%s now and then: every wait stays between the interval and the interval plus jitter, and the checks go on', async (_, bad) => {
    // NaN made the wait NaN, which a timer fires after 1 ms (a check every millisecond); a throw ended the check loop.
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const clock = new ManualScheduler();
    const waits: number[] = [];
    const scheduler = { now: () => clock.now(), schedule: (ms: number, fn: () => void) => (waits.push(ms), clock.schedule(ms, fn)) };
    let draws = 0;
    const random = (): number => (++draws % 3 === 0 ? bad() : 0.5);
    let checks = 0;
    const checker = new HealthChecker({
      ipvs, scheduler, random, resyncIntervalMs: 0,
      config: { check: { type: 'custom', run: () => void checks++, intervalMs: 1000, jitterMs: 100, timeoutMs: 500 }, services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, destinations: [{ address: '10.2.0.1' }] }] },
    });
    try {
      await checker.start();
      await clock.advance(20_000);
      // The check timeouts (500 ms) and the waits between checks.
      expect(waits.filter((ms) => ms !== 500).every((ms) => ms >= 1000 && ms < 1100)).toBe(true);
      expect(checks).toBeGreaterThanOrEqual(18);
    } finally {
      await checker.stop();
      await ipvs.close();
    }
  });
});

describe('thousands of passes', () => {
  it('servers flapping and the kernel refusing now and then: timers, listeners and state stay bounded', async () => {
    const destinations = Array.from({ length: 12 }, (_, i) => ({ address: `10.2.0.${i + 1}`, forwarding: 'route' as const, weight: 1 }));
    h = await harness(
      { services: [{ protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'rr', destinations, sorryServer: { address: '127.0.0.1' } }] },
      { resyncIntervalMs: 5000, retryMs: 1000, retryMaxMs: 4000 },
    );
    await h.checker.start();
    const inside = h.checker as unknown as {
      services: { believed: Map<string, unknown>; warned: Map<string, unknown> }[];
      stopController: AbortController;
      listeners: Map<string, Set<unknown>>;
    };
    const sizes = (): number[] => [
      h!.clock.size,
      inside.services[0]!.believed.size,
      inside.services[0]!.warned.size,
      getEventListeners(inside.stopController.signal, 'abort').length,
      [...inside.listeners.values()].reduce((n, set) => n + set.size, 0),
      (h!.ipvs as unknown as { conn: { inFlight: number } }).conn.inFlight,
    ];
    let seed = 1;
    const random = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    let ups = 0;
    let refusals = 0;
    let first: number[] | undefined;
    for (let pass = 0; pass < 2000; pass++) {
      for (const d of destinations) if (random() < 0.1) h.setUp(d.address, random() < 0.5);
      if (pass % 37 === 0) {
        h.kernel.failNext(1, 'ENOMEM');
        refusals++;
      }
      await h.clock.advance(1000);
      ups += h.events.filter((e) => e.type === 'up').length;
      h.kernel.requests.length = 0;
      h.logs.length = 0;
      h.events.length = 0;
      if (pass === 100) first = sizes();
    }
    expect(ups).toBeGreaterThan(100); // they did flap
    expect(refusals).toBeGreaterThan(50);
    const last = sizes();
    // A timer per server and the resync (a retry at most), the configured destinations, a few warnings.
    expect(last[0]).toBeLessThanOrEqual(destinations.length + 2);
    expect(last[1]).toBeLessThanOrEqual(destinations.length + 1);
    expect(last[2]).toBeLessThanOrEqual(5);
    expect(last.slice(3)).toEqual(first!.slice(3));
  });
});

describe('restarts on one client', () => {
  it('100 checkers started, run and stopped in turn (a config reloaded): nothing of them stays with the client or the clock', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const clock = new ManualScheduler();
    let healthy = true;
    let changes = 0;
    try {
      for (let i = 0; i < 100; i++) {
        // Each reload names other servers now and then, and finds them healthy or not.
        const destinations = Array.from({ length: 3 }, (_, d) => ({ address: `10.2.${i % 7}.${d + 1}`, forwarding: 'route' as const }));
        const checker = new HealthChecker({
          ipvs, scheduler: clock, random: () => 0, resyncIntervalMs: 2000,
          config: { check: { type: 'custom', run: () => healthy, intervalMs: 1000, timeoutMs: 500, fall: 1, rise: 1 }, services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr', destinations }] },
        });
        checker.on('change', () => void changes++);
        await checker.start();
        healthy = i % 3 !== 1;
        await clock.advance(2500);
        await checker.stop();
        // Stopped: no timer of it left, nothing of it in flight.
        expect(clock.size).toBe(0);
        kernel.requests.length = 0;
      }
      expect(changes).toBeGreaterThan(100);
      expect((ipvs as unknown as { conn: { inFlight: number } }).conn.inFlight).toBe(0);
      expect(kernel.openTransports).toBe(1);
    } finally {
      await ipvs.close();
    }
  });
});

describe('checks that time out', () => {
  it.each(['http', 'tcp'] as const)('%s: 300 checks of a server that accepts and never answers leave no socket open on our side', async (type) => {
    // A server that accepts and says nothing: HTTP checks time out, TCP checks pass at the connect; either way
    // the check's socket is closed, not left to a server that may never close it. TCP gets a long timeout: 30
    // connects at once on a loaded machine can take more than 20 ms, and a timed-out connect is not what is tested.
    const held: net.Socket[] = [];
    const server = net.createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const [svc] = normaliseHealthConfig({ services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, destinations: [{ address: '127.0.0.1', port }], check: { type, timeoutMs: type === 'tcp' ? 5_000 : 20 } }] });
    const rs = svc!.realServers[0]!;
    const stop = new AbortController();
    setMaxListeners(0, stop.signal);
    const ours = (): number => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().filter((h) => h instanceof net.Socket && h.remotePort === port).length;
    try {
      for (let round = 0; round < 10; round++) {
        const results = await Promise.all(Array.from({ length: 30 }, () => runCheck(rs.check, { address: '127.0.0.1', port, service: svc!.key, destination: rs.spec }, systemScheduler, stop.signal)));
        // TCP connects complete (a connect is all it checks); HTTP requests time out.
        expect(results.every((r) => r.ok === (type === 'tcp'))).toBe(true);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(ours()).toBe(0);
      expect(getEventListeners(stop.signal, 'abort')).toEqual([]);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('a client closed under the checker', () => {
  /** A checker of one server on `ipvs`, its clock, its log lines and the codes of its 'error' events. */
  function checkerOn(ipvs: Ipvs) {
    const clock = new ManualScheduler();
    const lines: string[] = [];
    const log = (level: string) => (m: string): void => void lines.push(`${level} ${m}`);
    const checker = new HealthChecker({
      ipvs, scheduler: clock, random: () => 0, resyncIntervalMs: 5000,
      logger: { info: log('info'), warn: log('warn'), error: log('error') },
      config: { check: { type: 'custom', run: () => true, intervalMs: 1000, timeoutMs: 500 }, services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, destinations: [{ address: '10.2.0.1' }] }] },
    });
    const errors: string[] = [];
    checker.on('error', (e) => void errors.push(e.error.code));
    return { checker, clock, lines, errors };
  }

  it('stops the checker at its first failed change or read: no retry for good, no timer left, one error line', async () => {
    // It retried for good (backing off to a minute), each a warning, and its timers kept the process alive.
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const { checker, clock, lines, errors } = checkerOn(ipvs);
    await checker.start();
    await ipvs.close();
    await clock.advance(10 * 60_000);
    expect(errors).toEqual(['ECLOSED']);
    expect(lines.filter((l) => l.startsWith('error '))).toEqual(['error the client was closed while the health checker ran: it stops (the table is left as it is)']);
    expect(lines.some((l) => l.includes('will re-read the table and retry'))).toBe(false);
    expect(clock.size).toBe(0);
    await checker.stop();
  });

  it("stops it too when the client's socket fails, and says so", async () => {
    const kernel = new FakeKernel();
    const inner = kernel.transport();
    let receiver: TransportReceiver | undefined;
    const transport: Transport = {
      portId: inner.portId,
      receiveBufferSize: inner.receiveBufferSize,
      attach: (r) => {
        receiver = r;
        inner.attach(r);
      },
      send: (d) => inner.send(d),
      close: () => inner.close(),
      drain: () => inner.drain?.(),
    };
    const ipvs = await Ipvs.open({ transport });
    const { checker, clock, lines, errors } = checkerOn(ipvs);
    await checker.start();
    receiver!.error(Object.assign(new Error('poll: EBADF'), { code: 'EBADF', errno: 9 }), true);
    await clock.advance(10 * 60_000);
    expect(errors).toEqual(['ECLOSED']);
    expect(lines.filter((l) => l.startsWith('error '))).toEqual(["error the client's socket failed (poll: EBADF) while the health checker ran: it stops (the table is left as it is)"]);
    expect(clock.size).toBe(0);
    await checker.stop();
    await ipvs.close();
  });
});
