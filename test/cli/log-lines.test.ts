// lineWriter: lines to a stream that stops draining are dropped (droppable ones first, the rest past
// STALLED_LINES_KEPT) and counted in one line once it drains; a sink without 'drain' is written as is.

import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { lineWriter, STALLED_LINES_KEPT } from '../../src/cli/log-lines.js';

function stalledSink(): EventEmitter & { full: boolean; lines: string[]; write(text: string): boolean } {
  const sink = Object.assign(new EventEmitter(), { full: true, lines: [] as string[] });
  return Object.assign(sink, { write: (text: string) => (sink.lines.push(text), !sink.full) });
}

describe('lineWriter', () => {
  it('bounds what it hands a stalled stream, and counts what it dropped once the stream drains', () => {
    const sink = stalledSink();
    const w = lineWriter(sink, (n) => `dropped ${n}\n`);
    w.write('first\n', true); // written: the stream said full only in answer to it
    for (let i = 0; i < 5000; i++) w.write(`check ${i}\n`, true);
    for (let i = 0; i < STALLED_LINES_KEPT + 10; i++) w.write(`change ${i}\n`, false);
    expect(sink.lines).toHaveLength(1 + STALLED_LINES_KEPT);
    expect(sink.lines.filter((l) => l.startsWith('check'))).toEqual([]);
    expect(sink.listenerCount('drain')).toBe(1);
    sink.full = false;
    sink.emit('drain');
    expect(sink.lines.at(-1)).toBe('dropped 5010\n');
    w.write('check again\n', true);
    expect(sink.lines.at(-1)).toBe('check again\n');
    expect(sink.listenerCount('drain')).toBe(0);
  });

  it('stalls again if the note itself fills the stream, and writes a sink that cannot drain as it is', () => {
    const sink = stalledSink();
    const w = lineWriter(sink, (n) => `dropped ${n}\n`);
    w.write('a\n', true);
    w.write('b\n', true);
    sink.emit('drain'); // still full: the note fills it again
    expect(sink.lines).toEqual(['a\n', 'dropped 1\n']);
    w.write('c\n', true);
    expect(sink.lines).toHaveLength(2);
    const plain: string[] = [];
    const p = lineWriter({ write: (t: string) => (plain.push(t), false) }, () => 'never\n');
    for (let i = 0; i < 3; i++) p.write(`${i}\n`, true);
    expect(plain).toEqual(['0\n', '1\n', '2\n']);
  });
});
