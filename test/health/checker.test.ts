// The health checker on the fake kernel with a manual clock: the seed's scenario (two real servers with
// weights 2 and 1, a fail-back server 127.0.0.1), rise/fall, quiesce and remove, the sorry server,
// reconciliation at start, no duplicate changes, kernel failures and repairs, stop.

import { afterEach, describe, expect, it } from 'vitest';
import type { Ipvs } from '../../src/client.js';
import { HealthChecker, ManualScheduler, type HealthClient, type TransitionEvent } from '../../src/health/index.js';
import { IpvsError } from '../../src/netlink/errors.js';
import { harness, seedConfig, SERVICE, type Harness } from './harness.js';
import { collectProcessWarnings } from '../helpers/process-warnings.js';

const A = '192.168.1.116';
const B = '192.168.1.117';
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('start-up', () => {
  it('creates the service and adds every healthy real server with its configured weight', async () => {
    h = await harness(seedConfig());
    await h.checker.start();
    expect((await h.ipvs.service(SERVICE)).scheduler).toBe('rr');
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
    expect(h.logs).toContain(`info tcp 192.168.1.110:80: real server ${A}:80 is up (switchboard passed)`);
  });

  it('reconciles a table holding a dead server and lacking a live one', async () => {
    h = await harness(seedConfig(), {
      before: async (ipvs) => {
        await ipvs.addService({ ...SERVICE, scheduler: 'wlc' });
        await ipvs.addDestination(SERVICE, { address: B, weight: 3 }); // not its configured weight (1)
        await ipvs.addDestination(SERVICE, { address: '10.0.0.9', weight: 5 }); // not ours: left alone
      },
    });
    h.setUp(B, false);
    await h.checker.start();
    expect((await h.ipvs.service(SERVICE)).scheduler).toBe('rr'); // options corrected
    expect(await h.table()).toEqual(['10.0.0.9:80 5', `${A}:80 2`, `${B}:80 0`]);
    expect(h.events.filter((e) => e.type === 'down').map((e) => e.text)).toEqual([`${B}:80`]);
  });

  it('a server the table already serves at its configured weight starts up: one failed first check does not take it out (a restart)', async () => {
    const table = async (ipvs: import('../../src/client.js').Ipvs): Promise<void> => {
      await ipvs.addService({ ...SERVICE, scheduler: 'rr' });
      await ipvs.addDestination(SERVICE, { address: A, weight: 2, forwarding: 'route' });
      await ipvs.addDestination(SERVICE, { address: B, weight: 0, forwarding: 'route' }); // quiesced by an earlier run
    };
    h = await harness(seedConfig(), { before: table });
    h.setUp(A, false);
    h.setUp(B, false);
    await h.checker.start();
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 0`]);
    expect(h.checker.status()[0]!.destinations.map((d) => d.status)).toEqual(['up', 'down']);
    expect(h.logs).toContain(`info tcp 192.168.1.110:80: real server ${A}:80 is up: the table already serves it, and its first check failed (1 of 3 before it counts as down: switchboard returned false)`);
    h.setUp(A, true); // the lost check was only that
    await h.clock.advance(5000);
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 0`]);
    expect(h.destChanges()).toEqual([]);
    await h.close();
    // Still failing after `fall` checks: down, as any up server.
    h = await harness(seedConfig(), { before: table });
    h.setUp(A, false);
    h.setUp(B, false);
    await h.checker.start();
    await h.clock.advance(2000);
    expect(await h.table()).toEqual(['127.0.0.1:80 1', `${A}:80 0`, `${B}:80 0`]);
  });

  it('puts the sorry server in when every real server is down at start', async () => {
    h = await harness(seedConfig());
    h.setUp(A, false);
    h.setUp(B, false);
    await h.checker.start();
    expect(await h.table()).toEqual(['127.0.0.1:80 1', `${A}:80 0`, `${B}:80 0`]);
    expect(h.checker.status()[0]!.sorryActive).toBe(true);
    const sorry = (await h.ipvs.destinations(SERVICE)).find((d) => d.address === '127.0.0.1');
    expect(sorry?.forwarding).toBe('route'); // loopback: routed, as the seed's -g
  });

  it('refuses a bad config before touching the kernel, naming the field', async () => {
    const bad = seedConfig();
    (bad.services[0]!.destinations[1] as unknown as Record<string, unknown>).wieght = 3;
    await expect(harness(bad)).rejects.toThrow(/services\[0\]\.destinations\[1\]\.wieght/);
  });

  /** A client on which `race` runs (another writer) right after the checker's read of the services, `times` times. */
  function racing(ipvs: Ipvs, race: () => Promise<unknown>, times: number): HealthClient {
    return {
      services: (async (...a: Parameters<Ipvs['services']>) => {
        const read = await ipvs.services(...a);
        if (times-- > 0) await race();
        return read;
      }) as Ipvs['services'],
      service: (...a) => ipvs.service(...a),
      addService: (...a) => ipvs.addService(...a),
      deleteService: (...a) => ipvs.deleteService(...a),
      destinations: (...a) => ipvs.destinations(...a),
      execute: (...a) => ipvs.execute(...a),
    };
  }

  it('reads the table again when another writer adds or deletes the service between its read and its write', async () => {
    h = await harness(seedConfig());
    const other = h.ipvs;
    // Added meanwhile (with another scheduler): EEXIST, then a fresh read corrects the scheduler.
    const added = new HealthChecker({ ipvs: racing(h.ipvs, () => other.addService({ ...SERVICE, scheduler: 'wrr' }), 1), config: seedConfig(), scheduler: h.clock, logger: { info: () => {}, warn: (m) => h!.logs.push(`warn ${m}`), error: () => {} } });
    await added.start();
    expect((await h.ipvs.service(SERVICE)).scheduler).toBe('rr');
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
    expect(h.logs.some((l) => /^warn set up: .*already exists.*EEXIST.*changed by another writer meanwhile; reading the table again$/.test(l))).toBe(true);
    await added.stop();
    // Deleted meanwhile, while its scheduler was to be corrected: ESRCH, then it is added.
    await h.ipvs.updateService({ ...SERVICE, scheduler: 'wrr' });
    const deleted = new HealthChecker({ ipvs: racing(h.ipvs, () => other.deleteService(SERVICE), 1), config: seedConfig(), scheduler: h.clock });
    await deleted.start();
    expect((await h.ipvs.service(SERVICE)).scheduler).toBe('rr');
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
    await deleted.stop();
  });

  it('gives up on a start-up race that repeats (three tries)', async () => {
    h = await harness(seedConfig());
    const other = h.ipvs;
    // Added (EEXIST), deleted while its scheduler is corrected (ESRCH), added again (EEXIST).
    const race = (): Promise<unknown> => other.addService({ ...SERVICE, scheduler: 'wrr' }).catch(() => other.deleteService(SERVICE));
    const checker = new HealthChecker({ ipvs: racing(h.ipvs, race, 3), config: seedConfig(), scheduler: h.clock });
    await expect(checker.start()).rejects.toMatchObject({ code: 'EEXIST' });
    expect(h.kernel.requests.filter((r) => r === 'IPVS_CMD_SET_SERVICE')).toHaveLength(1); // the second try's
  });

  it('rejects start when the services cannot be set up (no permission)', async () => {
    h = await harness(seedConfig());
    h.kernel.setUnprivileged(true);
    await expect(h.checker.start()).rejects.toMatchObject({ code: 'EPERM' });
    h.kernel.setUnprivileged(false);
  });
});

describe('rise and fall', () => {
  it('quiesces a server after `fall` failed checks in a row, and restores its weight after `rise` good ones', async () => {
    h = await harness(seedConfig());
    await h.checker.start();
    h.setUp(A, false);
    await h.clock.advance(2000); // two failures: not yet
    expect(await h.table()).toContain(`${A}:80 2`);
    await h.clock.advance(1000); // the third: down
    expect(await h.table()).toEqual([`${A}:80 0`, `${B}:80 1`]);
    expect(h.logs.some((l) => l.startsWith(`warn tcp 192.168.1.110:80: real server ${A}:80 is DOWN: 3 checks failed in a row`))).toBe(true);
    h.setUp(A, true);
    await h.clock.advance(1000);
    expect(await h.table()).toContain(`${A}:80 0`);
    await h.clock.advance(1000);
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
    expect(h.events.filter((e) => e.type === 'down' || e.type === 'up').map((e) => `${e.type} ${e.text}`)).toEqual([
      `up ${A}:80`, `up ${B}:80`, // first checks
      `down ${A}:80`, `up ${A}:80`,
    ]);
  });

  it('does not flap on results that alternate below the thresholds, and sends nothing twice', async () => {
    h = await harness(seedConfig());
    await h.checker.start();
    const before = h.destChanges().length;
    for (let i = 0; i < 20; i++) {
      h.setUp(A, i % 3 !== 0); // fails every third check: never 3 in a row
      await h.clock.advance(1000);
    }
    expect(h.destChanges().length).toBe(before);
    h.setUp(A, false);
    await h.clock.advance(10_000);
    h.setUp(A, true);
    await h.clock.advance(10_000);
    // one quiesce and one restore, however many checks ran
    expect(h.destChanges().slice(before)).toEqual(['IPVS_CMD_SET_DEST', 'IPVS_CMD_SET_DEST']);
  });

  it('removes and re-adds a server with onFailure: remove', async () => {
    h = await harness(seedConfig({ onFailure: 'remove' }));
    await h.checker.start();
    h.setUp(B, false);
    await h.clock.advance(3000);
    expect(await h.table()).toEqual([`${A}:80 2`]);
    h.setUp(B, true);
    await h.clock.advance(2000);
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
  });

  it('times out a check that never answers', async () => {
    let calls = 0;
    h = await harness({
      ...seedConfig(),
      check: { type: 'custom', name: 'hang', run: () => (calls++ < 2 ? true : new Promise(() => {})), intervalMs: 1000, timeoutMs: 300, rise: 1, fall: 1, jitterMs: 0 },
    });
    const results: string[] = [];
    h.checker.on('check', (e) => results.push(e.result.detail));
    await h.checker.start();
    await h.clock.advance(1300);
    expect(results).toContain('no answer within 300 ms');
  });
});

describe('a custom check whose promise never settles', () => {
  it('and that ignores its signal fails at its timeout, frees its slot for the other servers, and holds up neither their checks nor stop()', async () => {
    const calls = new Map<string, number>();
    const hung: AbortSignal[] = [];
    h = await harness({
      ...seedConfig({ sorryServer: undefined }),
      maxChecksInFlight: 1, // one slot: a check that kept it would starve the other server
      check: {
        type: 'custom',
        run: (t, signal) => {
          calls.set(t.address, (calls.get(t.address) ?? 0) + 1);
          if (t.address !== A) return true;
          hung.push(signal);
          return new Promise<boolean>(() => {}); // never settles, whatever its signal says
        },
        intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 2, jitterMs: 0,
      },
    });
    const turns = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
    };
    const started = h.checker.start();
    await turns();
    await h.clock.advance(500);
    await started;
    const states = () => h!.checker.status()[0]!.destinations.map((d) => `${d.destinationId} ${d.status} ${d.lastResult?.detail}`);
    expect(states()).toEqual([`${A}:80 down no answer within 500 ms`, `${B}:80 up custom check passed`]);
    expect(await h.table()).toEqual([`${A}:80 0`, `${B}:80 1`]);
    for (let i = 0; i < 10; i++) await h.clock.advance(500);
    // Every second a check of each: A's ends at its timeout, and B's still gets the slot.
    expect(calls.get(A)).toBeGreaterThanOrEqual(4); // every 1.5 s: its timeout, then its interval
    expect(calls.get(B)).toBeGreaterThanOrEqual(4);
    expect(hung.slice(0, -1).every((s) => s.aborted)).toBe(true); // each told to give up at its timeout
    // Its calls pile up, one an interval, with whatever each holds: said once (then at debug level), as other repeats.
    expect(h.logs.filter((l) => l.includes('still running'))).toEqual([
      `warn tcp 192.168.1.110:80: ${A}:80: custom check ${A}:80: calls that failed at their timeout are still running, one more each interval: make the function end its work when its signal aborts (what each call holds stays held); 2 now`,
    ]);
    // A check of A in flight, never to settle: stop() does not wait for it (nor for its timeout: the clock stands still).
    while (hung.at(-1)!.aborted) await h.clock.advance(100);
    let stopped = false;
    void h.checker.stop().then(() => (stopped = true));
    await turns();
    expect(stopped).toBe(true);
    expect(hung.at(-1)!.aborted).toBe(true);
  });

  it('that ends its work when its signal aborts is no pile-up: no warning', async () => {
    h = await harness({
      ...seedConfig({ sorryServer: undefined }),
      check: {
        type: 'custom',
        run: (t, signal) => (t.address === A ? new Promise<boolean>((resolve) => signal.addEventListener('abort', () => resolve(false))) : true),
        intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 2, jitterMs: 0,
      },
    });
    const started = h.checker.start();
    for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
    await h.clock.advance(500);
    await started;
    for (let i = 0; i < 10; i++) await h.clock.advance(500);
    expect(h.checker.status()[0]!.destinations[0]).toMatchObject({ status: 'down', lastResult: { detail: 'no answer within 500 ms' } });
    expect(h.logs.filter((l) => l.includes('still running'))).toEqual([]);
  });
});

describe('the sorry server', () => {
  it('goes in when the last real server fails, and out once one is back, with no gap', async () => {
    h = await harness(seedConfig());
    await h.checker.start();
    const sorry: string[] = [];
    h.checker.on('sorry', (e) => sorry.push(`${e.destinationId} ${e.active}`));
    h.setUp(A, false);
    await h.clock.advance(3000);
    expect(sorry).toEqual([]);
    const mark = h.events.length;
    h.setUp(B, false);
    await h.clock.advance(3000);
    expect(await h.table()).toEqual(['127.0.0.1:80 1', `${A}:80 0`, `${B}:80 0`]);
    expect(sorry).toEqual(['127.0.0.1:80 true']);
    // The sorry server went in before the last real server went to 0.
    const changes = h.events.slice(mark).filter((e) => e.type === 'change').map((e) => e.text);
    expect(changes[0]).toMatch(/every real server is down: added the sorry server 127\.0\.0\.1:80/);
    expect(changes[1]).toMatch(/quiesced 192\.168\.1\.117:80/);
    const mark2 = h.events.length;
    h.setUp(B, true);
    await h.clock.advance(2000);
    expect(await h.table()).toEqual([`${A}:80 0`, `${B}:80 1`]);
    expect(sorry).toEqual(['127.0.0.1:80 true', '127.0.0.1:80 false']);
    const back = h.events.slice(mark2).filter((e) => e.type === 'change').map((e) => e.text);
    expect(back[0]).toMatch(/restored 192\.168\.1\.117:80 to weight 1/);
    expect(back[1]).toMatch(/a real server is back: removed the sorry server/);
  });
});

describe('the sorry server beside destinations the config does not name', () => {
  const OTHER = '10.0.0.9';
  const withOther = (weight: number) => async (ipvs: Ipvs): Promise<void> => {
    await ipvs.addService({ ...SERVICE, scheduler: 'rr' });
    await ipvs.addDestination(SERVICE, { address: OTHER, forwarding: 'route', weight }); // added by hand or another tool
  };

  it('stays out while one with a weight serves, and goes in at the next pass once it is taken away', async () => {
    h = await harness(seedConfig(), { resyncIntervalMs: 10_000, before: withOther(5) });
    h.setUp(A, false);
    h.setUp(B, false);
    await h.checker.start();
    expect(await h.table()).toEqual([`${OTHER}:80 5`, `${A}:80 0`, `${B}:80 0`]);
    expect(h.checker.status()[0]!.sorryActive).toBe(false);
    expect(h.logs).toContain(`info tcp 192.168.1.110:80: every configured real server is down; the sorry server stays out while ${OTHER}:80 (weight 5), not in the config, serves`);
    await h.clock.advance(10_000);
    expect(await h.table()).toEqual([`${OTHER}:80 5`, `${A}:80 0`, `${B}:80 0`]);
    expect(h.logs.filter((l) => /stays out/.test(l))).toHaveLength(1); // once per episode, not at every pass
    // Its owner takes it away: the next pass puts the sorry server in.
    await h.ipvs.deleteDestination(SERVICE, { address: OTHER });
    await h.clock.advance(10_000);
    expect(await h.table()).toEqual(['127.0.0.1:80 1', `${A}:80 0`, `${B}:80 0`]);
    expect(h.events.filter((e) => e.type === 'sorry').map((e) => e.text)).toEqual(['127.0.0.1:80 true']);
  });

  it('one at weight 0 serves nothing: the sorry server goes in', async () => {
    h = await harness(seedConfig(), { before: withOther(0) });
    h.setUp(A, false);
    h.setUp(B, false);
    await h.checker.start();
    expect(await h.table()).toEqual([`${OTHER}:80 0`, '127.0.0.1:80 1', `${A}:80 0`, `${B}:80 0`]);
  });

  it('decides on a fresh read when the last real server goes down: one taken away since the last pass does not leave nothing serving', async () => {
    h = await harness(seedConfig(), { resyncIntervalMs: 0, before: withOther(5) });
    await h.checker.start();
    await h.ipvs.deleteDestination(SERVICE, { address: OTHER }); // no periodic pass will see this
    h.setUp(A, false);
    h.setUp(B, false);
    await h.clock.advance(3000);
    expect(await h.table()).toEqual(['127.0.0.1:80 1', `${A}:80 0`, `${B}:80 0`]);
  });

  it('goes out when one with a weight appears beside it, and says why', async () => {
    h = await harness(seedConfig(), { resyncIntervalMs: 10_000 });
    h.setUp(A, false);
    h.setUp(B, false);
    await h.checker.start();
    expect(await h.table()).toEqual(['127.0.0.1:80 1', `${A}:80 0`, `${B}:80 0`]);
    await h.ipvs.addDestination(SERVICE, { address: OTHER, forwarding: 'route', weight: 3 });
    await h.clock.advance(10_000);
    expect(await h.table()).toEqual([`${OTHER}:80 3`, `${A}:80 0`, `${B}:80 0`]);
    expect(h.events.filter((e) => e.type === 'change').at(-1)!.text).toBe(
      `tcp 192.168.1.110:80: ${OTHER}:80 (weight 3), not in the config, serves: removed the sorry server 127.0.0.1:80`,
    );
    // A configured server back changes nothing for the sorry server (it is out), and restores as usual.
    h.setUp(B, true);
    await h.clock.advance(2000);
    expect(await h.table()).toEqual([`${OTHER}:80 3`, `${A}:80 0`, `${B}:80 1`]);
  });
});

describe('the kernel and other writers', () => {
  it('keeps the sorry server while the restore it waits for fails (someone deleted that server): never only weight 0', async () => {
    h = await harness(seedConfig(), { resyncIntervalMs: 0 });
    await h.checker.start();
    h.setUp(A, false);
    h.setUp(B, false);
    await h.clock.advance(3000);
    expect(await h.table()).toEqual(['127.0.0.1:80 1', `${A}:80 0`, `${B}:80 0`]);
    // An operator deletes the quiesced B by hand; then B recovers. Its restore fails (ENOENT).
    await h.ipvs.deleteDestination(SERVICE, { address: B });
    h.setUp(B, true);
    const held = (): string => (h?.kernel.state().services[0]?.destinations ?? []).map((d) => `${d.address} ${d.weight}`).sort().join(', ');
    const seen: string[] = [];
    for (const type of ['change', 'error'] as const) h.checker.on(type, () => seen.push(held()));
    await h.clock.advance(2000);
    expect(h.logs.some((l) => /could not restore 192\.168\.1\.117:80: .*ENOENT.*retry in 2000 ms/.test(l))).toBe(true);
    expect(h.logs.some((l) => /removed the sorry server/.test(l))).toBe(false);
    expect(h.checker.status()[0]!.sorryActive).toBe(true);
    expect(await h.table()).toEqual(['127.0.0.1:80 1', `${A}:80 0`]);
    // The retry re-reads the table, adds B, and only then takes the sorry server out.
    await h.clock.advance(2000);
    expect(await h.table()).toEqual([`${A}:80 0`, `${B}:80 1`]);
    expect(h.logs.filter((l) => /a real server is back: removed the sorry server/.test(l))).toHaveLength(1);
    expect(seen.length).toBeGreaterThan(0);
    for (const table of seen) expect(table).toMatch(/ [1-9]/);
  });

  it('when a restore fails, quiesces a dead server only if something else still serves', async () => {
    // The table as a checker left it when B was down and A served at weight 1 (A's weight is 2 now).
    const before = async (ipvs: Ipvs): Promise<void> => {
      await ipvs.addService({ ...SERVICE, scheduler: 'rr' });
      await ipvs.addDestination(SERVICE, { address: A, forwarding: 'route', weight: 1 });
      await ipvs.addDestination(SERVICE, { address: B, forwarding: 'route', weight: 0 });
    };
    h = await harness(seedConfig({ sorryServer: undefined }), { resyncIntervalMs: 0, before });
    h.setUp(A, false);
    h.kernel.failNext(1, 'EBUSY', 'IPVS_CMD_SET_DEST'); // B's restore, the first change sent
    await h.checker.start();
    expect(h.logs.some((l) => /could not restore 192\.168\.1\.117:80: .*EBUSY/.test(l))).toBe(true);
    expect(await h.table()).toEqual([`${A}:80 1`, `${B}:80 0`]); // dead A still serves: nothing else would
    await h.clock.advance(2000);
    expect(await h.table()).toEqual([`${A}:80 0`, `${B}:80 1`]);
  });

  it('when a restore fails, still quiesces a dead server while another one serves', async () => {
    const C = '192.168.1.118';
    const before = async (ipvs: Ipvs): Promise<void> => {
      await ipvs.addService({ ...SERVICE, scheduler: 'rr' });
      await ipvs.addDestination(SERVICE, { address: A, forwarding: 'route', weight: 1 });
      await ipvs.addDestination(SERVICE, { address: B, forwarding: 'route', weight: 0 });
      await ipvs.addDestination(SERVICE, { address: C, forwarding: 'route', weight: 1 });
    };
    const config = seedConfig({ sorryServer: undefined });
    config.services[0]!.destinations = [...config.services[0]!.destinations, { address: C, forwarding: 'route', weight: 1 }];
    h = await harness(config, { resyncIntervalMs: 0, before });
    h.setUp(A, false);
    h.kernel.failNext(1, 'EBUSY', 'IPVS_CMD_SET_DEST'); // B's restore
    await h.checker.start();
    expect(await h.table()).toEqual([`${A}:80 0`, `${B}:80 0`, `${C}:80 1`]);
    await h.clock.advance(2000);
    expect(await h.table()).toEqual([`${A}:80 0`, `${B}:80 1`, `${C}:80 1`]);
  });

  it("the error event's error is an IpvsError: a custom client's plain Error wrapped (message, code, cause), a skipped change ENOTSENT", async () => {
    let real: Ipvs | undefined;
    let mode: 'throw' | 'skip' | undefined;
    const thrown = Object.assign(new Error('link down'), { code: 'ELINKDOWN' });
    const client = new Proxy({}, {
      get: (_target, key: keyof HealthClient) => {
        if (key === 'execute' && mode === 'throw') return () => Promise.reject(thrown);
        if (key === 'execute' && mode === 'skip') return async (ops: readonly unknown[]) => ops.map(() => ({ skipped: true }));
        return (real![key] as (...args: unknown[]) => unknown).bind(real);
      },
    }) as HealthClient;
    h = await harness(seedConfig(), { retryMs: 500, ipvs: client, before: async (ipvs) => void (real = ipvs) });
    const errors: unknown[] = [];
    h.checker.on('error', (e) => void errors.push(e.error));
    await h.checker.start();
    mode = 'throw';
    h.setUp(A, false);
    await h.clock.advance(3000);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toBeInstanceOf(IpvsError);
    expect(errors[0]).toMatchObject({ message: 'link down', code: 'ELINKDOWN', cause: thrown });
    mode = 'skip';
    const seen = errors.length;
    await h.clock.advance(1000);
    expect(errors.length).toBeGreaterThan(seen);
    expect(errors.at(-1)).toBeInstanceOf(IpvsError);
    expect(errors.at(-1)).toMatchObject({ message: 'not attempted', code: 'ENOTSENT' });
    mode = undefined;
  });

  it('retries a refused change after re-reading the table', async () => {
    h = await harness(seedConfig(), { retryMs: 500 });
    await h.checker.start();
    h.kernel.failNext(1, 'EBUSY');
    h.setUp(A, false);
    await h.clock.advance(3000);
    expect(h.events.some((e) => e.type === 'error')).toBe(true);
    expect(h.logs.some((l) => /could not quiesce 192\.168\.1\.116:80: .*EBUSY.*retry in 500 ms/.test(l))).toBe(true);
    await h.clock.advance(500);
    expect(await h.table()).toEqual([`${A}:80 0`, `${B}:80 1`]);
  });

  it('backs off a change the kernel keeps refusing (2 s doubling to a minute), warns once per 10 min, and says when it goes through', async () => {
    h = await harness(seedConfig(), { resyncIntervalMs: 0 });
    await h.checker.start();
    const attempts = (): number => h!.kernel.requests.filter((r) => r === 'IPVS_CMD_SET_DEST').length;
    const before = attempts();
    h.kernel.failNext(1000, 'EINVAL', 'IPVS_CMD_SET_DEST');
    h.setUp(A, false);
    await h.clock.advance(3000); // A down at 3 s: its quiesce is refused
    const first = attempts();
    expect(first).toBe(before + 1);
    const warnings = (): string[] => h!.logs.filter((l) => l.startsWith('warn ') && l.includes('could not quiesce'));
    expect(warnings()).toEqual([expect.stringMatching(/could not quiesce 192\.168\.1\.116:80: .*EINVAL.*; will re-read the table and retry in 2000 ms$/)]);
    // Retries 2, 6, 14, 30, 62 s after the first failure, then every 60 s: 13 within 10 minutes (299 at a fixed 2 s).
    const seen: number[] = [];
    for (let t = 1; t <= 599; t++) {
      await h.clock.advance(1000);
      if (attempts() > first + seen.length) seen.push(t);
    }
    expect(seen).toEqual([2, 6, 14, 30, 62, 122, 182, 242, 302, 362, 422, 482, 542]);
    expect(warnings()).toHaveLength(1); // each repeat was at debug level
    await h.clock.advance(3000); // 602 s: the warning again, with the count
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatch(/retry in 60000 ms \(the same failure 13 more times since this warning 10 min ago\)$/);
    expect(h.events.filter((e) => e.type === 'error')).toHaveLength(15); // every failure is an event
    h.kernel.clearFaults();
    await h.clock.advance(60_000);
    expect(await h.table()).toEqual([`${A}:80 0`, `${B}:80 1`]);
    expect(h.logs).toContain('info tcp 192.168.1.110:80: the table is in line again, after 15 failed attempts');
    // The next failure starts afresh at 2 s.
    h.kernel.failNext(1, 'EBUSY', 'IPVS_CMD_SET_DEST');
    h.setUp(A, true);
    await h.clock.advance(2000);
    expect(h.logs.filter((l) => /could not restore .*EBUSY.*retry in 2000 ms$/.test(l))).toHaveLength(1);
    await h.clock.advance(2000);
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
  });

  it('caps the backoff at retryMaxMs and logs the repeats at debug level', async () => {
    const lines: string[] = [];
    const logger = { info: () => {}, warn: (m: string) => void lines.push(`warn ${m}`), error: () => {}, debug: (m: string) => void lines.push(`debug ${m}`) };
    h = await harness(seedConfig(), { resyncIntervalMs: 0, retryMs: 1000, retryMaxMs: 3000, logger });
    await h.checker.start();
    h.kernel.failNext(1000, 'EINVAL', 'IPVS_CMD_SET_DEST');
    h.setUp(A, false);
    await h.clock.advance(3000);
    await h.clock.advance(1000 + 2000 + 3000 + 3000);
    const quiesce = lines.filter((l) => l.includes('could not quiesce'));
    expect(quiesce.map((l) => `${l.split(' ')[0]} ${/retry in (\d+) ms/.exec(l)![1]}`)).toEqual(['warn 1000', 'debug 2000', 'debug 3000', 'debug 3000', 'debug 3000']);
    expect(quiesce.at(-1)).toMatch(/\(the same failure again: warned at most every 10 min\)$/);
  });

  it('repairs a destination or a service someone else deleted, on the next resync', async () => {
    h = await harness(seedConfig(), { resyncIntervalMs: 10_000 });
    await h.checker.start();
    await h.ipvs.deleteDestination(SERVICE, { address: A });
    await h.clock.advance(10_000);
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
    await h.ipvs.deleteService(SERVICE);
    await h.clock.advance(10_000);
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
    expect(h.logs).toContain('warn tcp 192.168.1.110:80: the service was missing from the table: added it again');
  });

  it("sets the service's options back at the next pass when another writer changes them, with a change event", async () => {
    h = await harness(seedConfig({ persistence: { timeout: 600 } }), { resyncIntervalMs: 10_000 });
    await h.checker.start();
    const changes: string[] = [];
    h.checker.on('change', (e) => changes.push(`${e.operation.op}: ${e.description}`));
    await h.ipvs.updateService({ ...SERVICE, scheduler: 'wlc', persistence: false }); // ipvs -E -t ... -s wlc
    await h.clock.advance(10_000);
    const svc = await h.ipvs.service(SERVICE);
    expect([svc.scheduler, svc.persistence?.timeout]).toEqual(['rr', 600]);
    expect(changes).toEqual([
      "update-service: tcp 192.168.1.110:80: the service's options were changed by another writer: set them back (scheduler wlc -> rr, persistence off -> 600s mask 255.255.255.255)",
    ]);
    expect(h.logs.filter((l) => l.startsWith('warn'))).toEqual([`warn ${changes[0]!.slice('update-service: '.length)}`]);
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]); // the destinations untouched
    await h.clock.advance(10_000);
    expect(changes).toHaveLength(1); // in line: nothing sent again
  });

  it('a writer that keeps changing the options is a warning once per 10 min, not one per pass; the change event comes every time', async () => {
    const lines: string[] = [];
    const logger = { info: () => {}, warn: (m: string) => void lines.push(`warn ${m}`), error: () => {}, debug: (m: string) => void lines.push(`debug ${m}`) };
    h = await harness(seedConfig(), { resyncIntervalMs: 30_000, logger });
    await h.checker.start();
    let changes = 0;
    h.checker.on('change', (e) => void (e.operation.op === 'update-service' && changes++));
    const setBack = (): string[] => lines.filter((l) => l.includes('changed by another writer'));
    // An `ipvs apply` of other options before every pass: 20 passes in 10 minutes.
    for (let pass = 1; pass <= 20; pass++) {
      await h.ipvs.updateService({ ...SERVICE, scheduler: 'wlc' });
      await h.clock.advance(30_000);
    }
    expect(changes).toBe(20);
    expect((await h.ipvs.service(SERVICE)).scheduler).toBe('rr');
    expect(setBack().filter((l) => l.startsWith('warn '))).toHaveLength(1);
    expect(setBack().filter((l) => l.startsWith('debug '))).toHaveLength(19);
    expect(setBack().at(-1)).toMatch(/set them back \(scheduler wlc -> rr\) \(the same change again: warned at most every 10 min\)$/);
    await h.ipvs.updateService({ ...SERVICE, scheduler: 'wlc' });
    await h.clock.advance(30_000); // 10 min after the first warning
    expect(setBack().filter((l) => l.startsWith('warn '))).toEqual([
      "warn tcp 192.168.1.110:80: the service's options were changed by another writer: set them back (scheduler wlc -> rr)",
      "warn tcp 192.168.1.110:80: the service's options were changed by another writer: set them back (scheduler wlc -> rr) (the same change 19 more times since this warning 10 min ago)",
    ]);
  });

  it('keeps the repeated-failure memory small when a custom client puts a counter in every error message', async () => {
    let n = 0;
    let ipvs!: Ipvs;
    const client: HealthClient = {
      services: (o) => ipvs.services(o),
      service: (k) => ipvs.service(k),
      addService: (sp) => ipvs.addService(sp),
      deleteService: (k) => ipvs.deleteService(k),
      destinations: (k, o) => ipvs.destinations(k, o),
      execute: async (ops, o) => {
        if (Array.isArray(ops) && (ops as readonly { op: string }[]).some((op) => op.op === 'update-destination')) throw new Error(`request ${++n} refused`);
        return ipvs.execute(ops, o);
      },
    };
    h = await harness(seedConfig(), { resyncIntervalMs: 0, retryMs: 1000, retryMaxMs: 1000, ipvs: client, before: async (inner) => void (ipvs = inner) });
    await h.checker.start();
    h.setUp(A, false);
    await h.clock.advance(3000 + 500_000); // A down: its quiesce refused 500 times, each with a new text
    expect(n).toBeGreaterThan(400);
    const memory = (h.checker as unknown as { services: { warned: { size: number } }[] }).services[0]!.warned;
    expect(memory.size).toBeLessThanOrEqual(16);
  });

  it("retries setting the options back when the kernel refuses it, and leaves them alone with manageServices: false", async () => {
    h = await harness(seedConfig(), { resyncIntervalMs: 10_000, retryMs: 1000 });
    await h.checker.start();
    await h.ipvs.updateService({ ...SERVICE, scheduler: 'wlc' });
    h.kernel.failNext(1, 'ENOMEM', 'IPVS_CMD_SET_SERVICE');
    await h.clock.advance(10_000);
    expect(h.logs).toContain("warn tcp 192.168.1.110:80: could not set the service's options back (scheduler wlc -> rr): update service tcp 192.168.1.110:80 failed [ENOMEM]; will re-read the table and retry in 1000 ms");
    expect((await h.ipvs.service(SERVICE)).scheduler).toBe('wlc');
    await h.clock.advance(1000);
    expect((await h.ipvs.service(SERVICE)).scheduler).toBe('rr');
    await h.close();
    h = await harness(seedConfig(), { resyncIntervalMs: 10_000, manageServices: false, before: async (ipvs) => ipvs.addService({ ...SERVICE, scheduler: 'rr' }) });
    await h.checker.start();
    await h.ipvs.updateService({ ...SERVICE, scheduler: 'wlc' });
    await h.clock.advance(20_000);
    expect((await h.ipvs.service(SERVICE)).scheduler).toBe('wlc');
  });

  it('emits a change event when it re-creates a service someone deleted', async () => {
    h = await harness(seedConfig(), { resyncIntervalMs: 10_000 });
    await h.checker.start();
    const changes: string[] = [];
    h.checker.on('change', (e) => changes.push(`${e.operation.op} ${'service' in e.operation && 'scheduler' in e.operation.service ? e.operation.service.scheduler : ''}: ${e.description}`));
    await h.ipvs.deleteService(SERVICE);
    await h.clock.advance(10_000);
    expect(changes).toEqual([
      'add-service rr: tcp 192.168.1.110:80: the service was missing from the table: added it again',
      expect.stringMatching(/^add-destination : .*added 192\.168\.1\.116:80/),
      expect.stringMatching(/^add-destination : .*added 192\.168\.1\.117:80/),
    ]);
  });

  it('notices a deleted service when its own change fails, without waiting for a resync', async () => {
    h = await harness(seedConfig(), { resyncIntervalMs: 0, retryMs: 100 });
    await h.checker.start();
    await h.ipvs.deleteService(SERVICE);
    h.setUp(A, false);
    await h.clock.advance(3100);
    expect(await h.table()).toEqual([`${A}:80 0`, `${B}:80 1`]);
  });

  it('recovers when ip_vs is unloaded and loaded again (a new family id, an empty table): the service and its servers are back', async () => {
    h = await harness(seedConfig(), { resyncIntervalMs: 10_000, retryMs: 500 });
    await h.checker.start();
    const held = (): string[] => (h?.kernel.state().services ?? []).flatMap((s) => s.destinations.map((d) => `${s.key} ${d.address}:${d.port} ${d.weight}`)).sort();
    h.kernel.reloadIpvs();
    await h.clock.advance(10_000);
    expect(held()).toEqual([`tcp 192.168.1.110:80 ${A}:80 2`, `tcp 192.168.1.110:80 ${B}:80 1`]);
    expect(h.logs).toContain('warn tcp 192.168.1.110:80: the service was missing from the table: added it again');
    // Again, and a server fails before any resync: its quiesce finds the new table and puts the service back.
    h.kernel.reloadIpvs();
    h.setUp(A, false);
    await h.clock.advance(4000);
    expect(held()).toEqual([`tcp 192.168.1.110:80 ${A}:80 0`, `tcp 192.168.1.110:80 ${B}:80 1`]);
    expect(h.logs.some((l) => /could not quiesce 192\.168\.1\.116:80: no such service tcp 192\.168\.1\.110:80 \[ESRCH\]/.test(l))).toBe(true);
    expect(h.logs.some((l) => /ENOENT|no such destination/.test(l))).toBe(false);
  });

  it('survives a listener that throws', async () => {
    h = await harness(seedConfig());
    h.checker.on('down', () => {
      throw new Error('listener bug');
    });
    await h.checker.start();
    h.setUp(A, false);
    await h.clock.advance(3000);
    expect(await h.table()).toContain(`${A}:80 0`);
    expect(h.logs).toContain("error a listener of the 'down' event threw: listener bug");
  });

  it("what it hands out (events, status(), a custom check's target) is the caller's to change: its own keys and specs stay", async () => {
    const healthy = new Map<string, boolean>();
    h = await harness(seedConfig({
      check: {
        type: 'custom',
        run: (t) => {
          const ok = healthy.get(t.address) ?? true;
          t.destination.weight = 7;
          t.destination.port = 8080;
          if ('port' in t.service) t.service.port = 81;
          return ok;
        },
        intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3, jitterMs: 0,
      },
    }));
    const scribble = (e: { service?: object | undefined; destination?: { port: number } }): void => {
      if (e.service && 'port' in e.service) (e.service as { port: number }).port = 82;
      if (e.destination) e.destination.port = 9;
    };
    for (const type of ['check', 'up', 'down', 'sorry', 'error'] as const) h.checker.on(type, scribble);
    h.checker.on('change', (e) => {
      scribble(e);
      if ('destination' in e.operation && 'weight' in e.operation.destination) e.operation.destination.weight = 5;
    });
    await h.checker.start();
    for (const s of h.checker.status()) {
      (s.service as { port: number }).port = 83;
      for (const d of s.destinations) d.destination.port = 10;
    }
    healthy.set(A, false);
    await h.clock.advance(3000);
    expect(await h.table()).toEqual([`${A}:80 0`, `${B}:80 1`]);
    healthy.set(A, true);
    await h.clock.advance(2000);
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
    const [status] = h.checker.status();
    expect(status!.service).toEqual(SERVICE);
    expect(status!.destinations.map((d) => `${d.destination.address}:${d.destination.port} ${d.weight}`)).toEqual([`${A}:80 2`, `${B}:80 1`]);
    expect(h.logs.filter((l) => l.startsWith('warn') || l.startsWith('error'))).toEqual([expect.stringMatching(/real server 192\.168\.1\.116:80 is DOWN/)]);
  });

  it('off() removes a listener added by once() before it ran, as with Node\'s EventEmitter', async () => {
    h = await harness(seedConfig());
    const seen: string[] = [];
    const listener = (e: TransitionEvent): void => void seen.push(e.destinationId);
    h.checker.once('down', listener).off('down', listener);
    await h.checker.start();
    h.setUp(A, false);
    await h.clock.advance(3000);
    expect(await h.table()).toContain(`${A}:80 0`);
    expect(seen).toEqual([]);
  });

  it('survives an async listener whose promise rejects: logged, not an unhandled rejection', async () => {
    h = await harness(seedConfig());
    h.checker.on('down', async () => {
      await Promise.resolve();
      throw new Error('async listener bug');
    });
    await h.checker.start();
    h.setUp(A, false);
    await h.clock.advance(3000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await h.table()).toContain(`${A}:80 0`);
    expect(h.logs).toContain("error a listener of the 'down' event threw: async listener bug");
  });
});

describe('scheduling and stop', () => {
  const warnings = collectProcessWarnings();

  it('spreads checks with jitter so they do not align', async () => {
    const times = new Map<string, number[]>();
    const clock = new ManualScheduler();
    let r = 0;
    h = await harness(
      {
        ...seedConfig(),
        check: {
          type: 'custom',
          run: (t) => void (times.get(t.address) ?? times.set(t.address, []).get(t.address)!).push(clock.now()),
          intervalMs: 1000,
          jitterMs: 400,
        },
      },
      { scheduler: clock, random: () => [0.1, 0.9][r++ % 2]! },
    );
    await h.checker.start();
    await clock.advance(5000);
    const a = times.get(A)!;
    const b = times.get(B)!;
    expect(a[0]).toBe(0);
    expect(b[0]).toBe(0);
    expect(a[1]).not.toBe(b[1]);
  });

  it('stops cleanly: no timers left, the table left as it is, or the services removed', async () => {
    h = await harness(seedConfig());
    await h.checker.start();
    await h.checker.stop();
    expect(h.clock.size).toBe(0);
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
    const again = new HealthChecker({ ipvs: h.ipvs, config: seedConfig(), scheduler: h.clock });
    await again.start();
    await again.stop({ removeServices: true });
    expect(await h.ipvs.services()).toEqual([]);
    await expect(again.start()).rejects.toMatchObject({ name: 'IpvsError', code: 'EINVALIDSTATE', message: expect.stringMatching(/cannot start/) });
  });

  /** The harness's client, with one method held at a gate the test opens. */
  function gated(method: 'execute' | 'service'): { client: HealthClient; bind: (ipvs: Ipvs) => void; arm: () => Promise<void>; open: () => void } {
    let ipvs!: Ipvs;
    let armed: (() => void) | undefined;
    let release: (() => void) | undefined;
    const wait = async (): Promise<void> => {
      if (!armed) return;
      const reached = armed;
      armed = undefined;
      await new Promise<void>((r) => {
        release = r;
        reached();
      });
    };
    const client: HealthClient = {
      services: (o) => ipvs.services(o),
      service: async (k, o) => (method === 'service' && (await wait()), ipvs.service(k, o)),
      addService: (spec, o) => ipvs.addService(spec, o),
      deleteService: (k, o) => ipvs.deleteService(k, o),
      destinations: (k, o) => ipvs.destinations(k, o),
      execute: async (ops, o) => (method === 'execute' && (await wait()), ipvs.execute(ops, o)),
    };
    return {
      client,
      bind: (inner) => void (ipvs = inner),
      arm: () => new Promise<void>((r) => (armed = r)),
      open: () => release!(),
    };
  }
  const turns = async (n = 20): Promise<void> => {
    for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
  };

  it('stop() during start-up waits for it, and nothing reaches the table once it has resolved', async () => {
    const gate = gated('execute');
    h = await harness(seedConfig(), { ipvs: gate.client, before: async (inner) => gate.bind(inner) });
    const order: string[] = [];
    const reached = gate.arm(); // the first execute(): start-up creating the service
    const started = h.checker.start().then(() => order.push('start resolved'), (e: Error) => order.push(`start rejected: ${e.message}`));
    await reached;
    const stopped = h.checker.stop({ removeServices: true }).then(() => order.push('stop resolved'));
    const again = h.checker.stop().then(() => order.push('second stop resolved'));
    await turns();
    expect(order).toEqual([]); // the creation is under way: stop() waits for it
    gate.open();
    await Promise.all([started, stopped, again]);
    expect(order).toEqual(['start resolved', 'stop resolved', 'second stop resolved']);
    const requests = h.kernel.requests.length;
    expect(await h.ipvs.services()).toEqual([]);
    await h.clock.advance(60_000);
    await turns();
    expect(h.kernel.requests.length).toBe(requests + 1); // the services() just above, nothing else
    expect(h.logs.filter((l) => /is up|is DOWN|checking|missing/.test(l))).toEqual([]); // start-up went no further
  });

  it('does not re-create a deleted service while it stops', async () => {
    const gate = gated('service');
    h = await harness(seedConfig(), { ipvs: gate.client, before: async (inner) => gate.bind(inner), resyncIntervalMs: 10_000 });
    await h.checker.start();
    await h.ipvs.deleteService(SERVICE); // someone deletes it
    const reached = gate.arm();
    await h.clock.advance(10_000); // the resync reads the table: held at the gate
    await reached;
    const stopped = h.checker.stop();
    gate.open();
    await stopped;
    expect(await h.ipvs.services()).toEqual([]);
    expect(h.logs.filter((l) => l.includes('added it again'))).toEqual([]);
  });

  it('checks more than ten servers at once without a MaxListenersExceededWarning on its stop signal', async () => {
    const destinations = Array.from({ length: 12 }, (_, i) => ({ address: `10.0.0.${i + 1}` }));
    // Checks that end only at their timeout: all twelve are in flight together.
    h = await harness({ services: [{ ...SERVICE, scheduler: 'rr', destinations }], check: { type: 'custom', run: () => new Promise(() => {}), timeoutMs: 500, jitterMs: 0 } });
    const started = h.checker.start();
    await turns();
    await h.clock.advance(500);
    await started;
    await turns();
    expect(warnings().filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('reports a status snapshot', async () => {
    h = await harness(seedConfig());
    h.setUp(B, false);
    await h.checker.start();
    const [svc] = h.checker.status();
    expect(svc!.serviceId).toBe('tcp 192.168.1.110:80');
    expect(svc!.destinations.map((d) => `${d.destinationId} ${d.status} w${d.weight}`)).toEqual([`${A}:80 up w2`, `${B}:80 down w1`]);
    expect(svc!.sorryActive).toBe(false);
  });
});

describe('an update of a destination the table holds otherwise', () => {
  it('names what it changes, not only the weight (review 19)', async () => {
    const h = await harness(seedConfig(), {
      before: async (ipvs) => {
        await ipvs.addService({ ...SERVICE, scheduler: 'rr' });
        await ipvs.addDestination(SERVICE, { address: '192.168.1.116', forwarding: 'masq', weight: 2, upperThreshold: 50 });
      },
    });
    try {
      await h.checker.start();
      const changes = h.events.filter((e) => e.type === 'change').map((e) => e.text);
      expect(changes).toContain('tcp 192.168.1.110:80: set 192.168.1.116:80 to its configured options (forwarding masq -> route, upper threshold 50 -> 0)');
    } finally {
      await h.close();
    }
  });
});

describe('await using', () => {
  it('stops the checker when its block ends, leaving the table as it is (review 19)', async () => {
    const h = await harness(seedConfig());
    try {
      {
        await using checker = h.checker;
        await checker.start();
        expect(h.clock.size).toBeGreaterThan(0);
      }
      expect(h.clock.size).toBe(0);
      expect(await h.table()).toEqual(['192.168.1.116:80 2', '192.168.1.117:80 1']);
    } finally {
      await h.close();
    }
  });
});
