// Time for the health checker, injectable: every wait (intervals, timeouts, retries, resyncs) goes
// through a HealthScheduler, so tests drive hours of checking in microseconds with ManualScheduler and the
// outcome never depends on how busy the machine is. systemScheduler is the real clock.

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
export const systemScheduler: HealthScheduler = {
  now: () => performance.now(),
  schedule(ms, fn) {
    const handle = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(handle) };
  },
};

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told. advance(ms) runs every callback that falls due, in time order,
 * letting promises and I/O callbacks (such as the fake kernel's replies) run between them.
 */
export class ManualScheduler implements HealthScheduler {
  private time: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  schedule(ms: number, fn: () => void): Timer {
    const p: Pending = { at: this.time + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.pending.push(p);
    return { cancel: () => (p.cancelled = true) };
  }

  /** Callbacks waiting to run. */
  get size(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }

  /** Move the clock forward by `ms`, running what falls due (and what that schedules, if due too). */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    await settle();
    for (;;) {
      this.pending = this.pending.filter((p) => !p.cancelled);
      let next: Pending | undefined;
      for (const p of this.pending) if (p.at <= until && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      if (!next) break;
      this.pending.splice(this.pending.indexOf(next), 1);
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
