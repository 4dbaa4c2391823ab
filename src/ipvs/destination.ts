// The destination object: encodeDestination writes IPVS_CMD_ATTR_DEST (address and port only for DEL,
// the full entry for NEW/SET); decodeDestination reads the kernel's reply into a Destination.

import { DecodeError } from '../netlink/errors.js';
import type { Attributes } from '../netlink/reader.js';
import type { MessageWriter } from '../netlink/writer.js';
import { familyOfAf, formatAddress } from './address.js';
import {
  AF_INET, AF_INET6, IPVS_CMD_ATTR_DEST,
  IPVS_DEST_ATTR_ACTIVE_CONNS, IPVS_DEST_ATTR_ADDR, IPVS_DEST_ATTR_ADDR_FAMILY, IPVS_DEST_ATTR_FWD_METHOD,
  IPVS_DEST_ATTR_INACT_CONNS, IPVS_DEST_ATTR_L_THRESH, IPVS_DEST_ATTR_PERSIST_CONNS, IPVS_DEST_ATTR_PORT,
  IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64, IPVS_DEST_ATTR_TUN_FLAGS, IPVS_DEST_ATTR_TUN_PORT,
  IPVS_DEST_ATTR_TUN_TYPE, IPVS_DEST_ATTR_U_THRESH, IPVS_DEST_ATTR_WEIGHT,
  IP_VS_CONN_F_BYPASS, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_FWD_MASK, IP_VS_CONN_F_LOCALNODE, IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL, IP_VS_TUNNEL_ENCAP_FLAG_CSUM, IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
} from './constants.js';
import { decodeStats } from './stats.js';
import type { Destination, Forwarding, TunnelChecksum, TunnelType } from './types.js';
import type { WireDestination } from './validate.js';

function encodeDestKey(w: MessageWriter, d: WireDestination): void {
  w.bytes(IPVS_DEST_ATTR_ADDR, d.af === AF_INET6 ? d.addr : d.addr.subarray(0, 4));
  w.u16be(IPVS_DEST_ATTR_PORT, d.port);
  w.u16(IPVS_DEST_ATTR_ADDR_FAMILY, d.af);
}

export function encodeDestinationKey(w: MessageWriter, d: WireDestination): void {
  w.nested(IPVS_CMD_ATTR_DEST, () => encodeDestKey(w, d));
}

export function encodeDestination(w: MessageWriter, d: WireDestination): void {
  w.nested(IPVS_CMD_ATTR_DEST, () => {
    encodeDestKey(w, d);
    w.u32(IPVS_DEST_ATTR_FWD_METHOD, d.fwd);
    w.u32(IPVS_DEST_ATTR_WEIGHT, d.weight);
    w.u32(IPVS_DEST_ATTR_U_THRESH, d.upper);
    w.u32(IPVS_DEST_ATTR_L_THRESH, d.lower);
    if (d.tunType !== undefined) w.u8(IPVS_DEST_ATTR_TUN_TYPE, d.tunType);
    if (d.tunPort !== undefined) w.u16be(IPVS_DEST_ATTR_TUN_PORT, d.tunPort);
    if (d.tunFlags !== undefined) w.u16(IPVS_DEST_ATTR_TUN_FLAGS, d.tunFlags);
  });
}

const FWD_NAMES: Readonly<Record<number, Forwarding>> = {
  [IP_VS_CONN_F_MASQ]: 'masq', [IP_VS_CONN_F_LOCALNODE]: 'local', [IP_VS_CONN_F_TUNNEL]: 'tunnel',
  [IP_VS_CONN_F_DROUTE]: 'route', [IP_VS_CONN_F_BYPASS]: 'bypass',
};
const TUN_NAMES: readonly TunnelType[] = ['ipip', 'gue', 'gre'];

function checksumName(flags: number): TunnelChecksum {
  if (flags & IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM) return 'remcsum';
  if (flags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM) return 'csum';
  return 'nocsum';
}

/** Decodes the body of an IPVS_CMD_ATTR_DEST attribute; `serviceAf` is used when the kernel omits the dest's own family. */
export function decodeDestination(a: Attributes, serviceAf: number): Destination {
  const af = a.u16(IPVS_DEST_ATTR_ADDR_FAMILY) ?? serviceAf;
  if (af !== AF_INET && af !== AF_INET6) throw new DecodeError(`destination with address family ${af}`, 0);
  const addr = a.raw(IPVS_DEST_ATTR_ADDR);
  const port = a.u16be(IPVS_DEST_ATTR_PORT);
  if (addr === undefined || port === undefined) throw new DecodeError('destination without address or port', 0);
  if (addr.length < (af === AF_INET6 ? 16 : 4)) throw new DecodeError('destination address too short', 0);
  const fwdRaw = (a.u32(IPVS_DEST_ATTR_FWD_METHOD) ?? 0) & IP_VS_CONN_F_FWD_MASK;
  const forwarding = FWD_NAMES[fwdRaw];
  if (forwarding === undefined) throw new DecodeError(`destination with forwarding method ${fwdRaw}`, 0);
  const weight = a.u32(IPVS_DEST_ATTR_WEIGHT) ?? 0;
  const dest: Destination = {
    address: formatAddress(af, addr),
    family: familyOfAf(af),
    port,
    forwarding,
    weight: weight | 0,
    upperThreshold: a.u32(IPVS_DEST_ATTR_U_THRESH) ?? 0,
    lowerThreshold: a.u32(IPVS_DEST_ATTR_L_THRESH) ?? 0,
    activeConns: a.u32(IPVS_DEST_ATTR_ACTIVE_CONNS) ?? 0,
    inactiveConns: a.u32(IPVS_DEST_ATTR_INACT_CONNS) ?? 0,
    persistentConns: a.u32(IPVS_DEST_ATTR_PERSIST_CONNS) ?? 0,
    stats: decodeStats(a, IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64),
  };
  if (forwarding === 'tunnel') {
    const t = a.u8(IPVS_DEST_ATTR_TUN_TYPE) ?? 0;
    dest.tunnel = {
      type: TUN_NAMES[t] ?? 'ipip',
      port: a.u16be(IPVS_DEST_ATTR_TUN_PORT) ?? 0,
      checksum: checksumName(a.u16(IPVS_DEST_ATTR_TUN_FLAGS) ?? 0),
    };
  }
  return dest;
}
