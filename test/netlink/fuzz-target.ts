// The decoder fuzz target, run by fuzz.test.ts in a child process so that a hang (an infinite loop in
// a decoder) shows up as a killed child and a failed test instead of a stuck test runner.
// `decodeEverything` pushes one buffer through every decoding entry point of src/netlink and every
// getter on whatever attributes come out; only DecodeError may escape a decoder, anything else
// (RangeError, TypeError, ...) is a bug. `runFuzz` feeds it every truncation of valid messages,
// length-field mutations, random byte flips, and random buffers, from a fixed seed.

import fc from 'fast-check';
import { parseDonePayload, parseErrorPayload } from '../../src/netlink/connection.js';
import { DecodeError } from '../../src/netlink/errors.js';
import { decodeFamily } from '../../src/netlink/family.js';
import { Attributes, parseGenlHeader, parseMessages, type NetlinkMessage } from '../../src/netlink/reader.js';
import * as nb from '../helpers/netlink-bytes.js';

class NotADecodeError extends Error {
  constructor(
    readonly entry: string,
    readonly original: unknown,
  ) {
    super(`${entry} threw ${original instanceof Error ? `${original.name}: ${original.message}` : String(original)}`);
  }
}

function guarded(entry: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof NotADecodeError) throw err;
    if (!(err instanceof DecodeError)) throw new NotADecodeError(entry, err);
  }
}

/** Every getter on every attribute, and nested ones down to a few levels. */
function exercise(a: Attributes, depth: number): void {
  a.unknown(new Set([1, 2, 3]));
  for (const attr of a.list) {
    const t = attr.type;
    guarded('has/raw', () => void (a.has(t), a.raw(t)));
    guarded('u8', () => void a.u8(t));
    guarded('u16', () => void a.u16(t));
    guarded('u16be', () => void a.u16be(t));
    guarded('u32', () => void a.u32(t));
    guarded('u32be', () => void a.u32be(t));
    guarded('u64', () => void a.u64(t));
    guarded('string', () => void a.string(t));
    if (depth < 4) guarded('nested', () => {
      const n = a.nested(t);
      if (n) exercise(n, depth + 1);
    });
  }
}

const ERROR_FLAGS = [0, nb.F_ACK_TLVS, nb.F_ACK_TLVS | nb.F_CAPPED, nb.F_CAPPED];

function asMessage(type: number, flags: number, payload: Buffer): NetlinkMessage {
  return { type, flags, seq: 0, portId: 0, payload };
}

function decodeMessage(m: NetlinkMessage): void {
  for (const flags of ERROR_FLAGS) {
    const e = { ...m, flags: m.flags | flags };
    guarded('parseErrorPayload', () => void parseErrorPayload(e));
    guarded('parseDonePayload', () => void parseDonePayload(e));
  }
  guarded('parseGenlHeader', () => {
    const g = parseGenlHeader(m.payload);
    guarded('Attributes.parse', () => exercise(Attributes.parse(g.body), 0));
    guarded('decodeFamily', () => void decodeFamily(g.body));
  });
}

/** One buffer through every entry point: as a datagram, as a message payload, as an attribute stream. */
export function decodeEverything(buf: Buffer): void {
  guarded('parseMessages', () => {
    for (const m of parseMessages(buf)) decodeMessage(m);
  });
  decodeMessage(asMessage(0x10, 0, buf));
  guarded('Attributes.parse', () => exercise(Attributes.parse(buf), 0));
  for (const flags of ERROR_FLAGS) {
    const m = asMessage(2, flags, buf);
    guarded('parseErrorPayload', () => void parseErrorPayload(m));
    guarded('parseDonePayload', () => void parseDonePayload(m));
  }
}

/** Realistic valid inputs to truncate and mutate. */
export function seeds(): Buffer[] {
  const stats = (u64: boolean): Buffer =>
    nb.cat(
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((t) => (u64 || t === 4 || t === 5 ? nb.u64(t, BigInt(t) * 1_000_000_007n) : nb.u32(t, t * 1000))),
    );
  const service = nb.nlmsg(
    { type: 0x1b, flags: nb.F_MULTI, seq: 9, pid: 77 },
    nb.cat(
      nb.genl(1, 1),
      nb.nestNoFlag(
        1,
        nb.u16(1, 2),
        nb.u16(2, 6),
        nb.bin(3, [192, 168, 1, 110, ...new Array<number>(12).fill(0)]),
        nb.u16be(4, 80),
        nb.str(6, 'wlc'),
        nb.bin(7, [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
        nb.u32(8, 300),
        nb.u32be(9, 0xffffffff),
        nb.nestNoFlag(10, stats(false)),
        nb.nestNoFlag(12, stats(true)),
      ),
    ),
  );
  const request = nb.nlmsg({ type: 0x1b, flags: 0x405, seq: 5, pid: 77 }, nb.cat(nb.genl(1, 1), nb.nest(1, nb.u16(1, 2), nb.u16(2, 6))));
  return [
    nb.familyReply({ seq: 1, name: 'nlctrl', id: 0x10, version: 2, maxattr: 10, ops: [[3, 0x0e], [10, 0x0c]], groups: [[0x10, 'notify']] }),
    service,
    nb.cat(service, service, nb.done(9, { extackMsg: 'done' })),
    nb.nlmsgerr({ seq: 5, errno: 17, request, capped: false, extack: { msg: 'Service already exists', offs: 20 } }),
    nb.nlmsgerr({ seq: 5, errno: 22, request, capped: true, extack: { msg: 'bad', offs: 36 } }),
    nb.cat(nb.ack(1), nb.ack(2), nb.ack(3)),
    nb.done(4, { errno: 4, extackMsg: 'dump interrupted' }),
  ];
}

export interface FuzzResult {
  cases: number;
  failure?: { message: string; inputHex: string; stack?: string };
}

/** The same bytes at an odd offset inside a larger allocation (views must respect byteOffset). */
function shifted(buf: Buffer): Buffer {
  const out = Buffer.alloc(buf.length + 3, 0xaa).subarray(3);
  buf.copy(out);
  return out;
}

export interface FuzzOptions {
  randomRuns?: number;
  seed?: number;
  /** Only for checking the harness itself: one more decoder that must also throw only DecodeError. */
  extraTarget?: (buf: Buffer) => void;
}

export function runFuzz(options: FuzzOptions = {}): FuzzResult {
  let cases = 0;
  let current: Buffer = Buffer.alloc(0);
  const extra = options.extraTarget;
  const run = (buf: Buffer): void => {
    current = buf;
    cases++;
    decodeEverything(buf);
    if (extra) guarded('extraTarget', () => extra(buf));
  };
  try {
    for (const s of seeds()) {
      // The whole seed, and every truncation of it (from the end and from the front).
      run(shifted(s));
      for (let n = 0; n <= s.length; n++) run(s.subarray(0, n));
      for (let n = 1; n < s.length; n++) run(s.subarray(n));
      // Every 16-bit and 32-bit field position overwritten with lengths that stress the bounds checks.
      const interesting = [0, 1, 3, 4, 5, 7, 8, 15, 16, 17, 0x7fff, 0x8000, 0xfffc, 0xffff];
      for (let off = 0; off + 2 <= s.length; off += 2) {
        for (const v of interesting) {
          const m = Buffer.from(s);
          m.writeUInt16LE(v, off);
          run(m);
        }
      }
      for (let off = 0; off + 4 <= s.length; off += 4) {
        for (const v of [0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff, s.length - off, s.length - off + 1]) {
          const m = Buffer.from(s);
          m.writeUInt32LE(v >>> 0, off);
          run(m);
        }
      }
    }
    // Random mutations of seeds and random buffers, reproducible from the seed.
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 96 }).map((a) => Buffer.from(a)),
          fc
            .tuple(
              fc.constantFrom(...seeds()),
              fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
              fc.nat(),
            )
            .map(([s, edits, cut]) => {
              const m = Buffer.from(s);
              for (const [at, v] of edits) m[at % m.length] = v;
              return m.subarray(0, m.length - (cut % 8));
            }),
        ),
        (buf) => run(shifted(buf)),
      ),
      { numRuns: options.randomRuns ?? 20_000, seed: options.seed ?? 0x1905, endOnFailure: true },
    );
  } catch (err) {
    const cause = err instanceof NotADecodeError ? err : (err as { cause?: unknown }).cause instanceof NotADecodeError ? (err as { cause: NotADecodeError }).cause : err;
    const e = cause as Error;
    const original = cause instanceof NotADecodeError ? (cause.original as Error) : e;
    return {
      cases,
      failure: { message: e.message ?? String(e), inputHex: current.toString('hex'), stack: original?.stack },
    };
  }
  return { cases };
}
