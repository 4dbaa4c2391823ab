// A numeric listing (`ipvs -Sn`, `-Ln`) written to a stream that cannot keep up: it reads the table at the
// pace the reader takes the text, instead of reading it all and holding the whole output in the stream's
// buffer; and a reader gone (the stream failed, as a pipe whose reader exited: `ipvs -Sn | head -1`) ends
// the listing without reading the rest of the table.

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { Ipvs } from '../../src/client.js';
import { FakeKernel } from '../../src/testing/index.js';
import type { Operation } from '../../src/ipvs/operations.js';

const SERVICES = 4000;

/** A kernel holding SERVICES services (one destination each), and a stream that takes nothing until released. */
async function setUp(): Promise<{ kernel: FakeKernel; stdout: Writable; written: () => number; release: () => void }> {
  const kernel = new FakeKernel();
  const ops: Operation[] = [];
  for (let i = 0; i < SERVICES; i++) {
    const service = { protocol: 'tcp', address: `10.0.${i >> 8}.${i & 255}`, port: 80 } as const;
    ops.push({ op: 'add-service', service }, { op: 'add-destination', service, destination: { address: '192.168.1.1', port: 80 } });
  }
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  await ipvs.execute(ops);
  await ipvs.close();
  kernel.requests.length = 0;
  let bytes = 0;
  let held: (() => void)[] | undefined = [];
  const stdout = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (held === undefined) callback();
      else held.push(() => callback());
    },
  });
  const release = (): void => {
    const waiting = held ?? [];
    held = undefined;
    for (const done of waiting) done();
  };
  return { kernel, stdout, written: () => bytes, release };
}

const turn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Event-loop turns until the stream got its first chunk. */
async function firstChunk(written: () => number): Promise<void> {
  for (let i = 0; i < 100_000 && written() === 0; i++) await turn();
}

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
    const { kernel, stdout, written, release } = await setUp();
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
    const { kernel, stdout, written } = await setUp();
    stdout.on('error', () => {});
    const run = runCli(['-Sn'], { ipvs: () => Ipvs.open({ transport: kernel.transport() }), stdout, stderr: { write: () => {} } });
    await firstChunk(written);
    stdout.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(await run).toBe(1);
    expect(kernel.requests.length).toBeLessThan(SERVICES / 2);
  });
});
