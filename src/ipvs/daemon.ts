// Sync daemons. encodeDaemon writes IPVS_CMD_ATTR_DAEMON for NEW_DAEMON (state, interface and sync id,
// which ip_vs_genl_new_daemon requires; the optional fields only when given, so the kernel applies its
// defaults: group 224.0.0.81, port 8848, ttl 1, maxlen from the MTU); encodeDaemonState writes the state
// alone for DEL_DAEMON. decodeDaemon reads a GET_DAEMON dump entry. Byte orders follow the kernel, not
// intuition: IPVS_DAEMON_ATTR_MCAST_PORT is a host-order u16 (nla_get_u16, htons only when the socket
// address is built), the groups are raw in_addr / in6_addr bytes.

import { DecodeError } from '../netlink/errors.js';
import { Attributes, parseGenlHeader } from '../netlink/reader.js';
import type { MessageWriter } from '../netlink/writer.js';
import { formatIPv4, formatIPv6 } from './address.js';
import {
  IPVS_CMD_ATTR_DAEMON, IPVS_DAEMON_ATTR_MCAST_GROUP, IPVS_DAEMON_ATTR_MCAST_GROUP6, IPVS_DAEMON_ATTR_MCAST_IFN,
  IPVS_DAEMON_ATTR_MCAST_PORT, IPVS_DAEMON_ATTR_MCAST_TTL, IPVS_DAEMON_ATTR_STATE, IPVS_DAEMON_ATTR_SYNC_ID,
  IPVS_DAEMON_ATTR_SYNC_MAXLEN, IP_VS_STATE_BACKUP, IP_VS_STATE_MASTER,
} from './constants.js';
import type { Daemon } from './types.js';
import { keepUnknown, typeRange } from './unknown.js';
import type { WireDaemon } from './validate.js';

export function encodeDaemon(w: MessageWriter, d: WireDaemon): void {
  w.nested(IPVS_CMD_ATTR_DAEMON, () => {
    w.u32(IPVS_DAEMON_ATTR_STATE, d.state);
    w.string(IPVS_DAEMON_ATTR_MCAST_IFN, d.ifname);
    w.u32(IPVS_DAEMON_ATTR_SYNC_ID, d.syncId);
    if (d.syncMaxLen !== undefined) w.u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, d.syncMaxLen);
    if (d.group?.family === 'ipv4') w.bytes(IPVS_DAEMON_ATTR_MCAST_GROUP, d.group.bytes.subarray(0, 4));
    if (d.group?.family === 'ipv6') w.bytes(IPVS_DAEMON_ATTR_MCAST_GROUP6, d.group.bytes);
    if (d.port !== undefined) w.u16(IPVS_DAEMON_ATTR_MCAST_PORT, d.port);
    if (d.ttl !== undefined) w.u8(IPVS_DAEMON_ATTR_MCAST_TTL, d.ttl);
  });
}

export function encodeDaemonState(w: MessageWriter, state: number): void {
  w.nested(IPVS_CMD_ATTR_DAEMON, () => w.u32(IPVS_DAEMON_ATTR_STATE, state));
}

const KNOWN = typeRange(IPVS_DAEMON_ATTR_STATE, IPVS_DAEMON_ATTR_MCAST_TTL);

/** Decodes the body of an IPVS_CMD_ATTR_DAEMON attribute. */
export function decodeDaemon(a: Attributes): Daemon {
  const state = a.u32(IPVS_DAEMON_ATTR_STATE);
  if (state !== IP_VS_STATE_MASTER && state !== IP_VS_STATE_BACKUP) throw new DecodeError(`daemon state ${state ?? '(missing)'}`, 0);
  const ifname = a.string(IPVS_DAEMON_ATTR_MCAST_IFN);
  const syncId = a.u32(IPVS_DAEMON_ATTR_SYNC_ID);
  if (ifname === undefined || syncId === undefined) throw new DecodeError('daemon without its interface or sync id', 0);
  const d: Daemon = { state: state === IP_VS_STATE_MASTER ? 'master' : 'backup', interface: ifname, syncId };
  const maxlen = a.u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN);
  if (maxlen !== undefined) d.syncMaxLen = maxlen;
  // The kernel sends the group of the daemon's family only.
  const g6 = a.raw(IPVS_DAEMON_ATTR_MCAST_GROUP6);
  const g4 = a.raw(IPVS_DAEMON_ATTR_MCAST_GROUP);
  if (g6 !== undefined) {
    if (g6.length < 16) throw new DecodeError(`daemon IPv6 group of ${g6.length} bytes`, 0);
    d.mcastGroup = formatIPv6(g6);
  } else if (g4 !== undefined) {
    if (g4.length < 4) throw new DecodeError(`daemon IPv4 group of ${g4.length} bytes`, 0);
    d.mcastGroup = formatIPv4(g4);
  }
  const port = a.u16(IPVS_DAEMON_ATTR_MCAST_PORT);
  if (port !== undefined) d.mcastPort = port;
  const ttl = a.u8(IPVS_DAEMON_ATTR_MCAST_TTL);
  if (ttl !== undefined) d.mcastTtl = ttl;
  return keepUnknown(d, a, KNOWN);
}

/** Decodes a reply body (after the netlink header) holding one daemon: the GET_DAEMON dump. */
export function decodeDaemonMessage(payload: Buffer): Daemon {
  const top = Attributes.parse(parseGenlHeader(payload).body);
  const d = top.nested(IPVS_CMD_ATTR_DAEMON);
  if (!d) throw new DecodeError('daemon reply without IPVS_CMD_ATTR_DAEMON', 0);
  return decodeDaemon(d);
}
