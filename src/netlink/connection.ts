// The request engine: sequence numbers, many requests in flight on one transport, ACK/ERROR matching,
// multi-part dumps (streamed, with NLM_F_DUMP_INTR detection), per-request timeouts and AbortSignals,
// and batches of many requests written in one datagram. It knows netlink, not IPVS.

import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from './constants.js';
import { AbortError, ClosedError, DecodeError, DumpInterruptedError, IpvsError, KernelError, TimeoutError } from './errors.js';
import { Attributes, parseMessages, type NetlinkMessage } from './reader.js';
import type { Transport } from './transport.js';
import { MessageWriter } from './writer.js';

export interface RequestOptions {
  /** Milliseconds to wait for the final answer; default: the connection's `timeoutMs`. 0 waits forever. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** What a request is, for errors: the operation and the object it was about. */
export interface RequestLabel {
  operation: string;
  object?: string;
}

/** A request to encode: message type, flags besides REQUEST/ACK/DUMP, and a body writer. */
export interface OutgoingRequest {
  type: number;
  /** Extra nlmsg flags (e.g. NLM_F_CREATE); REQUEST and ACK (or DUMP) are added by the engine. */
  flags?: number;
  /** Writes the body after the netlink header (for generic netlink: the genl header and attributes). */
  body: (w: MessageWriter) => void;
  label: RequestLabel;
  /** Map a kernel refusal to a friendlier error; return undefined to keep the generic KernelError. */
  mapError?: (err: KernelError) => Error | undefined;
}

export interface ConnectionOptions {
  /** Default per-request timeout in ms (default 30 000; 0 disables). */
  timeoutMs?: number;
}

/** An NLMSG_ERROR payload decoded: errno (0 for an ACK) and the extended-ack details. */
export interface ErrorPayload {
  errno: number;
  extack?: string;
  extackOffset?: number;
}

export function parseErrorPayload(msg: NetlinkMessage): ErrorPayload {
  const p = msg.payload;
  if (p.length < 4) throw new DecodeError('truncated NLMSG_ERROR', 0);
  const error = p.readInt32LE(0);
  const out: ErrorPayload = { errno: -error };
  if ((msg.flags & NLM_F_ACK_TLVS) !== 0 && p.length >= 4 + NLMSG_HDRLEN) {
    const origLen = p.readUInt32LE(4);
    const tlvStart = (msg.flags & NLM_F_CAPPED) !== 0 ? 4 + NLMSG_HDRLEN : 4 + ((origLen + 3) & ~3);
    if (tlvStart <= p.length) {
      const tlvs = Attributes.parse(p.subarray(tlvStart));
      const text = tlvs.string(NLMSGERR_ATTR_MSG);
      const offs = tlvs.u32(NLMSGERR_ATTR_OFFS);
      if (text !== undefined && text !== '') out.extack = text;
      if (offs !== undefined) out.extackOffset = offs;
    }
  }
  return out;
}

type Pending = AckPending | DumpPending;

interface PendingBase {
  seq: number;
  label: RequestLabel;
  mapError: ((err: KernelError) => Error | undefined) | undefined;
  timer: NodeJS.Timeout | undefined;
  detachAbort: (() => void) | undefined;
}

interface AckPending extends PendingBase {
  kind: 'ack';
  replies: NetlinkMessage[];
  resolve: (replies: NetlinkMessage[]) => void;
  reject: (err: Error) => void;
}

interface DumpPending extends PendingBase {
  kind: 'dump';
  queue: NetlinkMessage[];
  interrupted: boolean;
  done: boolean;
  /** The consumer stopped early: swallow the rest until DONE. */
  discarding: boolean;
  failure: Error | undefined;
  wake: (() => void) | undefined;
}

export class NetlinkConnection {
  readonly transport: Transport;
  private readonly timeoutMs: number;
  private readonly pending = new Map<number, Pending>();
  private seq: number;
  private closed = false;
  private fatal: Error | undefined;
  private readonly writer = new MessageWriter(4096);

  constructor(transport: Transport, options: ConnectionOptions = {}) {
    this.transport = transport;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.seq = (Math.random() * 0x3fffffff) >>> 0;
    transport.attach({
      datagram: (data) => this.onDatagram(data),
      error: (err, fatal) => this.onTransportError(err, fatal),
    });
  }

  get portId(): number {
    return this.transport.portId;
  }

  /** Number of requests waiting for an answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    if (this.seq === 0) this.seq = 1;
    return this.seq;
  }

  private encode(w: MessageWriter, req: OutgoingRequest, seq: number, dump: boolean): void {
    const flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK) | (req.flags ?? 0);
    w.beginMessage(req.type, flags, seq, this.transport.portId);
    req.body(w);
    w.endMessage();
  }

  private checkOpen(label: RequestLabel): void {
    if (this.closed) throw new ClosedError(label.operation);
    if (this.fatal) throw this.fatal;
  }

  /** Send one request and wait for its ACK; resolves with any data replies that came before it. */
  request(req: OutgoingRequest, options: RequestOptions = {}): Promise<NetlinkMessage[]> {
    const [p] = this.batch([req], options);
    return p as Promise<NetlinkMessage[]>;
  }

  /**
   * Write many requests in ONE datagram. The kernel processes each message in turn and acks each;
   * every request gets its own promise, settled by its own ACK or ERROR. The caller keeps batches
   * small enough for the replies to fit the receive buffer (see `Transport.receiveBufferSize`).
   */
  batch(reqs: readonly OutgoingRequest[], options: RequestOptions = {}): Promise<NetlinkMessage[]>[] {
    if (reqs.length === 0) return [];
    const first = reqs[0] as OutgoingRequest;
    try {
      this.checkOpen(first.label);
      options.signal?.throwIfAborted();
    } catch (err) {
      const e = options.signal?.aborted && !(err instanceof IpvsError) ? new AbortError(first.label.operation, { cause: err }) : err;
      return reqs.map(() => Promise.reject(e));
    }
    const w = this.writer;
    w.reset();
    const promises: Promise<NetlinkMessage[]>[] = [];
    const entries: AckPending[] = [];
    for (const req of reqs) {
      const seq = this.nextSeq();
      this.encode(w, req, seq, false);
      promises.push(
        new Promise<NetlinkMessage[]>((resolve, reject) => {
          const entry: AckPending = {
            kind: 'ack', seq, label: req.label, mapError: req.mapError, timer: undefined, detachAbort: undefined,
            replies: [], resolve, reject,
          };
          entries.push(entry);
        }),
      );
    }
    const datagram = w.toBuffer();
    for (const entry of entries) this.register(entry, options);
    this.transport.send(datagram).catch((err: unknown) => {
      for (const entry of entries) this.fail(entry, wrapSendError(err, entry.label));
    });
    return promises;
  }

  /**
   * A dump, streamed: messages are yielded as datagrams arrive. The request is sent when iteration
   * starts. Stopping early is safe: the rest of the dump is read and dropped.
   */
  dump(req: OutgoingRequest, options: RequestOptions = {}): AsyncIterable<NetlinkMessage> {
    return {
      [Symbol.asyncIterator]: () => this.startDump(req, options),
    };
  }

  private startDump(req: OutgoingRequest, options: RequestOptions): AsyncIterator<NetlinkMessage> {
    let entry: DumpPending | undefined;
    let startError: unknown;
    try {
      this.checkOpen(req.label);
      options.signal?.throwIfAborted();
      const seq = this.nextSeq();
      const w = new MessageWriter(128);
      this.encode(w, req, seq, true);
      const datagram = w.toBuffer();
      entry = {
        kind: 'dump', seq, label: req.label, mapError: req.mapError, timer: undefined, detachAbort: undefined,
        queue: [], interrupted: false, done: false, discarding: false, failure: undefined, wake: undefined,
      };
      const e = entry;
      this.register(e, options);
      this.transport.send(datagram).catch((err: unknown) => this.fail(e, wrapSendError(err, e.label)));
    } catch (err) {
      startError = options.signal?.aborted && !(err instanceof IpvsError) ? new AbortError(req.label.operation, { cause: err }) : err;
    }
    const it: AsyncIterator<NetlinkMessage> = {
      next: async (): Promise<IteratorResult<NetlinkMessage>> => {
        if (startError !== undefined) throw startError;
        const e = entry as DumpPending;
        for (;;) {
          const msg = e.queue.shift();
          if (msg !== undefined) return { value: msg, done: false };
          if (e.failure) throw e.failure;
          if (e.done) return { value: undefined, done: true };
          await new Promise<void>((resolve) => {
            e.wake = resolve;
          });
        }
      },
      return: async (): Promise<IteratorResult<NetlinkMessage>> => {
        const e = entry;
        if (e && !e.done && !e.failure) {
          e.discarding = true;
          e.queue.length = 0;
        }
        return { value: undefined, done: true };
      },
    };
    return it;
  }

  private register(entry: Pending, options: RequestOptions): void {
    this.pending.set(entry.seq, entry);
    if (this.pending.size === 1) this.transport.hold?.(true);
    const ms = options.timeoutMs ?? this.timeoutMs;
    if (ms > 0) {
      entry.timer = setTimeout(() => this.fail(entry, new TimeoutError(entry.label.operation, ms)), ms);
      entry.timer.unref?.();
    }
    const signal = options.signal;
    if (signal) {
      const onAbort = (): void => this.fail(entry, new AbortError(entry.label.operation, { cause: signal.reason }));
      signal.addEventListener('abort', onAbort, { once: true });
      entry.detachAbort = () => signal.removeEventListener('abort', onAbort);
    }
  }

  private forget(seq: number): void {
    if (this.pending.delete(seq) && this.pending.size === 0) this.transport.hold?.(false);
  }

  private settle(entry: Pending): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.detachAbort?.();
    entry.timer = undefined;
    entry.detachAbort = undefined;
  }

  /** End a request with an error. A failed dump keeps its seq registered so late parts are dropped. */
  private fail(entry: Pending, err: Error): void {
    if (this.pending.get(entry.seq) !== entry) return;
    this.settle(entry);
    if (entry.kind === 'ack') {
      this.forget(entry.seq);
      entry.reject(err);
    } else {
      if (entry.done) return;
      entry.failure = err;
      entry.discarding = true;
      entry.queue.length = 0;
      entry.wake?.();
      entry.wake = undefined;
      // Remove once the kernel would have finished; late parts before that are ignored.
      if (err instanceof TimeoutError || err instanceof AbortError || err instanceof ClosedError) this.forget(entry.seq);
    }
  }

  private kernelError(entry: Pending, payload: ErrorPayload): Error {
    const err = new KernelError({
      errno: payload.errno,
      operation: entry.label.operation,
      object: entry.label.object,
      extack: payload.extack,
      extackOffset: payload.extackOffset,
      seq: entry.seq,
    });
    return entry.mapError?.(err) ?? err;
  }

  private onDatagram(data: Buffer): void {
    let messages: NetlinkMessage[];
    try {
      messages = parseMessages(data);
    } catch (err) {
      // A datagram we cannot split cannot be attributed to a request; everyone waiting learns of it.
      this.onTransportError(err as Error, false);
      return;
    }
    for (const msg of messages) {
      const entry = this.pending.get(msg.seq);
      if (entry === undefined) continue; // late reply of a timed-out or aborted request
      try {
        if (entry.kind === 'ack') this.onAckMessage(entry, msg);
        else this.onDumpMessage(entry, msg);
      } catch (err) {
        this.fail(entry, err as Error);
      }
    }
  }

  private onAckMessage(entry: AckPending, msg: NetlinkMessage): void {
    if (msg.type === NLMSG_ERROR) {
      const payload = parseErrorPayload(msg);
      this.settle(entry);
      this.forget(entry.seq);
      if (payload.errno === 0) entry.resolve(entry.replies);
      else entry.reject(this.kernelError(entry, payload));
      return;
    }
    if (msg.type === NLMSG_NOOP || msg.type === NLMSG_OVERRUN) return;
    entry.replies.push(msg);
  }

  private onDumpMessage(entry: DumpPending, msg: NetlinkMessage): void {
    if ((msg.flags & NLM_F_DUMP_INTR) !== 0) entry.interrupted = true;
    if (msg.type === NLMSG_DONE || msg.type === NLMSG_ERROR) {
      this.settle(entry);
      this.forget(entry.seq);
      const errno = msg.type === NLMSG_ERROR ? parseErrorPayload(msg).errno : doneErrno(msg);
      if (!entry.discarding && !entry.failure) {
        if (errno !== 0) {
          entry.failure = this.kernelError(entry, msg.type === NLMSG_ERROR ? parseErrorPayload(msg) : { errno });
        } else if (entry.interrupted) {
          entry.failure = new DumpInterruptedError(entry.label.operation);
        }
      }
      entry.done = true;
      entry.wake?.();
      entry.wake = undefined;
      return;
    }
    if (msg.type === NLMSG_NOOP || msg.type === NLMSG_OVERRUN) return;
    if (entry.discarding) return;
    entry.queue.push(msg);
    entry.wake?.();
    entry.wake = undefined;
  }

  private onTransportError(err: Error & { code?: string }, fatal: boolean): void {
    if (fatal) this.fatal = err;
    // ENOBUFS: replies were dropped; we cannot know whose, so every waiting request fails with it.
    for (const entry of [...this.pending.values()]) {
      if (entry.kind === 'dump' && entry.discarding) continue;
      this.fail(entry, toIpvsError(err, entry.label));
    }
  }

  /** Fail everything in flight with ClosedError and release the transport. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const entry of [...this.pending.values()]) this.fail(entry, new ClosedError(entry.label.operation));
    this.pending.clear();
    await this.transport.close();
  }
}

function doneErrno(msg: NetlinkMessage): number {
  // NLMSG_DONE carries an int: 0, or a negative errno when the dump itself failed.
  if (msg.payload.length < 4) return 0;
  return -msg.payload.readInt32LE(0);
}

function toIpvsError(err: Error & { code?: string; errno?: number }, label: RequestLabel): Error {
  if (err instanceof IpvsError) return err;
  if (typeof err.errno === 'number' && err.errno !== 0) {
    return new KernelError({
      errno: Math.abs(err.errno),
      operation: label.operation,
      object: label.object,
      message: err.code === 'ENOBUFS'
        ? `${label.operation}${label.object ? ` ${label.object}` : ''}: replies were dropped because the socket receive buffer overflowed; the outcome is unknown, read the table back`
        : undefined,
    });
  }
  return err;
}

function wrapSendError(err: unknown, label: RequestLabel): Error {
  return err instanceof Error ? toIpvsError(err as Error & { code?: string }, label) : new IpvsError(String(err), 'EIO');
}
