// Reading IPVS requests the way net/netfilter/ipvs/ip_vs_ctl.c does (ip_vs_genl_parse_service,
// ip_vs_genl_parse_dest, ip_vs_genl_new_daemon), written from the uapi constants alone: the client's
// codecs are deliberately not used, so a shared misunderstanding cannot make both sides agree. The
// policies are the kernel's; a nested service or destination that fails them is EINVAL (the kernel
// parses those without an extended ack), a daemon gets EINVAL with the ack.

import type { Attributes } from '../netlink/reader.js';
import * as C from '../ipvs/constants.js';
import { EAFNOSUPPORT, EINVAL, FakeErrno } from './fake-errno.js';
import { parseAttributes, type Policy } from './fake-policy.js';

export const CMD_POLICY: Policy = {
  max: C.IPVS_CMD_ATTR_TIMEOUT_UDP,
  attrs: {
    [C.IPVS_CMD_ATTR_SERVICE]: { type: 'nested' },
    [C.IPVS_CMD_ATTR_DEST]: { type: 'nested' },
    [C.IPVS_CMD_ATTR_DAEMON]: { type: 'nested' },
    [C.IPVS_CMD_ATTR_TIMEOUT_TCP]: { type: 'u32' },
    [C.IPVS_CMD_ATTR_TIMEOUT_TCP_FIN]: { type: 'u32' },
    [C.IPVS_CMD_ATTR_TIMEOUT_UDP]: { type: 'u32' },
  },
};

const SVC_POLICY: Policy = {
  max: C.IPVS_SVC_ATTR_STATS64,
  attrs: {
    [C.IPVS_SVC_ATTR_AF]: { type: 'u16' },
    [C.IPVS_SVC_ATTR_PROTOCOL]: { type: 'u16' },
    [C.IPVS_SVC_ATTR_ADDR]: { type: 'binary', len: 16 },
    [C.IPVS_SVC_ATTR_PORT]: { type: 'u16' },
    [C.IPVS_SVC_ATTR_FWMARK]: { type: 'u32' },
    [C.IPVS_SVC_ATTR_SCHED_NAME]: { type: 'nul-string', len: C.IP_VS_SCHEDNAME_MAXLEN - 1 },
    [C.IPVS_SVC_ATTR_PE_NAME]: { type: 'nul-string', len: C.IP_VS_PENAME_MAXLEN },
    [C.IPVS_SVC_ATTR_FLAGS]: { type: 'binary', len: 8 },
    [C.IPVS_SVC_ATTR_TIMEOUT]: { type: 'u32' },
    [C.IPVS_SVC_ATTR_NETMASK]: { type: 'u32' },
    [C.IPVS_SVC_ATTR_STATS]: { type: 'nested' },
  },
};

const DEST_POLICY: Policy = {
  max: C.IPVS_DEST_ATTR_TUN_FLAGS,
  attrs: {
    [C.IPVS_DEST_ATTR_ADDR]: { type: 'binary', len: 16 },
    [C.IPVS_DEST_ATTR_PORT]: { type: 'u16' },
    [C.IPVS_DEST_ATTR_FWD_METHOD]: { type: 'u32' },
    [C.IPVS_DEST_ATTR_WEIGHT]: { type: 'u32' },
    [C.IPVS_DEST_ATTR_U_THRESH]: { type: 'u32' },
    [C.IPVS_DEST_ATTR_L_THRESH]: { type: 'u32' },
    [C.IPVS_DEST_ATTR_ACTIVE_CONNS]: { type: 'u32' },
    [C.IPVS_DEST_ATTR_INACT_CONNS]: { type: 'u32' },
    [C.IPVS_DEST_ATTR_PERSIST_CONNS]: { type: 'u32' },
    [C.IPVS_DEST_ATTR_STATS]: { type: 'nested' },
    [C.IPVS_DEST_ATTR_ADDR_FAMILY]: { type: 'u16' },
    [C.IPVS_DEST_ATTR_TUN_TYPE]: { type: 'u8' },
    [C.IPVS_DEST_ATTR_TUN_PORT]: { type: 'u16' },
    [C.IPVS_DEST_ATTR_TUN_FLAGS]: { type: 'u16' },
  },
};

const DAEMON_POLICY: Policy = {
  max: C.IPVS_DAEMON_ATTR_MCAST_TTL,
  attrs: {
    [C.IPVS_DAEMON_ATTR_STATE]: { type: 'u32' },
    [C.IPVS_DAEMON_ATTR_MCAST_IFN]: { type: 'nul-string', len: C.IP_VS_IFNAME_MAXLEN - 1 },
    [C.IPVS_DAEMON_ATTR_SYNC_ID]: { type: 'u32' },
    [C.IPVS_DAEMON_ATTR_SYNC_MAXLEN]: { type: 'u16' },
    [C.IPVS_DAEMON_ATTR_MCAST_GROUP]: { type: 'u32' },
    [C.IPVS_DAEMON_ATTR_MCAST_GROUP6]: { type: 'unspec', len: 16 },
    [C.IPVS_DAEMON_ATTR_MCAST_PORT]: { type: 'u16' },
    [C.IPVS_DAEMON_ATTR_MCAST_TTL]: { type: 'u8' },
  },
};

/** struct ip_vs_service_user_kern: the identifying part always, the rest for NEW/SET_SERVICE. */
export interface ServiceRequest {
  af: number;
  protocol: number;
  /** 16 bytes as sent (the kernel keeps only the first four for IPv4; see normaliseAddress). */
  addr: Buffer;
  port: number;
  fwmark: number;
  full?: {
    /** IPVS_SVC_ATTR_FLAGS: the flags and the mask saying which of them to change. */
    flags: number;
    mask: number;
    sched: string;
    /** undefined when absent; '' when sent empty (both mean "no engine"). */
    pe: string | undefined;
    timeout: number;
    /** The 4 netmask bytes as sent (network order for IPv4, a host-order prefix length for IPv6). */
    netmask: Buffer;
  };
}

/** struct ip_vs_dest_user_kern */
export interface DestRequest {
  /** 0 when IPVS_DEST_ATTR_ADDR_FAMILY was not sent (then the service's family applies). */
  af: number;
  addr: Buffer;
  port: number;
  full?: {
    /** conn_flags & IP_VS_CONN_F_FWD_MASK */
    fwd: number;
    /** Signed, as the kernel's int: a u32 above 2^31 - 1 is negative. */
    weight: number;
    upper: number;
    lower: number;
    tunType: number;
    tunPort: number;
    tunFlags: number;
  };
}

/** struct ipvs_sync_daemon_cfg as sent, before the kernel fills its defaults. */
export interface DaemonRequest {
  state: number;
  ifname: string;
  syncId: number;
  maxLen: number;
  /** 0 (none given), AF_INET or AF_INET6 */
  groupAf: number;
  group: Buffer;
  port: number;
  ttl: number;
}

const nul = (a: Attributes, type: number): string | undefined => a.string(type);

/** ip_vs_genl_parse_service(); `data` is the value of IPVS_CMD_ATTR_SERVICE (undefined if absent). */
export function parseServiceRequest(data: Buffer | undefined, full: boolean, messageStart: number, afValid: (af: number) => boolean): ServiceRequest {
  if (data === undefined) throw new FakeErrno(EINVAL);
  let a: Attributes;
  try {
    a = parseAttributes(data, SVC_POLICY, messageStart);
  } catch (err) {
    if (err instanceof FakeErrno) throw new FakeErrno(EINVAL); // parsed without an extended ack
    throw err;
  }
  const af = a.u16(C.IPVS_SVC_ATTR_AF);
  const fwmark = a.u32(C.IPVS_SVC_ATTR_FWMARK);
  const protocol = a.u16(C.IPVS_SVC_ATTR_PROTOCOL);
  const addr = a.raw(C.IPVS_SVC_ATTR_ADDR);
  const port = a.u16be(C.IPVS_SVC_ATTR_PORT);
  if (af === undefined || (fwmark === undefined && (port === undefined || protocol === undefined || addr === undefined))) {
    throw new FakeErrno(EINVAL);
  }
  if (!afValid(af)) throw new FakeErrno(EAFNOSUPPORT);
  const out: ServiceRequest = fwmark !== undefined
    ? { af, protocol: C.IPPROTO_TCP, addr: Buffer.alloc(16), port: 0, fwmark }
    : { af, protocol: protocol as number, addr: Buffer.concat([addr as Buffer, Buffer.alloc(16)]).subarray(0, 16), port: port as number, fwmark: 0 };
  if (!full) return out;
  const sched = a.raw(C.IPVS_SVC_ATTR_SCHED_NAME);
  const flags = a.raw(C.IPVS_SVC_ATTR_FLAGS);
  const timeout = a.u32(C.IPVS_SVC_ATTR_TIMEOUT);
  const netmask = a.raw(C.IPVS_SVC_ATTR_NETMASK);
  if (sched === undefined || flags === undefined || timeout === undefined || netmask === undefined) throw new FakeErrno(EINVAL);
  // nla_memcpy(): a short IPVS_SVC_ATTR_FLAGS is zero-filled, so a missing mask changes nothing.
  const f = Buffer.concat([flags, Buffer.alloc(8)]);
  out.full = {
    flags: f.readUInt32LE(0),
    mask: f.readUInt32LE(4),
    sched: nul(a, C.IPVS_SVC_ATTR_SCHED_NAME) ?? '',
    pe: nul(a, C.IPVS_SVC_ATTR_PE_NAME),
    timeout,
    netmask: Buffer.from(netmask.subarray(0, 4)),
  };
  return out;
}

/** ip_vs_genl_parse_dest(); `data` is the value of IPVS_CMD_ATTR_DEST (undefined if absent). */
export function parseDestRequest(data: Buffer | undefined, full: boolean, messageStart: number): DestRequest {
  if (data === undefined) throw new FakeErrno(EINVAL);
  let a: Attributes;
  try {
    a = parseAttributes(data, DEST_POLICY, messageStart);
  } catch (err) {
    if (err instanceof FakeErrno) throw new FakeErrno(EINVAL);
    throw err;
  }
  const addr = a.raw(C.IPVS_DEST_ATTR_ADDR);
  const port = a.u16be(C.IPVS_DEST_ATTR_PORT);
  if (addr === undefined || port === undefined) throw new FakeErrno(EINVAL);
  const out: DestRequest = { af: a.u16(C.IPVS_DEST_ATTR_ADDR_FAMILY) ?? 0, addr: Buffer.concat([addr, Buffer.alloc(16)]).subarray(0, 16), port };
  if (!full) return out;
  const fwd = a.u32(C.IPVS_DEST_ATTR_FWD_METHOD);
  const weight = a.u32(C.IPVS_DEST_ATTR_WEIGHT);
  const upper = a.u32(C.IPVS_DEST_ATTR_U_THRESH);
  const lower = a.u32(C.IPVS_DEST_ATTR_L_THRESH);
  if (fwd === undefined || weight === undefined || upper === undefined || lower === undefined) throw new FakeErrno(EINVAL);
  out.full = {
    fwd: fwd & C.IP_VS_CONN_F_FWD_MASK,
    weight: weight | 0,
    upper,
    lower,
    tunType: a.u8(C.IPVS_DEST_ATTR_TUN_TYPE) ?? 0,
    tunPort: a.u16be(C.IPVS_DEST_ATTR_TUN_PORT) ?? 0,
    tunFlags: a.u16(C.IPVS_DEST_ATTR_TUN_FLAGS) ?? 0,
  };
  return out;
}

/** The daemon attributes of NEW_DAEMON / DEL_DAEMON (policy failures carry the extended ack, as EINVAL). */
export function parseDaemonAttributes(data: Buffer | undefined, messageStart: number): Attributes {
  if (data === undefined) throw new FakeErrno(EINVAL);
  try {
    return parseAttributes(data, DAEMON_POLICY, messageStart);
  } catch (err) {
    if (err instanceof FakeErrno) throw new FakeErrno(EINVAL, err.extack);
    throw err;
  }
}

/**
 * ip_vs_genl_new_daemon() up to start_sync_thread(): presence and multicast checks. Without IPv6 (a kernel
 * built without CONFIG_IP_VS_IPV6) an IPv6 group is refused as soon as it is seen.
 */
export function parseDaemonRequest(a: Attributes, ipv6 = true): DaemonRequest {
  const state = a.u32(C.IPVS_DAEMON_ATTR_STATE);
  const ifname = a.string(C.IPVS_DAEMON_ATTR_MCAST_IFN);
  const syncId = a.u32(C.IPVS_DAEMON_ATTR_SYNC_ID);
  if (state === undefined || ifname === undefined || syncId === undefined) throw new FakeErrno(EINVAL);
  const out: DaemonRequest = {
    state, ifname, syncId, maxLen: a.u16(C.IPVS_DAEMON_ATTR_SYNC_MAXLEN) ?? 0, groupAf: 0, group: Buffer.alloc(16), port: 0, ttl: 0,
  };
  const g4 = a.raw(C.IPVS_DAEMON_ATTR_MCAST_GROUP);
  const g6 = a.raw(C.IPVS_DAEMON_ATTR_MCAST_GROUP6);
  if (g4 !== undefined) {
    out.groupAf = C.AF_INET;
    g4.copy(out.group, 0, 0, 4);
    if ((out.group[0] ?? 0) >> 4 !== 0xe) throw new FakeErrno(EINVAL); // !ipv4_is_multicast
  } else if (g6 !== undefined) {
    if (!ipv6) throw new FakeErrno(EAFNOSUPPORT);
    out.groupAf = C.AF_INET6;
    g6.copy(out.group, 0, 0, 16);
    if (out.group[0] !== 0xff) throw new FakeErrno(EINVAL); // !IPV6_ADDR_MULTICAST
  }
  out.port = a.u16(C.IPVS_DAEMON_ATTR_MCAST_PORT) ?? 0; // host order, as the kernel's nla_get_u16
  out.ttl = a.u8(C.IPVS_DAEMON_ATTR_MCAST_TTL) ?? 0;
  return out;
}
