// The one seam between the request engine and a kernel. A transport moves whole datagrams: the engine
// writes one buffer (which may hold many netlink messages, which the kernel handles in order),
// and the transport hands back every datagram the kernel (or the fake kernel) sends. Sequence
// matching, timeouts and dumps live in the engine, above this seam, so the kernel socket and the fake
// behave identically from there up.

export interface TransportReceiver {
  /** One datagram from the kernel; it may hold several netlink messages. */
  datagram(data: Buffer): void;
  /**
   * An error on the socket. `fatal` errors end the transport; others (e.g. ENOBUFS, replies dropped
   * because the receive buffer overflowed) are reported and the transport keeps working.
   */
  error(err: Error & { code?: string }, fatal: boolean): void;
}

export interface Transport {
  /** The netlink port id of this end (nlmsg_pid in requests). */
  readonly portId: number;
  /** The receive buffer size in bytes, used to size pipelined batches so no reply is dropped. */
  readonly receiveBufferSize: number;
  /** Set the single receiver. Called once by the engine before the first send. */
  attach(receiver: TransportReceiver): void;
  /**
   * Write one datagram. Resolves when it is handed to the kernel. The engine may write its next datagram
   * into the same memory once every request in this one is answered (execute() does, window after
   * window): a transport that needs the bytes later must copy them.
   */
  send(datagram: Uint8Array): Promise<void>;
  /**
   * Keep the process alive while `busy` (requests are waiting), let it exit when idle, so a script
   * that forgets close() does not hang. Optional: transports with nothing to hold omit it.
   */
  hold?(busy: boolean): void;
  /** Release the socket. Idempotent. */
  close(): Promise<void>;
  /**
   * Optional synchronous read: hand the receiver the next datagram if one is already waiting and return
   * true, or return false at once. The kernel answers a netlink request inside sendmsg(2), so the reply
   * is usually there as soon as send() returns; reading it here saves the event-loop turn (and its
   * system calls) per round trip. The engine only calls it while a request waits, and for a dump only
   * when its consumer asks for more (or another listing waits behind it), so a big dump is still read as
   * fast as it is consumed.
   */
  receive?(): boolean;
  /**
   * The peer handles the messages of one datagram in order and answers each failure before handling the
   * next, as the kernel does (netlink_rcv_skb). The engine then asks for an ACK of the LAST message of a
   * batch only: when it arrives, every earlier message without an ERROR has succeeded. One reply per
   * batch instead of one per request. Transports that cannot promise this leave it unset. (The one
   * exception in the kernel: a command that returns -EINTR gets no reply at all, which only stopping a
   * sync daemon does; such requests must be sent alone, as request() does.)
   */
  readonly answersInOrder?: boolean;
  /** The largest datagram the peer accepts (the kernel: the socket's send buffer); batches are split to fit. */
  readonly maxDatagramSize?: number;
  /**
   * Optional synchronous round trip, for a peer that answers inside the send (the kernel, which also
   * produces each next part of a dump while the previous one is read): write `datagram`, then hand every
   * datagram already waiting to `take` until it returns true. The view is valid only during the call, and
   * so is `datagram` (the engine writes its next request into the same memory).
   * Returns 'done' when `take` said so (anything read after it goes to the receiver), 'partial' when
   * nothing more was waiting first (the rest comes through the receiver as usual), 'unsupported' when it
   * sent nothing (use send()), or the error that ended it. Datagrams from anyone but the peer are skipped.
   */
  exchange?(datagram: Uint8Array, take: (view: Buffer) => boolean): ExchangeResult;
  /**
   * Optional, for a transport without receive(): hand the receiver at once every datagram already queued for
   * it. The engine calls it after an overflow, before its next send, so the replies still queued for the
   * requests the overflow failed are out of the way (on the kernel socket it reads them through receive()).
   */
  drain?(): void;
}

export type ExchangeResult = 'done' | 'partial' | 'unsupported' | (Error & { code?: string });
