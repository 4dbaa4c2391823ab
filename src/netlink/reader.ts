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

/**
 * Walk the attributes in buf[from, to), checking every length against the bytes present: `visit` gets
 * where each value starts and ends and its raw type word. DecodeError offsets are relative to `from`;
 * `where` prefixes their sentences.
 */
function walkAttributes(buf: Buffer, from: number, to: number, visit: (start: number, end: number, rawType: number) => void, where = ''): void {
  let off = from;
  while (off < to) {
    if (to - off < NLA_HDRLEN) {
      throw new DecodeError(`${where}${to - off} stray bytes where an attribute header was expected`, off - from);
    }
    const len = (buf[off] as number) | ((buf[off + 1] as number) << 8);
    const rawType = (buf[off + 2] as number) | ((buf[off + 3] as number) << 8);
    if (len < NLA_HDRLEN) throw new DecodeError(`${where}attribute length ${len} is shorter than its header`, off - from);
    if (len > to - off) throw new DecodeError(`${where}attribute ${rawType & NLA_TYPE_MASK} of length ${len} runs past its container`, off - from);
    visit(off + NLA_HDRLEN, off + len, rawType);
    off += Math.min(align4(len), to - off);
  }
}

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
 *
 * Parsing records only where each value sits (its buffer, start and end): typed getters read straight
 * from the datagram, and Buffer views (`raw`, `list`, `unknown`) are made only when asked for, since
 * creating a view costs more than reading a number. Decoding a dump is mostly number reads.
 */
export class Attributes {
  /** The buffer holding every attribute, when parsed from one (always, but for the list constructor). */
  private readonly buf: Buffer | undefined;
  /** Per attribute, its buffer: only for attributes given as a list. */
  private readonly bufs: Buffer[] | undefined;
  /** Per attribute, three numbers in a row: where its value starts, where it ends, its raw type word. */
  private readonly spans: number[] = [];
  /** Index of the last attribute of each type: the last one wins, as in the kernel's nla_parse. */
  private readonly last: (number | undefined)[] = [];
  private views: Attribute[] | undefined;

  constructor(list: Attribute[], parsedFrom?: Buffer) {
    this.buf = parsedFrom;
    if (parsedFrom !== undefined) {
      this.bufs = undefined;
      this.views = undefined;
      return;
    }
    this.bufs = [];
    this.views = list;
    for (const a of list) {
      const flags = (a.nestedFlag ? NLA_F_NESTED : 0) | (a.netByteOrder ? NLA_F_NET_BYTEORDER : 0);
      this.bufs.push(a.data);
      this.add(0, a.data.length, (a.type & NLA_TYPE_MASK) | flags);
    }
  }

  private add(start: number, end: number, rawType: number): void {
    this.last[rawType & NLA_TYPE_MASK] = this.spans.length / 3;
    this.spans.push(start, end, rawType);
  }

  private bufOf(i: number): Buffer {
    return this.buf ?? ((this.bufs as Buffer[])[i] as Buffer);
  }

  private start(i: number): number {
    return this.spans[3 * i] as number;
  }

  private end(i: number): number {
    return this.spans[3 * i + 1] as number;
  }

  private rawType(i: number): number {
    return this.spans[3 * i + 2] as number;
  }

  static parse(buf: Buffer): Attributes {
    return Attributes.parseRange(buf, 0, buf.length);
  }

  /** Parse the attributes in buf[from, to); DecodeError offsets are relative to `from`. */
  private static parseRange(buf: Buffer, from: number, to: number): Attributes {
    const out = new Attributes([], buf);
    walkAttributes(buf, from, to, (start, end, rawType) => out.add(start, end, rawType));
    return out;
  }

  private view(i: number): Attribute {
    const rawType = this.rawType(i);
    return {
      type: rawType & NLA_TYPE_MASK,
      nestedFlag: (rawType & NLA_F_NESTED) !== 0,
      netByteOrder: (rawType & NLA_F_NET_BYTEORDER) !== 0,
      data: this.bufOf(i).subarray(this.start(i), this.end(i)),
    };
  }

  /** Every attribute, in order, repeats included (values are views into the datagram). */
  get list(): readonly Attribute[] {
    if (this.views === undefined) {
      const views: Attribute[] = [];
      for (let i = 0; i < this.spans.length / 3; i++) views.push(this.view(i));
      this.views = views;
    }
    return this.views;
  }

  has(type: number): boolean {
    return this.last[type] !== undefined;
  }

  raw(type: number): Buffer | undefined {
    const i = this.last[type];
    return i === undefined ? undefined : this.bufOf(i).subarray(this.start(i), this.end(i));
  }

  /** The index of the last attribute of `type` after checking it holds `size` bytes, or -1 if absent. */
  private sized(type: number, size: number, what: string): number {
    const i = this.last[type];
    if (i === undefined) return -1;
    const length = this.end(i) - this.start(i);
    if (length < size) throw new DecodeError(`attribute ${type} holds ${length} bytes, a ${what} needs ${size}`, 0);
    return i;
  }

  u8(type: number): number | undefined {
    const i = this.sized(type, 1, 'u8');
    return i < 0 ? undefined : this.bufOf(i).readUInt8(this.start(i));
  }

  u16(type: number): number | undefined {
    const i = this.sized(type, 2, 'u16');
    return i < 0 ? undefined : this.bufOf(i).readUInt16LE(this.start(i));
  }

  u16be(type: number): number | undefined {
    const i = this.sized(type, 2, 'u16');
    return i < 0 ? undefined : this.bufOf(i).readUInt16BE(this.start(i));
  }

  u32(type: number): number | undefined {
    const i = this.sized(type, 4, 'u32');
    return i < 0 ? undefined : this.bufOf(i).readUInt32LE(this.start(i));
  }

  u32be(type: number): number | undefined {
    const i = this.sized(type, 4, 'u32');
    return i < 0 ? undefined : this.bufOf(i).readUInt32BE(this.start(i));
  }

  u64(type: number): bigint | undefined {
    const i = this.sized(type, 8, 'u64');
    if (i < 0) return undefined;
    const buf = this.bufOf(i);
    const at = this.start(i);
    // Most counters of a table dump are small or zero: no BigInt arithmetic (and for 0 no allocation).
    if (buf.readUInt32LE(at + 4) === 0) {
      const low = buf.readUInt32LE(at);
      return low === 0 ? 0n : BigInt(low);
    }
    return buf.readBigUInt64LE(at);
  }

  /** A string, up to its first NUL (the kernel NUL-terminates; a missing NUL is tolerated). */
  string(type: number): string | undefined {
    const i = this.last[type];
    if (i === undefined) return undefined;
    const buf = this.bufOf(i);
    const start = this.start(i);
    const end = this.end(i);
    let nul = start;
    while (nul < end && buf[nul] !== 0) nul++;
    return buf.toString('utf8', start, nul);
  }

  nested(type: number): Attributes | undefined {
    const i = this.last[type];
    if (i === undefined) return undefined;
    try {
      return Attributes.parseRange(this.bufOf(i), this.start(i), this.end(i));
    } catch (err) {
      if (err instanceof DecodeError) throw new DecodeError(`inside nested attribute ${type}: ${err.reason}`, err.offset);
      throw err;
    }
  }

  /**
   * Walk the attributes inside nested attribute `type` without building an Attributes for them: `visit`
   * gets each one's type (flags masked off) and where its value sits. The same checks (and errors) as
   * nested(). False when the attribute is absent.
   */
  scanNested(type: number, visit: (type: number, buf: Buffer, start: number, end: number) => void): boolean {
    const i = this.last[type];
    if (i === undefined) return false;
    const buf = this.bufOf(i);
    const where = `inside nested attribute ${type}: `;
    walkAttributes(buf, this.start(i), this.end(i), (start, end, rawType) => visit(rawType & NLA_TYPE_MASK, buf, start, end), where);
    return true;
  }

  /** Attributes whose types are not in `known`, to be carried along rather than dropped. */
  unknown(known: ReadonlySet<number>): Attribute[] {
    if (this.views !== undefined) return this.views.filter((a) => !known.has(a.type));
    const out: Attribute[] = [];
    for (let i = 0; i < this.spans.length / 3; i++) {
      if (!known.has(this.rawType(i) & NLA_TYPE_MASK)) out.push(this.view(i));
    }
    return out;
  }
}
