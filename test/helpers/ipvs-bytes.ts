// A test-only builder of IPVS generic-netlink bytes, written from include/uapi/linux/ip_vs.h and from what
// net/netfilter/ipvs/ip_vs_ctl.c puts in its replies (ip_vs_genl_fill_service/_dest/_daemon/_stats), on
// top of the plain nlattr/nlmsghdr composition of netlink-bytes.ts. It never touches src/netlink/writer.ts
// or src/ipvs: the attribute numbers are spelled out again here and addresses are parsed by a small
// parser of its own, so a wrong constant or a byte-order slip in the library cannot hide behind its own
// output. Requests mark nests with NLA_F_NESTED (as the library sends them); replies do not (as the
// kernel's nla_nest_start_noflag builds them) and carry addresses as the full 16-byte nf_inet_addr.

import {
  cat, genl, nlmsg, nest, nestNoFlag, nlattr, str, u8, u16, u16be, u32, u32be, u64, le32,
  type Part,
} from './netlink-bytes.js';

// Commands (enum ipvs_cmd_attributes / IPVS_CMD_*), repeated here on purpose.
export const CMD = {
  NEW_SERVICE: 1, SET_SERVICE: 2, DEL_SERVICE: 3, GET_SERVICE: 4,
  NEW_DEST: 5, SET_DEST: 6, DEL_DEST: 7, GET_DEST: 8,
  NEW_DAEMON: 9, DEL_DAEMON: 10, GET_DAEMON: 11,
  SET_CONFIG: 12, GET_CONFIG: 13, SET_INFO: 14, GET_INFO: 15, ZERO: 16, FLUSH: 17,
} as const;

// Top-level attributes.
const CMD_ATTR_SERVICE = 1;
const CMD_ATTR_DEST = 2;
const CMD_ATTR_DAEMON = 3;
const CMD_ATTR_TIMEOUT_TCP = 4;
const CMD_ATTR_TIMEOUT_TCP_FIN = 5;
const CMD_ATTR_TIMEOUT_UDP = 6;
// Service attributes.
const SVC_AF = 1, SVC_PROTOCOL = 2, SVC_ADDR = 3, SVC_PORT = 4, SVC_FWMARK = 5, SVC_SCHED = 6, SVC_FLAGS = 7;
const SVC_TIMEOUT = 8, SVC_NETMASK = 9, SVC_STATS = 10, SVC_PE = 11, SVC_STATS64 = 12;
// Destination attributes.
const D_ADDR = 1, D_PORT = 2, D_FWD = 3, D_WEIGHT = 4, D_UTHRESH = 5, D_LTHRESH = 6, D_ACTIVE = 7, D_INACT = 8;
const D_PERSIST = 9, D_STATS = 10, D_AF = 11, D_STATS64 = 12, D_TUN_TYPE = 13, D_TUN_PORT = 14, D_TUN_FLAGS = 15;
// Daemon attributes.
const DM_STATE = 1, DM_IFN = 2, DM_SYNCID = 3, DM_MAXLEN = 4, DM_GROUP = 5, DM_GROUP6 = 6, DM_PORT = 7, DM_TTL = 8;
// Info attributes.
const INFO_VERSION = 1, INFO_CONN_TAB_SIZE = 2;

export const AF_INET = 2;
export const AF_INET6 = 10;
export const PROTO = { tcp: 6, udp: 17, sctp: 132 } as const;
export const FLAGS_NLM = { REQUEST: 0x1, ACK: 0x4, CREATE: 0x400, DUMP: 0x300 } as const;

/** A small independent address parser: dotted quads and IPv6 with one '::' and an optional dotted tail. */
export function addr(text: string): { af: number; bytes: Buffer } {
  if (!text.includes(':')) {
    const parts = text.split('.').map((p) => Number(p));
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`test builder: bad IPv4 ${text}`);
    return { af: AF_INET, bytes: Buffer.from(parts) };
  }
  // A dotted tail (::ffff:1.2.3.4) stands for the last two words.
  const tail: number[] = [];
  let s = text;
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const b = addr(dotted[1] as string).bytes;
    tail.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
    s = s.slice(0, dotted.index + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const double = s.indexOf('::');
  const l = (double < 0 ? s : s.slice(0, double)).split(':').filter((x) => x !== '');
  const r = double < 0 ? [] : s.slice(double + 2).split(':').filter((x) => x !== '');
  const fill = 8 - tail.length - l.length - r.length;
  if ((double < 0 && fill !== 0) || fill < 0) throw new Error(`test builder: bad IPv6 ${text}`);
  const words = [...l.map((x) => parseInt(x, 16)), ...new Array<number>(fill).fill(0), ...r.map((x) => parseInt(x, 16)), ...tail];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => {
    out[i * 2] = (w >> 8) & 0xff;
    out[i * 2 + 1] = w & 0xff;
  });
  return { af: AF_INET6, bytes: out };
}

/** The 16-byte nf_inet_addr of an address (IPv4 in the first four bytes). */
export function addr16(text: string): Buffer {
  const a = addr(text);
  return a.af === AF_INET ? cat(a.bytes, new Array<number>(12).fill(0)) : a.bytes;
}

export interface IpvsHeader {
  family: number;
  cmd: number;
  seq: number;
  pid?: number;
  flags?: number;
  version?: number;
}

/** One IPVS message: nlmsghdr + genlmsghdr + attributes. */
export function ipvsMsg(h: IpvsHeader, ...attrs: Part[]): Buffer {
  return nlmsg({ type: h.family, flags: h.flags ?? 0, seq: h.seq, pid: h.pid ?? 0 }, cat(genl(h.cmd, h.version ?? 1), ...attrs));
}

// ---- Requests (nests flagged NLA_F_NESTED, IPv4 addresses as 4 bytes, as the library sends them) ----

export type KeyInput = { protocol: keyof typeof PROTO; address: string; port: number } | { fwmark: number; family?: 'ipv4' | 'ipv6' };

/** The identifying service attributes (inside IPVS_CMD_ATTR_SERVICE). */
export function svcKeyAttrs(k: KeyInput): Buffer {
  if ('fwmark' in k) return cat(u16(SVC_AF, k.family === 'ipv6' ? AF_INET6 : AF_INET), u32(SVC_FWMARK, k.fwmark));
  const a = addr(k.address);
  return cat(u16(SVC_AF, a.af), u16(SVC_PROTOCOL, PROTO[k.protocol]), nlattr(SVC_ADDR, a.bytes), u16be(SVC_PORT, k.port));
}

/** IPVS_CMD_ATTR_SERVICE with the key only. */
export const svcKeyNest = (k: KeyInput): Buffer => nest(CMD_ATTR_SERVICE, svcKeyAttrs(k));

export interface SvcOptions {
  sched: string;
  pe?: string;
  flags: number;
  timeout: number;
  /** IPv4: the 32-bit mask (written big-endian); IPv6: the prefix length (written host order). */
  netmask: number;
}

/** IPVS_CMD_ATTR_SERVICE with a full entry, attributes in the order the library writes them. */
export function svcFullNest(k: KeyInput, o: SvcOptions): Buffer {
  const v6 = 'fwmark' in k ? k.family === 'ipv6' : addr(k.address).af === AF_INET6;
  return nest(
    CMD_ATTR_SERVICE,
    svcKeyAttrs(k),
    str(SVC_SCHED, o.sched),
    o.pe !== undefined ? str(SVC_PE, o.pe) : [],
    nlattr(SVC_FLAGS, cat(le32(o.flags), le32(0xffffffff))),
    u32(SVC_TIMEOUT, o.timeout),
    v6 ? u32(SVC_NETMASK, o.netmask) : u32be(SVC_NETMASK, o.netmask),
  );
}

export interface DestKeyInput {
  address: string;
  port: number;
}

function destKeyAttrs(d: DestKeyInput): Buffer {
  const a = addr(d.address);
  return cat(nlattr(D_ADDR, a.bytes), u16be(D_PORT, d.port), u16(D_AF, a.af));
}

/** IPVS_CMD_ATTR_DEST naming a destination (DEL_DEST). */
export const destKeyNest = (d: DestKeyInput): Buffer => nest(CMD_ATTR_DEST, destKeyAttrs(d));

export interface DestOptions extends DestKeyInput {
  fwd: number;
  weight: number;
  upper?: number;
  lower?: number;
  tunType?: number;
  tunPort?: number;
  tunFlags?: number;
}

/** IPVS_CMD_ATTR_DEST with a full entry (NEW_DEST, SET_DEST). */
export function destFullNest(d: DestOptions): Buffer {
  return nest(
    CMD_ATTR_DEST,
    destKeyAttrs(d),
    u32(D_FWD, d.fwd),
    u32(D_WEIGHT, d.weight),
    u32(D_UTHRESH, d.upper ?? 0),
    u32(D_LTHRESH, d.lower ?? 0),
    d.tunType !== undefined ? u8(D_TUN_TYPE, d.tunType) : [],
    d.tunPort !== undefined ? u16be(D_TUN_PORT, d.tunPort) : [],
    d.tunFlags !== undefined ? u16(D_TUN_FLAGS, d.tunFlags) : [],
  );
}

export interface DaemonOptions {
  state: number;
  ifname?: string;
  syncId?: number;
  maxLen?: number;
  group?: string;
  port?: number;
  ttl?: number;
}

/** IPVS_CMD_ATTR_DAEMON; `flagged` false gives the kernel's reply shape. The port is a host-order u16. */
export function daemonNest(d: DaemonOptions, flagged = true): Buffer {
  const g = d.group === undefined ? undefined : addr(d.group);
  const body = cat(
    u32(DM_STATE, d.state),
    d.ifname !== undefined ? str(DM_IFN, d.ifname) : [],
    d.syncId !== undefined ? u32(DM_SYNCID, d.syncId) : [],
    d.maxLen !== undefined ? u16(DM_MAXLEN, d.maxLen) : [],
    g && g.af === AF_INET ? nlattr(DM_GROUP, g.bytes) : [],
    g && g.af === AF_INET6 ? nlattr(DM_GROUP6, g.bytes) : [],
    d.port !== undefined ? u16(DM_PORT, d.port) : [],
    d.ttl !== undefined ? u8(DM_TTL, d.ttl) : [],
  );
  return flagged ? nest(CMD_ATTR_DAEMON, body) : nestNoFlag(CMD_ATTR_DAEMON, body);
}

/** The three top-level timeout attributes (SET_CONFIG request, GET_CONFIG reply). */
export function timeoutAttrs(tcp: number, tcpFin: number, udp: number): Buffer {
  return cat(u32(CMD_ATTR_TIMEOUT_TCP, tcp), u32(CMD_ATTR_TIMEOUT_TCP_FIN, tcpFin), u32(CMD_ATTR_TIMEOUT_UDP, udp));
}

// ---- Replies (kernel-shaped: nests without NLA_F_NESTED, 16-byte addresses, both stats nests) ----

export interface StatsInput {
  conns?: bigint;
  inpkts?: bigint;
  outpkts?: bigint;
  inbytes?: bigint;
  outbytes?: bigint;
  cps?: bigint;
  inpps?: bigint;
  outpps?: bigint;
  inbps?: bigint;
  outbps?: bigint;
}

const statOrder: (keyof StatsInput)[] = ['conns', 'inpkts', 'outpkts', 'inbytes', 'outbytes', 'cps', 'inpps', 'outpps', 'inbps', 'outbps'];

/** IPVS_*_ATTR_STATS as ip_vs_genl_fill_stats writes it: u32 except the byte counters (u64). */
export function stats32Nest(type: number, s: StatsInput = {}): Buffer {
  return nestNoFlag(type, ...statOrder.map((k, i) => {
    const v = s[k] ?? 0n;
    return k === 'inbytes' || k === 'outbytes' ? u64(i + 1, v) : u32(i + 1, Number(BigInt.asUintN(32, v)));
  }));
}

/** IPVS_*_ATTR_STATS64: every value a u64. `pad` inserts IPVS_STATS_ATTR_PAD first, as nla_put_u64_64bit may. */
export function stats64Nest(type: number, s: StatsInput = {}, pad = false): Buffer {
  return nestNoFlag(type, pad ? nlattr(11, []) : [], ...statOrder.map((k, i) => u64(i + 1, s[k] ?? 0n)));
}

export interface SvcReply {
  key: KeyInput;
  sched: string;
  pe?: string;
  flags: number;
  timeout: number;
  netmask: number;
  stats?: StatsInput;
  /** Leave out STATS64, as kernels before 4.1 do. */
  noStats64?: boolean;
  /** Extra raw attributes appended inside the service nest (unknown ones, say). */
  extra?: Part[];
  /** Attribute types to leave out (to build broken replies). */
  omit?: number[];
}

/** The body of a service reply: IPVS_CMD_ATTR_SERVICE as ip_vs_genl_fill_service writes it. */
export function svcReplyNest(r: SvcReply): Buffer {
  const k = r.key;
  const parts: [number, Buffer][] = [];
  if ('fwmark' in k) {
    parts.push([SVC_AF, u16(SVC_AF, k.family === 'ipv6' ? AF_INET6 : AF_INET)], [SVC_FWMARK, u32(SVC_FWMARK, k.fwmark)]);
  } else {
    const a = addr(k.address);
    parts.push(
      [SVC_AF, u16(SVC_AF, a.af)],
      [SVC_PROTOCOL, u16(SVC_PROTOCOL, PROTO[k.protocol])],
      [SVC_ADDR, nlattr(SVC_ADDR, addr16(k.address))],
      [SVC_PORT, u16be(SVC_PORT, k.port)],
    );
  }
  const v6 = 'fwmark' in k ? k.family === 'ipv6' : addr(k.address).af === AF_INET6;
  parts.push([SVC_SCHED, str(SVC_SCHED, r.sched)]);
  if (r.pe !== undefined) parts.push([SVC_PE, str(SVC_PE, r.pe)]);
  parts.push(
    [SVC_FLAGS, nlattr(SVC_FLAGS, cat(le32(r.flags), le32(0xffffffff)))],
    [SVC_TIMEOUT, u32(SVC_TIMEOUT, r.timeout)],
    [SVC_NETMASK, v6 ? u32(SVC_NETMASK, r.netmask) : u32be(SVC_NETMASK, r.netmask)],
    [SVC_STATS, stats32Nest(SVC_STATS, r.stats)],
  );
  if (!r.noStats64) parts.push([SVC_STATS64, stats64Nest(SVC_STATS64, r.stats)]);
  const omit = new Set(r.omit ?? []);
  return nestNoFlag(CMD_ATTR_SERVICE, ...parts.filter(([t]) => !omit.has(t)).map(([, b]) => b), ...(r.extra ?? []));
}

export interface DestReply {
  address: string;
  port: number;
  fwd: number;
  weight: number;
  upper?: number;
  lower?: number;
  active?: number;
  inactive?: number;
  persistent?: number;
  tunType?: number;
  tunPort?: number;
  tunFlags?: number;
  stats?: StatsInput;
  /** Leave out IPVS_DEST_ATTR_ADDR_FAMILY and the tunnel attributes, as kernels before 3.18 did. */
  old?: boolean;
  extra?: Part[];
  omit?: number[];
}

/** The body of a destination reply: IPVS_CMD_ATTR_DEST as ip_vs_genl_fill_dest writes it. */
export function destReplyNest(r: DestReply): Buffer {
  const a = addr(r.address);
  const parts: [number, Buffer][] = [
    [D_ADDR, nlattr(D_ADDR, addr16(r.address))],
    [D_PORT, u16be(D_PORT, r.port)],
    [D_FWD, u32(D_FWD, r.fwd)],
    [D_WEIGHT, u32(D_WEIGHT, r.weight)],
  ];
  if (!r.old) {
    parts.push(
      [D_TUN_TYPE, u8(D_TUN_TYPE, r.tunType ?? 0)],
      [D_TUN_PORT, u16be(D_TUN_PORT, r.tunPort ?? 0)],
      [D_TUN_FLAGS, u16(D_TUN_FLAGS, r.tunFlags ?? 0)],
    );
  }
  parts.push(
    [D_UTHRESH, u32(D_UTHRESH, r.upper ?? 0)],
    [D_LTHRESH, u32(D_LTHRESH, r.lower ?? 0)],
    [D_ACTIVE, u32(D_ACTIVE, r.active ?? 0)],
    [D_INACT, u32(D_INACT, r.inactive ?? 0)],
    [D_PERSIST, u32(D_PERSIST, r.persistent ?? 0)],
  );
  if (!r.old) parts.push([D_AF, u16(D_AF, a.af)]);
  parts.push([D_STATS, stats32Nest(D_STATS, r.stats)], [D_STATS64, stats64Nest(D_STATS64, r.stats)]);
  const omit = new Set(r.omit ?? []);
  return nestNoFlag(CMD_ATTR_DEST, ...parts.filter(([t]) => !omit.has(t)).map(([, b]) => b), ...(r.extra ?? []));
}

/** The top-level attributes of a GET_INFO reply. */
export function infoAttrs(versionCode: number, connTabSize: number): Buffer {
  return cat(u32(INFO_VERSION, versionCode), u32(INFO_CONN_TAB_SIZE, connTabSize));
}

/** The genl payload of a reply message (genl header + attributes), as decoders after parseMessages see it. */
export function genlPayload(cmd: number, ...attrs: Part[]): Buffer {
  return cat(genl(cmd, 1), ...attrs);
}
