// A test-only netlink client that sends hand-built request bytes (test/helpers/netlink-bytes.ts) over any
// Transport and collects the raw answers, datagram by datagram, without the production engine or reader:
// the wire-level conformance suite uses it to ask the fake and the real kernel exactly the same bytes.
// It also decodes attributes into plain trees (test-only code, independent of src/netlink/reader.ts), so
// replies can be compared by value while ignoring what legitimately differs between kernels
// (IPVS_STATS_ATTR_PAD attributes exist only on architectures without efficient unaligned access).

import type { Transport } from '../../src/netlink/transport.js';
import * as B from '../helpers/netlink-bytes.js';

export interface RawReply {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The whole message, header included. */
  bytes: Buffer;
  /** Which datagram (in arrival order, from 0) carried it. */
  datagram: number;
  /** For NLMSG_ERROR and NLMSG_DONE: the positive errno (0 for an ACK). */
  errno?: number;
}

export interface RequestParts {
  type: number;
  flags: number;
  cmd: number;
  version?: number;
  attrs?: readonly B.Part[];
  /** Raw body instead of genl header + attrs. */
  body?: B.Part;
}

export class RawClient {
  readonly datagrams: Buffer[] = [];
  private errors: (Error & { code?: string })[] = [];
  private seq = 1000;
  private wake: (() => void) | undefined;

  constructor(readonly transport: Transport) {
    transport.attach({
      datagram: (d) => {
        this.datagrams.push(Buffer.from(d));
        this.wake?.();
      },
      error: (err) => {
        this.errors.push(err);
        this.wake?.();
      },
    });
  }

  get portId(): number {
    return this.transport.portId;
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /** A request message with this client's port id. */
  message(p: RequestParts, seq = this.nextSeq()): Buffer {
    const body = p.body ?? B.cat(B.genl(p.cmd, p.version ?? 1), ...(p.attrs ?? []));
    return B.nlmsg({ type: p.type, flags: p.flags, seq, pid: this.portId }, body);
  }

  /** Transport errors reported so far (e.g. ENOBUFS), cleared by reading. */
  takeErrors(): (Error & { code?: string })[] {
    const e = this.errors;
    this.errors = [];
    return e;
  }

  private collect(from: number, seqs: ReadonlySet<number>): RawReply[] {
    const out: RawReply[] = [];
    this.datagrams.slice(from).forEach((d, i) => {
      for (const m of B.splitMessages(d)) {
        if (!seqs.has(m.seq)) continue;
        const final = m.type === B.NLMSG_ERROR || m.type === B.NLMSG_DONE;
        out.push({ type: m.type, flags: m.flags, seq: m.seq, pid: m.pid, bytes: m.bytes, datagram: from + i, ...(final ? { errno: -m.bytes.readInt32LE(16) | 0 } : {}) });
      }
    });
    return out;
  }

  private async waitFor(done: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 10);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    this.wake = undefined;
  }

  /**
   * Send one datagram holding `messages` and gather every answer to their sequence numbers: until each
   * has its final NLMSG_ERROR/NLMSG_DONE, then `settleMs` more for anything that should not come.
   */
  async exchange(messages: Buffer[], options: { timeoutMs?: number; settleMs?: number; expectFinal?: number } = {}): Promise<RawReply[]> {
    const seqs = new Set(messages.map((m) => m.readUInt32LE(8)));
    const from = this.datagrams.length;
    await this.transport.send(B.cat(...messages));
    const finals = options.expectFinal ?? seqs.size;
    await this.waitFor(() => this.collect(from, seqs).filter((r) => r.errno !== undefined).length >= finals, options.timeoutMs ?? 5000);
    await new Promise((r) => setTimeout(r, options.settleMs ?? 20));
    return this.collect(from, seqs);
  }

  /** One request; its answers. */
  async request(p: RequestParts, options: { timeoutMs?: number; settleMs?: number; expectFinal?: number } = {}): Promise<RawReply[]> {
    return this.exchange([this.message(p)], options);
  }

  /** The errno of a request's final answer (0: acked), failing when there is none. */
  async errno(p: RequestParts, timeoutMs?: number): Promise<number> {
    const replies = await this.request({ ...p, flags: p.flags | B.F_ACK }, timeoutMs === undefined ? {} : { timeoutMs });
    const final = replies.find((r) => r.errno !== undefined);
    if (!final) throw new Error(`no answer to cmd ${p.cmd}`);
    return final.errno as number;
  }

  /** The id nlctrl gives a family. */
  async familyId(name: string): Promise<number> {
    const replies = await this.request({ type: 0x10, flags: B.F_REQUEST | B.F_ACK, cmd: 3, version: 2, attrs: [B.str(2, name)] });
    const reply = replies.find((r) => r.type === 0x10);
    if (!reply) throw new Error(`family ${name}: ${JSON.stringify(replies.map((r) => r.errno))}`);
    const id = attrTree(reply.bytes.subarray(20)).find((a) => a.type === 1);
    if (!id) throw new Error('family reply without an id');
    return id.data.readUInt16LE(0);
  }
}

/** One attribute, decoded without src/netlink: type (flags masked off), flags, raw data. */
export interface RawAttr {
  type: number;
  nested: boolean;
  data: Buffer;
}

/** The attributes in `buf`, strictly (throws on any malformation). */
export function attrTree(buf: Buffer): RawAttr[] {
  const out: RawAttr[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 4) throw new Error(`stray bytes at ${off}`);
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2);
    if (len < 4 || off + len > buf.length) throw new Error(`bad nla_len ${len} at ${off}`);
    out.push({ type: type & 0x3fff, nested: (type & 0x8000) !== 0, data: buf.subarray(off + 4, off + len) });
    off += B.align(len);
  }
  return out;
}

/** Attribute values as plain data: containers as objects, other values as hex. */
export type Plain = string | { [type: string]: Plain };

/**
 * Decode attributes into `{ type: hex | nested }`. `isNest(path)` says whether the attribute at `path`
 * (attribute types from the top) is a container; empty attributes of the types in `pads` are dropped.
 */
export function plain(buf: Buffer, isNest: (path: readonly number[]) => boolean, pads: ReadonlySet<number> = new Set(), path: readonly number[] = []): { [type: string]: Plain } {
  const out: { [type: string]: Plain } = {};
  for (const a of attrTree(buf)) {
    if (pads.has(a.type) && a.data.length === 0) continue;
    const here = [...path, a.type];
    out[String(a.type)] = isNest(here) ? plain(a.data, isNest, pads, here) : a.data.toString('hex');
  }
  return out;
}

/** An IPVS reply's attributes as plain data: service/dest/daemon nests and their two stats nests. */
export function ipvsPlain(m: RawReply): { [type: string]: Plain } {
  const nest = (p: readonly number[]): boolean =>
    (p.length === 1 && p[0]! >= 1 && p[0]! <= 3) || (p.length === 2 && (p[0] === 1 || p[0] === 2) && (p[1] === 10 || p[1] === 12));
  // IPVS_STATS_ATTR_PAD (11) only appears inside the stats nests, where 11 is never a value.
  return plain(genlAttrs(m), nest, new Set([11]));
}

/** The generic-netlink payload of a message (after nlmsghdr and genlmsghdr). */
export function genlAttrs(m: RawReply): Buffer {
  return m.bytes.subarray(20);
}

/** The genl header of a reply: [cmd, version]. */
export function genlHeader(m: RawReply): [number, number] {
  return [m.bytes.readUInt8(16), m.bytes.readUInt8(17)];
}

/** The extended-ack TLVs of an NLMSG_ERROR or NLMSG_DONE, by type. */
export function extack(m: RawReply): { message?: string; offset?: number; policy?: RawAttr[] } {
  let start: number;
  if (m.type === B.NLMSG_DONE) start = 20;
  else start = (m.flags & B.F_CAPPED) !== 0 ? 20 + 16 : 20 + B.align(m.bytes.readUInt32LE(20));
  if ((m.flags & B.F_ACK_TLVS) === 0) return {};
  const out: { message?: string; offset?: number; policy?: RawAttr[] } = {};
  for (const a of attrTree(m.bytes.subarray(start))) {
    if (a.type === 1) out.message = a.data.toString('utf8').replace(/\0+$/, '');
    if (a.type === 2) out.offset = a.data.readUInt32LE(0);
    if (a.type === 4) out.policy = attrTree(a.data).filter((p) => p.type !== 11);
  }
  return out;
}
