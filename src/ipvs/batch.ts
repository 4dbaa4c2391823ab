// OperationBatch: bulk operations validated and encoded ahead of sending. Each operation added is
// checked (the same checks as prepareOperation, a ValidationError naming `operations[i]`) and written at
// once as its whole netlink message into one growing buffer, so a batch of tens of thousands of changes
// holds a few megabytes of bytes and no object per operation: the parsed operation, its wire values and
// its request die as soon as they are written. Garbage collection is paid for what stays alive, and a
// restore that kept every operation's objects until its last window was sent spent a third of its time
// collecting (docs/decisions.md). execute() sends a batch window by window, the family id, version,
// sequence numbers and port id written into a copy of each window's bytes.
// Labels and error sentences are needed only for a refused request: the batch then asks its source for
// the operation again (the caller's array, or the rules line it came from) and builds them as the
// single-request path does, so a refusal reads exactly the same either way.

import type { OutgoingRequest } from '../netlink/connection.js';
import { MessageWriter } from '../netlink/writer.js';
import { encodeTableMessage, type IpvsFamily } from './commands.js';
import * as C from './constants.js';
import { ValidationError } from './errors.js';
import { onlyKnownOptions, optionKeys } from './option-keys.js';
import { KeyCache, prepareOperation, preparedRequest, type Operation, type OperationInput } from './operations.js';

/** nlmsghdr: nlmsg_len u32, nlmsg_type u16 at 4; the genl header's version byte follows the command at 17. */
const TYPE_AT = 4;
const VERSION_AT = 17;

const COMMAND_LABELS: Readonly<Record<number, string>> = {
  [C.IPVS_CMD_NEW_SERVICE]: 'add service',
  [C.IPVS_CMD_SET_SERVICE]: 'update service',
  [C.IPVS_CMD_DEL_SERVICE]: 'delete service',
  [C.IPVS_CMD_NEW_DEST]: 'add destination',
  [C.IPVS_CMD_SET_DEST]: 'update destination',
  [C.IPVS_CMD_DEL_DEST]: 'delete destination',
};

/**
 * The messages are written into chunks of CHUNK bytes that are never moved once full (the first grows
 * to that size, see FIRST_CHUNK): growing one buffer by reallocation copied the whole batch several
 * times over and touched fresh pages each time, the costliest part of preparing once the objects were
 * gone. A message never straddles two chunks: a new chunk starts when less than ROOM is left (a table
 * message is a few hundred bytes at most; a chunk whose last message would not fit grows, which only
 * moves that chunk, and every message still starts below CHUNK, which is all its place needs).
 */
const CHUNK_BITS = 18;
const CHUNK = 1 << CHUNK_BITS;
const ROOM = 4096;
/**
 * The first chunk starts this small and grows as a chunk whose message would not fit does: most batches
 * are a few operations (each health-check sync, each small apply is one execute()), and a zeroed 256 KiB
 * per call was most of what such a call cost. A bulk batch copies its first chunk a few times as it grows,
 * under 1 MiB once; the chunks after it are made whole.
 */
const FIRST_CHUNK = 4096;

/** Where the operations of a batch live: shared by a batch and its slices. */
interface Store {
  /** Full chunks and the one being written (the last). */
  readonly chunks: MessageWriter[];
  /** starts[i]: where message i starts, as chunk * CHUNK + offset in the chunk. */
  starts: Uint32Array;
  count: number;
  /** The operation at an index, again: for labels and sentences of refusals, and for operation(). */
  readonly source: (index: number) => Operation;
  /** The operations themselves, when no source was given. */
  readonly kept: Operation[] | undefined;
  readonly keys: KeyCache;
}

export interface OperationBatchOptions {
  /**
   * Gives back the operation added at an index, so the batch does not keep it: a builder that can
   * rebuild an operation from where it came (a line of rules text) saves holding every operation
   * alive. It is asked only for a refused request's label and sentence, and by operation(). Without
   * it, the batch keeps each operation added.
   */
  source?: (index: number) => Operation;
}

const BATCH_KEYS = optionKeys<OperationBatchOptions>('', { source: true });

export class OperationBatch {
  private readonly store: Store;
  private readonly start: number;
  /** The end of a slice; undefined for the batch itself, which grows as operations are added. */
  private readonly end: number | undefined;

  constructor(options: OperationBatchOptions = {}) {
    onlyKnownOptions(options, BATCH_KEYS);
    const kept = options.source === undefined ? [] : undefined;
    this.store = {
      chunks: [],
      starts: new Uint32Array(64),
      count: 0,
      source: options.source ?? ((i) => (kept as Operation[])[i] as Operation),
      kept,
      keys: new KeyCache(),
    };
    this.start = 0;
    this.end = undefined;
  }

  /**
   * Every operation of `ops` validated and encoded (the first bad one throws, naming `operations[i]`).
   * The array is the batch's source: it must not change while the batch is in use.
   */
  static from(ops: readonly Operation[]): OperationBatch;
  /** OperationBatch.from() of operations holding objects read back (changed or not): see OperationInput. */
  static from(ops: readonly OperationInput[]): OperationBatch;
  static from(ops: readonly OperationInput[]): OperationBatch {
    // Validated as Operations: a read-back value that is not an input is refused there.
    const batch = batchOver(ops as readonly Operation[]);
    for (const op of ops) batch.add(op);
    return batch;
  }

  /** Number of operations. */
  get length(): number {
    return (this.end ?? this.store.count) - this.start;
  }

  /**
   * Validate one operation and add it at the end. A ValidationError names its index
   * (`operations[12].destination.weight`); the batch is then as it was before the call.
   */
  add(op: Operation): this;
  /** add() of an operation holding an object read back (changed or not): see OperationInput. */
  add(op: OperationInput): this;
  add(op: OperationInput): this {
    if (this.end !== undefined) throw new TypeError('add: a slice of a batch cannot grow');
    const s = this.store;
    const index = s.count;
    const p = prepareOperation(op as Operation, index, s.keys);
    let w = s.chunks[s.chunks.length - 1];
    if (w === undefined || w.length > CHUNK - ROOM) {
      w = new MessageWriter(w === undefined ? FIRST_CHUNK : CHUNK);
      s.chunks.push(w);
    }
    const at = w.length;
    try {
      encodeTableMessage(w, p.op, p.service, 'destination' in p ? p.destination : undefined);
    } catch (err) {
      w.truncate(at);
      throw err;
    }
    if (index >= s.starts.length) {
      const grown = new Uint32Array(s.starts.length * 2);
      grown.set(s.starts);
      s.starts = grown;
    }
    s.starts[index] = (s.chunks.length - 1) * CHUNK + at;
    // Validated above: whatever it holds (read back or written) is an Operation's values.
    s.kept?.push(op as Operation);
    s.count = index + 1;
    return this;
  }

  /** The operations [start, end) of this batch (the same bytes, nothing copied); it cannot grow. */
  slice(start = 0, end = this.length): OperationBatch {
    const n = this.length;
    const from = Math.max(0, Math.min(n, start < 0 ? n + start : start));
    const to = Math.max(from, Math.min(n, end < 0 ? n + end : end));
    return OperationBatch.view(this.store, this.start + from, this.start + to);
  }

  private static view(store: Store, start: number, end: number): OperationBatch {
    const batch = Object.create(OperationBatch.prototype) as { store: Store; start: number; end: number };
    batch.store = store;
    batch.start = start;
    batch.end = end;
    return batch as unknown as OperationBatch;
  }

  /** The operation at `index` (0-based in this batch), as its source gives it. */
  operation(index: number): Operation {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) throw new RangeError(`operation ${index} of a batch of ${this.length}`);
    return this.store.source(this.start + index);
  }

  /**
   * A copy of the messages of operations [start, end) for the family `fam`: type and genl version
   * written in; sequence numbers and port id are the sender's to write. Internal to execute(). With
   * `scratch`, the copy is made in `scratch.buffer` (replaced by a bigger one when it is too small): a
   * fresh buffer per window touches fresh pages each time, which costs more than the copy where page
   * faults are slow (User-Mode Linux). The caller must know the previous copy is no longer in use.
   * @internal Left out of the shipped declarations (stripInternal): not for users.
   */
  messages(fam: IpvsFamily, start: number, end: number, scratch?: { buffer: Buffer | undefined }): Buffer {
    const s = this.store;
    if (end <= start) return Buffer.alloc(0);
    const first = s.starts[this.start + start] as number;
    const last = s.starts[this.start + end - 1] as number;
    const lastChunk = (s.chunks[last >>> CHUNK_BITS] as MessageWriter).view();
    const lastAt = last & (CHUNK - 1);
    const stop = lastAt + ((lastChunk.readUInt32LE(lastAt) + 3) & ~3);
    // [first, stop) over the chunks it spans; each chunk's messages end at its length.
    const from = first >>> CHUNK_BITS;
    const to = last >>> CHUNK_BITS;
    let size = 0;
    for (let c = from; c <= to; c++) {
      const begin = c === from ? first & (CHUNK - 1) : 0;
      size += (c === to ? stop : (s.chunks[c] as MessageWriter).length) - begin;
    }
    let out: Buffer;
    if (scratch === undefined) {
      out = Buffer.allocUnsafe(size);
    } else {
      if (scratch.buffer === undefined || scratch.buffer.length < size) scratch.buffer = Buffer.allocUnsafeSlow(size + (size >>> 2));
      out = scratch.buffer.subarray(0, size);
    }
    let put = 0;
    for (let c = from; c <= to; c++) {
      const chunk = (s.chunks[c] as MessageWriter).view();
      const begin = c === from ? first & (CHUNK - 1) : 0;
      put += chunk.copy(out, put, begin, c === to ? stop : chunk.length);
    }
    // By index: a window is a thousand messages, and Buffer's methods cost more than the bytes.
    const idLow = fam.id & 0xff;
    const idHigh = (fam.id >>> 8) & 0xff;
    for (let at = 0; at < out.length; ) {
      out[at + TYPE_AT] = idLow;
      out[at + TYPE_AT + 1] = idHigh;
      out[at + VERSION_AT] = fam.version;
      at += (((out[at] as number) | ((out[at + 1] as number) << 8) | ((out[at + 2] as number) << 16)) + 3) & ~3;
    }
    return out;
  }

  /**
   * The request of the operation at `index` as the single-request path builds it: its label and its
   * refusal sentences, for an error. Internal to execute().
   * @internal Left out of the shipped declarations (stripInternal): not for users.
   */
  request(fam: IpvsFamily, index: number): OutgoingRequest {
    try {
      return preparedRequest(fam, prepareOperation(this.operation(index)));
    } catch {
      // The source no longer gives a valid operation (the caller changed it after adding): name the
      // request by its command and index instead.
      const at = this.store.starts[this.start + index] as number;
      const cmd = (this.store.chunks[at >>> CHUNK_BITS] as MessageWriter).view()[(at & (CHUNK - 1)) + 16] as number;
      return { type: fam.id, label: { operation: COMMAND_LABELS[cmd] ?? `command ${cmd}`, object: `operations[${index}]` }, body: () => {} };
    }
  }
}

/**
 * An empty batch whose source is `ops` (checked to be an array), for callers that add its operations
 * themselves: from() in one go, the client's execute() a slice at a time between event-loop turns.
 */
export function batchOver(ops: readonly Operation[]): OperationBatch {
  if (!Array.isArray(ops)) throw new ValidationError('operations', ops, 'must be an array of operations');
  return new OperationBatch({ source: (i) => ops[i] as Operation });
}
