// The service object: encodeService writes IPVS_CMD_ATTR_SERVICE from a validated spec (the key alone
// for DEL/GET, the full entry for NEW/SET); decodeService reads the kernel's reply into a Service.

import { DecodeError } from '../netlink/errors.js';
import { Attributes } from '../netlink/reader.js';
import type { MessageWriter } from '../netlink/writer.js';
import { familyOfAf, formatAddress } from './address.js';
import {
  AF_INET, AF_INET6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
  IPVS_CMD_ATTR_SERVICE, IPVS_SVC_ATTR_AF, IPVS_SVC_ATTR_ADDR, IPVS_SVC_ATTR_FLAGS, IPVS_SVC_ATTR_FWMARK,
  IPVS_SVC_ATTR_NETMASK, IPVS_SVC_ATTR_PE_NAME, IPVS_SVC_ATTR_PORT, IPVS_SVC_ATTR_PROTOCOL, IPVS_SVC_ATTR_SCHED_NAME,
  IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64, IPVS_SVC_ATTR_TIMEOUT,
  IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2,
} from './constants.js';
import { decodeStats } from './stats.js';
import type { Protocol, Service, ServiceFlag } from './types.js';
import { netmaskText, type WireService, type WireServiceKey } from './validate.js';

export function encodeServiceKey(w: MessageWriter, key: WireServiceKey): void {
  w.u16(IPVS_SVC_ATTR_AF, key.af);
  if (key.fwmark !== 0) {
    w.u32(IPVS_SVC_ATTR_FWMARK, key.fwmark);
  } else {
    w.u16(IPVS_SVC_ATTR_PROTOCOL, key.protocol);
    w.bytes(IPVS_SVC_ATTR_ADDR, key.af === AF_INET6 ? key.addr : key.addr.subarray(0, 4));
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
    // struct ip_vs_flags { flags, mask }: the mask says every flag is being set, as ipvsadm does.
    const flags = Buffer.alloc(8);
    flags.writeUInt32LE(svc.flags >>> 0, 0);
    flags.writeUInt32LE(0xffffffff, 4);
    w.bytes(IPVS_SVC_ATTR_FLAGS, flags);
    w.u32(IPVS_SVC_ATTR_TIMEOUT, svc.timeout);
    // IPv4: the mask in network order; IPv6: the prefix length as a host-order u32 (as the kernel reads it).
    if (svc.af === AF_INET6) w.u32(IPVS_SVC_ATTR_NETMASK, svc.netmask);
    else w.u32be(IPVS_SVC_ATTR_NETMASK, svc.netmask);
  });
}

const PROTOCOL_NAMES: Readonly<Record<number, Protocol>> = { [IPPROTO_TCP]: 'tcp', [IPPROTO_UDP]: 'udp', [IPPROTO_SCTP]: 'sctp' };

export function flagNames(raw: number, scheduler: string): ServiceFlag[] {
  const out: ServiceFlag[] = [];
  if (raw & IP_VS_SVC_F_ONEPACKET) out.push('one-packet');
  const prefix = scheduler === 'mh' ? 'mh' : scheduler === 'sh' ? 'sh' : undefined;
  if (prefix) {
    if (raw & IP_VS_SVC_F_SCHED1) out.push(`${prefix}-fallback`);
    if (raw & IP_VS_SVC_F_SCHED2) out.push(`${prefix}-port`);
  }
  return out;
}

/** Decodes the body of an IPVS_CMD_ATTR_SERVICE attribute. */
export function decodeService(a: Attributes): Service {
  const af = a.u16(IPVS_SVC_ATTR_AF);
  if (af !== AF_INET && af !== AF_INET6) throw new DecodeError(`service with address family ${af}`, 0);
  const scheduler = a.string(IPVS_SVC_ATTR_SCHED_NAME) ?? '';
  const flagsRaw = a.raw(IPVS_SVC_ATTR_FLAGS);
  if (flagsRaw !== undefined && flagsRaw.length < 4) throw new DecodeError('service flags shorter than 4 bytes', 0);
  const rawFlags = flagsRaw ? flagsRaw.readUInt32LE(0) : 0;
  const netmaskRaw = a.raw(IPVS_SVC_ATTR_NETMASK);
  if (netmaskRaw !== undefined && netmaskRaw.length < 4) throw new DecodeError('service netmask shorter than 4 bytes', 0);
  const netmask = netmaskRaw === undefined ? (af === AF_INET6 ? 128 : 0xffffffff) : af === AF_INET6 ? netmaskRaw.readUInt32LE(0) : netmaskRaw.readUInt32BE(0);
  const common = {
    family: familyOfAf(af),
    scheduler,
    flags: flagNames(rawFlags, scheduler),
    stats: decodeStats(a, IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64),
    rawFlags,
  };
  const extra: { persistence?: { timeout: number; netmask: string | number }; persistenceEngine?: string } = {};
  if (rawFlags & IP_VS_SVC_F_PERSISTENT) extra.persistence = { timeout: a.u32(IPVS_SVC_ATTR_TIMEOUT) ?? 0, netmask: netmaskText(af, netmask) };
  const pe = a.string(IPVS_SVC_ATTR_PE_NAME);
  if (pe) extra.persistenceEngine = pe;
  const fwmark = a.u32(IPVS_SVC_ATTR_FWMARK);
  if (fwmark !== undefined && fwmark !== 0) return { fwmark, ...common, ...extra };
  const protoNum = a.u16(IPVS_SVC_ATTR_PROTOCOL);
  const protocol = protoNum === undefined ? undefined : PROTOCOL_NAMES[protoNum];
  const addr = a.raw(IPVS_SVC_ATTR_ADDR);
  const port = a.u16be(IPVS_SVC_ATTR_PORT);
  if (protocol === undefined || addr === undefined || port === undefined) {
    throw new DecodeError(`service without fwmark nor protocol/address/port (protocol ${protoNum})`, 0);
  }
  if (addr.length < (af === AF_INET6 ? 16 : 4)) throw new DecodeError('service address too short', 0);
  return { protocol, address: formatAddress(af, addr), port, ...common, ...extra };
}

/** Decodes a reply message body (after the genl header) holding one service. */
export function decodeServiceReply(body: Buffer): Service {
  const top = Attributes.parse(body);
  const svc = top.nested(IPVS_CMD_ATTR_SERVICE);
  if (!svc) throw new DecodeError('reply without IPVS_CMD_ATTR_SERVICE', 0);
  return decodeService(svc);
}
