// The test-facing view of the fake kernel's table: a plain, JSON-friendly snapshot (addresses as text,
// forwarding and protocols by name, counters as bigint) for assertions, and the lookup behind
// setStats()/bumpStats(), which name a service the way the client's ServiceKey does.

import * as C from '../ipvs/constants.js';
import type { DaemonConfig, Dest, FakeStats, IpvsTable, Svc } from './fake-ipvs-table.js';
import { serviceKeyText } from '../ipvs/validate.js';
import { onlyKnownOptions, optionKeys } from '../ipvs/option-keys.js';
import { formatIp, parseIp } from './fake-network.js';

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

/** Byte by byte: cheaper than Buffer#equals's call into C++ for the 4 bytes of an IPv4 address. */
function sameAddress(af: number, a: Buffer, b: Buffer): boolean {
  for (let i = af === C.AF_INET ? 3 : 15; i >= 0; i--) if (a[i] !== b[i]) return false;
  return true;
}

const PROTOCOL_NUMBERS = { tcp: C.IPPROTO_TCP, udp: C.IPPROTO_UDP, sctp: C.IPPROTO_SCTP } as const;

/**
 * The services a target names. A fully named one (protocol, address and port; or a fwmark, in one family
 * or both) is looked up by key as the table does; a partial one is compared with each service, its
 * address parsed once: a scan with a copy of the table and an address buffer per service made each
 * setStats() on a 20 000-service table cost some 20 ms.
 */
function matchingServices(table: IpvsTable, t: FakeStatsTarget): Svc[] {
  const proto = t.protocol === undefined ? undefined : typeof t.protocol === 'number' ? t.protocol : PROTOCOL_NUMBERS[t.protocol];
  const vip = t.address === undefined ? undefined : parseIp(t.address);
  if (t.address !== undefined && !vip) throw new TypeError(`FakeKernel: not an address: ${t.address}`);
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

export function findTarget(table: IpvsTable, t: FakeStatsTarget): { svc: Svc; dest: Dest | undefined } {
  // A misspelt key would otherwise widen the match: `destinaton` would set the service's counters.
  onlyKnownOptions(t, TARGET_KEYS);
  const matches = matchingServices(table, t);
  if (matches.length !== 1) {
    throw new Error(`FakeKernel: ${matches.length === 0 ? 'no service' : 'more than one service'} matches ${JSON.stringify(t)}`);
  }
  const svc = matches[0] as Svc;
  if (t.destination === undefined) return { svc, dest: undefined };
  const rip = parseIp(t.destination);
  if (!rip) throw new TypeError(`FakeKernel: not an address: ${t.destination}`);
  // The service's list, walked as the kernel's ip_vs_lookup_dest() walks it, the address parsed once.
  let dest: Dest | undefined;
  let found = 0;
  for (const d of svc.dests) {
    if ((t.destinationPort !== undefined && d.port !== t.destinationPort) || d.af !== rip.af || !sameAddress(d.af, rip.bytes, d.addr)) continue;
    dest = d;
    if (++found > 1) break;
  }
  if (found !== 1) {
    throw new Error(`FakeKernel: ${found === 0 ? 'no destination' : 'more than one destination'} matches ${JSON.stringify(t)}`);
  }
  return { svc, dest };
}

export function applyStats(target: { svc: Svc; dest: Dest | undefined }, v: FakeStatsValues, add: boolean): void {
  const { activeConns, inactiveConns, persistentConns, ...counters } = v;
  const stats = target.dest?.stats ?? target.svc.stats;
  for (const [k, value] of Object.entries(counters) as [keyof FakeStats, bigint | number | undefined][]) {
    if (value === undefined) continue;
    if (!(k in stats)) throw new TypeError(`FakeKernel: unknown counter ${k}`);
    const n = BigInt(value);
    stats[k] = BigInt.asUintN(64, add ? stats[k] + n : n);
  }
  const conns = [activeConns, inactiveConns, persistentConns];
  if (conns.some((c) => c !== undefined)) {
    const d = target.dest;
    if (!d) throw new Error('FakeKernel: connection counts belong to a destination: name one with `destination`');
    if (activeConns !== undefined) d.active = add ? d.active + activeConns : activeConns;
    if (inactiveConns !== undefined) d.inactive = add ? d.inactive + inactiveConns : inactiveConns;
    if (persistentConns !== undefined) d.persistent = add ? d.persistent + persistentConns : persistentConns;
  }
}
