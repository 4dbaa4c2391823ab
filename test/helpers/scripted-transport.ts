// A scripted, in-memory Transport for engine tests: it records every datagram the engine writes and
// lets a test answer with exact bytes, whenever and in whatever order it likes (synchronously from a
// `respond` script, or later through `deliver`). It also records hold() calls and can inject socket
// errors and failing sends. It is not the fake kernel (src/testing/): it knows no family, only bytes.

import type { Transport, TransportReceiver } from '../../src/netlink/transport.js';
import { splitMessages, type RawHeader } from './netlink-bytes.js';

export type Script = (request: RawHeader, transport: ScriptedTransport) => Uint8Array | Uint8Array[] | undefined | void;

export class ScriptedTransport implements Transport {
  readonly portId: number;
  readonly receiveBufferSize: number;
  /** Every datagram written by the engine, in order. */
  readonly sent: Buffer[] = [];
  /** Every hold(busy) call, in order. */
  readonly holds: boolean[] = [];
  closeCalls = 0;
  attachCalls = 0;
  /** Answers each request message; returned datagrams are delivered synchronously after the send resolves. */
  respond: Script | undefined;
  /** When set, the next send fails with this (asynchronously, as a socket would). */
  failNextSend: Error | undefined;
  /** When set, the next send throws synchronously (a broken transport). */
  throwNextSend: Error | undefined;
  private receiver: TransportReceiver | undefined;
  private waiters: (() => void)[] = [];

  constructor(options: { portId?: number; receiveBufferSize?: number; respond?: Script } = {}) {
    this.portId = options.portId ?? 4242;
    this.receiveBufferSize = options.receiveBufferSize ?? 212_992;
    this.respond = options.respond;
  }

  attach(receiver: TransportReceiver): void {
    this.attachCalls++;
    this.receiver = receiver;
  }

  send(datagram: Uint8Array): Promise<void> {
    if (this.throwNextSend) {
      const err = this.throwNextSend;
      this.throwNextSend = undefined;
      throw err;
    }
    const copy = Buffer.from(datagram);
    this.sent.push(copy);
    for (const w of this.waiters.splice(0)) w();
    if (this.failNextSend) {
      const err = this.failNextSend;
      this.failNextSend = undefined;
      return Promise.reject(err);
    }
    const script = this.respond;
    if (script) {
      const replies: Uint8Array[] = [];
      for (const req of splitMessages(copy)) {
        const r = script(req, this);
        if (r === undefined) continue;
        if (Array.isArray(r)) replies.push(...r);
        else replies.push(r as Uint8Array);
      }
      // Like a kernel: the answer arrives after the write returns, in a later turn.
      queueMicrotask(() => {
        for (const r of replies) this.deliver(r);
      });
    }
    return Promise.resolve();
  }

  hold(busy: boolean): void {
    this.holds.push(busy);
  }

  async close(): Promise<void> {
    this.closeCalls++;
  }

  /** Hand the engine one datagram, as the socket's 'message' event would. */
  deliver(datagram: Uint8Array): void {
    if (!this.receiver) throw new Error('deliver before attach');
    this.receiver.datagram(Buffer.from(datagram));
  }

  /** Report a socket error, as the kernel socket does (ENOBUFS non-fatal, others fatal). */
  error(err: Error & { code?: string; errno?: number }, fatal: boolean): void {
    if (!this.receiver) throw new Error('error before attach');
    this.receiver.error(err, fatal);
  }

  /** The message headers of every datagram sent so far, flattened. */
  requests(): RawHeader[] {
    return this.sent.flatMap((d) => splitMessages(d));
  }

  /** The most recent request message. */
  last(): RawHeader {
    const all = this.requests();
    const r = all[all.length - 1];
    if (!r) throw new Error('nothing sent yet');
    return r;
  }

  /** Resolves once `count` datagrams in total have been sent. */
  async waitForSends(count: number): Promise<void> {
    while (this.sent.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

/** An errno-carrying error shaped like the `netlink` package's ErrnoException. */
export function errnoError(code: string, errno: number, syscall = 'recvmsg'): Error & { code: string; errno: number; syscall: string } {
  return Object.assign(new Error(`${syscall}: ${code}`), { code, errno, syscall });
}
