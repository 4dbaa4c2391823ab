// Builders of the netlink request for every IPVS command. Each takes the resolved family (id and version,
// which differ between namespaces and boots) and validated wire values, and returns an OutgoingRequest
// labelled with what it does and what it is about, whose mapError turns the kernel's errno into a
// sentence a person can act on (the KernelError keeps `code` = errno name, `errno`, the extended ack).
// Which errno means what comes from net/netfilter/ipvs/ip_vs_ctl.c and ip_vs_sync.c:
//   ip_vs_genl_set_cmd: ESRCH when the service is missing (every command but NEW_SERVICE), EEXIST when
//   NEW_SERVICE finds it; EINVAL for a missing attribute or a mixed-family destination not tunnelled;
//   EAFNOSUPPORT for an IPv6 request to a kernel without IPv6 IPVS.
//   ip_vs_add_service/ip_vs_edit_service: ENOENT when the scheduler or engine module is not loaded.
//   ip_vs_add_dest/ip_vs_edit_dest: ERANGE (weight < 0, lower > upper threshold), EINVAL (gue without
//   port, address not unicast, which for IPv4 is every address in a namespace that never had an IPv4
//   address), EEXIST; edit/del: ENOENT when missing.
//   start_sync_thread: EEXIST when running, ENODEV for an unknown interface; stop_sync_thread: ESRCH.
//   Every command is GENL_ADMIN_PERM: EPERM without CAP_NET_ADMIN in the initial user namespace
//   (netlink_capable), so root of a container's own user namespace is refused.
// Pure: no I/O here.

import type { OutgoingRequest, RequestLabel } from '../netlink/connection.js';
import { KernelError } from '../netlink/errors.js';
import type { MessageWriter } from '../netlink/writer.js';
import * as C from './constants.js';
import { encodeDaemon, encodeDaemonState } from './daemon.js';
import { encodeDestination, encodeDestinationKey } from './destination.js';
import { encodeService, encodeServiceKeyAttr } from './service.js';
import { encodeTimeouts } from './timeouts.js';
import type { WireDaemon, WireDestination, WireService, WireServiceKey, WireTimeouts } from './validate.js';

/** The resolved IPVS family: its id in this namespace and the version to stamp on requests. */
export interface IpvsFamily {
  id: number;
  version: number;
  /**
   * The process runs in a user namespace other than the initial one, where no capability satisfies IPVS's
   * check: an EPERM then says so instead of asking for CAP_NET_ADMIN (native/user-namespace.ts).
   */
  childUserNamespace?: boolean;
}

/** NLM_F_CREATE: what a "new" request is; the IPVS family ignores it but it documents intent on the wire. */
const NLM_F_CREATE = 0x400;

/** The sentence for an errno name, or undefined to fall back to the common ones. */
type Sentences = (code: string) => string | undefined;

const none: Sentences = () => undefined;

function build(
  fam: IpvsFamily,
  cmd: number,
  operation: string,
  object: string | undefined,
  attrs: ((w: MessageWriter) => void) | undefined,
  sentence: Sentences,
  flags = 0,
): OutgoingRequest {
  return {
    type: fam.id,
    flags,
    label: object === undefined ? { operation } : { operation, object },
    body: (w) => {
      w.genlHeader(cmd, fam.version);
      attrs?.(w);
    },
    mapError: (err) => refusal(err, operation, object, sentence, fam.childUserNamespace === true),
  };
}

/** The KernelError with the sentence for its errno, or undefined to keep the generic one. */
function refusal(err: KernelError, operation: string, object: string | undefined, sentence: Sentences, childUserNamespace: boolean): KernelError | undefined {
  const text = sentence(err.code) ?? common(err.code, object === undefined ? operation : `${operation} ${object}`, childUserNamespace);
  if (text === undefined) return undefined;
  return new KernelError({
    errno: err.errno, operation, object, extack: err.extack, extackOffset: err.extackOffset, seq: err.seq, message: text,
  });
}

type TableShape = 'service' | 'service-key' | 'dest' | 'dest-key';

/** The body of a service or destination change: the genl header, the service nest, the destination nest. */
function encodeTableBody(w: MessageWriter, cmd: number, version: number, shape: TableShape, s: WireService | WireServiceKey, d: WireDestination | undefined): void {
  w.genlHeader(cmd, version);
  if (shape === 'service') encodeService(w, s as WireService);
  else encodeServiceKeyAttr(w, s);
  if (d !== undefined) {
    if (shape === 'dest') encodeDestination(w, d);
    else encodeDestinationKey(w, d);
  }
}

/** What a bulk change is on the wire: its command, the shape of its attributes, its extra nlmsg flags. */
const TABLE_COMMANDS = {
  'add-service': { cmd: C.IPVS_CMD_NEW_SERVICE, shape: 'service', flags: NLM_F_CREATE },
  'update-service': { cmd: C.IPVS_CMD_SET_SERVICE, shape: 'service', flags: 0 },
  'delete-service': { cmd: C.IPVS_CMD_DEL_SERVICE, shape: 'service-key', flags: 0 },
  'add-destination': { cmd: C.IPVS_CMD_NEW_DEST, shape: 'dest', flags: NLM_F_CREATE },
  'update-destination': { cmd: C.IPVS_CMD_SET_DEST, shape: 'dest', flags: 0 },
  'delete-destination': { cmd: C.IPVS_CMD_DEL_DEST, shape: 'dest-key', flags: 0 },
} as const satisfies Record<string, { cmd: number; shape: TableShape; flags: number }>;

export type TableCommandName = keyof typeof TABLE_COMMANDS;

/**
 * One whole message of a service or destination change, for a family not known yet: nlmsg_type, seq,
 * port id and the genl version are written as 0, for the sender to fill in (OperationBatch, execute()).
 * The bytes are otherwise exactly those of newService() ... delDest() for the same wire values.
 */
export function encodeTableMessage(w: MessageWriter, op: TableCommandName, s: WireService | WireServiceKey, d: WireDestination | undefined): void {
  const t = TABLE_COMMANDS[op];
  w.beginMessage(0, t.flags, 0, 0);
  encodeTableBody(w, t.cmd, 0, t.shape, s, d);
  w.endMessage();
}

/**
 * The requests of bulk work (services and destinations added, changed, deleted), as one class rather
 * than closures: a restore builds tens of thousands of them, and each closure-built request cost seven
 * allocations (body, error mapper, label, texts). The label and the sentences are made only when asked
 * for, which is on a refusal. Methods, so the engine calls them on the request (`req.mapError(err)`).
 */
class TableRequest implements OutgoingRequest {
  readonly type: number;
  readonly flags: number;
  private readonly version: number;
  private readonly cmd: number;
  private readonly operation: string;
  private readonly shape: TableShape;
  private readonly creating: boolean;
  private readonly s: WireService | WireServiceKey;
  private readonly d: WireDestination | undefined;
  private readonly childUserNamespace: boolean;

  constructor(fam: IpvsFamily, cmd: number, operation: string, shape: TableShape, creating: boolean, s: WireService | WireServiceKey, d: WireDestination | undefined, flags: number) {
    this.type = fam.id;
    this.version = fam.version;
    this.flags = flags;
    this.cmd = cmd;
    this.operation = operation;
    this.shape = shape;
    this.creating = creating;
    this.s = s;
    this.d = d;
    this.childUserNamespace = fam.childUserNamespace === true;
  }

  private get object(): string {
    return this.d === undefined ? this.s.text : destText(this.d, this.s);
  }

  get label(): RequestLabel {
    return { operation: this.operation, object: this.object };
  }

  body(w: MessageWriter): void {
    encodeTableBody(w, this.cmd, this.version, this.shape, this.s, this.d);
  }

  mapError(err: KernelError): KernelError | undefined {
    const s = this.s;
    let sentence: Sentences;
    if (this.d !== undefined) sentence = destSentences(s, this.d, this.creating);
    else if (this.shape === 'service') sentence = serviceSentences(s as WireService, this.creating);
    else sentence = (code) => (code === 'ESRCH' ? noSuchService(s) : undefined);
    return refusal(err, this.operation, this.object, sentence, this.childUserNamespace);
  }
}

function common(code: string, what: string, childUserNamespace: boolean): string | undefined {
  if (code === 'EPERM' || code === 'EACCES') return `${what}: permission denied; ${permissionAdvice(childUserNamespace)}`;
  if (code === 'EAFNOSUPPORT') return `${what}: this kernel's IPVS has no IPv6 support (CONFIG_IP_VS_IPV6, or IPv6 disabled)`;
  if (code === 'ENOPROTOOPT') return `${what}: the ip_vs module is being unloaded`;
  return undefined;
}

/**
 * What IPVS's EPERM asks for. It checks CAP_NET_ADMIN in the initial user namespace (GENL_ADMIN_PERM:
 * netlink_capable), so in a child one (a container's root, `unshare -U`) no capability helps.
 */
function permissionAdvice(childUserNamespace: boolean): string {
  return childUserNamespace
    ? 'IPVS needs CAP_NET_ADMIN in the initial user namespace, and this process runs in another user namespace (a container), where no capability counts'
    : 'IPVS needs CAP_NET_ADMIN (run as root or grant the capability)';
}

const noSuchService = (s: WireServiceKey): string => `no such service ${s.text}`;

/** ENOENT from NEW_SERVICE/SET_SERVICE: a module missing. The scheduler 'none' has none (Linux looks no scheduler up for it). */
function moduleMissing(s: WireService): string | undefined {
  const scheduler = s.scheduler === 'none' ? undefined : s.scheduler;
  if (s.pe === undefined) return scheduler === undefined ? undefined : `scheduler "${scheduler}" not found: load its module (modprobe ip_vs_${scheduler})`;
  if (scheduler === undefined) return `persistence engine "${s.pe}" not found: load its module (modprobe ip_vs_pe_${s.pe})`;
  return `scheduler "${scheduler}" or persistence engine "${s.pe}" not found: load their modules (modprobe ip_vs_${scheduler} ip_vs_pe_${s.pe})`;
}

function serviceSentences(s: WireService, creating: boolean): Sentences {
  return (code) => {
    if (code === 'EEXIST' && creating) return `service ${s.text} already exists`;
    if (code === 'ESRCH' && !creating) return noSuchService(s);
    if (code === 'ENOENT') return moduleMissing(s);
    if (code === 'EINVAL') return `the kernel refused service ${s.text} as invalid`;
    return undefined;
  };
}

export function newService(fam: IpvsFamily, s: WireService): OutgoingRequest {
  return new TableRequest(fam, C.IPVS_CMD_NEW_SERVICE, 'add service', 'service', true, s, undefined, NLM_F_CREATE);
}

export function setService(fam: IpvsFamily, s: WireService): OutgoingRequest {
  return new TableRequest(fam, C.IPVS_CMD_SET_SERVICE, 'update service', 'service', false, s, undefined, 0);
}

export function delService(fam: IpvsFamily, s: WireServiceKey): OutgoingRequest {
  return new TableRequest(fam, C.IPVS_CMD_DEL_SERVICE, 'delete service', 'service-key', false, s, undefined, 0);
}

export function getService(fam: IpvsFamily, s: WireServiceKey): OutgoingRequest {
  return build(fam, C.IPVS_CMD_GET_SERVICE, 'get service', s.text, (w) => encodeServiceKeyAttr(w, s), (code) => (code === 'ESRCH' ? noSuchService(s) : undefined));
}

/** GET_SERVICE as a dump: every service, in the kernel's hash order. */
export function dumpServices(fam: IpvsFamily): OutgoingRequest {
  return build(fam, C.IPVS_CMD_GET_SERVICE, 'list services', undefined, undefined, none);
}

function destText(d: WireDestination, s: WireServiceKey): string {
  return `${d.text} in service ${s.text}`;
}

/**
 * Linux refuses every IPv4 destination, unicast or not, in a network namespace that has never had an IPv4
 * address (no local routing table: inet_addr_type() answers RTN_BROADCAST), which is what a new namespace
 * is until its `lo` goes up.
 */
const NO_IPV4_YET = '; in a network namespace that never had an IPv4 address (a new one whose lo is still down) every IPv4 address is refused: '
  + 'run `ip link set lo up` there';

function destSentences(s: WireServiceKey, d: WireDestination, creating: boolean): Sentences {
  return (code) => {
    if (code === 'EEXIST' && creating) return `destination ${d.text} already exists in service ${s.text}`;
    if (code === 'ENOENT' && !creating) return `no such destination ${destText(d, s)}`;
    if (code === 'ESRCH') return noSuchService(s);
    if (code === 'ERANGE') return `destination ${destText(d, s)}: weight or thresholds out of range (the weight must be 0 or more and the lower threshold at most the upper one)`;
    if (code === 'EINVAL') {
      return `the kernel refused destination ${destText(d, s)}: the address must be a unicast address (not multicast, broadcast or unspecified; `
        + 'an IPv6 link-local address only if it is local; an IPv4 server by its IPv4 address, not ::ffff:a.b.c.d), '
        + 'a gue tunnel needs a port, and a destination of the other address family needs tunnel forwarding and no running sync daemon'
        + (creating && d.af === C.AF_INET ? NO_IPV4_YET : '');
    }
    return undefined;
  };
}

export function newDest(fam: IpvsFamily, s: WireServiceKey, d: WireDestination): OutgoingRequest {
  return new TableRequest(fam, C.IPVS_CMD_NEW_DEST, 'add destination', 'dest', true, s, d, NLM_F_CREATE);
}

export function setDest(fam: IpvsFamily, s: WireServiceKey, d: WireDestination): OutgoingRequest {
  return new TableRequest(fam, C.IPVS_CMD_SET_DEST, 'update destination', 'dest', false, s, d, 0);
}

export function delDest(fam: IpvsFamily, s: WireServiceKey, d: WireDestination): OutgoingRequest {
  return new TableRequest(fam, C.IPVS_CMD_DEL_DEST, 'delete destination', 'dest-key', false, s, d, 0);
}

/**
 * GET_DEST as a dump. The kernel answers a missing service with an empty dump, not ESRCH
 * (ip_vs_genl_dump_dests ends quietly), so "no destinations" and "no service" look alike here.
 */
export function dumpDests(fam: IpvsFamily, s: WireServiceKey): OutgoingRequest {
  return build(fam, C.IPVS_CMD_GET_DEST, 'list destinations', `of service ${s.text}`, (w) => encodeServiceKeyAttr(w, s), (code) => (code === 'ESRCH' ? noSuchService(s) : undefined));
}

const stateName = (state: number): string => (state === C.IP_VS_STATE_MASTER ? 'master' : 'backup');

export function newDaemon(fam: IpvsFamily, d: WireDaemon): OutgoingRequest {
  const name = stateName(d.state);
  return build(fam, C.IPVS_CMD_NEW_DAEMON, 'start sync daemon', `${name} on ${d.ifname} (syncid ${d.syncId})`, (w) => encodeDaemon(w, d), (code) => {
    if (code === 'EEXIST' || code === 'EBUSY') return `a ${name} sync daemon is already running`;
    if (code === 'ENODEV') return `no such interface ${d.ifname} for the ${name} sync daemon`;
    // Seen on Linux 6.1 for a backup whose group port another socket holds without SO_REUSEADDR.
    if (code === 'EADDRINUSE') return `the ${name} sync daemon's multicast port ${d.port ?? 8848} is already in use by another socket`;
    // Linux 6.1: an IPv6 master's socket finds no source address on the interface (none at all, or only a
    // link-local one still tentative: duplicate address detection runs for about a second after link-up), or,
    // when the group has no route through the interface, on any interface of the namespace (the source address
    // is chosen before the missing route is reported).
    if (code === 'EADDRNOTAVAIL') {
      return `the ${name} sync daemon has no IPv6 address on ${d.ifname} to send to its group ${d.group?.text ?? '224.0.0.81'} from: `
        + 'the interface has none yet (its link-local address stays tentative for about a second after the link comes up) or none at all '
        + '(where the group has no route through it: no interface of the network namespace has one)';
    }
    if (code === 'ENETUNREACH') {
      return `the ${name} sync daemon cannot reach its multicast group ${d.group?.text ?? '224.0.0.81'} through ${d.ifname}: the interface is down, or an IPv6 group has no route there (loopback, or IPv6 off on an MTU below 1280)`;
    }
    if (code === 'EINVAL') {
      return `the kernel refused the ${name} sync daemon: the group must be multicast, an IPv6 group needs IPv6 on the interface (an MTU of 1280 or more), `
        + 'and no service may have destinations of the other address family';
    }
    return undefined;
  });
}

export function delDaemon(fam: IpvsFamily, state: number): OutgoingRequest {
  const name = stateName(state);
  return build(fam, C.IPVS_CMD_DEL_DAEMON, 'stop sync daemon', name, (w) => encodeDaemonState(w, state), (code) => (code === 'ESRCH' ? `no ${name} sync daemon is running` : undefined));
}

export function dumpDaemons(fam: IpvsFamily): OutgoingRequest {
  return build(fam, C.IPVS_CMD_GET_DAEMON, 'list sync daemons', undefined, undefined, none);
}

/** The timeouts a SET_CONFIG sets, e.g. 'udp 2500000': a 0 leaves one unchanged, so it is not named. */
function timeoutsText(t: WireTimeouts): string {
  const set = [t.tcp ? `tcp ${t.tcp}` : '', t.tcpFin ? `tcpfin ${t.tcpFin}` : '', t.udp ? `udp ${t.udp}` : ''].filter((x) => x !== '');
  return set.length === 0 ? 'none (every value unchanged)' : set.join(' ');
}

export function setConfig(fam: IpvsFamily, t: WireTimeouts): OutgoingRequest {
  const text = timeoutsText(t);
  return build(fam, C.IPVS_CMD_SET_CONFIG, 'set timeouts', text, (w) => encodeTimeouts(w, t), (code) =>
    code === 'EINVAL' ? `timeouts ${text}: a value is larger than this kernel accepts (INT_MAX/HZ seconds; 2147483 with HZ=1000)` : undefined,
  );
}

export function getConfig(fam: IpvsFamily): OutgoingRequest {
  return build(fam, C.IPVS_CMD_GET_CONFIG, 'get timeouts', undefined, undefined, none);
}

export function getInfo(fam: IpvsFamily): OutgoingRequest {
  return build(fam, C.IPVS_CMD_GET_INFO, 'get info', undefined, undefined, none);
}

/** ZERO: the counters of one service (ESRCH when missing), or of every service without a key. */
export function zero(fam: IpvsFamily, s?: WireServiceKey): OutgoingRequest {
  return build(fam, C.IPVS_CMD_ZERO, 'zero counters', s === undefined ? 'of every service' : `of service ${s.text}`, s ? (w) => encodeServiceKeyAttr(w, s) : undefined, (code) => (code === 'ESRCH' && s ? noSuchService(s) : undefined));
}

export function flush(fam: IpvsFamily): OutgoingRequest {
  return build(fam, C.IPVS_CMD_FLUSH, 'flush', 'every service and destination', undefined, none);
}
