// Statistics: IPVS_*_ATTR_STATS64 (all u64) preferred, IPVS_*_ATTR_STATS (u32 counters and rates,
// u64 byte counters) as the fallback for kernels before 4.1.

import type { Attributes } from '../netlink/reader.js';
import type { MessageWriter } from '../netlink/writer.js';
import {
  IPVS_STATS_ATTR_CONNS, IPVS_STATS_ATTR_CPS, IPVS_STATS_ATTR_INBPS, IPVS_STATS_ATTR_INBYTES, IPVS_STATS_ATTR_INPKTS,
  IPVS_STATS_ATTR_INPPS, IPVS_STATS_ATTR_OUTBPS, IPVS_STATS_ATTR_OUTBYTES, IPVS_STATS_ATTR_OUTPKTS, IPVS_STATS_ATTR_OUTPPS,
} from './constants.js';
import type { Stats } from './types.js';

export function emptyStats(): Stats {
  return { conns: 0n, inPackets: 0n, outPackets: 0n, inBytes: 0n, outBytes: 0n, cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
}

export function decodeStats64(a: Attributes): Stats {
  const n = (t: number): number => Number(a.u64(t) ?? 0n);
  return {
    conns: a.u64(IPVS_STATS_ATTR_CONNS) ?? 0n,
    inPackets: a.u64(IPVS_STATS_ATTR_INPKTS) ?? 0n,
    outPackets: a.u64(IPVS_STATS_ATTR_OUTPKTS) ?? 0n,
    inBytes: a.u64(IPVS_STATS_ATTR_INBYTES) ?? 0n,
    outBytes: a.u64(IPVS_STATS_ATTR_OUTBYTES) ?? 0n,
    cps: n(IPVS_STATS_ATTR_CPS), inPps: n(IPVS_STATS_ATTR_INPPS), outPps: n(IPVS_STATS_ATTR_OUTPPS),
    inBps: n(IPVS_STATS_ATTR_INBPS), outBps: n(IPVS_STATS_ATTR_OUTBPS),
  };
}

export function decodeStats32(a: Attributes): Stats {
  const n = (t: number): number => a.u32(t) ?? 0;
  return {
    conns: BigInt(n(IPVS_STATS_ATTR_CONNS)), inPackets: BigInt(n(IPVS_STATS_ATTR_INPKTS)), outPackets: BigInt(n(IPVS_STATS_ATTR_OUTPKTS)),
    inBytes: a.u64(IPVS_STATS_ATTR_INBYTES) ?? 0n, outBytes: a.u64(IPVS_STATS_ATTR_OUTBYTES) ?? 0n,
    cps: n(IPVS_STATS_ATTR_CPS), inPps: n(IPVS_STATS_ATTR_INPPS), outPps: n(IPVS_STATS_ATTR_OUTPPS),
    inBps: n(IPVS_STATS_ATTR_INBPS), outBps: n(IPVS_STATS_ATTR_OUTBPS),
  };
}

/** Pick STATS64 when present. */
export function decodeStats(attrs: Attributes, stats32: number, stats64: number): Stats {
  const s64 = attrs.nested(stats64);
  if (s64) return decodeStats64(s64);
  const s32 = attrs.nested(stats32);
  return s32 ? decodeStats32(s32) : emptyStats();
}

/** Writes both forms, as the kernel does in its replies (used by the fake kernel and tests). */
export function encodeStats(w: MessageWriter, stats: Stats, stats32: number, stats64: number, markNested = true): void {
  const u32 = (x: bigint | number): number => Number(BigInt(x) & 0xffffffffn);
  w.nested(stats32, () => {
    w.u32(IPVS_STATS_ATTR_CONNS, u32(stats.conns));
    w.u32(IPVS_STATS_ATTR_INPKTS, u32(stats.inPackets));
    w.u32(IPVS_STATS_ATTR_OUTPKTS, u32(stats.outPackets));
    w.u64(IPVS_STATS_ATTR_INBYTES, stats.inBytes);
    w.u64(IPVS_STATS_ATTR_OUTBYTES, stats.outBytes);
    w.u32(IPVS_STATS_ATTR_CPS, stats.cps);
    w.u32(IPVS_STATS_ATTR_INPPS, stats.inPps);
    w.u32(IPVS_STATS_ATTR_OUTPPS, stats.outPps);
    w.u32(IPVS_STATS_ATTR_INBPS, stats.inBps);
    w.u32(IPVS_STATS_ATTR_OUTBPS, stats.outBps);
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
