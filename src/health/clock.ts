// Time for the health checker, injectable: every wait (intervals, timeouts, retries, resyncs) goes
// through a HealthScheduler, so tests drive hours of checking in microseconds with ManualScheduler and the
// outcome never depends on how busy the machine is. systemScheduler is the real clock.

import { TimerQueue, type QueuedTimer } from './timer-queue.js';

/** A pending callback; cancel() is safe to call more than once and after it ran. */
export interface Timer {
  cancel(): void;
}

export interface HealthScheduler {
  /** Milliseconds on a monotonic-enough clock. */
  now(): number;
  /** Call `fn` once, `ms` from now. */
  schedule(ms: number, fn: () => void): Timer;
}

/** Real time: performance.now() and setTimeout. */
export const systemScheduler: HealthScheduler = Object.freeze<HealthScheduler>({
  now: () => performance.now(),
  schedule(ms, fn) {
    const handle = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(handle) };
  },
});

/**
 * A clock that moves only when told. advance(ms) runs every callback that falls due, in time order,
 * letting promises and I/O callbacks (such as the fake kernel's replies) run between them.
 */
export class ManualScheduler implements HealthScheduler {
  private time: number;
  private seq = 0;
  private readonly queue = new TimerQueue();
  /** Callbacks of a NaN wait: pending for good (NaN compares false with every time), kept out of the heap's order. */
  private readonly never = new Set<() => void>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  schedule(ms: number, fn: () => void): Timer {
    const at = this.time + Math.max(0, ms);
    // A NaN wait never falls due, not even at advance(Infinity) (as an Infinity one does): it waits apart.
    if (Number.isNaN(at)) {
      const entry = (): void => fn();
      this.never.add(entry);
      return { cancel: () => void this.never.delete(entry) };
    }
    const t: QueuedTimer = { at, seq: this.seq++, fn, state: 'queued' };
    this.queue.push(t);
    return { cancel: () => this.queue.cancel(t) };
  }

  /** Callbacks waiting to run. */
  get size(): number {
    return this.queue.size + this.never.size;
  }

  /** Move the clock forward by `ms`, running what falls due (and what that schedules, if due too). */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    await settle();
    for (;;) {
      const next = this.queue.popDue(until);
      if (!next) break;
      this.time = Math.max(this.time, next.at);
      next.fn();
      await settle();
    }
    this.time = until;
  }
}

/** Let queued promise callbacks and immediates (I/O completions of in-memory transports) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
