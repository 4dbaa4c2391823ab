// The test-facing view of the fake kernel's table: a plain, JSON-friendly snapshot (addresses as text,
// forwarding and protocols by name, counters as bigint) for assertions, and the lookup behind
// setStats()/bumpStats(), which name a service the way the client's ServiceKey does.

import * as C from '../ipvs/constants.js';
import type { DaemonConfig, Dest, FakeStats, IpvsTable, Svc } from './fake-ipvs-table.js';
import { formatIp, normaliseAddress, parseIp } from './fake-network.js';

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
  /** 'tcp 192.168.1.110:80', 'udp [2001:db8::1]:53', 'fwmark 10', 'fwmark 11 ipv6' */
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

function hostPort(af: number, addr: Buffer, port: number): string {
  const text = formatIp(af, addr);
  return af === C.AF_INET6 ? `[${text}]:${port}` : `${text}:${port}`;
}

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
  if (s.fwmark) return { key: `fwmark ${s.fwmark}${s.af === C.AF_INET6 ? ' ipv6' : ''}`, fwmark: s.fwmark, ...base };
  const protocol = PROTOCOLS[s.protocol] ?? s.protocol;
  return {
    key: `${typeof protocol === 'string' ? protocol : `proto ${protocol}`} ${hostPort(s.af, s.addr, s.port)}`,
    protocol,
    address: formatIp(s.af, s.addr),
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
 * when the rest is unambiguous, plus `destination` / `destinationPort`.
 */
export interface FakeStatsTarget {
  protocol?: 'tcp' | 'udp' | 'sctp';
  address?: string;
  port?: number;
  fwmark?: number;
  family?: 'ipv4' | 'ipv6';
  destination?: string;
  destinationPort?: number;
}

/** Counters to set or add, as bigint or number, and the connection counts of a destination. */
export type FakeStatsValues = { [K in keyof FakeStats]?: bigint | number } & {
  activeConns?: number;
  inactiveConns?: number;
  persistentConns?: number;
};

export function findTarget(table: IpvsTable, t: FakeStatsTarget): { svc: Svc; dest: Dest | undefined } {
  const proto = t.protocol === undefined ? undefined : { tcp: C.IPPROTO_TCP, udp: C.IPPROTO_UDP, sctp: C.IPPROTO_SCTP }[t.protocol];
  const vip = t.address === undefined ? undefined : parseIp(t.address);
  if (t.address !== undefined && !vip) throw new TypeError(`FakeKernel: not an address: ${t.address}`);
  const matches = table.list().filter((s) => {
    if (t.fwmark !== undefined) return s.fwmark === t.fwmark && (t.family === undefined || family(s.af) === t.family);
    if (s.fwmark) return false;
    if (proto !== undefined && s.protocol !== proto) return false;
    if (t.port !== undefined && s.port !== t.port) return false;
    return !vip || (vip.af === s.af && normaliseAddress(s.af, vip.bytes).equals(s.addr));
  });
  if (matches.length !== 1) {
    throw new Error(`FakeKernel: ${matches.length === 0 ? 'no service' : 'more than one service'} matches ${JSON.stringify(t)}`);
  }
  const svc = matches[0] as Svc;
  if (t.destination === undefined) return { svc, dest: undefined };
  const rip = parseIp(t.destination);
  if (!rip) throw new TypeError(`FakeKernel: not an address: ${t.destination}`);
  const dests = svc.dests.filter((d) => d.af === rip.af && normaliseAddress(d.af, rip.bytes).equals(d.addr) && (t.destinationPort === undefined || d.port === t.destinationPort));
  if (dests.length !== 1) {
    throw new Error(`FakeKernel: ${dests.length === 0 ? 'no destination' : 'more than one destination'} matches ${JSON.stringify(t)}`);
  }
  return { svc, dest: dests[0] };
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
