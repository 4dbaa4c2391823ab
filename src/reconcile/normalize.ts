// Normalised forms of services and destinations, so that a desired state written loosely ("10.0.0.1",
// no scheduler, weight left out) compares equal to what the kernel reports for it (defaults filled as
// the client fills them: scheduler wlc, persistence timeout 300 s and a host netmask, forwarding route,
// weight 1, thresholds 0, tunnel ipip/nocsum). The desired side goes through the client's own
// validators, so "equal" here means "the kernel would receive exactly these values". Each form carries
// an id (the service's or destination's kernel identity as text) and a complete, canonical spec to send.

import { ipv4MaskValue, parseIPv4Mask } from '../ipvs/address.js';
import { keyOfService } from '../ipvs/service.js';
import {
  AF_INET,
  AF_INET6,
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL,
  IP_VS_CONN_F_TUNNEL_TYPE_GUE,
  IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
  IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_PERSISTENT,
  IP_VS_SVC_F_SCHED1,
  IP_VS_SVC_F_SCHED2,
  IP_VS_SVC_F_SCHED3,
  IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
  IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
} from '../ipvs/constants.js';
import { ValidationError } from '../ipvs/errors.js';
import { flagNames } from '../ipvs/service.js';
import type {
  Destination,
  DestinationKey,
  DestinationSpec,
  Forwarding,
  PersistenceEngine,
  Scheduler,
  Service,
  ServiceKey,
  ServiceSpec,
  TunnelChecksum,
  TunnelSpec,
  TunnelType,
} from '../ipvs/types.js';
import {
  DEFAULT_WEIGHT,
  destinationKeyText,
  netmaskText,
  serviceKeyText,
  validateDestinationValues,
  validateServiceKey,
  WireDestination,
  type WireService,
  type WireServiceKey,
} from '../ipvs/validate.js';

/** The flag bits that describe a service's options (HASHED and other kernel-internal bits are ignored). */
const OPTION_FLAGS = IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_ONEPACKET | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3;

export interface NormalService {
  /** The kernel identity as text: 'tcp 10.0.0.1:80', 'tcp [2001:db8::1]:80', 'fwmark 10', 'fwmark 10 (IPv6)'. */
  id: string;
  key: ServiceKey;
  /** AF_INET or AF_INET6 (what a netmask means). The wire key itself is not kept: its address buffer and
   * wire object cost more than the rest of the form, for every service of a big state. */
  af: number;
  scheduler: string;
  /** PERSISTENT, ONEPACKET and SCHED1..3 bits. */
  flags: number;
  /** Persistence timeout in seconds; 0 when not persistent. */
  timeout: number;
  /** IPv4: the mask's 32-bit value; IPv6: the prefix length. Only compared when persistent. */
  netmask: number;
  /** Persistence engine name, '' for none. */
  pe: string;
}

/**
 * A destination in normal form. A class with its identity text and key made when asked: a big state has tens of
 * thousands of destinations and a plan names few of them, so keeping a string and a key object for each
 * (plus a map entry per id) tripled what the normal forms held.
 */
export class NormalDestination {
  constructor(
    /** The address's normalised text (IPv6 without brackets). */
    readonly address: string,
    readonly port: number,
    readonly v6: boolean,
    /** IP_VS_CONN_F_MASQ / DROUTE / TUNNEL, or what the kernel reported (LOCALNODE, BYPASS). */
    readonly fwd: number,
    readonly weight: number,
    readonly upper: number,
    readonly lower: number,
    /** Tunnel fields, meaningful only for tunnel forwarding (zero otherwise). */
    readonly tunType: number,
    readonly tunPort: number,
    readonly tunFlags: number,
  ) {}

  /** The destination's identity within its service as text: '192.168.1.2:80', '[2001:db8::2]:80'. */
  get id(): string {
    return destinationKeyText(this.address, this.port, this.v6);
  }

  get key(): DestinationKey {
    return { address: this.address, port: this.port };
  }
}

const FWD_OF: Readonly<Record<Forwarding, number>> = { masq: IP_VS_CONN_F_MASQ, route: IP_VS_CONN_F_DROUTE, tunnel: IP_VS_CONN_F_TUNNEL, local: 1, bypass: 4 };
const FWD_NAME: Readonly<Record<number, Forwarding>> = { 0: 'masq', 1: 'local', 2: 'tunnel', 3: 'route', 4: 'bypass' };
const TUN_TYPE_OF: Readonly<Record<TunnelType, number>> = { ipip: 0, gue: 1, gre: 2 };
const TUN_TYPE_NAME: readonly TunnelType[] = ['ipip', 'gue', 'gre'];
const CHECKSUM_OF: Readonly<Record<TunnelChecksum, number>> = { nocsum: 0, csum: IP_VS_TUNNEL_ENCAP_FLAG_CSUM, remcsum: IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM };

function checksumName(flags: number): TunnelChecksum {
  if (flags & IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM) return 'remcsum';
  if (flags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM) return 'csum';
  return 'nocsum';
}

/**
 * Re-throw a ValidationError with the path of the element in the desired state prefixed (given as a
 * function, it is made only then); `drop` is a prefix of the validator's field name that the path
 * already says (e.g. 'destination.').
 */
export function atPath<T>(path: string | (() => string), fn: () => T, drop = ''): T {
  try {
    return fn();
  } catch (err) {
    throw atPathError(err, typeof path === 'string' ? path : path(), drop);
  }
}

/** What atPath throws for `err`: a ValidationError with `path` prefixed to its field; anything else as it is. */
export function atPathError(err: unknown, path: string, drop = ''): unknown {
  if (!(err instanceof ValidationError)) return err;
  const why = err.reason;
  const field = drop !== '' && err.field.startsWith(drop) ? err.field.slice(drop.length) : err.field;
  return new ValidationError(`${path}.${field}`, err.value, why);
}

/** The kernel identity of a service key, as text. */
export function serviceIdOf(key: ServiceKey): string {
  return validateServiceKey(key).text;
}

export { keyOfService };

/** The normal form of a desired service, from its wire form (validateServiceSpec: exactly as the client validates it before sending). */
export function normalServiceOf(w: WireService): NormalService {
  const persistent = (w.flags & IP_VS_SVC_F_PERSISTENT) !== 0;
  return {
    id: w.text,
    key: w.key,
    af: w.af,
    scheduler: w.scheduler,
    flags: w.flags & OPTION_FLAGS,
    timeout: persistent ? w.timeout : 0,
    netmask: persistent ? w.netmask : 0,
    pe: w.pe ?? '',
  };
}

/** A service as the kernel reported it, in the same form. */
export function normalKernelService(svc: Service): NormalService {
  // The kernel's key is valid and its address text already normal: named as validateServiceKey would name it,
  // without parsing the address again (a plan reads every service of the table).
  const key = keyOfService(svc);
  const af = svc.family === 'ipv6' ? AF_INET6 : AF_INET;
  const flags = (svc.rawFlags & OPTION_FLAGS) | (svc.persistence ? IP_VS_SVC_F_PERSISTENT : 0);
  const persistent = (flags & IP_VS_SVC_F_PERSISTENT) !== 0;
  let netmask = 0;
  if (persistent) {
    const m = svc.persistence?.netmask;
    if (af === AF_INET6) netmask = typeof m === 'number' ? m : Number(m ?? 128);
    // The kernel's own text, taken as it is: a non-contiguous mask someone set must not stop every plan.
    else netmask = m === undefined ? 0xffffffff : typeof m === 'string' ? ipv4MaskValue(m) : parseIPv4Mask('netmask', m);
  }
  return {
    id: serviceKeyText(key, af === AF_INET6),
    key,
    af,
    scheduler: svc.scheduler,
    flags,
    timeout: persistent ? (svc.persistence?.timeout ?? 0) : 0,
    netmask,
    pe: svc.persistenceEngine ?? '',
  };
}

/** The fields that differ between a kernel service and a desired one, as "field old -> new" texts. */
export function serviceDifferences(have: NormalService, want: NormalService): string[] {
  const out: string[] = [];
  if (have.scheduler !== want.scheduler) out.push(`scheduler ${have.scheduler} -> ${want.scheduler}`);
  const hp = (have.flags & IP_VS_SVC_F_PERSISTENT) !== 0;
  const wp = (want.flags & IP_VS_SVC_F_PERSISTENT) !== 0;
  if (hp !== wp) out.push(`persistence ${persistenceText(have)} -> ${persistenceText(want)}`);
  else if (hp) {
    if (have.timeout !== want.timeout) out.push(`persistence timeout ${have.timeout} -> ${want.timeout}`);
    if (have.netmask !== want.netmask) out.push(`netmask ${netmaskText(have.af, have.netmask)} -> ${netmaskText(want.af, want.netmask)}`);
  }
  const otherFlags = ~IP_VS_SVC_F_PERSISTENT;
  if ((have.flags & otherFlags) !== (want.flags & otherFlags)) out.push(`flags ${flagsText(have)} -> ${flagsText(want)}`);
  if (have.pe !== want.pe) out.push(`persistence engine ${have.pe || 'none'} -> ${want.pe || 'none'}`);
  return out;
}

function persistenceText(s: NormalService): string {
  if (!(s.flags & IP_VS_SVC_F_PERSISTENT)) return 'off';
  return `${s.timeout}s mask ${netmaskText(s.af, s.netmask)}`;
}

function flagsText(s: NormalService): string {
  const names: string[] = flagNames(s.flags, s.scheduler);
  return names.length === 0 ? 'none' : names.join(',');
}

/** A short description of a service's options for plan output, e.g. 'scheduler rr, persistent 300s'. */
export function serviceSummary(s: NormalService): string {
  const parts = [`scheduler ${s.scheduler}`];
  if (s.flags & IP_VS_SVC_F_PERSISTENT) parts.push(`persistent ${persistenceText(s)}`);
  if (s.flags & ~IP_VS_SVC_F_PERSISTENT) parts.push(`flags ${flagsText(s)}`);
  if (s.pe) parts.push(`pe ${s.pe}`);
  return parts.join(', ');
}

/** The complete, explicit spec that creates or replaces the service as normalised (what add/update-service send). */
export function serviceSpecOf(s: NormalService): ServiceSpec {
  const spec: ServiceSpec = { ...s.key, scheduler: s.scheduler as Scheduler };
  spec.persistence = s.flags & IP_VS_SVC_F_PERSISTENT ? { timeout: s.timeout, netmask: netmaskText(s.af, s.netmask) } : false;
  const flags = flagNames(s.flags, s.scheduler);
  if (flags.length > 0) spec.flags = flags;
  if (s.pe) spec.persistenceEngine = s.pe as PersistenceEngine;
  return spec;
}

/** Where normalDesiredDestination and checkDesiredDestination validate: nothing of it is kept. */
const scratch = new WireDestination(AF_INET, 0, undefined, '', 0);

/**
 * Validate a desired destination of `service` exactly as normalDesiredDestination does, without building its
 * normal form. Returns whether it is plain: its address written as the kernel reports it (its own normal
 * text) and not tunnelling, so that it can be compared with the kernel's as written (samePlainDestinations).
 */
export function checkDesiredDestination(service: WireServiceKey, spec: DestinationSpec): boolean {
  const w = validateDestinationValues(service, spec, scratch);
  return w.address === spec.address && w.fwd !== IP_VS_CONN_F_TUNNEL;
}

/** Whether two plain destinations of a service whose port is `servicePort` have the same address and port. */
export function samePlainKey(a: DestinationSpec, b: DestinationSpec, servicePort: number): boolean {
  return a.address === b.address && (a.port ?? servicePort) === (b.port ?? servicePort);
}

/**
 * Whether the kernel's destinations of a service (whose port is `servicePort`) are exactly `specs`, a list
 * of plain destinations (checkDesiredDestination true for each) with no two alike: compared as written,
 * with the defaults validateDestinationSpec fills (route, weight 1, no thresholds). The same answer as
 * comparing normal forms, without building them: most services of a big state are found equal, and the
 * 20 000 normal forms cost more than the rest of the plan. Values found equal are the kernel's own, so
 * they are valid whatever happened to `specs` since they were checked.
 */
export function samePlainDestinations(list: readonly Destination[], specs: readonly DestinationSpec[], servicePort: number): boolean {
  if (list.length !== specs.length) return false;
  for (let i = 0; i < list.length; i++) {
    const d = list[i]!;
    let s: DestinationSpec | undefined;
    for (let j = 0; j < specs.length; j++) {
      const c = specs[j]!;
      if (c.address === d.address && (c.port ?? servicePort) === d.port) {
        s = c;
        break;
      }
    }
    // The kernel never lists a destination twice, and no two specs are alike: equal counts and each found equal mean equal sets.
    if (
      s === undefined ||
      (s.forwarding ?? 'route') !== d.forwarding ||
      (s.weight ?? DEFAULT_WEIGHT) !== d.weight ||
      (s.upperThreshold ?? 0) !== d.upperThreshold ||
      (s.lowerThreshold ?? 0) !== d.lowerThreshold ||
      s.tunnel !== undefined
    ) {
      return false;
    }
  }
  return true;
}

/** A desired destination of `service`, validated exactly as the client would validate it. */
export function normalDesiredDestination(service: WireServiceKey, spec: DestinationSpec): NormalDestination {
  const w = validateDestinationValues(service, spec, scratch);
  const tunnel = w.fwd === IP_VS_CONN_F_TUNNEL;
  return new NormalDestination(
    w.address,
    w.port,
    w.af === AF_INET6,
    w.fwd,
    w.weight,
    w.upper,
    w.lower,
    tunnel ? (w.tunType ?? IP_VS_CONN_F_TUNNEL_TYPE_IPIP) : 0,
    tunnel && w.tunType === IP_VS_CONN_F_TUNNEL_TYPE_GUE ? (w.tunPort ?? 0) : 0,
    tunnel && (w.tunType ?? 0) !== IP_VS_CONN_F_TUNNEL_TYPE_IPIP ? (w.tunFlags ?? 0) : 0,
  );
}

/** The kernel's number of a forwarding method read back (a method without a name reads as its number). */
const fwdNumber = (f: Forwarding | number): number => (typeof f === 'number' ? f : FWD_OF[f]);

/** A destination as the kernel reported it, in the same form. */
export function normalKernelDestination(d: Destination): NormalDestination {
  const fwd = fwdNumber(d.forwarding);
  const tunnel = fwd === IP_VS_CONN_F_TUNNEL;
  const t = d.tunnel;
  const tunType = tunnel && t ? (typeof t.type === 'number' ? t.type : TUN_TYPE_OF[t.type]) : 0;
  return new NormalDestination(
    d.address,
    d.port,
    d.family === 'ipv6',
    fwd,
    d.weight,
    d.upperThreshold,
    d.lowerThreshold,
    tunType,
    tunnel && tunType === IP_VS_CONN_F_TUNNEL_TYPE_GUE ? (t?.port ?? 0) : 0,
    tunnel && tunType !== IP_VS_CONN_F_TUNNEL_TYPE_IPIP && t ? CHECKSUM_OF[t.checksum] : 0,
  );
}

function forwardingText(d: NormalDestination): string {
  const name = FWD_NAME[d.fwd] ?? `fwd-${d.fwd}`;
  if (d.fwd !== IP_VS_CONN_F_TUNNEL) return name;
  const type = TUN_TYPE_NAME[d.tunType] ?? `type-${d.tunType}`;
  let text = `tunnel ${type}`;
  if (d.tunType === IP_VS_CONN_F_TUNNEL_TYPE_GUE) text += ` port ${d.tunPort}`;
  if (d.tunType !== IP_VS_CONN_F_TUNNEL_TYPE_IPIP) text += ` ${checksumName(d.tunFlags)}`;
  return text;
}

/** The fields that differ between a kernel destination and a desired one, as "field old -> new" texts. */
export function destinationDifferences(have: NormalDestination, want: NormalDestination): string[] {
  const out: string[] = [];
  const hf = forwardingText(have);
  const wf = forwardingText(want);
  if (hf !== wf) out.push(`forwarding ${hf} -> ${wf}`);
  if (have.weight !== want.weight) out.push(`weight ${have.weight} -> ${want.weight}`);
  if (have.upper !== want.upper) out.push(`upper threshold ${have.upper} -> ${want.upper}`);
  if (have.lower !== want.lower) out.push(`lower threshold ${have.lower} -> ${want.lower}`);
  return out;
}

/** A short description of a destination for plan output, e.g. 'route, weight 1'. */
export function destinationSummary(d: NormalDestination): string {
  let text = `${forwardingText(d)}, weight ${d.weight}`;
  if (d.upper) text += `, upper threshold ${d.upper}`;
  if (d.lower) text += `, lower threshold ${d.lower}`;
  return text;
}

/** The complete spec that creates or replaces the destination as normalised. */
export function destinationSpecOf(d: NormalDestination, weight = d.weight): DestinationSpec {
  const forwarding = FWD_NAME[d.fwd];
  const spec: DestinationSpec = { address: d.key.address, port: d.key.port ?? 0, weight };
  // A kernel-reported 'local' or 'bypass', or a method without a name (5..7, another tool's), cannot be sent
  // back; route is what ipvsadm would send.
  spec.forwarding = forwarding === 'masq' || forwarding === 'tunnel' ? forwarding : 'route';
  if (d.upper) spec.upperThreshold = d.upper;
  if (d.lower) spec.lowerThreshold = d.lower;
  if (d.fwd === IP_VS_CONN_F_TUNNEL) {
    // A type past gre (another tool's) is encapsulated as ipip by Linux, so it is sent back as ipip.
    const type = TUN_TYPE_NAME[d.tunType] ?? 'ipip';
    const tunnel: TunnelSpec = { type };
    if (type === 'gue') tunnel.port = d.tunPort;
    if (type === 'gue') tunnel.checksum = checksumName(d.tunFlags);
    // Linux's gre looks at the csum flag alone, so a gre destination another tool gave remcsum (which the
    // client refuses as input) is sent back as what it does: quiescing it before removal must not be refused.
    else if (type === 'gre') tunnel.checksum = d.tunFlags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM ? 'csum' : 'nocsum';
    spec.tunnel = tunnel;
  }
  return spec;
}

/** Whether the kernel service equals the desired one in every option. */
export function sameService(have: NormalService, want: NormalService): boolean {
  return (
    have.scheduler === want.scheduler &&
    have.flags === want.flags &&
    have.timeout === want.timeout &&
    have.netmask === want.netmask &&
    have.pe === want.pe
  );
}

/** Lists longer than this get an index by id; shorter ones are searched, which costs less than a map. */
const SEARCHED = 16;

/**
 * A service's desired destinations, in their given order, found by address and port. Most services have a
 * handful, searched in place; a longer list gets an index by id, built when it grows past SEARCHED.
 */
export class DesiredDestinations {
  private items: NormalDestination[];
  private count = 0;
  private index: Map<string, NormalDestination> | undefined;

  /** `expected`: how many will be added, so the list is allocated once at its size (push grows it to 17). */
  constructor(expected = 0) {
    this.items = new Array<NormalDestination>(expected);
  }

  /** In the order given. */
  get list(): readonly NormalDestination[] {
    if (this.count !== this.items.length) this.items = this.items.slice(0, this.count);
    return this.items;
  }

  get size(): number {
    return this.count;
  }

  /** Add `nd` unless one with its address and port is there already: then that one is returned, `nd` is not added. */
  add(nd: NormalDestination): NormalDestination | undefined {
    const earlier = this.find(nd.address, nd.port, nd.v6);
    if (earlier !== undefined) return earlier;
    this.items[this.count++] = nd;
    if (this.index !== undefined) this.index.set(nd.id, nd);
    else if (this.count > SEARCHED) this.index = new Map(this.list.map((x) => [x.id, x]));
    return undefined;
  }

  find(address: string, port: number, v6: boolean): NormalDestination | undefined {
    if (this.index !== undefined) return this.index.get(destinationKeyText(address, port, v6));
    const items = this.items;
    for (let i = 0; i < this.count; i++) {
      const nd = items[i]!;
      if (nd.port === port && nd.address === address) return nd;
    }
    return undefined;
  }

  /** The desired destination the kernel's `d` is, if any. */
  findKernel(d: Destination): NormalDestination | undefined {
    return this.find(d.address, d.port, d.family === 'ipv6');
  }
}

/**
 * sameDestination(normalKernelDestination(d), want), without building the normal form unless the
 * destination tunnels: the planner asks it of every destination the kernel holds.
 */
export function kernelDestinationEquals(d: Destination, want: NormalDestination): boolean {
  if (fwdNumber(d.forwarding) !== want.fwd || d.weight !== want.weight || d.upperThreshold !== want.upper || d.lowerThreshold !== want.lower) return false;
  return want.fwd !== IP_VS_CONN_F_TUNNEL || sameDestination(normalKernelDestination(d), want);
}

/** Whether the kernel destination equals the desired one in every option. */
export function sameDestination(have: NormalDestination, want: NormalDestination): boolean {
  return (
    have.fwd === want.fwd &&
    have.weight === want.weight &&
    have.upper === want.upper &&
    have.lower === want.lower &&
    have.tunType === want.tunType &&
    have.tunPort === want.tunPort &&
    have.tunFlags === want.tunFlags
  );
}
