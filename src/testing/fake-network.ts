// The little of the network stack the fake kernel needs: the interfaces of its network namespace (a
// sync daemon binds to one by name, sizes its messages from the MTU, and its sockets need the interface
// up and, for IPv6, IPv6 on it) and the kernel's address classification, which decides whether a
// destination address is acceptable (inet_addr_type() for IPv4: local or unicast only, so 0.0.0.0,
// multicast, limited and subnet broadcasts are refused; ipv6_addr_type() for IPv6: unicast and not
// link-local, unless the address is one of ours). For IPv4 only interfaces that are up count there (a down
// interface has no broadcast routes); an IPv6 address counts on an interface up or down (Linux flushes them
// when a link goes down, so one listed on a down interface was given while down, in use at once as on a
// dummy: docs/decisions.md). A namespace that has never had an IPv4 address has no IPv4 local routing table
// at all, and inet_addr_type() then calls every IPv4 address broadcast. Address text is parsed here,
// independently of the client's own parser.

import { isIPv4, isIPv6 } from 'node:net';
import { AF_INET, AF_INET6 } from '../ipvs/constants.js';

/** A network interface of the fake kernel's namespace. The one named `lo` is the loopback interface. */
export interface FakeInterface {
  name: string;
  /** Default 1500 (65536 for `lo`). Below 1280 the interface has no IPv6, as on Linux. */
  mtu?: number;
  /** Addresses with prefix length, e.g. '192.168.1.1/24' or '2001:db8::1/64'. */
  addresses?: readonly string[];
  /**
   * Whether the interface is up (default true). A down interface's IPv4 prefixes have no broadcast route (a
   * destination may be a prefix's broadcast address), its IPv6 addresses are still local (as a dummy's given while
   * it is down: Linux flushes an interface's IPv6 addresses when it goes down), and a master sync daemon cannot
   * start on it.
   */
  up?: boolean;
  /**
   * Whether Linux gave the interface its IPv6 link-local address (default true). false: as after
   * `ip link set DEV addrgenmode none`, or for about a second after a veth comes up while duplicate address
   * detection runs; an IPv6 master sync daemon then finds no source address there (EADDRNOTAVAIL) unless
   * `addresses` holds an IPv6 one.
   */
  linkLocal?: boolean;
}

/** What a sync daemon's socket finds on its interface (see FakeNetwork.daemonInterface). */
export interface DaemonInterface {
  mtu: number;
  up: boolean;
  loopback: boolean;
  /** IPv6 is on: Linux turns it off on an interface whose MTU is below IPV6_MIN_MTU (1280). */
  ipv6: boolean;
  /** An IPv6 address to send from: its link-local one, or one of its own (see FakeInterface.linkLocal). */
  ipv6Source: boolean;
}

/** The interfaces a FakeKernel has unless told otherwise. */
export const DEFAULT_INTERFACES: readonly FakeInterface[] = [
  { name: 'lo', mtu: 65536, addresses: ['127.0.0.1/8', '::1/128'] },
  { name: 'eth0', mtu: 1500 },
  { name: 'dum0', mtu: 1500 },
];

export interface IpBytes {
  af: number;
  /** 16 bytes, as the kernel's union nf_inet_addr (IPv4 in the first four). */
  bytes: Buffer;
}

/** Parse IPv4 or IPv6 text (IPv6 may be bracketed); undefined when it is neither. */
export function parseIp(text: string): IpBytes | undefined {
  const bytes = Buffer.alloc(16);
  if (isIPv4(text)) {
    text.split('.').forEach((part, i) => (bytes[i] = Number(part)));
    return { af: AF_INET, bytes };
  }
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!isIPv6(bare) || bare.includes('%')) return undefined;
  let groups = bare;
  const v4tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(groups);
  if (v4tail) {
    const [a, b, c, d] = v4tail.slice(1).map(Number) as [number, number, number, number];
    groups = `${groups.slice(0, v4tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = groups.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  [...left, ...fill, ...right].forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  return { af: AF_INET6, bytes };
}

/**
 * Address text: dotted quad, or IPv6 as the kernel's %pI6c and inet_ntop print it (RFC 5952: lowercase, the
 * longest run of two or more zero groups compressed), with a dotted tail for IPv4-mapped (::ffff:a.b.c.d) and
 * IPv4-compatible (::a.b.c.d, five zero groups before) addresses, as the client and ipvsadm write them.
 */
export function formatIp(af: number, bytes: Buffer): string {
  if (af === AF_INET) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart === 0 && (bestLen === 6 || (bestLen === 5 && groups[5] === 0xffff))) {
    return `${bestLen === 6 ? '::' : '::ffff:'}${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** The kernel keeps only the first four bytes of an IPv4 address (ip_vs_addr_copy); the rest is zero. */
export function normaliseAddress(af: number, raw: Buffer): Buffer {
  const out = Buffer.alloc(16);
  raw.copy(out, 0, 0, Math.min(af === AF_INET ? 4 : 16, raw.length));
  return out;
}

interface Prefix {
  af: number;
  bytes: Buffer;
  length: number;
}

/** An interface address with its prefix length (the whole address without one, as `ip address add` takes it). */
export function parsePrefix(text: string): Prefix {
  const [addr = '', len] = text.split('/');
  const ip = parseIp(addr);
  if (!ip) throw new TypeError(`FakeKernel: not an interface address: ${text}`);
  const max = ip.af === AF_INET ? 32 : 128;
  const length = len === undefined ? max : Number(len);
  if (!Number.isInteger(length) || length < 0 || length > max) throw new TypeError(`FakeKernel: bad prefix length in ${text}`);
  return { af: ip.af, bytes: ip.bytes, length };
}

function v4(bytes: Buffer): number {
  return bytes.readUInt32BE(0);
}

function v4mask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/** The interfaces of one fake network namespace. */
export class FakeNetwork {
  private readonly byName = new Map<string, { mtu: number; up: boolean; linkLocal: boolean; prefixes: Prefix[] }>();
  /** The namespace has its IPv4 local routing table (see FakeKernelOptions.ipv4LocalTable). */
  private readonly localTable: boolean;

  constructor(interfaces: readonly FakeInterface[], ipv4LocalTable?: boolean) {
    for (const i of interfaces) {
      if (typeof i.name !== 'string' || i.name.length === 0 || i.name.length > 15) throw new TypeError(`FakeKernel: bad interface name ${String(i.name)}`);
      const mtu = i.mtu ?? (i.name === 'lo' ? 65536 : 1500);
      this.byName.set(i.name, { mtu, up: i.up ?? true, linkLocal: i.linkLocal ?? true, prefixes: (i.addresses ?? []).map(parsePrefix) });
    }
    // Linux creates the table with the first IPv4 address added, on an interface up or down (its local
    // route goes in either way), and keeps it until the namespace goes, its addresses removed or not.
    this.localTable = ipv4LocalTable ?? [...this.byName.values()].some((i) => i.prefixes.some((p) => p.af === AF_INET));
  }

  /** An interface as a sync daemon sees it, or undefined when there is no such interface (the kernel's ENODEV). */
  daemonInterface(name: string): DaemonInterface | undefined {
    const i = this.byName.get(name);
    if (!i) return undefined;
    const ipv6Source = i.linkLocal || i.prefixes.some((p) => p.af === AF_INET6);
    return { mtu: i.mtu, up: i.up, loopback: name === 'lo', ipv6: i.mtu >= 1280, ipv6Source };
  }

  /**
   * Whether the namespace has an IPv6 address to send from at all, on an interface with IPv6 on (MTU 1280 or
   * more): one of its `addresses`, up or down (as isLocalV6: a dummy given one while down keeps it, usable at once,
   * and Linux picks a source among every interface's addresses), or the link-local one of an interface that is up
   * (lo has only what `addresses` gives it, ::1; an interface gets its link-local address when it comes up, and
   * loses every IPv6 address when it goes down).
   */
  anyIpv6Source(): boolean {
    for (const [name, i] of this.byName) {
      if (i.mtu < 1280) continue;
      if (i.prefixes.some((p) => p.af === AF_INET6) || (i.up && i.linkLocal && name !== 'lo')) return true;
    }
    return false;
  }

  /** Whether the kernel (ip_vs_new_dest) accepts this address for a destination. */
  acceptsDestination(af: number, bytes: Buffer): boolean {
    return af === AF_INET ? this.acceptsV4(bytes) : this.acceptsV6(bytes);
  }

  private acceptsV4(bytes: Buffer): boolean {
    const a = v4(bytes);
    // inet_addr_type(): zeronet and limited broadcast are RTN_BROADCAST, 224/4 RTN_MULTICAST.
    if (a === 0 || a === 0xffffffff || (a & 0xf0000000) >>> 0 === 0xe0000000) return false;
    // Without a local table it answers RTN_BROADCAST for every other address too (a fresh namespace, lo down).
    if (!this.localTable) return false;
    for (const [name, i] of this.byName) {
      if (!i.up) continue;
      for (const p of i.prefixes) {
        if (p.af !== AF_INET) continue;
        const mask = v4mask(p.length);
        const net = (v4(p.bytes) & mask) >>> 0;
        if (((a & mask) >>> 0) !== net) continue;
        // The local table: the address itself, all of lo's prefix, and the prefix's broadcast.
        if (p.length < 31 && a === ((net | ~mask) >>> 0)) return false;
        if (a === v4(p.bytes) || name === 'lo') return true;
      }
    }
    return true;
  }

  private acceptsV6(bytes: Buffer): boolean {
    if (this.isLocalV6(bytes)) return true;
    const first = bytes.readUInt16BE(0);
    if (bytes.every((b) => b === 0)) return false; // ::
    if ((first & 0xff00) === 0xff00) return false; // multicast
    if ((first & 0xffc0) === 0xfe80) return false; // link-local, not ours
    // IPv4-mapped ::ffff:0:0/96 is not IPV6_ADDR_UNICAST.
    if (bytes.subarray(0, 10).every((b) => b === 0) && bytes.readUInt16BE(10) === 0xffff) return false;
    return true;
  }

  /**
   * An IPv6 address of ours, on an interface up or down: one given while it is down stays (Linux flushes them only
   * when a link goes down) and is local at once on a dummy, which does no duplicate address detection, as with
   * `nodad` (one left tentative, on a veth given it while down, is not: the fake does not model that).
   */
  private isLocalV6(bytes: Buffer): boolean {
    for (const i of this.byName.values()) {
      for (const p of i.prefixes) if (p.af === AF_INET6 && p.bytes.equals(bytes)) return true;
    }
    return false;
  }
}
