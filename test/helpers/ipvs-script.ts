// A scripted IPVS "kernel" for client tests: a Transport that answers the nlctrl family lookup by itself
// and hands every IPVS request to a plain function `request -> reply datagrams`, with small composable
// answers (ack, errno with extended ack, a single reply, a multi-part dump). It can hold its replies
// until the test releases them, to check what the client sends before it is answered. Bytes come from
// the test-only builders (netlink-bytes.ts, ipvs-bytes.ts); nothing here uses the library's codecs.
// Unlike the fake kernel (src/testing) it keeps no table: each test scripts exactly what it needs.

import type { Transport, TransportReceiver } from '../../src/netlink/transport.js';
import { ipvsMsg } from './ipvs-bytes.js';
import {
  F_DUMP_INTR, F_MULTI, NLMSG_ERROR, ack, cat, done, familyReply, nlmsgerr, splitMessages, type Part, type RawHeader,
} from './netlink-bytes.js';

const GENL_ID_CTRL = 0x10;

export interface IpvsRequest extends RawHeader {
  /** The generic-netlink command. */
  cmd: number;
  version: number;
  /** Everything after the genl header: the request's attributes. */
  attrs: Buffer;
}

export type Handler = (req: IpvsRequest, k: ScriptedIpvs) => Buffer | Buffer[] | undefined;

export interface ScriptedIpvsOptions {
  familyId?: number;
  familyVersion?: number;
  /** nlctrl answers ENOENT for "IPVS", as without the ip_vs module. */
  familyMissing?: boolean;
  portId?: number;
  receiveBufferSize?: number;
  /** Answers every IPVS request; default: an ACK. */
  handler?: Handler;
  /** Keep IPVS replies until release() instead of delivering them right after the send. */
  manual?: boolean;
}

export class ScriptedIpvs implements Transport {
  readonly portId: number;
  readonly receiveBufferSize: number;
  readonly familyId: number;
  readonly familyVersion: number;
  familyMissing: boolean;
  handler: Handler;
  manual: boolean;
  /** Every datagram written, in order (the family lookup included). */
  readonly sent: Buffer[] = [];
  /** Every IPVS request message, in order. */
  readonly requests: IpvsRequest[] = [];
  closed = 0;
  private receiver: TransportReceiver | undefined;
  private held: Buffer[] = [];

  constructor(o: ScriptedIpvsOptions = {}) {
    this.portId = o.portId ?? 777;
    this.receiveBufferSize = o.receiveBufferSize ?? 212_992;
    this.familyId = o.familyId ?? 0x1c;
    this.familyVersion = o.familyVersion ?? 1;
    this.familyMissing = o.familyMissing ?? false;
    this.handler = o.handler ?? ((req) => this.ack(req));
    this.manual = o.manual ?? false;
  }

  attach(receiver: TransportReceiver): void {
    this.receiver = receiver;
  }

  send(datagram: Uint8Array): Promise<void> {
    const copy = Buffer.from(datagram);
    this.sent.push(copy);
    const replies: Buffer[] = [];
    const lookups: Buffer[] = [];
    for (const h of splitMessages(copy)) {
      if (h.type === GENL_ID_CTRL) {
        lookups.push(...this.answerFamily(h)); // answered at once, even in manual mode
        continue;
      }
      const req: IpvsRequest = { ...h, cmd: h.bytes[16] ?? 0, version: h.bytes[17] ?? 0, attrs: h.bytes.subarray(20) };
      this.requests.push(req);
      const r = this.handler(req, this);
      if (r !== undefined) replies.push(...(Array.isArray(r) ? r : [r]));
    }
    if (this.manual) this.held.push(...replies);
    const now = this.manual ? lookups : [...lookups, ...replies];
    if (now.length > 0) queueMicrotask(() => now.forEach((r) => this.deliver(r)));
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed++;
  }

  /** Deliver the replies held so far (manual mode). */
  release(): void {
    const held = this.held.splice(0);
    for (const r of held) this.deliver(r);
  }

  get heldCount(): number {
    return this.held.length;
  }

  deliver(datagram: Uint8Array): void {
    if (!this.receiver) throw new Error('deliver before attach');
    this.receiver.datagram(Buffer.from(datagram));
  }

  /** IPVS request messages of one command. */
  requestsOf(cmd: number): IpvsRequest[] {
    return this.requests.filter((r) => r.cmd === cmd);
  }

  last(): IpvsRequest {
    const r = this.requests[this.requests.length - 1];
    if (!r) throw new Error('no IPVS request yet');
    return r;
  }

  // Answers

  ack(req: IpvsRequest): Buffer {
    return ack(req.seq, this.portId);
  }

  /** NLMSG_ERROR with a positive errno, the request's header echoed (NETLINK_CAP_ACK), an optional extended ack. */
  error(req: IpvsRequest, errno: number, extack?: string): Buffer {
    return nlmsgerr({ seq: req.seq, pid: this.portId, errno, request: req.bytes, capped: true, ...(extack === undefined ? {} : { extack: { msg: extack } }) });
  }

  /** A single reply message (command `cmd`) and the ACK after it, in one datagram, as genlmsg_reply + netlink_ack. */
  reply(req: IpvsRequest, cmd: number, ...attrs: Part[]): Buffer {
    return cat(ipvsMsg({ family: this.familyId, cmd, seq: req.seq, pid: this.portId }, ...attrs), ack(req.seq, this.portId));
  }

  /**
   * A multi-part dump: one NLM_F_MULTI message per entry (each entry is the attributes of one message),
   * `perDatagram` messages per datagram, then NLMSG_DONE; `intr` flags every part NLM_F_DUMP_INTR.
   */
  dump(req: IpvsRequest, cmd: number, entries: Part[], opts: { perDatagram?: number; intr?: boolean } = {}): Buffer[] {
    const per = opts.perDatagram ?? 64;
    const flags = F_MULTI | (opts.intr ? F_DUMP_INTR : 0);
    const msgs = entries.map((e) => ipvsMsg({ family: this.familyId, cmd, seq: req.seq, pid: this.portId, flags }, e));
    const out: Buffer[] = [];
    for (let i = 0; i < msgs.length; i += per) out.push(cat(...msgs.slice(i, i + per)));
    out.push(done(req.seq, { pid: this.portId, flags: opts.intr ? F_DUMP_INTR : 0 }));
    return out;
  }

  private answerFamily(h: RawHeader): Buffer[] {
    if (this.familyMissing) return [nlmsgerr({ seq: h.seq, pid: this.portId, errno: 2, request: h.bytes, capped: true })];
    return [cat(
      familyReply({ seq: h.seq, pid: this.portId, name: 'IPVS', id: this.familyId, version: this.familyVersion, maxattr: 6 }),
      ack(h.seq, this.portId),
    )];
  }
}

/** Whether a datagram holds an NLMSG_ERROR with a non-zero errno (for assertions on raw replies). */
export function isErrorReply(b: Buffer): boolean {
  return b.readUInt16LE(4) === NLMSG_ERROR && b.readInt32LE(16) !== 0;
}
