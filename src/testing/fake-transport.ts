// One "socket" on the fake kernel. Like a netlink socket it has a port id, socket options
// (NETLINK_CAP_ACK, NETLINK_EXT_ACK, the receive buffer), a receive queue and at most one dump in
// progress. The kernel handles a written datagram at once, as sendmsg() does; replies are queued and
// handed to the receiver asynchronously, one datagram per event-loop turn. Only a dump's first part is
// queued at once: as netlink_recvmsg() does, reading a datagram while a dump runs (and the queue holds
// at most half the receive buffer) has the kernel build the next part from the table as it is then and
// put it at the tail of the queue, behind the answers to requests sent after the dump; the dump runs
// until its NLMSG_DONE has been built. Replies that would overflow the receive buffer are dropped and
// reported as a non-fatal ENOBUFS before the next datagram, as KernelSocketTransport reports the
// socket's drops; a dump's parts never are (see enqueueDump).

import { setImmediate as realSetImmediate } from 'node:timers';
import type { Transport, TransportReceiver } from '../netlink/transport.js';
import { ValidationError } from '../ipvs/errors.js';
import { ENOBUFS } from './fake-errno.js';
import type { FaultEffect } from './fake-faults.js';
import type { SocketView } from './fake-netlink.js';

export interface FakeTransportOptions {
  /** Echo only the header of a refused request (NETLINK_CAP_ACK). Default true, as KernelSocketTransport. */
  capAck?: boolean;
  /** Extended-ack TLVs on errors (NETLINK_EXT_ACK). Default true, as KernelSocketTransport. */
  extendedAck?: boolean;
  /**
   * The receive buffer in bytes (default 1 MiB; at least 2304, Linux's SOCK_MIN_RCVBUF, to which a smaller value
   * is raised as the kernel raises it); replies beyond it are dropped with ENOBUFS.
   */
  receiveBufferSize?: number;
}

/** What the kernel answered to one request message, and the fault that hit it, if any. */
export interface Exchange {
  datagrams: Buffer[];
  dump: boolean;
  /** A dump still running: builds its next part (see MessageOutcome.next). */
  next?: () => Buffer;
  effect: Exclude<FaultEffect, { kind: 'errno' }> | undefined;
}

/** The kernel side of a transport. */
export interface FakeSocketHost {
  exchange(datagram: Buffer, sock: SocketView): Exchange[];
  release(portId: number): void;
}

/**
 * The event loop's own setImmediate, from node:timers and taken when this module loads: a test that fakes
 * timers (vi.useFakeTimers(), whose defaults include setImmediate) still gets its answers without moving its
 * clock, as from the kernel, whose answers depend on no timer of the process. Not the global one, which a
 * test runner's setup file that fakes timers for every test has replaced before this module loads.
 */
const nextTurn = realSetImmediate;

/** Datagrams drain() hands over at most: a running dump of a huge table is left to the events after that. */
const DRAIN_LIMIT = 65536;

/** Linux's smallest receive buffer (SOCK_MIN_RCVBUF on x86-64: 2048 bytes and an sk_buff). */
const SOCK_MIN_RCVBUF = 2304;

/** The kernel's charge for a queued datagram (skb truesize): its bytes plus the buffer overhead. */
const SKB_OVERHEAD = 640;

interface Queued {
  data: Buffer;
  cost: number;
}

export class FakeTransport implements Transport {
  readonly portId: number;
  readonly receiveBufferSize: number;
  private readonly view: SocketView;
  private receiver: TransportReceiver | undefined;
  private readonly queue: Queued[] = [];
  private queued = 0;
  private overflowed = 0;
  /** The running dump's next part, built when a datagram is read. */
  private dumpNext: (() => Buffer) | undefined;
  private pumping = false;
  private closed = false;
  /** Replies held back by delayReplies(): cancelled on close (a closed socket holds nothing) and on reset. */
  private readonly delayed = new Set<NodeJS.Timeout>();

  constructor(private readonly host: FakeSocketHost, portId: number, options: FakeTransportOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new ValidationError('FakeTransportOptions', options, 'must be an object');
    const { receiveBufferSize = 1 << 20, capAck = true, extendedAck = true } = options;
    if (typeof receiveBufferSize !== 'number' || !Number.isInteger(receiveBufferSize) || receiveBufferSize < 1) {
      throw new ValidationError('FakeTransportOptions.receiveBufferSize', receiveBufferSize, 'must be an integer number of bytes, 1 or more');
    }
    for (const [name, value] of [['capAck', capAck], ['extendedAck', extendedAck]] as const) {
      if (typeof value !== 'boolean') throw new ValidationError(`FakeTransportOptions.${name}`, value, 'must be true or false');
    }
    this.portId = portId;
    // sock_setsockopt(SO_RCVBUF) never sets less than SOCK_MIN_RCVBUF: a smaller buffer would drop even the
    // second answer to a lone request (the family lookup's ACK), which no kernel socket does.
    this.receiveBufferSize = Math.max(receiveBufferSize, SOCK_MIN_RCVBUF);
    this.view = { portId, capAck, extAck: extendedAck, dumpRunning: false };
  }

  attach(receiver: TransportReceiver): void {
    this.receiver = receiver;
  }

  async send(datagram: Uint8Array): Promise<void> {
    if (this.closed) throw Object.assign(new Error('sendmsg: the fake netlink socket is closed'), { code: 'EBADF', errno: 9 });
    const exchanges = this.host.exchange(Buffer.from(datagram), this.view);
    for (const x of exchanges) this.accept(x);
  }

  private accept(x: Exchange): void {
    const running = x.next !== undefined;
    const kind = x.effect?.kind;
    if (kind === 'drop') {
      // A dump never answered is over as far as this socket can tell (no kernel does this: a dump's
      // parts are never lost, so a reader waits for its end; see FakeKernel.dropReplies).
      if (running) this.view.dumpRunning = false;
      return;
    }
    if (kind === 'overflow' && !x.dump) {
      this.overflowed += x.datagrams.length;
      this.pump();
      return;
    }
    const enqueue = (): void => {
      if (this.closed) return;
      if (x.dump) {
        this.enqueueDump(x, kind === 'overflow');
        return;
      }
      for (const data of x.datagrams) {
        if (this.queued > this.receiveBufferSize) this.overflowed++;
        else this.push(data);
      }
      this.pump();
    };
    if (x.effect?.kind === 'delay') {
      const timer = setTimeout(() => {
        this.delayed.delete(timer);
        enqueue();
      }, x.effect.ms);
      this.delayed.add(timer);
    } else {
      enqueue();
    }
  }

  /**
   * A dump's first part (or its lone NLMSG_DONE). Linux never drops a dump's part: netlink_dump() finds the
   * receive buffer full before it builds one, returns ENOBUFS (its error reply is then dropped, so the
   * reader sees ENOBUFS) and leaves the dump running, to be built on a later read. So an overflow, faked
   * or real, reports ENOBUFS and the dump goes on to its NLMSG_DONE, which a reader that gave up on it
   * reads and drops before its next listing, at once, as on the kernel.
   */
  private enqueueDump(x: Exchange, overflow: boolean): void {
    const full = this.queued > this.receiveBufferSize;
    if (overflow || full) this.overflowed++;
    const [first] = x.datagrams;
    if (first !== undefined && full) {
      // Built when a read has brought the queue down to half the buffer, as netlink_recvmsg() does.
      const next = x.next;
      this.view.dumpRunning = true;
      this.dumpNext = () => {
        if (next === undefined) this.view.dumpRunning = false;
        this.dumpNext = next;
        return first;
      };
    } else {
      if (first !== undefined) this.push(first);
      if (x.next !== undefined) this.dumpNext = x.next;
    }
    this.pump();
  }

  private push(data: Buffer): void {
    const cost = data.length + SKB_OVERHEAD;
    this.queued += cost;
    this.queue.push({ data, cost });
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    nextTurn(() => this.deliverOne());
  }

  private deliverOne(): void {
    this.pumping = false;
    if (this.closed) return;
    if (this.overflowed > 0) {
      const lost = this.overflowed;
      this.overflowed = 0;
      const err = Object.assign(new Error(`recvmsg: ${lost} netlink message(s) dropped, the receive buffer overflowed (ENOBUFS)`), {
        code: 'ENOBUFS', errno: ENOBUFS, syscall: 'recvmsg',
      });
      this.receiver?.error(err, false);
    }
    const next = this.queue.shift();
    if (next) {
      this.queued -= next.cost;
      // netlink_recvmsg(): the next part of a running dump is built before the read returns.
      if (this.dumpNext && this.view.dumpRunning && this.queued <= this.receiveBufferSize / 2) {
        this.push(this.dumpNext());
        if (!this.view.dumpRunning) this.dumpNext = undefined;
      } else if (!this.view.dumpRunning) {
        this.dumpNext = undefined;
      }
      this.receiver?.datagram(next.data);
    }
    if (this.queue.length > 0 || this.overflowed > 0) this.pump();
  }

  /**
   * Hand the receiver every datagram queued, now (Transport.drain), building a running dump's parts as
   * reads do: what the client reads away after an overflow, where the kernel socket reads synchronously.
   */
  drain(): void {
    for (let n = 0; n < DRAIN_LIMIT && !this.closed && (this.queue.length > 0 || this.overflowed > 0); n++) this.deliverOne();
  }

  /** Drop the replies delayReplies() still holds back: they are never delivered. */
  cancelDelayed(): void {
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelDelayed();
    this.queue.length = 0;
    this.queued = 0;
    this.dumpNext = undefined;
    this.host.release(this.portId);
  }
}
