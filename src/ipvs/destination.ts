// The destination (real server) object. encodeDestination writes IPVS_CMD_ATTR_DEST for NEW_DEST and
// SET_DEST (address, port, family, forwarding, weight, both thresholds: ip_vs_genl_parse_dest wants all
// of them; tunnel attributes when tunnelling); encodeDestinationKey writes address, port and family for
// DEL_DEST. decodeDestination reads ip_vs_genl_fill_dest's reply, falling back to the service's family
// for kernels older than 3.18, which did not report a destination's own.

import { DecodeError } from '../netlink/errors.js';
import { AttributeTable, parseGenlAttributes, type AttributeReader } from '../netlink/reader.js';
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
import { TUNNEL_TYPES, type Destination, type Forwarding, type TunnelChecksum, type WithoutStats } from './types.js';
import { keepUnknown, typeRange } from './unknown.js';
import type { WireDestination } from './validate.js';

function encodeDestKey(w: MessageWriter, d: WireDestination): void {
  if (d.v6 !== undefined) w.bytes(IPVS_DEST_ATTR_ADDR, d.v6, 16);
  else w.u32be(IPVS_DEST_ATTR_ADDR, d.v4);
  w.u16be(IPVS_DEST_ATTR_PORT, d.port);
  w.u16(IPVS_DEST_ATTR_ADDR_FAMILY, d.af);
}

/** IPVS_CMD_ATTR_DEST naming a destination (DEL_DEST). */
export function encodeDestinationKey(w: MessageWriter, d: WireDestination): void {
  w.nested(IPVS_CMD_ATTR_DEST, () => encodeDestKey(w, d));
}

/** IPVS_CMD_ATTR_DEST holding a full entry (NEW_DEST, SET_DEST). */
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
const KNOWN = typeRange(IPVS_DEST_ATTR_ADDR, IPVS_DEST_ATTR_TUN_FLAGS);

function checksumName(flags: number): TunnelChecksum {
  if (flags & IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM) return 'remcsum';
  if (flags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM) return 'csum';
  return 'nocsum';
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new DecodeError(`destination without ${what}`, 0);
  return value;
}

/** Where an address is copied to be formatted: no view per destination. */
const ADDRESS = new Uint8Array(16);

/**
 * Decodes the body of an IPVS_CMD_ATTR_DEST attribute; `serviceAf` is used when the kernel omits the dest's own
 * family. `stats` false leaves the statistics out (not decoded, no `stats` field).
 */
export function decodeDestination(a: AttributeReader, serviceAf: number): Destination;
export function decodeDestination(a: AttributeReader, serviceAf: number, stats: boolean): Destination | WithoutStats<Destination>;
export function decodeDestination(a: AttributeReader, serviceAf: number, stats = true): Destination | WithoutStats<Destination> {
  const af = a.u16(IPVS_DEST_ATTR_ADDR_FAMILY) ?? serviceAf;
  if (af !== AF_INET && af !== AF_INET6) throw new DecodeError(`destination with address family ${af}`, 0);
  const addrLength = a.copy(IPVS_DEST_ATTR_ADDR, ADDRESS);
  if (addrLength < 0) throw new DecodeError('destination without IPVS_DEST_ATTR_ADDR', 0);
  if (addrLength < (af === AF_INET6 ? 16 : 4)) throw new DecodeError(`destination address of ${addrLength} bytes`, 0);
  const port = required(a.u16be(IPVS_DEST_ATTR_PORT), 'IPVS_DEST_ATTR_PORT');
  const fwdRaw = required(a.u32(IPVS_DEST_ATTR_FWD_METHOD), 'IPVS_DEST_ATTR_FWD_METHOD') & IP_VS_CONN_F_FWD_MASK;
  // A method past bypass (another tool's: Linux keeps the 3 bits as given) reads as its number.
  const forwarding = FWD_NAMES[fwdRaw] ?? fwdRaw;
  const address = formatAddress(af, ADDRESS);
  const family = familyOfAf(af);
  const weight = required(a.u32(IPVS_DEST_ATTR_WEIGHT), 'IPVS_DEST_ATTR_WEIGHT');
  const upperThreshold = required(a.u32(IPVS_DEST_ATTR_U_THRESH), 'IPVS_DEST_ATTR_U_THRESH');
  const lowerThreshold = required(a.u32(IPVS_DEST_ATTR_L_THRESH), 'IPVS_DEST_ATTR_L_THRESH');
  const activeConns = required(a.u32(IPVS_DEST_ATTR_ACTIVE_CONNS), 'IPVS_DEST_ATTR_ACTIVE_CONNS');
  const inactiveConns = required(a.u32(IPVS_DEST_ATTR_INACT_CONNS), 'IPVS_DEST_ATTR_INACT_CONNS');
  const persistentConns = required(a.u32(IPVS_DEST_ATTR_PERSIST_CONNS), 'IPVS_DEST_ATTR_PERSIST_CONNS');
  // Two literals, not a field added later: each read's objects keep one shape, fields in the same order.
  const dest: Destination | WithoutStats<Destination> = stats
    ? { address, family, port, forwarding, weight, upperThreshold, lowerThreshold, activeConns, inactiveConns, persistentConns,
      stats: decodeStats(a, IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64) }
    : { address, family, port, forwarding, weight, upperThreshold, lowerThreshold, activeConns, inactiveConns, persistentConns };
  if (forwarding === 'tunnel') {
    // Kernels before 5.3 know only ipip and send no tunnel attributes.
    const t = a.u8(IPVS_DEST_ATTR_TUN_TYPE) ?? 0;
    dest.tunnel = {
      // A type past gre (Linux keeps any u8) reads as its number.
      type: TUNNEL_TYPES[t] ?? t,
      port: a.u16be(IPVS_DEST_ATTR_TUN_PORT) ?? 0,
      checksum: checksumName(a.u16(IPVS_DEST_ATTR_TUN_FLAGS) ?? 0),
    };
  }
  return keepUnknown(dest, a, KNOWN);
}

/** Reused by every decodeDestinationMessage call (synchronous, never nested): a dump decodes thousands. */
const MESSAGE = new AttributeTable(31);

/** Decodes a reply body (after the netlink header) holding one destination: the GET_DEST dump. */
export function decodeDestinationMessage(payload: Buffer, serviceAf: number): Destination {
  return decodeDestinationPayload(payload, 0, payload.length, serviceAf);
}

/**
 * decodeDestinationMessage on the payload buf[start, end), read in place (what dumps use: no view per message);
 * `stats` false leaves the statistics out.
 */
export function decodeDestinationPayload(buf: Buffer, start: number, end: number, serviceAf: number): Destination;
export function decodeDestinationPayload(buf: Buffer, start: number, end: number, serviceAf: number, stats: boolean): Destination | WithoutStats<Destination>;
export function decodeDestinationPayload(buf: Buffer, start: number, end: number, serviceAf: number, stats = true): Destination | WithoutStats<Destination> {
  const d = parseGenlAttributes(MESSAGE, buf, start, end).nested(IPVS_CMD_ATTR_DEST);
  if (!d) throw new DecodeError('destination reply without IPVS_CMD_ATTR_DEST', 0);
  return decodeDestination(d, serviceAf, stats);
}
