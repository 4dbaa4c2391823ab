// The netlink message writer: one growable buffer into which whole messages (nlmsghdr, genlmsghdr,
// attributes, nested attributes) are appended, with lengths back-patched once each body is written.
// Several messages can be written back to back so a batch goes to the kernel in one write.
// Each writer is owned by one caller; nothing here is shared at module level.

import { NLA_ALIGNTO, NLA_F_NESTED, NLA_HDRLEN, NLMSG_HDRLEN, GENL_HDRLEN } from './constants.js';

const align4 = (n: number): number => (n + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);

/** nla_len is a u16: an attribute (header included) can never exceed this. */
const NLA_MAX_LEN = 0xffff;

function tooLong(type: number, length: number): RangeError {
  return new RangeError(`netlink attribute ${type & 0x3fff} would be ${length} bytes; an attribute holds at most ${NLA_MAX_LEN}`);
}

/** The range check Buffer's writeUInt8/16 make, with the same RangeError code, for the by-index writes. */
function checkInt(value: number, max: number): void {
  if (value > max || value < 0) {
    throw Object.assign(new RangeError(`The value of "value" is out of range. It must be >= 0 and <= ${max}. Received ${value}`), { code: 'ERR_OUT_OF_RANGE' });
  }
}

export class MessageWriter {
  private buf: Buffer;
  private pos = 0;
  /** Offsets of the headers whose length is still open (messages and nested attributes). */
  private readonly open: number[] = [];

  constructor(initialSize = 512) {
    this.buf = Buffer.alloc(initialSize);
  }

  get length(): number {
    return this.pos;
  }

  private reserve(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length;
    while (size < need) size = Math.ceil(size * 1.5) + 16;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Start a netlink message; close it with {@link endMessage}. Returns the message's offset. */
  beginMessage(type: number, flags: number, seq: number, portId: number): number {
    this.reserve(NLMSG_HDRLEN);
    const at = this.pos;
    this.buf.writeUInt32LE(0, at);
    this.buf.writeUInt16LE(type, at + 4);
    this.buf.writeUInt16LE(flags, at + 6);
    this.buf.writeUInt32LE(seq >>> 0, at + 8);
    this.buf.writeUInt32LE(portId >>> 0, at + 12);
    this.pos += NLMSG_HDRLEN;
    this.open.push(at);
    return at;
  }

  endMessage(): void {
    const at = this.open.pop();
    if (at === undefined) throw new Error('endMessage without beginMessage');
    this.buf.writeUInt32LE(this.pos - at, at);
  }

  /** The generic-netlink header: command, version, reserved. */
  genlHeader(cmd: number, version: number): void {
    this.reserve(GENL_HDRLEN);
    this.buf.writeUInt8(cmd, this.pos);
    this.buf.writeUInt8(version, this.pos + 1);
    this.buf.writeUInt16LE(0, this.pos + 2);
    this.pos += GENL_HDRLEN;
  }

  /** Raw bytes inside the current message body (e.g. an nlmsgerr payload), padded to 4 bytes. */
  raw(data: Uint8Array): void {
    const padded = align4(data.length);
    this.reserve(padded);
    this.buf.set(data, this.pos);
    this.buf.fill(0, this.pos + data.length, this.pos + padded);
    this.pos += padded;
  }

  // The hot paths below write bytes by index rather than through Buffer's write* methods and fill():
  // a batch of thousands of requests is mostly small attributes, where the methods' argument checks and
  // (for fill and set) the call into C++ cost more than the bytes themselves.

  private attrHeader(type: number, payloadLength: number): number {
    const total = NLA_HDRLEN + payloadLength;
    if (total > NLA_MAX_LEN) throw tooLong(type, total);
    this.reserve(align4(total));
    const at = this.pos;
    const b = this.buf;
    b[at] = total & 0xff;
    b[at + 1] = total >>> 8;
    b[at + 2] = type & 0xff;
    b[at + 3] = (type >>> 8) & 0xff;
    this.pos += NLA_HDRLEN;
    return at;
  }

  private padTo4(): void {
    const b = this.buf;
    while ((this.pos & 3) !== 0) b[this.pos++] = 0;
  }

  u8(type: number, value: number): void {
    checkInt(value, 0xff);
    this.attrHeader(type, 1);
    const b = this.buf;
    b[this.pos] = value;
    b[this.pos + 1] = 0;
    b[this.pos + 2] = 0;
    b[this.pos + 3] = 0;
    this.pos += 4;
  }

  u16(type: number, value: number): void {
    checkInt(value, 0xffff);
    this.attrHeader(type, 2);
    const b = this.buf;
    b[this.pos] = value & 0xff;
    b[this.pos + 1] = value >>> 8;
    b[this.pos + 2] = 0;
    b[this.pos + 3] = 0;
    this.pos += 4;
  }

  /** A 16-bit value in network byte order (ports). */
  u16be(type: number, value: number): void {
    checkInt(value, 0xffff);
    this.attrHeader(type, 2);
    const b = this.buf;
    b[this.pos] = value >>> 8;
    b[this.pos + 1] = value & 0xff;
    b[this.pos + 2] = 0;
    b[this.pos + 3] = 0;
    this.pos += 4;
  }

  u32(type: number, value: number): void {
    this.attrHeader(type, 4);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  /** A 32-bit value in network byte order (IPv4 netmasks). */
  u32be(type: number, value: number): void {
    this.attrHeader(type, 4);
    this.buf.writeUInt32BE(value >>> 0, this.pos);
    this.pos += 4;
  }

  /** An attribute holding consecutive host-order u32 values (a C struct of u32s, e.g. struct ip_vs_flags). */
  u32s(type: number, ...values: number[]): void {
    this.attrHeader(type, 4 * values.length);
    for (const v of values) {
      this.buf.writeUInt32LE(v >>> 0, this.pos);
      this.pos += 4;
    }
  }

  u64(type: number, value: bigint): void {
    this.attrHeader(type, 8);
    this.buf.writeBigUInt64LE(value, this.pos);
    this.pos += 8;
  }

  /** A NUL-terminated string, as the kernel's NLA_NUL_STRING/NLA_STRING policies expect. */
  string(type: number, value: string): void {
    // Short ASCII strings (scheduler and engine names) are copied by hand; anything else through UTF-8.
    let ascii = value.length <= 32;
    for (let i = 0; ascii && i < value.length; i++) if (value.charCodeAt(i) > 0x7f) ascii = false;
    const len = ascii ? value.length : Buffer.byteLength(value, 'utf8');
    this.attrHeader(type, len + 1);
    const b = this.buf;
    if (ascii) for (let i = 0; i < len; i++) b[this.pos + i] = value.charCodeAt(i);
    else b.write(value, this.pos, 'utf8');
    b[this.pos + len] = 0;
    this.pos += len + 1;
    this.padTo4();
  }

  /** The first `length` bytes of `value` (all of it by default). */
  bytes(type: number, value: Uint8Array, length = value.length): void {
    if (length > value.length) throw new RangeError(`bytes: ${length} bytes asked of a ${value.length}-byte value`);
    this.attrHeader(type, length);
    const b = this.buf;
    if (length <= 16) for (let i = 0; i < length; i++) b[this.pos + i] = value[i] as number;
    else b.set(value.subarray(0, length), this.pos);
    this.pos += length;
    this.padTo4();
  }

  flag(type: number): void {
    this.attrHeader(type, 0);
  }

  /**
   * A nested attribute whose body is written by `body`. Requests set NLA_F_NESTED (the kernel's IPVS
   * parser accepts both); the kernel's own IPVS replies do not, so the fake kernel passes `false`.
   */
  nested(type: number, body: (w: this) => void, markNested = true): void {
    const at = this.attrHeader(markNested ? type | NLA_F_NESTED : type, 0);
    body(this);
    const total = this.pos - at;
    if (total > NLA_MAX_LEN) throw tooLong(type, total);
    this.buf.writeUInt16LE(total, at);
  }

  /**
   * The bytes [start, end) written so far, without a copy: a view that later writes may move away from
   * (the buffer grows by reallocation), so read it before writing again.
   */
  view(start = 0, end = this.pos): Buffer {
    if (start < 0 || end > this.pos || start > end) throw new RangeError(`view [${start}, ${end}) of ${this.pos} bytes written`);
    return this.buf.subarray(start, end);
  }

  /** Copy of everything written so far. */
  toBuffer(): Buffer {
    if (this.open.length !== 0) throw new Error('toBuffer with an unfinished message');
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** Forget what was written after the first `length` bytes (e.g. a message that failed half way). */
  truncate(length: number): void {
    if (length < 0 || length > this.pos) throw new RangeError(`truncate to ${length} of ${this.pos} bytes written`);
    this.pos = length;
    this.open.length = 0;
  }

  /** Forget the contents but keep the allocated buffer. */
  reset(): void {
    this.pos = 0;
    this.open.length = 0;
  }
}
