// ManualScheduler, the clock of tests: callbacks run in time order (equal times in scheduling order), and its
// cost per callback stays logarithmic in the callbacks pending, so a test of thousands of servers (a timer
// each, and a timeout timer per check) runs in time linear in the checks. It searched every pending callback
// for each one it ran: 4 000 servers' interval was 16 million steps, growing with the square of the servers.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualScheduler } from '../../src/health/index.js';
import { TimerQueue } from '../../src/health/timer-queue.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('ManualScheduler', () => {
  it('runs due callbacks in time order, equal times in the order scheduled, and those scheduled meanwhile if due', async () => {
    const clock = new ManualScheduler(100);
    const seen: string[] = [];
    clock.schedule(30, () => seen.push(`c@${clock.now()}`));
    clock.schedule(10, () => {
      seen.push(`a@${clock.now()}`);
      clock.schedule(5, () => seen.push(`a2@${clock.now()}`));
      clock.schedule(500, () => seen.push('late'));
    });
    clock.schedule(10, () => seen.push(`b@${clock.now()}`));
    const cancelled = clock.schedule(20, () => seen.push('cancelled'));
    clock.schedule(Number.NaN, () => seen.push('never'));
    cancelled.cancel();
    cancelled.cancel();
    expect(clock.size).toBe(4);
    await clock.advance(50);
    expect(seen).toEqual(['a@110', 'b@110', 'a2@115', 'c@130']);
    expect(clock.now()).toBe(150);
    expect(clock.size).toBe(2); // 'late' and the NaN one, which never falls due
    await clock.advance(10_000);
    expect(seen.at(-1)).toBe('late');
    expect(clock.size).toBe(1);
  });

  it('a NaN wait never falls due, not even when the clock is moved by Infinity (as before the heap); cancelled, it is gone', async () => {
    const clock = new ManualScheduler();
    const seen: string[] = [];
    const never = clock.schedule(Number.NaN, () => seen.push('never'));
    clock.schedule(Infinity, () => seen.push('at the end of time'));
    await clock.advance(Infinity);
    expect(seen).toEqual(['at the end of time']);
    expect(clock.size).toBe(1);
    never.cancel();
    never.cancel();
    expect(clock.size).toBe(0);
  });

  it('cancel() after the callback ran does nothing, and a cancelled timer leaves the count', async () => {
    const clock = new ManualScheduler();
    let runs = 0;
    const t = clock.schedule(1, () => runs++);
    await clock.advance(1);
    t.cancel();
    expect(runs).toBe(1);
    expect(clock.size).toBe(0);
    const timers = Array.from({ length: 1000 }, () => clock.schedule(60_000, () => runs++));
    for (const x of timers.slice(0, 999)) x.cancel();
    expect(clock.size).toBe(1);
    await clock.advance(60_000);
    expect(runs).toBe(2);
  });

  it("costs a logarithmic number of comparisons per callback, not a search of every one pending (1 000 servers' checks)", async () => {
    const compare = vi.spyOn(TimerQueue.prototype, 'before');
    const clock = new ManualScheduler();
    const servers = 1000;
    let runs = 0;
    // As the checker does: each server's check schedules its timeout, cancels it when the check ends, and
    // schedules the next check an interval (and some jitter) later.
    const check = (i: number): void => {
      runs++;
      const timeout = clock.schedule(2000, () => {});
      timeout.cancel();
      clock.schedule(5000 + ((i * 7919) % 500), () => check(i));
    };
    for (let i = 0; i < servers; i++) clock.schedule((i * 104729) % 5000, () => check(i));
    await clock.advance(2 * 5500);
    expect(runs).toBeGreaterThanOrEqual(2 * servers);
    // A heap of some 1 000 entries: a push and a pop are each within 2 x 10 comparisons. A search of every
    // pending timer per callback was over 1 000.
    expect(compare.mock.calls.length / runs).toBeLessThan(60);
    expect(clock.size).toBe(servers);
  });
});
