// Reading what the command line is pointed at (a state file, a health config, the drain-state file,
// standard input) with a bound: `ipvs apply /dev/zero`, a FIFO fed without end or a runaway file would
// otherwise be read until the machine runs out of memory (Node's readFile keeps reading a device, and
// a string past some 512 MiB fails only with "Invalid string length"). The bound is far above any real
// table (5 000 services of 4 servers are 1.7 MB of JSON) and below what V8 can hold as one string.

import { open } from 'node:fs/promises';

export const INPUT_LIMIT = 256 * 1024 * 1024;

/** The error for an input past the limit: the message names what was read. */
export function inputTooLarge(what: string, limit = INPUT_LIMIT): Error {
  const size = limit % (1024 * 1024) === 0 ? `${limit / (1024 * 1024)} MiB` : `${limit} bytes`;
  return new Error(`${what} is larger than ${size}: not read further (a device or a runaway file?)`);
}

const CHUNK = 64 * 1024;

/**
 * A file's bytes, at most `limit` of them (more is an error, whatever the file: regular, device, FIFO,
 * /proc). A regular file is read in one go at its size, as readFile would.
 */
export async function readInputFile(path: string, limit = INPUT_LIMIT): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > limit) throw inputTooLarge(path, limit);
    const chunks: Buffer[] = [];
    let total = 0;
    // One byte more than the size: a file that grows while read is still bounded, and its end is seen.
    let want = size > 0 ? size + 1 : CHUNK;
    for (;;) {
      const buffer = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(buffer, 0, want, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > limit) throw inputTooLarge(path, limit);
      chunks.push(buffer.subarray(0, bytesRead));
      want = CHUNK;
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}
