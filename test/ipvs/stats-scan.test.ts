// decodeStats reads STATS64 straight from the bytes (no Attributes built); it must agree with the
// Attributes-based decodeStats64 on every value, repeats and padding included, and fail the same way.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Attributes } from '../../src/netlink/reader.js';
import { decodeStats, decodeStats64, encodeStats } from '../../src/ipvs/stats.js';
import { IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64 } from '../../src/ipvs/constants.js';
import { nestNoFlag, nlattr } from '../helpers/netlink-bytes.js';
import { MessageWriter } from '../../src/netlink/writer.js';

const u64 = fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 0xffffffffn }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
const rate = fc.integer({ min: 0, max: 0xffffffff });

function le64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
}

describe('decodeStats (STATS64 read from the bytes)', () => {
  it('agrees with decodeStats64 on random counters, rates, repeats and unknown attributes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 14 }), u64), { maxLength: 16 }), fc.boolean(), (attrs, markNested) => {
        const body = Buffer.concat(attrs.map(([t, v]) => nlattr(t, le64(v))));
        const nest = markNested ? nlattr(IPVS_DEST_ATTR_STATS64 | 0x8000, body) : nestNoFlag(IPVS_DEST_ATTR_STATS64, body);
        const parsed = Attributes.parse(nest);
        expect(decodeStats(parsed, IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64)).toEqual(decodeStats64(parsed.nested(IPVS_DEST_ATTR_STATS64)!));
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips what encodeStats writes', () => {
    fc.assert(
      fc.property(u64, u64, u64, u64, u64, rate, rate, rate, rate, rate, (conns, inPackets, outPackets, inBytes, outBytes, cps, inPps, outPps, inBps, outBps) => {
        const stats = { conns, inPackets, outPackets, inBytes, outBytes, cps, inPps, outPps, inBps, outBps };
        const w = new MessageWriter(256);
        w.beginMessage(1, 0, 1, 0);
        encodeStats(w, stats, IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64);
        w.endMessage();
        const parsed = Attributes.parse(w.toBuffer().subarray(16));
        expect(decodeStats(parsed, IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64)).toEqual(stats);
      }),
      { numRuns: 300 },
    );
  });

  it('names a short counter and a broken nest as the Attributes path does', () => {
    const short = Attributes.parse(nlattr(IPVS_DEST_ATTR_STATS64 | 0x8000, nlattr(1, Buffer.alloc(7))));
    expect(() => decodeStats(short, IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64)).toThrow(/in statistics: attribute 1 holds 7 bytes, a u64 needs 8/);
    const broken = Attributes.parse(nlattr(IPVS_DEST_ATTR_STATS64 | 0x8000, Buffer.from([12, 0, 1, 0, 0, 0])));
    expect(() => decodeStats(broken, IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64)).toThrow(/in statistics: inside nested attribute 12: (2 stray bytes|attribute 1 of length 12 runs past)/);
  });
});
