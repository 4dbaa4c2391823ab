// The bound on checks in flight: a check takes a slot before it opens anything and gives it back when it
// has its result (its timeout included, so a hung server holds a slot no longer than a check lasts).
// Checks beyond the bound wait their turn in the order they asked; their timeout starts once they run, so
// waiting never fails a check. Without it every server was checked at once at start (and whenever many
// intervals lined up): past the process's limit on open files the checks failed with EMFILE.

export class CheckSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  private head = 0;

  constructor(readonly size: number) {
    this.free = size;
  }

  /** Resolves with the function that gives the slot back (once; a second call does nothing). */
  async take(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.give();
    };
  }

  private give(): void {
    const next = this.waiting[this.head];
    if (next === undefined) {
      this.free++;
      this.waiting.length = 0;
      this.head = 0;
      return;
    }
    // The slot passes straight to the next waiter; the queue is compacted now and then, not shifted each time.
    this.waiting[this.head++] = undefined as unknown as () => void;
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    next();
  }
}
