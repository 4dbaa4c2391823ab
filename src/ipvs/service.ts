// The service object. encodeServiceKey/encodeService write IPVS_CMD_ATTR_SERVICE from validated wire
// values: the key alone for DEL_SERVICE, GET_SERVICE, ZERO and the destination commands, the full entry
// (scheduler, flags, timeout, netmask, optional engine) for NEW_SERVICE and SET_SERVICE, which
// ip_vs_genl_parse_service refuses with EINVAL when any of the four is missing. decodeService reads the
// kernel's reply (ip_vs_genl_fill_service: the address always 16 bytes, nests without NLA_F_NESTED) into
// a Service, refusing with DecodeError what the kernel never sends (a missing key, scheduler, flags,
// timeout or netmask; an unknown family) and keeping attributes it does not know. A protocol other than
// TCP, UDP and SCTP is reported as its number.

import { DecodeError } from '../netlink/errors.js';
import { AttributeTable, parseGenlAttributes, type AttributeReader } from '../netlink/reader.js';
import type { MessageWriter } from '../netlink/writer.js';
import { familyOfAf, formatAddress } from './address.js';
import {
  AF_INET, AF_INET6,
  IPVS_CMD_ATTR_SERVICE, IPVS_SVC_ATTR_AF, IPVS_SVC_ATTR_ADDR, IPVS_SVC_ATTR_FLAGS, IPVS_SVC_ATTR_FWMARK,
  IPVS_SVC_ATTR_NETMASK, IPVS_SVC_ATTR_PE_NAME, IPVS_SVC_ATTR_PORT, IPVS_SVC_ATTR_PROTOCOL, IPVS_SVC_ATTR_SCHED_NAME,
  IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64, IPVS_SVC_ATTR_TIMEOUT,
  IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, IP_VS_SVC_F_SCHED3,
} from './constants.js';
import { decodeStats } from './stats.js';
import type { Service, ServiceFlag, ServiceKey, WithoutStats } from './types.js';
import { keepUnknown, typeRange } from './unknown.js';
import { netmaskText, PROTOCOL_NAMES, type WireService, type WireServiceKey } from './validate.js';

/** The identifying attributes, inside an open IPVS_CMD_ATTR_SERVICE nest. */
export function encodeServiceKey(w: MessageWriter, key: WireServiceKey): void {
  w.u16(IPVS_SVC_ATTR_AF, key.af);
  if (key.fwmark !== 0) {
    w.u32(IPVS_SVC_ATTR_FWMARK, key.fwmark);
  } else {
    w.u16(IPVS_SVC_ATTR_PROTOCOL, key.protocol);
    // The kernel reads a union nf_inet_addr; 4 bytes for IPv4, as ipvsadm sends.
    if (key.v6 !== undefined) w.bytes(IPVS_SVC_ATTR_ADDR, key.v6, 16);
    else w.u32be(IPVS_SVC_ATTR_ADDR, key.v4);
    w.u16be(IPVS_SVC_ATTR_PORT, key.port);
  }
}

/** IPVS_CMD_ATTR_SERVICE holding the key only (DEL_SERVICE, GET_SERVICE, ZERO, destination commands). */
export function encodeServiceKeyAttr(w: MessageWriter, key: WireServiceKey): void {
  w.nested(IPVS_CMD_ATTR_SERVICE, () => encodeServiceKey(w, key));
}

/** IPVS_CMD_ATTR_SERVICE holding a full entry (NEW_SERVICE, SET_SERVICE). */
export function encodeService(w: MessageWriter, svc: WireService): void {
  w.nested(IPVS_CMD_ATTR_SERVICE, () => {
    encodeServiceKey(w, svc);
    w.string(IPVS_SVC_ATTR_SCHED_NAME, svc.scheduler);
    if (svc.pe !== undefined) w.string(IPVS_SVC_ATTR_PE_NAME, svc.pe);
    // struct ip_vs_flags { flags, mask }: an all-ones mask replaces every flag, so an update is complete
    // (a flag left out is cleared), as ipvsadm -E does.
    w.u32s(IPVS_SVC_ATTR_FLAGS, svc.flags, 0xffffffff);
    w.u32(IPVS_SVC_ATTR_TIMEOUT, svc.timeout);
    // IPv4: the mask in network order; IPv6: the prefix length as a host-order u32 (as the kernel reads it).
    if (svc.af === AF_INET6) w.u32(IPVS_SVC_ATTR_NETMASK, svc.netmask);
    else w.u32be(IPVS_SVC_ATTR_NETMASK, svc.netmask);
  });
}

const KNOWN = typeRange(IPVS_SVC_ATTR_AF, IPVS_SVC_ATTR_STATS64);

/**
 * The flag names of a raw flags word. SCHED1/SCHED2 are named after the scheduler that gives them a
 * meaning (sh-*, mh-*); a bit no scheduler names (SCHED3, or SCHED1/2 of rr, wlc, ...) is flag-1..flag-3,
 * so that every scheduler bit shows in `flags` and the names encode back to the same word.
 */
export function flagNames(raw: number, scheduler: string): ServiceFlag[] {
  const out: ServiceFlag[] = [];
  if (raw & IP_VS_SVC_F_ONEPACKET) out.push('one-packet');
  const prefix = scheduler === 'mh' ? 'mh' : scheduler === 'sh' ? 'sh' : undefined;
  if (raw & IP_VS_SVC_F_SCHED1) out.push(prefix ? `${prefix}-fallback` : 'flag-1');
  if (raw & IP_VS_SVC_F_SCHED2) out.push(prefix ? `${prefix}-port` : 'flag-2');
  if (raw & IP_VS_SVC_F_SCHED3) out.push('flag-3');
  return out;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new DecodeError(`service without ${what}`, 0);
  return value;
}

/** The key naming a service the kernel reported (what its destinations and changes are addressed by). */
export function keyOfService(service: WithoutStats<Service>): ServiceKey {
  if (service.fwmark !== undefined && service.fwmark !== 0) return { fwmark: service.fwmark, family: service.family };
  return { protocol: service.protocol!, address: service.address!, port: service.port! };
}

/** Where an address is copied to be formatted: no view per service. */
const ADDRESS = new Uint8Array(16);

/** Decodes the body of an IPVS_CMD_ATTR_SERVICE attribute; `stats` false leaves the statistics out (no `stats` field). */
export function decodeService(a: AttributeReader): Service;
export function decodeService(a: AttributeReader, stats: boolean): Service | WithoutStats<Service>;
export function decodeService(a: AttributeReader, stats = true): Service | WithoutStats<Service> {
  const af = required(a.u16(IPVS_SVC_ATTR_AF), 'IPVS_SVC_ATTR_AF');
  if (af !== AF_INET && af !== AF_INET6) throw new DecodeError(`service with address family ${af}`, 0);
  const scheduler = required(a.string(IPVS_SVC_ATTR_SCHED_NAME), 'IPVS_SVC_ATTR_SCHED_NAME');
  // Lengths checked here, values read in place: no view per service.
  const flagsLength = a.length(IPVS_SVC_ATTR_FLAGS);
  if (flagsLength < 0) throw new DecodeError('service without IPVS_SVC_ATTR_FLAGS', 0);
  if (flagsLength < 4) throw new DecodeError(`service flags of ${flagsLength} bytes`, 0);
  const rawFlags = a.u32(IPVS_SVC_ATTR_FLAGS) as number;
  const timeout = required(a.u32(IPVS_SVC_ATTR_TIMEOUT), 'IPVS_SVC_ATTR_TIMEOUT');
  const netmaskLength = a.length(IPVS_SVC_ATTR_NETMASK);
  if (netmaskLength < 0) throw new DecodeError('service without IPVS_SVC_ATTR_NETMASK', 0);
  if (netmaskLength < 4) throw new DecodeError(`service netmask of ${netmaskLength} bytes`, 0);
  const netmask = (af === AF_INET6 ? a.u32(IPVS_SVC_ATTR_NETMASK) : a.u32be(IPVS_SVC_ATTR_NETMASK)) as number;
  const family = familyOfAf(af);
  const flags = flagNames(rawFlags, scheduler);
  const fwmark = a.u32(IPVS_SVC_ATTR_FWMARK);
  // Object literals, not spreads: a dump decodes thousands of these. One literal per shape, so that each
  // read's objects share one hidden class and keep the fields in the same order.
  let svc: Service | WithoutStats<Service>;
  if (fwmark !== undefined && fwmark !== 0) {
    svc = stats
      ? { fwmark, family, scheduler, flags, stats: decodeStats(a, IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64), rawFlags }
      : { fwmark, family, scheduler, flags, rawFlags };
  } else {
    const protoNum = required(a.u16(IPVS_SVC_ATTR_PROTOCOL), 'a fwmark nor IPVS_SVC_ATTR_PROTOCOL');
    // Linux takes a service of any protocol over generic netlink (and balances only these three): another
    // tool's service of protocol 47 is read back as 47, so that it can be seen and removed.
    const protocol = PROTOCOL_NAMES[protoNum] ?? protoNum;
    const addrLength = a.copy(IPVS_SVC_ATTR_ADDR, ADDRESS);
    if (addrLength < 0) throw new DecodeError('service without IPVS_SVC_ATTR_ADDR', 0);
    if (addrLength < (af === AF_INET6 ? 16 : 4)) throw new DecodeError(`service address of ${addrLength} bytes`, 0);
    const port = required(a.u16be(IPVS_SVC_ATTR_PORT), 'IPVS_SVC_ATTR_PORT');
    const address = formatAddress(af, ADDRESS);
    svc = stats
      ? { protocol, address, port, family, scheduler, flags, stats: decodeStats(a, IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64), rawFlags }
      : { protocol, address, port, family, scheduler, flags, rawFlags };
  }
  if (rawFlags & IP_VS_SVC_F_PERSISTENT) svc.persistence = { timeout, netmask: netmaskText(af, netmask) };
  const pe = a.string(IPVS_SVC_ATTR_PE_NAME);
  if (pe) svc.persistenceEngine = pe;
  return keepUnknown(svc, a, KNOWN);
}

/** Reused by every decodeServiceMessage call (synchronous, never nested): a dump decodes thousands. */
const MESSAGE = new AttributeTable(31);

/** Decodes a reply body (after the netlink header) holding one service: GET_SERVICE and its dump. */
export function decodeServiceMessage(payload: Buffer): Service {
  return decodeServicePayload(payload, 0, payload.length);
}

/**
 * decodeServiceMessage on the payload buf[start, end), read in place (what dumps use: no view per message);
 * `stats` false leaves the statistics out.
 */
export function decodeServicePayload(buf: Buffer, start: number, end: number): Service;
export function decodeServicePayload(buf: Buffer, start: number, end: number, stats: boolean): Service | WithoutStats<Service>;
export function decodeServicePayload(buf: Buffer, start: number, end: number, stats = true): Service | WithoutStats<Service> {
  const svc = parseGenlAttributes(MESSAGE, buf, start, end).nested(IPVS_CMD_ATTR_SERVICE);
  if (!svc) throw new DecodeError('service reply without IPVS_CMD_ATTR_SERVICE', 0);
  return decodeService(svc, stats);
}
