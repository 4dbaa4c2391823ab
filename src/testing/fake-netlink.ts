// The fake kernel's netlink and generic-netlink core, after net/netlink/af_netlink.c and genetlink.c:
// a datagram is walked message by message (stopping silently at one whose length does not fit); a
// message without NLM_F_REQUEST, or of a control type, is only acknowledged if asked; a request goes
// to its family (ENOENT if none), needs a generic header (EINVAL), a known command (EOPNOTSUPP), the
// admin capability (EPERM), a doit or a dumpit for what it asks (EOPNOTSUPP), one dump at a time per
// socket (EBUSY), and, for a doit, top-level attributes that pass the family's policy. Answers are
// shaped as the kernel shapes them: one datagram per reply, an NLMSG_ERROR that is an ACK (error 0,
// capped) only when NLM_F_ACK was set, errors always, the request header (or, without NETLINK_CAP_ACK,
// the whole request) echoed, extended-ack TLVs with NETLINK_EXT_ACK, and dumps packed into datagrams of
// a byte budget, each part NLM_F_MULTI, closed by an NLMSG_DONE of its own.

import {
  GENL_HDRLEN, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_MIN_TYPE, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS,
  NLMSGERR_ATTR_POLICY, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTI, NLM_F_REQUEST,
} from '../netlink/constants.js';
import type { Attributes } from '../netlink/reader.js';
import { MessageWriter } from '../netlink/writer.js';
import { EBUSY, EINTR, EINVAL, ENOENT, EOPNOTSUPP, EPERM, FakeErrno, type FakeExtack } from './fake-errno.js';
import { parseAttributes, type Policy } from './fake-policy.js';

export const GENL_ADMIN_PERM = 0x01;
export const GENL_CMD_CAP_DO = 0x02;
export const GENL_CMD_CAP_DUMP = 0x04;
export const GENL_CMD_CAP_HASPOL = 0x08;

/** One request message as the kernel sees it. */
export interface GenlRequest {
  type: number;
  flags: number;
  seq: number;
  portId: number;
  cmd: number;
  version: number;
  /** The whole message (header included), a view of the datagram. */
  message: Buffer;
  /** The attributes after the generic header. */
  body: Buffer;
  /** Top-level attributes, parsed against the family policy (doit only). */
  attrs: Attributes | undefined;
}

/** One reply message body: the generic-netlink command and the attributes after the header. */
export interface ReplyBody {
  cmd: number;
  write: (w: MessageWriter) => void;
}

export interface DumpResult<T = unknown> {
  items: readonly T[];
  /** The reply message for one item, built only when the part that carries it is. */
  body(item: T): ReplyBody;
  /**
   * The items again from the live table, in the dump's order, for each later part: the kernel builds a
   * part only when the previous one has been read and resumes by index, so a table changed meanwhile
   * gives skipped or repeated entries. Without it the items are a snapshot.
   */
  relist?: () => readonly T[];
  /** Set on the NLMSG_DONE (an extended-ack message), as when the dump's own parsing failed. */
  extack?: FakeExtack;
}

export interface GenlOp {
  cmd: number;
  /** GENL_ADMIN_PERM or 0 */
  flags: number;
  doit?: (req: GenlRequest) => ReplyBody[];
  dumpit?: (req: GenlRequest) => DumpResult;
}

export interface GenlFamily {
  id: number;
  name: string;
  version: number;
  maxattr: number;
  policy: Policy;
  ops: readonly GenlOp[];
  /** [id, name] of the family's multicast groups. */
  mcastGroups?: readonly [number, string][];
}

/** The reporting flags of an op, as CTRL_ATTR_OP_FLAGS carries them. */
export function opFlags(family: GenlFamily, op: GenlOp): number {
  return op.flags | (op.doit ? GENL_CMD_CAP_DO : 0) | (op.dumpit ? GENL_CMD_CAP_DUMP : 0) | (family.policy.max > 0 ? GENL_CMD_CAP_HASPOL : 0);
}

/** The options of the socket a request came in on, and its dump state. */
export interface SocketView {
  portId: number;
  capAck: boolean;
  extAck: boolean;
  /** A dump is still being produced for this socket (the kernel's cb_running). */
  dumpRunning: boolean;
}

export interface CoreOptions {
  dumpBudget: number;
  u64Padding: boolean;
  /** The family for a message type (undefined: ENOENT). */
  family: (type: number) => GenlFamily | undefined;
  /** Whether the sender lacks CAP_NET_ADMIN. */
  unprivileged: () => boolean;
  /** Consume an armed dump interruption for this request. */
  interruptDump: (req: GenlRequest) => boolean;
}

/** What one request message produced. */
export interface MessageOutcome {
  datagrams: Buffer[];
  /** The datagrams are the first part of a dump (or its NLMSG_DONE, when that came first). */
  dump: boolean;
  /**
   * A dump still running: produces its next part (the last one its NLMSG_DONE, which ends it) when the
   * socket's reader has read a datagram, as netlink_recvmsg() calls netlink_dump().
   */
  next?: () => Buffer;
}

/** Split a datagram like netlink_rcv_skb(): stop, silently, at a message whose length does not fit. */
export function splitDatagram(datagram: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (datagram.length - off >= NLMSG_HDRLEN) {
    const len = datagram.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || len > datagram.length - off) break;
    out.push(datagram.subarray(off, off + len));
    off += Math.min((len + 3) & ~3, datagram.length - off);
  }
  return out;
}

/** Write the message at a datagram offset, so u64 padding lines up as it would in the kernel's skb. */
function render(base: number, fill: (w: MessageWriter) => void): Buffer {
  const w = new MessageWriter(512);
  const lead = base % 8;
  if (lead) w.raw(Buffer.alloc(lead));
  fill(w);
  return w.toBuffer().subarray(lead);
}

export class NetlinkCore {
  constructor(private readonly o: CoreOptions) {}

  /** Handle one request message; `message` is a whole nlmsg (header included). */
  handle(message: Buffer, sock: SocketView): MessageOutcome {
    const type = message.readUInt16LE(4);
    const flags = message.readUInt16LE(6);
    const seq = message.readUInt32LE(8);
    const portId = message.readUInt32LE(12);
    const ackOnly = (errno: number): MessageOutcome => ({
      datagrams: (flags & NLM_F_ACK) !== 0 || errno !== 0 ? [this.error(message, errno, sock)] : [],
      dump: false,
    });
    if ((flags & NLM_F_REQUEST) === 0 || type < NLMSG_MIN_TYPE) return ackOnly(0);
    const family = this.o.family(type);
    const cmd = message.length >= NLMSG_HDRLEN + 1 ? message.readUInt8(NLMSG_HDRLEN) : -1;
    const req: GenlRequest = {
      type, flags, seq, portId, cmd,
      version: message.length >= NLMSG_HDRLEN + 2 ? message.readUInt8(NLMSG_HDRLEN + 1) : 0,
      message,
      body: message.subarray(Math.min(message.length, NLMSG_HDRLEN + GENL_HDRLEN)),
      attrs: undefined,
    };
    const outcome: MessageOutcome = { datagrams: [], dump: false };
    try {
      if (!family) throw new FakeErrno(ENOENT);
      if (message.length < NLMSG_HDRLEN + GENL_HDRLEN) throw new FakeErrno(EINVAL);
      const op = family.ops.find((o) => o.cmd === cmd);
      if (!op) throw new FakeErrno(EOPNOTSUPP);
      if ((op.flags & GENL_ADMIN_PERM) !== 0 && this.o.unprivileged()) throw new FakeErrno(EPERM);
      if ((flags & NLM_F_DUMP) === NLM_F_DUMP) {
        if (!op.dumpit) throw new FakeErrno(EOPNOTSUPP);
        if (sock.dumpRunning) throw new FakeErrno(EBUSY);
        const result = op.dumpit(req);
        const part = this.dump(family, req, result, sock, this.o.interruptDump(req));
        const first = part();
        outcome.datagrams = [first.data];
        outcome.dump = true;
        // The first part is queued; the rest waits for the reader (netlink_dump_start leaves cb_running).
        sock.dumpRunning = !first.done;
        if (!first.done) {
          outcome.next = () => {
            const p = part();
            if (p.done) sock.dumpRunning = false;
            return p.data;
          };
        }
        return outcome; // a dump is never acked: its NLMSG_DONE ends it
      }
      if (!op.doit) throw new FakeErrno(EOPNOTSUPP);
      req.attrs = parseAttributes(req.body, family.policy, message.byteOffset);
      const replies = op.doit(req);
      outcome.datagrams = replies.map((r) => this.single(family, req, r));
      if ((flags & NLM_F_ACK) !== 0) outcome.datagrams.push(this.error(message, 0, sock));
      return outcome;
    } catch (err) {
      if (!(err instanceof FakeErrno)) throw err;
      // netlink_rcv_skb() answers a handler's -EINTR with nothing at all, not even with NLM_F_ACK.
      outcome.datagrams = err.errno === EINTR ? [] : [this.error(message, err.errno, sock, err.extack)];
      return outcome;
    }
  }

  /** A reply of a doit: genlmsg_put_reply(), flags 0, its own datagram. */
  private single(family: GenlFamily, req: GenlRequest, r: ReplyBody): Buffer {
    return render(0, (w) => {
      w.beginMessage(family.id, 0, req.seq, req.portId);
      w.genlHeader(r.cmd, family.version);
      r.write(w);
      w.endMessage();
    });
  }

  /**
   * The parts of a dump, one per call: as many messages as fit the budget, resuming at the index the
   * previous part reached (cb->args[0]) in the items as they are now; then NLMSG_DONE alone.
   */
  private dump(family: GenlFamily, req: GenlRequest, result: DumpResult, sock: SocketView, interrupted: boolean): () => { data: Buffer; done: boolean } {
    const flags = NLM_F_MULTI | (interrupted ? NLM_F_DUMP_INTR : 0);
    const message = (base: number, item: ReplyBody): Buffer => render(base, (w) => {
      w.beginMessage(family.id, flags, req.seq, req.portId);
      w.genlHeader(item.cmd, family.version);
      item.write(w);
      w.endMessage();
    });
    let index = 0;
    let calls = 0;
    return () => {
      const items = calls++ === 0 || !result.relist ? result.items : result.relist();
      const parts: Buffer[] = [];
      let size = 0;
      for (; index < items.length; index++) {
        const m = message(size, result.body(items[index]));
        if (parts.length > 0 && size + m.length > this.o.dumpBudget) break;
        parts.push(m);
        size += m.length;
      }
      if (parts.length > 0) return { data: Buffer.concat(parts), done: false };
      const tlvs = result.extack?.message !== undefined && sock.extAck;
      const done = render(0, (w) => {
        w.beginMessage(NLMSG_DONE, flags | (tlvs ? NLM_F_ACK_TLVS : 0), req.seq, req.portId);
        w.raw(Buffer.alloc(4));
        if (tlvs) w.string(NLMSGERR_ATTR_MSG, result.extack?.message ?? '');
        w.endMessage();
      });
      return { data: done, done: true };
    };
  }

  /** netlink_ack(): struct nlmsgerr, the request echoed (capped or whole), extended-ack TLVs. */
  error(request: Buffer, errno: number, sock: SocketView, extack?: FakeExtack): Buffer {
    const capped = errno === 0 || sock.capAck;
    const withTlvs = sock.extAck && extack !== undefined && (extack.message !== undefined || (errno !== 0 && (extack.offset !== undefined || extack.policy !== undefined)));
    const flags = (capped ? NLM_F_CAPPED : 0) | (withTlvs ? NLM_F_ACK_TLVS : 0);
    return render(0, (w) => {
      w.beginMessage(NLMSG_ERROR, flags, request.readUInt32LE(8), sock.portId);
      const head = Buffer.alloc(4);
      head.writeInt32LE(-errno, 0);
      w.raw(head);
      w.raw(capped ? request.subarray(0, NLMSG_HDRLEN) : request);
      if (withTlvs && extack) {
        if (extack.message !== undefined) w.string(NLMSGERR_ATTR_MSG, extack.message);
        if (errno !== 0 && extack.offset !== undefined) w.u32(NLMSGERR_ATTR_OFFS, extack.offset);
        const p = extack.policy;
        if (errno !== 0 && p) {
          // nla_nest_start(): unlike the IPVS replies, this nest carries NLA_F_NESTED.
          w.nested(NLMSGERR_ATTR_POLICY, () => {
            const u64 = (type: number, v: bigint): void => {
              if (this.o.u64Padding && (w.length + 4) % 8 !== 0) w.flag(NL_POLICY_TYPE_ATTR_PAD);
              w.u64(type, v);
            };
            if (p.minValueU !== undefined) u64(NL_POLICY_TYPE_ATTR_MIN_VALUE_U, p.minValueU);
            if (p.maxValueU !== undefined) u64(NL_POLICY_TYPE_ATTR_MAX_VALUE_U, p.maxValueU);
            if (p.maxLength !== undefined) w.u32(NL_POLICY_TYPE_ATTR_MAX_LENGTH, p.maxLength);
            w.u32(NL_POLICY_TYPE_ATTR_TYPE, p.type);
          }, true);
        }
      }
      w.endMessage();
    });
  }
}

// enum netlink_policy_type_attr
const NL_POLICY_TYPE_ATTR_TYPE = 1;
const NL_POLICY_TYPE_ATTR_MIN_VALUE_U = 4;
const NL_POLICY_TYPE_ATTR_MAX_VALUE_U = 5;
const NL_POLICY_TYPE_ATTR_MAX_LENGTH = 7;
const NL_POLICY_TYPE_ATTR_PAD = 11;
