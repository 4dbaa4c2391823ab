// Decoding of netlink datagrams, messages and attributes. Nothing here trusts its input: every length
// is checked against the bytes actually present and any inconsistency raises a DecodeError.
// Attribute values are zero-copy views into the datagram; unknown attributes are kept, in order.

import { DecodeError } from './errors.js';
import {
  GENL_HDRLEN,
  NLA_ALIGNTO,
  NLA_F_NESTED,
  NLA_F_NET_BYTEORDER,
  NLA_HDRLEN,
  NLA_TYPE_MASK,
  NLMSG_HDRLEN,
} from './constants.js';

const align4 = (n: number): number => (n + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  portId: number;
  /** The message body after the 16-byte header (a view, not a copy). */
  payload: Buffer;
}

/** Split one datagram into its messages. */
export function parseMessages(datagram: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off < datagram.length) {
    if (datagram.length - off < NLMSG_HDRLEN) throw new DecodeError('truncated message header', off);
    const len = datagram.readUInt32LE(off);
    if (len < NLMSG_HDRLEN) throw new DecodeError(`message length ${len} is shorter than its header`, off);
    if (len > datagram.length - off) throw new DecodeError(`message length ${len} runs past the datagram`, off);
    out.push({
      type: datagram.readUInt16LE(off + 4),
      flags: datagram.readUInt16LE(off + 6),
      seq: datagram.readUInt32LE(off + 8),
      portId: datagram.readUInt32LE(off + 12),
      payload: datagram.subarray(off + NLMSG_HDRLEN, off + len),
    });
    // The last message may omit its trailing padding.
    off += Math.min(align4(len), datagram.length - off);
  }
  return out;
}

export interface GenlHeader {
  cmd: number;
  version: number;
  /** The attributes after the 4-byte generic-netlink header. */
  body: Buffer;
}

export function parseGenlHeader(payload: Buffer): GenlHeader {
  if (payload.length < GENL_HDRLEN) throw new DecodeError('truncated generic netlink header', 0);
  return { cmd: payload.readUInt8(0), version: payload.readUInt8(1), body: payload.subarray(GENL_HDRLEN) };
}

export interface Attribute {
  /** The type with NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off. */
  type: number;
  nestedFlag: boolean;
  netByteOrder: boolean;
  data: Buffer;
}

/**
 * A decoded set of attributes. Typed getters check the value's length and throw a DecodeError
 * naming the attribute when it does not fit; missing attributes return undefined.
 */
export class Attributes {
  readonly list: readonly Attribute[];
  private readonly byType: (Attribute | undefined)[] = [];

  constructor(list: Attribute[]) {
    this.list = list;
    for (const a of list) this.byType[a.type] = a; // the last one wins, as in the kernel's nla_parse
  }

  static parse(buf: Buffer): Attributes {
    const list: Attribute[] = [];
    let off = 0;
    while (off < buf.length) {
      if (buf.length - off < NLA_HDRLEN) {
        throw new DecodeError(`${buf.length - off} stray bytes where an attribute header was expected`, off);
      }
      const len = buf.readUInt16LE(off);
      const rawType = buf.readUInt16LE(off + 2);
      if (len < NLA_HDRLEN) throw new DecodeError(`attribute length ${len} is shorter than its header`, off);
      if (len > buf.length - off) throw new DecodeError(`attribute ${rawType & NLA_TYPE_MASK} of length ${len} runs past its container`, off);
      list.push({
        type: rawType & NLA_TYPE_MASK,
        nestedFlag: (rawType & NLA_F_NESTED) !== 0,
        netByteOrder: (rawType & NLA_F_NET_BYTEORDER) !== 0,
        data: buf.subarray(off + NLA_HDRLEN, off + len),
      });
      off += Math.min(align4(len), buf.length - off);
    }
    return new Attributes(list);
  }

  has(type: number): boolean {
    return this.byType[type] !== undefined;
  }

  raw(type: number): Buffer | undefined {
    return this.byType[type]?.data;
  }

  private sized(type: number, size: number, what: string): Buffer | undefined {
    const a = this.byType[type];
    if (a === undefined) return undefined;
    if (a.data.length < size) throw new DecodeError(`attribute ${type} holds ${a.data.length} bytes, a ${what} needs ${size}`, 0);
    return a.data;
  }

  u8(type: number): number | undefined {
    return this.sized(type, 1, 'u8')?.readUInt8(0);
  }

  u16(type: number): number | undefined {
    return this.sized(type, 2, 'u16')?.readUInt16LE(0);
  }

  u16be(type: number): number | undefined {
    return this.sized(type, 2, 'u16')?.readUInt16BE(0);
  }

  u32(type: number): number | undefined {
    return this.sized(type, 4, 'u32')?.readUInt32LE(0);
  }

  u32be(type: number): number | undefined {
    return this.sized(type, 4, 'u32')?.readUInt32BE(0);
  }

  u64(type: number): bigint | undefined {
    return this.sized(type, 8, 'u64')?.readBigUInt64LE(0);
  }

  /** A string, up to its first NUL (the kernel NUL-terminates; a missing NUL is tolerated). */
  string(type: number): string | undefined {
    const data = this.byType[type]?.data;
    if (data === undefined) return undefined;
    const nul = data.indexOf(0);
    return data.toString('utf8', 0, nul === -1 ? data.length : nul);
  }

  nested(type: number): Attributes | undefined {
    const data = this.byType[type]?.data;
    if (data === undefined) return undefined;
    try {
      return Attributes.parse(data);
    } catch (err) {
      if (err instanceof DecodeError) throw new DecodeError(`inside nested attribute ${type}: ${err.message}`, err.offset);
      throw err;
    }
  }

  /** Attributes whose types are not in `known`, to be carried along rather than dropped. */
  unknown(known: ReadonlySet<number>): Attribute[] {
    return this.list.filter((a) => !known.has(a.type));
  }
}
