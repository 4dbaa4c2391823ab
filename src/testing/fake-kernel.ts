// FakeKernel: an in-memory model of Linux 6.1's IPVS that answers the same generic-netlink bytes as the
// real kernel (nlctrl family lookup, every IPVS command, multi-part dumps, ACKs and errnos), so tests
// run unprivileged. It decodes requests itself from the uapi constants, not through the client's
// codecs, so a codec bug cannot hide behind it; the conformance suite runs the same scenarios against
// the real kernel to keep the two honest.

import { errnoValue } from '../netlink/errors.js';
import {
  CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_HDRSIZE, CTRL_ATTR_MAXATTR, CTRL_ATTR_OPS, CTRL_ATTR_OP_FLAGS,
  CTRL_ATTR_OP_ID, CTRL_ATTR_VERSION, CTRL_CMD_GETFAMILY, CTRL_CMD_NEWFAMILY, GENL_ID_CTRL, NLMSG_DONE, NLMSG_ERROR,
  NLM_F_ACK, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTI, NLM_F_REQUEST, NLMSG_HDRLEN,
} from '../netlink/constants.js';
import { Attributes, parseGenlHeader, parseMessages, type NetlinkMessage } from '../netlink/reader.js';
import type { Transport, TransportReceiver } from '../netlink/transport.js';
import { MessageWriter } from '../netlink/writer.js';
import * as C from '../ipvs/constants.js';
import { SCHEDULERS } from '../ipvs/types.js';
import { FakeState, type FakeDest, type FakeService, type FakeStats } from './fake-state.js';

export interface FakeKernelOptions {
  /** The IPVS family id nlctrl reports (default 0x22). */
  familyId?: number;
  /** Bytes of dump messages per datagram before a new one starts (default 4096, about the kernel's page). */
  dumpBudget?: number;
  /** Dump services and destinations in a shuffled order, as the kernel's hash order is arbitrary. */
  shuffleDumps?: boolean;
  /** Interface names a sync daemon may bind to (default lo, eth0, dum0). */
  interfaces?: string[];
  /** Schedulers "loaded" (default all of Linux 6.1's). */
  schedulers?: string[];
}

/** A fault for the next requests; see FakeKernel.failNext and friends. */
interface Fault {
  kind: 'errno' | 'drop' | 'delay' | 'enobufs';
  remaining: number;
  errno?: number;
  command?: number;
  ms?: number;
}

class KernelError extends Error {
  constructor(readonly errno: number) {
    super(`errno ${errno}`);
  }
}

const E = (name: string): KernelError => new KernelError(errnoValue(name));

interface Reply {
  datagrams: Buffer[];
}

export class FakeKernel {
  readonly familyId: number;
  private readonly dumpBudget: number;
  private readonly shuffle: boolean;
  private readonly interfaces: Set<string>;
  private readonly schedulers: Set<string>;
  private readonly st = new FakeState();
  private readonly faults: Fault[] = [];
  private nextPort = 1000;
  private interruptDumps = 0;
  private unprivileged = false;
  private familyMissing = false;
  /** Every request received, as its command name (e.g. 'IPVS_CMD_NEW_SERVICE', 'CTRL_CMD_GETFAMILY'). */
  readonly requests: string[] = [];

  constructor(options: FakeKernelOptions = {}) {
    this.familyId = options.familyId ?? 0x22;
    this.dumpBudget = options.dumpBudget ?? 4096;
    this.shuffle = options.shuffleDumps ?? false;
    this.interfaces = new Set(options.interfaces ?? ['lo', 'eth0', 'dum0']);
    this.schedulers = new Set(options.schedulers ?? SCHEDULERS);
  }

  /** A new socket-like transport on this kernel; several may share it. */
  transport(): Transport {
    return new FakeTransport(this, this.nextPort++);
  }

  // Fault injection

  /** The next `count` IPVS requests (of `command` only, when given) fail with `errno` (a name like 'EBUSY'). */
  failNext(count: number, errno: string, command?: number): void {
    this.faults.push({ kind: 'errno', remaining: count, errno: errnoValue(errno), ...(command === undefined ? {} : { command }) });
  }

  /** The next `count` requests are processed but never answered (the client's timeout fires). */
  dropReplies(count: number): void {
    this.faults.push({ kind: 'drop', remaining: count });
  }

  /**
   * The replies to the next `count` requests overflow the receive buffer: they are processed, their
   * replies are dropped, and the socket reports ENOBUFS, as the kernel does.
   */
  overflowReceiveBuffer(count = 1): void {
    this.faults.push({ kind: 'enobufs', remaining: count });
  }

  /** The next `count` requests are answered after `ms` milliseconds. */
  delayReplies(count: number, ms: number): void {
    this.faults.push({ kind: 'delay', remaining: count, ms });
  }

  /** The next `count` dumps carry NLM_F_DUMP_INTR, as when the table changes during a dump. */
  interruptNextDumps(count = 1): void {
    this.interruptDumps += count;
  }

  /** Answer every IPVS request with EPERM, as for a process without CAP_NET_ADMIN. */
  setUnprivileged(on: boolean): void {
    this.unprivileged = on;
  }

  /** Pretend ip_vs is not loaded: nlctrl answers ENOENT for "IPVS". */
  setFamilyMissing(on: boolean): void {
    this.familyMissing = on;
  }

  // Inspection and test hooks

  /** A plain snapshot of the table, timeouts and daemons. */
  state(): ReturnType<FakeState['snapshot']> {
    return this.st.snapshot();
  }

  /** Set counters or connection counts of a service (and optionally one of its destinations), for monitoring tests. */
  setStats(match: { fwmark?: number; address?: string; port?: number; destination?: string; destinationPort?: number }, stats: Partial<FakeStats> & { activeConns?: number; inactiveConns?: number; persistentConns?: number }): void {
    this.st.setStats(match, stats);
  }

  private takeFault(command: number): Fault | undefined {
    for (const f of this.faults) {
      if (f.remaining <= 0) continue;
      if (f.command !== undefined && f.command !== command) continue;
      f.remaining--;
      return f;
    }
    return undefined;
  }

  /** Handle one written datagram; returns what the kernel would send back, and how. */
  handle(datagram: Buffer, portId: number): { datagrams: Buffer[]; delayMs: number; drop: boolean; enobufs: boolean } {
    const out: Buffer[] = [];
    let delayMs = 0;
    let drop = false;
    let enobufs = false;
    let messages: NetlinkMessage[];
    try {
      messages = parseMessages(datagram);
    } catch {
      return { datagrams: [], delayMs: 0, drop: false, enobufs: false }; // the kernel drops what it cannot parse
    }
    for (const msg of messages) {
      if ((msg.flags & NLM_F_REQUEST) === 0) continue;
      let cmd = -1;
      try {
        cmd = parseGenlHeader(msg.payload).cmd;
      } catch {
        // answered below as EINVAL
      }
      const fault = msg.type === this.familyId ? this.takeFault(cmd) : undefined;
      if (fault?.kind === 'enobufs') {
        enobufs = true;
        this.process(msg, portId);
        continue;
      }
      if (fault?.kind === 'drop') {
        drop = true;
        this.process(msg, portId); // processed, unanswered
        continue;
      }
      if (fault?.kind === 'delay') delayMs = Math.max(delayMs, fault.ms ?? 0);
      if (fault?.kind === 'errno') {
        out.push(errorMessage(msg, fault.errno ?? 0, portId));
        continue;
      }
      out.push(...this.process(msg, portId).datagrams);
    }
    return { datagrams: out, delayMs, drop, enobufs };
  }

  private process(msg: NetlinkMessage, portId: number): Reply {
    const ack = (msg.flags & NLM_F_ACK) !== 0;
    try {
      let data: Buffer[];
      if (msg.type === GENL_ID_CTRL) data = this.ctrl(msg, portId);
      else if (msg.type === this.familyId && !this.familyMissing) data = this.ipvs(msg, portId);
      else throw E('ENOENT');
      const isDump = (msg.flags & NLM_F_DUMP) === NLM_F_DUMP && data.length > 0 && isDumpReply(data);
      if (isDump || !ack) return { datagrams: data };
      return { datagrams: [...data, errorMessage(msg, 0, portId)] };
    } catch (err) {
      const errno = err instanceof KernelError ? err.errno : errnoValue('EINVAL');
      if (!(err instanceof KernelError) && !(err instanceof RangeError) && !(err instanceof Error)) throw err;
      return { datagrams: [errorMessage(msg, errno, portId)] };
    }
  }

  private ctrl(msg: NetlinkMessage, portId: number): Buffer[] {
    const g = parseGenlHeader(msg.payload);
    this.requests.push('CTRL_CMD_GETFAMILY');
    if (g.cmd !== CTRL_CMD_GETFAMILY) throw E('EOPNOTSUPP');
    const a = Attributes.parse(g.body);
    const name = a.string(CTRL_ATTR_FAMILY_NAME);
    if (name === 'nlctrl') return [this.single(msg, portId, GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, 2, (w) => familyAttrs(w, GENL_ID_CTRL, 'nlctrl', 2, [3]))];
    if (name !== C.IPVS_GENL_NAME || this.familyMissing) throw E('ENOENT');
    const ops = Array.from({ length: 17 }, (_, i) => i + 1);
    return [this.single(msg, portId, GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, 2, (w) => familyAttrs(w, this.familyId, C.IPVS_GENL_NAME, C.IPVS_GENL_VERSION, ops))];
  }

  private single(req: NetlinkMessage, portId: number, type: number, cmd: number, version: number, body: (w: MessageWriter) => void): Buffer {
    const w = new MessageWriter(256);
    w.beginMessage(type, 0, req.seq, portId);
    w.genlHeader(cmd, version);
    body(w);
    w.endMessage();
    return w.toBuffer();
  }

  private ipvs(msg: NetlinkMessage, portId: number): Buffer[] {
    const g = parseGenlHeader(msg.payload);
    this.requests.push(C.IPVS_CMD_NAMES[g.cmd] ?? `IPVS_CMD_${g.cmd}`);
    if (this.unprivileged) throw E('EPERM');
    const a = Attributes.parse(g.body);
    const dump = (msg.flags & NLM_F_DUMP) === NLM_F_DUMP;
    const st = this.st;
    switch (g.cmd) {
      case C.IPVS_CMD_NEW_SERVICE: {
        const s = this.parseService(serviceAttr(a), true);
        if (s.fwmark === 0 && s.protocol !== C.IPPROTO_TCP && s.protocol !== C.IPPROTO_UDP && s.protocol !== C.IPPROTO_SCTP) throw E('EPROTONOSUPPORT');
        if (s.af === C.AF_INET6 && (s.netmask < 1 || s.netmask > 128)) throw E('EINVAL');
        if (st.findService(s)) throw E('EEXIST');
        this.checkScheduler(s);
        st.addService(s);
        return [];
      }
      case C.IPVS_CMD_SET_SERVICE: {
        const s = this.parseService(serviceAttr(a), true);
        const cur = st.findService(s);
        if (!cur) throw E('ESRCH');
        if (s.af === C.AF_INET6 && (s.netmask < 1 || s.netmask > 128)) throw E('EINVAL');
        this.checkScheduler(s);
        Object.assign(cur, { sched: s.sched, flags: s.flags, timeout: s.timeout, netmask: s.netmask, pe: s.pe });
        return [];
      }
      case C.IPVS_CMD_DEL_SERVICE: {
        const cur = st.findService(this.parseService(serviceAttr(a), false));
        if (!cur) throw E('ESRCH');
        st.deleteService(cur);
        return [];
      }
      case C.IPVS_CMD_GET_SERVICE: {
        if (dump) return this.dumpMessages(msg, portId, C.IPVS_CMD_NEW_SERVICE, this.order(st.services()).map((s) => (w: MessageWriter) => writeService(w, s)));
        const cur = st.findService(this.parseService(serviceAttr(a), false));
        if (!cur) throw E('ESRCH');
        return [this.single(msg, portId, this.familyId, C.IPVS_CMD_NEW_SERVICE, C.IPVS_GENL_VERSION, (w) => writeService(w, cur))];
      }
      case C.IPVS_CMD_NEW_DEST:
      case C.IPVS_CMD_SET_DEST:
      case C.IPVS_CMD_DEL_DEST: {
        const full = g.cmd !== C.IPVS_CMD_DEL_DEST;
        const svcAttrs = a.nested(C.IPVS_CMD_ATTR_SERVICE);
        const destAttrs = a.nested(C.IPVS_CMD_ATTR_DEST);
        if (!svcAttrs || !destAttrs) throw E('EINVAL');
        const key = this.parseServiceKey(svcAttrs);
        const d = parseDest(destAttrs, full, key.af);
        const svc = st.findService(key);
        if (!svc) throw E('ESRCH');
        if (full) {
          if (d.af !== svc.af && (d.fwd & C.IP_VS_CONN_F_FWD_MASK) !== C.IP_VS_CONN_F_TUNNEL) throw E('EINVAL');
          if (d.weight < 0) throw E('ERANGE');
          if (d.lower > d.upper) throw E('ERANGE');
          if (d.tunType === C.IP_VS_CONN_F_TUNNEL_TYPE_GUE && !d.tunPort) throw E('EINVAL');
        }
        const cur = st.findDest(svc, d);
        if (g.cmd === C.IPVS_CMD_NEW_DEST) {
          if (cur) throw E('EEXIST');
          // The kernel wants an IPv4 destination to be a unicast or local address (inet_addr_type).
          if (d.af === C.AF_INET && !isUnicastIPv4(d.addr)) throw E('EINVAL');
          st.addDest(svc, d);
        } else if (!cur) {
          throw E('ENOENT');
        } else if (g.cmd === C.IPVS_CMD_SET_DEST) {
          Object.assign(cur, { fwd: d.fwd, weight: d.weight, upper: d.upper, lower: d.lower, tunType: d.tunType, tunPort: d.tunPort, tunFlags: d.tunFlags });
        } else {
          st.deleteDest(svc, cur);
        }
        return [];
      }
      case C.IPVS_CMD_GET_DEST: {
        if (!dump) throw E('EOPNOTSUPP');
        const svcAttrs = a.nested(C.IPVS_CMD_ATTR_SERVICE);
        if (!svcAttrs) throw E('EINVAL');
        const svc = st.findService(this.parseServiceKey(svcAttrs));
        // The kernel ends a dump of a missing service's destinations empty, not with an error.
        const dests = svc ? this.order([...svc.dests.values()]) : [];
        return this.dumpMessages(msg, portId, C.IPVS_CMD_NEW_DEST, dests.map((d) => (w: MessageWriter) => writeDest(w, d)));
      }
      case C.IPVS_CMD_NEW_DAEMON: {
        const d = a.nested(C.IPVS_CMD_ATTR_DAEMON);
        const state = d?.u32(C.IPVS_DAEMON_ATTR_STATE);
        const ifn = d?.string(C.IPVS_DAEMON_ATTR_MCAST_IFN);
        const syncId = d?.u32(C.IPVS_DAEMON_ATTR_SYNC_ID);
        if (!d || state === undefined || ifn === undefined || syncId === undefined) throw E('EINVAL');
        if (state !== C.IP_VS_STATE_MASTER && state !== C.IP_VS_STATE_BACKUP) throw E('EINVAL');
        if (!this.interfaces.has(ifn)) throw E('ENODEV');
        if (st.daemons.has(state)) throw E('EEXIST');
        st.daemons.set(state, {
          state, ifn, syncId,
          maxLen: d.u16(C.IPVS_DAEMON_ATTR_SYNC_MAXLEN) ?? 1472,
          group: d.raw(C.IPVS_DAEMON_ATTR_MCAST_GROUP6) ?? d.raw(C.IPVS_DAEMON_ATTR_MCAST_GROUP) ?? Buffer.from([224, 0, 0, 81]),
          port: d.u16(C.IPVS_DAEMON_ATTR_MCAST_PORT) ?? 8848,
          ttl: d.u8(C.IPVS_DAEMON_ATTR_MCAST_TTL) ?? 1,
        });
        return [];
      }
      case C.IPVS_CMD_DEL_DAEMON: {
        const state = a.nested(C.IPVS_CMD_ATTR_DAEMON)?.u32(C.IPVS_DAEMON_ATTR_STATE);
        if (state === undefined) throw E('EINVAL');
        if (!st.daemons.delete(state)) throw E('ESRCH');
        return [];
      }
      case C.IPVS_CMD_GET_DAEMON: {
        const list = [...st.daemons.values()].sort((x, y) => x.state - y.state);
        return this.dumpMessages(msg, portId, C.IPVS_CMD_NEW_DAEMON, list.map((d) => (w: MessageWriter) => w.nested(C.IPVS_CMD_ATTR_DAEMON, () => {
          w.u32(C.IPVS_DAEMON_ATTR_STATE, d.state);
          w.string(C.IPVS_DAEMON_ATTR_MCAST_IFN, d.ifn);
          w.u32(C.IPVS_DAEMON_ATTR_SYNC_ID, d.syncId);
          w.u16(C.IPVS_DAEMON_ATTR_SYNC_MAXLEN, d.maxLen);
          if (d.group.length === 16) w.bytes(C.IPVS_DAEMON_ATTR_MCAST_GROUP6, d.group);
          else w.bytes(C.IPVS_DAEMON_ATTR_MCAST_GROUP, d.group.subarray(0, 4));
          w.u16(C.IPVS_DAEMON_ATTR_MCAST_PORT, d.port);
          w.u8(C.IPVS_DAEMON_ATTR_MCAST_TTL, d.ttl);
        }, false)));
      }
      case C.IPVS_CMD_SET_CONFIG: {
        const tcp = a.u32(C.IPVS_CMD_ATTR_TIMEOUT_TCP);
        const fin = a.u32(C.IPVS_CMD_ATTR_TIMEOUT_TCP_FIN);
        const udp = a.u32(C.IPVS_CMD_ATTR_TIMEOUT_UDP);
        if (tcp) st.timeouts.tcp = tcp;
        if (fin) st.timeouts.tcpFin = fin;
        if (udp) st.timeouts.udp = udp;
        return [];
      }
      case C.IPVS_CMD_GET_CONFIG:
        return [this.single(msg, portId, this.familyId, C.IPVS_CMD_SET_CONFIG, C.IPVS_GENL_VERSION, (w) => {
          w.u32(C.IPVS_CMD_ATTR_TIMEOUT_TCP, st.timeouts.tcp);
          w.u32(C.IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, st.timeouts.tcpFin);
          w.u32(C.IPVS_CMD_ATTR_TIMEOUT_UDP, st.timeouts.udp);
        })];
      case C.IPVS_CMD_GET_INFO:
        return [this.single(msg, portId, this.familyId, C.IPVS_CMD_SET_INFO, C.IPVS_GENL_VERSION, (w) => {
          w.u32(C.IPVS_INFO_ATTR_VERSION, C.IP_VS_VERSION_CODE);
          w.u32(C.IPVS_INFO_ATTR_CONN_TAB_SIZE, 4096);
        })];
      case C.IPVS_CMD_ZERO: {
        const svcAttrs = a.nested(C.IPVS_CMD_ATTR_SERVICE);
        if (svcAttrs) {
          const svc = st.findService(this.parseServiceKey(svcAttrs));
          if (!svc) throw E('ESRCH');
          st.zero(svc);
        } else {
          st.zero();
        }
        return [];
      }
      case C.IPVS_CMD_FLUSH:
        st.flush();
        return [];
      default:
        throw E('EOPNOTSUPP');
    }
  }

  private checkScheduler(s: FakeService): void {
    if (!this.schedulers.has(s.sched)) throw E('ENOENT');
    if (s.pe !== undefined && s.pe !== 'sip') throw E('ENOENT');
  }

  private parseServiceKey(a: Attributes): FakeService {
    return this.parseService(a, false);
  }

  /** `a` is the body of IPVS_CMD_ATTR_SERVICE. */
  private parseService(a: Attributes, full: boolean): FakeService {
    const af = a.u16(C.IPVS_SVC_ATTR_AF);
    if (af === undefined) throw E('EINVAL');
    if (af !== C.AF_INET && af !== C.AF_INET6) throw E('EAFNOSUPPORT');
    const fwmark = a.u32(C.IPVS_SVC_ATTR_FWMARK);
    const protocol = a.u16(C.IPVS_SVC_ATTR_PROTOCOL);
    const addrRaw = a.raw(C.IPVS_SVC_ATTR_ADDR);
    const port = a.u16be(C.IPVS_SVC_ATTR_PORT);
    const s: FakeService = {
      af, protocol: C.IPPROTO_TCP, addr: Buffer.alloc(16), port: 0, fwmark: 0, sched: '', flags: 0, timeout: 0,
      netmask: 0, pe: undefined, stats: zeroStats(), dests: new Map(),
    };
    if (fwmark !== undefined) {
      s.fwmark = fwmark;
    } else if (protocol !== undefined && addrRaw !== undefined && port !== undefined) {
      s.protocol = protocol;
      addrRaw.copy(s.addr, 0, 0, Math.min(16, addrRaw.length));
      s.port = port;
    } else {
      throw E('EINVAL');
    }
    if (full) {
      const sched = a.string(C.IPVS_SVC_ATTR_SCHED_NAME);
      const flags = a.raw(C.IPVS_SVC_ATTR_FLAGS);
      const timeout = a.u32(C.IPVS_SVC_ATTR_TIMEOUT);
      const netmask = a.raw(C.IPVS_SVC_ATTR_NETMASK);
      if (sched === undefined || flags === undefined || flags.length < 8 || timeout === undefined || netmask === undefined || netmask.length < 4) throw E('EINVAL');
      const cur = this.st.findService(s);
      const f = flags.readUInt32LE(0);
      const mask = flags.readUInt32LE(4);
      s.flags = (((cur?.flags ?? 0) & ~mask) | (f & mask)) >>> 0;
      s.flags |= C.IP_VS_SVC_F_HASHED;
      s.sched = sched;
      s.timeout = timeout;
      s.netmask = af === C.AF_INET6 ? netmask.readUInt32LE(0) : netmask.readUInt32BE(0);
      s.pe = a.string(C.IPVS_SVC_ATTR_PE_NAME) || undefined;
    }
    return s;
  }

  private order<T>(items: T[]): T[] {
    if (!this.shuffle) return items;
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  /** Multi-part reply: NLM_F_MULTI messages packed into datagrams of `dumpBudget` bytes, then NLMSG_DONE. */
  private dumpMessages(req: NetlinkMessage, portId: number, cmd: number, bodies: ((w: MessageWriter) => void)[]): Buffer[] {
    const intr = this.interruptDumps > 0;
    if (intr) this.interruptDumps--;
    const flags = NLM_F_MULTI | (intr ? NLM_F_DUMP_INTR : 0);
    const datagrams: Buffer[] = [];
    let w = new MessageWriter(this.dumpBudget + 512);
    for (const body of bodies) {
      if (w.length > 0 && w.length >= this.dumpBudget) {
        datagrams.push(w.toBuffer());
        w = new MessageWriter(this.dumpBudget + 512);
      }
      w.beginMessage(this.familyId, flags, req.seq, portId);
      w.genlHeader(cmd, C.IPVS_GENL_VERSION);
      body(w);
      w.endMessage();
    }
    if (w.length > 0) datagrams.push(w.toBuffer());
    const done = new MessageWriter(32);
    done.beginMessage(NLMSG_DONE, flags, req.seq, portId);
    done.raw(Buffer.alloc(4));
    done.endMessage();
    datagrams.push(done.toBuffer());
    return datagrams;
  }
}

function isUnicastIPv4(addr: Buffer): boolean {
  const first = addr[0] ?? 0;
  if (first >= 224) return false; // multicast, reserved and limited broadcast
  return !(addr[0] === 0 && addr[1] === 0 && addr[2] === 0 && addr[3] === 0);
}

function serviceAttr(top: Attributes): Attributes {
  const a = top.nested(C.IPVS_CMD_ATTR_SERVICE);
  if (!a) throw E('EINVAL');
  return a;
}

function isDumpReply(data: Buffer[]): boolean {
  const last = data[data.length - 1];
  return last !== undefined && last.length >= 6 && last.readUInt16LE(4) === NLMSG_DONE;
}

function zeroStats(): FakeStats {
  return { conns: 0n, inpkts: 0n, outpkts: 0n, inbytes: 0n, outbytes: 0n, cps: 0n, inpps: 0n, outpps: 0n, inbps: 0n, outbps: 0n };
}

function parseDest(a: Attributes, full: boolean, serviceAf: number): FakeDest {
  const addrRaw = a.raw(C.IPVS_DEST_ATTR_ADDR);
  const port = a.u16be(C.IPVS_DEST_ATTR_PORT);
  if (addrRaw === undefined || port === undefined) throw E('EINVAL');
  const addr = Buffer.alloc(16);
  addrRaw.copy(addr, 0, 0, Math.min(16, addrRaw.length));
  const d: FakeDest = {
    af: a.u16(C.IPVS_DEST_ATTR_ADDR_FAMILY) ?? serviceAf, addr, port, fwd: 0, weight: 0, upper: 0, lower: 0,
    tunType: 0, tunPort: 0, tunFlags: 0, active: 0, inactive: 0, persistent: 0, stats: zeroStats(),
  };
  if (full) {
    const fwd = a.u32(C.IPVS_DEST_ATTR_FWD_METHOD);
    const weight = a.u32(C.IPVS_DEST_ATTR_WEIGHT);
    const upper = a.u32(C.IPVS_DEST_ATTR_U_THRESH);
    const lower = a.u32(C.IPVS_DEST_ATTR_L_THRESH);
    if (fwd === undefined || weight === undefined || upper === undefined || lower === undefined) throw E('EINVAL');
    d.fwd = fwd & C.IP_VS_CONN_F_FWD_MASK;
    d.weight = weight | 0;
    d.upper = upper;
    d.lower = lower;
    d.tunType = a.u8(C.IPVS_DEST_ATTR_TUN_TYPE) ?? 0;
    d.tunPort = a.u16be(C.IPVS_DEST_ATTR_TUN_PORT) ?? 0;
    d.tunFlags = a.u16(C.IPVS_DEST_ATTR_TUN_FLAGS) ?? 0;
  }
  return d;
}

function writeStats(w: MessageWriter, s: FakeStats): void {
  const v = [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes, s.cps, s.inpps, s.outpps, s.inbps, s.outbps];
  w.nested(C.IPVS_SVC_ATTR_STATS, () => {
    v.forEach((x, i) => {
      const type = i + 1;
      if (type === C.IPVS_STATS_ATTR_INBYTES || type === C.IPVS_STATS_ATTR_OUTBYTES) w.u64(type, x);
      else w.u32(type, Number(x & 0xffffffffn));
    });
  }, false);
  w.nested(C.IPVS_SVC_ATTR_STATS64, () => v.forEach((x, i) => w.u64(i + 1, x)), false);
}

function writeService(w: MessageWriter, s: FakeService): void {
  w.nested(C.IPVS_CMD_ATTR_SERVICE, () => {
    w.u16(C.IPVS_SVC_ATTR_AF, s.af);
    if (s.fwmark) {
      w.u32(C.IPVS_SVC_ATTR_FWMARK, s.fwmark);
    } else {
      w.u16(C.IPVS_SVC_ATTR_PROTOCOL, s.protocol);
      w.bytes(C.IPVS_SVC_ATTR_ADDR, s.addr);
      w.u16be(C.IPVS_SVC_ATTR_PORT, s.port);
    }
    w.string(C.IPVS_SVC_ATTR_SCHED_NAME, s.sched);
    if (s.pe) w.string(C.IPVS_SVC_ATTR_PE_NAME, s.pe);
    const flags = Buffer.alloc(8);
    flags.writeUInt32LE(s.flags, 0);
    flags.writeUInt32LE(0xffffffff, 4);
    w.bytes(C.IPVS_SVC_ATTR_FLAGS, flags);
    w.u32(C.IPVS_SVC_ATTR_TIMEOUT, s.timeout);
    if (s.af === C.AF_INET6) w.u32(C.IPVS_SVC_ATTR_NETMASK, s.netmask);
    else w.u32be(C.IPVS_SVC_ATTR_NETMASK, s.netmask);
    // STATS (10) and STATS64 (12) share numbering between services and destinations.
    writeStats(w, s.stats);
  }, false);
}

function writeDest(w: MessageWriter, d: FakeDest): void {
  w.nested(C.IPVS_CMD_ATTR_DEST, () => {
    w.bytes(C.IPVS_DEST_ATTR_ADDR, d.addr);
    w.u16be(C.IPVS_DEST_ATTR_PORT, d.port);
    w.u32(C.IPVS_DEST_ATTR_FWD_METHOD, d.fwd);
    w.u32(C.IPVS_DEST_ATTR_WEIGHT, d.weight >>> 0);
    w.u8(C.IPVS_DEST_ATTR_TUN_TYPE, d.tunType);
    w.u16be(C.IPVS_DEST_ATTR_TUN_PORT, d.tunPort);
    w.u16(C.IPVS_DEST_ATTR_TUN_FLAGS, d.tunFlags);
    w.u32(C.IPVS_DEST_ATTR_U_THRESH, d.upper);
    w.u32(C.IPVS_DEST_ATTR_L_THRESH, d.lower);
    w.u32(C.IPVS_DEST_ATTR_ACTIVE_CONNS, d.active);
    w.u32(C.IPVS_DEST_ATTR_INACT_CONNS, d.inactive);
    w.u32(C.IPVS_DEST_ATTR_PERSIST_CONNS, d.persistent);
    w.u16(C.IPVS_DEST_ATTR_ADDR_FAMILY, d.af);
    writeStats(w, d.stats);
  }, false);
}

function familyAttrs(w: MessageWriter, id: number, name: string, version: number, ops: number[]): void {
  w.string(CTRL_ATTR_FAMILY_NAME, name);
  w.u16(CTRL_ATTR_FAMILY_ID, id);
  w.u32(CTRL_ATTR_VERSION, version);
  w.u32(CTRL_ATTR_HDRSIZE, 0);
  w.u32(CTRL_ATTR_MAXATTR, name === 'nlctrl' ? 10 : 6);
  w.nested(CTRL_ATTR_OPS, () => {
    ops.forEach((op, i) => w.nested(i + 1, () => {
      w.u32(CTRL_ATTR_OP_ID, op);
      w.u32(CTRL_ATTR_OP_FLAGS, 0x1e);
    }, false));
  }, false);
}

/** nlmsgerr: the error (0 = ACK), the request's header, and the whole request when it failed. */
function errorMessage(req: NetlinkMessage, errno: number, portId: number): Buffer {
  const w = new MessageWriter(64 + req.payload.length);
  w.beginMessage(NLMSG_ERROR, errno === 0 ? NLM_F_CAPPED : 0, req.seq, portId);
  const head = Buffer.alloc(4 + NLMSG_HDRLEN);
  head.writeInt32LE(-errno, 0);
  head.writeUInt32LE(NLMSG_HDRLEN + req.payload.length, 4);
  head.writeUInt16LE(req.type, 8);
  head.writeUInt16LE(req.flags, 10);
  head.writeUInt32LE(req.seq, 12);
  head.writeUInt32LE(req.portId, 16);
  w.raw(head);
  if (errno !== 0) w.raw(req.payload);
  w.endMessage();
  return w.toBuffer();
}

class FakeTransport implements Transport {
  readonly receiveBufferSize = 1 << 20;
  private receiver: TransportReceiver | undefined;
  private closed = false;

  constructor(private readonly kernel: FakeKernel, readonly portId: number) {}

  attach(receiver: TransportReceiver): void {
    this.receiver = receiver;
  }

  async send(datagram: Uint8Array): Promise<void> {
    if (this.closed) throw Object.assign(new Error('socket closed'), { code: 'ECLOSED' });
    const { datagrams, delayMs, enobufs } = this.kernel.handle(Buffer.from(datagram), this.portId);
    const deliver = (): void => {
      if (enobufs && !this.closed) {
        const err = Object.assign(new Error('recvmsg: No buffer space available'), { code: 'ENOBUFS', errno: 105 });
        this.receiver?.error(err, false);
      }
      for (const d of datagrams) {
        if (this.closed) return;
        this.receiver?.datagram(d);
      }
    };
    if (delayMs > 0) setTimeout(deliver, delayMs).unref?.();
    else setImmediate(deliver);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
