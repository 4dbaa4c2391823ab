// Sync daemons: encodeDaemon writes IPVS_CMD_ATTR_DAEMON for NEW_DAEMON (or the state alone for
// DEL_DAEMON); decodeDaemon reads a GET_DAEMON reply.

import { DecodeError } from '../netlink/errors.js';
import type { Attributes } from '../netlink/reader.js';
import type { MessageWriter } from '../netlink/writer.js';
import { formatIPv4, formatIPv6 } from './address.js';
import {
  IPVS_CMD_ATTR_DAEMON, IPVS_DAEMON_ATTR_MCAST_GROUP, IPVS_DAEMON_ATTR_MCAST_GROUP6, IPVS_DAEMON_ATTR_MCAST_IFN,
  IPVS_DAEMON_ATTR_MCAST_PORT, IPVS_DAEMON_ATTR_MCAST_TTL, IPVS_DAEMON_ATTR_STATE, IPVS_DAEMON_ATTR_SYNC_ID,
  IPVS_DAEMON_ATTR_SYNC_MAXLEN, IP_VS_STATE_BACKUP, IP_VS_STATE_MASTER,
} from './constants.js';
import type { Daemon } from './types.js';
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

export function decodeDaemon(a: Attributes): Daemon {
  const state = a.u32(IPVS_DAEMON_ATTR_STATE);
  if (state !== IP_VS_STATE_MASTER && state !== IP_VS_STATE_BACKUP) throw new DecodeError(`daemon state ${state}`, 0);
  const d: Daemon = {
    state: state === IP_VS_STATE_MASTER ? 'master' : 'backup',
    interface: a.string(IPVS_DAEMON_ATTR_MCAST_IFN) ?? '',
    syncId: a.u32(IPVS_DAEMON_ATTR_SYNC_ID) ?? 0,
  };
  const maxlen = a.u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN);
  if (maxlen !== undefined) d.syncMaxLen = maxlen;
  const g4 = a.raw(IPVS_DAEMON_ATTR_MCAST_GROUP);
  const g6 = a.raw(IPVS_DAEMON_ATTR_MCAST_GROUP6);
  if (g6 && g6.length >= 16 && g6.some((b) => b !== 0)) d.mcastGroup = formatIPv6(g6);
  else if (g4 && g4.length >= 4) d.mcastGroup = formatIPv4(g4);
  // The kernel keeps the sync port in host byte order (nla_get_u16), unlike service ports.
  const port = a.u16(IPVS_DAEMON_ATTR_MCAST_PORT);
  if (port !== undefined) d.mcastPort = port;
  const ttl = a.u8(IPVS_DAEMON_ATTR_MCAST_TTL);
  if (ttl !== undefined) d.mcastTtl = ttl;
  return d;
}
