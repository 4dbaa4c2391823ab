// What the fake kernel received, by content: each request's command and the service, destination, daemon
// or timeouts it named, in the terms `kernel.state()` uses (a ServiceKey with addresses as text, forwarding
// by name). Read with the fake's own request parsing (fake-ipvs-requests.ts), not the client's codecs. A
// request is kept as its bytes and read only when a test looks at the log, or when a fault's `where`
// needs it, so a 25 000-rule restore pays nothing for a log nobody reads.

import * as C from '../ipvs/constants.js';
import { serviceKeyText } from '../ipvs/validate.js';
import type { Attributes } from '../netlink/reader.js';
import { FakeErrno } from './fake-errno.js';
import { CMD_POLICY, parseDaemonAttributes, parseDaemonRequest, parseDestRequest, parseServiceRequest, type ServiceRequest } from './fake-ipvs-requests.js';
import { formatIp } from './fake-network.js';
import { parseAttributes } from './fake-policy.js';

/**
 * A request's name in `FakeKernel.requests`: its IPVS command, the family lookup, or, for what has no name,
 * the command's or the message type's number (a command this fake does not know, a message to no family).
 */
export type FakeRequestName =
  | C.IpvsCommandName | 'CTRL_CMD_GETFAMILY' | `IPVS_CMD_${number}` | `CTRL_CMD_${number}` | `netlink type ${number}`;

/**
 * The service a request named: a ServiceKey (`{ protocol, address, port }` or `{ fwmark, family }`) with its
 * `key` text as `kernel.state()` writes it ('tcp 10.0.0.1:80', 'fwmark 10 (IPv6)') and its family; for
 * NEW_SERVICE and SET_SERVICE also what it set, in the kernel's numbers as `state()` gives them. Either form's
 * fields can be read on both (`r.service?.address` is undefined for a fwmark service).
 */
export type FakeRequestService = (
  | { readonly key: string; readonly family: 'ipv4' | 'ipv6'; readonly protocol: 'tcp' | 'udp' | 'sctp' | number; readonly address: string; readonly port: number; readonly fwmark?: undefined }
  | { readonly key: string; readonly family: 'ipv4' | 'ipv6'; readonly fwmark: number; readonly protocol?: undefined; readonly address?: undefined; readonly port?: undefined }
) & {
  /** '' when sent empty. */
  readonly scheduler?: string;
  /** The persistence engine, when one was sent ('' for none). */
  readonly pe?: string;
  /** IP_VS_SVC_F_* bits sent, and the mask saying which of them to change. */
  readonly flags?: number;
  readonly flagsMask?: number;
  /** Persistence timeout in seconds as sent. */
  readonly timeout?: number;
  /** IPv4: the mask as a 32-bit number; IPv6: the prefix length. */
  readonly netmask?: number;
};

/** The destination a request named (its address and port); for NEW_DEST and SET_DEST also what it set. */
export interface FakeRequestDestination {
  readonly address: string;
  /** As sent, or, when the request left it out, the service's. */
  readonly family: 'ipv4' | 'ipv6';
  readonly port: number;
  readonly forwarding?: 'masq' | 'local' | 'tunnel' | 'route' | 'bypass' | `fwd ${number}`;
  readonly weight?: number;
  /** Upper and lower connection thresholds. */
  readonly upper?: number;
  readonly lower?: number;
  readonly tunnel?: { readonly type: number; readonly port: number; readonly flags: number };
}

/** The sync daemon a NEW_DAEMON or DEL_DAEMON named; what NEW_DAEMON sent, 0 (or no group) for what it left out. */
export interface FakeRequestDaemon {
  readonly state: 'master' | 'backup' | number;
  readonly interface?: string;
  readonly syncId?: number;
  readonly maxLen?: number;
  readonly group?: string;
  readonly port?: number;
  readonly ttl?: number;
}

/** One request the fake kernel received, as `kernel.requestLog` holds it (frozen). */
export interface FakeRequest {
  /** As `kernel.requests` logs it. */
  readonly command: FakeRequestName;
  /** A listing (NLM_F_DUMP). */
  readonly dump: boolean;
  readonly service?: FakeRequestService;
  readonly destination?: FakeRequestDestination;
  readonly daemon?: FakeRequestDaemon;
  /** What SET_CONFIG sent, in seconds: only the timeouts it carried. */
  readonly timeouts?: { readonly tcp?: number; readonly tcpFin?: number; readonly udp?: number };
  /**
   * Part of the request could not be read, as the kernel would refuse it (a missing or malformed attribute,
   * which the kernel answers with EINVAL): the fields that could be read are there, the rest left out.
   */
  readonly malformed?: true;
}

/** A request as logged: its bytes until something reads it. */
export interface LoggedRequest {
  name: FakeRequestName;
  dump: boolean;
  /** The whole message, for an IPVS request (a view of the copy the transport made of the datagram). */
  message: Buffer | undefined;
  entry: FakeRequest | undefined;
}

const FWD = ['masq', 'local', 'tunnel', 'route', 'bypass'] as const;
const PROTOCOLS: Readonly<Record<number, 'tcp' | 'udp' | 'sctp'>> = { [C.IPPROTO_TCP]: 'tcp', [C.IPPROTO_UDP]: 'udp', [C.IPPROTO_SCTP]: 'sctp' };
const familyOf = (af: number): 'ipv4' | 'ipv6' => (af === C.AF_INET6 ? 'ipv6' : 'ipv4');
const text = (af: number, addr: Buffer): string => formatIp(af === C.AF_INET6 ? C.AF_INET6 : C.AF_INET, addr);

/** A FakeErrno (the kernel would refuse what follows) is a malformed request; anything else is a bug, thrown. */
function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (err instanceof FakeErrno) return undefined;
    throw err;
  }
}

function service(u: ServiceRequest): FakeRequestService {
  const family = familyOf(u.af);
  const v6 = family === 'ipv6';
  let key: FakeRequestService;
  if (u.fwmark) {
    key = { key: serviceKeyText({ fwmark: u.fwmark }, v6), family, fwmark: u.fwmark };
  } else {
    const protocol = PROTOCOLS[u.protocol] ?? u.protocol;
    const address = text(u.af, u.addr);
    key = { key: serviceKeyText({ protocol, address, port: u.port }, v6), family, protocol, address, port: u.port };
  }
  const f = u.full;
  if (!f) return Object.freeze(key);
  return Object.freeze({
    ...key,
    scheduler: f.sched,
    ...(f.pe !== undefined ? { pe: f.pe } : {}),
    flags: f.flags,
    flagsMask: f.mask,
    timeout: f.timeout,
    netmask: v6 ? f.netmask.readUInt32LE(0) : f.netmask.readUInt32BE(0),
  });
}

/** The commands that always name a service (GET_DEST the one whose destinations it lists). */
const SERVICE_COMMANDS: ReadonlySet<number> = new Set([
  C.IPVS_CMD_NEW_SERVICE, C.IPVS_CMD_SET_SERVICE, C.IPVS_CMD_DEL_SERVICE, C.IPVS_CMD_NEW_DEST, C.IPVS_CMD_SET_DEST, C.IPVS_CMD_DEL_DEST, C.IPVS_CMD_GET_DEST,
]);

/** Reads one logged IPVS request into its frozen entry. */
function decode(r: LoggedRequest): FakeRequest {
  const message = r.message;
  const out: { -readonly [K in keyof FakeRequest]: FakeRequest[K] } = { command: r.name, dump: r.dump };
  if (message === undefined) return Object.freeze(out);
  if (message.length < 20) return Object.freeze({ ...out, malformed: true }); // no generic header: EINVAL
  const cmd = message.readUInt8(16);
  const start = message.byteOffset;
  let bad = false;
  const read = <T>(fn: () => T): T | undefined => {
    const v = attempt(fn);
    if (v === undefined) bad = true;
    return v;
  };
  const daemon = cmd === C.IPVS_CMD_NEW_DAEMON || cmd === C.IPVS_CMD_DEL_DAEMON;
  const config = cmd === C.IPVS_CMD_SET_CONFIG;
  // ZERO names a service or, without one, zeroes them all; GET_SERVICE names one, unless it lists them.
  const named = SERVICE_COMMANDS.has(cmd) || (cmd === C.IPVS_CMD_GET_SERVICE && !r.dump) || cmd === C.IPVS_CMD_ZERO;
  if (!daemon && !config && !named) return Object.freeze(out);
  const attrs = read(() => parseAttributes(message.subarray(20), CMD_POLICY, start));
  if (attrs === undefined) {
    // the top-level attributes fail the policy: nothing of it can be read
  } else if (config) {
    const t = { tcp: attrs.u32(C.IPVS_CMD_ATTR_TIMEOUT_TCP), tcpFin: attrs.u32(C.IPVS_CMD_ATTR_TIMEOUT_TCP_FIN), udp: attrs.u32(C.IPVS_CMD_ATTR_TIMEOUT_UDP) };
    out.timeouts = Object.freeze(Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)));
  } else if (daemon) {
    const d = readDaemon(attrs, cmd, start);
    if (d.value) out.daemon = d.value;
    if (d.bad) bad = true;
  } else if (cmd !== C.IPVS_CMD_ZERO || attrs.has(C.IPVS_CMD_ATTR_SERVICE)) {
    const data = attrs.raw(C.IPVS_CMD_ATTR_SERVICE);
    const full = cmd === C.IPVS_CMD_NEW_SERVICE || cmd === C.IPVS_CMD_SET_SERVICE;
    // A service that names itself but does not say all NEW_SERVICE needs is still named.
    let u = attempt(() => parseServiceRequest(data, full, start, () => true));
    if (u === undefined && full) {
      bad = true;
      u = attempt(() => parseServiceRequest(data, false, start, () => true));
    }
    if (u === undefined) bad = true;
    else out.service = service(u);
    if (cmd === C.IPVS_CMD_NEW_DEST || cmd === C.IPVS_CMD_SET_DEST || cmd === C.IPVS_CMD_DEL_DEST) {
      const dest = attrs.raw(C.IPVS_CMD_ATTR_DEST);
      const fullDest = cmd !== C.IPVS_CMD_DEL_DEST;
      let d = attempt(() => parseDestRequest(dest, fullDest, start));
      if (d === undefined && fullDest) {
        bad = true;
        d = attempt(() => parseDestRequest(dest, false, start));
      }
      if (d === undefined) bad = true;
      else {
        const af = d.af || u?.af || C.AF_INET;
        const f = d.full;
        out.destination = Object.freeze({
          address: text(af, d.addr),
          family: familyOf(af),
          port: d.port,
          ...(f ? {
            forwarding: FWD[f.fwd] ?? (`fwd ${f.fwd}` as const),
            weight: f.weight,
            upper: f.upper,
            lower: f.lower,
            tunnel: Object.freeze({ type: f.tunType, port: f.tunPort, flags: f.tunFlags }),
          } : {}),
        });
      }
    }
  }
  if (bad) out.malformed = true;
  return Object.freeze(out);
}

function readDaemon(attrs: Attributes, cmd: number, start: number): { value: FakeRequestDaemon | undefined; bad: boolean } {
  const a = attempt(() => parseDaemonAttributes(attrs.raw(C.IPVS_CMD_ATTR_DAEMON), start));
  if (a === undefined) return { value: undefined, bad: true };
  const stateNumber = a.u32(C.IPVS_DAEMON_ATTR_STATE);
  const state = stateNumber === C.IP_VS_STATE_MASTER ? 'master' : stateNumber === C.IP_VS_STATE_BACKUP ? 'backup' : stateNumber;
  if (cmd === C.IPVS_CMD_DEL_DAEMON || state === undefined) {
    return { value: state === undefined ? undefined : Object.freeze({ state }), bad: state === undefined };
  }
  const d = attempt(() => parseDaemonRequest(a, true));
  if (d === undefined) return { value: Object.freeze({ state }), bad: true };
  return {
    value: Object.freeze({
      state,
      interface: d.ifname,
      syncId: d.syncId,
      maxLen: d.maxLen,
      ...(d.groupAf !== 0 ? { group: formatIp(d.groupAf, d.group) } : {}),
      port: d.port,
      ttl: d.ttl,
    }),
    bad: false,
  };
}

/** The entry of a logged request, read once. */
export function entryOf(r: LoggedRequest): FakeRequest {
  r.entry ??= decode(r);
  return r.entry;
}

/**
 * The decoded log, kept beside `requests` (the names): it follows that array's length, so a test that
 * empties or shortens `requests` (`kernel.requests.length = 0`) drops the same entries here.
 */
export class RequestLog {
  private recs: LoggedRequest[] = [];
  private view: readonly FakeRequest[] | undefined;

  constructor(private readonly names: FakeRequestName[]) {}

  /** Shortened by the test since: drop the same entries. */
  private sync(): void {
    if (this.names.length < this.recs.length) {
      this.recs.length = this.names.length;
      this.view = undefined;
    }
  }

  push(r: LoggedRequest): void {
    this.sync();
    this.names.push(r.name);
    this.recs.push(r);
    this.view = undefined;
  }

  get length(): number {
    this.sync();
    return this.recs.length;
  }

  /** Forget the entries from `n` on (a datagram taken back: see FakeKernel's exchange). */
  truncate(n: number): void {
    this.sync();
    if (n >= this.recs.length) return;
    this.recs.length = n;
    this.names.length = Math.min(this.names.length, n);
    this.view = undefined;
  }

  entries(): readonly FakeRequest[] {
    this.sync();
    this.view ??= Object.freeze(this.recs.map(entryOf));
    return this.view;
  }
}
