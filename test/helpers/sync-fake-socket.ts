// A socket on the fake kernel that answers as the kernel socket does (native/socket.ts), not as the fake's own
// transport: the kernel handles a datagram inside send(), the replies are there when it returns, and the engine
// reads them with receive() and exchange() without an event-loop turn; one ACK per datagram
// (answersInOrder). A dump's next part is built when a datagram is read, as netlink_recvmsg() does. So a bulk
// job runs from start to end without the event loop turning unless the engine yields: what the tests of its
// yielding need. `onMessages` is told of every datagram the kernel handles or the engine reads, by its number
// of netlink messages (a test's clock).
// With `poll`, it also delivers as the `netlink` package's poll does, which the kernel socket keeps as its
// fallback: on each turn of the event loop, up to 32 waiting datagrams handed to the receiver at once (what
// happens when the loop turns in the middle of a dump). Faults other than dropped replies are not modelled.

import type { ExchangeResult, Transport, TransportReceiver } from '../../src/netlink/transport.js';
import type { FakeKernel } from '../../src/testing/index.js';
import type { Exchange, FakeSocketHost } from '../../src/testing/fake-transport.js';
import type { SocketView } from '../../src/testing/fake-netlink.js';

export class SyncFakeSocket implements Transport {
  readonly portId: number;
  readonly receiveBufferSize: number;
  readonly answersInOrder = true;
  /** Calls of each path, for assertions. */
  readonly calls = { send: 0, receive: 0, exchange: 0 };
  /** Datagrams delivered by the poll (see `poll`). */
  polled = 0;
  /** Called for every datagram sent or read, with its number of netlink messages. */
  onMessages: (count: number) => void = () => undefined;
  private receiver: TransportReceiver | undefined;
  private readonly queue: Buffer[] = [];
  private dumpNext: (() => Buffer) | undefined;
  private readonly view: SocketView;
  private readonly host: FakeSocketHost['exchange'];
  private readonly socket: Transport;

  private polling: NodeJS.Immediate | undefined;

  constructor(
    kernel: FakeKernel,
    receiveBufferSize = 1 << 20,
    /** Deliver waiting datagrams on each turn of the event loop, as the package's poll (see above). */
    private readonly poll = false,
  ) {
    // A socket of the kernel's own, for its port id (and its release at close); its replies go unused.
    this.socket = kernel.transport();
    this.portId = this.socket.portId;
    this.receiveBufferSize = receiveBufferSize;
    this.view = { portId: this.portId, capAck: true, extAck: true, dumpRunning: false };
    // The kernel side of a socket is not public: what the fake's transport calls, taken from the kernel.
    const k = kernel as unknown as FakeSocketHost;
    this.host = (datagram, sock) => k.exchange(datagram, sock);
  }

  attach(receiver: TransportReceiver): void {
    this.receiver = receiver;
  }

  private handle(datagram: Uint8Array): void {
    this.onMessages(messageCount(datagram));
    for (const x of this.host(Buffer.from(datagram), this.view) as Exchange[]) {
      if (x.effect?.kind === 'drop' || x.effect?.kind === 'overflow') {
        if (x.next !== undefined) this.view.dumpRunning = false;
        continue;
      }
      this.queue.push(...x.datagrams);
      if (x.next !== undefined) this.dumpNext = x.next;
    }
    if (this.poll) this.polling ??= setImmediate(() => this.pollOnce());
  }

  private pollOnce(): void {
    this.polling = undefined;
    for (let n = 0; n < 32; n++) {
      const d = this.next();
      if (d === undefined) return;
      this.polled++;
      this.receiver?.datagram(d);
    }
    this.polling = setImmediate(() => this.pollOnce());
  }

  /** The next waiting datagram; reading it has a running dump's next part built. */
  private next(): Buffer | undefined {
    const d = this.queue.shift();
    if (d === undefined) return undefined;
    this.onMessages(messageCount(d));
    if (this.dumpNext !== undefined && this.view.dumpRunning) this.queue.push(this.dumpNext());
    if (!this.view.dumpRunning) this.dumpNext = undefined;
    return d;
  }

  send(datagram: Uint8Array): Promise<void> {
    this.calls.send++;
    this.handle(datagram);
    return Promise.resolve();
  }

  receive(): boolean {
    this.calls.receive++;
    const d = this.next();
    if (d === undefined) return false;
    this.receiver?.datagram(d);
    return true;
  }

  /**
   * As the kernel socket's recvmmsg: up to four waiting datagrams read at a time and handed to `take`; those
   * read after the one that satisfied it go to the receiver.
   */
  private takeWaiting(take: (view: Buffer) => boolean): ExchangeResult {
    for (;;) {
      const read: Buffer[] = [];
      for (let d = this.next(); d !== undefined; d = read.length < 4 ? this.next() : undefined) read.push(d);
      if (read.length === 0) return 'partial';
      for (let i = 0; i < read.length; i++) {
        if (!take(read[i] as Buffer)) continue;
        for (const rest of read.slice(i + 1)) this.receiver?.datagram(rest);
        return 'done';
      }
    }
  }

  exchange(datagram: Uint8Array, take: (view: Buffer) => boolean): ExchangeResult {
    this.calls.exchange++;
    this.handle(datagram);
    return this.takeWaiting(take);
  }

  async close(): Promise<void> {
    this.queue.length = 0;
    if (this.polling !== undefined) clearImmediate(this.polling);
    await this.socket.close();
  }
}

/** The netlink messages in a datagram (each nlmsg_len, padded to 4 bytes). */
function messageCount(datagram: Uint8Array): number {
  const b = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  let n = 0;
  for (let at = 0; at + 16 <= b.length; n++) {
    const len = b.readUInt32LE(at);
    if (len < 16) return n + 1;
    at += (len + 3) & ~3;
  }
  return n;
}
