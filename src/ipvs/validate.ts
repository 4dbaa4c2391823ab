// Validation and normalisation of every input before a byte is sent. Each function turns a public spec
// into the exact values the kernel will receive ("wire" values, defaults filled as ipvsadm 1.31 fills
// them), or throws a ValidationError naming the field and the value. A refused call therefore changes
// nothing. The rules mirrored here are those of net/netfilter/ipvs/ip_vs_ctl.c that depend only on the
// request itself (ranges, required pairings, address families); rules that depend on the host (is an
// address local or a subnet broadcast, is a module loaded, is a sync daemon running) stay with the
// kernel, whose refusals commands.ts turns into sentences.

import { afOfFamily, canonicalIPv4Value, formatIPv4Mask, ipv6MaskToPrefix, isMulticast, parseAddress, parseIPv4Mask, type ParsedAddress } from './address.js';
import {
  AF_INET,
  AF_INET6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL,
  IP_VS_CONN_F_TUNNEL_TYPE_GRE,
  IP_VS_CONN_F_TUNNEL_TYPE_GUE,
  IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
  IP_VS_IFNAME_MAXLEN,
  IP_VS_STATE_BACKUP,
  IP_VS_STATE_MASTER,
  IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_PERSISTENT,
  IP_VS_SVC_F_SCHED1,
  IP_VS_SVC_F_SCHED2,
  IP_VS_SVC_F_SCHED3,
  IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
  IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM,
  IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
} from './constants.js';
import { ValidationError } from './errors.js';
import { DAEMON_INPUT, DESTINATION_INPUT, onlyKnownFields, PERSISTENCE_INPUT, SERVICE_INPUT, TIMEOUTS_INPUT, TUNNEL_INPUT } from './fields.js';
import {
  PERSISTENCE_ENGINES,
  SCHEDULER_NAMES,
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
/** The name of each protocol number Linux balances; any other number stays a number. */
export const PROTOCOL_NAMES: Readonly<Record<number, Protocol>> = { [IPPROTO_TCP]: 'tcp', [IPPROTO_UDP]: 'udp', [IPPROTO_SCTP]: 'sctp' };

/**
 * Why a service of another protocol is not added. Linux's generic netlink path takes any protocol number
 * (only the old sockopt path checks), and would keep such a service, but it balances TCP, UDP and SCTP only.
 */
export const FOREIGN_PROTOCOL_REASON =
  'Linux would create a service of this protocol but balance nothing (it balances TCP, UDP and SCTP only); ' +
  'protocol numbers exist to read and remove services other tools made';

/** ipvsadm's default persistence timeout (seconds). */
export const DEFAULT_PERSISTENCE_TIMEOUT = 300;
/** The largest persistence or connection timeout ipvsadm accepts (31 days, in seconds). */
export const MAX_PERSISTENCE_TIMEOUT = 31 * 24 * 3600;
export const MAX_TIMEOUT = MAX_PERSISTENCE_TIMEOUT;
/** INT_MAX: the kernel keeps weights in an atomic_t and refuses negative ones with ERANGE. */
export const MAX_WEIGHT = 2147483647;
/**
 * The kernel's u32. ipvsadm takes at most INT_MAX (its parser, kept by the CLI), but Linux keeps any u32 another
 * tool sends and reports it back, and a read-back destination must be valid input; above INT_MAX no connection
 * count reaches it, so it means no limit in practice.
 */
export const MAX_THRESHOLD = 4294967295;
export const DEFAULT_WEIGHT = 1;
export const DEFAULT_SCHEDULER = 'wlc';

/** A service key as the kernel receives it. */
export interface WireServiceKey {
  af: number;
  protocol: number;
  /** The IPv4 address as a 32-bit value (0 for IPv6 and fwmark services). */
  v4: number;
  /** The IPv6 address (16 bytes); undefined for IPv4 and fwmark services. Held like a destination's, so that
   * canonical IPv4 text (nearly every service of a big table) needs no byte buffer. */
  v6: Uint8Array | undefined;
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
  /** Persistence timeout in seconds (0 when not persistent). */
  timeout: number;
  /** IPv4: the mask's 32-bit value; IPv6: the prefix length. */
  netmask: number;
  pe: string | undefined;
}

/**
 * A destination as the kernel receives it. A class holding the address as a number (IPv4) or 16 bytes
 * (IPv6) and its text, with `text` made on demand: a restore keeps tens of thousands of these until their
 * window is sent, and a Buffer view plus a string each was half of that memory.
 */
export class WireDestination {
  af: number;
  /** The IPv4 address as a 32-bit value (0 for IPv6). */
  v4: number;
  /** The IPv6 address (16 bytes); undefined for IPv4. */
  v6: Uint8Array | undefined;
  /** The address's normalised text. */
  address: string;
  port: number;
  fwd: number = IP_VS_CONN_F_DROUTE;
  weight: number = DEFAULT_WEIGHT;
  upper = 0;
  lower = 0;
  tunType: number | undefined = undefined;
  tunPort: number | undefined = undefined;
  tunFlags: number | undefined = undefined;

  constructor(af: number, v4: number, v6: Uint8Array | undefined, address: string, port: number) {
    this.af = af;
    this.v4 = v4;
    this.v6 = v6;
    this.address = address;
    this.port = port;
  }

  /** Make this the destination at the given address, every option at its default (a scratch object reused). */
  reset(af: number, v4: number, v6: Uint8Array | undefined, address: string, port: number): this {
    this.af = af;
    this.v4 = v4;
    this.v6 = v6;
    this.address = address;
    this.port = port;
    this.fwd = IP_VS_CONN_F_DROUTE;
    this.weight = DEFAULT_WEIGHT;
    this.upper = 0;
    this.lower = 0;
    this.tunType = undefined;
    this.tunPort = undefined;
    this.tunFlags = undefined;
    return this;
  }

  /** How errors name the destination, e.g. '192.168.1.116:80' or '[2001:db8::1]:80'. */
  get text(): string {
    return destinationKeyText(this.address, this.port, this.af === AF_INET6);
  }
}

/** How a destination is named within its service ('192.168.1.116:80', '[2001:db8::1]:80') from its normalised address text. */
export function destinationKeyText(address: string, port: number, v6: boolean): string {
  return v6 ? `[${address}]:${port}` : `${address}:${port}`;
}

// An array is no options object: `persistence: []` (or `[600]`) would otherwise pass as `true`, and `tunnel: []` as a tunnel.
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, value, `must be an integer ${min}..${max}`);
  }
  return value;
}

/**
 * A service key: `{ protocol, address, port }` or `{ fwmark, family? }`. A Service object read back
 * from the kernel is a valid key too (its other fields are ignored).
 */
export function validateServiceKey(key: unknown): WireServiceKey {
  if (!isObject(key)) throw new ValidationError('service', key, 'must be an object with protocol/address/port or fwmark');
  if (key.fwmark !== undefined) {
    const fwmark = integer('fwmark', key.fwmark, 1, 0xffffffff);
    const family = key.family === undefined ? 'ipv4' : key.family;
    if (family !== 'ipv4' && family !== 'ipv6') throw new ValidationError('family', family, "must be 'ipv4' or 'ipv6'");
    if (key.protocol !== undefined || key.address !== undefined || key.port !== undefined) {
      throw new ValidationError('fwmark', key.fwmark, 'give either fwmark or protocol/address/port, not both');
    }
    const k: ServiceKey = { fwmark, family };
    return { af: afOfFamily(family), protocol: 0, v4: 0, v6: undefined, port: 0, fwmark, text: serviceKeyText(k, family === 'ipv6'), key: k };
  }
  const protocol = keyProtocol(key.protocol);
  const v4 = typeof key.address === 'string' ? canonicalIPv4Value(key.address) : undefined;
  const address = v4 === undefined ? parseAddress('address', key.address) : undefined;
  const port = integer('port', key.port, 0, 65535);
  const family = address === undefined ? 'ipv4' : address.family;
  const text = address === undefined ? (key.address as string) : address.text;
  if (key.family !== undefined && key.family !== family) {
    throw new ValidationError('family', key.family, `does not match the address ${text}`);
  }
  const k: ServiceKey = { protocol, address: text, port };
  const af = family === 'ipv6' ? AF_INET6 : AF_INET;
  return {
    af, protocol: typeof protocol === 'number' ? protocol : PROTOCOL_NUMBERS[protocol],
    v4: v4 ?? (af === AF_INET ? address!.bytes.readUInt32BE(0) : 0),
    v6: af === AF_INET6 ? address!.bytes : undefined,
    port, fwmark: 0,
    text: serviceKeyText(k, af === AF_INET6),
    key: k,
  };
}

/**
 * A key's protocol: a name, or a protocol number (6, 17 and 132 become their names). IP protocols are 0..255,
 * but the kernel keeps a service's protocol in 16 bits and takes any value over generic netlink (Linux 6.1
 * kept 300 and 65535), so every number it can report names its service here.
 */
function keyProtocol(value: unknown): Protocol | number {
  if (value === 'tcp' || value === 'udp' || value === 'sctp') return value;
  if (typeof value !== 'number') throw new ValidationError('protocol', value, "must be 'tcp', 'udp' or 'sctp' (or give a fwmark)");
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new ValidationError('protocol', value, 'a protocol number must be an integer 0..65535 (IP protocols are 0..255)');
  }
  return PROTOCOL_NAMES[value] ?? value;
}

/**
 * How a service is named ('tcp 10.0.0.1:80', 'tcp [2001:db8::1]:80', 'proto 47 10.0.0.1:80', 'fwmark 10',
 * 'fwmark 10 (IPv6)') from a key already valid and normalised, such as one the kernel reported: the name
 * validateServiceKey gives it.
 */
export function serviceKeyText(key: ServiceKey, v6: boolean): string {
  if ('fwmark' in key) return v6 ? `fwmark ${key.fwmark} (IPv6)` : `fwmark ${key.fwmark}`;
  const protocol = typeof key.protocol === 'number' ? `proto ${key.protocol}` : key.protocol;
  return v6 ? `${protocol} [${key.address}]:${key.port}` : `${protocol} ${key.address}:${key.port}`;
}

/** The flag bit each service flag name stands for (the scheduler-specific names share the generic bits). */
export const FLAG_BITS: Readonly<Record<ServiceFlag, number>> = {
  'one-packet': IP_VS_SVC_F_ONEPACKET,
  'sh-fallback': IP_VS_SVC_F_SCHED1,
  'sh-port': IP_VS_SVC_F_SCHED2,
  'mh-fallback': IP_VS_SVC_F_SCHED1,
  'mh-port': IP_VS_SVC_F_SCHED2,
  'flag-1': IP_VS_SVC_F_SCHED1,
  'flag-2': IP_VS_SVC_F_SCHED2,
  'flag-3': IP_VS_SVC_F_SCHED3,
};

function persistenceNetmask(af: number, value: unknown): number {
  if (af === AF_INET) return parseIPv4Mask('persistence.netmask', value);
  if (typeof value === 'string') {
    // An IPv6 mask may be written as an address (ffff:ffff:ffff:ffff::) or as '/64' / '64'.
    const digits = /^\/?(\d{1,3})$/.exec(value);
    if (digits) return integer('persistence.netmask', Number(digits[1]), 1, 128);
    let prefix: number | undefined;
    try {
      const mask = parseAddress('persistence.netmask', value);
      prefix = mask.family === 'ipv6' ? ipv6MaskToPrefix(mask.bytes) : undefined;
    } catch {
      prefix = undefined;
    }
    if (prefix === undefined || prefix < 1) {
      throw new ValidationError('persistence.netmask', value, 'an IPv6 netmask is a prefix length 1..128 (or a contiguous mask)');
    }
    return prefix;
  }
  return integer('persistence.netmask', value, 1, 128);
}

/**
 * A full service: key, scheduler (default wlc), persistence, flags and persistence engine. Fields other
 * than a spec's (or a Service read back's) are refused.
 */
export function validateServiceSpec(spec: unknown): WireService {
  if (isObject(spec)) {
    onlyKnownFields(spec, SERVICE_INPUT, '');
    if (isObject(spec.persistence)) onlyKnownFields(spec.persistence, PERSISTENCE_INPUT, 'persistence');
  }
  return validateServiceValues(spec);
}

/** validateServiceSpec without the check of the field names: for a caller that made it already (reconcile's checkShape). */
export function validateServiceValues(spec: unknown): WireService {
  const key = validateServiceKey(spec);
  const s = spec as ServiceSpec & Record<string, unknown>;
  const scheduler = s.scheduler === undefined ? DEFAULT_SCHEDULER : s.scheduler;
  if (!(SCHEDULER_NAMES as readonly unknown[]).includes(scheduler)) {
    throw new ValidationError('scheduler', scheduler, `unknown scheduler; one of ${SCHEDULER_NAMES.join(', ')}`);
  }
  let flags = 0;
  let timeout = 0;
  let netmask = key.af === AF_INET6 ? 128 : 0xffffffff;
  const p = s.persistence;
  if (p !== undefined && p !== false) {
    if (p !== true && !isObject(p)) throw new ValidationError('persistence', p, 'must be true, false or { timeout?, netmask? }');
    flags |= IP_VS_SVC_F_PERSISTENT;
    const opts: Record<string, unknown> = p === true ? {} : p;
    timeout = opts.timeout === undefined ? DEFAULT_PERSISTENCE_TIMEOUT : integer('persistence.timeout', opts.timeout, 1, MAX_PERSISTENCE_TIMEOUT);
    if (opts.netmask !== undefined) netmask = persistenceNetmask(key.af, opts.netmask);
  }
  // Port 0 is the "all ports" service, which only persistence makes work: Linux keeps a non-persistent one, finds it
  // for every port of the address that has no service of its own, schedules nothing through it (ip_vs_schedule) and
  // refuses each such connection (ICMP port unreachable, "port zero only supported in persistent services" logged).
  // ipvsadm refuses it (-A, -E) and cannot restore its save line; another tool's, read back, is read and deleted as usual.
  if ('address' in key.key && key.port === 0 && (flags & IP_VS_SVC_F_PERSISTENT) === 0 && PROTOCOL_NAMES[key.protocol] !== undefined) {
    throw new ValidationError('port', 0, `a service on port 0 (all ports) must be persistent: Linux would refuse every connection to ${key.key.address} on a port without a service of its own, and ipvsadm refuses it ("Zero port specified for non-persistent service")`);
  }
  if (s.flags !== undefined) {
    if (!Array.isArray(s.flags)) throw new ValidationError('flags', s.flags, 'must be an array');
    for (const f of s.flags as unknown[]) {
      const bit = typeof f === 'string' && Object.hasOwn(FLAG_BITS, f) ? FLAG_BITS[f as ServiceFlag] : undefined;
      if (bit === undefined) throw new ValidationError('flags', f, `unknown flag; one of ${Object.keys(FLAG_BITS).join(', ')}`);
      // A scheduler's name for a flag bit (sh-port, mh-port) is refused elsewhere, so that it never silently
      // means nothing, or something else; the generic flag-1..flag-3 pass the bit to any scheduler, as ipvsadm does.
      if ((f === 'sh-fallback' || f === 'sh-port') && scheduler !== 'sh') throw new ValidationError('flags', f, `only applies to the sh scheduler, not ${String(scheduler)}`);
      if ((f === 'mh-fallback' || f === 'mh-port') && scheduler !== 'mh') throw new ValidationError('flags', f, `only applies to the mh scheduler, not ${String(scheduler)}`);
      // Linux schedules single packets for UDP only: on a TCP or SCTP service the flag does nothing, and ipvsadm,
      // which refuses -o there, could not restore the `-o` its save (and formatRules) would print for it.
      if (f === 'one-packet' && key.fwmark === 0 && key.protocol !== IPPROTO_UDP) {
        throw new ValidationError('flags', f, `one-packet scheduling applies to UDP and firewall-mark services only, not to service ${key.text} (Linux ignores it there, and ipvsadm refuses -o for it)`);
      }
      flags |= bit;
    }
  }
  let pe: string | undefined;
  if (s.persistenceEngine !== undefined) {
    if (!(PERSISTENCE_ENGINES as readonly unknown[]).includes(s.persistenceEngine)) {
      throw new ValidationError('persistenceEngine', s.persistenceEngine, `unknown persistence engine; one of ${PERSISTENCE_ENGINES.join(', ')}`);
    }
    pe = s.persistenceEngine;
  }
  // Fields listed rather than spread from `key`: spreading into a literal with more fields made V8 build
  // each result property by property, several times slower for a bulk restore's thousands of services.
  return {
    af: key.af, protocol: key.protocol, v4: key.v4, v6: key.v6, port: key.port, fwmark: key.fwmark, text: key.text, key: key.key,
    scheduler: scheduler as string, flags, timeout, netmask, pe,
  };
}

/**
 * validateServiceSpec for a service to add: a protocol number other than 6, 17 and 132 is refused (a key
 * may name one, to read, update or delete a service another tool made; see FOREIGN_PROTOCOL_REASON).
 */
export function validateNewServiceSpec(spec: unknown): WireService {
  const w = validateServiceSpec(spec);
  if (w.fwmark === 0 && PROTOCOL_NAMES[w.protocol] === undefined) throw new ValidationError('protocol', w.protocol, FOREIGN_PROTOCOL_REASON);
  return w;
}

/** A wire netmask as the public Persistence shows it: dotted for IPv4, the prefix length for IPv6. */
export function netmaskText(af: number, netmask: number): string | number {
  return af === AF_INET6 ? netmask : formatIPv4Mask(netmask);
}

const FORWARDING: Readonly<Record<string, number>> = { masq: IP_VS_CONN_F_MASQ, route: IP_VS_CONN_F_DROUTE, tunnel: IP_VS_CONN_F_TUNNEL };
const TUNNEL_TYPES: Readonly<Record<string, number>> = { ipip: IP_VS_CONN_F_TUNNEL_TYPE_IPIP, gue: IP_VS_CONN_F_TUNNEL_TYPE_GUE, gre: IP_VS_CONN_F_TUNNEL_TYPE_GRE };
const CHECKSUMS: Readonly<Record<string, number>> = { nocsum: IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM, csum: IP_VS_TUNNEL_ENCAP_FLAG_CSUM, remcsum: IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM };

const lookup = (table: Readonly<Record<string, number>>, key: unknown): number | undefined =>
  typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;

/** The address and port naming a destination of `service` (port default: the service's port). */
export function validateDestinationKey(service: WireServiceKey, dest: unknown, into?: WireDestination): WireDestination {
  if (!isObject(dest)) throw new ValidationError('destination', dest, 'must be an object with an address');
  const d = dest as unknown as DestinationKey;
  const port = d.port === undefined ? service.port : integer('destination.port', d.port, 0, 65535);
  // Canonical IPv4 text (what ipvsadm -S writes) needs neither the general parse nor a byte buffer.
  const v4 = typeof d.address === 'string' ? canonicalIPv4Value(d.address) : undefined;
  if (v4 !== undefined) return into ? into.reset(AF_INET, v4, undefined, d.address, port) : new WireDestination(AF_INET, v4, undefined, d.address, port);
  const address = parseAddress('destination.address', d.address);
  const af = address.af;
  const value = af === AF_INET ? address.bytes.readUInt32BE(0) : 0;
  const bytes = af === AF_INET ? undefined : address.bytes;
  return into ? into.reset(af, value, bytes, address.text, port) : new WireDestination(af, value, bytes, address.text, port);
}

/**
 * Whether Linux could take this address for a new or changed destination on any host: ip_vs_new_dest refuses
 * what inet_addr_type() calls broadcast or multicast everywhere (0.0.0.0, 255.255.255.255, 224.0.0.0/4) and
 * IPv6 addresses that are not unicast and not local (::, ff00::/8: neither ever routes to loopback). A
 * subnet's broadcast, or a link-local address that is not local, depends on the host: left to the kernel.
 * Only adds and updates are checked; a key to delete is left as it is.
 */
function mayBeDestination(w: WireDestination): boolean {
  if (w.v6 === undefined) return w.v4 !== 0 && w.v4 !== 0xffffffff && w.v4 >>> 28 !== 0xe;
  if (w.v6[0] === 0xff) return false;
  return w.v6.some((b) => b !== 0);
}

/**
 * A full destination of `service`: forwarding (default route), weight (default 1), thresholds, tunnel.
 * Fields other than a spec's (or a Destination read back's) are refused.
 */
export function validateDestinationSpec(service: WireServiceKey, dest: unknown): WireDestination {
  if (isObject(dest)) {
    onlyKnownFields(dest, DESTINATION_INPUT, 'destination');
    if (isObject(dest.tunnel)) onlyKnownFields(dest.tunnel, TUNNEL_INPUT, 'destination.tunnel');
  }
  return validateDestinationValues(service, dest);
}

/**
 * validateDestinationSpec without the check of the field names, for a caller that made it already
 * (reconcile's checkShape). `into`: a WireDestination to overwrite instead of a new one, for a caller that
 * only reads the result (the reconcile's normal forms: one fewer object for each of tens of thousands of
 * destinations).
 */
export function validateDestinationValues(service: WireServiceKey, dest: unknown, into?: WireDestination): WireDestination {
  const w = validateDestinationKey(service, dest, into);
  const d = dest as DestinationSpec & Record<string, unknown>;
  const forwarding = d.forwarding === undefined ? 'route' : d.forwarding;
  const fwd = lookup(FORWARDING, forwarding);
  if (fwd === undefined) {
    // A number is what a destination read back holds for a method Linux keeps but has no name for.
    const reason = typeof forwarding === 'number'
      ? "a forwarding method without a name (another tool's, which Linux keeps but has no transmitter for) cannot be sent; give 'masq', 'route' or 'tunnel'"
      : "must be 'masq', 'route' or 'tunnel'";
    throw new ValidationError('destination.forwarding', forwarding, reason);
  }
  w.fwd = fwd;
  // ip_vs_genl_set_cmd: only tunnelling can carry packets to a server of the other family.
  if (w.af !== service.af && forwarding !== 'tunnel') {
    throw new ValidationError('destination.address', d.address, `a destination of another address family than its service (${service.text}) needs forwarding 'tunnel'`);
  }
  if (d.weight !== undefined) w.weight = integer('destination.weight', d.weight, 0, MAX_WEIGHT);
  if (d.upperThreshold !== undefined) w.upper = integer('destination.upperThreshold', d.upperThreshold, 0, MAX_THRESHOLD);
  if (d.lowerThreshold !== undefined) w.lower = integer('destination.lowerThreshold', d.lowerThreshold, 0, MAX_THRESHOLD);
  // The kernel refuses lower > upper with ERANGE, even when upper is 0 (no limit).
  if (w.lower > w.upper) {
    throw new ValidationError('destination.lowerThreshold', w.lower, `must not exceed the upper threshold (${w.upper})`);
  }
  if (d.tunnel !== undefined) {
    if (forwarding !== 'tunnel') throw new ValidationError('destination.tunnel', d.tunnel, "tunnel options need forwarding 'tunnel'");
    if (!isObject(d.tunnel)) throw new ValidationError('destination.tunnel', d.tunnel, 'must be { type, port?, checksum? }');
    const t = d.tunnel as Record<string, unknown>;
    const type = lookup(TUNNEL_TYPES, t.type);
    if (type === undefined) {
      // A number is what a tunnel read back holds for a type past gre (another tool's; Linux encapsulates it as ipip).
      const reason = typeof t.type === 'number'
        ? "a tunnel type without a name (another tool's, which Linux keeps and encapsulates as ipip) cannot be sent; give 'ipip', 'gue' or 'gre'"
        : "must be 'ipip', 'gue' or 'gre'";
      throw new ValidationError('destination.tunnel.type', t.type, reason);
    }
    w.tunType = type;
    if (t.type === 'gue') {
      // ip_vs_add_dest/ip_vs_edit_dest refuse a gue tunnel without a port (EINVAL).
      if (t.port === undefined) throw new ValidationError('destination.tunnel.port', undefined, 'a gue tunnel needs the UDP port of its receiver (1..65535)');
      w.tunPort = integer('destination.tunnel.port', t.port, 1, 65535);
    } else if (t.port !== undefined && t.port !== 0) {
      // 0 is what the kernel reports for every ipip or gre tunnel, so a destination read back is accepted as input.
      throw new ValidationError('destination.tunnel.port', t.port, 'only gue tunnels take a port (0 stands for none)');
    }
    const checksum = t.checksum === undefined ? 'nocsum' : t.checksum;
    const flags = lookup(CHECKSUMS, checksum);
    if (flags === undefined) throw new ValidationError('destination.tunnel.checksum', checksum, "must be 'nocsum', 'csum' or 'remcsum'");
    if (checksum !== 'nocsum' && t.type === 'ipip') {
      throw new ValidationError('destination.tunnel.checksum', checksum, 'checksum options apply to gue and gre tunnels only');
    }
    // Linux's GRE encapsulation looks only at the csum flag: a gre tunnel with remcsum would carry no checksum at all.
    if (checksum === 'remcsum' && t.type === 'gre') {
      throw new ValidationError('destination.tunnel.checksum', checksum, "remcsum applies to gue tunnels only; a gre tunnel takes 'nocsum' or 'csum'");
    }
    w.tunFlags = flags;
  }
  // Last, as in ip_vs_add_dest: the weight, threshold and tunnel checks come first there, the address's type only
  // when the destination is made (ERANGE, not EINVAL, for a multicast address with the lower threshold too high).
  if (!mayBeDestination(w)) {
    throw new ValidationError('destination.address', d.address, 'must be a unicast address (not 0.0.0.0, 255.255.255.255, multicast 224.0.0.0/4, :: or ff00::/8)');
  }
  return w;
}

export interface WireTimeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}

/**
 * Connection timeouts in seconds; a missing field is sent as 0, which the kernel reads as "unchanged".
 * The bound is ipvsadm's (31 days); a kernel with HZ=1000 accepts at most INT_MAX/HZ = 2 147 483 s and
 * answers EINVAL above that, which commands.ts words as such.
 */
export function validateTimeouts(t: unknown): WireTimeouts {
  if (!isObject(t)) throw new ValidationError('timeouts', t, 'must be { tcp?, tcpFin?, udp? }');
  onlyKnownFields(t, TIMEOUTS_INPUT, 'timeouts');
  const v = t as Partial<Timeouts>;
  return {
    tcp: v.tcp === undefined ? 0 : integer('timeouts.tcp', v.tcp, 0, MAX_TIMEOUT),
    tcpFin: v.tcpFin === undefined ? 0 : integer('timeouts.tcpFin', v.tcpFin, 0, MAX_TIMEOUT),
    udp: v.udp === undefined ? 0 : integer('timeouts.udp', v.udp, 0, MAX_TIMEOUT),
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

export function daemonStateNumber(state: unknown, field = 'daemon.state'): number {
  if (state === 'master') return IP_VS_STATE_MASTER;
  if (state === 'backup') return IP_VS_STATE_BACKUP;
  throw new ValidationError(field, state, "must be 'master' or 'backup'");
}

/** A sync daemon to start. Unset optional fields are left out, so the kernel applies its defaults. */
export function validateDaemon(spec: unknown): WireDaemon {
  if (!isObject(spec)) throw new ValidationError('daemon', spec, 'must be { state, interface, ... }');
  onlyKnownFields(spec, DAEMON_INPUT, 'daemon');
  const d = spec as unknown as DaemonSpec;
  const state = daemonStateNumber(d.state);
  const ifname = d.interface as unknown;
  // IFNAMSIZ is 16 bytes with the terminating NUL.
  if (typeof ifname === 'string' && ifname.includes('\0')) {
    throw new ValidationError('daemon.interface', ifname, 'must not contain a NUL character (the kernel would read the name only up to it)');
  }
  if (typeof ifname !== 'string' || ifname.length === 0 || Buffer.byteLength(ifname) >= IP_VS_IFNAME_MAXLEN) {
    throw new ValidationError('daemon.interface', ifname, `must be an interface name of 1..${IP_VS_IFNAME_MAXLEN - 1} bytes`);
  }
  let group: ParsedAddress | undefined;
  if (d.mcastGroup !== undefined) {
    group = parseAddress('daemon.mcastGroup', d.mcastGroup);
    // ip_vs_genl_new_daemon refuses a group that is not multicast (EINVAL).
    if (!isMulticast(group)) throw new ValidationError('daemon.mcastGroup', d.mcastGroup, 'must be a multicast address (224.0.0.0/4 or ff00::/8)');
  }
  return {
    state,
    ifname,
    syncId: d.syncId === undefined ? 0 : integer('daemon.syncId', d.syncId, 0, 255),
    syncMaxLen: d.syncMaxLen === undefined ? undefined : integer('daemon.syncMaxLen', d.syncMaxLen, 1, 65535),
    group,
    port: d.mcastPort === undefined ? undefined : integer('daemon.mcastPort', d.mcastPort, 1, 65535),
    ttl: d.mcastTtl === undefined ? undefined : integer('daemon.mcastTtl', d.mcastTtl, 1, 255),
  };
}

export { AF_INET, AF_INET6 };
