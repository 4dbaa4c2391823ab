// The test-facing view of the fake kernel's table: a plain, JSON-friendly snapshot (addresses as text,
// forwarding and protocols by name, counters as bigint) for assertions, and the lookup behind
// setStats()/bumpStats(), which name a service the way the client's ServiceKey does.

import * as C from '../ipvs/constants.js';
import { sameAddress, type DaemonConfig, type Dest, type FakeStats, type IpvsTable, type Svc } from './fake-ipvs-table.js';
import { serviceKeyText } from '../ipvs/validate.js';
import type { Service } from '../ipvs/types.js';
import { onlyKnownOptions, optionKeys } from '../ipvs/option-keys.js';
import { formatIp, parseIp, type IpBytes } from './fake-network.js';
import { ValidationError } from '../ipvs/errors.js';

export interface FakeDestinationState {
  address: string;
  family: 'ipv4' | 'ipv6';
  port: number;
  /** IP_VS_CONN_F_* forwarding method number (0 masq, 1 local, 2 tunnel, 3 route, 4 bypass). */
  fwd: number;
  forwarding: 'masq' | 'local' | 'tunnel' | 'route' | 'bypass' | `fwd ${number}`;
  weight: number;
  /** Upper and lower connection thresholds. */
  upper: number;
  lower: number;
  tunnel: { type: number; port: number; flags: number };
  activeConns: number;
  inactiveConns: number;
  persistentConns: number;
  stats: FakeStats;
}

export interface FakeServiceState {
  /**
   * The service's name as the rest of the library writes it (plan step targets, error sentences, health
   * check service ids): 'tcp 192.168.1.110:80', 'udp [2001:db8::1]:53', 'proto 47 10.0.0.1:0', 'fwmark 10',
   * 'fwmark 11 (IPv6)'.
   */
  key: string;
  family: 'ipv4' | 'ipv6';
  protocol?: 'tcp' | 'udp' | 'sctp' | number;
  address?: string;
  port?: number;
  fwmark?: number;
  /** 'none' when the service has no scheduler. */
  scheduler: string;
  pe?: string;
  /** IP_VS_SVC_F_* as the kernel reports them (IP_VS_SVC_F_HASHED included). */
  flags: number;
  /** Persistence timeout in seconds, as reported. */
  timeout: number;
  /** IPv4: the mask as a 32-bit number; IPv6: the prefix length. */
  netmask: number;
  stats: FakeStats;
  /** In the kernel's order: newest first. */
  destinations: FakeDestinationState[];
}

export interface FakeDaemonState {
  state: 'master' | 'backup';
  interface: string;
  syncId: number;
  maxLen: number;
  group: string;
  port: number;
  ttl: number;
}

export interface FakeKernelState {
  services: FakeServiceState[];
  timeouts: { tcp: number; tcpFin: number; udp: number };
  daemons: FakeDaemonState[];
}

const FWD = ['masq', 'local', 'tunnel', 'route', 'bypass'] as const;
const PROTOCOLS: Readonly<Record<number, 'tcp' | 'udp' | 'sctp'>> = { [C.IPPROTO_TCP]: 'tcp', [C.IPPROTO_UDP]: 'udp', [C.IPPROTO_SCTP]: 'sctp' };

const family = (af: number): 'ipv4' | 'ipv6' => (af === C.AF_INET6 ? 'ipv6' : 'ipv4');

function destState(d: Dest): FakeDestinationState {
  return {
    address: formatIp(d.af, d.addr),
    family: family(d.af),
    port: d.port,
    fwd: d.fwd,
    forwarding: FWD[d.fwd] ?? `fwd ${d.fwd}`,
    weight: d.weight,
    upper: d.upper,
    lower: d.lower,
    tunnel: { type: d.tunType, port: d.tunPort, flags: d.tunFlags },
    activeConns: d.active,
    inactiveConns: d.inactive,
    persistentConns: d.persistent,
    stats: { ...d.stats },
  };
}

function serviceState(s: Svc, table: IpvsTable): FakeServiceState {
  const base = {
    family: family(s.af),
    scheduler: s.sched ?? 'none',
    ...(s.pe !== undefined ? { pe: s.pe } : {}),
    flags: s.flags,
    timeout: table.serviceTimeout(s),
    netmask: s.af === C.AF_INET6 ? s.netmask.readUInt32LE(0) : s.netmask.readUInt32BE(0),
    stats: { ...s.stats },
    destinations: s.dests.map(destState),
  };
  const v6 = s.af === C.AF_INET6;
  if (s.fwmark) return { key: serviceKeyText({ fwmark: s.fwmark }, v6), fwmark: s.fwmark, ...base };
  // A protocol other than TCP, UDP and SCTP (the kernel takes any number) is its number, as the client reads it.
  const protocol = PROTOCOLS[s.protocol] ?? s.protocol;
  const address = formatIp(s.af, s.addr);
  return {
    key: serviceKeyText({ protocol, address, port: s.port }, v6),
    protocol,
    address,
    port: s.port,
    ...base,
  };
}

function daemonState(d: DaemonConfig): FakeDaemonState {
  return {
    state: d.state === C.IP_VS_STATE_MASTER ? 'master' : 'backup',
    interface: d.ifname,
    syncId: d.syncId,
    maxLen: d.maxLen,
    group: formatIp(d.groupAf, d.group),
    port: d.port,
    ttl: d.ttl,
  };
}

export function snapshot(table: IpvsTable): FakeKernelState {
  return {
    services: table.list().map((s) => serviceState(s, table)),
    timeouts: table.timeouts(),
    daemons: [...table.daemons.values()].sort((a, b) => a.state - b.state).map(daemonState),
  };
}

/**
 * Names a service, and optionally one of its destinations, for setStats()/bumpStats(): the fields of a
 * client ServiceKey ({ protocol, address, port } or { fwmark, family }), any of which may be left out
 * when the rest is unambiguous, plus `destination` / `destinationPort`. Each may also be undefined, so a
 * Service read back from the client (whose fwmark services carry `address?: undefined` and the like)
 * can be spread into one under exactOptionalPropertyTypes.
 */
export interface FakeStatsTarget {
  /** A name, or an IP protocol number (6, 17 and 132 are TCP, UDP and SCTP), as in a client ServiceKey. */
  protocol?: 'tcp' | 'udp' | 'sctp' | number | undefined;
  address?: string | undefined;
  port?: number | undefined;
  fwmark?: number | undefined;
  family?: 'ipv4' | 'ipv6' | undefined;
  destination?: string | undefined;
  destinationPort?: number | undefined;
}

/** Counters to set or add, as bigint or number, and the connection counts of a destination. */
export type FakeStatsValues = { [K in keyof FakeStats]?: bigint | number } & {
  activeConns?: number;
  inactiveConns?: number;
  persistentConns?: number;
};

const PROTOCOL_NUMBERS = { tcp: C.IPPROTO_TCP, udp: C.IPPROTO_UDP, sctp: C.IPPROTO_SCTP } as const;

/**
 * The services a target names. A fully named one (protocol, address and port; or a fwmark, in one family
 * or both) is looked up by key as the table does; a partial one is compared with each service, its
 * address parsed once: a scan with a copy of the table and an address buffer per service made each
 * setStats() on a 20 000-service table cost some 20 ms.
 */
function matchingServices(table: IpvsTable, t: FakeStatsTarget, vip: IpBytes | undefined): Svc[] {
  const proto = t.protocol === undefined ? undefined : typeof t.protocol === 'number' ? t.protocol : PROTOCOL_NUMBERS[t.protocol];
  const none = Buffer.alloc(16);
  if (t.fwmark !== undefined && t.fwmark > 0) {
    const families = t.family === undefined ? [C.AF_INET, C.AF_INET6] : [t.family === 'ipv6' ? C.AF_INET6 : C.AF_INET];
    return families.flatMap((af) => table.find({ af, protocol: 0, addr: none, port: 0, fwmark: t.fwmark as number }) ?? []);
  }
  if (t.fwmark === undefined && proto !== undefined && vip && t.port !== undefined) {
    const s = table.find({ af: vip.af, protocol: proto, addr: vip.bytes, port: t.port, fwmark: 0 });
    return s ? [s] : [];
  }
  const out: Svc[] = [];
  for (const s of table.all()) {
    if (t.fwmark !== undefined) {
      if (s.fwmark === t.fwmark && (t.family === undefined || family(s.af) === t.family)) out.push(s);
      continue;
    }
    if (s.fwmark) continue;
    if (proto !== undefined && s.protocol !== proto) continue;
    if (t.port !== undefined && s.port !== t.port) continue;
    if (!vip || (vip.af === s.af && sameAddress(s.af, vip.bytes, s.addr))) out.push(s);
  }
  return out;
}

const TARGET_KEYS = optionKeys<FakeStatsTarget>('FakeStatsTarget', { protocol: true, address: true, port: true, fwmark: true, family: true, destination: true, destinationPort: true });

function refuseTarget(key: keyof FakeStatsTarget, value: unknown, reason: string): never {
  throw new ValidationError(`FakeStatsTarget.${key}`, value, reason);
}

/**
 * Each field of a target checked as the client checks a ServiceKey's: one it would refuse cannot be left out of
 * the match (a protocol 'TCP' matched any protocol, so it named the UDP service when that was the only one).
 * Returns the addresses, parsed once.
 */
function checkTarget(t: FakeStatsTarget): { vip: IpBytes | undefined; rip: IpBytes | undefined } {
  const { protocol, address, port, fwmark, family, destination, destinationPort } = t;
  const integer = (v: unknown, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
  if (protocol !== undefined && !(protocol === 'tcp' || protocol === 'udp' || protocol === 'sctp' || integer(protocol, 0xffff))) {
    refuseTarget('protocol', protocol, "must be 'tcp', 'udp', 'sctp' or a protocol number 0..65535");
  }
  const ip = (key: 'address' | 'destination', value: unknown): IpBytes | undefined => {
    if (value === undefined) return undefined;
    return (typeof value === 'string' ? parseIp(value) : undefined) ?? refuseTarget(key, value, 'must be an IPv4 or IPv6 address');
  };
  const vip = ip('address', address);
  const rip = ip('destination', destination);
  for (const [key, value] of [['port', port], ['destinationPort', destinationPort]] as const) {
    if (value !== undefined && !integer(value, 0xffff)) refuseTarget(key, value, 'must be an integer 0..65535');
  }
  if (fwmark !== undefined && !integer(fwmark, 0xffffffff)) refuseTarget('fwmark', fwmark, 'must be an integer 0..4294967295');
  if (family !== undefined && family !== 'ipv4' && family !== 'ipv6') refuseTarget('family', family, "must be 'ipv4' or 'ipv6'");
  return { vip, rip };
}

/** A target as its refusals show it: the fields that name a service and destination (a Service's stats are bigints). */
function targetText(t: FakeStatsTarget): string {
  return JSON.stringify(t, TARGET_KEYS.names as string[]);
}

/** The keys a Service read back from the client has beside its key: taken in a target, and left out of the match. */
const SERVICE_ONLY_KEYS: ReadonlySet<string> = new Set(['scheduler', 'persistence', 'flags', 'persistenceEngine', 'stats', 'rawFlags', 'unknownAttributes'] satisfies (keyof Service)[]);

export function findTarget(table: IpvsTable, t: FakeStatsTarget): { svc: Svc; dest: Dest | undefined } {
  // A misspelt key would otherwise widen the match: `destinaton` would set the service's counters. A Service's
  // own keys are no misspelling: `setStats(service, ...)` and `{ ...service, destination }` name its service.
  if (typeof t === 'object' && t !== null && Object.keys(t).some((k) => SERVICE_ONLY_KEYS.has(k))) {
    onlyKnownOptions(Object.fromEntries(Object.entries(t).filter(([k]) => !SERVICE_ONLY_KEYS.has(k))), TARGET_KEYS);
  } else {
    onlyKnownOptions(t, TARGET_KEYS);
  }
  const { vip, rip } = checkTarget(t);
  const matches = matchingServices(table, t, vip);
  if (matches.length !== 1) {
    throw new Error(`FakeKernel: ${matches.length === 0 ? 'no service' : 'more than one service'} matches ${targetText(t)}`);
  }
  const svc = matches[0] as Svc;
  if (rip === undefined) return { svc, dest: undefined };
  // The service's list, walked as the kernel's ip_vs_lookup_dest() walks it, the address parsed once.
  let dest: Dest | undefined;
  let found = 0;
  for (const d of svc.dests) {
    if ((t.destinationPort !== undefined && d.port !== t.destinationPort) || d.af !== rip.af || !sameAddress(d.af, rip.bytes, d.addr)) continue;
    dest = d;
    if (++found > 1) break;
  }
  if (found !== 1) {
    throw new Error(`FakeKernel: ${found === 0 ? 'no destination' : 'more than one destination'} matches ${targetText(t)}`);
  }
  return { svc, dest };
}

const COUNTERS = ['conns', 'inpkts', 'outpkts', 'inbytes', 'outbytes', 'cps', 'inpps', 'outpps', 'inbps', 'outbps'] as const satisfies readonly (keyof FakeStats)[];
const CONN_COUNTS = ['activeConns', 'inactiveConns', 'persistentConns'] as const;
const VALUE_KEYS = optionKeys<FakeStatsValues>('FakeStatsValues', {
  conns: true, inpkts: true, outpkts: true, inbytes: true, outbytes: true, cps: true, inpps: true, outpps: true, inbps: true, outbps: true,
  activeConns: true, inactiveConns: true, persistentConns: true,
});
const U64 = (1n << 64n) - 1n;
/** The client's names of the counters a Stats holds (what a test reads back), by the kernel's the fake takes. */
const CLIENT_COUNTER_NAMES: Readonly<Record<string, string>> = {
  inPackets: 'inpkts', outPackets: 'outpkts', inBytes: 'inbytes', outBytes: 'outbytes', inPps: 'inpps', outPps: 'outpps', inBps: 'inbps', outBps: 'outbps',
};
const U32 = 0xffffffff;

/**
 * Every value checked before any is applied, so a refused call changes nothing. Counters are the kernel's u64s:
 * set to 0..2^64-1, or bumped by any integer modulo 2^64, as the kernel's additions wrap. Connection counts are
 * what the kernel reports in 32 bits: 0..2^32-1, before and after a bump (a negative delta closes connections).
 */
export function applyStats(target: { svc: Svc; dest: Dest | undefined }, v: FakeStatsValues, add: boolean): void {
  if (typeof v === 'object' && v !== null) {
    // The client reads these counters as inPackets, outBytes...: the likeliest slip is its name for one.
    for (const k of Object.keys(v)) {
      const kernelName = Object.hasOwn(CLIENT_COUNTER_NAMES, k) ? CLIENT_COUNTER_NAMES[k] : undefined;
      if (kernelName !== undefined) throw new ValidationError(`FakeStatsValues.${k}`, (v as Record<string, unknown>)[k], `unknown counter (did you mean ${kernelName}?): the fake takes the kernel's names, not the client's`);
    }
  }
  onlyKnownOptions(v, VALUE_KEYS);
  const stats = target.dest?.stats ?? target.svc.stats;
  const counters: [keyof FakeStats, bigint][] = [];
  for (const k of COUNTERS) {
    const value: unknown = v[k];
    if (value === undefined) continue;
    if (!(typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value)))) {
      throw new ValidationError(`FakeStatsValues.${k}`, value, 'must be an integer, as a bigint or a number');
    }
    const n = BigInt(value);
    if (!add && (n < 0n || n > U64)) throw new ValidationError(`FakeStatsValues.${k}`, value, 'must be 0..2^64-1 (a u64 counter)');
    counters.push([k, BigInt.asUintN(64, add ? stats[k] + n : n)]);
  }
  const d = target.dest;
  const conns: [(typeof CONN_COUNTS)[number], number][] = [];
  for (const k of CONN_COUNTS) {
    const value: unknown = v[k];
    if (value === undefined) continue;
    if (!d) throw new ValidationError(`FakeStatsValues.${k}`, value, 'connection counts belong to a destination: name one with `destination`');
    if (typeof value !== 'number' || !Number.isInteger(value)) throw new ValidationError(`FakeStatsValues.${k}`, value, 'must be an integer number');
    const now = { activeConns: d.active, inactiveConns: d.inactive, persistentConns: d.persistent }[k];
    const next = add ? now + value : value;
    if (next < 0 || next > U32) {
      throw new ValidationError(`FakeStatsValues.${k}`, value, add ? `would take the count (${now}) out of 0..${U32}` : `must be 0..${U32} (the kernel reports it in 32 bits)`);
    }
    conns.push([k, next]);
  }
  for (const [k, n] of counters) stats[k] = n;
  for (const [k, n] of conns) {
    if (!d) break;
    if (k === 'activeConns') d.active = n;
    else if (k === 'inactiveConns') d.inactive = n;
    else d.persistent = n;
  }
}
