// The public client: one `Ipvs` per netlink socket (the kernel's, or any Transport such as the fake
// kernel's), every IPVS command as a method taking and returning the plain objects of src/ipvs/types.ts.
// Inputs are validated before any byte is sent, so a refused call changes nothing; kernel refusals
// arrive as KernelError with the errno name as `code` and a sentence. Nothing is global: each Ipvs owns
// its connection and the IPVS family id resolved for it at open(), looked up again when the kernel no
// longer knows that id (ip_vs unloaded and loaded again: familyAfter).

import { setMaxListeners } from 'node:events';
import { NativeLoadError } from '../native/load.js';
import { KernelSocketTransport, type SocketFeatures } from '../native/socket.js';
import { inChildUserNamespace } from '../native/user-namespace.js';
import { NetlinkConnection, type OutgoingRequest, type RequestOptions } from './netlink/connection.js';
import { AbortError, DecodeError, FamilyNotFoundError, IpvsError, KernelError, NativeBindingError, NotSentError } from './netlink/errors.js';
import { FamilyResolver } from './netlink/family.js';
import type { NetlinkMessage } from './netlink/reader.js';
import type { Transport } from './netlink/transport.js';
import * as cmd from './ipvs/commands.js';
import { IPVS_GENL_NAME, IPVS_GENL_VERSION } from './ipvs/constants.js';
import { decodeDaemonMessage } from './ipvs/daemon.js';
import { decodeDestinationPayload } from './ipvs/destination.js';
import { ValidationError } from './ipvs/errors.js';
import { booleanOption, onlyKnownOptions, optionKeys, signalOption, type OptionKeys } from './ipvs/option-keys.js';
import { decodeInfoMessage } from './ipvs/info.js';
import { OperationBatch, batchOver } from './ipvs/batch.js';
import type { Operation, OperationInput, OperationResult } from './ipvs/operations.js';
import { decodeServiceMessage, decodeServicePayload, keyOfService } from './ipvs/service.js';
import { decodeTimeoutsMessage } from './ipvs/timeouts.js';
import type {
  Daemon, DaemonSpec, DaemonState, Destination, DestinationKey, DestinationSpec, Info, ReadBackDestinationSpec, ReadBackServiceSpec, Service, ServiceKey, ServiceSpec, Timeouts, WithoutStats, ReadOptions,
} from './ipvs/types.js';
import {
  daemonStateNumber, validateDaemon, validateDestinationKey, validateDestinationSpec, validateNewServiceSpec, validateServiceKey, validateServiceSpec,
  type WireServiceKey, validateTimeouts,
} from './ipvs/validate.js';
// Types only: the reconcile layer is loaded when plan/apply/exportState are first called, so a program
// (or `ipvs -Sn`) that never reconciles does not pay for loading it and the rules format.
import type { ApplyOptions, ApplyResult } from './reconcile/apply.js';
import type { Plan, PlanOptions } from './reconcile/plan.js';
import type { DesiredState } from './reconcile/state.js';
import type { ExportStateOptions } from './reconcile/export.js';

export interface OpenOptions {
  /** A network namespace name (under /var/run/netns) or path (/proc/PID/ns/net). Kernel transport only. */
  netns?: string;
  /** Any transport, e.g. the fake kernel's `kernel.transport()`. The client closes it on close(). */
  transport?: Transport;
  /** Per-request timeout in ms (default 30 000; 0 or Infinity waits forever; at most 2 147 483 647). */
  timeoutMs?: number;
  /** Receive buffer of the kernel socket in bytes (default 4 MiB, at least 4096); bigger means bigger execute() windows. Kernel socket only. */
  receiveBufferSize?: number;
}

export interface ExecuteOptions {
  /** After the first failure, do not send the operations that follow (they are reported as skipped). */
  stopOnError?: boolean;
  signal?: AbortSignal;
  /** Per-window timeout in ms (default: the client's; 0 or Infinity waits forever). */
  timeoutMs?: number;
  /** Requests per pipelined window, 1..4096; default sized from the socket's receive buffer (windowSize). */
  window?: number;
}

/**
 * Convenience methods on services returned by the client, inherited from a prototype the client shares
 * among them (so the data stays plain: own properties are only the service's fields). They act on the
 * service's key as it is when called. Declared as a class (there is no such value at run time) so that
 * TypeScript, as for a class's methods, leaves them out of a spread copy (`{ ...service }`), which lacks them.
 */
export declare abstract class ServiceMethods {
  /** The destinations of this service (GET_DEST dump); `stats: false` as for Ipvs.destinations. */
  destinations<O extends ReadOptions & OnlyKeysOf<ReadOptions, O> = RequestOptions>(options?: O): Promise<Array<ReadResult<O, Destination>>>;
  /** Add a destination to this service. */
  addDestination(dest: DestinationSpec, options?: RequestOptions): Promise<void>;
  /** Add a destination to this service: one read back (changed or not) is taken too; see ReadBackDestinationSpec. */
  addDestination(dest: DestinationSpec | ReadBackDestinationSpec, options?: RequestOptions): Promise<void>;
}

/**
 * The kernel socket, its failures (a network namespace that cannot be entered, a socket the system
 * refuses) as IpvsErrors with the errno's name as code, like every other error of the client; a native
 * package that cannot be loaded is a NativeBindingError (ENATIVE), not a system call's failure.
 */
function openSocket(options: OpenOptions): Transport {
  try {
    return new KernelSocketTransport({
      ...(options.netns === undefined ? {} : { netns: options.netns }),
      ...(options.receiveBufferSize === undefined ? {} : { receiveBufferSize: options.receiveBufferSize }),
    });
  } catch (err) {
    if (err instanceof NativeLoadError) throw new NativeBindingError(err.packageName, err.cause);
    if (err instanceof IpvsError || !(err instanceof Error)) throw err;
    const given = (err as Error & { code?: unknown }).code;
    throw new IpvsError(err.message, typeof given === 'string' ? given : 'EIO', { cause: err });
  }
}

/** A Service as the client returns it: the plain data, plus non-enumerable ServiceMethods. */
export type BoundService = Service & ServiceMethods;

/** One service and its destinations, as destinationsOfEach() hands them out (D: without stats when read so). */
export interface ServiceDestinations<S, D = Destination> {
  service: S;
  destinations: D[];
}

/**
 * What a read with options O returns for an object T: T when O leaves `stats` out or sets it true, T without
 * `stats` when O has `stats: false`, and either when O's `stats` is only known to be a boolean.
 * Generic rather than overloaded, so that a wrapper or a test double of a read method stays one function.
 */
export type ReadResult<O, T> = O extends { stats: false }
  ? ReadWithoutStats<T>
  : 'stats' extends keyof O
    ? O extends { stats?: true }
      ? T
      : T | ReadWithoutStats<T>
    : T;

/**
 * An object T as a read with `stats: false` returns it: WithoutStats<T>, but a BoundService's ServiceMethods
 * stay the class's methods (WithoutStats makes them plain properties), so that a spread copy is typed
 * without them, as it is at run time. Either type takes the other.
 */
export type ReadWithoutStats<T> = T extends ServiceMethods ? WithoutStats<Omit<T, keyof ServiceMethods>> & ServiceMethods : WithoutStats<T>;

/** O's keys that T lacks, each typed never: an options literal with a key T lacks does not compile (it is refused at run time). */
export type OnlyKeysOf<T, O> = { [K in Exclude<keyof O, keyof T>]: never };

export interface DestinationsOfEachOptions extends ReadOptions {
  /** Services per yielded run, 1..65536; default 256. A run's destinations are what is held at a time. */
  runLength?: number;
}

// The keys each options type may have (refused otherwise: see src/ipvs/option-keys.ts).
const OPEN_KEYS = optionKeys<OpenOptions>('', { netns: true, transport: true, timeoutMs: true, receiveBufferSize: true });
const REQUEST_KEYS = optionKeys<RequestOptions>('', { timeoutMs: true, signal: true });
const READ_KEYS = optionKeys<ReadOptions>('', { timeoutMs: true, signal: true, stats: true });
const EACH_KEYS = optionKeys<DestinationsOfEachOptions>('', { timeoutMs: true, signal: true, stats: true, runLength: true });
const EXECUTE_KEYS = optionKeys<ExecuteOptions>('', { timeoutMs: true, signal: true, stopOnError: true, window: true });

/** The errno stop_sync_thread() returns, unanswered, for a daemon whose thread had not run yet. */
const EINTR = 4;

const MISSING_FAMILY_HINT = 'the ip_vs kernel module is not loaded: run `modprobe ip_vs`';
/** The hint of the FamilyNotFoundError that replaces a refusal when the family has gone since open(). */
const FAMILY_GONE_HINT = 'the ip_vs kernel module is no longer loaded (it was when this client opened): run `modprobe ip_vs`';

/**
 * A refusal that may be generic netlink's own for a family id it does not have: genl_rcv_msg() answers
 * such a message with ENOENT, before any family sees it, and without an extended ack. IPVS's own ENOENT
 * (no such destination, scheduler not loaded) looks the same, which only a family lookup tells apart.
 */
function unknownFamilyOrEnoent(err: unknown): err is KernelError {
  return err instanceof KernelError && err.code === 'ENOENT' && err.extack === undefined;
}

/** Where an execute() call stands with the family: the family its windows go to, and what its one lookup found. */
interface WindowFamily {
  fam: cmd.IpvsFamily;
  looked: boolean;
  gone: FamilyNotFoundError | undefined;
}

/** Receive-buffer bytes to reserve per queued acknowledgement: an skb's true size, not the 36-byte ACK. */
const BYTES_PER_ACK = 1024;
const MIN_WINDOW = 16;
const MAX_WINDOW = 1024;
/** The result of every operation that succeeded: one shared (frozen) object, not one per operation. */
const OK: OperationResult = Object.freeze({ ok: true });
/** Operations execute() validates between two looks at the work meter (batchOf). */
const BATCH_STEP = 256;

/**
 * How many requests execute() puts in one datagram: about one per KiB of receive buffer, so every
 * acknowledgement fits even if none is read until the last arrives, within 16..1024.
 */
export function windowSize(receiveBufferSize: number): number {
  return Math.max(MIN_WINDOW, Math.min(MAX_WINDOW, Math.floor(receiveBufferSize / BYTES_PER_ACK)));
}

/** The longest delay Node's timers take, 2^31 - 1 ms (about 24.8 days): a longer one would fire after 1 ms. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** A `timeoutMs` as the engine takes it: checked, and Infinity (no limit, as 0) given as 0. */
function timeoutOption(value: unknown): number {
  if (value === Infinity) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TIMEOUT_MS) {
    throw new ValidationError('timeoutMs', value, 'must be an integer number of milliseconds from 0 to 2147483647, or Infinity (0 and Infinity wait forever)');
  }
  return value;
}

/**
 * A call's request options, checked before anything is sent (`timeoutMs`, `signal`; the options' other
 * fields are the method's own). The same object when the engine can take it as it is; a `timeoutMs` of
 * Infinity is passed on as 0, which the engine reads as no limit.
 */
function requestOptions<O extends RequestOptions>(options: O | undefined, keys: OptionKeys = REQUEST_KEYS): O | undefined {
  if (options === undefined) return undefined;
  onlyKnownOptions(options, keys);
  const { signal, timeoutMs } = options;
  signalOption(signal);
  if (timeoutMs === undefined) return options;
  const ms = timeoutOption(timeoutMs);
  return ms === timeoutMs ? options : { ...options, timeoutMs: ms };
}

interface Relay {
  controller: AbortController;
  /** Calls of the client using the caller's signal that have not settled yet. */
  users: number;
  detach: () => void;
}

/**
 * A client's stand-in for its callers' AbortSignals. The engine listens on a call's signal once per request
 * (a batch, a listing), and Node warns (MaxListenersExceededWarning) past 10 listeners on one signal, which
 * a program sharing one signal among its calls in flight (a shutdown signal) would then see. So the engine
 * gets a signal of the client's own instead, which follows the caller's and has no listener limit: the
 * caller's signal carries one listener per client, removed when the last call using it has settled.
 */
class AbortRelay {
  // Weak: an iteration dropped unfinished never releases its signal, which must not stay reachable from here.
  private readonly relays = new WeakMap<AbortSignal, Relay>();

  /** `options` with the client's signal for the caller's, if any; release(options) once the call has settled. */
  own<O extends RequestOptions>(options: O): O {
    const signal = options.signal;
    if (signal === undefined) return options;
    let relay = this.relays.get(signal);
    if (relay === undefined) {
      const controller = new AbortController();
      setMaxListeners(0, controller.signal);
      const follow = (): void => controller.abort(signal.reason);
      signal.addEventListener('abort', follow, { once: true });
      relay = { controller, users: 0, detach: () => signal.removeEventListener('abort', follow) };
      this.relays.set(signal, relay);
    }
    // Aborted, but its listeners not all called yet (a call made from one of them): aborted here too.
    if (signal.aborted && !relay.controller.signal.aborted) relay.controller.abort(signal.reason);
    relay.users++;
    return { ...options, signal: relay.controller.signal };
  }

  release(options: RequestOptions): void {
    const signal = options.signal;
    const relay = signal === undefined ? undefined : this.relays.get(signal);
    if (relay === undefined || --relay.users > 0) return;
    relay.detach();
    this.relays.delete(signal!);
  }
}

function checkOptions(options: OpenOptions): void {
  onlyKnownOptions(options, OPEN_KEYS);
  if (options.netns !== undefined) {
    if (typeof options.netns !== 'string' || options.netns === '') throw new ValidationError('netns', options.netns, 'must be a namespace name or path');
    // A C string ends at the first NUL: 'blue\0x' would open /var/run/netns/blue, a namespace not named.
    if (options.netns.includes('\0')) throw new ValidationError('netns', options.netns, 'must not contain a NUL character');
    if (options.transport !== undefined) throw new ValidationError('netns', options.netns, 'applies to the kernel socket only, not to a given transport');
  }
  if (options.timeoutMs !== undefined) timeoutOption(options.timeoutMs);
  if (options.receiveBufferSize !== undefined && (typeof options.receiveBufferSize !== 'number' || !Number.isInteger(options.receiveBufferSize) || options.receiveBufferSize < 4096)) {
    throw new ValidationError('receiveBufferSize', options.receiveBufferSize, 'must be an integer number of bytes, 4096 or more');
  }
  // A given transport has its own buffer (the fake kernel's: kernel.transport({ receiveBufferSize })), which sizes
  // execute()'s windows: this one would be ignored, so it is refused, as netns is, rather than taken for a setting.
  if (options.receiveBufferSize !== undefined && options.transport !== undefined) {
    throw new ValidationError('receiveBufferSize', options.receiveBufferSize, "applies to the kernel socket only, not to a given transport (which has its own: the fake kernel's kernel.transport({ receiveBufferSize }))");
  }
}

/** Where destinationsOfEach is: the run being filled, the services read, the pair whose dump is awaited. */
interface RunState<S> {
  run: Array<ServiceDestinations<S, Destination | WithoutStats<Destination>>>;
  index: number;
  ended: boolean;
  waiting: ServiceDestinations<S, Destination | WithoutStats<Destination>> | undefined;
  /** Decode the statistics (the `stats` read option). */
  stats: boolean;
  /** The family the reads go to, and whether a refusal already made the one lookup of this call. */
  fam: cmd.IpvsFamily;
  looked: boolean;
}

/** The `stats` read option: true unless given as false; anything else than a boolean is refused. */
function statsOption(options: ReadOptions | undefined): boolean {
  const stats = options?.stats;
  if (stats === undefined || stats === true) return true;
  if (stats === false) return false;
  throw new ValidationError('stats', stats, 'must be a boolean');
}

/** validateServiceKey, the field named as the i-th of a list. */
function validateService(service: unknown, i: number): WireServiceKey {
  try {
    return validateServiceKey(service);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    // 'service' is what validateServiceKey calls a key that is not an object at all.
    throw err.field === 'service' ? new ValidationError(`services[${i}]`, err.value, err.reason, { cause: err }) : err.withFieldPrefix(`services[${i}]`);
  }
}

export class Ipvs {
  private readonly conn: NetlinkConnection;
  private readonly families: FamilyResolver;
  /** The IPVS family requests go to; replaced when the kernel has registered it again under a new id. */
  private fam: cmd.IpvsFamily;
  private readonly aborts = new AbortRelay();

  /** The prototype of the services this client returns: ServiceMethods acting on the service's own key. */
  private readonly serviceMethods: ServiceMethods;

  private constructor(conn: NetlinkConnection, families: FamilyResolver, fam: cmd.IpvsFamily) {
    this.conn = conn;
    this.families = families;
    this.fam = fam;
    const client = this;
    this.serviceMethods = Object.create(Object.prototype, {
      destinations: {
        // Named functions: as `value(...)` both methods were called `value` (in stacks, and in a refusal's message).
        value: function destinations(this: Service, options?: ReadOptions) {
          return client.destinations(keyOfService(this), options);
        },
        enumerable: false, writable: true, configurable: true,
      },
      addDestination: {
        value: function addDestination(this: Service, d: DestinationSpec | ReadBackDestinationSpec, options?: RequestOptions) {
          return client.addDestination(keyOfService(this), d, options);
        },
        enumerable: false, writable: true, configurable: true,
      },
    }) as ServiceMethods;
  }

  /**
   * Open a client on the kernel (the current or a given network namespace) or on a transport, and
   * resolve the IPVS family (a kernel with module autoloading loads ip_vs for the lookup). Throws
   * FamilyNotFoundError when the kernel has no IPVS family even so.
   */
  static async open(options: OpenOptions = {}): Promise<Ipvs> {
    try {
      checkOptions(options);
    } catch (err) {
      // A given transport is the client's from the call on: a refused open() closes it, as a failed lookup
      // does below, so the caller has one rule (and a fake's socket does not stay counted as open).
      const given: unknown = typeof options === 'object' && options !== null ? (options as { transport?: unknown }).transport : undefined;
      if (typeof given === 'object' && given !== null && typeof (given as Partial<Transport>).close === 'function') {
        await (given as Transport).close().catch(() => undefined);
      }
      throw err;
    }
    const transport = options.transport ?? openSocket(options);
    const conn = new NetlinkConnection(transport, options.timeoutMs === undefined ? {} : { timeoutMs: timeoutOption(options.timeoutMs) });
    try {
      const families = new FamilyResolver(conn);
      const family = await families.resolve(IPVS_GENL_NAME, MISSING_FAMILY_HINT);
      // Only for the kernel's socket: a given transport (the fake kernel) answers for a kernel of its own.
      const childUserNamespace = options.transport === undefined && inChildUserNamespace();
      return new Ipvs(conn, families, { id: family.id, version: family.version || IPVS_GENL_VERSION, ...(childUserNamespace ? { childUserNamespace } : {}) });
    } catch (err) {
      await conn.close();
      throw err;
    }
  }

  /**
   * What the kernel socket runs with (see SocketFeatures): `libc: false` when koffi's binding could not be
   * loaded, and the socket then works without any of its options. Undefined on another transport.
   */
  get socketFeatures(): Readonly<SocketFeatures> | undefined {
    const transport = this.conn.transport;
    return transport instanceof KernelSocketTransport ? transport.features : undefined;
  }

  /** Close the socket; requests still waiting fail with ClosedError. Idempotent. */
  async close(): Promise<void> {
    await this.conn.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** One request, built for the client's family (again for a new one: withFamily). */
  private run(make: (fam: cmd.IpvsFamily) => OutgoingRequest, options?: RequestOptions): Promise<NetlinkMessage[]> {
    return this.call(options, (o) => this.withFamily((fam) => this.conn.request(make(fam), o)));
  }

  /**
   * `send` with the client's IPVS family, and once more with the family's new id when the kernel refused
   * the first for an id it no longer has (familyAfter). The success path costs one promise, no lookup.
   */
  private withFamily<T>(send: (fam: cmd.IpvsFamily) => Promise<T>): Promise<T> {
    const fam = this.fam;
    return send(fam).catch(async (err: unknown) => {
      const fresh = await this.familyAfter(err, fam);
      if (fresh === undefined) throw err;
      return send(fresh);
    });
  }

  /**
   * What a refusal of a request sent to family `used` says about the family. Generic netlink answers a
   * message for a family id it does not have with a bare ENOENT, and a family registered again (ip_vs
   * unloaded and loaded) has a new id, so after a bare ENOENT the family is looked up again by name (one
   * CTRL_CMD_GETFAMILY, shared by the calls refused meanwhile). A new id is adopted for every later request
   * and returned: the refused request never reached IPVS, so it is safe to send again. undefined: the
   * refusal stands (another errno, the id is still IPVS's so the ENOENT was IPVS's own, or the lookup
   * failed). No IPVS family at all: FamilyNotFoundError, with the refusal as its cause, instead of
   * IPVS's sentence for an ENOENT (which would blame a destination or a scheduler).
   */
  private async familyAfter(err: unknown, used: cmd.IpvsFamily): Promise<cmd.IpvsFamily | undefined> {
    if (!unknownFamilyOrEnoent(err)) return undefined;
    // Another call has adopted a new id since this request was sent.
    if (this.fam.id !== used.id) return this.fam;
    let id: number;
    let version: number;
    try {
      ({ id, version } = await this.families.refresh(IPVS_GENL_NAME, MISSING_FAMILY_HINT));
    } catch (lookup) {
      if (lookup instanceof FamilyNotFoundError) throw new FamilyNotFoundError(IPVS_GENL_NAME, FAMILY_GONE_HINT, { cause: err });
      return undefined;
    }
    if (id === used.id) return undefined;
    if (this.fam.id === used.id) this.fam = { ...this.fam, id, version: version || IPVS_GENL_VERSION };
    return this.fam;
  }

  /**
   * `send` with the options to give the engine: the caller's, checked (requestOptions), their signal
   * replaced by the client's own (AbortRelay) until the promise `send` returns has settled.
   */
  private call<O extends RequestOptions, T>(options: O | undefined, send: (options: O) => Promise<T>, keys: OptionKeys = REQUEST_KEYS): Promise<T> {
    const given = requestOptions(options, keys) ?? ({} as O);
    if (given.signal === undefined) return send(given);
    let sent: Promise<T>;
    try {
      sent = send(this.aborts.own(given));
    } catch (err) {
      this.aborts.release(given);
      throw err;
    }
    return sent.finally(() => this.aborts.release(given));
  }

  private async single(make: (fam: cmd.IpvsFamily) => OutgoingRequest, options: RequestOptions | undefined): Promise<NetlinkMessage> {
    const [reply] = await this.run(make, options);
    if (!reply) throw new DecodeError(`${make(this.fam).label.operation}: acknowledged without a reply`, 0);
    return reply;
  }

  // Services

  /** NEW_SERVICE. Defaults: scheduler wlc; persistence off (`true` = 300 s, host netmask). */
  addService(spec: ServiceSpec, options?: RequestOptions): Promise<void>;
  /** NEW_SERVICE of a service read back (changed or not): see ReadBackServiceSpec. */
  addService(spec: ServiceSpec | ReadBackServiceSpec, options?: RequestOptions): Promise<void>;
  async addService(spec: ServiceSpec | ReadBackServiceSpec, options?: RequestOptions): Promise<void> {
    const s = validateNewServiceSpec(spec);
    await this.run((fam) => cmd.newService(fam, s), options);
  }

  /** SET_SERVICE: every option is replaced; what the spec leaves out takes its default, as `ipvsadm -E`. */
  updateService(spec: ServiceSpec, options?: RequestOptions): Promise<void>;
  /** SET_SERVICE from a service read back (changed or not): see ReadBackServiceSpec. */
  updateService(spec: ServiceSpec | ReadBackServiceSpec, options?: RequestOptions): Promise<void>;
  async updateService(spec: ServiceSpec | ReadBackServiceSpec, options?: RequestOptions): Promise<void> {
    const s = validateServiceSpec(spec);
    await this.run((fam) => cmd.setService(fam, s), options);
  }

  /** DEL_SERVICE, with its destinations. */
  async deleteService(key: ServiceKey, options?: RequestOptions): Promise<void> {
    const s = validateServiceKey(key);
    await this.run((fam) => cmd.delService(fam, s), options);
  }

  /** One service (GET_SERVICE); throws KernelError ESRCH ("no such service ...") when it does not exist. */
  async service(key: ServiceKey, options?: RequestOptions): Promise<BoundService> {
    const s = validateServiceKey(key);
    const reply = await this.single((fam) => cmd.getService(fam, s), options);
    return this.bind(decodeServiceMessage(reply.payload));
  }

  /** Whether a service exists: service() with ESRCH turned into false. */
  async hasService(key: ServiceKey, options?: RequestOptions): Promise<boolean> {
    try {
      await this.service(key, options);
      return true;
    } catch (err) {
      if (err instanceof KernelError && err.code === 'ESRCH') return false;
      throw err;
    }
  }

  private bind<T extends Service | WithoutStats<Service>>(svc: T): T & ServiceMethods {
    // A prototype shared by every service this client returns, not two closures defined per service
    // (defineProperties was a visible share of reading a big table).
    Object.setPrototypeOf(svc, this.serviceMethods);
    return svc as T & ServiceMethods;
  }

  /**
   * All services, streamed from the dump as datagrams arrive: the table is never held as a whole.
   * `stats: false` reads the configuration only (see ReadOptions).
   */
  async *iterateServices<O extends ReadOptions & OnlyKeysOf<ReadOptions, O> = RequestOptions>(options?: O): AsyncGenerator<ReadResult<O, BoundService>, void, undefined> {
    const stats = statsOption(options);
    yield* this.stream(options, (fam) => cmd.dumpServices(fam), (msg) => this.bind(decodeServicePayload(msg.payload, 0, msg.payload.length, stats)) as ReadResult<O, BoundService>);
  }

  /**
   * A dump streamed message by message, each decoded. A second round only when the first was refused
   * before anything came, for a stale family id (familyAfter).
   */
  private async *stream<T>(options: RequestOptions | undefined, make: (fam: cmd.IpvsFamily) => OutgoingRequest, decode: (msg: NetlinkMessage) => T): AsyncGenerator<T, void, undefined> {
    const given: RequestOptions = requestOptions(options, READ_KEYS) ?? {};
    const request = this.aborts.own(given);
    let fam = this.fam;
    try {
      for (let round = 0; ; round++) {
        let started = false;
        try {
          for await (const msg of this.conn.dump(make(fam), request)) {
            started = true;
            yield decode(msg);
          }
          return;
        } catch (err) {
          const fresh = started || round > 0 ? undefined : await this.familyAfter(err, fam);
          if (fresh === undefined) throw err;
          fam = fresh;
        }
      }
    } finally {
      this.aborts.release(given);
    }
  }

  /** All services, collected. `stats: false` reads the configuration only (see ReadOptions). */
  async services<O extends ReadOptions & OnlyKeysOf<ReadOptions, O> = RequestOptions>(options?: O): Promise<Array<ReadResult<O, BoundService>>> {
    const stats = statsOption(options);
    return this.call(options, (o) => this.withFamily((fam) => this.conn.dumpPayloads(cmd.dumpServices(fam), o, (buf, start, end) => this.bind(decodeServicePayload(buf, start, end, stats)) as ReadResult<O, BoundService>)), READ_KEYS);
  }

  // Destinations

  /** NEW_DEST. Defaults: port = the service's port, forwarding route, weight 1, no thresholds. */
  addDestination(key: ServiceKey, dest: DestinationSpec, options?: RequestOptions): Promise<void>;
  /** NEW_DEST of a destination read back (changed or not): see ReadBackDestinationSpec. */
  addDestination(key: ServiceKey, dest: DestinationSpec | ReadBackDestinationSpec, options?: RequestOptions): Promise<void>;
  async addDestination(key: ServiceKey, dest: DestinationSpec | ReadBackDestinationSpec, options?: RequestOptions): Promise<void> {
    const s = validateServiceKey(key);
    const d = validateDestinationSpec(s, dest);
    await this.run((fam) => cmd.newDest(fam, s, d), options);
  }

  /** SET_DEST: every option is replaced; unspecified ones take their defaults (weight 1, route), as `ipvsadm -e`. */
  updateDestination(key: ServiceKey, dest: DestinationSpec, options?: RequestOptions): Promise<void>;
  /** SET_DEST from a destination read back (changed or not), e.g. `{ ...dest, weight: 0 }`: see ReadBackDestinationSpec. */
  updateDestination(key: ServiceKey, dest: DestinationSpec | ReadBackDestinationSpec, options?: RequestOptions): Promise<void>;
  async updateDestination(key: ServiceKey, dest: DestinationSpec | ReadBackDestinationSpec, options?: RequestOptions): Promise<void> {
    const s = validateServiceKey(key);
    const d = validateDestinationSpec(s, dest);
    await this.run((fam) => cmd.setDest(fam, s, d), options);
  }

  /** DEL_DEST. The destination's port defaults to the service's. */
  async deleteDestination(key: ServiceKey, dest: DestinationKey, options?: RequestOptions): Promise<void> {
    const s = validateServiceKey(key);
    const d = validateDestinationKey(s, dest);
    await this.run((fam) => cmd.delDest(fam, s, d), options);
  }

  /**
   * The destinations of a service, streamed. A service that does not exist yields nothing, as the
   * kernel answers it with an empty dump; use hasService() to tell the two apart.
   */
  async *iterateDestinations<O extends ReadOptions & OnlyKeysOf<ReadOptions, O> = RequestOptions>(key: ServiceKey, options?: O): AsyncGenerator<ReadResult<O, Destination>, void, undefined> {
    const s = validateServiceKey(key);
    const stats = statsOption(options);
    yield* this.stream(options, (fam) => cmd.dumpDests(fam, s), (msg) => decodeDestinationPayload(msg.payload, 0, msg.payload.length, s.af, stats) as ReadResult<O, Destination>);
  }

  /** The destinations of a service, collected (one promise for the whole dump). `stats: false`: see ReadOptions. */
  async destinations<O extends ReadOptions & OnlyKeysOf<ReadOptions, O> = RequestOptions>(key: ServiceKey, options?: O): Promise<Array<ReadResult<O, Destination>>> {
    const s = validateServiceKey(key);
    const stats = statsOption(options);
    return this.call(options, (o) => this.withFamily((fam) => this.conn.dumpPayloads(cmd.dumpDests(fam, s), o, (buf, start, end) => decodeDestinationPayload(buf, start, end, s.af, stats) as ReadResult<O, Destination>)), READ_KEYS);
  }

  /**
   * The destinations of many services (a key, or a service this client returned), read one service
   * after another in the order given and yielded in runs of `runLength` pairs: what reading a whole
   * table (save, export, reconcile) does, without a promise per service. A service that does not exist
   * has no destinations, as in destinations(). A key that is not valid (ValidationError naming
   * `services[i]`) or a read that fails ends the iteration with its error, after the run of the
   * services read before it. `stats: false` reads the configuration only (see ReadOptions).
   */
  async *destinationsOfEach<S extends ServiceKey | Service | WithoutStats<Service>, O extends DestinationsOfEachOptions & OnlyKeysOf<DestinationsOfEachOptions, O> = RequestOptions>(
    services: Iterable<S>,
    options: O = {} as O,
  ): AsyncGenerator<Array<ServiceDestinations<S, ReadResult<O, Destination>>>, void, undefined> {
    type Run = Array<ServiceDestinations<S, ReadResult<O, Destination>>>;
    const given: RequestOptions = requestOptions(options, EACH_KEYS) ?? {};
    const runLength = options.runLength === undefined ? 256 : options.runLength;
    if (typeof runLength !== 'number' || !Number.isInteger(runLength) || runLength < 1 || runLength > 65536) {
      throw new ValidationError('runLength', runLength, 'must be an integer from 1 to 65536');
    }
    if (typeof (services as Partial<Iterable<S>> | null | undefined)?.[Symbol.iterator] !== 'function') {
      throw new ValidationError('services', services, 'must be an iterable of service keys or services');
    }
    const stats = statsOption(options);
    const it = services[Symbol.iterator]();
    const state: RunState<S> = { run: [], index: 0, ended: false, waiting: undefined, stats, fam: this.fam, looked: false };
    const request = this.aborts.own(given);
    try {
      while (!state.ended) {
        try {
          const wait = this.fillRun(it, state, runLength, request);
          if (wait !== undefined) {
            await wait;
            state.run.push(state.waiting!);
            state.waiting = undefined;
          }
        } catch (err) {
          let failure = err;
          let recovered = false;
          try {
            recovered = await this.readAgainWithNewFamily(err, state, request);
          } catch (again) {
            failure = again;
          }
          if (!recovered) {
            if (state.run.length > 0) yield state.run as Run;
            throw failure;
          }
        }
        if (state.run.length >= runLength || (state.ended && state.run.length > 0)) {
          const run = state.run;
          state.run = [];
          yield run as Run;
        }
      }
    } catch (err) {
      // As for...of: a failure of the caller's iterator's return() does not hide the error that ended the loop.
      if (!state.ended) {
        state.ended = true;
        try {
          it.return?.();
        } catch {
          // the loop's own error wins
        }
      }
      throw err;
    } finally {
      this.aborts.release(given);
      if (!state.ended) it.return?.();
    }
  }

  /**
   * Reads services' destinations into `state.run` for as long as the answers come at once (the kernel,
   * nothing else in flight): the loop of a table read, kept out of the generator so that reading costs
   * no promise per service and the optimiser compiles a plain function. Stops when the run is full, the
   * services end, or a dump must be waited for: its promise is returned, the pair in `state.waiting`.
   */
  private fillRun<S extends ServiceKey | Service | WithoutStats<Service>>(it: Iterator<S>, state: RunState<S>, runLength: number, options: RequestOptions): Promise<void> | undefined {
    const stats = state.stats;
    while (state.run.length < runLength) {
      let next: IteratorResult<S>;
      try {
        next = it.next();
      } catch (err) {
        state.ended = true; // as for-of: an iterator that threw is not closed
        throw err;
      }
      if (next.done === true) {
        state.ended = true;
        return undefined;
      }
      const service = next.value;
      // Validated just before its read, and not kept: thousands of validated keys held until the last
      // read would be copied by every scavenge.
      const s = validateService(service, state.index++);
      const destinations: Array<Destination | WithoutStats<Destination>> = [];
      let wait: Promise<void> | undefined;
      try {
        wait = this.conn.dumpPayloadsInto(cmd.dumpDests(state.fam, s), options, (buf, start, end) => decodeDestinationPayload(buf, start, end, s.af, stats), destinations);
      } catch (err) {
        state.waiting = { service, destinations }; // the pair whose read failed, for readAgainWithNewFamily
        throw err;
      }
      if (wait !== undefined) {
        state.waiting = { service, destinations };
        return wait;
      }
      state.run.push({ service, destinations });
    }
    return undefined;
  }

  /**
   * After a read of destinationsOfEach failed (the pair in `state.waiting`): when the refusal was for a
   * stale family id (familyAfter; one lookup per call), read that service again with the new id and add
   * it to the run. False when the failure stands.
   */
  private async readAgainWithNewFamily<S extends ServiceKey | Service | WithoutStats<Service>>(err: unknown, state: RunState<S>, options: RequestOptions): Promise<boolean> {
    const pair = state.waiting;
    if (pair === undefined || state.looked || !unknownFamilyOrEnoent(err)) return false;
    state.looked = true;
    const fam = await this.familyAfter(err, state.fam);
    if (fam === undefined) return false;
    state.fam = fam;
    const s = validateService(pair.service, state.index - 1);
    const stats = state.stats;
    pair.destinations.length = 0;
    await this.conn.dumpPayloadsInto(cmd.dumpDests(fam, s), options, (buf, start, end) => decodeDestinationPayload(buf, start, end, s.af, stats), pair.destinations);
    state.run.push(pair);
    state.waiting = undefined;
    return true;
  }

  // Timeouts, daemons, info, zero, flush

  /** Connection timeouts in seconds (GET_CONFIG). */
  async timeouts(options?: RequestOptions): Promise<Timeouts> {
    return decodeTimeoutsMessage((await this.single((fam) => cmd.getConfig(fam), options)).payload);
  }

  /** Set connection timeouts in seconds (SET_CONFIG); a missing (or 0) field is left unchanged. */
  async setTimeouts(timeouts: Partial<Timeouts>, options?: RequestOptions): Promise<void> {
    const t = validateTimeouts(timeouts);
    await this.run((fam) => cmd.setConfig(fam, t), options);
  }

  /**
   * The running sync daemons (GET_DAEMON): at most one master and one backup. Collected, as services():
   * it takes its turn behind other listings, and is read whole at once.
   */
  async daemons(options?: RequestOptions): Promise<Daemon[]> {
    return this.call(options, (o) => this.withFamily((fam) => this.conn.dumpAll(cmd.dumpDaemons(fam), o, (msg) => decodeDaemonMessage(msg.payload))));
  }

  /** NEW_DAEMON. Unset options take the kernel's defaults (group 224.0.0.81, port 8848, ttl 1). */
  async startDaemon(spec: DaemonSpec, options?: RequestOptions): Promise<void> {
    const d = validateDaemon(spec);
    await this.run((fam) => cmd.newDaemon(fam, d), options);
  }

  /**
   * DEL_DAEMON; ESRCH when that daemon is not running. The kernel can stop a daemon and send no answer
   * at all: stop_sync_thread() tears it down but returns kthread_stop()'s -EINTR when the daemon's thread
   * had not run yet (a daemon stopped right after it started, on a busy or single-CPU machine), and
   * netlink_rcv_skb() answers -EINTR with nothing. So a GET_INFO rides behind the DEL_DAEMON in the same
   * datagram: the kernel handles the two in order, so once GET_INFO is answered, a DEL_DAEMON still
   * unanswered never will be, and the daemon list says whether it stopped.
   */
  async stopDaemon(state: DaemonState, options?: RequestOptions): Promise<void> {
    const number = daemonStateNumber(state, 'state');
    const given = requestOptions(options);
    if (await this.call(given, (o) => this.withFamily((fam) => this.sendStop(fam, cmd.delDaemon(fam, number), o)))) return;
    if (!(await this.daemons(given)).some((d) => d.state === state)) return;
    const del = cmd.delDaemon(this.fam, number);
    throw new KernelError({
      errno: EINTR, operation: del.label.operation, object: del.label.object,
      message: `stop sync daemon ${state}: the kernel did not answer and the daemon still runs`,
    });
  }

  /** stopDaemon's DEL_DAEMON and the GET_INFO behind it: true when the DEL_DAEMON was answered (a refusal is thrown). */
  private async sendStop(fam: cmd.IpvsFamily, del: OutgoingRequest, options: RequestOptions): Promise<boolean> {
    // Our own signal, to forget the unanswered DEL_DAEMON; it follows the caller's.
    const forget = new AbortController();
    const outer = options.signal;
    const follow = (): void => forget.abort(outer?.reason);
    if (outer?.aborted) follow();
    else outer?.addEventListener('abort', follow, { once: true });
    try {
      const [stop, fence] = this.conn.batch([del, cmd.getInfo(fam)], { ...options, signal: forget.signal }) as [Promise<unknown>, Promise<unknown>];
      let answered = false;
      const stopped = stop.finally(() => {
        answered = true;
      });
      stopped.catch(() => undefined);
      // A fence that fails (timeout, abort, close, a refusal) fails the DEL_DAEMON first or with it.
      await fence.catch(() => undefined);
      if (answered) {
        await stopped;
        return true;
      }
      forget.abort();
      await stopped.catch(() => undefined);
      return false;
    } finally {
      outer?.removeEventListener('abort', follow);
    }
  }

  /** GET_INFO: the IPVS version ('1.2.1') and the connection table size. */
  async info(options?: RequestOptions): Promise<Info> {
    return decodeInfoMessage((await this.single((fam) => cmd.getInfo(fam), options)).payload);
  }

  /** Zero the counters of one service (ESRCH when missing), or of every service. */
  async zero(key?: ServiceKey, options?: RequestOptions): Promise<void> {
    const s = key === undefined ? undefined : validateServiceKey(key);
    await this.run((fam) => cmd.zero(fam, s), options);
  }

  /** Delete every service and destination. */
  async flush(options?: RequestOptions): Promise<void> {
    await this.run((fam) => cmd.flush(fam), options);
  }

  // Bulk

  /**
   * Carry out many operations, pipelined. All are validated first: one bad operation throws a
   * ValidationError naming its index (`operations[3].service.port`) and nothing is sent. They then go out in
   * windows, each window's requests written in one datagram; the kernel answers each refused request with
   * its error and acknowledges the window's last request, which settles the others. The next window is
   * sent once the previous one is answered, so answers never overflow the receive buffer. Results come back one per operation, in input order. With `stopOnError`, windows after the
   * first failure are not sent (`skipped`); the kernel has already carried out the rest of the failing
   * window, whose results say so. An abort fails the waiting window with AbortError (its outcome is
   * unknown: the kernel may have applied it) and skips the windows not yet sent; one seen while a long
   * array is being validated (the event loop turns then too) sends nothing. `ops` may be an
   * OperationBatch, validated and encoded ahead (the way for tens of thousands of operations: it holds
   * their bytes, not their objects); the array must not change while execute() runs.
   */
  execute(ops: readonly Operation[] | OperationBatch, options?: ExecuteOptions): Promise<OperationResult[]>;
  /** execute() of operations that hold objects read back (changed or not): see OperationInput. */
  execute(ops: readonly OperationInput[] | OperationBatch, options?: ExecuteOptions): Promise<OperationResult[]>;
  async execute(ops: readonly OperationInput[] | OperationBatch, options: ExecuteOptions = {}): Promise<OperationResult[]> {
    // Everything is validated before the first byte is sent, and encoded as it is validated (an
    // OperationBatch), so a bulk job holds its requests' bytes and no objects per operation; each window
    // is a copy of its bytes with the family and sequence numbers written in.
    const given = requestOptions(options, EXECUTE_KEYS) as ExecuteOptions;
    const stopOnError = booleanOption('stopOnError', options.stopOnError, false);
    if (options.window !== undefined && (!Number.isInteger(options.window) || options.window < 1 || options.window > 4096)) {
      throw new ValidationError('window', options.window, 'must be an integer 1..4096');
    }
    if (!(ops instanceof OperationBatch) && !Array.isArray(ops)) throw new ValidationError('operations', ops, 'must be an array of operations or an OperationBatch');
    // An OperationInput is validated as an Operation: the read-back values it may hold are refused there. Without
    // a turn of the event loop (no await) unless the validation takes one: the first window then goes out within
    // this call, in call order with the calls made before and after it.
    const built = ops instanceof OperationBatch ? ops : this.batchOf(ops as readonly Operation[], given.signal);
    const batch = built instanceof OperationBatch ? built : await built;
    // Aborted while the operations were being validated: nothing was sent.
    if (batch === undefined) return new Array<OperationResult>((ops as readonly Operation[]).length).fill({ skipped: true });
    const window = options.window ?? windowSize(this.conn.transport.receiveBufferSize);
    const windowOptions: RequestOptions = {};
    if (given.signal !== undefined) windowOptions.signal = given.signal;
    if (given.timeoutMs !== undefined) windowOptions.timeoutMs = given.timeoutMs;
    return this.call(windowOptions, (o) => this.sendWindows(batch, window, o, stopOnError));
  }

  /**
   * OperationBatch.from(ops), letting the event loop turn when the work has held it for a while (the
   * engine's meter, charged per BATCH_STEP operations): 20 000 operations took 0.8 s in one go on a slow
   * machine. An abort seen in a turn ends the validation: undefined, nothing was sent.
   */
  private batchOf(ops: readonly Operation[], signal: AbortSignal | undefined): OperationBatch | Promise<OperationBatch | undefined> {
    const batch = batchOver(ops);
    // Synchronous until a turn is due (most calls: no promise, no turn), then on from there asynchronously.
    for (let start = 0; start < ops.length; start += BATCH_STEP) {
      if (start > 0) {
        const turn = this.conn.workDone(BATCH_STEP);
        if (turn !== undefined) return this.batchOn(batch, ops, start, turn, signal);
      }
      const end = Math.min(ops.length, start + BATCH_STEP);
      for (let i = start; i < end; i++) batch.add(ops[i] as Operation);
    }
    return batch;
  }

  /** batchOf from `start` on, after the turn that fell due there. */
  private async batchOn(batch: OperationBatch, ops: readonly Operation[], start: number, due: Promise<void>, signal: AbortSignal | undefined): Promise<OperationBatch | undefined> {
    let turn: Promise<void> | undefined = due;
    for (; start < ops.length; start += BATCH_STEP) {
      if (turn !== undefined) {
        await turn;
        if (signal?.aborted) return undefined;
      }
      const end = Math.min(ops.length, start + BATCH_STEP);
      for (let i = start; i < end; i++) batch.add(ops[i] as Operation);
      turn = end < ops.length ? this.conn.workDone(BATCH_STEP) : undefined;
    }
    return batch;
  }

  /** execute()'s windows, one after another; `options` are the engine's (see call). */
  private async sendWindows(batch: OperationBatch, window: number, options: RequestOptions, stopOnError: boolean): Promise<OperationResult[]> {
    const family: WindowFamily = { fam: this.fam, looked: false, gone: undefined };
    const count = batch.length;
    const results = new Array<OperationResult>(count);
    // Every window is copied into the same buffer: once the kernel has answered each request of a
    // window, the transport is done with its datagram. After any other outcome (a timeout, an abort)
    // it may not be, and the next window gets a buffer of its own.
    const scratch: { buffer: Buffer | undefined } = { buffer: undefined };
    let failed = false;
    // The receive buffer overflowed: answers were lost, so nothing more is sent (see below).
    let overflowed = false;
    for (let start = 0; start < count; start += window) {
      // Windows answered inside their send never wait for an event: once they have kept the event loop
      // from turning for a while, it turns here, between windows, and an abort meanwhile skips the rest.
      // Not before the first: it goes out within the call, in call order (see execute).
      const turn = start === 0 ? undefined : this.conn.yieldIfDue();
      if (turn !== undefined) await turn;
      if ((failed && stopOnError) || overflowed || options.signal?.aborted) {
        results.fill({ skipped: true }, start);
        break;
      }
      const end = Math.min(count, start + window);
      const fam = family.fam;
      let outcomes = await this.conn.batchEncodedOutcomes(batch.messages(fam, start, end, scratch), end - start, (j) => batch.request(fam, start + j), options);
      if (family.gone !== undefined || !family.looked) outcomes = await this.windowAfterEnoent(family, batch, start, outcomes, options);
      for (let j = 0; j < outcomes.length; j++) {
        const error = outcomes[j];
        if (error === undefined) {
          results[start + j] = OK;
        } else if (error instanceof NotSentError) {
          // The window stopped before this part of it: never sent.
          results[start + j] = { skipped: true };
          overflowed = true;
        } else {
          results[start + j] = { ok: false, error };
          failed = true;
          // After an overflow the outcome of what was sent is unknown and later answers could be lost
          // the same way: the windows not yet sent are skipped, whatever stopOnError says.
          if (error instanceof KernelError && error.code === 'ENOBUFS') overflowed = true;
          if (!(error instanceof KernelError)) scratch.buffer = undefined;
        }
      }
    }
    return results;
  }

  /**
   * A window's outcomes once more, when one was a bare ENOENT (unknownFamilyOrEnoent). The first such
   * window of an execute() call looks the family up (familyAfter; one lookup per call): with a new id, its
   * requests refused with ENOENT are sent again to it (a message for an unknown id is never carried out,
   * and each datagram of a window meets one family: genl_rcv() holds the lock family registration needs),
   * and later windows go to it. With the family gone, those refusals become FamilyNotFoundErrors, here
   * and in later windows. With the same id, the ENOENTs are IPVS's own and stay.
   */
  private async windowAfterEnoent(family: WindowFamily, batch: OperationBatch, start: number, outcomes: (IpvsError | undefined)[], options: RequestOptions): Promise<(IpvsError | undefined)[]> {
    const refused: number[] = [];
    for (let j = 0; j < outcomes.length; j++) if (unknownFamilyOrEnoent(outcomes[j])) refused.push(j);
    if (refused.length === 0) return outcomes;
    if (!family.looked) {
      family.looked = true;
      let fresh: cmd.IpvsFamily | undefined;
      try {
        fresh = await this.familyAfter(outcomes[refused[0] as number], family.fam);
      } catch (err) {
        if (!(err instanceof FamilyNotFoundError)) throw err;
        family.gone = err;
      }
      if (fresh !== undefined) {
        family.fam = fresh;
        const again = await this.conn.batchOutcomes(refused.map((j) => batch.request(fresh, start + j)), options);
        refused.forEach((j, k) => {
          outcomes[j] = again[k];
        });
        return outcomes;
      }
    }
    const gone = family.gone;
    if (gone === undefined) return outcomes;
    for (const j of refused) outcomes[j] = new FamilyNotFoundError(gone.family, FAMILY_GONE_HINT, { cause: outcomes[j] });
    return outcomes;
  }

  // Declarative state (src/reconcile/, docs/reconcile.md). The free functions plan/apply/exportState do
  // the same with any ReconcileClient; these are the client's own spelling of them.

  /**
   * The minimal steps that make this kernel hold `desired`: reads the table, sends no change. Throws a
   * ValidationError naming the path of a bad field (`services[3].destinations[0].weight`) before reading.
   */
  async plan(desired: DesiredState, options?: PlanOptions): Promise<Plan> {
    const { plan } = await import('./reconcile/plan.js');
    return plan(this, desired, options);
  }

  /**
   * Plan, then carry the steps out pipelined, phase by phase (`dryRun`: plan only). Options: `prune`
   * unlisted services, `drain` destinations before deleting them, `stopOnError`. Failures while applying
   * are in the result (applied, failed with the typed error, not attempted); it throws only before
   * anything is sent. Running it again converges; a second run of the same state changes nothing.
   */
  async apply(desired: DesiredState, options?: ApplyOptions): Promise<ApplyResult> {
    const { apply } = await import('./reconcile/apply.js');
    return apply(this, desired, options);
  }

  /** The whole table as a desired state, in ipvsadm's order: applying it to this kernel changes nothing. */
  async exportState(options?: ExportStateOptions): Promise<DesiredState> {
    const { exportState } = await import('./reconcile/export.js');
    return exportState(this, options);
  }
}
