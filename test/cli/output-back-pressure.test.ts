// A numeric listing (`ipvs -Sn`, `-Ln`, `-Lnc`) written to a stream that cannot keep up: it reads the table at the
// pace the reader takes the text, instead of reading it all and holding the whole output in the stream's
// buffer; and a reader gone (the stream failed, as a pipe whose reader exited: `ipvs -Sn | head -1`) ends
// the listing without reading the rest of the table.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { connectionRow, connectionTitle, parseConnectionLine } from '../../src/cli/connections.js';
import { runCli } from '../../src/cli/run.js';
import { Ipvs } from '../../src/client.js';
import type { FakeKernel } from '../../src/testing/index.js';
import { firstChunk, slowReader } from '../helpers/slow-reader.js';

const SERVICES = 4000;

const turn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Event-loop turns until the kernel gets no more requests for 100 of them (the listing waits, or is done). */
async function quiet(kernel: FakeKernel): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    const before = kernel.requests.length;
    for (let j = 0; j < 100; j++) await turn();
    if (kernel.requests.length === before) return;
  }
}

describe('a numeric listing written to a slow or closed stream', () => {
  it('reads the table at the pace the stream takes the text', async () => {
    const { kernel, stdout, written, release } = await slowReader(SERVICES);
    const stderr: string[] = [];
    const run = runCli(['-Sn'], { ipvs: () => Ipvs.open({ transport: kernel.transport() }), stdout, stderr: { write: (s: string) => stderr.push(s) } });
    await firstChunk(written);
    await quiet(kernel);
    // A chunk written and waiting: the services' listing and about a chunk's worth of destinations read.
    const readWhileStalled = kernel.requests.length;
    expect(written()).toBeGreaterThan(0);
    expect(readWhileStalled).toBeLessThan(SERVICES / 2);
    release();
    expect(await run).toBe(0);
    expect(kernel.requests.length).toBe(SERVICES + 3); // the family, GET_INFO, the services, each one's destinations
    expect(stderr).toEqual([]);
  });

  it('ends when the stream fails (its reader gone), the rest of the table unread', async () => {
    const { kernel, stdout, written } = await slowReader(SERVICES);
    stdout.on('error', () => {});
    const run = runCli(['-Sn'], { ipvs: () => Ipvs.open({ transport: kernel.transport() }), stdout, stderr: { write: () => {} } });
    await firstChunk(written);
    stdout.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(await run).toBe(1);
    expect(kernel.requests.length).toBeLessThan(SERVICES / 2);
  });
});

describe('the connection table (-Lnc) written to a slow stream', () => {
  it('is read from its file at the pace the stream takes the text, and printed whole once it does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipvs-conn-'));
    const path = join(dir, 'ip_vs_conn');
    const line = 'TCP 0A000001 D431 C0A8016E 0050 C0A80174 0050 ESTABLISHED     895\n';
    const LINES = 20_000;
    writeFileSync(path, 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n' + line.repeat(LINES));
    try {
      let bytes = 0;
      let held: (() => void)[] | undefined = [];
      const chunks: Buffer[] = [];
      const stdout = new Writable({
        highWaterMark: 16 * 1024,
        write(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          chunks.push(chunk);
          if (held === undefined) callback();
          else held.push(() => callback());
        },
      });
      let ended = false;
      const run = runCli(['-Lnc'], { stdout, stderr: { write: () => {} }, procConnPath: path }).finally(() => (ended = true));
      // The file is read in libuv's thread pool: its first chunk may take longer than any count of turns on a
      // loaded machine (2 000 turns were too few beside a kernel sandbox run), so the wait is bounded by time.
      const deadline = performance.now() + 20_000;
      while (bytes === 0 && performance.now() < deadline) await turn();
      for (let i = 0; i < 200; i++) await turn();
      expect(bytes).toBeGreaterThan(0);
      expect(ended).toBe(false);
      const waiting = held;
      held = undefined;
      for (const done of waiting) done();
      expect(await run).toBe(0);
      const text = Buffer.concat(chunks).toString();
      expect(text.split('\n')).toHaveLength(LINES + 3);
      expect(text).toBe(connectionTitle(false) + connectionRow(parseConnectionLine(line)!, true, false, undefined).repeat(LINES));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
