// Reading and checking a health config. A config is refused as a whole, before anything is checked or
// changed, with a ValidationError naming the path of the bad field (`services[0].destinations[1].check.port`);
// unknown fields are refused too, so a typo such as "intervalMS" cannot silently fall back to a default.
// Services and destinations go through the client's own validators; checks are merged from the three
// levels (config, service, destination) and given their defaults here, so the checker works only with
// complete, normalised data.

import { validateHeaderName, validateHeaderValue } from 'node:http';
import { normalizeAddress, parseAddress } from '../ipvs/address.js';
import { ValidationError } from '../ipvs/errors.js';
import { DESTINATION_FIELDS, Fields, onlyKnownFields, SERVICE_FIELDS } from '../ipvs/fields.js';
import { IPPROTO_TCP, IPPROTO_UDP, IP_VS_SVC_F_PERSISTENT } from '../ipvs/constants.js';
import type { DestinationKey, DestinationSpec, ServiceKey, ServiceSpec } from '../ipvs/types.js';
import { destinationKeyText, PROTOCOL_NAMES, validateDestinationSpec, validateServiceSpec, type WireServiceKey } from '../ipvs/validate.js';
import { refuseDuplicateKeys } from '../reconcile/duplicate-keys.js';
import { atPath } from '../reconcile/normalize.js';
import { hostName } from './http-check.js';
import { UDP_PAYLOAD_MAX } from './udp-check.js';
import { defaultChecksInFlight } from './limits.js';
import type { CheckOverride, CheckSpec, FailureAction, HealthConfig, HealthDestination } from './types.js';

export const DEFAULT_INTERVAL_MS = 5000;
export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_RISE = 2;
export const DEFAULT_FALL = 3;

/** A check with every default filled in and its target resolved. */
export interface NormalCheck {
  spec: CheckSpec;
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  jitterMs: number;
  address: string;
  port: number;
  /** The source address to bind (http, https, tcp, udp), normalised: Node takes no brackets. */
  localAddress?: string;
  /** e.g. 'HTTP GET http://10.0.0.2:80/', 'TCP connect 10.0.0.2:80', 'UDP request 10.0.0.2:53'. */
  label: string;
}

/** A destination spec with every option explicit, as the kernel will hold it. */
export type FullDestinationSpec = Required<Pick<DestinationSpec, 'address' | 'port' | 'forwarding' | 'weight' | 'upperThreshold' | 'lowerThreshold'>> &
  Pick<DestinationSpec, 'tunnel'>;

export interface NormalDestination {
  /** e.g. '192.168.1.116:80', '[2001:db8::2]:443'. */
  id: string;
  key: Required<DestinationKey>;
  spec: FullDestinationSpec;
}

export interface NormalRealServer extends NormalDestination {
  check: NormalCheck;
}

export interface NormalHealthService {
  /** e.g. 'tcp 192.168.1.110:80', 'fwmark 10'. */
  id: string;
  key: ServiceKey;
  /** The service's own options (no health fields), as given. */
  spec: ServiceSpec;
  path: string;
  realServers: NormalRealServer[];
  sorry: NormalDestination | undefined;
  onFailure: FailureAction;
}

// The client's field lists (src/ipvs/fields.ts); the validators check the nested persistence and tunnel objects.
const CONFIG_FIELDS = new Fields(['services', 'check', 'onFailure', 'maxChecksInFlight']);
const HEALTH_SERVICE_FIELDS = new Fields([...SERVICE_FIELDS, 'destinations', 'check', 'sorryServer', 'onFailure']);
const SORRY_FIELDS = new Fields(DESTINATION_FIELDS);
const HEALTH_DESTINATION_FIELDS = new Fields([...DESTINATION_FIELDS, 'check']);
const COMMON_CHECK_FIELDS = ['type', 'intervalMs', 'timeoutMs', 'rise', 'fall', 'jitterMs', 'address', 'port', 'localAddress'];
const SHARED_CHECK_FIELDS = COMMON_CHECK_FIELDS.filter((f) => f !== 'type');
const CHECK_FIELDS: Readonly<Record<CheckSpec['type'], Fields>> = {
  http: new Fields([...COMMON_CHECK_FIELDS, 'path', 'host', 'expectStatus', 'body', 'headers', 'tlsVerify']),
  https: new Fields([...COMMON_CHECK_FIELDS, 'path', 'host', 'expectStatus', 'body', 'headers', 'tlsVerify']),
  tcp: new Fields(COMMON_CHECK_FIELDS),
  udp: new Fields([...COMMON_CHECK_FIELDS, 'payload', 'payloadHex', 'expect', 'expectHex']),
  custom: new Fields([...COMMON_CHECK_FIELDS, 'run', 'name']),
};
const ANY_CHECK_FIELDS = new Fields([...new Set(Object.values(CHECK_FIELDS).flatMap((f) => f.expected))]);

const UDP_ALTERNATIVES = [['payload', 'payloadHex'], ['expect', 'expectHex']] as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function pick<T extends object>(value: Record<string, unknown>, fields: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (value[f] !== undefined) out[f] = value[f];
  return out as T;
}

function integer(path: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(path, value, `must be an integer ${min}..${max}`);
  }
  return value;
}

/**
 * Merge a check override onto the level above (see CheckOverride): every field overrides; when the type
 * changes, only the fields every type shares (timing, address, port, localAddress) are inherited.
 */
export function mergeCheck(base: CheckOverride | undefined, over: CheckOverride | undefined): CheckOverride | undefined {
  if (over === undefined) return base;
  if (base === undefined) return over;
  if (over.type === undefined || base.type === undefined || over.type === base.type) {
    const merged: Record<string, unknown> = { ...base, ...over };
    // A udp check's text and hex spellings are one field each: the level below giving one replaces the other.
    for (const [a, b] of UDP_ALTERNATIVES) {
      if (Object.hasOwn(over, a) && (over as Record<string, unknown>)[a] !== undefined && !Object.hasOwn(over, b)) delete merged[b];
      if (Object.hasOwn(over, b) && (over as Record<string, unknown>)[b] !== undefined && !Object.hasOwn(over, a)) delete merged[a];
    }
    return merged as CheckOverride;
  }
  return { ...pick<object>(base as Record<string, unknown>, SHARED_CHECK_FIELDS), ...over } as CheckOverride;
}

function checkLevel(path: string, value: unknown): CheckOverride | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw new ValidationError(path, value, 'must be an object, e.g. { "type": "http", "path": "/" }');
  const type = value.type;
  if (type !== undefined && !(typeof type === 'string' && Object.hasOwn(CHECK_FIELDS, type))) {
    throw new ValidationError(`${path}.type`, type, "must be 'http', 'https', 'tcp', 'udp' or 'custom'");
  }
  onlyKnownFields(value, type === undefined ? ANY_CHECK_FIELDS : CHECK_FIELDS[type as CheckSpec['type']], path);
  return value as CheckOverride;
}

function failureAction(path: string, value: unknown): FailureAction | undefined {
  if (value === undefined) return undefined;
  if (value !== 'quiesce' && value !== 'remove') throw new ValidationError(path, value, "must be 'quiesce' or 'remove'");
  return value;
}

/** Complete a merged check for one destination, with defaults, validated. */
function normalCheck(path: string, merged: CheckOverride | undefined, dest: NormalDestination): NormalCheck {
  const raw = { type: 'tcp', ...merged } as Record<string, unknown>;
  // The nested values checked below are copied first: what is checked is then what every check sends,
  // whatever the caller later does to its own objects (a header changed to hold a newline, a status list emptied).
  if (isRecord(raw.headers)) raw.headers = { ...raw.headers };
  if (Array.isArray(raw.expectStatus)) raw.expectStatus = [...(raw.expectStatus as unknown[])];
  const type = raw.type as CheckSpec['type'];
  onlyKnownFields(raw, CHECK_FIELDS[type], path);
  const intervalMs = raw.intervalMs === undefined ? DEFAULT_INTERVAL_MS : integer(`${path}.intervalMs`, raw.intervalMs, 1, 86_400_000);
  const timeoutMs = raw.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : integer(`${path}.timeoutMs`, raw.timeoutMs, 1, 3_600_000);
  const rise = raw.rise === undefined ? DEFAULT_RISE : integer(`${path}.rise`, raw.rise, 1, 1000);
  const fall = raw.fall === undefined ? DEFAULT_FALL : integer(`${path}.fall`, raw.fall, 1, 1000);
  const jitterMs = raw.jitterMs === undefined ? Math.floor(intervalMs / 10) : integer(`${path}.jitterMs`, raw.jitterMs, 0, 86_400_000);
  const address = raw.address === undefined ? dest.key.address : parseAddress(`${path}.address`, raw.address).text;
  let localAddress: string | undefined;
  if (raw.localAddress !== undefined) {
    const local = parseAddress(`${path}.localAddress`, raw.localAddress);
    localAddress = local.text;
    // A socket cannot bind an address of the other family: every check would fail (bind EINVAL).
    if (type !== 'custom' && (local.family === 'ipv6') !== address.includes(':')) {
      throw new ValidationError(`${path}.localAddress`, raw.localAddress, `an ${local.family === 'ipv6' ? 'IPv6' : 'IPv4'} source address cannot reach ${address}: give one of the same family`);
    }
  }
  let port = dest.key.port;
  if (raw.port !== undefined) port = integer(`${path}.port`, raw.port, 1, 65535);
  else if (port === 0 && type !== 'custom') {
    throw new ValidationError(`${path}.port`, undefined, "the destination's port is 0 (a port-0 or fwmark service): give the check a port");
  }
  const hostPort = destinationKeyText(address, port, address.includes(':'));
  let label: string;
  if (type === 'http' || type === 'https') {
    // Node's http refuses such a request at every check (ERR_UNESCAPED_CHARACTERS, ERR_INVALID_CHAR,
    // ERR_INVALID_HTTP_TOKEN), which would take every server it applies to out: refuse the config instead.
    if (raw.path !== undefined && (typeof raw.path !== 'string' || !raw.path.startsWith('/'))) {
      throw new ValidationError(`${path}.path`, raw.path, "must be a string starting with '/'");
    }
    if (!/^[\x21-\x7e]*$/.test(raw.path ?? '')) {
      throw new ValidationError(`${path}.path`, raw.path, 'must not contain spaces, control or non-ASCII characters: percent-encode them (%20 for a space)');
    }
    if (raw.host !== undefined && (typeof raw.host !== 'string' || !/^[\x21-\x7e]+$/.test(raw.host))) {
      throw new ValidationError(`${path}.host`, raw.host, 'must be a host name or host:port, with no spaces, control or non-ASCII characters');
    }
    if (raw.host !== undefined) {
      const parsed = hostName(raw.host);
      if ('error' in parsed) throw new ValidationError(`${path}.host`, raw.host, parsed.error);
    }
    const es = raw.expectStatus;
    if (es !== undefined) {
      const list = Array.isArray(es) ? es : [es];
      if (list.length === 0) throw new ValidationError(`${path}.expectStatus`, es, 'must name at least one status');
      list.forEach((s, i) => integer(Array.isArray(es) ? `${path}.expectStatus[${i}]` : `${path}.expectStatus`, s, 100, 599));
    }
    if (raw.body !== undefined && typeof raw.body !== 'string' && !(raw.body instanceof RegExp)) {
      throw new ValidationError(`${path}.body`, raw.body, 'must be a string (the body must contain it) or a RegExp');
    }
    if (raw.headers !== undefined && (!isRecord(raw.headers) || Object.values(raw.headers).some((v) => typeof v !== 'string'))) {
      throw new ValidationError(`${path}.headers`, raw.headers, 'must be an object of header names to string values');
    }
    for (const [name, value] of Object.entries((raw.headers ?? {}) as Record<string, string>)) {
      const field = `${path}.headers[${JSON.stringify(name)}]`;
      try {
        validateHeaderName(name);
      } catch {
        throw new ValidationError(field, name, "the header name is not an HTTP token: letters, digits and !#$%&'*+-.^_`|~ only");
      }
      try {
        validateHeaderValue(name, value);
      } catch {
        throw new ValidationError(field, value, 'must not contain CR, LF or other control characters');
      }
    }
    if (raw.tlsVerify !== undefined && typeof raw.tlsVerify !== 'boolean') throw new ValidationError(`${path}.tlsVerify`, raw.tlsVerify, 'must be true or false');
    label = `HTTP${type === 'https' ? 'S' : ''} GET ${type}://${hostPort}${(raw.path as string | undefined) ?? '/'}`;
  } else if (type === 'tcp') {
    label = `TCP connect ${hostPort}`;
  } else if (type === 'udp') {
    validateUdpCheck(path, raw);
    label = `UDP request ${hostPort}`;
  } else {
    if (typeof raw.run !== 'function') throw new ValidationError(`${path}.run`, raw.run, 'a custom check needs a function run(target, signal)');
    if (raw.name !== undefined && typeof raw.name !== 'string') throw new ValidationError(`${path}.name`, raw.name, 'must be a string');
    label = `${(raw.name as string | undefined) ?? 'custom check'} ${hostPort}`;
  }
  return { spec: raw as unknown as CheckSpec, intervalMs, timeoutMs, rise, fall, jitterMs, address, port, ...(localAddress !== undefined && type !== 'custom' ? { localAddress } : {}), label };
}

/** Whether `text` is hexadecimal bytes, two digits each, whitespace between bytes allowed: '12 34', '1234abcd'. */
const isHex = (text: string): boolean => text.trim() === '' || text.trim().split(/\s+/).every((word) => /^(?:[0-9a-fA-F]{2})+$/.test(word));

/**
 * A udp check's payload (exactly one of text and hex, 1..UDP_PAYLOAD_MAX bytes) and its expected reply (at most
 * one of text or RegExp and hex; neither empty, which every reply would match, nor longer than any reply).
 */
function validateUdpCheck(path: string, raw: Record<string, unknown>): void {
  const { payload, payloadHex, expect, expectHex } = raw;
  if (payload === undefined && payloadHex === undefined) {
    throw new ValidationError(`${path}.payload`, undefined, "a udp check sends a datagram: give payload (text) or payloadHex (bytes, e.g. a DNS query)");
  }
  if (payload !== undefined && payloadHex !== undefined) throw new ValidationError(`${path}.payloadHex`, payloadHex, 'give payload or payloadHex, not both');
  let size: number;
  let field: string;
  if (payload !== undefined) {
    field = `${path}.payload`;
    if (typeof payload !== 'string') throw new ValidationError(field, payload, 'must be a string (sent as UTF-8)');
    size = Buffer.byteLength(payload, 'utf8');
  } else {
    field = `${path}.payloadHex`;
    if (typeof payloadHex !== 'string' || !isHex(payloadHex)) {
      throw new ValidationError(field, payloadHex, "must be hexadecimal bytes, two digits each, whitespace between them allowed: '1234 0100 0001'");
    }
    size = payloadHex.replace(/\s+/g, '').length / 2;
  }
  if (size < 1 || size > UDP_PAYLOAD_MAX) throw new ValidationError(field, payload ?? payloadHex, `must be 1..${UDP_PAYLOAD_MAX} bytes (it is ${size})`);
  if (expect !== undefined && expectHex !== undefined) throw new ValidationError(`${path}.expectHex`, expectHex, 'give expect or expectHex, not both');
  if (expect !== undefined) {
    if (typeof expect !== 'string' && !(expect instanceof RegExp)) throw new ValidationError(`${path}.expect`, expect, 'must be a string (the reply must contain it) or a RegExp');
    if (expect === '') throw new ValidationError(`${path}.expect`, expect, 'is empty, which every reply contains: leave it out to accept any reply');
    if (typeof expect === 'string' && Buffer.byteLength(expect, 'utf8') > UDP_PAYLOAD_MAX) {
      throw new ValidationError(`${path}.expect`, expect, `is longer than any UDP reply (${UDP_PAYLOAD_MAX} bytes): the check could never pass`);
    }
  }
  if (expectHex !== undefined) {
    if (typeof expectHex !== 'string' || !isHex(expectHex) || expectHex.trim() === '') {
      throw new ValidationError(`${path}.expectHex`, expectHex, "must be the reply's first bytes in hexadecimal, two digits each, whitespace allowed: '1234'");
    }
    if (expectHex.replace(/\s+/g, '').length / 2 > UDP_PAYLOAD_MAX) {
      throw new ValidationError(`${path}.expectHex`, expectHex, `is longer than any UDP reply (${UDP_PAYLOAD_MAX} bytes): the check could never pass`);
    }
  }
}

function normalDestination(path: string, wire: WireServiceKey, value: unknown, fields: Fields): NormalDestination {
  if (!isRecord(value)) throw new ValidationError(path, value, 'must be an object with an address');
  onlyKnownFields(value, fields, path);
  const spec = pick<DestinationSpec>(value, DESTINATION_FIELDS);
  const w = atPath(path, () => validateDestinationSpec(wire, spec), 'destination.');
  const address = parseAddress(`${path}.address`, spec.address).text;
  const full: FullDestinationSpec = {
    address,
    port: w.port,
    forwarding: spec.forwarding ?? 'route',
    weight: w.weight,
    upperThreshold: w.upper,
    lowerThreshold: w.lower,
    ...(spec.tunnel !== undefined ? { tunnel: spec.tunnel } : {}),
  };
  return { id: w.text, key: { address, port: w.port }, spec: full };
}

/**
 * The sorry server's forwarding when none is given: 'route' for a loopback address (a server on the
 * director itself, as the seed's 127.0.0.1: the kernel refuses to NAT to loopback but delivers routed
 * packets locally), otherwise what the real servers use.
 */
function sorryForwarding(address: unknown, realServers: readonly NormalRealServer[]): DestinationSpec['forwarding'] {
  // On the normalised text: ::1 has many spellings (0:0:0:0:0:0:0:1, ::0:1, [0::1]). A bad address is
  // left to normalDestination, which names the field.
  const text = typeof address === 'string' ? normalizeAddress(address) : undefined;
  return text !== undefined && isLoopback(text) ? 'route' : (realServers[0]?.spec.forwarding ?? 'route');
}

/** A normalised address the kernel treats as loopback: 127.0.0.0/8 or ::1 (not ::ffff:127.x, which it treats as any IPv6 address). */
const isLoopback = (text: string): boolean => text.startsWith('127.') || text === '::1';

/**
 * ip_vs_nat_xmit drops every packet from another host that it would NAT to a loopback address ("stopping
 * DNAT to loopback address"): the destination is accepted, passes its check (made from the director
 * itself) and never receives a client. Only a 'masq' written out gets here: forwarding defaults to 'route'.
 */
function refuseMasqToLoopback(path: string, d: NormalDestination, what: string): void {
  if (d.spec.forwarding !== 'masq' || !isLoopback(d.key.address)) return;
  throw new ValidationError(
    `${path}.forwarding`,
    'masq',
    `the kernel drops traffic from other hosts that it would NAT to a loopback address (${d.key.address}): leave forwarding out or use 'route' for ${what} on the director itself`,
  );
}

/**
 * The default check is a TCP connect: against a UDP or SCTP service's server, which need not listen on TCP at
 * all, it fails forever and takes every server out. Such a service must name its check's type, whichever it is
 * ('udp' to send the server a datagram it answers; 'tcp' for a server that also answers TCP there, as DNS does, or on `check.port`; 'http' on a port of its own;
 * 'custom' to ask the service itself), so the choice is made knowingly (docs/decisions.md).
 */
function refuseDefaultCheck(path: string, protocol: number): never {
  const name = PROTOCOL_NAMES[protocol]!.toUpperCase();
  throw new ValidationError(
    `${path}.check.type`,
    undefined,
    `${name === 'UDP' ? 'a' : 'an'} ${name} service has no default check: a TCP connect fails against servers that listen on ${name} only, taking every one out. ` +
      `Name the type: ${name === 'UDP' ? "'udp' (a datagram the servers answer), " : ''}'tcp' when they also listen on TCP (at that port or check.port), 'http' or 'https', or 'custom' (library)`,
  );
}

/**
 * Check a health config and fill every default. Throws ValidationError naming the path of the first
 * problem. Custom checks (functions) and RegExp bodies are accepted here; JSON cannot carry them.
 */
export function normaliseHealthConfig(config: HealthConfig): NormalHealthService[] {
  const value: unknown = config;
  if (!isRecord(value)) throw new ValidationError('config', value, 'must be an object { "services": [...] }');
  onlyKnownFields(value, CONFIG_FIELDS, '');
  if (value.maxChecksInFlight !== undefined) integer('maxChecksInFlight', value.maxChecksInFlight, 1, MAX_CHECKS_IN_FLIGHT);
  const topCheck = checkLevel('check', value.check);
  const topFailure = failureAction('onFailure', value.onFailure);
  if (!Array.isArray(value.services)) throw new ValidationError('services', value.services, 'must be an array of services');
  const out: NormalHealthService[] = [];
  const seen = new Map<string, string>();
  (value.services as unknown[]).forEach((raw, i) => {
    const path = `services[${i}]`;
    if (!isRecord(raw)) throw new ValidationError(path, raw, 'must be an object');
    onlyKnownFields(raw, HEALTH_SERVICE_FIELDS, path);
    const spec = pick<ServiceSpec>(raw, SERVICE_FIELDS);
    const wire = atPath(path, () => validateServiceSpec(spec));
    if (wire.fwmark === 0 && PROTOCOL_NAMES[wire.protocol] === undefined) {
      throw new ValidationError(
        `${path}.protocol`,
        wire.protocol,
        'health checks manage services that carry traffic, and Linux balances TCP, UDP and SCTP only',
      );
    }
    const earlier = seen.get(wire.text);
    if (earlier) throw new ValidationError(path, wire.key, `the service ${wire.text} is also ${earlier}`);
    seen.set(wire.text, path);
    const serviceCheck = mergeCheck(topCheck, checkLevel(`${path}.check`, raw.check));
    // Weight 0 does not move a persistent service's clients: the kernel keeps sending each client to the
    // server its persistence template names, even at weight 0, unless net.ipv4.vs.expire_quiescent_template
    // is 1 (ip_vs_check_template). Deleting the server ends its templates, so that is the default there.
    // Nor does it move a UDP flow: each datagram of a flow follows its connection entry to the server at
    // weight 0 and restarts the entry's timer, so a client that keeps sending stays on the dead server for
    // good; a deleted server's entries drop its datagrams without restarting their timers, and expire (at
    // once with net.ipv4.vs.expire_nodest_conn), after which the flow is scheduled anew.
    const persistent = (wire.flags & IP_VS_SVC_F_PERSISTENT) !== 0;
    const udp = wire.fwmark === 0 && wire.protocol === IPPROTO_UDP;
    const onFailure = failureAction(`${path}.onFailure`, raw.onFailure) ?? topFailure ?? (persistent || udp ? 'remove' : 'quiesce');
    if (!Array.isArray(raw.destinations)) throw new ValidationError(`${path}.destinations`, raw.destinations, 'must be an array of real servers');
    const ids = new Map<string, string>();
    const realServers = (raw.destinations as unknown[]).map((d, j) => {
      const dpath = `${path}.destinations[${j}]`;
      const dest = normalDestination(dpath, wire, d, HEALTH_DESTINATION_FIELDS);
      const before = ids.get(dest.id);
      if (before) throw new ValidationError(dpath, dest.key, `the destination ${dest.id} is also ${before}`);
      ids.set(dest.id, dpath);
      refuseMasqToLoopback(dpath, dest, 'a real server');
      const own = checkLevel(`${dpath}.check`, (d as HealthDestination).check);
      const merged = mergeCheck(serviceCheck, own);
      if (merged?.type === undefined && wire.fwmark === 0 && wire.protocol !== IPPROTO_TCP) refuseDefaultCheck(path, wire.protocol);
      return { ...dest, check: normalCheck(`${dpath}.check`, merged, dest) };
    });
    let sorry: NormalDestination | undefined;
    if (raw.sorryServer !== undefined) {
      const spath = `${path}.sorryServer`;
      const given = raw.sorryServer;
      const withForwarding = isRecord(given) && given.forwarding === undefined ? { ...given, forwarding: sorryForwarding(given.address, realServers) } : given;
      sorry = normalDestination(spath, wire, withForwarding, SORRY_FIELDS);
      const clash = ids.get(sorry.id);
      if (clash) throw new ValidationError(spath, sorry.key, `the sorry server ${sorry.id} is also a real server (${clash})`);
      if (sorry.spec.weight === 0) throw new ValidationError(`${spath}.weight`, 0, 'a sorry server with weight 0 would receive nothing');
      refuseMasqToLoopback(spath, sorry, 'a sorry server');
    }
    out.push({ id: wire.text, key: wire.key, spec: { ...spec, ...wire.key } as ServiceSpec, path, realServers, sorry, onFailure });
  });
  return out;
}

/** The highest `maxChecksInFlight` taken: far more sockets than any process is given at once. */
export const MAX_CHECKS_IN_FLIGHT = 1_000_000;

/**
 * How many checks a config lets run at once: its `maxChecksInFlight`, checked, or the default derived from
 * the process's limit on open files and the config's worst case (limits.ts). `services`: the config normalised.
 */
export function checksInFlightOf(config: HealthConfig, services: readonly NormalHealthService[] = normaliseHealthConfig(config)): number {
  const value = (config as { maxChecksInFlight?: unknown }).maxChecksInFlight;
  if (value === undefined) return defaultChecksInFlight(undefined, worstCaseChecksInFlight(services));
  return integer('maxChecksInFlight', value, 1, MAX_CHECKS_IN_FLIGHT);
}

/**
 * How many checks are in flight at once, on average, if every check times out: each server's check then lasts
 * timeoutMs of every intervalMs + timeoutMs (the interval counts from the end of a check). 4 000 servers at the
 * defaults (5 s, 2 s): 1 143. Below that bound, checks queue and come less often than intervalMs.
 */
export function worstCaseChecksInFlight(services: readonly NormalHealthService[]): number {
  let sum = 0;
  for (const svc of services) for (const rs of svc.realServers) sum += rs.check.timeoutMs / (rs.check.intervalMs + rs.check.timeoutMs);
  return Math.ceil(sum);
}

/**
 * How many times less often each server is checked when `bound` checks at a time serve a config whose worst case
 * is `worst` (more), as text: to a tenth ("4.5"), or to a hundredth just above 1, which a tenth rounds to "1" (a
 * config that needs 258 at a time under a bound of 256 said "about 1 times less often").
 */
export function slowdownText(worst: number, bound: number): string {
  const ratio = worst / bound;
  const tenths = Math.round(ratio * 10) / 10;
  return String(tenths > 1 ? tenths : Math.ceil(ratio * 100) / 100);
}

/**
 * Parse JSON text holding a health config (see normaliseHealthConfig for what is checked). A leading
 * byte-order mark (an editor's UTF-8 file) is ignored, as in a desired state.
 */
export function parseHealthConfig(text: string): HealthConfig {
  let value: unknown;
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    value = JSON.parse(json);
  } catch (err) {
    // The text's start as the value: undefined would print as "(missing)" for a file that is there.
    throw new ValidationError('config', text.length > 40 ? `${text.slice(0, 40)}...` : text, `not valid JSON: ${(err as Error).message}`);
  }
  refuseDuplicateKeys(json, 'config');
  normaliseHealthConfig(value as HealthConfig);
  return value as HealthConfig;
}
