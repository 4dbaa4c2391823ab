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
import { AbortError, asIpvsError, ClosedError, DecodeError, DumpInterruptedError, IpvsError, KernelError, NotSentError, TimeoutError } from './errors.js';
import { Attributes, messageAt, messageLength, nextMessageAt, parseMessages, u16le, u32le, type NetlinkMessage } from './reader.js';
import type { ExchangeResult, Transport } from './transport.js';
import { MessageWriter } from './writer.js';

export interface RequestOptions {
  /** Milliseconds to wait for the final answer; default: the connection's `timeoutMs`. 0 waits forever (Ipvs: Infinity too). */
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
  // `error` is 0 or a negative errno; Math.abs keeps a (malformed) positive one usable and avoids -0.
  const out: ErrorPayload = { errno: Math.abs(p.readInt32LE(0)) };
  if ((msg.flags & NLM_F_ACK_TLVS) !== 0 && p.length >= 4 + NLMSG_HDRLEN) {
    // The echoed request: only its header when capped, else all of it (nlmsg_len, 4-byte aligned).
    const origLen = p.readUInt32LE(4);
    const echoed = (msg.flags & NLM_F_CAPPED) !== 0 ? NLMSG_HDRLEN : Math.max(NLMSG_HDRLEN, origLen + 3 - ((origLen + 3) % 4));
    readExtack(p, 4 + echoed, out);
  }
  return out;
}

/**
 * The NLMSG_DONE that ends a dump: an int (0 or a negative errno) and, with NLM_F_ACK_TLVS, the
 * extended-ack TLVs right after it. A DONE shorter than the int (old kernels) means success.
 */
export function parseDonePayload(msg: NetlinkMessage): ErrorPayload {
  return parseDone(msg.flags, msg.payload, 0, msg.payload.length);
}

/** parseDonePayload on a DONE whose payload is buf[start, end): no view unless it carries TLVs. */
function parseDone(flags: number, buf: Buffer, start: number, end: number): ErrorPayload {
  if (end - start < 4) return { errno: 0 };
  const out: ErrorPayload = { errno: Math.abs(buf.readInt32LE(start)) };
  if ((flags & NLM_F_ACK_TLVS) !== 0) readExtack(buf.subarray(start, end), 4, out);
  return out;
}

/** The extended-ack TLVs from `start` on. They only explain an errno, so malformed ones are ignored. */
function readExtack(p: Buffer, start: number, out: ErrorPayload): void {
  if (start >= p.length) return;
  try {
    const tlvs = Attributes.parse(p.subarray(start));
    const text = tlvs.string(NLMSGERR_ATTR_MSG);
    const offs = tlvs.u32(NLMSGERR_ATTR_OFFS);
    if (text !== undefined && text !== '') out.extack = text;
    if (offs !== undefined) out.extackOffset = offs;
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
  }
}

type Pending = AckPending | DumpPending;

/**
 * The requests registered together (one batch, or one dump): they share one timer and one abort
 * listener, both released when the last of them settles. One timer per batch rather than per request:
 * each setTimeout reads the clock, a system call where there is no vDSO (User-Mode Linux, some VMs).
 */
interface Group {
  remaining: number;
  timer: NodeJS.Timeout | undefined;
  detachAbort: (() => void) | undefined;
}

interface PendingBase {
  seq: number;
  /** Kept whole: its label and mapError are only needed on a failure (and mapError is called on it). */
  req: OutgoingRequest;
  group: Group;
  settled: boolean;
}

interface AckPending extends PendingBase {
  kind: 'ack';
  replies: NetlinkMessage[];
  /**
   * When the transport answers in order: the requests sent before this one in the same datagram without
   * NLM_F_ACK. They have succeeded once this one is answered, unless their own ERROR came first.
   */
  before: AckPending[] | undefined;
  /** Set for batch(): the request's own promise. */
  resolve: ((replies: NetlinkMessage[]) => void) | undefined;
  reject: ((err: Error) => void) | undefined;
  /** Set for batchOutcomes(): the window's shared result, and this request's place in it. */
  sink: OutcomeSink | undefined;
  index: number;
  /** Its datagram has gone to the transport: until it is answered, its reply takes room in the receive buffer. */
  sent: boolean;
}

/**
 * The request behind a message encoded ahead of time (batchEncodedOutcomes): its label and error mapping
 * are made on first use, which is on a failure only.
 */
class DeferredRequest implements OutgoingRequest {
  readonly type: number;
  private made: OutgoingRequest | undefined;
  private readonly make: (index: number) => OutgoingRequest;
  private readonly index: number;

  constructor(make: (index: number) => OutgoingRequest, index: number, type: number) {
    this.make = make;
    this.index = index;
    this.type = type;
  }

  private get request(): OutgoingRequest {
    this.made ??= this.make(this.index);
    return this.made;
  }

  get label(): RequestLabel {
    return this.request.label;
  }

  body(): void {
    throw new Error('a request encoded ahead of time has no body to write again');
  }

  mapError(err: KernelError): Error | undefined {
    return this.request.mapError?.(err);
  }
}

/**
 * One promise for a whole batch (batchOutcomes): a bulk job then costs no promise per request. Each failure
 * is an IpvsError (what execute() reports is typed so): one that is not (a transport's own) is wrapped.
 */
interface OutcomeSink {
  outcomes: (IpvsError | undefined)[];
  left: number;
  done: (outcomes: (IpvsError | undefined)[]) => void;
}

interface DumpPending extends PendingBase {
  kind: 'dump';
  queue: NetlinkMessage[];
  interrupted: boolean;
  /** No more messages will be queued: DONE/ERROR arrived, it failed, or the consumer stopped. */
  done: boolean;
  failure: Error | undefined;
  /** Consumers waiting in next(); normally at most one. */
  waiters: (() => void)[];
  /** Read by an iterator (dump()), whose consumer runs between its parts, and reads on only when it asks. */
  stream: boolean;
  /** The consumer is gone but the kernel still sends the rest: read and dropped until DONE (see abandon). */
  abandoned: boolean;
  /**
   * Messages of it that have arrived: a listing read whole (collected) or given up times out only when a
   * whole timeout passes with none arriving (see startTimer), however long it takes in all.
   */
  arrived: number;
  /** How long (ms) the consumer has waited in next() for the kernel's parts, and since when it waits now. */
  waited?: number;
  waitingSince?: number;
  /**
   * A stream that another listing waits behind is read on to its end into its queue whatever its consumer
   * does, since that consumer may be the one waiting (a listing from inside its loop): since when (see
   * readAhead). Its time from then on is the kernel's, as a wait in next() is.
   */
  readAheadSince?: number;
}

/**
 * What a timeout of `entry` means: a listing read by an iterator whose consumer was not waiting for the
 * kernel when the time ran out spent it in its own loop, so the kernel is not to blame.
 */
function timedOutWhat(entry: Pending, elapsed: number): string | undefined {
  if (entry.kind !== 'dump' || !entry.stream) return undefined;
  const ahead = entry.readAheadSince;
  if (entry.waiters.length === 0 && ahead === undefined) return 'the listing was not read to its end';
  // Waiting now, but a loop that holds the event loop (synchronous work between items) lets the timer fire
  // only when it next waits, late: the kernel is to blame only if the consumer waited for most of the time.
  // Once read ahead, the engine waits for the kernel whatever the consumer does: that time counts as waited.
  const since = ahead ?? entry.waitingSince;
  const waited = (entry.waited ?? 0) + (since === undefined ? 0 : performance.now() - since);
  return waited < elapsed / 2 ? 'the listing was not read to its end' : undefined;
}

function newGroup(size: number): Group {
  return { remaining: size, timer: undefined, detachAbort: undefined };
}

/**
 * Datagrams read synchronously (Transport.receive) before the engine lets the event loop turn once:
 * a long run of reads answered at once would otherwise never yield to timers and other I/O. What
 * bounds a bulk job is the work meter (SLICE_MS); this budget is what still bounds a long dump read by
 * an iterator, in which the meter takes no turn (see pull).
 */
const SYNC_READ_BUDGET = 2048;
/**
 * Milliseconds of synchronous work (requests sent and answered inside their send, replies read at once)
 * after which a bulk job lets the event loop turn, at its next step: a job answered that way would
 * otherwise never yield to timers, other I/O and abort signals.
 */
const SLICE_MS = 20;
/**
 * Units of work (requests sent, messages read) between two looks at the clock: a clock read is a system
 * call where there is no vDSO (User-Mode Linux), and a short job should not pay for one at all.
 */
const WORK_PER_CLOCK_READ = 256;
/** The connection's timeout (ms) when its options set none. */
const DEFAULT_TIMEOUT_MS = 30_000;
/**
 * How long (ms) the rest of a listing given up is waited for with no part of it arriving, when the connection has
 * no timeout (timeoutMs 0): that setting is about answers someone waits for, and nobody waits for this one but the
 * listings behind it. Past it the socket is taken as free: if the kernel still ran the dump, the next listing is
 * refused (EBUSY), which says so, rather than every later listing waiting for ever.
 */
const GIVEN_UP_REST_MS = DEFAULT_TIMEOUT_MS;
/** Datagrams a dump reads ahead when it starts: a small dump (data, then DONE) completes at once. */
const DUMP_READ_AHEAD = 2;
/**
 * Datagrams read and dropped at most, before the next send, after an overflow (readAwayStale): far more
 * than a receive buffer holds, so only an abandoned dump of a huge table is left for the send after.
 */
const STALE_READ_LIMIT = 65536;
/**
 * Receive-buffer bytes to count per answer awaited: the transport's buffer (as the kernel reports it: twice what
 * was asked) divided by this is how many requests may wait for their answers at once (sendLimit). An answer takes
 * its skb's true size, not its 36 bytes: about 768 bytes for an ACK on Linux 6.1 and 1 280 for a refusal carrying
 * the kernel's text, so half of the buffer is left free even when every answer is a refusal.
 */
const BYTES_PER_REPLY = 2048;

/** A batch registered but not sent yet, for want of room for its answers (see NetlinkConnection.sendLimit). */
interface QueuedBatch {
  entries: readonly AckPending[];
  transmit: () => void;
  /** Its timeout (0: none), which bounds its wait too (see watchQueue); `epoch`: the queue's watch fires before it came. */
  ms: number;
  epoch: number;
}

/** Filled by dumpTurn for a listing queued for its turn: `leave` takes it out of the queue (see startDump's return()). */
interface TurnExit {
  leave?: () => void;
}

/**
 * A first-in first-out queue (the batches waiting for room, the listings waiting for their turn). Taken from the
 * front by an index, not Array.prototype.shift, which moves every element behind: 60 000 calls made without awaiting
 * took 3.3 s instead of 1.8 s (SyncFakeSocket). An item taken out of the middle (remove) leaves a hole, skipped.
 */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private holes = 0;

  get size(): number {
    return this.items.length - this.head - this.holes;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The first item, or undefined when none is left. */
  first(): T | undefined {
    this.skipHoles();
    return this.items[this.head];
  }

  /** Take the first item, or undefined when none is left. */
  shift(): T | undefined {
    const item = this.first();
    if (item === undefined) return undefined;
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) this.clear();
    else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      // Compacted once most of the array is spent.
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Every item, first to last. */
  each(visit: (item: T) => void): void {
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item !== undefined) visit(item);
    }
  }

  /** Take `item` out wherever it is; false when it is not there. */
  remove(item: T): boolean {
    const at = this.items.indexOf(item, this.head);
    if (at < 0) return false;
    this.items[at] = undefined;
    this.holes++;
    return true;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.holes = 0;
  }

  private skipHoles(): void {
    while (this.holes > 0 && this.head < this.items.length && this.items[this.head] === undefined) {
      this.head++;
      this.holes--;
    }
    if (this.head === this.items.length) this.clear();
  }
}

/**
 * What one synchronous dump exchange (exchangeDump) has read so far: kept by the connection and reused,
 * since reading a table makes thousands of these in a row and, before the optimiser has run, a pair of
 * closures and their context made per exchange cost more than the decoding (measured in the sandbox).
 */
class DumpExchange {
  active = false;
  seq = 0;
  map: (buf: Buffer, start: number, end: number) => unknown = noMap;
  out: unknown[] = [];
  inPlace = true;
  read = 0;
  ended = false;
  interrupted = false;
  end: ErrorPayload | undefined = undefined;
  failure: Error | undefined = undefined;

  constructor(private readonly meter: WorkMeter) {}

  begin<T>(seq: number, map: (buf: Buffer, start: number, end: number) => T, out: T[], inPlace: boolean): void {
    this.active = true;
    this.seq = seq;
    this.map = map;
    this.out = out;
    this.inPlace = inPlace;
    this.read = 0;
    this.ended = false;
    this.interrupted = false;
    this.end = undefined;
    this.failure = undefined;
  }

  /** Drops what the exchange referred to (the caller's list and reader). */
  release(): void {
    this.map = noMap;
    this.out = NO_OUTPUT;
    this.end = undefined;
    this.failure = undefined;
  }

  /**
   * Transport.exchange's `take`: true once the dump's DONE (or ERROR) was read. The walk is written out
   * here rather than through walkMessages and a visitor: one small function for the optimiser, whose
   * compile time is much of a one-shot table read on a one-CPU machine.
   */
  readonly take = (view: Buffer): boolean => {
    this.read++;
    let data = view;
    if (!this.inPlace) {
      data = Buffer.allocUnsafe(view.length);
      view.copy(data);
    }
    let messages = 0;
    try {
      let at = 0;
      while (at < data.length) {
        const len = messageLength(data, at);
        messages++;
        if (!this.message(data, at, len)) break;
        at = nextMessageAt(data, at, len);
      }
    } catch (err) {
      this.failure ??= err as Error;
      return true;
    }
    this.meter.charge(messages);
    return this.ended;
  };

  /** One message of the answer; false at its end. */
  private message(data: Buffer, at: number, len: number): boolean {
    // Another seq: a late reply to a request that timed out (nothing else is in flight during an
    // exchange, and nothing can be sent from a reader: see checkOpen).
    if (u32le(data, at + 8) !== this.seq) return true;
    const type = u16le(data, at + 4);
    const flags = u16le(data, at + 6);
    if ((flags & NLM_F_DUMP_INTR) !== 0) this.interrupted = true;
    if (type === NLMSG_DONE || type === NLMSG_ERROR) {
      this.ended = true;
      try {
        this.end = type === NLMSG_ERROR ? parseErrorPayload(messageAt(data, at, len)) : parseDone(flags, data, at + NLMSG_HDRLEN, at + len);
      } catch (err) {
        this.failure ??= err as Error;
      }
      return false;
    }
    if (type === NLMSG_NOOP || type === NLMSG_OVERRUN || this.failure !== undefined) return true;
    try {
      this.out.push(this.map(data, at + NLMSG_HDRLEN, at + len));
    } catch (err) {
      // As a consumer stopping early: the rest of the dump is read and dropped.
      this.failure = err as Error;
    }
    return true;
  }
}

const noMap = (): undefined => undefined;
const NO_OUTPUT: unknown[] = [];

/**
 * How long the engine's synchronous work has kept the event loop from turning, measured cheaply: the
 * work is counted, and the clock read only every WORK_PER_CLOCK_READ units. The first read of a slice
 * notes the time and schedules an immediate that marks the loop's next turn; while that mark is pending,
 * a read finding SLICE_MS gone makes the meter `due` until the loop has turned.
 */
class WorkMeter {
  /** The event loop has not turned for SLICE_MS of synchronous work. */
  due = false;
  private work = 0;
  private sliceStart = 0;
  private turnMark: NodeJS.Immediate | undefined;
  private readonly turned = (): void => {
    this.turnMark = undefined;
    this.due = false;
  };

  /** Count `units` of work; true while a turn of the event loop is due. */
  charge(units: number): boolean {
    this.work += units;
    return this.work < WORK_PER_CLOCK_READ ? this.due : this.look();
  }

  /**
   * The clock read. `due` is assigned at every look, not only when it becomes true, so that the code
   * calling this has run each of its paths long before a turn first falls due (no deoptimisation then).
   */
  private look(): boolean {
    this.work = 0;
    const now = performance.now();
    if (this.turnMark === undefined) {
      this.sliceStart = now;
      this.turnMark = setImmediate(this.turned);
    }
    this.due = now - this.sliceStart >= SLICE_MS;
    return this.due;
  }
}

export class NetlinkConnection {
  readonly transport: Transport;
  private readonly timeoutMs: number;
  private pending = new Map<number, Pending>();
  private seq: number;
  private closed = false;
  /** What close() started: a second call waits for the same release of the transport, not less. */
  private closing: Promise<void> | undefined;
  private fatal: Error | undefined;
  private readonly writer = new MessageWriter(4096);
  /** How long synchronous work has kept the event loop from turning (see WorkMeter). */
  private readonly meter = new WorkMeter();
  /** The state of the synchronous dump exchange, reused by every one (exchangeDump). */
  private readonly dumpExchange = new DumpExchange(this.meter);
  private syncBudget = SYNC_READ_BUDGET;
  private budgetReset: NodeJS.Immediate | undefined;
  /** The dump the kernel is running on the socket (it runs one at a time per socket), until its end is read. */
  private currentDump: DumpPending | undefined;
  /** Dumps waiting for the socket, first come first served. */
  private readonly dumpQueue = new Fifo<() => void>();
  /** A waiting dump was woken and is about to start: the socket is promised to it. */
  private dumpPromised = false;
  /**
   * An overflow failed requests whose replies may still be queued: they are read and dropped before the
   * next request is sent (readAwayStale).
   */
  private stale = false;
  /** The entries of the batch dispatch() is sending, and how many of them have gone out (see onTransportError). */
  private sending: readonly AckPending[] | undefined;
  private sentUpTo = 0;
  /**
   * Requests sent whose answers have not been read (dumps aside, whose parts the kernel never drops). Answers
   * the receive buffer cannot hold are dropped (ENOBUFS, every waiting request's outcome unknown), so at most
   * sendLimit are sent ahead: a burst of calls made without awaiting (thousands of addDestination, or calls made
   * while the engine's answers wait for a turn of the event loop) otherwise overflowed it.
   */
  private unanswered = 0;
  private readonly sendLimit: number;
  /** Batches waiting for room for their answers, in call order (a batch is never sent before one queued earlier). */
  private readonly sendQueue = new Fifo<QueuedBatch>();
  /**
   * Counts what moves the changes waiting for room (answers to changes read, requests settled, batches sent): one
   * waiting fails its timeout only when this stood still (see watchQueue). Not a listing's parts, which free no room:
   * counted, a long listing read kept a change waiting behind changes never answered past its timeout.
   */
  private moved = 0;
  /**
   * `moved` for the listings waiting their turn (waitTimer): parts of the listing being read, turns given, and the
   * changes waiting for room (made before them) moving; not the answers to changes sent while nothing waits for room,
   * which no listing waits for: counted, they kept a listing waiting behind a listing that never ends (the rest of
   * one given up, its end lost) while a health checker's changes were answered, past its own timeout.
   */
  private listingsMoved = 0;
  /**
   * One timer for all the batches waiting for room that have a timeout (a timer each cost some 400 bytes per call
   * of a burst), firing every `queueWatchMs` (the least of their timeouts) while any waits; `queueFires` counts its
   * firings, `queueMovedSeen` is `moved` at the last, and `queueStallFrom` the firing that last saw it change.
   */
  private queueWatch: NodeJS.Timeout | undefined;
  private queueWatchMs = 0;
  private queueFires = 0;
  private queueMovedSeen = 0;
  private queueStallFrom = 0;
  private pumpScheduled = false;
  /** The batches waiting on each signal (onAbortOf), and the one listener each set has on its signal. */
  private readonly abortHandlers = new WeakMap<AbortSignal, Set<() => void>>();
  private readonly abortListeners = new WeakMap<Set<() => void>, () => void>();

  constructor(transport: Transport, options: ConnectionOptions = {}) {
    this.transport = transport;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.seq = (Math.random() * 0x3fffffff) >>> 0;
    this.sendLimit = Math.max(1, Math.floor(transport.receiveBufferSize / BYTES_PER_REPLY));
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

  private encode(w: MessageWriter, req: OutgoingRequest, seq: number, dump: boolean, ack = !dump): void {
    const flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0) | (ack ? NLM_F_ACK : 0) | (req.flags ?? 0);
    w.beginMessage(req.type, flags, seq, this.transport.portId);
    req.body(w);
    w.endMessage();
  }

  /** `change`: a request of a batch, whose ClosedError says it was not sent (a listing's says nothing of it). */
  private checkOpen(req: OutgoingRequest, change?: false): void {
    if (this.closed) throw new ClosedError(req.label.operation, change);
    if (this.fatal) throw new ClosedError(req.label.operation, change, this.fatal);
    // A dump's reader sending meanwhile: its reads would take the dump's own replies (and the kernel
    // allows one dump at a time per socket), so refuse it rather than lose either.
    if (this.dumpExchange.active) {
      throw new IpvsError(`${req.label.operation}: requested while a dump was being read on the same connection (from its reader); request it after the dump`, 'EBUSY');
    }
  }

  /** Send one request and wait for its ACK; resolves with any data replies that came before it. */
  request(req: OutgoingRequest, options: RequestOptions = {}): Promise<NetlinkMessage[]> {
    const [p] = this.batch([req], options);
    return p as Promise<NetlinkMessage[]>;
  }

  /**
   * Write many requests in ONE datagram (or, past the transport's maxDatagramSize, in as few as fit).
   * The kernel processes each message in turn; every request gets its own promise, settled by its own
   * ACK or ERROR, or (when the transport answersInOrder) by its ERROR or the ACK of the datagram's last
   * request. The caller keeps batches small enough for the replies to fit the receive buffer (see
   * `Transport.receiveBufferSize`).
   */
  batch(reqs: readonly OutgoingRequest[], options: RequestOptions = {}): Promise<NetlinkMessage[]>[] {
    const promises: Promise<NetlinkMessage[]>[] = [];
    const refused = this.sendBatch(reqs, options, (entry) => {
      promises.push(
        new Promise<NetlinkMessage[]>((resolve, reject) => {
          entry.resolve = resolve;
          entry.reject = reject;
        }),
      );
    });
    return refused === undefined ? promises : reqs.map(() => Promise.reject(refused));
  }

  /**
   * batch() for bulk work: the same datagrams and acknowledgements, but one promise for the whole batch,
   * resolved when every request is answered, with each request's error (undefined when it succeeded) in
   * order. A batch that cannot be sent at all has that error for every request. Every error is an
   * IpvsError (asIpvsError).
   */
  batchOutcomes(reqs: readonly OutgoingRequest[], options: RequestOptions = {}): Promise<(IpvsError | undefined)[]> {
    if (reqs.length === 0) return Promise.resolve([]);
    return new Promise((done) => {
      const sink: OutcomeSink = { outcomes: new Array<IpvsError | undefined>(reqs.length).fill(undefined), left: reqs.length, done };
      const refused = this.sendBatch(reqs, options, (entry) => {
        entry.sink = sink;
      });
      if (refused !== undefined) done(new Array<IpvsError>(reqs.length).fill(asIpvsError(refused)));
    });
  }

  /**
   * batchOutcomes() for requests encoded ahead of time: `messages` holds `count` whole netlink messages
   * back to back (each padded to 4 bytes), with nlmsg_type and any extra flags set; the engine writes
   * REQUEST/ACK, the sequence numbers and the port id into them (the buffer is the engine's from here on).
   * `requestAt(i)` gives message i's label and error mapping, and is called only when one is needed (a
   * refusal, a timeout, an abort), so a bulk job keeps nothing per request but its bytes.
   */
  batchEncodedOutcomes(messages: Buffer, count: number, requestAt: (index: number) => OutgoingRequest, options: RequestOptions = {}): Promise<(IpvsError | undefined)[]> {
    if (count === 0) return Promise.resolve([]);
    return new Promise((done) => {
      const sink: OutcomeSink = { outcomes: new Array<IpvsError | undefined>(count).fill(undefined), left: count, done };
      const refused = this.sendEncoded(messages, count, requestAt, options, sink);
      if (refused !== undefined) done(new Array<IpvsError>(count).fill(asIpvsError(refused)));
    });
  }

  /** sendBatch() for messages already encoded: number, flag and register them, then send. */
  private sendEncoded(bytes: Buffer, count: number, requestAt: (index: number) => OutgoingRequest, options: RequestOptions, sink: OutcomeSink): unknown {
    try {
      if (this.closed || this.fatal || this.dumpExchange.active) this.checkOpen(requestAt(0), false);
      options.signal?.throwIfAborted();
    } catch (err) {
      return options.signal?.aborted && !(err instanceof IpvsError) ? new AbortError(requestAt(0).label.operation, { cause: err, sent: false }) : err;
    }
    if (this.stale) this.readAwayStale();
    const ordered = this.transport.answersInOrder === true;
    // In order, the ACK flag goes on each datagram's last message only; dispatch() sets it.
    const flags = NLM_F_REQUEST | (ordered ? 0 : NLM_F_ACK);
    const portId = this.transport.portId >>> 0;
    const offsets: number[] = new Array<number>(count + 1);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const length = at + NLMSG_HDRLEN <= bytes.length ? ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16)) + (bytes[at + 3] as number) * 0x1000000 : 0;
      if (length < NLMSG_HDRLEN || at + length > bytes.length) return new RangeError(`batch: message ${i} of ${count} is not a whole netlink message`);
      offsets[i] = at;
      at += (length + 3) & ~3;
    }
    if (at < bytes.length) return new RangeError(`batch: ${bytes.length - at} bytes after the last of ${count} messages`);
    offsets[count] = bytes.length;
    const group = newGroup(count);
    const entries: AckPending[] = new Array<AckPending>(count);
    // Written byte by byte: Buffer's read/write methods cost more than the bytes, 25 000 times over.
    for (let i = 0; i < count; i++) {
      const o = offsets[i] as number;
      const seq = this.nextSeq();
      bytes[o + 6] = (bytes[o + 6] as number) | flags; // REQUEST and ACK are in the low byte
      bytes[o + 8] = seq & 0xff;
      bytes[o + 9] = (seq >>> 8) & 0xff;
      bytes[o + 10] = (seq >>> 16) & 0xff;
      bytes[o + 11] = seq >>> 24;
      bytes[o + 12] = portId & 0xff;
      bytes[o + 13] = (portId >>> 8) & 0xff;
      bytes[o + 14] = (portId >>> 16) & 0xff;
      bytes[o + 15] = portId >>> 24;
      const type = (bytes[o + 4] as number) | ((bytes[o + 5] as number) << 8);
      entries[i] = {
        kind: 'ack', seq, req: new DeferredRequest(requestAt, i, type), group, settled: false,
        replies: [], before: undefined, resolve: undefined, reject: undefined, sink, index: i, sent: false,
      };
    }
    this.dispatch(bytes, offsets, entries, group, options, ordered);
    return undefined;
  }

  /**
   * Encode, register and send a batch; `bind` gives each entry its way of reporting. Returns the error
   * that kept the whole batch from being sent (closed, aborted, a body that cannot be encoded), if any.
   */
  private sendBatch(reqs: readonly OutgoingRequest[], options: RequestOptions, bind: (entry: AckPending) => void): unknown {
    if (reqs.length === 0) return undefined;
    const first = reqs[0] as OutgoingRequest;
    try {
      this.checkOpen(first, false);
      options.signal?.throwIfAborted();
    } catch (err) {
      return options.signal?.aborted && !(err instanceof IpvsError) ? new AbortError(first.label.operation, { cause: err, sent: false }) : err;
    }
    if (this.stale) this.readAwayStale();
    const ordered = this.transport.answersInOrder === true;
    const group = newGroup(reqs.length);
    const w = this.writer;
    w.reset();
    const entries: AckPending[] = [];
    const offsets: number[] = [];
    for (let i = 0; i < reqs.length; i++) {
      const req = reqs[i] as OutgoingRequest;
      const seq = this.nextSeq();
      offsets.push(w.length);
      try {
        // In order, the ACK flag goes on each datagram's last message only; it is set below.
        this.encode(w, req, seq, false, !ordered);
      } catch (err) {
        // A body that cannot be encoded (e.g. a value out of range) fails the whole batch before
        // anything is sent.
        w.reset();
        return err;
      }
      const entry: AckPending = {
        kind: 'ack', seq, req, group, settled: false,
        replies: [], before: undefined, resolve: undefined, reject: undefined, sink: undefined, index: i, sent: false,
      };
      entries.push(entry);
    }
    for (const entry of entries) bind(entry);
    const bytes = w.toBuffer();
    offsets.push(bytes.length);
    this.dispatch(bytes, offsets, entries, group, options, ordered);
    return undefined;
  }

  /**
   * Register a batch's entries and send its messages (offsets: each message's start, then the end): now, or, when
   * the answers of the requests sent ahead leave no room for its own (sendLimit) or a batch waits already, once
   * answers have been read. Registered at once, so that an abort or close() fails it while it waits (nothing of it
   * is then sent); its timeout counts from its send, as a listing's does, but also bounds its wait: it fails, not
   * sent, when that long passes with nothing ahead of it answered (watchQueue).
   */
  private dispatch(bytes: Buffer, offsets: readonly number[], entries: readonly AckPending[], group: Group, options: RequestOptions, ordered: boolean): void {
    this.register(entries, group, options);
    if (this.sendQueue.size > 0 || (this.unanswered > 0 && this.unanswered + entries.length > this.sendLimit)) {
      const ms = options.timeoutMs ?? this.timeoutMs;
      this.sendQueue.push({ entries, transmit: () => this.transmit(bytes, offsets, entries, group, options, ordered), ms, epoch: this.queueFires });
      if (ms > 0) this.watchQueue(ms);
      // Nothing in flight to free room: the batches ahead all failed while they waited (an abort).
      if (this.unanswered === 0) this.schedulePump();
      return;
    }
    this.transmit(bytes, offsets, entries, group, options, ordered);
  }

  /** pumpSendQueue soon: not from inside the reading of a datagram, where a batch sent would read its own answers. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => this.pumpSendQueue());
  }

  /** Send the batches that waited for room, in order, while there is room (called once answers were read). */
  private pumpSendQueue(): void {
    this.pumpScheduled = false;
    for (let next = this.sendQueue.first(); next !== undefined && !this.closed; next = this.sendQueue.first()) {
      // Failed while it waited (an abort, its timeout, a fatal socket error): its group settles whole, and nothing
      // of it goes out.
      if ((next.entries[0] as AckPending).settled) {
        this.sendQueue.shift();
        continue;
      }
      if (this.unanswered > 0 && this.unanswered + next.entries.length > this.sendLimit) return;
      this.sendQueue.shift();
      this.moved++;
      this.listingsMoved++;
      next.transmit();
    }
    // Every change made before them sent: the listings that waited for that go on (dumpTurn).
    if (this.sendQueue.size === 0) {
      this.stopQueueWatch();
      this.nextDumpTurn();
    }
  }

  /** dispatch()'s sending: the batch's datagrams, one after another, each read back before the next. */
  private transmit(bytes: Buffer, offsets: readonly number[], entries: readonly AckPending[], group: Group, options: RequestOptions, ordered: boolean): void {
    if (this.stale) this.readAwayStale();
    // Cut the batch into datagrams of at most maxDatagramSize (a single larger message goes alone, and
    // the kernel refuses it with EMSGSIZE).
    const max = this.transport.maxDatagramSize ?? Infinity;
    let start = 0;
    this.sending = entries;
    while (start < entries.length) {
      let end = start + 1;
      while (end < entries.length && (offsets[end + 1] as number) - (offsets[start] as number) <= max) end++;
      const last = entries[end - 1] as AckPending;
      if (ordered) {
        const at = (offsets[end - 1] as number) + 6;
        bytes.writeUInt16LE(bytes.readUInt16LE(at) | NLM_F_ACK, at);
        if (end - 1 > start) last.before = entries.slice(start, end - 1);
      }
      const chunk = start === 0 && end === entries.length ? bytes : bytes.subarray(offsets[start], offsets[end]);
      this.sentUpTo = end;
      for (let i = start; i < end; i++) (entries[i] as AckPending).sent = true;
      this.unanswered += end - start;
      if (!this.send(chunk, entries.slice(start, end))) {
        // The transport refused the datagram (its send threw): the rest of the batch is not sent either, so that
        // nothing of it is carried out behind a part that was not.
        for (let i = end; i < entries.length; i++) {
          const entry = entries[i] as AckPending;
          this.fail(entry, new NotSentError(entry.req.label.operation, undefined, 'the transport refused the datagram'));
        }
        break;
      }
      // The kernel has answered by now: read the replies before the next datagram adds its own.
      this.pull(() => last.settled);
      start = end;
      // Settled before it was sent: an overflow (the rest was failed as not sent: more requests would
      // only lose their answers too, and make changes whose outcome nobody learns) or a fatal error.
      if (start < entries.length && (entries[start] as AckPending).settled) break;
    }
    this.sending = undefined;
    // Counted once answered: a window of execute() is read whole, and the turn taken between windows.
    this.meter.charge(entries.length);
    this.armTimer(group, entries, options);
  }

  private succeed(entry: AckPending): void {
    const sink = entry.sink;
    if (sink === undefined) {
      entry.resolve?.(entry.replies);
      return;
    }
    if (--sink.left === 0) sink.done(sink.outcomes);
  }

  private refuse(entry: AckPending, err: Error): void {
    const sink = entry.sink;
    if (sink === undefined) {
      entry.reject?.(err);
      return;
    }
    sink.outcomes[entry.index] = asIpvsError(err);
    if (--sink.left === 0) sink.done(sink.outcomes);
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

  /**
   * A whole dump, collected, each message passed through `map` as it arrives: the same request as
   * dump(), but one promise for the whole list instead of one per message, for callers that want the
   * list anyway (a kernel answering synchronously fills it before this returns to the event loop). A
   * `map` that throws ends the dump with its error. `mapCopies`: what `map` returns keeps no view of its
   * message (decoders copy numbers and strings out), so the message may be a view into the transport's
   * own receive buffer, valid only during the call: no copy of each datagram.
   */
  async dumpAll<T>(req: OutgoingRequest, options: RequestOptions, map: (msg: NetlinkMessage) => T, mapCopies = false): Promise<T[]> {
    return this.collect(req, options, map, (buf, start, end) => map(messageAt(buf, start - NLMSG_HDRLEN, end - start + NLMSG_HDRLEN)), mapCopies);
  }

  /**
   * dumpAll for decoders that read a message's payload in place: `read` gets the bytes buf[start, end)
   * (the payload after the netlink header) and must copy out what it keeps, since buf may be the
   * transport's receive memory. No message object or view is made per message.
   */
  dumpPayloads<T>(req: OutgoingRequest, options: RequestOptions, read: (buf: Buffer, start: number, end: number) => T): Promise<T[]> {
    return this.collect(req, options, (msg) => read(msg.payload, 0, msg.payload.length), read, true);
  }

  /**
   * A whole dump, collected: `fromQueue` maps a message that came the usual way, `fromView` one whose
   * payload the synchronous path found at buf[start, end); `inPlace`: they copy out what they keep.
   */
  private async collect<T>(
    req: OutgoingRequest,
    options: RequestOptions,
    fromQueue: (msg: NetlinkMessage) => T,
    fromView: (buf: Buffer, start: number, end: number) => T,
    inPlace: boolean,
  ): Promise<T[]> {
    const out: T[] = [];
    // Only when the socket is taken, or a turn of the event loop is due (taken before the listing is sent, when
    // the socket has nothing waiting, and the listing then read whole through the exchange): the usual start
    // stays synchronous (a kernel answers inside the exchange).
    const turn = this.dumpTurn(req, options) ?? this.loopTurnBefore(req, options);
    let e: 'done' | DumpPending;
    if (turn === undefined) {
      e = this.startCollected(req, options, fromView, out, inPlace);
    } else {
      await turn;
      e = this.afterTurn(() => this.startCollected(req, options, fromView, out, inPlace));
    }
    if (e !== 'done') await this.drain(e, out, fromQueue);
    return out;
  }

  /**
   * dumpPayloads appending to `out`, for callers reading many small dumps in a row (every service's
   * destinations), who would otherwise pay a promise per dump: when the whole answer came inside the
   * exchange (the kernel, nothing else in flight) it is in `out` on return and the result is undefined;
   * otherwise a promise for the rest. What keeps the request from being sent, or a failure of a dump
   * answered at once, is thrown.
   */
  dumpPayloadsInto<T>(req: OutgoingRequest, options: RequestOptions, read: (buf: Buffer, start: number, end: number) => T, out: T[]): Promise<void> | undefined {
    // As collect(): a turn of the event loop that is due is taken before the dump is sent.
    const turn = this.dumpTurn(req, options) ?? this.loopTurnBefore(req, options);
    if (turn !== undefined) {
      return turn.then(() => {
        const e = this.afterTurn(() => this.startCollected(req, options, read, out, true));
        return e === 'done' ? undefined : this.drain(e, out, (msg) => read(msg.payload, 0, msg.payload.length));
      });
    }
    const e = this.startCollected(req, options, read, out, true);
    if (e === 'done') return undefined;
    return this.drain(e, out, (msg) => read(msg.payload, 0, msg.payload.length));
  }

  /** A collected dump sent: answered whole at once through the exchange ('done'), or its pending entry. */
  private startCollected<T>(req: OutgoingRequest, options: RequestOptions, map: (buf: Buffer, start: number, end: number) => T, out: T[], inPlace: boolean): 'done' | DumpPending {
    return this.exchangeDump(req, options, map, out, inPlace) ?? this.openDump(req, options);
  }

  /** Reads a dump under way to its end, mapping each queued message into `out`. */
  private async drain<T>(e: DumpPending, out: T[], fromQueue: (msg: NetlinkMessage) => T): Promise<void> {
    for (;;) {
      try {
        for (const msg of e.queue) out.push(fromQueue(msg));
      } catch (err) {
        // As a consumer stopping early: the rest of the dump is read and dropped.
        this.abandon(e, undefined);
        throw err;
      }
      e.queue.length = 0;
      this.throwFailure(e);
      if (e.done) return;
      const wait = this.readMore(e);
      if (wait) await wait;
    }
  }

  /**
   * The synchronous path of a collected dump, through Transport.exchange: with nothing else in flight,
   * the request is sent and its whole answer read and mapped in one go, with no pending entry, timer or
   * promise of its own. Returns 'done' (the messages are in `out`; a failure is thrown), undefined when
   * the path cannot be taken (nothing was sent), or, when the peer did not answer everything at once,
   * the dump's pending entry, from which collect() reads on as usual.
   */
  private exchangeDump<T>(
    req: OutgoingRequest,
    options: RequestOptions,
    map: (buf: Buffer, start: number, end: number) => T,
    out: T[],
    inPlace: boolean,
  ): 'done' | DumpPending | undefined {
    const transport = this.transport;
    const x = this.dumpExchange;
    if (this.stale && !x.active) this.readAwayStale();
    // x.active: a reader that itself requests a dump; openDump refuses it (checkOpen).
    if (transport.exchange === undefined || this.pending.size > 0 || this.syncBudget <= 0 || this.closed || this.fatal || x.active) return undefined;
    try {
      options.signal?.throwIfAborted();
    } catch (err) {
      throw new AbortError(req.label.operation, { cause: err });
    }
    const seq = this.nextSeq();
    const w = this.writer;
    w.reset();
    this.encode(w, req, seq, true);
    x.begin(seq, map, out, inPlace);
    this.meter.charge(1);
    let result: ExchangeResult;
    try {
      result = transport.exchange(w.view(), x.take);
    } finally {
      x.active = false;
    }
    this.syncBudget -= x.read;
    if (result === 'done' && x.failure === undefined && x.end?.errno === 0 && !x.interrupted) {
      x.release();
      return 'done';
    }
    return this.exchangeOutcome(req, options, seq, result);
  }

  /** What exchangeDump returns or throws when its answer was not simply whole and good. */
  private exchangeOutcome(req: OutgoingRequest, options: RequestOptions, seq: number, result: ExchangeResult): 'done' | DumpPending | undefined {
    const x = this.dumpExchange;
    const { interrupted, end, failure, ended } = x;
    x.release();
    if (result === 'unsupported') return undefined;
    if (result instanceof Error) throw failure ?? wrapSendError(result, req.label);
    // 'done' before the dump's end was read: a datagram could not be split, and the kernel sends the rest.
    if (result === 'partial' || !ended) {
      // Closed (or the socket failed) meanwhile, from the reading itself (a map calling close()): nothing more
      // will be read, and an entry registered now would never settle.
      if (this.closed || this.fatal !== undefined) throw failure ?? new ClosedError(req.label.operation, undefined, this.fatal);
      const e: DumpPending = {
        kind: 'dump', seq, req, group: newGroup(1), settled: false,
        queue: [], interrupted, done: false, failure: undefined, waiters: [], stream: false, abandoned: false, arrived: 0,
      };
      // Read on through the usual path; after a failure only to drop the rest of the dump.
      this.register([e], e.group, options);
      this.armTimer(e.group, [e], options);
      if (failure !== undefined) this.abandon(e, failure);
      return e;
    }
    if (failure !== undefined) throw failure;
    if (end !== undefined && end.errno !== 0) throw this.kernelError(req, seq, end);
    if (interrupted) throw new DumpInterruptedError(req.label.operation);
    return 'done';
  }

  /** A dump's failure, thrown once: its consumer is finished afterwards. */
  private throwFailure(e: DumpPending): void {
    const failure = e.failure;
    if (failure === undefined) return;
    e.failure = undefined;
    throw failure;
  }

  /**
   * Read the dump's next datagram now if it is there; only when it is not, a promise that settles when
   * the event loop has brought more (or the end, or a failure).
   */
  private readMore(e: DumpPending): Promise<void> | undefined {
    const ready = (): boolean => e.done || e.queue.length > 0 || e.failure !== undefined;
    this.pull(ready);
    if (ready()) return undefined;
    if (!e.stream || e.readAheadSince !== undefined) return new Promise<void>((resolve) => e.waiters.push(resolve));
    e.waitingSince = performance.now();
    return new Promise<void>((resolve) => e.waiters.push(() => {
      // Read ahead since: readAhead() counted this wait up to then, and the rest is counted from readAheadSince.
      if (e.waitingSince !== undefined) e.waited = (e.waited ?? 0) + performance.now() - e.waitingSince;
      e.waitingSince = undefined;
      resolve();
    }));
  }

  /** Send a dump request and read what is already there; throws what keeps it from being sent. */
  private openDump(req: OutgoingRequest, options: RequestOptions, stream = false): DumpPending {
    try {
      this.checkOpen(req);
      options.signal?.throwIfAborted();
      if (this.stale) this.readAwayStale();
      const seq = this.nextSeq();
      const w = this.writer;
      w.reset();
      this.encode(w, req, seq, true);
      const datagram = w.toBuffer();
      const e: DumpPending = {
        kind: 'dump', seq, req, group: newGroup(1), settled: false,
        queue: [], interrupted: false, done: false, failure: undefined, waiters: [], stream, abandoned: false, arrived: 0,
      };
      this.register([e], e.group, options);
      this.send(datagram, [e]);
      let ahead = 0;
      this.pull(() => e.done || ahead++ >= DUMP_READ_AHEAD);
      this.armTimer(e.group, [e], options);
      return e;
    } catch (err) {
      throw options.signal?.aborted && !(err instanceof IpvsError) ? new AbortError(req.label.operation, { cause: err }) : err;
    }
  }

  private startDump(req: OutgoingRequest, options: RequestOptions): AsyncIterator<NetlinkMessage> {
    let entry: DumpPending | undefined;
    let startError: unknown;
    let opening: Promise<void> | undefined;
    /**
     * The items of the queue taken by next(): the queue is emptied once all are, not shifted per item, which moved
     * every item behind (quadratic when many wait: a listing read ahead, a socket delivering through its events).
     */
    let taken = 0;
    /** return() came before the listing's turn: it is not sent when its turn comes (afterTurn gives the turn on). */
    let stopped = false;
    const open = (): void => {
      if (stopped) return;
      try {
        entry = this.openDump(req, options, true);
      } catch (err) {
        startError = err;
      }
    };
    // Sent at once when the socket is free, as before; otherwise once the dumps before it have ended.
    let turn: Promise<void> | undefined;
    const exit: TurnExit = {};
    try {
      turn = this.dumpTurn(req, options, exit);
    } catch (err) {
      startError = err;
    }
    if (startError !== undefined) {
      // refused: nothing to open
    } else if (turn === undefined) {
      open();
    } else {
      opening = turn.then(
        () => this.afterTurn(open),
        (err: unknown) => {
          // Aborted while waiting: never sent, nothing to open.
          startError = err;
        },
      );
    }
    const it: AsyncIterator<NetlinkMessage> = {
      next: async (): Promise<IteratorResult<NetlinkMessage>> => {
        if (opening !== undefined) {
          await opening;
          opening = undefined;
        }
        if (stopped) return { value: undefined, done: true };
        if (startError !== undefined) throw startError;
        const e = entry as DumpPending;
        for (;;) {
          // Emptied meanwhile (the listing failed or was given up): nothing of it is left to take.
          if (e.queue.length === 0) taken = 0;
          const msg = e.queue[taken];
          if (msg !== undefined) {
            if (++taken === e.queue.length) {
              e.queue.length = 0;
              taken = 0;
            }
            return { value: msg, done: false };
          }
          this.throwFailure(e);
          if (e.done) return { value: undefined, done: true };
          const wait = this.readMore(e);
          if (wait) await wait;
        }
      },
      return: async (): Promise<IteratorResult<NetlinkMessage>> => {
        // The consumer stopped early: the rest of the dump (which the kernel still sends) is read and
        // dropped meanwhile (also what a read ahead had queued); a dump started before that ends waits for it.
        // Still waiting for its turn: it stops at once and is never sent, rather than waiting for the listings
        // ahead to be sent and dropped.
        if (entry === undefined) {
          stopped = true;
          // Its place, abort listener and wait timer go now, not when its turn would have come.
          exit.leave?.();
        }
        opening = undefined;
        if (entry) this.abandon(entry, undefined);
        return { value: undefined, done: true };
      },
    };
    return it;
  }

  private register(entries: readonly Pending[], group: Group, options: RequestOptions): void {
    for (const entry of entries) {
      this.pending.set(entry.seq, entry);
      if (this.pending.size === 1) this.transport.hold?.(true);
      if (entry.kind === 'dump') this.currentDump = entry;
    }
    const signal = options.signal;
    if (signal) {
      const onAbort = (): void => {
        for (const entry of entries) {
          this.fail(entry, new AbortError(entry.req.label.operation, entry.kind === 'ack' ? { cause: signal.reason, sent: entry.sent } : { cause: signal.reason }));
        }
      };
      group.detachAbort = this.onAbortOf(signal, onAbort);
    }
  }

  /**
   * Call `onAbort` when `signal` aborts; returns what forgets it. One listener on the signal for all the batches
   * using it (a set of theirs behind it), removed when the last has settled: a listener per batch would trip Node's
   * MaxListenersExceededWarning, and made every add and remove walk the signal's list (20 000 calls in flight
   * sharing a signal cost some 9 s of CPU more than without one).
   */
  private onAbortOf(signal: AbortSignal, onAbort: () => void): () => void {
    let set = this.abortHandlers.get(signal);
    if (set === undefined) {
      const handlers = new Set<() => void>();
      const fire = (): void => {
        this.abortHandlers.delete(signal);
        // Every batch on the signal is aborted, even when one's handler throws: its error is thrown after the rest.
        let thrown: { err: unknown } | undefined;
        for (const handler of [...handlers]) {
          try {
            handler();
          } catch (err) {
            thrown ??= { err };
          }
        }
        if (thrown !== undefined) throw thrown.err;
      };
      signal.addEventListener('abort', fire, { once: true });
      this.abortHandlers.set(signal, handlers);
      this.abortListeners.set(handlers, fire);
      set = handlers;
    }
    const handlers = set;
    handlers.add(onAbort);
    return () => {
      handlers.delete(onAbort);
      if (handlers.size > 0 || this.abortHandlers.get(signal) !== handlers) return;
      this.abortHandlers.delete(signal);
      const fire = this.abortListeners.get(handlers);
      if (fire !== undefined) signal.removeEventListener('abort', fire);
    };
  }

  /**
   * Start the group's timer if any of its requests still waits. Called after the send and the
   * synchronous read, so requests the kernel answered at once never create a timer.
   */
  private armTimer(group: Group, entries: readonly Pending[], options: RequestOptions): void {
    const ms = options.timeoutMs ?? this.timeoutMs;
    if (ms <= 0 || group.remaining === 0) return;
    // Only a streamed listing's timeout asks how long it ran (timedOutWhat): no clock read for the rest, where
    // one is a system call (no vDSO under User-Mode Linux) and a save arms thousands of timers.
    const first = entries.length === 1 ? entries[0] : undefined;
    const dump = first?.kind === 'dump' ? first : undefined;
    const armedAt = dump?.stream === true ? performance.now() : 0;
    this.startTimer(group, ms, dump, () => {
      const elapsed = armedAt === 0 ? ms : performance.now() - armedAt;
      for (const entry of entries) {
        this.fail(entry, new TimeoutError(entry.req.label.operation, ms, timedOutWhat(entry, elapsed), entry.kind === 'ack' ? entry.sent : undefined));
      }
    });
  }

  /**
   * Set the group's timer to call `expire` after `ms`. For a dump that is not read at an iterator's pace (a
   * listing collected whole, or one whose consumer is gone and whose rest is read and dropped) the timeout
   * means no progress: when a part of it arrived during the `ms` just passed, the wait starts again, so a big
   * table the kernel answers steadily is read however long it takes in all, and a listing that stalls fails
   * between `ms` and twice `ms` after its last part. Counting parts and looking only when the timer fires costs
   * no clock read per datagram (a system call under User-Mode Linux). An iterated listing keeps its bound on
   * the whole listing (its consumer's time included: the kernel's dump holds the socket meanwhile).
   */
  private startTimer(group: Group, ms: number, dump: DumpPending | undefined, expire: () => void): void {
    let seen = dump?.arrived ?? 0;
    const fire = (): void => {
      if (dump !== undefined && (!dump.stream || dump.abandoned) && dump.arrived !== seen) {
        seen = dump.arrived;
        arm();
        return;
      }
      group.timer = undefined;
      expire();
    };
    const arm = (): void => {
      group.timer = setTimeout(fire, ms);
      // A transport that keeps the process alive while requests wait (hold) lets the timer not do so; on
      // one that does not (the fake kernel's), the timer must, or a script ends before its timeout fires.
      if (this.transport.hold !== undefined) group.timer.unref?.();
    };
    arm();
  }

  /**
   * Bound the wait of the batches waiting for room by their timeouts: a batch fails, not sent, once nothing ahead
   * has moved (`moved`: no answer to a change read, no request settled) for whole firings of the watch adding up to its
   * timeout, counted from its arrival or the last movement, whichever is later; so between its timeout and about
   * twice that after the last movement, as a listing read whole. A burst answered steadily waits as long as it takes.
   */
  private watchQueue(ms: number): void {
    if (this.queueWatch !== undefined) {
      if (ms >= this.queueWatchMs) return;
      // A shorter timeout: the period starts again, shorter (what a firing counts is not cut short).
      clearTimeout(this.queueWatch);
    } else {
      this.queueMovedSeen = this.moved;
      this.queueStallFrom = this.queueFires;
    }
    this.queueWatchMs = ms;
    this.armQueueWatch();
  }

  private armQueueWatch(): void {
    const timer = setTimeout(this.queueWatchFired, this.queueWatchMs);
    // As startTimer: the transport's hold keeps the process alive while anything waits.
    if (this.transport.hold !== undefined) timer.unref?.();
    this.queueWatch = timer;
  }

  private readonly queueWatchFired = (): void => {
    this.queueWatch = undefined;
    const fires = ++this.queueFires;
    const stalled = this.moved === this.queueMovedSeen;
    if (!stalled) {
      this.queueMovedSeen = this.moved;
      this.queueStallFrom = fires;
    }
    const period = this.queueWatchMs;
    let least = 0;
    this.sendQueue.each((batch) => {
      if (batch.ms <= 0 || (batch.entries[0] as AckPending).settled) return;
      // The whole firings it has waited with nothing moving.
      if (stalled && (fires - Math.max(batch.epoch + 1, this.queueStallFrom)) * period >= batch.ms) {
        for (const entry of batch.entries) this.fail(entry, new TimeoutError(entry.req.label.operation, batch.ms, WAITED, false));
        return;
      }
      if (least === 0 || batch.ms < least) least = batch.ms;
    });
    if (least === 0) {
      this.queueWatchMs = 0;
      return;
    }
    this.queueWatchMs = Math.min(period, least);
    this.armQueueWatch();
  };

  private stopQueueWatch(): void {
    if (this.queueWatch === undefined) return;
    clearTimeout(this.queueWatch);
    this.queueWatch = undefined;
    this.queueWatchMs = 0;
  }

  /**
   * The timer of a listing waiting its turn behind others (changes waiting for room, listings): `expire` is
   * called once `ms` has passed with nothing moving ahead of it (`listingsMoved`: no part of the listing being read,
   * no turn given, no change waiting for room moving); while those ahead move the wait goes on however long it takes
   * in all (a burst of thousands of calls), so it fails between `ms` and twice `ms` after the last progress. `set`
   * keeps the timer current for whoever clears it.
   */
  private waitTimer(ms: number, set: (timer: NodeJS.Timeout) => void, expire: () => void): NodeJS.Timeout {
    let seen = this.listingsMoved;
    const arm = (): NodeJS.Timeout => {
      const timer = setTimeout(fire, ms);
      // As startTimer: the transport's hold keeps the process alive while anything waits.
      if (this.transport.hold !== undefined) timer.unref?.();
      return timer;
    };
    const fire = (): void => {
      if (this.listingsMoved !== seen) {
        seen = this.listingsMoved;
        set(arm());
        return;
      }
      expire();
    };
    return arm();
  }

  /**
   * Read, synchronously, the datagrams the transport already holds, until `done` says enough. Transports
   * without receive() deliver through their own events instead. The event loop gets a turn (the waiting
   * requests are then served by the transport's events, and read on after it) when the work meter says
   * one is due and no dump is running, or after SYNC_READ_BUDGET datagrams. Not in the middle of a dump:
   * the kernel socket's own poll would then read the rest of it ahead during the turn, up to 32
   * datagrams at a time, each through its slower path (it cannot be paused).
   */
  private pull(done: () => boolean): void {
    if (this.transport.receive === undefined) return;
    while (!done()) {
      if (this.syncBudget <= 0 || (this.meter.due && this.currentDump === undefined)) {
        this.budgetReset ??= setImmediate(() => {
          this.budgetReset = undefined;
          this.syncBudget = SYNC_READ_BUDGET;
          this.resume();
        });
        return;
      }
      this.syncBudget--;
      if (!this.transport.receive()) return;
    }
  }

  /**
   * A promise that resolves after the event loop's next turn, when this connection's synchronous work
   * (requests answered inside their send, replies read at once) has kept it from turning for a slice of
   * time (SLICE_MS); otherwise undefined, at no cost. Bulk work calls it between its steps (execute()
   * between windows), where nothing of its own waits in the socket, so that timers, other I/O and abort
   * signals are seen.
   */
  yieldIfDue(): Promise<void> | undefined {
    return this.meter.due ? new Promise<void>((resolve) => setImmediate(resolve)) : undefined;
  }

  /**
   * `units` of synchronous work a caller did on its way to a send (execute() validating and encoding its
   * operations), counted by the same meter as the engine's own: yieldIfDue after it.
   */
  workDone(units: number): Promise<void> | undefined {
    this.meter.charge(units);
    return this.yieldIfDue();
  }

  /**
   * yieldIfDue for a collected dump about to be sent on a socket free for it, when the transport answers inside an
   * exchange; the caller starts it through afterTurn(). The socket is promised to it meanwhile, as to a dump whose
   * turn came (dumpTurn), so that a listing started during the turn (an iterator's, which takes none) goes after it,
   * in call order. Its signal ends the wait at once with an AbortError, as it ends a wait for the socket: nothing
   * was sent, and the socket goes to the next listing. Already aborted: no turn, the start refuses it.
   */
  private loopTurnBefore(req: OutgoingRequest, options: RequestOptions): Promise<void> | undefined {
    if (!this.meter.due || this.transport.exchange === undefined) return undefined;
    const signal = options.signal;
    if (signal?.aborted === true) return undefined;
    this.dumpPromised = true;
    if (signal === undefined) return new Promise<void>((resolve) => setImmediate(resolve));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clearImmediate(turned);
        this.dumpPromised = false;
        this.nextDumpTurn();
        reject(new AbortError(req.label.operation, { cause: signal.reason }));
      };
      const turned = setImmediate(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * After the event loop's turn: whatever the transport's events did not deliver meanwhile is read now.
   * Waiting dumps are woken (their next() reads on), waiting requests get their replies read.
   */
  private resume(): void {
    let acks = false;
    for (const entry of this.pending.values()) {
      if (entry.kind === 'ack') acks = true;
      else for (const wake of entry.waiters.splice(0)) wake();
    }
    // Until every request sent is answered (those waiting for room are not: nothing of theirs can come).
    if (acks) this.pull(() => this.unanswered === 0);
    const ahead = this.currentDump;
    if (ahead !== undefined && (ahead.abandoned || ahead.readAheadSince !== undefined)) this.pull(() => this.currentDump !== ahead);
  }

  private forget(seq: number): void {
    if (this.pending.delete(seq) && this.pending.size === 0) {
      this.transport.hold?.(false);
      // A fresh table once nothing waits. A long-lived Map that thousands of requests pass through keeps
      // old-space hash tables pointing at them after they are deleted, so every scavenge copies and
      // promotes requests long settled (a restore's execute() spent about as long collecting as sending).
      this.pending = new Map();
    }
  }

  /**
   * Hand a datagram to the transport; a send that fails (or throws) fails its requests, as not sent: nothing of a
   * datagram the transport refused reached the kernel. False when the send threw (its requests failed already).
   */
  private send(datagram: Buffer, entries: readonly Pending[]): boolean {
    let sent: Promise<void>;
    try {
      sent = this.transport.send(datagram);
    } catch (err) {
      this.notSent(entries, err);
      return false;
    }
    sent.catch((err: unknown) => this.notSent(entries, err));
    return true;
  }

  /** The requests of a datagram the transport refused: no answer takes room for them, and each fails with `err`. */
  private notSent(entries: readonly Pending[], err: unknown): void {
    for (const entry of entries) {
      if (entry.kind === 'ack' && entry.sent && !entry.settled) {
        entry.sent = false;
        this.unanswered--;
        this.moved++;
        if (this.sendQueue.size > 0) {
          this.listingsMoved++;
          this.schedulePump();
        }
      }
      this.fail(entry, wrapSendError(err, entry.req.label, true), false);
    }
  }

  /** A dump receives nothing more: stop its timer, forget its seq (late parts are then dropped), wake it. */
  private finish(entry: DumpPending): void {
    this.settle(entry);
    if (this.pending.get(entry.seq) === entry) this.forget(entry.seq);
    entry.done = true;
    const waiters = entry.waiters.splice(0);
    for (const wake of waiters) wake();
    if (this.currentDump === entry) {
      this.currentDump = undefined;
      this.nextDumpTurn();
    }
  }

  /**
   * The consumer of a dump the kernel is still sending is gone (it stopped early, or gets `failure`):
   * nothing more is queued for it, but the entry stays until the dump's end is read and the rest dropped,
   * since the kernel refuses another dump on the socket (EBUSY) until then. Given up in turn once the
   * connection's timeout (GIVEN_UP_REST_MS when it has none) passes with no part of it arriving, counted from
   * now whatever timer the listing had: a lost end (a read error) would otherwise hold every later listing, for
   * ever with `timeoutMs: 0`. An abort no longer ends it early.
   */
  private abandon(entry: DumpPending, failure: Error | undefined, readNow = true): void {
    entry.queue.length = 0;
    entry.failure = failure;
    if (entry.done || this.pending.get(entry.seq) !== entry) {
      this.finish(entry);
      return;
    }
    entry.abandoned = true;
    entry.done = true;
    for (const wake of entry.waiters.splice(0)) wake();
    const group = entry.group;
    group.detachAbort?.();
    group.detachAbort = undefined;
    if (group.timer !== undefined) clearTimeout(group.timer);
    const ms = this.timeoutMs > 0 ? this.timeoutMs : GIVEN_UP_REST_MS;
    // Nobody gets this error: its consumer has its own already (fail() then only finishes it).
    this.startTimer(group, ms, entry, () => this.fail(entry, new TimeoutError(entry.req.label.operation, ms)));
    const readRest = (): void => this.pull(() => this.currentDump !== entry);
    // Not from inside the handling of a datagram or a transport error (the engine's own failures): the
    // messages after it are handled first.
    if (readNow) readRest();
    else queueMicrotask(readRest);
  }

  /**
   * Undefined when a dump may start now; otherwise a promise that resolves when it is this dump's turn,
   * after which the caller starts it through afterTurn(). Behind a dump read by an iterator, whose consumer
   * may be the caller (a listing started inside the loop) and would then never read it on, the engine reads
   * that dump to its end itself (readAhead), and it may so end at once. A waiting dump's signal ends its
   * wait: the promise rejects with an AbortError at once and the dump leaves the queue (it was never sent,
   * so the kernel has nothing to finish). Its timer starts when it is sent (openDump), as for any request; while
   * it waits, its timeout bounds the time nothing ahead of it moves (waitTimer): a TimeoutError, not sent.
   * `exit.leave` is set to what takes it out of the queue at once (an iterator's return()): the promise then
   * rejects, so that a next() awaiting it ends, and no turn is given to it.
   */
  private dumpTurn(req: OutgoingRequest, options: RequestOptions, exit?: TurnExit): Promise<void> | undefined {
    const cur = this.currentDump;
    // Not for a listing already aborted, which is refused below.
    if (cur !== undefined && cur.stream && !cur.abandoned && options.signal?.aborted !== true) this.readAhead(cur);
    // Behind changes waiting for room (sendLimit) too: made after them, it is sent after them, and shows them.
    if (this.currentDump === undefined && !this.dumpPromised && this.dumpQueue.size === 0 && this.sendQueue.size === 0) return undefined;
    const signal = options.signal;
    const ms = options.timeoutMs ?? this.timeoutMs;
    const left = (): AbortError => new AbortError(req.label.operation);
    if (signal === undefined && ms <= 0) {
      return new Promise<void>((resolve, reject) => {
        this.dumpQueue.push(resolve);
        if (exit !== undefined) {
          exit.leave = (): void => {
            if (this.dumpQueue.remove(resolve)) reject(left());
          };
        }
      });
    }
    if (signal?.aborted === true) throw new AbortError(req.label.operation, { cause: signal.reason });
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const turn = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      // Its turn came already when false: the start that follows sees the abort (openDump) and gives the turn on.
      const leave = (): boolean => this.dumpQueue.remove(turn);
      const onAbort = (): void => {
        if (!leave()) return;
        if (timer !== undefined) clearTimeout(timer);
        reject(new AbortError(req.label.operation, { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.dumpQueue.push(turn);
      if (ms > 0) {
        timer = this.waitTimer(ms, (t) => {
          timer = t;
        }, () => {
          if (!leave()) return;
          signal?.removeEventListener('abort', onAbort);
          reject(new TimeoutError(req.label.operation, ms, `not sent: ${WAITED}`));
        });
      }
      if (exit !== undefined) {
        exit.leave = (): void => {
          if (!leave()) return;
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          reject(left());
        };
      }
    });
  }

  /**
   * Another listing waits behind `entry`, a dump read by an iterator: read it on to its end now, into its
   * queue, whatever its consumer does (who may be that listing's caller, inside its loop, and so would never
   * ask for more), and on after each turn of the event loop (resume) until its end. Its consumer then takes
   * its messages from the queue, in order, and its end as it came (a kernel error, DumpInterruptedError);
   * a failure meanwhile (timeout, abort, overflow) ends it as it ends any listing. Only then is a listing
   * held in memory whole: a plain iteration still reads as its consumer asks.
   */
  private readAhead(entry: DumpPending): void {
    if (entry.readAheadSince === undefined) {
      const now = performance.now();
      if (entry.waitingSince !== undefined) entry.waited = (entry.waited ?? 0) + now - entry.waitingSince;
      entry.waitingSince = undefined;
      entry.readAheadSince = now;
    }
    this.pull(() => this.currentDump !== entry);
  }

  /** When the socket is free and not promised, the first waiting dump gets it. */
  private nextDumpTurn(): void {
    if (this.currentDump !== undefined || this.dumpPromised || this.sendQueue.size > 0) return;
    const wake = this.dumpQueue.shift();
    if (wake === undefined) return;
    this.dumpPromised = true;
    this.moved++;
    this.listingsMoved++;
    wake();
  }

  /** Start the dump whose turn came; once it has started (registered, answered at once, or refused), the turn is given on. */
  private afterTurn<R>(start: () => R): R {
    try {
      return start();
    } finally {
      this.dumpPromised = false;
      // Started behind others that wait in turn: an iterator's dump is read ahead for them, as in dumpTurn.
      const cur = this.currentDump;
      if (cur !== undefined && cur.stream && !cur.abandoned && this.dumpQueue.size > 0) this.readAhead(cur);
      this.nextDumpTurn();
    }
  }

  private settle(entry: Pending): void {
    if (entry.settled) return;
    entry.settled = true;
    if (entry.kind === 'ack') {
      if (entry.sent) {
        this.unanswered--;
        this.moved++;
      }
      // Sent, its answer frees room; not sent, it leaves the queue (an abort, its timeout), and a listing that waited
      // only for the queue to empty may go. Either moves the changes waiting, which the listings waiting wait for.
      if (this.sendQueue.size > 0) {
        this.listingsMoved++;
        this.schedulePump();
      }
    }
    const group = entry.group;
    if (--group.remaining > 0) return;
    if (group.timer) clearTimeout(group.timer);
    group.detachAbort?.();
    group.timer = undefined;
    group.detachAbort = undefined;
  }

  /**
   * End a request with an error. Its seq is forgotten at once: sequence numbers are never reused
   * while a reply could still come, so late parts and acks find no entry and are dropped. A dump the
   * kernel may still be running (`running`: its request was sent) is read to its end first (abandon).
   */
  private fail(entry: Pending, err: Error, running = true): void {
    if (this.pending.get(entry.seq) !== entry) return;
    if (entry.kind === 'ack') {
      this.settle(entry);
      this.forget(entry.seq);
      this.refuse(entry, err);
    } else if (entry.abandoned) {
      // Its end did not come in time: given up. Its consumer already has its error.
      this.finish(entry);
    } else if (!running || this.closed || this.fatal !== undefined) {
      entry.queue.length = 0;
      entry.failure = err;
      this.finish(entry);
    } else {
      // Aborted, timed out, or its answer unreadable: the consumer gets `err`, but the kernel still runs
      // the dump and refuses any other on the socket (EBUSY) until its end is read, so the rest is read
      // and dropped first, as when a consumer stops early.
      this.abandon(entry, err, false);
    }
  }

  private kernelError(req: OutgoingRequest, seq: number, payload: ErrorPayload): Error {
    const label = req.label;
    const err = new KernelError({
      errno: payload.errno,
      operation: label.operation,
      object: label.object,
      extack: payload.extack,
      extackOffset: payload.extackOffset,
      seq,
    });
    return req.mapError?.(err) ?? err;
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
    this.meter.charge(messages.length);
    for (const msg of messages) {
      const entry = this.pending.get(msg.seq);
      if (entry === undefined) continue; // late reply of a timed-out or aborted request
      // An answer to a change moves the changes waiting for room (one in parts before its ACK included); a listing's
      // part does not: it frees no room (the kernel queues an answer at the send or drops it, never waits for reads).
      if (entry.kind === 'ack') this.moved++;
      try {
        if (entry.kind === 'ack') this.onAckMessage(entry, msg);
        else this.onDumpMessage(entry, msg);
      } catch (err) {
        // An unreadable answer fails its request and those sent before it that were waiting on its ACK.
        if (entry.kind === 'ack') for (const b of entry.before ?? []) this.fail(b, err as Error);
        if (entry.kind === 'dump' && (msg.type === NLMSG_DONE || msg.type === NLMSG_ERROR)) {
          // The dump's end, unreadable: it has ended all the same.
          if (!entry.abandoned) entry.failure = err as Error;
          this.finish(entry);
        } else {
          this.fail(entry, err as Error);
        }
      }
    }
  }

  private onAckMessage(entry: AckPending, msg: NetlinkMessage): void {
    if (msg.type === NLMSG_ERROR) {
      const payload = parseErrorPayload(msg);
      this.settle(entry);
      this.forget(entry.seq);
      if (payload.errno === 0) this.succeed(entry);
      else this.refuse(entry, this.kernelError(entry.req, entry.seq, payload));
      // Sent before it in the same datagram without an ACK of their own: no ERROR came, so they succeeded.
      if (entry.before !== undefined) {
        for (const b of entry.before) {
          if (this.pending.get(b.seq) !== b) continue;
          this.settle(b);
          this.forget(b.seq);
          this.succeed(b);
        }
      }
      return;
    }
    // DONE can close a multi-part answer to a non-dump request; the ACK after it settles the request.
    if (msg.type === NLMSG_NOOP || msg.type === NLMSG_OVERRUN || msg.type === NLMSG_DONE) return;
    entry.replies.push(msg);
  }

  private onDumpMessage(entry: DumpPending, msg: NetlinkMessage): void {
    entry.arrived++;
    this.listingsMoved++;
    if (entry.abandoned) {
      if (msg.type === NLMSG_DONE || msg.type === NLMSG_ERROR) this.finish(entry);
      return;
    }
    if ((msg.flags & NLM_F_DUMP_INTR) !== 0) entry.interrupted = true;
    if (msg.type === NLMSG_DONE || msg.type === NLMSG_ERROR) {
      const payload = msg.type === NLMSG_ERROR ? parseErrorPayload(msg) : parseDonePayload(msg);
      if (payload.errno !== 0) entry.failure = this.kernelError(entry.req, entry.seq, payload);
      else if (entry.interrupted) entry.failure = new DumpInterruptedError(entry.req.label.operation);
      this.finish(entry);
      return;
    }
    if (msg.type === NLMSG_NOOP || msg.type === NLMSG_OVERRUN) return;
    entry.queue.push(msg);
    const waiters = entry.waiters.splice(0);
    for (const wake of waiters) wake();
  }

  private onTransportError(err: Error & { code?: string }, fatal: boolean): void {
    if (fatal) {
      this.failSocket(err);
      return;
    }
    // ENOBUFS: replies were dropped; we cannot know whose, so every waiting request fails with it, and
    // the requests of the batch being sent that have not gone out yet are failed as not sent (dispatch
    // then stops). Another error of a read (the socket goes on) is taken the same way: any answer may be
    // lost, none of a request not sent yet. A dump given up already is left to read on, after either: the
    // kernel runs no other dump on the socket (EBUSY) until its end has been read, so dropping it let the
    // next listing meet that. The kernel never drops a dump's part, so after an overflow its end still
    // comes; after another error it may not, and the abandoned dump's timer bounds the wait, as for a
    // dump still being read, which fail() hands to abandon() the same way.
    const overflow = err.code === 'ENOBUFS';
    const sending = this.sending;
    let failed = false;
    for (const entry of [...this.pending.values()]) {
      if (entry.kind === 'dump' && entry.abandoned) continue;
      const inBatchSent = entry.kind === 'ack' && sending !== undefined && sending[entry.index] === entry;
      // Waiting in the send queue: nothing of it was sent, so nothing of it was lost; it goes out in its turn.
      if (entry.kind === 'ack' && !entry.sent && !inBatchSent) continue;
      failed = true;
      const unsent = inBatchSent && !entry.sent;
      const why = overflow ? undefined : `the socket reported an error (${err.message})`;
      this.fail(entry, unsent ? new NotSentError(entry.req.label.operation, { cause: err }, why) : toIpvsError(err, entry.req.label));
    }
    // Their replies may still be queued, filling the buffer: read away before the next send, and before
    // the event loop turns (the transport's own poll reading them could meet a paused dump).
    if (overflow && failed && !this.stale) {
      this.stale = true;
      queueMicrotask(() => {
        if (this.stale && !this.closed && !this.dumpExchange.active) this.readAwayStale();
      });
    }
  }

  /**
   * The socket failed for good (a fatal error of the transport): it ends the client as close() does, but for the
   * transport's release, which close() still makes. Everything waiting fails with a ClosedError whose `cause` is the
   * error and whose `sent` tells a change sent (outcome unknown) from one still waiting for room; the listings waiting
   * their turn are refused so, one after another, and so is every later call.
   */
  private failSocket(err: Error): void {
    if (this.fatal !== undefined || this.closed) return;
    this.fatal = err;
    for (const entry of [...this.pending.values()]) {
      this.fail(entry, new ClosedError(entry.req.label.operation, entry.kind === 'ack' ? entry.sent : undefined, err));
    }
    this.sendQueue.clear();
    this.stopQueueWatch();
    this.nextDumpTurn();
  }

  /**
   * Read and drop what an overflow left queued (the replies of the requests it failed, the rest of a
   * dump given up) before sending anything new: a request sent behind them has its own answer dropped
   * on arrival, and a listing's start is refused. The kernel answers inside sendmsg, so everything owed
   * to what was sent before is queued by now; a dump still running is read to its end here. Their
   * sequence numbers, never reused, find no request, so they are dropped. A transport without a
   * synchronous read (the fake kernel's) hands them over through drain().
   */
  private readAwayStale(): void {
    this.stale = false;
    if (this.transport.receive === undefined) {
      this.transport.drain?.();
      return;
    }
    for (let n = 0; n < STALE_READ_LIMIT; n++) if (!this.transport.receive()) return;
    this.stale = true;
  }

  /** Fail everything in flight with ClosedError and release the transport. Idempotent: every call resolves once the transport is released. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    this.closed = true;
    for (const entry of [...this.pending.values()]) this.fail(entry, new ClosedError(entry.req.label.operation, entry.kind === 'ack' ? entry.sent : undefined));
    this.pending.clear();
    this.sendQueue.clear();
    this.stopQueueWatch();
    // Listings waiting for the changes queued before them: each is refused now (ClosedError), one after another.
    this.nextDumpTurn();
    await this.transport.close();
  }
}

/**
 * A transport's error as the library's: a KernelError for one with an errno; any other (a custom transport's
 * own) an IpvsError with its message and code (asIpvsError), so what the engine reports is always an IpvsError.
 */
function toIpvsError(err: Error & { code?: string; errno?: number }, label: RequestLabel): IpvsError {
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
  return asIpvsError(err);
}

/** `err` of a send, as toIpvsError; `refused`: the transport did not take the datagram, and an errno's sentence says so. */
function wrapSendError(err: unknown, label: RequestLabel, refused = false): IpvsError {
  if (!(err instanceof Error)) return asIpvsError(err);
  const e = err as Error & { code?: string; errno?: number };
  if (refused && !(e instanceof IpvsError) && typeof e.errno === 'number' && e.errno !== 0) {
    return new KernelError({
      errno: Math.abs(e.errno),
      operation: label.operation,
      object: label.object,
      message: `${label.operation}${label.object ? ` ${label.object}` : ''} (not sent): the socket did not take the request (${e.message})`,
    });
  }
  return toIpvsError(e, label);
}

/** What a request or listing that timed out waiting behind others was waiting for (watchQueue, waitTimer). */
const WAITED = 'the requests ahead of it got no answer';
