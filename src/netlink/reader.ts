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
 * where each value starts and ends and its raw type word. DecodeError offsets are relative to `from`.
 */
function walkAttributes(buf: Buffer, from: number, to: number, visit: (start: number, end: number, rawType: number) => void): void {
  let off = from;
  while (off < to) {
    if (to - off < NLA_HDRLEN) {
      throw new DecodeError(`${to - off} stray bytes where an attribute header was expected`, off - from);
    }
    const len = (buf[off] as number) | ((buf[off + 1] as number) << 8);
    const rawType = (buf[off + 2] as number) | ((buf[off + 3] as number) << 8);
    if (len < NLA_HDRLEN) throw new DecodeError(`attribute length ${len} is shorter than its header`, off - from);
    if (len > to - off) throw new DecodeError(`attribute ${rawType & NLA_TYPE_MASK} of length ${len} runs past its container`, off - from);
    visit(off + NLA_HDRLEN, off + len, rawType);
    off += Math.min(align4(len), to - off);
  }
}

// Fixed-size reads of bytes already bounds-checked, as plain arithmetic: Buffer's readUInt*() methods
// are JavaScript with their own argument checks, several calls per value in code not yet optimised,
// which is how a one-shot table read runs most of the time.

/** The little-endian u16 at `at`. */
export function u16le(buf: Uint8Array, at: number): number {
  return (buf[at] as number) | ((buf[at + 1] as number) << 8);
}

/** The little-endian u32 at `at`. */
export function u32le(buf: Uint8Array, at: number): number {
  return ((buf[at] as number) | ((buf[at + 1] as number) << 8) | ((buf[at + 2] as number) << 16) | ((buf[at + 3] as number) << 24)) >>> 0;
}

function u16beAt(buf: Uint8Array, at: number): number {
  return ((buf[at] as number) << 8) | (buf[at + 1] as number);
}

function u32beAt(buf: Uint8Array, at: number): number {
  return (((buf[at] as number) << 24) | ((buf[at + 1] as number) << 16) | ((buf[at + 2] as number) << 8) | (buf[at + 3] as number)) >>> 0;
}

/** A u64 value at `at`. Most counters of a table dump are small or zero: no BigInt arithmetic (for 0 no allocation). */
function u64At(buf: Buffer, at: number): bigint {
  if (u32le(buf, at + 4) === 0) {
    const low = u32le(buf, at);
    return low === 0 ? 0n : BigInt(low);
  }
  return buf.readBigUInt64LE(at);
}

/** Copy buf[start, end) into `into`, as much as fits (a loop: values are a few bytes); the value's length. */
function copyValue(buf: Buffer, start: number, end: number, into: Uint8Array): number {
  const n = Math.min(end - start, into.length);
  for (let k = 0; k < n; k++) into[k] = buf[start + k] as number;
  return end - start;
}

/**
 * The last short string decoded, returned again when the same bytes come back: a table dump repeats one
 * scheduler's name for thousands of services, and a decode is a call into C++ (0.1 s of a 5 000-service
 * read under UML). Kept only when it has one character per byte, which makes it ASCII (an invalid byte
 * decodes to U+FFFD, which no byte equals), so equal bytes mean an equal decode.
 */
let lastString = '';
const CACHED_STRING_MAX = 32;

/** A string value up to its first NUL (the kernel NUL-terminates; a missing NUL is tolerated). */
function stringAt(buf: Buffer, start: number, end: number): string {
  let nul = start;
  while (nul < end && buf[nul] !== 0) nul++;
  const n = nul - start;
  if (n === lastString.length) {
    let k = 0;
    while (k < n && buf[start + k] === lastString.charCodeAt(k)) k++;
    if (k === n) return lastString;
  }
  const text = buf.toString('utf8', start, nul);
  if (n <= CACHED_STRING_MAX && text.length === n) lastString = text;
  return text;
}

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  portId: number;
  /** The message body after the 16-byte header (a view, not a copy). */
  payload: Buffer;
}

/**
 * Walk one datagram's messages, checking each length against the bytes present, without building them:
 * `visit` gets each message's offset and length (header included) and returns false to stop.
 */
export function walkMessages(datagram: Buffer, visit: (at: number, len: number) => boolean): void {
  let off = 0;
  while (off < datagram.length) {
    const len = messageLength(datagram, off);
    if (!visit(off, len)) return;
    off = nextMessageAt(datagram, off, len);
  }
}

/** The length of the message at `off` of a datagram, checked: it must hold its header and fit. */
export function messageLength(datagram: Buffer, off: number): number {
  if (datagram.length - off < NLMSG_HDRLEN) throw new DecodeError('truncated message header', off);
  const len = u32le(datagram, off);
  if (len < NLMSG_HDRLEN) throw new DecodeError(`message length ${len} is shorter than its header`, off);
  if (len > datagram.length - off) throw new DecodeError(`message length ${len} runs past the datagram`, off);
  return len;
}

/** Where the message after the one at `off` (of length `len`) starts; the last may omit its padding. */
export function nextMessageAt(datagram: Buffer, off: number, len: number): number {
  return off + Math.min(align4(len), datagram.length - off);
}

/** The message walkMessages found at `at`. */
export function messageAt(datagram: Buffer, at: number, len: number): NetlinkMessage {
  return {
    type: datagram.readUInt16LE(at + 4),
    flags: datagram.readUInt16LE(at + 6),
    seq: datagram.readUInt32LE(at + 8),
    portId: datagram.readUInt32LE(at + 12),
    payload: datagram.subarray(at + NLMSG_HDRLEN, at + len),
  };
}

/** Split one datagram into its messages. */
export function parseMessages(datagram: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  walkMessages(datagram, (at, len) => {
    out.push(messageAt(datagram, at, len));
    return true;
  });
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

/**
 * Load `table` with the attributes of a generic-netlink payload, buf[start, end): what follows its
 * 4-byte header (parseGenlHeader's check).
 */
export function parseGenlAttributes(table: AttributeTable, buf: Buffer, start: number, end: number): AttributeTable {
  if (end - start < GENL_HDRLEN) throw new DecodeError('truncated generic netlink header', 0);
  return table.parse(buf, start + GENL_HDRLEN, end);
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
export class Attributes implements AttributeReader {
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
  static parseRange(buf: Buffer, from: number, to: number): Attributes {
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

  length(type: number): number {
    const i = this.last[type];
    return i === undefined ? -1 : this.end(i) - this.start(i);
  }

  copy(type: number, into: Uint8Array): number {
    const i = this.last[type];
    return i === undefined ? -1 : copyValue(this.bufOf(i), this.start(i), this.end(i), into);
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
    return i < 0 ? undefined : u64At(this.bufOf(i), this.start(i));
  }

  /** A string, up to its first NUL (the kernel NUL-terminates; a missing NUL is tolerated). */
  string(type: number): string | undefined {
    const i = this.last[type];
    return i === undefined ? undefined : stringAt(this.bufOf(i), this.start(i), this.end(i));
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

/** What decoders read attributes through: an Attributes, or a reused AttributeTable on hot paths. */
export interface AttributeReader {
  has(type: number): boolean;
  raw(type: number): Buffer | undefined;
  /** Copy the value's first bytes into `into` (as many as fit); its whole length, or -1 when absent. */
  copy(type: number, into: Uint8Array): number;
  /** The value's length in bytes, or -1 when absent. */
  length(type: number): number;
  u8(type: number): number | undefined;
  u16(type: number): number | undefined;
  u16be(type: number): number | undefined;
  u32(type: number): number | undefined;
  u32be(type: number): number | undefined;
  u64(type: number): bigint | undefined;
  string(type: number): string | undefined;
  nested(type: number): AttributeReader | undefined;
  unknown(known: ReadonlySet<number>): Attribute[];
}

const EMPTY = Buffer.alloc(0);

/**
 * Where each attribute of one nest sits, in a table that is loaded again for every message instead of
 * allocated: a table dump decodes tens of thousands of nests, and an Attributes per nest (its arrays,
 * its closure) was most of what the collector then had to clear. The same checks, errors and "last one
 * wins" as Attributes. Types above `maxType` are found by a slower walk. What nested() returns is this
 * table's one child, loaded again by the next nested() call: read it before asking for another.
 */
export class AttributeTable implements AttributeReader {
  private buf: Buffer = EMPTY;
  private from = 0;
  private to = 0;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  /** The load that wrote each slot: a slot from an earlier load reads as absent, so nothing is cleared. */
  private readonly loads: Uint32Array;
  private load = 0;
  /** An attribute of a type above maxType was seen in this load. */
  private beyond = false;
  /** The types seen in this load, as bits. */
  private seen = 0;
  private child: AttributeTable | undefined;
  private fallback: Attributes | undefined;
  private readonly record = (start: number, end: number, rawType: number): void => {
    const type = rawType & NLA_TYPE_MASK;
    if (type > this.maxType) {
      this.beyond = true;
      return;
    }
    this.starts[type] = start;
    this.ends[type] = end;
    this.loads[type] = this.load;
    this.seen |= 1 << type;
  };

  /** `maxType`: the largest type held in the table, at most 31. */
  constructor(private readonly maxType: number) {
    if (!Number.isInteger(maxType) || maxType < 0 || maxType > 31) throw new RangeError(`an attribute table holds types 0..31, not ${maxType}`);
    this.starts = new Int32Array(maxType + 1);
    this.ends = new Int32Array(maxType + 1);
    this.loads = new Uint32Array(maxType + 1);
  }

  /** Record the attributes in buf[from, to); DecodeError offsets are relative to `from`. */
  parse(buf: Buffer, from: number, to: number): this {
    this.load = (this.load + 1) >>> 0 || 1;
    this.buf = buf;
    this.from = from;
    this.to = to;
    this.beyond = false;
    this.seen = 0;
    this.fallback = undefined;
    walkAttributes(buf, from, to, this.record);
    return this;
  }

  /** The whole nest as Attributes, for what the table does not hold (types above maxType, views). */
  private attributes(): Attributes {
    this.fallback ??= Attributes.parseRange(this.buf, this.from, this.to);
    return this.fallback;
  }

  private present(type: number): boolean {
    return type <= this.maxType && this.loads[type] === this.load;
  }

  /** The start of `type`'s value after checking it holds `size` bytes, or -1 when absent. */
  private sized(type: number, size: number, what: string): number {
    if (!this.present(type)) return -1;
    const start = this.starts[type] as number;
    const length = (this.ends[type] as number) - start;
    if (length < size) throw new DecodeError(`attribute ${type} holds ${length} bytes, a ${what} needs ${size}`, 0);
    return start;
  }

  has(type: number): boolean {
    return type > this.maxType ? this.beyond && this.attributes().has(type) : this.present(type);
  }

  raw(type: number): Buffer | undefined {
    if (type > this.maxType) return this.beyond ? this.attributes().raw(type) : undefined;
    return this.present(type) ? this.buf.subarray(this.starts[type], this.ends[type]) : undefined;
  }

  length(type: number): number {
    if (type > this.maxType) return this.beyond ? this.attributes().length(type) : -1;
    return this.present(type) ? (this.ends[type] as number) - (this.starts[type] as number) : -1;
  }

  copy(type: number, into: Uint8Array): number {
    if (type > this.maxType) return this.beyond ? this.attributes().copy(type, into) : -1;
    return this.present(type) ? copyValue(this.buf, this.starts[type] as number, this.ends[type] as number, into) : -1;
  }

  u8(type: number): number | undefined {
    if (type > this.maxType) return this.beyond ? this.attributes().u8(type) : undefined;
    const at = this.sized(type, 1, 'u8');
    return at < 0 ? undefined : this.buf[at];
  }

  u16(type: number): number | undefined {
    if (type > this.maxType) return this.beyond ? this.attributes().u16(type) : undefined;
    const at = this.sized(type, 2, 'u16');
    return at < 0 ? undefined : u16le(this.buf, at);
  }

  u16be(type: number): number | undefined {
    if (type > this.maxType) return this.beyond ? this.attributes().u16be(type) : undefined;
    const at = this.sized(type, 2, 'u16');
    return at < 0 ? undefined : u16beAt(this.buf, at);
  }

  u32(type: number): number | undefined {
    if (type > this.maxType) return this.beyond ? this.attributes().u32(type) : undefined;
    const at = this.sized(type, 4, 'u32');
    return at < 0 ? undefined : u32le(this.buf, at);
  }

  u32be(type: number): number | undefined {
    if (type > this.maxType) return this.beyond ? this.attributes().u32be(type) : undefined;
    const at = this.sized(type, 4, 'u32');
    return at < 0 ? undefined : u32beAt(this.buf, at);
  }

  u64(type: number): bigint | undefined {
    if (type > this.maxType) return this.beyond ? this.attributes().u64(type) : undefined;
    const at = this.sized(type, 8, 'u64');
    return at < 0 ? undefined : u64At(this.buf, at);
  }

  string(type: number): string | undefined {
    if (type > this.maxType) return this.beyond ? this.attributes().string(type) : undefined;
    if (!this.present(type)) return undefined;
    return stringAt(this.buf, this.starts[type] as number, this.ends[type] as number);
  }

  nested(type: number): AttributeReader | undefined {
    if (type > this.maxType) return this.beyond ? this.attributes().nested(type) : undefined;
    if (!this.present(type)) return undefined;
    this.child ??= new AttributeTable(this.maxType);
    try {
      return this.child.parse(this.buf, this.starts[type] as number, this.ends[type] as number);
    } catch (err) {
      if (err instanceof DecodeError) throw new DecodeError(`inside nested attribute ${type}: ${err.reason}`, err.offset);
      throw err;
    }
  }

  /** Attributes whose types are not in `known`; without a walk when every type seen is in `known`. */
  unknown(known: ReadonlySet<number>): Attribute[] {
    if (!this.beyond && (this.seen & ~typeMask(known)) === 0) return NO_ATTRIBUTES;
    return this.attributes().unknown(known);
  }
}

/** What unknown() returns when every type is known; never written to (keepUnknown only reads it). */
const NO_ATTRIBUTES = Object.freeze([]) as unknown as Attribute[];

const TYPE_MASKS = new WeakMap<ReadonlySet<number>, number>();
let lastTypes: ReadonlySet<number> | undefined;
let lastMask = 0;

/** The types 0..31 of a set as bits: tables hold up to 32 types, and decoders pass the same few sets. */
function typeMask(types: ReadonlySet<number>): number {
  // A dump passes the same set for every message: no WeakMap lookup (a runtime call in cold code) for it.
  if (types === lastTypes) return lastMask;
  let mask = TYPE_MASKS.get(types);
  if (mask === undefined) {
    mask = 0;
    for (const t of types) if (t >= 0 && t <= 31) mask |= 1 << t;
    TYPE_MASKS.set(types, mask);
  }
  lastTypes = types;
  lastMask = mask;
  return mask;
}

