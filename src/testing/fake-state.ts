// The fake kernel's table: services keyed as the kernel keys them (family, protocol, address, port, or
// family and fwmark), their destinations, timeouts and sync daemons, with a plain snapshot for tests.

import { isIPv4 } from 'node:net';
import * as C from '../ipvs/constants.js';

export interface FakeStats {
  conns: bigint; inpkts: bigint; outpkts: bigint; inbytes: bigint; outbytes: bigint;
  cps: bigint; inpps: bigint; outpps: bigint; inbps: bigint; outbps: bigint;
}

export interface FakeDest {
  af: number; addr: Buffer; port: number; fwd: number; weight: number; upper: number; lower: number;
  tunType: number; tunPort: number; tunFlags: number; active: number; inactive: number; persistent: number; stats: FakeStats;
}

export interface FakeService {
  af: number; protocol: number; addr: Buffer; port: number; fwmark: number; sched: string; flags: number;
  timeout: number; netmask: number; pe: string | undefined; stats: FakeStats; dests: Map<string, FakeDest>;
}

export interface FakeDaemon {
  state: number; ifn: string; syncId: number; maxLen: number; group: Buffer; port: number; ttl: number;
}

function serviceKey(s: Pick<FakeService, 'af' | 'protocol' | 'addr' | 'port' | 'fwmark'>): string {
  return s.fwmark ? `f/${s.af}/${s.fwmark}` : `a/${s.af}/${s.protocol}/${s.addr.toString('hex')}/${s.port}`;
}

function destKey(d: Pick<FakeDest, 'af' | 'addr' | 'port'>): string {
  return `${d.af}/${d.addr.toString('hex')}/${d.port}`;
}

function text(af: number, addr: Buffer): string {
  if (af === C.AF_INET) return `${addr[0]}.${addr[1]}.${addr[2]}.${addr[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(addr.readUInt16BE(i).toString(16));
  return groups.join(':');
}

function addrBytes(address: string): Buffer {
  const b = Buffer.alloc(16);
  if (isIPv4(address)) address.split('.').forEach((p, i) => (b[i] = Number(p)));
  return b;
}

export class FakeState {
  private readonly table = new Map<string, FakeService>();
  readonly daemons = new Map<number, FakeDaemon>();
  readonly timeouts = { tcp: 900, tcpFin: 120, udp: 300 };

  services(): FakeService[] {
    return [...this.table.values()];
  }

  findService(s: Pick<FakeService, 'af' | 'protocol' | 'addr' | 'port' | 'fwmark'>): FakeService | undefined {
    return this.table.get(serviceKey(s));
  }

  addService(s: FakeService): void {
    this.table.set(serviceKey(s), s);
  }

  deleteService(s: FakeService): void {
    this.table.delete(serviceKey(s));
  }

  findDest(s: FakeService, d: Pick<FakeDest, 'af' | 'addr' | 'port'>): FakeDest | undefined {
    return s.dests.get(destKey(d));
  }

  addDest(s: FakeService, d: FakeDest): void {
    s.dests.set(destKey(d), d);
  }

  deleteDest(s: FakeService, d: FakeDest): void {
    s.dests.delete(destKey(d));
  }

  flush(): void {
    this.table.clear();
  }

  zero(only?: FakeService): void {
    const clear = (st: FakeStats): void => {
      for (const k of Object.keys(st) as (keyof FakeStats)[]) st[k] = 0n;
    };
    for (const s of only ? [only] : this.services()) {
      clear(s.stats);
      for (const d of s.dests.values()) clear(d.stats);
    }
  }

  setStats(
    match: { fwmark?: number; address?: string; port?: number; destination?: string; destinationPort?: number },
    values: Partial<FakeStats> & { activeConns?: number; inactiveConns?: number; persistentConns?: number },
  ): void {
    const svc = this.services().find((s) =>
      match.fwmark !== undefined ? s.fwmark === match.fwmark : s.addr.equals(addrBytes(match.address ?? '')) && s.port === match.port);
    if (!svc) throw new Error('setStats: no such service in the fake kernel');
    const { activeConns, inactiveConns, persistentConns, ...stats } = values;
    if (match.destination === undefined) {
      Object.assign(svc.stats, stats);
      return;
    }
    const dest = [...svc.dests.values()].find((d) => d.addr.equals(addrBytes(match.destination ?? '')) && (match.destinationPort === undefined || d.port === match.destinationPort));
    if (!dest) throw new Error('setStats: no such destination in the fake kernel');
    Object.assign(dest.stats, stats);
    if (activeConns !== undefined) dest.active = activeConns;
    if (inactiveConns !== undefined) dest.inactive = inactiveConns;
    if (persistentConns !== undefined) dest.persistent = persistentConns;
  }

  /** A plain view for assertions (addresses as text, IPv6 uncompressed). */
  snapshot(): {
    services: { key: string; scheduler: string; flags: number; timeout: number; netmask: number; pe?: string; destinations: { address: string; port: number; fwd: number; weight: number; upper: number; lower: number }[] }[];
    timeouts: { tcp: number; tcpFin: number; udp: number };
    daemons: { state: number; interface: string; syncId: number }[];
  } {
    return {
      services: this.services().map((s) => ({
        key: s.fwmark ? `fwmark ${s.fwmark}${s.af === C.AF_INET6 ? ' ipv6' : ''}` : `${s.protocol === C.IPPROTO_TCP ? 'tcp' : s.protocol === C.IPPROTO_UDP ? 'udp' : 'sctp'} ${text(s.af, s.addr)}:${s.port}`,
        scheduler: s.sched, flags: s.flags, timeout: s.timeout, netmask: s.netmask, ...(s.pe ? { pe: s.pe } : {}),
        destinations: [...s.dests.values()].map((d) => ({ address: text(d.af, d.addr), port: d.port, fwd: d.fwd, weight: d.weight, upper: d.upper, lower: d.lower })),
      })),
      timeouts: { ...this.timeouts },
      daemons: [...this.daemons.values()].map((d) => ({ state: d.state, interface: d.ifn, syncId: d.syncId })),
    };
  }
}
