// A test-only netlink byte builder, written straight from the kernel's uapi layouts
// (include/uapi/linux/netlink.h: struct nlmsghdr, struct nlattr, struct nlmsgerr; genetlink.h:
// struct genlmsghdr) and deliberately shaped unlike src/netlink/writer.ts: values are composed
// bottom-up from plain byte arrays and every length is computed from the finished children, with
// no growable buffer and no back-patching. Expected bytes in tests come from here (or from hex
// literals), never from the production writer, so a mistake in one cannot hide in the other.

export type Part = Uint8Array | readonly number[];

/** Concatenate byte parts into one Buffer. */
export function cat(...parts: readonly Part[]): Buffer {
  return Buffer.concat(parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p))));
}

/** Parse a hex dump such as "10 00 00 00 ff" (whitespace and `|` ignored). */
export function hex(text: string): Buffer {
  const clean = text.replace(/[\s|]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error(`bad hex: ${text}`);
  return Buffer.from(clean, 'hex');
}

/** Print bytes as groups of 4, one nlattr/nlmsghdr word per group: handy in failure messages. */
export function dump(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return h.replace(/(.{8})/g, '$1 ').trim();
}

// Little-endian (host order on every Linux platform we target) and big-endian (network order) scalars,
// spelled out byte by byte rather than through Buffer's write helpers.
export const le16 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff];
export const be16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];
export const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
export const be32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
export function le64(v: bigint): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  for (let i = 0; i < 8; i++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
  return out;
}

/** NLA_ALIGN / NLMSG_ALIGN: round up to a multiple of 4. */
export const align = (n: number): number => Math.ceil(n / 4) * 4;

/** Zero bytes that bring `length` up to the next multiple of 4. */
export const padding = (length: number): number[] => new Array<number>(align(length) - length).fill(0);

export const F_NESTED = 0x8000; // NLA_F_NESTED
export const F_NET_BYTEORDER = 0x4000; // NLA_F_NET_BYTEORDER

/**
 * One nlattr: { u16 nla_len; u16 nla_type } + payload + padding. nla_len counts the header and the
 * payload but not the padding, exactly as the kernel's nla_put does.
 */
export function nlattr(type: number, payload: Part): Buffer {
  const body = cat(payload);
  const len = 4 + body.length;
  if (len > 0xffff) throw new Error('attribute too long for the test builder');
  return cat(le16(len), le16(type), body, padding(len));
}

export const u8 = (type: number, v: number): Buffer => nlattr(type, [v & 0xff]);
export const u16 = (type: number, v: number): Buffer => nlattr(type, le16(v));
export const u16be = (type: number, v: number): Buffer => nlattr(type, be16(v));
export const u32 = (type: number, v: number): Buffer => nlattr(type, le32(v));
export const u32be = (type: number, v: number): Buffer => nlattr(type, be32(v));
export const u64 = (type: number, v: bigint): Buffer => nlattr(type, le64(v));
/** NLA_NUL_STRING: UTF-8 bytes followed by one NUL, which nla_len counts. */
export const str = (type: number, s: string): Buffer => nlattr(type, cat(Buffer.from(s, 'utf8'), [0]));
export const bin = (type: number, b: Part): Buffer => nlattr(type, b);
/** NLA_FLAG: present or absent, no payload. */
export const flag = (type: number): Buffer => nlattr(type, []);
/** A nested attribute with NLA_F_NESTED set, as requests carry it. */
export const nest = (type: number, ...children: Part[]): Buffer => nlattr(type | F_NESTED, cat(...children));
/** A nested attribute without NLA_F_NESTED, as the kernel's IPVS replies (nla_nest_start_noflag). */
export const nestNoFlag = (type: number, ...children: Part[]): Buffer => nlattr(type, cat(...children));

/** struct genlmsghdr { u8 cmd; u8 version; u16 reserved; } */
export const genl = (cmd: number, version: number): number[] => [cmd & 0xff, version & 0xff, 0, 0];

export interface Header {
  type: number;
  flags?: number;
  seq?: number;
  pid?: number;
}

/**
 * One netlink message: struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid } + body.
 * nlmsg_len counts the header and the body; the body's own trailing padding (if any) is added after,
 * as NLMSG_ALIGN does between messages. `unpadded` leaves it off (legal for the last message).
 */
export function nlmsg(h: Header, body: Part = [], unpadded = false): Buffer {
  const b = cat(body);
  const len = 16 + b.length;
  return cat(le32(len), le16(h.type), le16(h.flags ?? 0), le32(h.seq ?? 0), le32(h.pid ?? 0), b, unpadded ? [] : padding(len));
}

// Netlink control message types and flags (netlink.h), repeated here on purpose rather than imported.
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;
export const F_REQUEST = 0x01;
export const F_MULTI = 0x02;
export const F_ACK = 0x04;
export const F_DUMP_INTR = 0x10;
export const F_DUMP = 0x300;
export const F_CAPPED = 0x100;
export const F_ACK_TLVS = 0x200;

export interface ErrorOptions {
  seq: number;
  /** Destination port (our socket's port id). */
  pid?: number;
  /** 0 for an ACK, else the positive errno (sent negated, as the kernel does). */
  errno?: number;
  /**
   * The request being answered. Echoed whole unless `capped` (then only its 16-byte header), which is
   * how the kernel builds struct nlmsgerr in netlink_ack().
   */
  request?: Uint8Array;
  capped?: boolean;
  /** Extended-ack TLVs (NLMSGERR_ATTR_MSG = 1, NLMSGERR_ATTR_OFFS = 2); sets NLM_F_ACK_TLVS. */
  extack?: { msg?: string; offs?: number; extra?: Part };
  /** Flags to add to the NLMSG_ERROR header. */
  flags?: number;
}

function extackTlvs(e: NonNullable<ErrorOptions['extack']>): Buffer {
  return cat(
    e.msg !== undefined ? str(1, e.msg) : [],
    e.offs !== undefined ? u32(2, e.offs) : [],
    e.extra ?? [],
  );
}

/** An NLMSG_ERROR (or ACK) message: struct nlmsgerr { int error; struct nlmsghdr msg; } [+ request body] [+ TLVs]. */
export function nlmsgerr(o: ErrorOptions): Buffer {
  const given = o.request;
  const request = given ? Buffer.from(given.buffer, given.byteOffset, given.byteLength) : nlmsg({ type: 0x10, flags: F_REQUEST | F_ACK, seq: o.seq, pid: o.pid ?? 0 });
  const capped = o.capped ?? true;
  const echoed = capped ? request.subarray(0, 16) : cat(request.subarray(0, request.readUInt32LE(0)), padding(request.readUInt32LE(0)));
  let flags = o.flags ?? 0;
  if (capped) flags |= F_CAPPED;
  const tlvs = o.extack ? extackTlvs(o.extack) : Buffer.alloc(0);
  if (o.extack) flags |= F_ACK_TLVS;
  const errno = o.errno ?? 0;
  return nlmsg({ type: NLMSG_ERROR, flags, seq: o.seq, pid: o.pid ?? 0 }, cat(le32(-errno | 0), echoed, tlvs));
}

/** The ACK for one request: NLMSG_ERROR with error 0 (the kernel caps successful acks). */
export const ack = (seq: number, pid = 0): Buffer => nlmsgerr({ seq, pid, errno: 0 });

/** NLMSG_DONE ending a dump: NLM_F_MULTI, an int (0 or -errno), optional extended-ack TLVs. */
export function done(seq: number, opts: { pid?: number; errno?: number; flags?: number; extackMsg?: string } = {}): Buffer {
  let flags = F_MULTI | (opts.flags ?? 0);
  if (opts.extackMsg !== undefined) flags |= F_ACK_TLVS;
  return nlmsg(
    { type: NLMSG_DONE, flags, seq, pid: opts.pid ?? 0 },
    cat(le32(-(opts.errno ?? 0) | 0), opts.extackMsg !== undefined ? str(1, opts.extackMsg) : []),
  );
}

/** The fixed fields of one message header, read without the production reader. */
export interface RawHeader {
  len: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The whole message (header and body, without inter-message padding). */
  bytes: Buffer;
}

/** Split a datagram the way the kernel's netlink_rcv_skb walks it; throws on anything odd. */
export function splitMessages(datagram: Uint8Array): RawHeader[] {
  const b = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const out: RawHeader[] = [];
  let off = 0;
  while (off < b.length) {
    const len = b.readUInt32LE(off);
    if (len < 16 || off + len > b.length) throw new Error(`bad nlmsg_len ${len} at ${off}`);
    out.push({
      len,
      type: b.readUInt16LE(off + 4),
      flags: b.readUInt16LE(off + 6),
      seq: b.readUInt32LE(off + 8),
      pid: b.readUInt32LE(off + 12),
      bytes: b.subarray(off, off + len),
    });
    off += align(len);
  }
  return out;
}

export interface FamilyReplyOptions {
  seq: number;
  pid?: number;
  name: string;
  id: number;
  version?: number;
  hdrsize?: number;
  maxattr?: number;
  /** [op id, op flags] pairs, listed as the kernel does: CTRL_ATTR_OPS > (index from 1) > OP_ID, OP_FLAGS. */
  ops?: [number, number][];
  /** [group id, group name] pairs: CTRL_ATTR_MCAST_GROUPS > (index from 1) > MCAST_GRP_ID, MCAST_GRP_NAME. */
  groups?: [number, string][];
}

/**
 * A CTRL_CMD_NEWFAMILY reply shaped like the kernel's ctrl_fill_info(): nlmsg type GENL_ID_CTRL (0x10),
 * genl cmd 1 version 2, then FAMILY_NAME(2), FAMILY_ID(1, u16), VERSION(3), HDRSIZE(4), MAXATTR(5) as u32,
 * OPS(6) and MCAST_GROUPS(7) as nests without NLA_F_NESTED (nla_nest_start_noflag).
 */
export function familyReply(o: FamilyReplyOptions): Buffer {
  const ops = o.ops ?? [];
  const groups = o.groups ?? [];
  return nlmsg(
    { type: 0x10, flags: 0, seq: o.seq, pid: o.pid ?? 0 },
    cat(
      genl(1, 2),
      str(2, o.name),
      u16(1, o.id),
      u32(3, o.version ?? 1),
      u32(4, o.hdrsize ?? 0),
      u32(5, o.maxattr ?? 0),
      ops.length ? nestNoFlag(6, ...ops.map(([id, flags], i) => nestNoFlag(i + 1, u32(1, id), u32(2, flags)))) : [],
      groups.length ? nestNoFlag(7, ...groups.map(([id, name], i) => nestNoFlag(i + 1, u32(2, id), str(1, name)))) : [],
    ),
  );
}
