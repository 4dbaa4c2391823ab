// Validation and normalisation of every input before a byte is sent. Each function turns a public spec
// into the exact values the kernel will receive (defaults filled as ipvsadm 1.31 fills them), or throws
// a ValidationError naming the field and the value. A refused call therefore changes nothing.

import { afOfFamily, formatIPv4Mask, parseAddress, parseIPv4Mask, type ParsedAddress } from './address.js';
import {
  AF_INET,
  AF_INET6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL,
  IP_VS_IFNAME_MAXLEN,
  IP_VS_STATE_BACKUP,
  IP_VS_STATE_MASTER,
  IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_PERSISTENT,
  IP_VS_SVC_F_SCHED1,
  IP_VS_SVC_F_SCHED2,
  IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
  IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM,
  IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
  IP_VS_CONN_F_TUNNEL_TYPE_GRE,
  IP_VS_CONN_F_TUNNEL_TYPE_GUE,
  IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
} from './constants.js';
import { ValidationError } from './errors.js';
import {
  PERSISTENCE_ENGINES,
  SCHEDULERS,
  type DaemonSpec,
  type DestinationKey,
  type DestinationSpec,
  type Protocol,
  type ServiceFlag,
  type ServiceKey,
  type ServiceSpec,
  type Timeouts,
} from './types.js';

export const PROTOCOL_NUMBERS: Readonly<Record<Protocol, number>> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, sctp: IPPROTO_SCTP };

/** ipvsadm's default persistence timeout (seconds). */
export const DEFAULT_PERSISTENCE_TIMEOUT = 300;
/** The largest persistence timeout ipvsadm accepts (31 days); the kernel multiplies it by HZ. */
export const MAX_PERSISTENCE_TIMEOUT = 31 * 24 * 3600;
export const MAX_WEIGHT = 2147483647;

/** A service key as the kernel receives it. */
export interface WireServiceKey {
  af: number;
  protocol: number;
  /** 16 bytes, zero for fwmark services. */
  addr: Buffer;
  port: number;
  fwmark: number;
  /** How errors name the service, e.g. 'tcp 192.168.1.110:80' or 'fwmark 10'. */
  text: string;
  /** The normalised public key. */
  key: ServiceKey;
}

export interface WireService extends WireServiceKey {
  scheduler: string;
  flags: number;
  timeout: number;
  /** IPv4: the mask's 32-bit value; IPv6: the prefix length. */
  netmask: number;
  pe: string | undefined;
}

export interface WireDestination {
  af: number;
  addr: Buffer;
  port: number;
  fwd: number;
  weight: number;
  upper: number;
  lower: number;
  tunType: number | undefined;
  tunPort: number | undefined;
  tunFlags: number | undefined;
  text: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, value, `must be an integer ${min}..${max}`);
  }
  return value;
}

export function hostPort(address: ParsedAddress, port: number): string {
  return address.family === 'ipv6' ? `[${address.text}]:${port}` : `${address.text}:${port}`;
}

export function validateServiceKey(key: unknown): WireServiceKey {
  if (!isObject(key)) throw new ValidationError('service', key, 'must be an object with protocol/address/port or fwmark');
  if (key.fwmark !== undefined) {
    const fwmark = integer('fwmark', key.fwmark, 1, 0xffffffff);
    const family = key.family ?? 'ipv4';
    if (family !== 'ipv4' && family !== 'ipv6') throw new ValidationError('family', family, "must be 'ipv4' or 'ipv6'");
    if (key.protocol !== undefined || key.address !== undefined) {
      throw new ValidationError('service', key, 'give either fwmark or protocol/address/port, not both');
    }
    const text = family === 'ipv6' ? `fwmark ${fwmark} (IPv6)` : `fwmark ${fwmark}`;
    return { af: afOfFamily(family), protocol: 0, addr: Buffer.alloc(16), port: 0, fwmark, text, key: { fwmark, family } };
  }
  const protocol = key.protocol;
  if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') {
    throw new ValidationError('protocol', protocol, "must be 'tcp', 'udp' or 'sctp' (or give a fwmark)");
  }
  const address = parseAddress('address', key.address);
  const port = integer('port', key.port, 0, 65535);
  return {
    af: address.af, protocol: PROTOCOL_NUMBERS[protocol], addr: address.bytes, port, fwmark: 0,
    text: `${protocol} ${hostPort(address, port)}`,
    key: { protocol, address: address.text, port },
  };
}

const FLAG_BITS: Readonly<Record<ServiceFlag, number>> = {
  'one-packet': IP_VS_SVC_F_ONEPACKET,
  'sh-fallback': IP_VS_SVC_F_SCHED1,
  'sh-port': IP_VS_SVC_F_SCHED2,
  'mh-fallback': IP_VS_SVC_F_SCHED1,
  'mh-port': IP_VS_SVC_F_SCHED2,
};

export function validateServiceSpec(spec: unknown): WireService {
  const key = validateServiceKey(spec);
  const s = spec as ServiceSpec & Record<string, unknown>;
  const scheduler = s.scheduler ?? 'wlc';
  if (!(SCHEDULERS as readonly string[]).includes(scheduler as string)) {
    throw new ValidationError('scheduler', scheduler, `unknown scheduler; one of ${SCHEDULERS.join(', ')}`);
  }
  let flags = 0;
  let timeout = 0;
  let netmask = key.af === AF_INET6 ? 128 : 0xffffffff;
  const p = s.persistence;
  if (p !== undefined && p !== false) {
    if (p !== true && !isObject(p)) throw new ValidationError('persistence', p, 'must be true, false or { timeout, netmask }');
    flags |= IP_VS_SVC_F_PERSISTENT;
    const opts = p === true ? {} : p;
    timeout = opts.timeout === undefined ? DEFAULT_PERSISTENCE_TIMEOUT : integer('persistence.timeout', opts.timeout, 1, MAX_PERSISTENCE_TIMEOUT);
    if (opts.netmask !== undefined) {
      netmask = key.af === AF_INET6 ? integer('persistence.netmask', opts.netmask, 1, 128) : parseIPv4Mask('persistence.netmask', opts.netmask);
    }
  } else if (isObject(p)) {
    // unreachable: objects count as persistence on
  }
  if (s.flags !== undefined) {
    if (!Array.isArray(s.flags)) throw new ValidationError('flags', s.flags, 'must be an array');
    for (const f of s.flags as unknown[]) {
      const bit = FLAG_BITS[f as ServiceFlag];
      if (bit === undefined) throw new ValidationError('flags', f, `unknown flag; one of ${Object.keys(FLAG_BITS).join(', ')}`);
      if ((f === 'sh-fallback' || f === 'sh-port') && scheduler !== 'sh') throw new ValidationError('flags', f, 'only applies to the sh scheduler');
      if ((f === 'mh-fallback' || f === 'mh-port') && scheduler !== 'mh') throw new ValidationError('flags', f, 'only applies to the mh scheduler');
      flags |= bit;
    }
  }
  let pe: string | undefined;
  if (s.persistenceEngine !== undefined) {
    if (!(PERSISTENCE_ENGINES as readonly string[]).includes(s.persistenceEngine)) {
      throw new ValidationError('persistenceEngine', s.persistenceEngine, `unknown persistence engine; one of ${PERSISTENCE_ENGINES.join(', ')}`);
    }
    pe = s.persistenceEngine;
  }
  return { ...key, scheduler: scheduler as string, flags, timeout, netmask, pe };
}

export function netmaskText(af: number, netmask: number): string | number {
  return af === AF_INET6 ? netmask : formatIPv4Mask(netmask);
}

const FORWARDING: Readonly<Record<string, number>> = { masq: IP_VS_CONN_F_MASQ, route: IP_VS_CONN_F_DROUTE, tunnel: IP_VS_CONN_F_TUNNEL };
const TUNNEL_TYPES: Readonly<Record<string, number>> = { ipip: IP_VS_CONN_F_TUNNEL_TYPE_IPIP, gue: IP_VS_CONN_F_TUNNEL_TYPE_GUE, gre: IP_VS_CONN_F_TUNNEL_TYPE_GRE };
const CHECKSUMS: Readonly<Record<string, number>> = { nocsum: IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM, csum: IP_VS_TUNNEL_ENCAP_FLAG_CSUM, remcsum: IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM };

export function validateDestinationKey(service: WireServiceKey, dest: unknown): WireDestination {
  if (!isObject(dest)) throw new ValidationError('destination', dest, 'must be an object with an address');
  const d = dest as unknown as DestinationKey;
  const address = parseAddress('destination.address', d.address);
  const port = d.port === undefined ? service.port : integer('destination.port', d.port, 0, 65535);
  return {
    af: address.af, addr: address.bytes, port, fwd: IP_VS_CONN_F_DROUTE, weight: 1, upper: 0, lower: 0,
    tunType: undefined, tunPort: undefined, tunFlags: undefined, text: hostPort(address, port),
  };
}

export function validateDestinationSpec(service: WireServiceKey, dest: unknown): WireDestination {
  const w = validateDestinationKey(service, dest);
  const d = dest as DestinationSpec;
  const forwarding = d.forwarding ?? 'route';
  const fwd = FORWARDING[forwarding];
  if (fwd === undefined) throw new ValidationError('destination.forwarding', forwarding, "must be 'masq', 'route' or 'tunnel'");
  w.fwd = fwd;
  if (w.af !== service.af && forwarding !== 'tunnel') {
    throw new ValidationError('destination.address', d.address, 'a destination of another address family than its service needs tunnel forwarding');
  }
  if (d.weight !== undefined) w.weight = integer('destination.weight', d.weight, 0, MAX_WEIGHT);
  if (d.upperThreshold !== undefined) w.upper = integer('destination.upperThreshold', d.upperThreshold, 0, 0xffffffff);
  if (d.lowerThreshold !== undefined) w.lower = integer('destination.lowerThreshold', d.lowerThreshold, 0, 0xffffffff);
  // The kernel refuses lower > upper with ERANGE even when upper is 0 (no limit).
  if (w.lower > w.upper) {
    throw new ValidationError('destination.lowerThreshold', w.lower, `must not exceed the upper threshold ${w.upper}`);
  }
  if (d.tunnel !== undefined) {
    if (forwarding !== 'tunnel') throw new ValidationError('destination.tunnel', d.tunnel, "tunnel options need forwarding 'tunnel'");
    if (!isObject(d.tunnel)) throw new ValidationError('destination.tunnel', d.tunnel, 'must be { type, port?, checksum? }');
    const type = TUNNEL_TYPES[d.tunnel.type];
    if (type === undefined) throw new ValidationError('destination.tunnel.type', d.tunnel.type, "must be 'ipip', 'gue' or 'gre'");
    w.tunType = type;
    if (d.tunnel.type === 'gue') {
      if (d.tunnel.port === undefined) throw new ValidationError('destination.tunnel.port', undefined, 'a gue tunnel needs its UDP port');
      w.tunPort = integer('destination.tunnel.port', d.tunnel.port, 1, 65535);
    } else if (d.tunnel.port !== undefined) {
      throw new ValidationError('destination.tunnel.port', d.tunnel.port, 'only gue tunnels take a port');
    }
    const checksum = d.tunnel.checksum ?? 'nocsum';
    const flags = CHECKSUMS[checksum];
    if (flags === undefined) throw new ValidationError('destination.tunnel.checksum', checksum, "must be 'nocsum', 'csum' or 'remcsum'");
    if (checksum !== 'nocsum' && d.tunnel.type === 'ipip') {
      throw new ValidationError('destination.tunnel.checksum', checksum, 'checksum options apply to gue and gre tunnels only');
    }
    w.tunFlags = flags;
  }
  return w;
}

export interface WireTimeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}

export function validateTimeouts(t: unknown): WireTimeouts {
  if (!isObject(t)) throw new ValidationError('timeouts', t, 'must be { tcp?, tcpFin?, udp? }');
  const v = t as Partial<Timeouts>;
  // The kernel stores seconds * HZ in an int; ipvsadm accepts the same range.
  const max = Math.floor(2147483647 / 1000);
  return {
    tcp: v.tcp === undefined ? 0 : integer('timeouts.tcp', v.tcp, 0, max),
    tcpFin: v.tcpFin === undefined ? 0 : integer('timeouts.tcpFin', v.tcpFin, 0, max),
    udp: v.udp === undefined ? 0 : integer('timeouts.udp', v.udp, 0, max),
  };
}

export interface WireDaemon {
  state: number;
  ifname: string;
  syncId: number;
  syncMaxLen: number | undefined;
  group: ParsedAddress | undefined;
  port: number | undefined;
  ttl: number | undefined;
}

export function daemonStateNumber(state: unknown): number {
  if (state === 'master') return IP_VS_STATE_MASTER;
  if (state === 'backup') return IP_VS_STATE_BACKUP;
  throw new ValidationError('daemon.state', state, "must be 'master' or 'backup'");
}

export function validateDaemon(spec: unknown): WireDaemon {
  if (!isObject(spec)) throw new ValidationError('daemon', spec, 'must be { state, interface, ... }');
  const d = spec as unknown as DaemonSpec;
  const state = daemonStateNumber(d.state);
  if (typeof d.interface !== 'string' || d.interface.length === 0 || d.interface.length >= IP_VS_IFNAME_MAXLEN) {
    throw new ValidationError('daemon.interface', d.interface, `must be an interface name of 1..${IP_VS_IFNAME_MAXLEN - 1} characters`);
  }
  const group = d.mcastGroup === undefined ? undefined : parseAddress('daemon.mcastGroup', d.mcastGroup);
  return {
    state,
    ifname: d.interface,
    syncId: d.syncId === undefined ? 0 : integer('daemon.syncId', d.syncId, 0, 255),
    syncMaxLen: d.syncMaxLen === undefined ? undefined : integer('daemon.syncMaxLen', d.syncMaxLen, 1, 65535),
    group,
    port: d.mcastPort === undefined ? undefined : integer('daemon.mcastPort', d.mcastPort, 1, 65535),
    ttl: d.mcastTtl === undefined ? undefined : integer('daemon.mcastTtl', d.mcastTtl, 1, 255),
  };
}

export { AF_INET, AF_INET6 };
