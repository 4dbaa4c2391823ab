// The public data types of the IPVS table, as plain JSON-friendly objects (bigint only for 64-bit
// counters). Inputs ("specs") are what callers write; outputs carry everything the kernel reports.
import type { RequestOptions } from '../netlink/connection.js';

// The exported lists are frozen: validation, the guards and the decoder read them, and JavaScript has no readonly.
/** The protocols Linux balances, which ipvsadm names (`-t`, `-u`, `--sctp-service`). */
export const PROTOCOLS = Object.freeze(['tcp', 'udp', 'sctp'] as const);
export type Protocol = (typeof PROTOCOLS)[number];
export type AddressFamily = 'ipv4' | 'ipv6';

/** The scheduler modules of Linux 6.1 (ip_vs_*.ko), in ipvsadm's order. */
export const SCHEDULERS = Object.freeze(['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'] as const);
/**
 * The scheduler names a service takes: every module of 6.1, 'twos' (ip_vs_twos, Linux 6.2 and later: a table
 * read from a newer kernel must be writable back; 6.1 answers ENOENT), and 'none', which Linux takes as no
 * scheduler at all (the service picks no destination for new connections itself; e.g. a backup director's
 * services, whose connections come from the sync daemon). No module is loaded for it.
 */
export const SCHEDULER_NAMES = Object.freeze([...SCHEDULERS, 'twos', 'none'] as const);
export type Scheduler = (typeof SCHEDULER_NAMES)[number];

/** Persistence engines the kernel has (ip_vs_pe_sip.ko). */
export const PERSISTENCE_ENGINES = Object.freeze(['sip'] as const);
export type PersistenceEngine = (typeof PERSISTENCE_ENGINES)[number];

/**
 * Forwarding methods of a destination. Inputs take masq, route or tunnel; the kernel may report
 * local (the destination is an address of this host) or bypass.
 */
export const FORWARDING_METHODS = Object.freeze(['masq', 'route', 'tunnel', 'local', 'bypass'] as const);
export type Forwarding = (typeof FORWARDING_METHODS)[number];
// Written out, not derived from FORWARDING_INPUTS: compiler messages then name ForwardingInput.
export type ForwardingInput = 'masq' | 'route' | 'tunnel';
/** The forwarding methods a destination can be given (local and bypass are the kernel's to report). */
export const FORWARDING_INPUTS = Object.freeze(['masq', 'route', 'tunnel'] as const satisfies readonly ForwardingInput[]);
/** Tunnel types, at the index of the kernel's number (IP_VS_CONN_F_TUNNEL_TYPE_*). */
export const TUNNEL_TYPES = Object.freeze(['ipip', 'gue', 'gre'] as const);
export type TunnelType = (typeof TUNNEL_TYPES)[number];
export type TunnelChecksum = 'nocsum' | 'csum' | 'remcsum';

/**
 * Service flags other than persistence (which has its own field). The scheduler flag bits
 * IP_VS_SVC_F_SCHED1..3 have a scheduler's name where it gives them one (sh-fallback/sh-port,
 * mh-fallback/mh-port = SCHED1/SCHED2) and the generic name flag-1..flag-3 otherwise, as ipvsadm's `-b`.
 */
export type ServiceFlag =
  | 'one-packet'
  | 'sh-fallback'
  | 'sh-port'
  | 'mh-fallback'
  | 'mh-port'
  | 'flag-1'
  | 'flag-2'
  | 'flag-3';

/** A virtual service named by protocol, virtual address and port (`-t`, `-u`, `--sctp-service`). */
export interface AddressServiceKey {
  /**
   * 'tcp', 'udp' or 'sctp'; or an IP protocol number (0..255; the kernel keeps 16 bits, so up to 65535), which
   * names a service of a protocol ipvsadm has no option for: Linux keeps such a service (another tool may
   * have made one) but never balances it. Such services are read back with the number; they can be read,
   * updated and deleted, never added. 6, 17 and 132 are always read back, and accepted, as their names: a key
   * given 6 behaves exactly as 'tcp'.
   */
  protocol: Protocol | number;
  /** IPv4 dotted quad or IPv6 (normalised to RFC 5952 in outputs). */
  address: string;
  /** 0..65535; 0 with persistence makes a port-0 (all ports, PCC) service. */
  port: number;
}

/** A virtual service named by firewall mark (`-f`). */
export interface FwmarkServiceKey {
  /** 1..4294967295 */
  fwmark: number;
  /** Default 'ipv4'. */
  family?: AddressFamily;
}

export type ServiceKey = AddressServiceKey | FwmarkServiceKey;

export interface PersistenceSpec {
  /** Seconds, 1..2678400 (31 days, ipvsadm's bound); default 300, ipvsadm's documented value (ipvsadm 1.31's `-p` alone gives 360, and so does `ipvs -p`). */
  timeout?: number;
  /**
   * IPv4: a contiguous dotted mask such as '255.255.255.0' (or a prefix length 0..32); IPv6: a prefix length
   * 1..128 (or '/64', or a contiguous mask written as an address). Default: the host mask.
   */
  netmask?: string | number;
}

/** What `addService` / `updateService` take. */
export type ServiceSpec = ServiceKey & {
  /** Default 'wlc', as ipvsadm. */
  scheduler?: Scheduler;
  /** Persistence on (with options) or off. `true` means `{ timeout: 300 }` with the host netmask. */
  persistence?: PersistenceSpec | boolean;
  flags?: readonly ServiceFlag[];
  persistenceEngine?: PersistenceEngine;
};

/**
 * A service read back from the client (it has `rawFlags`), changed or not, as addService/updateService take it
 * back: `{ ...service, scheduler: 'wrr' }`. Its scheduler and engine are strings because the kernel may report
 * names this library does not take (an out-of-tree scheduler); those, and the other values only another tool
 * sets (a protocol number to add, a persistence timeout of 0), are refused when called, with a ValidationError
 * naming the field, before anything is sent. A spec written by hand is a ServiceSpec, whose names are checked
 * by the compiler.
 */
export type ReadBackServiceSpec = ServiceKey & {
  rawFlags: number;
  scheduler?: string;
  persistence?: PersistenceSpec | boolean;
  flags?: readonly ServiceFlag[];
  persistenceEngine?: string;
};

/**
 * Counters and rates. Counters are bigint because the kernel keeps them in 64 bits
 * (IPVS_*_ATTR_STATS64); rates are per-second estimates and fit a number.
 */
export interface Stats {
  conns: bigint;
  inPackets: bigint;
  outPackets: bigint;
  inBytes: bigint;
  outBytes: bigint;
  cps: number;
  inPps: number;
  outPps: number;
  inBps: number;
  outBps: number;
}

/**
 * An attribute the decoder did not know (from a newer kernel), kept rather than dropped. Decoded objects
 * carry these in a non-enumerable `unknownAttributes` property, present only when there are any, so
 * plain data stays plain (JSON, deep equality) while nothing the kernel said is lost.
 */
export interface UnknownAttribute {
  /** The attribute type, NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off. */
  type: number;
  /** A copy of the payload. */
  data: Uint8Array;
}

export interface Persistence {
  /** Seconds. */
  timeout: number;
  /** IPv4: dotted mask; IPv6: prefix length. */
  netmask: string | number;
}

interface ServiceCommon {
  family: AddressFamily;
  scheduler: string;
  /** Present when the service is persistent. */
  persistence?: Persistence;
  flags: ServiceFlag[];
  persistenceEngine?: string;
  stats: Stats;
  /** The raw IP_VS_SVC_F_* flags word as reported. */
  rawFlags: number;
  /** Non-enumerable; see UnknownAttribute. */
  unknownAttributes?: readonly UnknownAttribute[];
}

/**
 * A virtual service as the kernel reports it. `protocol` is a number only for a protocol other than TCP, UDP
 * and SCTP (a service Linux keeps but does not balance; see AddressServiceKey).
 */
export type Service = ServiceCommon &
  (
    | { protocol: Protocol | number; address: string; port: number; fwmark?: undefined }
    | { fwmark: number; protocol?: undefined; address?: undefined; port?: undefined }
  );

export interface TunnelSpec {
  /**
   * A number is refused: it is taken only so that a destination read back (whose tunnel type may be a number,
   * see Destination) is still a DestinationSpec to the compiler, as the usual read-change-update loop wants.
   */
  type: TunnelType | number;
  /** Needed for gue (the UDP port of the receiver), not allowed otherwise. */
  port?: number;
  /** Default 'nocsum'. */
  checksum?: TunnelChecksum;
}

/** What `addDestination` / `updateDestination` take. */
export interface DestinationSpec {
  address: string;
  /** Default: the service's port (0 for fwmark services). */
  port?: number;
  /** Default 'route' (direct routing), as ipvsadm. */
  forwarding?: ForwardingInput;
  /** 0..2147483647; 0 quiesces; default 1. */
  weight?: number;
  /** Maximum connections, 0..4294967295 (the kernel's u32; ipvsadm takes up to 2147483647); 0 (the default) means no limit. */
  upperThreshold?: number;
  /** Connections below which an overloaded server is used again, at most upperThreshold; default 0. */
  lowerThreshold?: number;
  /** Only with forwarding 'tunnel'. */
  tunnel?: TunnelSpec;
}

/**
 * A destination read back from the client (it has `family`), changed or not, as addDestination/updateDestination
 * take it back: `{ ...destination, weight: 0 }`. Its forwarding may be what the kernel reports (`local`,
 * `bypass`, a number) and its tunnel type a number; those are refused when called (a ValidationError naming
 * `destination.forwarding` or `destination.tunnel.type`), before anything is sent. A spec written by hand is a
 * DestinationSpec, whose forwarding the compiler checks.
 */
export interface ReadBackDestinationSpec extends Omit<DestinationSpec, 'forwarding'> {
  family: AddressFamily;
  forwarding?: Forwarding | number;
}

/** Names a destination of a service. */
export interface DestinationKey {
  address: string;
  port?: number;
}

/** A destination (real server) as the kernel reports it. */
export interface Destination {
  address: string;
  family: AddressFamily;
  port: number;
  /**
   * A number only for a method Linux keeps but has no name for (5..7: `IP_VS_CONN_F_FWD_MASK` keeps 3 bits);
   * only another tool sets one, and Linux has no transmitter for it.
   */
  forwarding: Forwarding | number;
  weight: number;
  upperThreshold: number;
  lowerThreshold: number;
  /**
   * Present for tunnel destinations. `type` is a number only for one past gre (Linux keeps any 8-bit type and
   * encapsulates it as ipip).
   */
  tunnel?: { type: TunnelType | number; port: number; checksum: TunnelChecksum };
  activeConns: number;
  inactiveConns: number;
  persistentConns: number;
  stats: Stats;
  /** Non-enumerable; see UnknownAttribute. */
  unknownAttributes?: readonly UnknownAttribute[];
}

/** Options of the reads that return services or destinations (the client's, and what save and plan pass on). */
export interface ReadOptions extends RequestOptions {
  /**
   * false: read the configuration only. Statistics are not decoded and the objects have no `stats` field
   * (typed WithoutStats<...>); a big table reads markedly faster (reconcile, export and save read so).
   * Default true.
   */
  stats?: boolean;
}

/**
 * An object as a read with `stats: false` returns it: every field but `stats` (for a union such as Service,
 * each member without it). Reconcile loops and saves read the configuration only; statistics are a large
 * share of decoding a big table.
 */
export type WithoutStats<T> = T extends unknown ? Omit<T, 'stats'> : never;

/**
 * Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`), 0..2678400 when set. 0 in a setter leaves
 * one unchanged.
 */
export interface Timeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}

export type DaemonState = 'master' | 'backup';

export interface DaemonSpec {
  state: DaemonState;
  /** Multicast interface name, 1..15 bytes, e.g. 'eth0'. */
  interface: string;
  /** 0..255; default 0. */
  syncId?: number;
  /** Maximum UDP payload of sync messages, 1..65535 (the kernel clamps it); default from the MTU. */
  syncMaxLen?: number;
  /** IPv4 or IPv6 multicast group; default 224.0.0.81 (the kernel's). */
  mcastGroup?: string;
  /** 1..65535; default 8848 (the kernel's). */
  mcastPort?: number;
  /** 1..255; default 1 (the kernel's). */
  mcastTtl?: number;
}

export interface Daemon {
  state: DaemonState;
  interface: string;
  syncId: number;
  syncMaxLen?: number;
  mcastGroup?: string;
  mcastPort?: number;
  mcastTtl?: number;
  /** Non-enumerable; see UnknownAttribute. */
  unknownAttributes?: readonly UnknownAttribute[];
}

export interface Info {
  /** e.g. '1.2.1' */
  version: string;
  /** IP_VS_VERSION_CODE as reported, e.g. 0x010201. */
  versionCode: number;
  /** Size of the connection hash table. */
  connectionTableSize: number;
}
