// A listing (`ipvs -Sn`, `-Ln`, `-Lnc`, `-Lc`) written to a stream that cannot keep up: it reads the table at the
// pace the reader takes the text, instead of reading it all and holding the whole output in the stream's
// buffer; and a reader gone (the stream failed, as a pipe whose reader exited: `ipvs -Sn | head -1`) ends
// the listing without reading the rest of the table.

import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { connectionRow, connectionTitle, parseConnectionLine } from '../../src/cli/connections.js';
import { runCli } from '../../src/cli/run.js';
import { staticResolver } from '../../src/rules/resolver.js';
import { TEST_SERVICES } from './harness.js';
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
      // The wait for the first chunk is bounded by time, not by a count of turns (2 000 were too few beside a
      // kernel sandbox run when the file was read in libuv's thread pool).
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

describe('the connection table with names (-Lc) written to a slow stream', () => {
  it('is read and its names looked up batch by batch, at the pace the stream takes the text, never the whole table at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipvs-conn-'));
    const path = join(dir, 'ip_vs_conn');
    // A client address of its own on every line (10.0.x.y): one lookup per line, as a busy director's table has.
    const LINES = 60_000;
    const hex = (i: number): string => (0x0a000000 + i).toString(16).toUpperCase().padStart(8, '0');
    const lines = Array.from({ length: LINES }, (_, i) => `TCP ${hex(i + 1)} D431 C0A8016E 0050 C0A80174 0050 ESTABLISHED     895\n`);
    writeFileSync(path, 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n' + lines.join(''));
    try {
      const names = staticResolver({ vip: '192.168.1.110', rs1: '192.168.1.116', first: '10.0.0.1' }, TEST_SERVICES);
      let asked = 0;
      const resolver = { ...names, reverse: (address: string) => (asked++, names.reverse(address)) };
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
      const run = runCli(['-Lc'], { stdout, stderr: { write: () => {} }, procConnPath: path, resolver }).finally(() => (ended = true));
      const deadline = performance.now() + 20_000;
      while (bytes === 0 && performance.now() < deadline) await turn();
      for (let i = 0; i < 200; i++) await turn();
      expect(bytes).toBeGreaterThan(0);
      expect(ended).toBe(false);
      // Read whole, every address was looked up before a byte was printed; now only the batches read so far.
      expect(asked).toBeLessThan(LINES / 2);
      const waiting = held;
      held = undefined;
      for (const done of waiting) done();
      expect(await run).toBe(0);
      const text = Buffer.concat(chunks).toString();
      expect(text.split('\n')).toHaveLength(LINES + 3);
      expect(text.split('\n').slice(0, 4)).toEqual([
        'IPVS connection entries',
        'pro expire state       source             virtual            destination',
        'TCP 14:55  ESTABLISHED first:54321        vip:http           rs1:http',
        'TCP 14:55  ESTABLISHED 10.0.0.2:54321     vip:http           rs1:http',
      ]);
      expect(text.split('\n').at(-2)).toBe(`TCP 14:55  ESTABLISHED 10.0.234.96:54321  vip:http           rs1:http`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("does not wait for lookups that hold libuv's threads (getnameinfo with no DNS server answering): numbers after the resolver's timeout", async () => {
    // The system resolver's lookups run getnameinfo in libuv's thread pool, where one holds a thread for glibc's
    // own timeouts (10 s and more with no server answering) long after the resolver gave up and printed the
    // number (2 s). Here each lookup holds a thread for good (the open of a FIFO no one writes) and gives up
    // after 20 ms. Read through that pool, the file's next chunk queued behind the first batch's lookups: with
    // no DNS server, -Lc of a big table waited hours where reading it whole first waited 2 s.
    const dir = mkdtempSync(join(tmpdir(), 'ipvs-conn-'));
    const path = join(dir, 'ip_vs_conn');
    const fifo = join(dir, 'nobody-writes');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const LINES = 3 * 2048;
    const hex = (i: number): string => (0x0a000000 + i).toString(16).toUpperCase().padStart(8, '0');
    const lines = Array.from({ length: LINES }, (_, i) => `TCP ${hex(i + 1)} D431 C0A8016E 0050 C0A80174 0050 ESTABLISHED     895\n`);
    writeFileSync(path, 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n' + lines.join(''));
    let held = 0;
    let pending = 0;
    const resolver = {
      ...staticResolver({}, TEST_SERVICES),
      reverse: (): Promise<string | undefined> => {
        held++;
        pending++;
        void open(fifo, 'r').then((h) => h.close(), () => {}).finally(() => pending--);
        return new Promise((resolve) => setTimeout(() => resolve(undefined), 20));
      },
    };
    const out: string[] = [];
    try {
      let ended = false;
      const run = runCli(['-Lc'], { stdout: { write: (t: string) => out.push(t) }, stderr: { write: () => {} }, procConnPath: path, resolver }).finally(() => (ended = true));
      const deadline = performance.now() + 10_000;
      while (!ended && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(ended).toBe(true);
      expect(await run).toBe(0);
      expect(out.join('').split('\n')).toHaveLength(LINES + 3);
      expect(held).toBeGreaterThan(2048);
    } finally {
      // A writer lets every open of the FIFO through, those waiting and those queued behind them: kept open until
      // they are all done, libuv's threads free again.
      const writer = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
      while (pending > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      closeSync(writer);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a resolver that throws: the batches before it are printed, then its error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipvs-conn-'));
    const path = join(dir, 'ip_vs_conn');
    const line = 'TCP 0A000001 D431 C0A8016E 0050 C0A80174 0050 ESTABLISHED     895\n';
    writeFileSync(path, 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n' + line);
    try {
      const resolver = { ...staticResolver({}, TEST_SERVICES), reverse: async (): Promise<string | undefined> => { throw new Error('resolver down'); } };
      const out: string[] = [];
      const err: string[] = [];
      expect(await runCli(['-Lc'], { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, procConnPath: path, resolver })).toBe(1);
      expect(out.join('')).toBe(connectionTitle(false));
      expect(err.join('')).toMatch(/resolver down/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
