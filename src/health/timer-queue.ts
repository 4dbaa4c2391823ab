// The pending callbacks of ManualScheduler, earliest first: a binary heap ordered by due time, then by the
// order they were scheduled in. The clock used to search a list of every pending callback for the next one
// due, and filter it, once per callback run: a checker of 4 000 servers keeps some 4 000 timers pending, so
// an interval of its checks cost 4 000 searches of 4 000 (a tenth of such a test's CPU, growing with the
// square of its servers). Cancelled entries are left in place and skipped when they come to the top; when
// they outnumber the live ones the heap is rebuilt without them, so timers scheduled and cancelled again and
// again (each check's timeout) cannot pile up.

export interface QueuedTimer {
  /** When it falls due (a number, never NaN: ManualScheduler keeps those apart). */
  at: number;
  /** Scheduling order: equal times run in it. */
  seq: number;
  fn: () => void;
  /** Taken out by popDue() it is 'ran': cancelling it then does nothing. */
  state: 'queued' | 'ran' | 'cancelled';
}

export class TimerQueue {
  private heap: QueuedTimer[] = [];
  private cancelledCount = 0;

  /** Timers neither run nor cancelled. */
  get size(): number {
    return this.heap.length - this.cancelledCount;
  }

  push(t: QueuedTimer): void {
    this.heap.push(t);
    this.up(this.heap.length - 1);
  }

  /** Cancel `t`, unless it ran or was cancelled already. */
  cancel(t: QueuedTimer): void {
    if (t.state !== 'queued') return;
    t.state = 'cancelled';
    this.cancelledCount++;
    if (this.cancelledCount > 64 && this.cancelledCount * 2 > this.heap.length) this.rebuild();
  }

  /** Take the earliest live timer if it is due by `until`. */
  popDue(until: number): QueuedTimer | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return undefined;
      if (top.state === 'cancelled') {
        this.removeTop();
        this.cancelledCount--;
        continue;
      }
      if (!(top.at <= until)) return undefined;
      this.removeTop();
      top.state = 'ran';
      return top;
    }
  }

  /** Whether `a` runs before `b`. */
  before(a: QueuedTimer, b: QueuedTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private removeTop(): void {
    const last = this.heap.pop()!;
    if (this.heap.length === 0) return;
    this.heap[0] = last;
    this.down(0);
  }

  private rebuild(): void {
    this.heap = this.heap.filter((t) => t.state === 'queued');
    this.cancelledCount = 0;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i]!, h[parent]!)) return;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let first = i;
      if (l < h.length && this.before(h[l]!, h[first]!)) first = l;
      if (r < h.length && this.before(h[r]!, h[first]!)) first = r;
      if (first === i) return;
      [h[i], h[first]] = [h[first]!, h[i]!];
      i = first;
    }
  }
}
