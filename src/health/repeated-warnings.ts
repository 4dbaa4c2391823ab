// The memory that keeps a warning which repeats from flooding the log: the first time it is a warning, every
// repeat within REPEAT_WARNING_MS a debug line, and after that a warning again naming how often it came
// meanwhile. Warnings are told apart by their text, which a custom HealthClient may make unique (a
// timestamp or a counter in its error messages): the memory keeps the REMEMBERED_WARNINGS most recently
// seen and forgets the oldest, so it stays small whatever the texts; a forgotten one is simply new again.

/** A warning logged once is logged again at most this often while it repeats (at debug level meanwhile). */
export const REPEAT_WARNING_MS = 10 * 60_000;

/** Distinct warnings remembered per memory: more than one service's sync can produce in a row. */
export const REMEMBERED_WARNINGS = 16;

/** What to do with a warning: log it (with `since` appended), or log it at debug level as a repeat. */
export type WarningVerdict = { repeat: false; since: string } | { repeat: true };

export class RepeatedWarnings {
  private readonly seen = new Map<string, { at: number; repeats: number }>();

  /** `noun` names the thing repeated in the texts it writes ('failure': "the same failure 3 more times ..."). */
  constructor(private readonly noun: string) {}

  /** Note a warning with this text at `now` (ms). */
  note(text: string, now: number): WarningVerdict {
    const seen = this.seen.get(text);
    // Re-inserted at every sight: the map's order is the order of last sight, the first the one to forget.
    this.seen.delete(text);
    if (seen && now - seen.at < REPEAT_WARNING_MS) {
      this.seen.set(text, { at: seen.at, repeats: seen.repeats + 1 });
      return { repeat: true };
    }
    if (this.seen.size >= REMEMBERED_WARNINGS) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(text, { at: now, repeats: 0 });
    const n = seen?.repeats ?? 0;
    const since = n > 0 ? ` (the same ${this.noun} ${n} more ${n === 1 ? 'time' : 'times'} since this warning ${Math.round((now - seen!.at) / 60_000)} min ago)` : '';
    return { repeat: false, since };
  }

  /** The debug line's note on a repeat. */
  repeatNote(): string {
    return ` (the same ${this.noun} again: warned at most every ${REPEAT_WARNING_MS / 60_000} min)`;
  }

  /** How many texts are remembered (for tests). */
  get size(): number {
    return this.seen.size;
  }

  clear(): void {
    this.seen.clear();
  }
}
