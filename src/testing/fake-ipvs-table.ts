// The IPVS table of one fake network namespace and the kernel's rules for changing it, after
// net/netfilter/ipvs/ip_vs_ctl.c (Linux 6.1): services keyed by (family, protocol, address, port) or
// (family, fwmark); destinations kept newest first as the kernel's list_add does; deleted
// destinations parked in a trash from which re-adding revives them with their counters; the
// connection timeouts in ticks (HZ); and the two sync daemons. Every refusal is the kernel's errno,
// checked in the kernel's order.

import * as C from '../ipvs/constants.js';
import { EADDRNOTAVAIL, EAFNOSUPPORT, EEXIST, EINTR, EINVAL, ENETUNREACH, ENODEV, ENOENT, ERANGE, ESRCH, FakeErrno } from './fake-errno.js';
import type { DaemonRequest, DestRequest, ServiceRequest } from './fake-ipvs-requests.js';
import { normaliseAddress, type FakeNetwork } from './fake-network.js';

/** 64-bit counters and rates of a service or destination (IPVS_*_ATTR_STATS64). */
export interface FakeStats {
  conns: bigint;
  inpkts: bigint;
  outpkts: bigint;
  inbytes: bigint;
  outbytes: bigint;
  cps: bigint;
  inpps: bigint;
  outpps: bigint;
  inbps: bigint;
  outbps: bigint;
}

export const STATS_FIELDS = ['conns', 'inpkts', 'outpkts', 'inbytes', 'outbytes', 'cps', 'inpps', 'outpps', 'inbps', 'outbps'] as const;

export function zeroStats(): FakeStats {
  return { conns: 0n, inpkts: 0n, outpkts: 0n, inbytes: 0n, outbytes: 0n, cps: 0n, inpps: 0n, outpps: 0n, inbps: 0n, outbps: 0n };
}

/** A list entry a running dump can stamp while it works out what changed (see liveDump). */
export interface Marked {
  dumpMark?: number;
}

export interface Dest extends Marked {
  af: number;
  addr: Buffer;
  port: number;
  fwd: number;
  weight: number;
  upper: number;
  lower: number;
  tunType: number;
  tunPort: number;
  tunFlags: number;
  active: number;
  inactive: number;
  persistent: number;
  stats: FakeStats;
}

export interface Svc extends Marked {
  /** Identity of this service object: a re-created service is a new one (the trash tells them apart). */
  id: number;
  af: number;
  protocol: number;
  addr: Buffer;
  port: number;
  fwmark: number;
  /** undefined: no scheduler ("none"). */
  sched: string | undefined;
  pe: string | undefined;
  flags: number;
  /** The timeout as the kernel keeps it: seconds * HZ in an unsigned int. */
  timeoutTicks: number;
  netmask: Buffer;
  stats: FakeStats;
  /** Newest first. */
  dests: Dest[];
  /** Changes whenever a destination is added to or removed from `dests` (see IpvsTable.servicesRevision). */
  destsRevision: number;
}

/** A running sync daemon: the request with the kernel's defaults filled in (the same fields). */
export type DaemonConfig = DaemonRequest;

export interface TableOptions {
  schedulers: ReadonlySet<string>;
  persistenceEngines: ReadonlySet<string>;
  hz: number;
  ipv6: boolean;
  network: FakeNetwork;
  /** Sync daemon threads never run before they are stopped (see FakeKernelOptions.idleDaemonThreads). */
  idleDaemonThreads?: boolean;
}

interface Trashed {
  svcId: number;
  dest: Dest;
  since: number;
}

/**
 * How long a deleted destination can be revived with its counters (IP_VS_DEST_TRASH_PERIOD). Linux's
 * ip_vs_dest_trash_expire() runs every 60 s and frees one unused for this long, so there it lasts 120 to 180 s
 * (more while connections hold it); the fake takes the lower bound, and docs/testing.md says so.
 */
const TRASH_MS = 120_000;
const IP_VS_SYNC_PORT = 8848;
const IP_VS_SYNC_GROUP = Buffer.from([224, 0, 0, 81]);
const INT_MAX = 0x7fffffff;

function keyOfAddr(af: number, addr: Buffer): string {
  return addr.subarray(0, af === C.AF_INET ? 4 : 16).toString('hex');
}

function svcKey(af: number, protocol: number, addr: Buffer, port: number, fwmark: number): string {
  return fwmark ? `f/${af}/${fwmark}` : `a/${af}/${protocol}/${keyOfAddr(af, addr)}/${port}`;
}

/** The service identity the trash compares (dest->vfwmark, protocol, vaddr, vport). */
function trashKey(s: Svc): string {
  return s.fwmark ? `f/${s.fwmark}/${s.protocol}` : `a/${s.protocol}/${keyOfAddr(s.af, s.addr)}/${s.port}`;
}

/** A trashed destination's identity: its virtual service's and its own (family, address, port). */
function trashSlot(vkey: string, af: number, addr: Buffer, port: number): string {
  return `${vkey}|${af}/${keyOfAddr(af, addr)}/${port}`;
}

/**
 * The family's bytes of two addresses equal (4 for IPv4, 16 for IPv6), compared in place, as ip_vs_addr_equal():
 * byte by byte is cheaper than Buffer#equals's call into C++ for the 4 bytes of an IPv4 address.
 */
export function sameAddress(af: number, a: Buffer, b: Buffer): boolean {
  for (let i = af === C.AF_INET ? 3 : 15; i >= 0; i--) if (a[i] !== b[i]) return false;
  return true;
}

// Compared byte by byte, not as hex texts: a lookup walks the service's whole list, as ip_vs_lookup_dest()
// does, and two strings made per destination walked made 20 000 destinations of one service minutes of work.
function destMatches(d: Dest, af: number, addr: Buffer, port: number): boolean {
  return d.af === af && d.port === port && sameAddress(af, d.addr, addr);
}

/**
 * Shared by every table and service: a table or service made anew (a reload, a service deleted and added
 * again) never repeats an old one's revision.
 */
let revisions = 0;

export class IpvsTable {
  /**
   * Changes whenever a service is added or removed (not when one is edited, nor when its destinations
   * change: each service has its own destsRevision). A dump's later part rebuilds its view of the live
   * list only when the list it walks has changed, instead of once per part over the whole table.
   */
  servicesRevision = ++revisions;
  private readonly services = new Map<string, Svc>();
  /**
   * Deleted destinations by trashSlot, oldest first (a destination deleted again is moved to the end), so
   * re-adding one is a lookup and expiry drops from the front: a scan of the whole trash per add made
   * re-adding 20 000 destinations take a minute.
   */
  private readonly trash = new Map<string, Trashed>();
  private nextId = 1;
  /** ipvs->mixed_address_family_dests */
  private mixedDests = 0;
  readonly daemons = new Map<number, DaemonConfig>();
  /** Timeouts in ticks: TCP established, TCP FIN_WAIT, UDP. */
  private readonly timeoutTicks: { tcp: number; fin: number; udp: number };

  constructor(private readonly o: TableOptions) {
    this.timeoutTicks = { tcp: 900 * o.hz, fin: 120 * o.hz, udp: 300 * o.hz };
  }

  // Lookups

  /** The table in the kernel's dump order: address-keyed services, then fwmark services. */
  list(): Svc[] {
    const byAddress: Svc[] = [];
    const byMark: Svc[] = [];
    for (const s of this.services.values()) (s.fwmark ? byMark : byAddress).push(s);
    return byAddress.concat(byMark);
  }

  /** Every service, in no particular order, without a copy of the table. */
  all(): IterableIterator<Svc> {
    return this.services.values();
  }

  find(r: Pick<ServiceRequest, 'af' | 'protocol' | 'addr' | 'port' | 'fwmark'>): Svc | undefined {
    return this.services.get(svcKey(r.af, r.protocol, r.addr, r.port, r.fwmark));
  }

  afValid(af: number): boolean {
    return af === C.AF_INET || (af === C.AF_INET6 && this.o.ipv6);
  }

  /** Whether a sync daemon runs (ipvs->sync_state != 0). */
  get syncState(): number {
    let s = 0;
    for (const k of this.daemons.keys()) s |= k;
    return s;
  }

  // Services

  /** ip_vs_add_service() */
  addService(u: ServiceRequest): void {
    const full = u.full as NonNullable<ServiceRequest['full']>;
    const sched = this.scheduler(full.sched);
    const pe = this.engine(full.pe);
    this.checkNetmask(u.af, full.netmask);
    const flags = ((0 & ~full.mask) | (full.flags & full.mask)) >>> 0;
    const s: Svc = {
      id: this.nextId++,
      af: u.af,
      protocol: u.protocol,
      addr: normaliseAddress(u.af, u.addr),
      port: u.port,
      fwmark: u.fwmark,
      sched,
      pe,
      flags: ((flags & ~C.IP_VS_SVC_F_HASHED) | C.IP_VS_SVC_F_HASHED) >>> 0,
      timeoutTicks: Math.imul(full.timeout, this.o.hz) >>> 0,
      netmask: full.netmask,
      stats: zeroStats(),
      dests: [],
      destsRevision: ++revisions,
    };
    this.services.set(svcKey(s.af, s.protocol, s.addr, s.port, s.fwmark), s);
    this.servicesRevision = ++revisions;
  }

  /** ip_vs_edit_service(); the flags are merged with the service's own under the request's mask. */
  editService(s: Svc, u: ServiceRequest): void {
    const full = u.full as NonNullable<ServiceRequest['full']>;
    const sched = this.scheduler(full.sched);
    const pe = this.engine(full.pe);
    this.checkNetmask(u.af, full.netmask);
    const merged = ((s.flags & ~full.mask) | (full.flags & full.mask)) >>> 0;
    s.sched = sched;
    s.pe = pe;
    s.flags = (merged | C.IP_VS_SVC_F_HASHED) >>> 0;
    s.timeoutTicks = Math.imul(full.timeout, this.o.hz) >>> 0;
    s.netmask = full.netmask;
  }

  /** ip_vs_del_service(): its destinations go to the trash. */
  deleteService(s: Svc): void {
    const vkey = trashKey(s);
    for (const d of s.dests) this.unlink(s, d, vkey);
    s.dests = [];
    s.destsRevision = ++revisions;
    this.services.delete(svcKey(s.af, s.protocol, s.addr, s.port, s.fwmark));
    this.servicesRevision = ++revisions;
  }

  flush(): void {
    for (const s of this.list()) this.deleteService(s);
  }

  zero(s?: Svc): void {
    for (const svc of s ? [s] : this.list()) {
      clearStats(svc.stats);
      for (const d of svc.dests) clearStats(d.stats);
    }
  }

  private scheduler(name: string): string | undefined {
    if (name === 'none') return undefined;
    if (!this.o.schedulers.has(name)) throw new FakeErrno(ENOENT); // "Scheduler module ip_vs_%s not found"
    return name;
  }

  private engine(name: string | undefined): string | undefined {
    if (name === undefined || name === '') return undefined;
    if (!this.o.persistenceEngines.has(name)) throw new FakeErrno(ENOENT);
    return name;
  }

  private checkNetmask(af: number, netmask: Buffer): void {
    if (af !== C.AF_INET6) return;
    const plen = netmask.readUInt32LE(0);
    if (plen < 1 || plen > 128) throw new FakeErrno(EINVAL);
  }

  // Destinations

  /**
   * The checks ip_vs_genl_set_cmd() makes on a destination before the command itself: the family
   * defaults to the service's, must be supported, and a destination of the other family needs
   * tunnelling and no running sync daemon.
   */
  resolveDestFamily(s: Svc, u: DestRequest, deleting: boolean): number {
    const af = u.af === 0 ? s.af : u.af;
    if (!this.afValid(af)) throw new FakeErrno(EAFNOSUPPORT);
    if (af !== s.af && !deleting) {
      if (this.syncState) throw new FakeErrno(EINVAL);
      if (u.full?.fwd !== C.IP_VS_CONN_F_TUNNEL) throw new FakeErrno(EINVAL);
    }
    return af;
  }

  private checkDestValues(f: NonNullable<DestRequest['full']>): void {
    if (f.weight < 0) throw new FakeErrno(ERANGE);
    if (f.lower > f.upper) throw new FakeErrno(ERANGE);
    if (f.tunType === C.IP_VS_CONN_F_TUNNEL_TYPE_GUE && f.tunPort === 0) throw new FakeErrno(EINVAL);
  }

  /** ip_vs_add_dest() */
  addDest(s: Svc, af: number, u: DestRequest): void {
    const f = u.full as NonNullable<DestRequest['full']>;
    this.checkDestValues(f);
    const addr = normaliseAddress(af, u.addr);
    if (s.dests.some((d) => destMatches(d, af, addr, u.port))) throw new FakeErrno(EEXIST);
    let dest = this.fromTrash(s, af, addr, u.port);
    if (!dest) {
      if (!this.o.network.acceptsDestination(af, addr)) throw new FakeErrno(EINVAL);
      dest = { af, addr, port: u.port, fwd: 0, weight: 0, upper: 0, lower: 0, tunType: 0, tunPort: 0, tunFlags: 0, active: 0, inactive: 0, persistent: 0, stats: zeroStats() };
    }
    update(dest, f);
    if (af !== s.af) this.mixedDests++;
    s.dests.unshift(dest);
    s.destsRevision = ++revisions;
  }

  /** ip_vs_edit_dest() */
  editDest(s: Svc, af: number, u: DestRequest): void {
    const f = u.full as NonNullable<DestRequest['full']>;
    this.checkDestValues(f);
    const dest = s.dests.find((d) => destMatches(d, af, u.addr, u.port));
    if (!dest) throw new FakeErrno(ENOENT);
    update(dest, f);
  }

  /** ip_vs_del_dest() */
  deleteDest(s: Svc, af: number, u: DestRequest): void {
    const i = s.dests.findIndex((d) => destMatches(d, af, u.addr, u.port));
    const dest = s.dests[i];
    if (!dest) throw new FakeErrno(ENOENT);
    s.dests.splice(i, 1);
    this.unlink(s, dest);
    s.destsRevision = ++revisions;
  }

  private unlink(s: Svc, d: Dest, vkey = trashKey(s)): void {
    if (d.af !== s.af) this.mixedDests--;
    const now = Date.now();
    this.expireTrash(now);
    const slot = trashSlot(vkey, d.af, d.addr, d.port);
    this.trash.delete(slot);
    this.trash.set(slot, { svcId: s.id, dest: d, since: now });
  }

  /** ip_vs_dest_trash_expire(): entries older than the trash period go, oldest first. */
  private expireTrash(now: number): void {
    for (const [slot, t] of this.trash) {
      if (now - t.since <= TRASH_MS) break;
      this.trash.delete(slot);
    }
  }

  /** ip_vs_trash_get_dest(): a recently deleted destination of the same virtual service comes back. */
  private fromTrash(s: Svc, af: number, addr: Buffer, port: number): Dest | undefined {
    this.expireTrash(Date.now());
    const slot = trashSlot(trashKey(s), af, addr, port);
    const t = this.trash.get(slot);
    if (!t) return undefined;
    this.trash.delete(slot);
    // Bound to another service object than before: __ip_vs_update_dest() zeroes its counters.
    if (t.svcId !== s.id) clearStats(t.dest.stats);
    return t.dest;
  }

  // Sync daemons

  /** The tail of ip_vs_genl_new_daemon() and start_sync_thread(), in their order of checks. */
  startDaemon(c: DaemonRequest): void {
    if (this.mixedDests > 0) throw new FakeErrno(EINVAL);
    const cfg: DaemonConfig = { ...c, group: Buffer.from(c.group) };
    if (cfg.groupAf === 0) {
      cfg.groupAf = C.AF_INET;
      cfg.group = Buffer.alloc(16);
      IP_VS_SYNC_GROUP.copy(cfg.group);
    }
    if (!cfg.port) cfg.port = IP_VS_SYNC_PORT;
    if (!cfg.ttl) cfg.ttl = 1;
    const dev = this.o.network.daemonInterface(cfg.ifname);
    if (dev === undefined) throw new FakeErrno(ENODEV);
    const devMtu = dev.mtu;
    const hlen = cfg.groupAf === C.AF_INET6 ? 40 + 8 : 20 + 8;
    const backup = c.state === C.IP_VS_STATE_BACKUP;
    const mtu = backup ? Math.min(Math.max(devMtu, 1500), 65535) : 1500;
    const minMtu = backup ? 1024 : 1;
    cfg.maxLen = cfg.maxLen ? Math.min(Math.max(cfg.maxLen, minMtu), 65535 - hlen) : mtu - hlen;
    if (c.state !== C.IP_VS_STATE_MASTER && c.state !== C.IP_VS_STATE_BACKUP) throw new FakeErrno(EINVAL);
    if (this.daemons.has(c.state)) throw new FakeErrno(EEXIST);
    // The thread's socket (make_send_sock / make_receive_sock): a master connects to the group, which
    // needs a route out of the interface (none when it is down; for IPv6 none on loopback or where
    // IPv6 is off); a backup joins the group, which for IPv6 needs IPv6 on the interface.
    const v6 = cfg.groupAf === C.AF_INET6;
    if (!backup && (!dev.up || (v6 && (dev.loopback || !dev.ipv6)))) {
      // With no route, an IPv6 connect() still picks a source address first (ip6_dst_lookup_tail()), and
      // without an outgoing device it looks on every interface: with none in the namespace, EADDRNOTAVAIL.
      throw new FakeErrno(v6 && !this.o.network.anyIpv6Source() ? EADDRNOTAVAIL : ENETUNREACH);
    }
    // Its connect() then picks a source address among the interface's own (a multicast destination).
    if (!backup && v6 && !dev.ipv6Source) throw new FakeErrno(EADDRNOTAVAIL);
    if (backup && v6 && !dev.ipv6) throw new FakeErrno(EINVAL);
    this.daemons.set(c.state, cfg);
  }

  /** stop_sync_thread() */
  stopDaemon(state: number): void {
    if (state !== C.IP_VS_STATE_MASTER && state !== C.IP_VS_STATE_BACKUP) throw new FakeErrno(EINVAL);
    if (!this.daemons.delete(state)) throw new FakeErrno(ESRCH);
    // kthread_stop() of a thread that never ran returns -EINTR, which stop_sync_thread() passes on
    // after tearing the daemon down.
    if (this.o.idleDaemonThreads) throw new FakeErrno(EINTR);
  }

  // Timeouts

  timeouts(): { tcp: number; tcpFin: number; udp: number } {
    const hz = this.o.hz;
    return { tcp: Math.floor(this.timeoutTicks.tcp / hz), tcpFin: Math.floor(this.timeoutTicks.fin / hz), udp: Math.floor(this.timeoutTicks.udp / hz) };
  }

  /** ip_vs_genl_set_config() and ip_vs_set_timeout(): unset values keep theirs, 0 leaves one unchanged. */
  setTimeouts(t: { tcp?: number | undefined; tcpFin?: number | undefined; udp?: number | undefined }): void {
    const cur = this.timeouts();
    const want = { tcp: t.tcp ?? cur.tcp, tcpFin: t.tcpFin ?? cur.tcpFin, udp: t.udp ?? cur.udp };
    const limit = Math.floor(INT_MAX / this.o.hz);
    for (const v of [want.tcp, want.tcpFin, want.udp]) {
      const signed = v | 0; // the kernel's int
      if (signed < 0 || signed > limit) throw new FakeErrno(EINVAL);
    }
    if (want.tcp) this.timeoutTicks.tcp = want.tcp * this.o.hz;
    if (want.tcpFin) this.timeoutTicks.fin = want.tcpFin * this.o.hz;
    if (want.udp) this.timeoutTicks.udp = want.udp * this.o.hz;
  }

  /** The service timeout as reported: the ticks divided back by HZ (large values wrapped on the way in). */
  serviceTimeout(s: Svc): number {
    return Math.floor(s.timeoutTicks / this.o.hz);
  }
}

function update(d: Dest, f: NonNullable<DestRequest['full']>): void {
  d.fwd = f.fwd;
  d.weight = f.weight;
  d.upper = f.upper;
  d.lower = f.lower;
  d.tunType = f.tunType;
  d.tunPort = f.tunPort;
  d.tunFlags = f.tunFlags;
}

function clearStats(s: FakeStats): void {
  for (const k of STATS_FIELDS) s[k] = 0n;
}
