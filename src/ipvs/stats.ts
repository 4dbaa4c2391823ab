// Statistics: IPVS_*_ATTR_STATS64 (every value a u64, kernels 4.1 and later) preferred; IPVS_*_ATTR_STATS
// (u32 counters and rates, u64 byte counters) as the fallback for older kernels. Counters become bigint
// (they pass 2^53 on busy balancers), per-second rates become number. Both nests may carry
// IPVS_STATS_ATTR_PAD, which nla_put_u64_64bit inserts on architectures that need 64-bit alignment.

import { DecodeError } from '../netlink/errors.js';
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

/** The body of IPVS_*_ATTR_STATS64. A missing value reads as 0 (a nest is all or nothing in practice). */
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

/** The body of IPVS_*_ATTR_STATS: u32 counters and rates, u64 byte counters. */
export function decodeStats32(a: Attributes): Stats {
  const n = (t: number): number => a.u32(t) ?? 0;
  return {
    conns: BigInt(n(IPVS_STATS_ATTR_CONNS)), inPackets: BigInt(n(IPVS_STATS_ATTR_INPKTS)), outPackets: BigInt(n(IPVS_STATS_ATTR_OUTPKTS)),
    inBytes: a.u64(IPVS_STATS_ATTR_INBYTES) ?? 0n, outBytes: a.u64(IPVS_STATS_ATTR_OUTBYTES) ?? 0n,
    cps: n(IPVS_STATS_ATTR_CPS), inPps: n(IPVS_STATS_ATTR_INPPS), outPps: n(IPVS_STATS_ATTR_OUTPPS),
    inBps: n(IPVS_STATS_ATTR_INBPS), outBps: n(IPVS_STATS_ATTR_OUTBPS),
  };
}

/** A u64 value (8 bytes at `start`): a bigint, with no BigInt arithmetic for the usual small counter. */
function u64At(buf: Buffer, start: number, end: number, type: number): bigint {
  if (end - start < 8) throw new DecodeError(`attribute ${type} holds ${end - start} bytes, a u64 needs 8`, 0);
  if (buf.readUInt32LE(start + 4) === 0) {
    const low = buf.readUInt32LE(start);
    return low === 0 ? 0n : BigInt(low);
  }
  return buf.readBigUInt64LE(start);
}

/**
 * decodeStats64 straight from the nest's bytes, with no Attributes built: every service and destination
 * of a dump carries one, and a table read (a save, a reconcile) rarely looks at them. The same values
 * and errors; the last of a repeated attribute wins, as in the kernel's nla_parse.
 */
function scanStats64(attrs: Attributes, stats64: number): Stats | undefined {
  const s = emptyStats();
  const found = attrs.scanNested(stats64, (type, buf, start, end) => {
    switch (type) {
      case IPVS_STATS_ATTR_CONNS: s.conns = u64At(buf, start, end, type); break;
      case IPVS_STATS_ATTR_INPKTS: s.inPackets = u64At(buf, start, end, type); break;
      case IPVS_STATS_ATTR_OUTPKTS: s.outPackets = u64At(buf, start, end, type); break;
      case IPVS_STATS_ATTR_INBYTES: s.inBytes = u64At(buf, start, end, type); break;
      case IPVS_STATS_ATTR_OUTBYTES: s.outBytes = u64At(buf, start, end, type); break;
      case IPVS_STATS_ATTR_CPS: s.cps = Number(u64At(buf, start, end, type)); break;
      case IPVS_STATS_ATTR_INPPS: s.inPps = Number(u64At(buf, start, end, type)); break;
      case IPVS_STATS_ATTR_OUTPPS: s.outPps = Number(u64At(buf, start, end, type)); break;
      case IPVS_STATS_ATTR_INBPS: s.inBps = Number(u64At(buf, start, end, type)); break;
      case IPVS_STATS_ATTR_OUTBPS: s.outBps = Number(u64At(buf, start, end, type)); break;
      default: break; // IPVS_STATS_ATTR_PAD, or one this code does not know
    }
  });
  return found ? s : undefined;
}

/** The stats of a service or destination: STATS64 when present, else STATS, else zeros. */
export function decodeStats(attrs: Attributes, stats32: number, stats64: number): Stats {
  try {
    const s64 = scanStats64(attrs, stats64);
    if (s64) return s64;
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
