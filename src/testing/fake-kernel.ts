// FakeKernel: an in-memory model of Linux 6.1's IPVS that speaks the same generic-netlink bytes as the
// real kernel, so code built on `ipvs` can be tested without root, without an IPVS kernel, and without
// touching the host's table. Its requests are read independently of the client's codecs and its
// answers are shaped like the kernel's (nlctrl family lookup, every IPVS command with the kernel's
// errnos, multi-part dumps, ACK/ERROR/DONE). The repository's conformance suite runs the same
// scenarios against this fake and against a real kernel, which is how the two are kept equal.

import { GENL_ID_CTRL, GENL_MAX_ID, GENL_START_ALLOC, NLM_F_DUMP } from '../netlink/constants.js';
import { errnoValue, type ErrnoName } from '../netlink/errors.js';
import type { Transport } from '../netlink/transport.js';
import * as C from '../ipvs/constants.js';
import { ValidationError } from '../ipvs/errors.js';
import { booleanOption, onlyKnownOptions, optionKeys } from '../ipvs/option-keys.js';
import { SCHEDULERS, PERSISTENCE_ENGINES } from '../ipvs/types.js';
import { FaultQueue, checkCount, type FaultCommand, type FaultEffect, type FaultTarget } from './fake-faults.js';
import { applyStats, findTarget, snapshot, type FakeKernelState, type FakeStatsTarget, type FakeStatsValues } from './fake-inspect.js';
import { ipvsFamily } from './fake-ipvs-family.js';
import { IpvsTable } from './fake-ipvs-table.js';
import { NetlinkCore, splitDatagram, type GenlFamily, type GenlRequest, type SocketView } from './fake-netlink.js';
import { DEFAULT_INTERFACES, FakeNetwork, parsePrefix, type FakeInterface } from './fake-network.js';
import { nlctrlFamily } from './fake-nlctrl.js';
import { FakeTransport, type Exchange, type FakeTransportOptions } from './fake-transport.js';
import { RequestLog, entryOf, type FakeRequest, type FakeRequestName, type LoggedRequest } from './fake-request-log.js';

export type { FakeRequestName } from './fake-request-log.js';

/** Options of FakeKernel.unloadIpvs(). */
export interface UnloadIpvsOptions {
  /** A family lookup by name loads ip_vs again, as module autoloading does; default false. */
  autoload?: boolean;
}

/** Options of FakeKernel.loadIpvs() and reloadIpvs(). */
export interface LoadIpvsOptions {
  /** The family id to register under; default the next one generic netlink would hand out. */
  familyId?: number;
}

export interface FakeKernelOptions {
  /**
   * The IPVS family id nlctrl hands out (default 0x1c; the real one depends on the boot, and changes when
   * ip_vs is loaded again: reloadIpvs()).
   */
  familyId?: number;
  /**
   * Bytes of dump messages per datagram (default 3776, the kernel's NLMSG_GOODSIZE with 4 KiB pages,
   * which is what a reader that peeks each datagram's size gets). Small values exercise multi-part
   * parsing.
   */
  dumpBudget?: number;
  /**
   * Dump services and destinations in a random order. The kernel dumps in hash-table order; without
   * this the fake uses the order the kernel has when hashing does not interfere (address services,
   * then fwmark services, each in insertion order; destinations newest first).
   */
  shuffleDumps?: boolean;
  /** The random source for shuffleDumps (default Math.random), for reproducible orders. */
  random?: () => number;
  /**
   * The network interfaces (default: lo, eth0 and dum0 with MTUs 65536, 1500, 1500, all up; only lo has
   * addresses). `lo` is the loopback. They decide which destination addresses are local or broadcast (IPv4
   * broadcast only on interfaces that are up; an IPv6 address is local on an interface up or down) and which
   * sync daemons can start: as on Linux, a master needs its interface up, and an IPv6 group needs an interface
   * with IPv6 (not lo for a master, and an MTU of at least 1280), else ENETUNREACH (master) or EINVAL (backup); an
   * IPv6 master also needs an IPv6 address on its interface to send from (`linkLocal`), else EADDRNOTAVAIL, which
   * is also what an IPv6 master without a route gets, instead of ENETUNREACH, in a namespace with no IPv6 address
   * on any interface.
   */
  interfaces?: readonly FakeInterface[];
  /**
   * Whether the namespace has its IPv4 local routing table. Linux creates it with the first IPv4 address
   * added to any interface (up or down) and keeps it until the namespace goes, even once every address is
   * removed; without it, every IPv4 destination is refused with EINVAL (inet_addr_type() answers
   * RTN_BROADCAST), as in a new namespace whose `lo` was never up. Default: whether an interface has an
   * IPv4 address; true models a namespace whose IPv4 addresses were all removed since.
   */
  ipv4LocalTable?: boolean;
  /** Schedulers whose modules are "loaded" (default: all of Linux 6.1's). Others get ENOENT. */
  schedulers?: readonly string[];
  /** Persistence engines "loaded" (default: sip). */
  persistenceEngines?: readonly string[];
  /** The kernel's HZ, which bounds timeouts and wraps large persistence timeouts (default 250). */
  hz?: number;
  /** The connection table size GET_INFO reports (default 4096). */
  connTableSize?: number;
  /**
   * Put an empty IPVS_STATS_ATTR_PAD before each u64 that would not be 8-byte aligned, as kernels
   * without efficient unaligned access do (User-Mode Linux does; x86-64 hardware does not). Default false.
   */
  u64Padding?: boolean;
  /** Whether IPv6 is available (default true); without it AF_INET6 requests get EAFNOSUPPORT. */
  ipv6?: boolean;
  /**
   * Sync daemon threads never get to run before they are stopped, as on a busy single-CPU machine
   * (seen under User-Mode Linux when DEL_DAEMON follows NEW_DAEMON closely): DEL_DAEMON stops the daemon
   * but, like Linux's stop_sync_thread() whose kthread_stop() returns -EINTR, gets no answer at all,
   * since netlink_rcv_skb() answers -EINTR with nothing. Default false: threads run at once.
   */
  idleDaemonThreads?: boolean;
}

/**
 * An in-memory Linux 6.1 IPVS behind the generic-netlink wire format.
 *
 * ```ts
 * import { Ipvs } from 'ipvs';
 * import { FakeKernel } from 'ipvs/testing';
 *
 * const kernel = new FakeKernel();
 * const ipvs = await Ipvs.open({ transport: kernel.transport() });
 * await ipvs.addService({ protocol: 'tcp', address: '192.168.1.110', port: 80 });
 * kernel.state().services; // [{ key: 'tcp 192.168.1.110:80', scheduler: 'wlc', ... }]
 * kernel.failNext(1, 'ENOMEM');  // the next IPVS request is refused
 * ```
 *
 * Several transports may share one kernel, like several sockets on one host.
 */
export class FakeKernel {
  private id: number;
  /**
   * Every request received, by command name ('CTRL_CMD_GETFAMILY', 'IPVS_CMD_NEW_SERVICE', ...), in
   * order, including refused ones. Clear it with `kernel.requests.length = 0` (which clears `requestLog` too).
   */
  readonly requests: FakeRequestName[] = [];
  private readonly log = new RequestLog(this.requests);
  private readonly options: Required<Omit<FakeKernelOptions, 'familyId' | 'interfaces' | 'ipv4LocalTable' | 'schedulers' | 'persistenceEngines' | 'random'>>;
  private readonly random: () => number;
  private readonly network: FakeNetwork;
  private readonly schedulers: ReadonlySet<string>;
  private readonly engines: ReadonlySet<string>;
  private table: IpvsTable;
  private readonly faults = new FaultQueue((t) => (t instanceof FakeTransport && this.sockets.get(t.portId) === t ? t.portId : undefined));
  private readonly core: NetlinkCore;
  private ipvs: GenlFamily;
  private readonly nlctrl: GenlFamily;
  /** The open transports, by port id. */
  private readonly sockets = new Map<number, FakeTransport>();
  private nextPort = 0x1000;
  private interrupts = 0;
  private unprivileged = false;
  private familyMissing = false;
  /** ip_vs is loaded (unloadIpvs, loadIpvs); when not, whether a lookup by name loads it (autoload). */
  private loaded = true;
  private autoload = false;

  constructor(options: FakeKernelOptions = {}) {
    const o = onlyKnownOptions(options, KERNEL_KEYS);
    this.id = checkFamilyId(o.familyId ?? 0x1c, 'FakeKernelOptions.familyId');
    this.options = {
      dumpBudget: checkInteger('dumpBudget', o.dumpBudget, 3776, 1, 0x7fffffff),
      shuffleDumps: booleanOption('FakeKernelOptions.shuffleDumps', o.shuffleDumps, false),
      hz: checkInteger('hz', o.hz, 250, 1, 100_000, ' (Linux builds with 100, 250, 300 or 1000)'),
      connTableSize: checkInteger('connTableSize', o.connTableSize, 4096, 1, 0xffffffff),
      u64Padding: booleanOption('FakeKernelOptions.u64Padding', o.u64Padding, false),
      ipv6: booleanOption('FakeKernelOptions.ipv6', o.ipv6, true),
      idleDaemonThreads: booleanOption('FakeKernelOptions.idleDaemonThreads', o.idleDaemonThreads, false),
    };
    if (o.random !== undefined && typeof o.random !== 'function') throw new ValidationError('FakeKernelOptions.random', o.random, 'must be a function returning numbers in [0, 1), like Math.random');
    this.random = o.random ?? Math.random;
    if (o.ipv4LocalTable !== undefined) booleanOption('FakeKernelOptions.ipv4LocalTable', o.ipv4LocalTable, false);
    this.network = network(o.interfaces ?? DEFAULT_INTERFACES, o.ipv4LocalTable);
    this.schedulers = new Set(checkNames('schedulers', o.schedulers, SCHEDULERS));
    this.engines = new Set(checkNames('persistenceEngines', o.persistenceEngines, PERSISTENCE_ENGINES));
    this.table = this.newTable();
    this.ipvs = this.newFamily();
    this.nlctrl = nlctrlFamily(() => (this.present ? [this.ipvs] : []), (name) => {
      // request_module() for a family asked for by name: ip_vs comes back when it is installed.
      if (name === this.ipvs.name && !this.loaded && this.autoload) this.loadIpvs();
    });
    this.core = new NetlinkCore({
      dumpBudget: this.options.dumpBudget,
      u64Padding: this.options.u64Padding,
      family: (type) => (type === GENL_ID_CTRL ? this.nlctrl : type === this.id && this.present ? this.ipvs : undefined),
      unprivileged: () => this.unprivileged,
      interruptDump: (req: GenlRequest) => {
        if (req.type !== this.familyId || this.interrupts === 0) return false;
        this.interrupts--;
        return true;
      },
    });
  }

  /** The IPVS family id: the id nlctrl hands out now (a new one after reloadIpvs()). */
  get familyId(): number {
    return this.id;
  }

  /** Whether the IPVS family is registered and not hidden by setFamilyMissing. */
  private get present(): boolean {
    return this.loaded && !this.familyMissing;
  }

  private newFamily(): GenlFamily {
    return ipvsFamily({
      id: this.id,
      table: () => this.table,
      style: () => ({ u64Padding: this.options.u64Padding, serviceTimeout: (s) => this.table.serviceTimeout(s) }),
      connTableSize: this.options.connTableSize,
      order: (items) => this.order(items),
    });
  }

  private newTable(): IpvsTable {
    return new IpvsTable({ schedulers: this.schedulers, persistenceEngines: this.engines, hz: this.options.hz, ipv6: this.options.ipv6, network: this.network, idleDaemonThreads: this.options.idleDaemonThreads });
  }

  /** A new socket on this kernel, for `Ipvs.open({ transport })`. */
  transport(options: FakeTransportOptions = {}): Transport {
    onlyKnownOptions(options, TRANSPORT_KEYS);
    const portId = this.nextPort++;
    const t = new FakeTransport({ exchange: (d, s) => this.exchange(d, s), release: (p) => this.sockets.delete(p) }, portId, options);
    this.sockets.set(portId, t);
    return t;
  }

  private commandName(type: number, cmd: number): FakeRequestName {
    if (type === GENL_ID_CTRL) return cmd === 3 ? 'CTRL_CMD_GETFAMILY' : `CTRL_CMD_${cmd}`;
    // A message for the IPVS id while no family has it (unloaded, or missing) is generic netlink's to refuse.
    if (type === this.id && this.present) return C.IPVS_CMD_NAMES[cmd] ?? `IPVS_CMD_${cmd}`;
    return `netlink type ${type}`;
  }

  /**
   * `kernel.requests` by content: each request's command and the service, destination, daemon or timeouts
   * it named, in the terms of `state()`, frozen. It follows `requests`: `kernel.requests.length = 0` empties
   * both, as reset() does. Each request's bytes are kept until then and read on the first look.
   */
  get requestLog(): readonly FakeRequest[] {
    return this.log.entries();
  }

  /**
   * One written datagram: each message handled in turn, faults applied, replies returned for queueing. While
   * a fault with a `where` is armed, the faults of every request up to the next family lookup are taken
   * before any of them is carried out, so a `where` that throws leaves the table, the log and the faults as
   * they were for those (a lookup can load ip_vs, which renames the messages after it).
   */
  private exchange(datagram: Buffer, sock: SocketView): Exchange[] {
    const out: Exchange[] = [];
    const messages = splitDatagram(datagram);
    for (let i = 0; i < messages.length; ) {
      const matching = this.faults.matching;
      const logged = this.log.length;
      const mark = matching ? this.faults.mark() : undefined;
      const segment: { message: Buffer; effect: FaultEffect | undefined }[] = [];
      try {
        do {
          const message = messages[i++] as Buffer;
          const type = message.readUInt16LE(4);
          const flags = message.readUInt16LE(6);
          let effect: FaultEffect | undefined;
          if ((flags & 0x01) !== 0 && type >= 0x10) {
            const name = this.commandName(type, message.length > 16 ? message.readUInt8(16) : -1);
            const ipvs = type === this.id && this.present;
            const r: LoggedRequest = { name, dump: (flags & NLM_F_DUMP) === NLM_F_DUMP, message: ipvs ? message : undefined, entry: undefined };
            this.log.push(r);
            effect = this.faults.take(name, ipvs, sock.portId, () => entryOf(r));
          }
          segment.push({ message, effect });
          if (type === GENL_ID_CTRL || !matching) break;
        } while (i < messages.length);
      } catch (err) {
        this.log.truncate(logged);
        if (mark) this.faults.restore(mark);
        throw err;
      }
      for (const { message, effect } of segment) {
        if (effect?.kind === 'errno') {
          out.push({ datagrams: [this.core.error(message, effect.errno, sock)], dump: false, effect: undefined });
          continue;
        }
        const outcome = this.core.handle(message, sock);
        out.push({ datagrams: outcome.datagrams, dump: outcome.dump, ...(outcome.next ? { next: outcome.next } : {}), effect });
      }
    }
    return out;
  }

  private order<T>(items: T[]): T[] {
    if (!this.options.shuffleDumps) return items;
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const draw = this.random();
      // Out of [0, 1) the index would leave holes in the listing, and the fake fail deep inside building it.
      if (typeof draw !== 'number' || !(draw >= 0 && draw < 1)) {
        throw new ValidationError('FakeKernelOptions.random', draw, 'returned a value out of [0, 1): it must return numbers in [0, 1), like Math.random');
      }
      const j = Math.floor(draw * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  // Fault injection. `command` narrows a fault to one command: an IPVS command number
  // (IPVS_CMD_NEW_DEST) or a name ('IPVS_CMD_NEW_DEST', 'CTRL_CMD_GETFAMILY'); without it a fault
  // hits the next IPVS requests of any command. Faults fire in the order they were armed. A FaultTarget,
  // `{ command?, after?, transport?, where? }`, lets the first `after` requests the fault matches through, and
  // aims it at the requests of one socket, and at those a predicate accepts, given as `requestLog` holds them.

  /**
   * Refuse the next `count` requests with `errno` (a name like 'EBUSY', or a number 1..4095, as the
   * kernel's negative errnos); they have no effect.
   */
  failNext(count: number, errno: ErrnoName | number, command?: FaultCommand | FaultTarget): this {
    this.faults.arm('failNext', { kind: 'errno', errno: checkErrno(errno) }, count, command);
    return this;
  }

  /**
   * Carry out the next `count` requests but never answer them: the client's timeout fires. A listing
   * (dump) never answered has no counterpart on Linux, which never loses a dump's parts: the client, which
   * reads an abandoned dump to its end before its next listing, waits for that end until the timeout it
   * was opened with (`Ipvs.open({ timeoutMs })`, 30 s by default) before that next listing goes out. Open
   * the client of such a test with a short `timeoutMs`.
   */
  dropReplies(count: number, command?: FaultCommand | FaultTarget): this {
    this.faults.arm('dropReplies', { kind: 'drop' }, count, command);
    return this;
  }

  /**
   * Carry out the next `count` requests and answer each after `ms` milliseconds (a timer, which follows
   * a test's fake clock if it fakes setTimeout; closing the transport or reset() cancels it).
   */
  delayReplies(count: number, ms: number, command?: FaultCommand | FaultTarget): this {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_DELAY_MS) throw new ValidationError('FakeKernel.delayReplies ms', ms, `must be a number of milliseconds 0..${MAX_DELAY_MS}`);
    this.faults.arm('delayReplies', { kind: 'delay', ms }, count, command);
    return this;
  }

  /**
   * Carry out the next `count` requests and lose their replies to a receive-buffer overflow: the
   * socket reports ENOBUFS (non-fatal), as a real one does when the kernel drops replies. A listing hit
   * by it gets ENOBUFS too, but, as on Linux, where a dump's parts are never dropped (netlink_dump()
   * waits for room instead), the dump still runs to its end, so the client's next listing goes out at once.
   */
  overflowReplies(count = 1, command?: FaultCommand | FaultTarget): this {
    this.faults.arm('overflowReplies', { kind: 'overflow' }, count, command);
    return this;
  }

  /** The same as overflowReplies (its earlier name). */
  overflowReceiveBuffer(count = 1, command?: FaultCommand | FaultTarget): this {
    return this.overflowReplies(count, command);
  }

  /**
   * Mark every part of the next `count` IPVS dumps NLM_F_DUMP_INTR: a generic netlink fault, to test
   * that a reader handles the flag. Linux 6.1's IPVS never sets it; there a table changed during a dump
   * goes unflagged, and the dump may skip or repeat entries.
   */
  interruptNextDumps(count = 1): this {
    this.interrupts += checkCount(count, 'interruptNextDumps');
    return this;
  }

  /** Answer every IPVS request with EPERM, as for a process without CAP_NET_ADMIN (nlctrl still answers). */
  setUnprivileged(on: boolean): this {
    this.unprivileged = checkSwitch('setUnprivileged', on);
    return this;
  }

  /** Pretend ip_vs is not loaded: nlctrl answers ENOENT for "IPVS", IPVS messages get ENOENT. */
  setFamilyMissing(on: boolean): this {
    this.familyMissing = checkSwitch('setFamilyMissing', on);
    return this;
  }

  /**
   * Unload ip_vs (`ipvsadm -C; modprobe -r ip_vs_rr ... ip_vs`): the IPVS family is unregistered (nlctrl
   * answers ENOENT for "IPVS", messages for its id get ENOENT from generic netlink) and the table, timeouts
   * and sync daemons are gone. Until loadIpvs(); or, with `autoload`, until a family lookup by name, which
   * loads it as a kernel with module autoloading does for an installed ip_vs (default false: as if it were
   * not installed, or autoloading were off).
   */
  unloadIpvs(options: UnloadIpvsOptions = {}): this {
    onlyKnownOptions(options, UNLOAD_KEYS);
    const autoload = booleanOption('UnloadIpvsOptions.autoload', options.autoload, false);
    this.loaded = false;
    this.autoload = autoload;
    this.table = this.newTable();
    return this;
  }

  /**
   * Load ip_vs after unloadIpvs(): the family registered again under a new id, by default the next one
   * (generic netlink hands ids out cyclically, so the old one is not reused: 0x1c becomes 0x1d; after 1023,
   * GENL_MAX_ID, it starts again at 0x13), with an empty table and default timeouts. Open clients still hold the old id until a refusal makes them
   * look the family up again.
   */
  loadIpvs(options: LoadIpvsOptions = {}): this {
    onlyKnownOptions(options, LOAD_KEYS);
    if (this.loaded) throw new TypeError('FakeKernel: ip_vs is loaded; unloadIpvs() first, or reloadIpvs()');
    this.id = checkFamilyId(options.familyId ?? (this.id >= GENL_MAX_ID ? GENL_START_ALLOC : this.id + 1), 'FakeKernel.loadIpvs familyId');
    this.loaded = true;
    this.autoload = false;
    this.table = this.newTable();
    this.ipvs = this.newFamily();
    return this;
  }

  /** unloadIpvs() then loadIpvs(): `modprobe -r ... ip_vs; modprobe ip_vs` between two requests. */
  reloadIpvs(options: LoadIpvsOptions = {}): this {
    onlyKnownOptions(options, LOAD_KEYS);
    if (options.familyId !== undefined) checkFamilyId(options.familyId, 'FakeKernel.reloadIpvs familyId');
    return this.unloadIpvs().loadIpvs(options);
  }

  /** Disarm every pending fault and dump interruption (privilege and family switches stay as set). */
  clearFaults(): this {
    this.faults.clear();
    this.interrupts = 0;
    return this;
  }

  /** Transports opened on this kernel and not yet closed. */
  get openTransports(): number {
    return this.sockets.size;
  }

  /** How many armed faults have not fired yet. */
  get pendingFaults(): number {
    return this.faults.pending + this.interrupts;
  }

  // Inspection and test hooks

  /** A plain snapshot of the table, the timeouts and the sync daemons. */
  state(): FakeKernelState {
    return snapshot(this.table);
  }

  /**
   * Set counters of a service, or of one of its destinations, and a destination's connection counts,
   * e.g. `setStats({ protocol: 'tcp', address: '10.0.0.1', port: 80, destination: '192.168.1.2' }, { conns: 5n, activeConns: 3 })`.
   */
  setStats(target: FakeStatsTarget, values: FakeStatsValues): this {
    applyStats(findTarget(this.table, target), values, false);
    return this;
  }

  /** Add to counters and connection counts, as traffic would. */
  bumpStats(target: FakeStatsTarget, deltas: FakeStatsValues): this {
    applyStats(findTarget(this.table, target), deltas, true);
    return this;
  }

  /**
   * Back to a fresh kernel: empty table, default timeouts, no daemons, no faults, privileged, family
   * present (under its current id). Replies that delayReplies() still holds back are dropped (their
   * requests time out), so no timer of the old kernel outlives the reset.
   */
  reset(): this {
    this.table = this.newTable();
    this.clearFaults();
    for (const t of this.sockets.values()) t.cancelDelayed();
    this.unprivileged = false;
    this.familyMissing = false;
    this.loaded = true;
    this.autoload = false;
    this.requests.length = 0;
    return this;
  }
}

// The keys of each options object (refused otherwise: src/ipvs/option-keys.ts).
const KERNEL_KEYS = optionKeys<FakeKernelOptions>('FakeKernelOptions', {
  familyId: true, dumpBudget: true, shuffleDumps: true, random: true, interfaces: true, ipv4LocalTable: true, schedulers: true,
  persistenceEngines: true, hz: true, connTableSize: true, u64Padding: true, ipv6: true, idleDaemonThreads: true,
});
const INTERFACE_KEYS = optionKeys<FakeInterface>('FakeKernelOptions.interfaces[]', { name: true, mtu: true, addresses: true, up: true, linkLocal: true });
const TRANSPORT_KEYS = optionKeys<FakeTransportOptions>('FakeTransportOptions', { capAck: true, extendedAck: true, receiveBufferSize: true });
const UNLOAD_KEYS = optionKeys<UnloadIpvsOptions>('UnloadIpvsOptions', { autoload: true });
const LOAD_KEYS = optionKeys<LoadIpvsOptions>('LoadIpvsOptions', { familyId: true });

/** The longest delay a timer takes (setTimeout's limit, some 24.8 days). */
const MAX_DELAY_MS = 0x7fffffff;

function checkErrno(errno: unknown): number {
  if (typeof errno === 'string') {
    try {
      return errnoValue(errno);
    } catch {
      throw new ValidationError('FakeKernel.failNext errno', errno, "not an errno name: one like 'EBUSY' or 'ENOMEM' (upper case), or a number 1..4095");
    }
  }
  // 0 would be an ACK (a request that asked for an answer would get none), a negative number no errno.
  if (typeof errno !== 'number' || !Number.isInteger(errno) || errno < 1 || errno > 4095) {
    throw new ValidationError('FakeKernel.failNext errno', errno, "must be an errno name like 'EBUSY' or a number 1..4095");
  }
  return errno;
}

/** A switch's argument: a missing one would read as off, a truthy string as on. */
function checkSwitch(method: string, on: unknown): boolean {
  if (typeof on !== 'boolean') throw new ValidationError(`FakeKernel.${method} on`, on, 'must be true or false');
  return on;
}

function checkFamilyId(id: unknown, field: string): number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id <= GENL_ID_CTRL || id > 0xffff) {
    throw new ValidationError(field, id, 'must be an integer above 0x10 (nlctrl) and at most 0xffff');
  }
  return id;
}

function checkInteger(name: string, value: unknown, fallback: number, min: number, max: number, note = ''): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(`FakeKernelOptions.${name}`, value, `must be an integer ${min}..${max}${note}`);
  }
  return value;
}

/** The interfaces option checked field by field; FakeNetwork's own refusals (names, prefixes) are re-worded as the others. */
function network(interfaces: unknown, ipv4LocalTable: boolean | undefined): FakeNetwork {
  const field = 'FakeKernelOptions.interfaces';
  if (!Array.isArray(interfaces)) throw new ValidationError(field, interfaces, 'must be an array of { name, mtu?, addresses?, up?, linkLocal? }');
  const names = new Set<unknown>();
  interfaces.forEach((i: unknown, n) => {
    if (typeof i !== 'object' || i === null) throw new ValidationError(`${field}[${n}]`, i, 'must be an object { name, mtu?, addresses?, up?, linkLocal? }');
    onlyKnownOptions(i, INTERFACE_KEYS, `${field}[${n}]`);
    const { name, mtu, addresses, up, linkLocal } = i as FakeInterface;
    // dev_valid_name(): 1..15 characters (IFNAMSIZ less its NUL), not . or .., no /, : or white space.
    if (typeof name !== 'string' || name.length === 0 || name.length > 15 || name === '.' || name === '..' || /[/:\s]/.test(name)) {
      throw new ValidationError(`${field}[${n}].name`, name, 'must be an interface name Linux takes: 1..15 characters, not . or .., without /, : or white space');
    }
    // A second one of a name would replace the first, its addresses gone: a namespace has one interface of a name.
    if (names.has(name)) throw new ValidationError(`${field}[${n}].name`, name, 'names an interface given before: each interface once');
    names.add(name);
    if (mtu !== undefined && (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 65536)) throw new ValidationError(`${field}[${n}].mtu`, mtu, 'must be an integer 68..65536');
    if (up !== undefined && typeof up !== 'boolean') throw new ValidationError(`${field}[${n}].up`, up, 'must be true or false');
    if (linkLocal !== undefined && typeof linkLocal !== 'boolean') throw new ValidationError(`${field}[${n}].linkLocal`, linkLocal, 'must be true or false');
    if (addresses !== undefined && (!Array.isArray(addresses) || !addresses.every((a) => typeof a === 'string'))) {
      throw new ValidationError(`${field}[${n}].addresses`, addresses, "must be an array of addresses with a prefix length, e.g. ['192.168.1.1/24']");
    }
    addresses?.forEach((a, k) => {
      try {
        parsePrefix(a);
      } catch (err) {
        if (!(err instanceof TypeError)) throw err;
        throw new ValidationError(`${field}[${n}].addresses[${k}]`, a, `${err.message.replace(/^FakeKernel: /, '')}: an address with a prefix length, e.g. '192.168.1.1/24'`, { cause: err });
      }
    });
  });
  // Linux makes the local table with the first IPv4 address: no namespace has one without it.
  if (ipv4LocalTable === false && (interfaces as FakeInterface[]).some((i) => i.addresses?.some((a) => parsePrefix(a).af === C.AF_INET))) {
    throw new ValidationError('FakeKernelOptions.ipv4LocalTable', ipv4LocalTable, 'cannot be false while an interface has an IPv4 address (Linux makes the table with the first one); leave it out, or give the interfaces no IPv4 address');
  }
  try {
    return new FakeNetwork(interfaces as FakeInterface[], ipv4LocalTable);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    throw new ValidationError(field, interfaces, err.message.replace(/^FakeKernel: /, ''), { cause: err });
  }
}

function checkNames(name: string, value: unknown, fallback: readonly string[]): readonly string[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) {
    throw new ValidationError(`FakeKernelOptions.${name}`, value, `must be an array of names (the module's without ip_vs_), e.g. ['rr', 'wlc']`);
  }
  return value as string[];
}
