// Log lines of a long-running command (`ipvs health`) written to a stream that may stop being read
// without being closed: a pipe to a pager left on one screen, a log shipper that hangs. Node buffers
// whatever such a stream is given, without limit, and never blocks the writer; so while the stream says
// it is full (write() returned false, until its 'drain' event) the lines that come by the dozen (each
// check's result, with -v) are dropped, the others are still written up to STALLED_LINES_KEPT, and once it
// drains one line says how many were dropped. The checker itself never waits for its log. A stream that
// fails (its reader gone: EPIPE) is told to `failed` once, and every later line is the caller's to send
// elsewhere (`gone`).

import type { TextSink } from './context.js';

/** Lines still written while the stream is not draining (transitions, changes, warnings), past which they are dropped too. */
export const STALLED_LINES_KEPT = 1000;

/** A sink that can say it is full: write() returns false, and 'drain' is emitted once it is not. */
interface DrainingSink extends TextSink {
  once(event: 'drain', listener: () => void): unknown;
}

/** A stream that emits 'error' when a write fails. */
interface FailingSink extends TextSink {
  on(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'error', listener: (err: Error) => void): unknown;
}

const canDrain = (sink: TextSink): sink is DrainingSink => typeof (sink as { once?: unknown }).once === 'function';
const canFail = (sink: TextSink): sink is FailingSink => typeof (sink as { on?: unknown }).on === 'function' && typeof (sink as { off?: unknown }).off === 'function';

export interface LineWriter {
  /** Write a whole line (its newline included); `droppable` lines go first while the stream is full. Nothing once it is gone. */
  write(line: string, droppable: boolean): void;
  /** The stream failed (its reader went away): nothing is written to it any more. */
  readonly gone: boolean;
  /** Stop listening to the stream's errors (a run inside a longer-lived program must not keep its listener). */
  dispose(): void;
}

/**
 * `dropped(n)` is the line (newline included) written once the stream drains after n lines were dropped;
 * `failed(err)` is called once, when the stream fails.
 */
export function lineWriter(sink: TextSink, dropped: (n: number) => string, failed: (err: Error) => void = () => {}): LineWriter {
  let stalled = false;
  let keptWhileStalled = 0;
  let droppedCount = 0;
  let gone = false;
  const onError = (err: Error): void => {
    if (gone) return;
    gone = true;
    failed(err);
  };
  if (canFail(sink)) sink.on('error', onError);
  const send = (line: string): void => {
    if (gone) return;
    if (sink.write(line) !== false || !canDrain(sink) || stalled) return;
    stalled = true;
    sink.once('drain', () => {
      stalled = false;
      keptWhileStalled = 0;
      const n = droppedCount;
      droppedCount = 0;
      if (n > 0) send(dropped(n));
    });
  };
  return {
    get gone() {
      return gone;
    },
    dispose() {
      if (canFail(sink)) sink.off('error', onError);
    },
    write(line, droppable) {
      if (gone) return;
      if (stalled) {
        if (droppable || keptWhileStalled >= STALLED_LINES_KEPT) {
          droppedCount++;
          return;
        }
        keptWhileStalled++;
      }
      send(line);
    },
  };
}
