// The bodies of the fake kernel's IPVS replies, attribute for attribute in the order
// ip_vs_genl_fill_service / _fill_dest / _fill_daemon / ip_vs_genl_get_cmd write them: nests without
// NLA_F_NESTED (nla_nest_start_noflag), the service address always 16 bytes, ports in network order
// but the daemon's multicast port in host order, counters both as IPVS_*_ATTR_STATS (u32, bytes u64)
// and IPVS_*_ATTR_STATS64. On architectures without efficient unaligned access (User-Mode Linux among
// them) nla_put_u64_64bit() inserts an empty IPVS_STATS_ATTR_PAD before a u64 that would not be 8-byte
// aligned; `u64Padding` reproduces that, relative to the start of the datagram.

import type { MessageWriter } from '../netlink/writer.js';
import * as C from '../ipvs/constants.js';
import type { DaemonConfig, Dest, FakeStats, Svc } from './fake-ipvs-table.js';

export interface ReplyStyle {
  u64Padding: boolean;
  /** Reported service timeout in seconds (the table knows HZ). */
  serviceTimeout: (s: Svc) => number;
}

function u64(w: MessageWriter, type: number, value: bigint, style: ReplyStyle): void {
  if (style.u64Padding && (w.length + 4) % 8 !== 0) w.flag(C.IPVS_STATS_ATTR_PAD);
  w.u64(type, BigInt.asUintN(64, value));
}

const u32of = (v: bigint): number => Number(BigInt.asUintN(32, v));

function stats(w: MessageWriter, s: FakeStats, style: ReplyStyle): void {
  w.nested(C.IPVS_SVC_ATTR_STATS, () => {
    w.u32(C.IPVS_STATS_ATTR_CONNS, u32of(s.conns));
    w.u32(C.IPVS_STATS_ATTR_INPKTS, u32of(s.inpkts));
    w.u32(C.IPVS_STATS_ATTR_OUTPKTS, u32of(s.outpkts));
    u64(w, C.IPVS_STATS_ATTR_INBYTES, s.inbytes, style);
    u64(w, C.IPVS_STATS_ATTR_OUTBYTES, s.outbytes, style);
    w.u32(C.IPVS_STATS_ATTR_CPS, u32of(s.cps));
    w.u32(C.IPVS_STATS_ATTR_INPPS, u32of(s.inpps));
    w.u32(C.IPVS_STATS_ATTR_OUTPPS, u32of(s.outpps));
    w.u32(C.IPVS_STATS_ATTR_INBPS, u32of(s.inbps));
    w.u32(C.IPVS_STATS_ATTR_OUTBPS, u32of(s.outbps));
  }, false);
  w.nested(C.IPVS_SVC_ATTR_STATS64, () => {
    u64(w, C.IPVS_STATS_ATTR_CONNS, s.conns, style);
    u64(w, C.IPVS_STATS_ATTR_INPKTS, s.inpkts, style);
    u64(w, C.IPVS_STATS_ATTR_OUTPKTS, s.outpkts, style);
    u64(w, C.IPVS_STATS_ATTR_INBYTES, s.inbytes, style);
    u64(w, C.IPVS_STATS_ATTR_OUTBYTES, s.outbytes, style);
    u64(w, C.IPVS_STATS_ATTR_CPS, s.cps, style);
    u64(w, C.IPVS_STATS_ATTR_INPPS, s.inpps, style);
    u64(w, C.IPVS_STATS_ATTR_OUTPPS, s.outpps, style);
    u64(w, C.IPVS_STATS_ATTR_INBPS, s.inbps, style);
    u64(w, C.IPVS_STATS_ATTR_OUTBPS, s.outbps, style);
  }, false);
}

/** IPVS_CMD_ATTR_SERVICE, as in ip_vs_genl_fill_service(). */
export function writeService(w: MessageWriter, s: Svc, style: ReplyStyle): void {
  w.nested(C.IPVS_CMD_ATTR_SERVICE, () => {
    w.u16(C.IPVS_SVC_ATTR_AF, s.af);
    if (s.fwmark) {
      w.u32(C.IPVS_SVC_ATTR_FWMARK, s.fwmark);
    } else {
      w.u16(C.IPVS_SVC_ATTR_PROTOCOL, s.protocol);
      w.bytes(C.IPVS_SVC_ATTR_ADDR, s.addr);
      w.u16be(C.IPVS_SVC_ATTR_PORT, s.port);
    }
    w.string(C.IPVS_SVC_ATTR_SCHED_NAME, s.sched ?? 'none');
    if (s.pe !== undefined) w.string(C.IPVS_SVC_ATTR_PE_NAME, s.pe);
    const flags = Buffer.alloc(8);
    flags.writeUInt32LE(s.flags >>> 0, 0);
    flags.writeUInt32LE(0xffffffff, 4);
    w.bytes(C.IPVS_SVC_ATTR_FLAGS, flags);
    w.u32(C.IPVS_SVC_ATTR_TIMEOUT, style.serviceTimeout(s));
    w.bytes(C.IPVS_SVC_ATTR_NETMASK, s.netmask);
    stats(w, s.stats, style);
  }, false);
}

/** IPVS_CMD_ATTR_DEST, as in ip_vs_genl_fill_dest(). */
export function writeDest(w: MessageWriter, d: Dest, style: ReplyStyle): void {
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
    w.u32(C.IPVS_DEST_ATTR_ACTIVE_CONNS, d.active >>> 0);
    w.u32(C.IPVS_DEST_ATTR_INACT_CONNS, d.inactive >>> 0);
    w.u32(C.IPVS_DEST_ATTR_PERSIST_CONNS, d.persistent >>> 0);
    w.u16(C.IPVS_DEST_ATTR_ADDR_FAMILY, d.af);
    stats(w, d.stats, style);
  }, false);
}

/** IPVS_CMD_ATTR_DAEMON, as in ip_vs_genl_fill_daemon(). */
export function writeDaemon(w: MessageWriter, d: DaemonConfig): void {
  w.nested(C.IPVS_CMD_ATTR_DAEMON, () => {
    w.u32(C.IPVS_DAEMON_ATTR_STATE, d.state);
    w.string(C.IPVS_DAEMON_ATTR_MCAST_IFN, d.ifname);
    w.u32(C.IPVS_DAEMON_ATTR_SYNC_ID, d.syncId);
    w.u16(C.IPVS_DAEMON_ATTR_SYNC_MAXLEN, d.maxLen);
    w.u16(C.IPVS_DAEMON_ATTR_MCAST_PORT, d.port);
    w.u8(C.IPVS_DAEMON_ATTR_MCAST_TTL, d.ttl);
    if (d.groupAf === C.AF_INET6) w.bytes(C.IPVS_DAEMON_ATTR_MCAST_GROUP6, d.group);
    else w.bytes(C.IPVS_DAEMON_ATTR_MCAST_GROUP, d.group.subarray(0, 4));
  }, false);
}

/** The GET_CONFIG reply body (cmd IPVS_CMD_SET_CONFIG). */
export function writeTimeouts(w: MessageWriter, t: { tcp: number; tcpFin: number; udp: number }): void {
  w.u32(C.IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp);
  w.u32(C.IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcpFin);
  w.u32(C.IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp);
}

/** The GET_INFO reply body (cmd IPVS_CMD_SET_INFO). */
export function writeInfo(w: MessageWriter, connTableSize: number): void {
  w.u32(C.IPVS_INFO_ATTR_VERSION, C.IP_VS_VERSION_CODE);
  w.u32(C.IPVS_INFO_ATTR_CONN_TAB_SIZE, connTableSize);
}
