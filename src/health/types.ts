// The public shapes of the health checker: what a person writes (a config naming services, their real
// servers, the checks and the sorry server), what the checker reports (events, a status snapshot, check
// results) and what it needs from its surroundings (a client, a logger). Plain JSON-friendly data except
// where a function is the point (a custom check, a RegExp body match); `ipvs health CONFIG` reads the
// same shapes from a JSON file.

import type { Ipvs } from '../client.js';
import type { Operation } from '../ipvs/operations.js';
import type { DestinationKey, DestinationSpec, ServiceKey, ServiceSpec } from '../ipvs/types.js';
import type { IpvsError } from '../netlink/errors.js';

/** How often and how patiently a destination is checked. Every field has a default. */
export interface CheckTiming {
  /**
   * Time between the end of one check and the start of the next (after start-up's check, a random part of it, so
   * servers' checks spread over the interval). Default 5000 (the seed script's 5 s).
   */
  intervalMs?: number;
  /** A check that has not succeeded by then has failed. Default 2000. */
  timeoutMs?: number;
  /** Consecutive good checks before a down server is up again. Default 2. */
  rise?: number;
  /** Consecutive failed checks before an up server is down. Default 3. */
  fall?: number;
  /**
   * Up to this much is added at random to every wait, so checks of many servers drift apart. Default intervalMs / 10.
   * 0 adds none; the first wait after start-up is still a random part of intervalMs (see intervalMs).
   */
  jitterMs?: number;
}

interface CheckAddressing {
  /** Check this address instead of the destination's own (e.g. a management address). */
  address?: string;
  /** Check this port instead of the destination's (needed when the destination's port is 0). */
  port?: number;
  /**
   * Source address for the check's connection. Default: the one Linux picks, which on an IPv6
   * direct-routing director holding its VIP as a /128 on the servers' interface is the VIP (see docs/health.md).
   */
  localAddress?: string;
}

/** HTTP(S) GET; healthy when the status (and the body, when `body` is given) is as expected. */
export interface HttpCheck extends CheckTiming, CheckAddressing {
  type: 'http' | 'https';
  /** Default '/'. */
  path?: string;
  /**
   * The Host header, as written: 'name', 'name:port', an IPv4 address with an optional port, or an IPv6
   * address in brackets ('[2001:db8::1]', '[2001:db8::1]:8443'). HTTPS verifies the certificate against its
   * name or address (and sends a name, never an address, as the TLS server name). Default: the address and
   * port checked.
   */
  host?: string;
  /** Accepted status codes. Default: any 2xx or 3xx. */
  expectStatus?: number | readonly number[];
  /** The body must contain this text (or match this expression); the first 64 KiB are read. */
  body?: string | RegExp;
  headers?: Readonly<Record<string, string>>;
  /** HTTPS: verify the server's certificate. Default true; false for self-signed backends. */
  tlsVerify?: boolean;
}

/** A TCP connection that opens is healthy. */
export interface TcpCheck extends CheckTiming, CheckAddressing {
  type: 'tcp';
}

/**
 * One datagram sent from a connected UDP socket; healthy when a datagram comes back within the timeout (and
 * matches `expect` or `expectHex` when given). An ICMP port unreachable fails at once. Give exactly one of
 * `payload` and `payloadHex` (1 to 65 507 bytes), and at most one of `expect` and `expectHex`.
 */
export interface UdpCheck extends CheckTiming, CheckAddressing {
  type: 'udp';
  /** The datagram as text, sent as UTF-8 (e.g. a syslog line, a SIP OPTIONS request). */
  payload?: string;
  /** The datagram as hexadecimal bytes, whitespace allowed: '1234 0100 0001 ...' (e.g. a DNS query). */
  payloadHex?: string;
  /** The reply, read as UTF-8, must contain this text (or match this expression). */
  expect?: string | RegExp;
  /** The reply must begin with these bytes, in hexadecimal (e.g. a DNS query's ID). */
  expectHex?: string;
}

/** What a check is pointed at: a copy, the check's to change (the checker's own spec stays as configured). */
export interface CheckTarget {
  /** Address and port the check contacts. */
  address: string;
  port: number;
  service: ServiceKey;
  /** The destination as configured. */
  destination: DestinationSpec;
}

/**
 * A check written in code. Resolving to true (or nothing) is healthy; false or a throw is a failure (the
 * error's message is the reason), and so is any other answer (a fetch Response, 'false', 0, null), which
 * is a mistake. The signal aborts when the timeout passes or the checker stops.
 */
export type CheckFunction = (target: CheckTarget, signal: AbortSignal) => Promise<boolean | void> | boolean | void;

export interface CustomCheck extends CheckTiming, CheckAddressing {
  type: 'custom';
  run: CheckFunction;
  /** How log lines name it. Default 'custom check'. */
  name?: string;
}

export type CheckSpec = HttpCheck | TcpCheck | UdpCheck | CustomCheck;

/**
 * A check at one level of the config (config, service, destination). Its fields override the level
 * above; when it names another type, only the fields every type shares (timing, address, port,
 * localAddress) are inherited. A udp check's `payload` or `payloadHex` (`expect` or `expectHex`) replaces
 * the other one given above.
 */
export type CheckOverride = Partial<HttpCheck> | Partial<TcpCheck> | Partial<UdpCheck> | Partial<CustomCheck>;

/**
 * What happens to a server that is down: weight 0 (its connections finish; the default) or deleted (the
 * default for a persistent service and a UDP service, whose clients and flows weight 0 would not move).
 */
export type FailureAction = 'quiesce' | 'remove';

/** A real server and, optionally, how to check it. Its configured weight is restored when it comes back. */
export type HealthDestination = DestinationSpec & { check?: CheckOverride };

/** A virtual service, its real servers, and what to do when they fail. */
export type HealthService = ServiceSpec & {
  destinations: readonly HealthDestination[];
  check?: CheckOverride;
  /**
   * The fail-back server: added when every real server is down, removed when one is back. Forwarding
   * defaults to 'route' for a loopback address (a server on the director itself, as the seed's 127.0.0.1;
   * works whatever the real servers use) and to the real servers' forwarding otherwise.
   */
  sorryServer?: DestinationSpec;
  onFailure?: FailureAction;
};

/** Everything the checker keeps healthy. `check` and `onFailure` are defaults for every service. */
export interface HealthConfig {
  services: readonly HealthService[];
  check?: CheckOverride;
  onFailure?: FailureAction;
  /**
   * At most this many checks run at once; the others wait their turn (their timeout starts when they run).
   * Default: a quarter of the process's limit on open files, at most 1 024 or what the checks need at once if every
   * one times out, when that is more (256 under `ulimit -n 1024`; docs/health.md, Sizing).
   */
  maxChecksInFlight?: number;
}

/** The outcome of one check. */
export interface CheckResult {
  ok: boolean;
  /** For people: 'HTTP 200', 'connection refused', 'UDP reply of 45 bytes', 'no answer within 2000 ms'. */
  detail: string;
  durationMs: number;
}

export type HealthStatus = 'up' | 'down';

/** Where log lines go. `console` fits; the library never logs by itself. */
export interface HealthLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Every check result, when given. */
  debug?(message: string): void;
}

/** The client calls the checker makes. `Ipvs` has them; the CLI's client too. */
export type HealthClient = Pick<Ipvs, 'services' | 'service' | 'addService' | 'deleteService' | 'destinations' | 'execute'>;

interface EventBase {
  service: ServiceKey;
  /** e.g. 'tcp 192.168.1.110:80' */
  serviceId: string;
}

interface DestinationEventBase extends EventBase {
  destination: Required<DestinationKey>;
  /** e.g. '192.168.1.116:80' */
  destinationId: string;
}

/** A real server changed state: `fall` checks failed in a row, `rise` passed in a row, or its first check. */
export interface TransitionEvent extends DestinationEventBase {
  status: HealthStatus;
  previous: HealthStatus | 'unknown';
  /** The check that decided it. */
  result: CheckResult;
  /** How many checks in a row agreed. */
  consecutive: number;
}

export interface CheckEvent extends DestinationEventBase {
  result: CheckResult;
  /** The server's state after this result was counted. */
  status: HealthStatus;
}

/**
 * A check that could not run for want of something of the checker's own host, not of the server: open files
 * (EMFILE, ENFILE), kernel memory (ENOBUFS, ENOMEM), an ephemeral port or the source address (EADDRNOTAVAIL,
 * EADDRINUSE). The server's state and its count of checks in a row are left as they were; the check is tried
 * again soon.
 */
export interface UncheckedEvent extends DestinationEventBase {
  /** `ok` false; `detail` says what ran short. */
  result: CheckResult;
  /** The errno name: 'EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL' or 'EADDRINUSE'. */
  code: string;
  /** The server's state, unchanged ('unknown' before its first check that ran). */
  status: HealthStatus | 'unknown';
}

/** The sorry server went in (every real server down) or out (one is back). Sent once the kernel has it. */
export interface SorryEvent extends DestinationEventBase {
  active: boolean;
}

/** One change the kernel accepted (a destination, or the re-creation of a service someone deleted). */
export interface ChangeEvent extends EventBase {
  operation: Operation;
  description: string;
}

/** A kernel change or read of one service that failed; the checker re-reads the table and tries again. */
export interface FailureEvent extends EventBase {
  /**
   * What the client threw or reported: a KernelError, a TimeoutError, ...; `ENOTSENT` ('not attempted') for a
   * change execute() skipped. Always an IpvsError: one a client of your own throws that is not one comes
   * wrapped (its message, its string `code` or `EIO`, the original as `cause`).
   */
  error: IpvsError;
  description: string;
}

export interface HealthEvents {
  up: TransitionEvent;
  down: TransitionEvent;
  sorry: SorryEvent;
  check: CheckEvent;
  /** A check could not run for a reason of the checker's own (out of file descriptors, ...): nothing changes. */
  unchecked: UncheckedEvent;
  change: ChangeEvent;
  /** Not Node's special 'error': nothing throws when no one listens. */
  error: FailureEvent;
}

export interface DestinationHealth {
  destination: Required<DestinationKey>;
  destinationId: string;
  status: HealthStatus | 'unknown';
  /** Checks in a row with the latest outcome. */
  consecutive: number;
  /** The last check that ran (one that could not run is in `unchecked`). */
  lastResult?: CheckResult;
  /** The weight restored when it is up. */
  weight: number;
  /**
   * Present while this server's checks cannot run for want of the checker's own resources (EMFILE, ...; the
   * `unchecked` event): how many in a row, the latest one's errno name and result. `status` and `lastResult`
   * are then from before, no newer verdict being known.
   */
  unchecked?: { count: number; code: string; result: CheckResult };
  /**
   * Present while the kernel refuses to take this server as a destination (its add refused with EINVAL: an
   * IPv4-mapped or a foreign link-local address): how many adds in a row, the latest one's errno name and message.
   * It is out of the table and counts as down for the sorry server, whatever `status` its checks give it.
   */
  refused?: { count: number; code: string; message: string };
}

export interface ServiceHealth {
  service: ServiceKey;
  serviceId: string;
  destinations: DestinationHealth[];
  /** The sorry server is (believed to be) in the table. */
  sorryActive: boolean;
}
