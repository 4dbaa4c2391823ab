// A table of many services and a stream that takes nothing until released: what the CLI's listings are tested
// against for keeping pace with their reader (test/cli/output-back-pressure.test.ts, named-listing-stream.test.ts).

import { Writable } from 'node:stream';
import { Ipvs } from '../../src/client.js';
import type { Operation } from '../../src/ipvs/operations.js';
import { FakeKernel } from '../../src/testing/index.js';

export interface SlowReader {
  kernel: FakeKernel;
  stdout: Writable;
  /** Chunks the stream has been handed so far (taken or held). */
  written: () => number;
  /** Everything handed to it, as text. */
  text: () => string;
  /** Let it take what it holds and whatever comes later. */
  release: () => void;
}

/** A fake kernel holding `services` TCP services of one destination each, and a stream (16 KiB mark) that holds every chunk. */
export async function slowReader(services: number): Promise<SlowReader> {
  const kernel = new FakeKernel();
  const ops: Operation[] = [];
  for (let i = 0; i < services; i++) {
    const service = { protocol: 'tcp', address: `10.0.${i >> 8}.${i & 255}`, port: 80 } as const;
    ops.push({ op: 'add-service', service }, { op: 'add-destination', service, destination: { address: '192.168.1.1', port: 80 } });
  }
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  await ipvs.execute(ops);
  await ipvs.close();
  kernel.requests.length = 0;
  const chunks: Buffer[] = [];
  let held: (() => void)[] | undefined = [];
  const stdout = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      if (held === undefined) callback();
      else held.push(() => callback());
    },
  });
  const release = (): void => {
    const waiting = held ?? [];
    held = undefined;
    for (const done of waiting) done();
  };
  return { kernel, stdout, written: () => chunks.length, text: () => Buffer.concat(chunks).toString(), release };
}

const turn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Event-loop turns until the stream got its first chunk. */
export async function firstChunk(written: () => number): Promise<void> {
  for (let i = 0; i < 100_000 && written() === 0; i++) await turn();
}
