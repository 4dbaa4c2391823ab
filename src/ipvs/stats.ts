// Statistics: IPVS_*_ATTR_STATS64 (every value a u64, kernels 4.1 and later) preferred; IPVS_*_ATTR_STATS
// (u32 counters and rates, u64 byte counters) as the fallback for older kernels. Counters become bigint
// (they pass 2^53 on busy balancers), per-second rates become number. Both nests may carry
// IPVS_STATS_ATTR_PAD, which nla_put_u64_64bit inserts on architectures that need 64-bit alignment.

import { DecodeError } from '../netlink/errors.js';
import type { AttributeReader } from '../netlink/reader.js';
import type { MessageWriter } from '../netlink/writer.js';
import {
  IPVS_STATS_ATTR_CONNS, IPVS_STATS_ATTR_CPS, IPVS_STATS_ATTR_INBPS, IPVS_STATS_ATTR_INBYTES, IPVS_STATS_ATTR_INPKTS,
  IPVS_STATS_ATTR_INPPS, IPVS_STATS_ATTR_OUTBPS, IPVS_STATS_ATTR_OUTBYTES, IPVS_STATS_ATTR_OUTPKTS, IPVS_STATS_ATTR_OUTPPS,
} from './constants.js';
import type { Stats } from './types.js';

export function emptyStats(): Stats {
  return { conns: 0n, inPackets: 0n, outPackets: 0n, inBytes: 0n, outBytes: 0n, cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
}

/** The body of IPVS_*_ATTR_STATS64. A missing value reads as 0 (a nest is all or nothing in practice). */
export function decodeStats64(a: AttributeReader): Stats {
  return {
    conns: a.u64(IPVS_STATS_ATTR_CONNS) ?? 0n,
    inPackets: a.u64(IPVS_STATS_ATTR_INPKTS) ?? 0n,
    outPackets: a.u64(IPVS_STATS_ATTR_OUTPKTS) ?? 0n,
    inBytes: a.u64(IPVS_STATS_ATTR_INBYTES) ?? 0n,
    outBytes: a.u64(IPVS_STATS_ATTR_OUTBYTES) ?? 0n,
    cps: Number(a.u64(IPVS_STATS_ATTR_CPS) ?? 0n),
    inPps: Number(a.u64(IPVS_STATS_ATTR_INPPS) ?? 0n),
    outPps: Number(a.u64(IPVS_STATS_ATTR_OUTPPS) ?? 0n),
    inBps: Number(a.u64(IPVS_STATS_ATTR_INBPS) ?? 0n),
    outBps: Number(a.u64(IPVS_STATS_ATTR_OUTBPS) ?? 0n),
  };
}

/** The body of IPVS_*_ATTR_STATS: u32 counters and rates, u64 byte counters. */
export function decodeStats32(a: AttributeReader): Stats {
  return {
    conns: BigInt(a.u32(IPVS_STATS_ATTR_CONNS) ?? 0),
    inPackets: BigInt(a.u32(IPVS_STATS_ATTR_INPKTS) ?? 0),
    outPackets: BigInt(a.u32(IPVS_STATS_ATTR_OUTPKTS) ?? 0),
    inBytes: a.u64(IPVS_STATS_ATTR_INBYTES) ?? 0n,
    outBytes: a.u64(IPVS_STATS_ATTR_OUTBYTES) ?? 0n,
    cps: a.u32(IPVS_STATS_ATTR_CPS) ?? 0,
    inPps: a.u32(IPVS_STATS_ATTR_INPPS) ?? 0,
    outPps: a.u32(IPVS_STATS_ATTR_OUTPPS) ?? 0,
    inBps: a.u32(IPVS_STATS_ATTR_INBPS) ?? 0,
    outBps: a.u32(IPVS_STATS_ATTR_OUTBPS) ?? 0,
  };
}

/** The stats of a service or destination: STATS64 when present, else STATS, else zeros. */
export function decodeStats(attrs: AttributeReader, stats32: number, stats64: number): Stats {
  try {
    const s64 = attrs.nested(stats64);
    if (s64) return decodeStats64(s64);
    const s32 = attrs.nested(stats32);
    return s32 ? decodeStats32(s32) : emptyStats();
  } catch (err) {
    if (err instanceof DecodeError) throw new DecodeError(`in statistics: ${err.reason}`, err.offset);
    throw err;
  }
}

/**
 * Writes both nests, as the kernel does in its replies (the fake kernel and tests use it; requests never
 * carry stats). `markNested` false gives the kernel's exact shape (nla_nest_start_noflag).
 */
export function encodeStats(w: MessageWriter, stats: Stats, stats32: number, stats64: number, markNested = true): void {
  const u32 = (x: bigint | number): number => Number(BigInt(x) & 0xffffffffn);
  w.nested(stats32, () => {
    w.u32(IPVS_STATS_ATTR_CONNS, u32(stats.conns));
    w.u32(IPVS_STATS_ATTR_INPKTS, u32(stats.inPackets));
    w.u32(IPVS_STATS_ATTR_OUTPKTS, u32(stats.outPackets));
    w.u64(IPVS_STATS_ATTR_INBYTES, stats.inBytes);
    w.u64(IPVS_STATS_ATTR_OUTBYTES, stats.outBytes);
    w.u32(IPVS_STATS_ATTR_CPS, u32(stats.cps));
    w.u32(IPVS_STATS_ATTR_INPPS, u32(stats.inPps));
    w.u32(IPVS_STATS_ATTR_OUTPPS, u32(stats.outPps));
    w.u32(IPVS_STATS_ATTR_INBPS, u32(stats.inBps));
    w.u32(IPVS_STATS_ATTR_OUTBPS, u32(stats.outBps));
  }, markNested);
  w.nested(stats64, () => {
    w.u64(IPVS_STATS_ATTR_CONNS, stats.conns);
    w.u64(IPVS_STATS_ATTR_INPKTS, stats.inPackets);
    w.u64(IPVS_STATS_ATTR_OUTPKTS, stats.outPackets);
    w.u64(IPVS_STATS_ATTR_INBYTES, stats.inBytes);
    w.u64(IPVS_STATS_ATTR_OUTBYTES, stats.outBytes);
    w.u64(IPVS_STATS_ATTR_CPS, BigInt(stats.cps));
    w.u64(IPVS_STATS_ATTR_INPPS, BigInt(stats.inPps));
    w.u64(IPVS_STATS_ATTR_OUTPPS, BigInt(stats.outPps));
    w.u64(IPVS_STATS_ATTR_INBPS, BigInt(stats.inBps));
    w.u64(IPVS_STATS_ATTR_OUTBPS, BigInt(stats.outBps));
  }, markNested);
}
