// The checker's own resources: a check that fails because the checker ran short (out of file descriptors,
// EMFILE; memory, ports, ...) is no verdict on the server and changes nothing, and the checker does not run
// more checks at once than its bound (maxChecksInFlight), so it does not make that shortage itself. On the
// fake kernel with the manual clock; the error is injected through a custom check. A real one, under
// `ulimit -n 64` with real TCP and HTTP checks, is in own-resources-real.test.ts.

import { afterEach, describe, expect, it } from 'vitest';
import type { CheckFunction, UncheckedEvent } from '../../src/health/index.js';
import { harness, seedConfig, type Harness } from './harness.js';

const A = '192.168.1.116';
const B = '192.168.1.117';
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

const emfile = (): Error => Object.assign(new Error('connect EMFILE 192.168.1.117:80 - Local (undefined:undefined)'), { code: 'EMFILE', errno: -24 });

/** A custom check each server's answer of which a test sets: true, false, or 'EMFILE' (the check throws it). */
function switchboard(): { run: CheckFunction; set(address: string, answer: boolean | 'EMFILE'): void; calls: Map<string, number> } {
  const answers = new Map<string, boolean | 'EMFILE'>();
  const calls = new Map<string, number>();
  return {
    calls,
    set: (address, answer) => answers.set(address, answer),
    run: (t) => {
      calls.set(t.address, (calls.get(t.address) ?? 0) + 1);
      const answer = answers.get(t.address) ?? true;
      if (answer === 'EMFILE') throw emfile();
      return answer;
    },
  };
}

const check = (run: CheckFunction, intervalMs = 10_000) => ({ type: 'custom' as const, name: 'probe', run, intervalMs, timeoutMs: 500, rise: 2, fall: 3, jitterMs: 0 });

describe('a check that fails for want of something of the checker itself', () => {
  it('does not count toward fall and leaves the weight: the server stays up however many such checks fail; real failures still count', async () => {
    const sw = switchboard();
    h = await harness({ ...seedConfig(), check: check(sw.run, 1000) });
    const unchecked: UncheckedEvent[] = [];
    h.checker.on('unchecked', (e) => unchecked.push(e));
    await h.checker.start();
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
    sw.set(B, 'EMFILE');
    await h.clock.advance(20_000);
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
    expect(h.events.filter((e) => e.type === 'down')).toEqual([]);
    const b = h.checker.status()[0]!.destinations.find((d) => d.destinationId === `${B}:80`)!;
    expect(b.status).toBe('up');
    expect(b.consecutive).toBe(1); // its one good check at start: the failures that did not run are not counted
    expect(unchecked.length).toBeGreaterThanOrEqual(10);
    expect(unchecked[0]).toMatchObject({
      destinationId: `${B}:80`,
      code: 'EMFILE',
      status: 'up',
      result: { ok: false, detail: 'the checker process has too many open files (EMFILE): raise its limit (ulimit -n, LimitNOFILE=)' },
    });
    // One warning for the burst, not one a check.
    const warnings = h.logs.filter((l) => l.startsWith('warn '));
    expect(warnings).toEqual([
      `warn checks could not run: the checker process has too many open files (EMFILE): raise its limit (ulimit -n, LimitNOFILE=); no server's state changes for that, and each such check is tried again within 1000 ms, then at longer waits up to its interval; for example tcp 192.168.1.110:80: ${B}:80`,
    ]);

    // rise/fall as before: two real failures, a check that could not run, one more real failure: down (3 in a row).
    sw.set(B, false);
    await h.clock.advance(2000);
    sw.set(B, 'EMFILE');
    await h.clock.advance(1000);
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
    sw.set(B, false);
    await h.clock.advance(1000);
    expect(h.events.filter((e) => e.type === 'down').map((e) => e.text)).toEqual([`${B}:80`]);
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 0`]);
  });

  it("status() shows a server whose checks cannot run; once they run again for a quiet minute the log says so, and a new burst is a warning again", async () => {
    const sw = switchboard();
    h = await harness({ ...seedConfig(), check: check(sw.run, 1000) });
    await h.checker.start();
    sw.set(B, 'EMFILE');
    await h.clock.advance(5000);
    const of = (id: string) => h!.checker.status()[0]!.destinations.find((d) => d.destinationId === `${id}:80`)!;
    // Its status and lastResult are those of its last check that ran; `unchecked` says why nothing newer is known.
    expect(of(B)).toMatchObject({
      status: 'up',
      lastResult: { ok: true },
      unchecked: { count: 5, code: 'EMFILE', result: { ok: false, detail: 'the checker process has too many open files (EMFILE): raise its limit (ulimit -n, LimitNOFILE=)' } },
    });
    expect(of(A)).not.toHaveProperty('unchecked');
    const warnings = () => h!.logs.filter((l) => l.startsWith('warn checks could not run'));
    const resumed = () => h!.logs.filter((l) => l.includes('checks run again'));
    expect(warnings()).toHaveLength(1);
    sw.set(B, true);
    await h.clock.advance(1000);
    expect(of(B)).not.toHaveProperty('unchecked');
    expect(resumed()).toEqual([]); // not before a quiet minute: a shortage that comes and goes must not flap the log
    await h.clock.advance(59_000);
    expect(resumed()).toEqual([]);
    await h.clock.advance(1000);
    expect(resumed()).toEqual(['info checks run again: every check that could not run has run, and none has failed for want of the checker\'s own resources for 60 s (5 could not run since the warning)']);
    // A new shortage is a warning again, not a debug line under the old one.
    sw.set(B, 'EMFILE');
    await h.clock.advance(1000);
    expect(warnings()).toHaveLength(2);
    // Coming and going faster than the quiet minute: no further line either way.
    for (let i = 0; i < 20; i++) {
      sw.set(B, true);
      await h.clock.advance(2000);
      sw.set(B, 'EMFILE');
      await h.clock.advance(1000);
    }
    expect(warnings()).toHaveLength(2);
    expect(resumed()).toHaveLength(1);
  });

  it('at start leaves the server unknown and the table untouched, and its first check that runs decides, soon', async () => {
    const sw = switchboard();
    sw.set(B, 'EMFILE');
    h = await harness({ ...seedConfig(), check: check(sw.run, 10_000) });
    await h.checker.start();
    // Not quiesced at weight 0 (the old verdict, 'down'), and no sorry server: B is not known to be down.
    expect(await h.table()).toEqual([`${A}:80 2`]);
    expect(h.checker.status()[0]!.destinations.map((d) => d.status)).toEqual(['up', 'unknown']);
    expect(h.events.filter((e) => e.type === 'down')).toEqual([]);
    sw.set(B, true);
    // Tried again after 1 s, not after its 10 s interval.
    await h.clock.advance(1000);
    expect(await h.table()).toEqual([`${A}:80 2`, `${B}:80 1`]);
    expect(h.events.filter((e) => e.type === 'up').map((e) => e.text)).toEqual([`${A}:80`, `${B}:80`]);
  });

  it('is tried again at doubling waits up to the interval while the shortage lasts, and at the interval once it is over', async () => {
    const sw = switchboard();
    h = await harness({ ...seedConfig(), check: check(sw.run, 10_000) });
    await h.checker.start();
    sw.set(B, 'EMFILE');
    const at: number[] = [];
    h.checker.on('unchecked', () => at.push(h!.clock.now()));
    await h.clock.advance(10_000 + 1000 + 2000 + 4000 + 8000 + 10_000 + 10_000);
    expect(at).toEqual([10_000, 11_000, 13_000, 17_000, 25_000, 35_000, 45_000]);
    sw.set(B, true);
    const calls = sw.calls.get(B)!;
    await h.clock.advance(9999);
    expect(sw.calls.get(B)).toBe(calls);
    await h.clock.advance(1);
    expect(sw.calls.get(B)).toBe(calls + 1);
    // It ran: the backoff is over, the next check comes after the interval.
    await h.clock.advance(9999);
    expect(sw.calls.get(B)).toBe(calls + 1);
    await h.clock.advance(1);
    expect(sw.calls.get(B)).toBe(calls + 2);
  });

  it('spreads the retries of a burst over the second half of the wait, whatever jitterMs', async () => {
    const sw = switchboard();
    h = await harness({ ...seedConfig(), check: check(sw.run, 10_000) }, { random: () => 0.5 });
    await h.checker.start();
    sw.set(B, 'EMFILE');
    const at: number[] = [];
    h.checker.on('unchecked', () => at.push(h!.clock.now()));
    // The first check after start's comes at the same point of the interval (0.5 of it: servers' checks are spread).
    await h.clock.advance(5000 + 750 + 1500);
    expect(at).toEqual([5000, 5750, 7250]);
  });
});

describe('maxChecksInFlight', () => {
  /** A check that stays in flight until the next turn of the event loop, counting how many are in flight at once. */
  function counting(): { run: CheckFunction; peak: () => number; total: () => number } {
    let inFlight = 0;
    let peak = 0;
    let total = 0;
    return {
      run: async () => {
        inFlight++;
        total++;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        return true;
      },
      peak: () => peak,
      total: () => total,
    };
  }

  const many = (n: number) => Array.from({ length: n }, (_, i) => ({ address: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`, forwarding: 'route' as const }));

  it('bounds the checks in flight at start and when every interval lines up, and every server comes up', async () => {
    const c = counting();
    h = await harness({ ...seedConfig({ destinations: many(60), sorryServer: undefined }), check: check(c.run, 1000), maxChecksInFlight: 8 });
    await h.checker.start();
    expect(c.peak()).toBe(8);
    expect(h.checker.status()[0]!.destinations.every((d) => d.status === 'up')).toBe(true);
    expect(await h.table()).toHaveLength(60);
    // jitterMs 0: all 60 checks fall due at the same instants.
    await h.clock.advance(5000);
    expect(c.total()).toBeGreaterThan(60 * 3);
    expect(c.peak()).toBe(8);
  });

  it("starts a waiting check's timeout when it runs, not when it queues: waiting never fails a check", async () => {
    h = await harness({
      ...seedConfig(),
      maxChecksInFlight: 1,
      check: { type: 'custom', run: () => new Promise<boolean>((resolve) => h!.clock.schedule(400, () => resolve(true))), intervalMs: 10_000, timeoutMs: 500, jitterMs: 0 },
    });
    const started = h.checker.start();
    await h.clock.advance(400);
    await h.clock.advance(400);
    await started;
    expect(h.checker.status()[0]!.destinations.map((d) => `${d.destinationId} ${d.status} ${d.lastResult?.detail}`)).toEqual([
      `${A}:80 up custom check passed`,
      `${B}:80 up custom check passed`,
    ]);
  });

  it('a stop while checks wait for a slot ends them at once', async () => {
    h = await harness({
      ...seedConfig({ destinations: many(20), sorryServer: undefined }),
      maxChecksInFlight: 2,
      check: { type: 'custom', run: (_t, signal) => new Promise<boolean>((resolve) => signal.addEventListener('abort', () => resolve(false))), intervalMs: 10_000, timeoutMs: 60_000 },
    });
    void h.checker.start();
    await h.clock.advance(10);
    await h.checker.stop();
    expect(await h.table()).toEqual([]);
  });
});
