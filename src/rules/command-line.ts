// The ipvsadm 1.31 command-line grammar: one argument vector in, one fully defaulted command out, or the
// exact refusal ipvsadm would print. It is shared by the `ipvs` CLI and by the rules format (ipvsadm -R
// treats every line of its input as a command line), so a rule file and a shell script mean the same.
//
// What is reproduced, as facts about ipvsadm's behaviour: the first option must be the command; later
// options are checked against ipvsadm's table of legal command/option pairs (with its sentences); values
// are read as ipvsadm reads them (inet_aton for IPv4, inet_pton for IPv6, strtol ranges, service names
// from the services database, host names through a lookup function); and the defaults are ipvsadm's
// (scheduler wlc, weight 1, direct routing, persistence 360 s, host netmask, interface eth0).
// Host-name lookup is synchronous here so the grammar stays a pure function; callers that need DNS
// resolve names first (see collectHostNames) and pass the answers in.

import { CommandLineError } from './errors.js';
import {
  type Family,
  type ParsedAddress,
  formatIPv4,
  inetAton,
  ipv4Address,
  ipv6Address,
  parseIPv4Strict,
  parseIPv6,
} from './addresses.js';
import { OptionScanner, type ScanItem } from './option-scanner.js';
import type { ServiceNames } from './service-names.js';
import {
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL,
  IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_PERSISTENT,
  IP_VS_SVC_F_SCHED1,
  IP_VS_SVC_F_SCHED2,
  IP_VS_SVC_F_SCHED3,
  IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
  IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
  IP_VS_IFNAME_MAXLEN,
  IP_VS_SCHEDNAME_MAXLEN,
} from '../ipvs/constants.js';
import type { Protocol } from '../ipvs/types.js';

/**
 * ipvsadm copies --mcast-interface into its IFNAMSIZ field and the kernel keeps 15 bytes: bytes, not characters,
 * so a name of multibyte characters is cut at byte 15 as there. A character cut in two is dropped whole (ipvsadm
 * would send its first bytes, which no interface name a command line can spell ends in).
 */
function interfaceName(text: string): string {
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes >= IP_VS_IFNAME_MAXLEN) break;
    out += ch;
  }
  return out;
}

/** Longest persistence or connection timeout ipvsadm accepts: 31 days. */
export const MAX_TIMEOUT = 86400 * 31;
/**
 * Persistence timeout when -p has no value: ipvsadm 1.31 uses IPVS_SVC_PERSISTENT_TIMEOUT, 6 minutes (its
 * manual says 300 s, the program does 360 s; the program is what scripts get).
 */
export const DEFAULT_PERSISTENCE_TIMEOUT = 360;
export const DEFAULT_SCHEDULER = 'wlc';
export const DEFAULT_MCAST_INTERFACE = 'eth0';
const INT_MAX = 2147483647;
const UINT_MAX = 4294967295;

/** ipvsadm's command names, as its messages spell them. */
export const COMMAND_NAMES = [
  'add-service',
  'edit-service',
  'delete-service',
  'flush',
  'list',
  'add-server',
  'delete-server',
  'edit-server',
  'set',
  'start-daemon',
  'stop-daemon',
  'restore',
  'save',
  'zero',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** ipvsadm's option classes, in its bit order, as its messages spell them. */
export const OPTION_NAMES = [
  'numeric',
  'connection',
  'service-address',
  'scheduler',
  'persistent',
  'netmask',
  'real-server',
  'forwarding-method',
  'weight',
  'u-threshold',
  'l-threshold',
  'mcast-interface',
  'timeout',
  'daemon',
  'stats',
  'rate',
  'thresholds',
  'persistent-conn',
  'nosort',
  'syncid',
  'exact',
  'ops',
  'pe',
  'sched-flags',
  'mcast-group',
  'mcast-port',
  'mcast-ttl',
  'sync-maxlen',
  'tun-info',
  'tun-type',
  'tun-port',
  'tun-nocsum',
  'tun-csum',
  'tun-remcsum',
] as const;
export type OptionName = (typeof OPTION_NAMES)[number];

// Legal command/option combinations, one row per command in COMMAND_NAMES order, one column per option
// in OPTION_NAMES order: '+' required, 'x' illegal, '1' at most one of the '1's, ' ' optional.
const COMMAND_OPTION_TABLE: Record<CommandName, string> = {
  'add-service': 'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx',
  'edit-service': 'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx',
  'delete-service': 'xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  flush: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  list: ' 11xxxxxxxxx11       xxxxxxx xxxxx',
  'add-server': 'xx+xxx+    xxxxxxxxxxxxxxxxxx     ',
  'delete-server': 'xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'edit-server': 'xx+xxx+    xxxxxxxxxxxxxxxxxx     ',
  set: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'start-daemon': 'xxxxxxxxxxx xxxxxxx xxxx    xxxxxx',
  'stop-daemon': 'xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx',
  restore: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  save: ' xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  zero: 'xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
};

export const TUNNEL_TYPES = ['ipip', 'gue', 'gre'] as const;
export type TunnelTypeName = (typeof TUNNEL_TYPES)[number];
const TUNNEL_OPTIONS: readonly OptionName[] = ['tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'];
// Per tunnel type (TUNNEL_TYPES order), per TUNNEL_OPTIONS column, same key as the command table.
const TUNNEL_OPTION_TABLE = ['xxxx', '+111', 'x11x'];

export interface ServiceEntry {
  /** Unset until an address or -f names the service. */
  family: Family | undefined;
  protocol: Protocol | undefined;
  address: ParsedAddress | undefined;
  port: number;
  fwmark: number;
  /** Empty when -s was not given (add/edit then default to wlc). */
  scheduler: string;
  /** IP_VS_SVC_F_* bits. */
  flags: number;
  /** Persistence timeout in seconds (0 when not persistent). */
  timeout: number;
  /** IPv4: the mask as a host-order 32-bit number; IPv6: a prefix length. */
  netmask: number;
  persistenceEngine: string;
}

export interface DestinationEntry {
  family: Family | undefined;
  address: ParsedAddress | undefined;
  port: number;
  /** IP_VS_CONN_F_MASQ / _TUNNEL / _DROUTE. */
  forwarding: number;
  weight: number;
  upperThreshold: number;
  lowerThreshold: number;
  /** Index into TUNNEL_TYPES. */
  tunnelType: number;
  tunnelPort: number;
  /** IP_VS_TUNNEL_ENCAP_FLAG_* bits. */
  tunnelFlags: number;
}

export interface DaemonEntry {
  state: 'master' | 'backup' | undefined;
  interface: string;
  syncId: number;
  syncMaxLen: number;
  mcastGroup: ParsedAddress | undefined;
  mcastPort: number;
  mcastTtl: number;
}

/** How a listing is printed (-n, --stats, --rate, ...). */
export interface ListFormat {
  numeric: boolean;
  stats: boolean;
  rate: boolean;
  thresholds: boolean;
  persistentConn: boolean;
  noSort: boolean;
  exact: boolean;
  tunInfo: boolean;
}

export interface ParsedCommand {
  kind: 'command';
  command: CommandName;
  /** The option classes given, for the checks and for listing choices. */
  options: ReadonlySet<OptionName>;
  format: ListFormat;
  service: ServiceEntry;
  destination: DestinationEntry;
  timeouts: { tcp: number; tcpFin: number; udp: number };
  daemon: DaemonEntry;
}

export type ParseOutcome = ParsedCommand | { kind: 'help' } | { kind: 'version' };

export interface GrammarContext {
  /** The services database for `host:name` ports. */
  services: ServiceNames;
  /**
   * gethostbyname for names that are not addresses: the IPv4 address (host order) or undefined. Called
   * synchronously; see collectHostNames for resolving names ahead of time.
   */
  lookupHost?: (name: string) => number | undefined;
}

const SERVICE_ADDR = 1;
const SERVICE_PORT = 2;

function fail(detail: string): never {
  throw new CommandLineError(detail, 2);
}

function tryHelp(): never {
  throw new CommandLineError('', 255, true);
}

/** strtol(s, &end, 10) accepted whole, within [min, max]; -1 otherwise (ipvsadm's string_to_number). */
export function stringToNumber(s: string, min: number, max: number): number {
  const m = /^[ \t\n\r\f\v]*([+-]?)([0-9]+)$/.exec(s);
  if (!m) return -1;
  const magnitude = Number(m[2]);
  const n = m[1] === '-' ? -magnitude : magnitude;
  if (!Number.isSafeInteger(n)) return -1;
  return min <= n && n <= max ? n : -1;
}

/** atoi: leading blanks, an optional sign, then digits up to the first non-digit; 0 when none. */
function atoi(s: string): number {
  const m = /^[ \t\n\r\f\v]*([+-]?)([0-9]*)/.exec(s);
  if (!m || m[2] === '') return 0;
  const n = Number(m[2]);
  return m[1] === '-' ? -n : n;
}

function parseTimeout(value: string | undefined, min: number, max: number): number {
  if (value === undefined) return DEFAULT_PERSISTENCE_TIMEOUT;
  const n = stringToNumber(value, min, max);
  if (n === -1) fail(`invalid timeout value \`${value}' specified`);
  return n;
}

function parseFwmark(value: string): number {
  const m = /^[ \t\n\r\f\v]*([+-]?)([0-9]+)$/.exec(value);
  const n = m ? (m[1] === '-' ? -Number(m[2]) : Number(m[2])) : NaN;
  if (!m || !(n > 0) || n > UINT_MAX) fail(`invalid fwmark value \`${value}' specified`);
  return n;
}

function isAllDigits(s: string): boolean {
  return /^[0-9]*$/.test(s);
}

interface AddressPort {
  family: Family;
  address: ParsedAddress;
  port: number | undefined;
}

/**
 * ipvsadm's parse_service: `[v6]:port`, a bare IPv6 address, or `v4-or-host[:port]`, ports numeric or
 * by service name for the given protocol. Returns a SERVICE_ADDR|SERVICE_PORT mask (0 for nothing).
 */
function parseServiceText(
  text: string,
  protocol: Protocol | undefined,
  ctx: GrammarContext,
): { result: number; value?: AddressPort } {
  if (isAllDigits(text)) return { result: 0 };
  let body = text;
  let portText: string | undefined;
  let bracketed = false;
  if (body.startsWith('[')) {
    const close = body.indexOf(']', 1);
    if (close < 0) return { result: 0 };
    if (body[close + 1] !== ':') return { result: 0 };
    portText = body.slice(close + 2);
    body = body.slice(1, close);
    bracketed = true;
  }
  let address: ParsedAddress;
  const v6 = parseIPv6(body);
  if (v6) {
    address = ipv6Address(v6);
  } else {
    // Inside brackets the text has no colon left, so a bracketed IPv4 address loses its port, as in ipvsadm.
    if (bracketed) portText = undefined;
    const colon = body.lastIndexOf(':');
    if (colon >= 0) {
      portText = body.slice(colon + 1);
      body = body.slice(0, colon);
    }
    const v4 = inetAton(body) ?? ctx.lookupHost?.(body);
    if (v4 === undefined) return { result: 0 };
    address = ipv4Address(v4);
  }
  let result = SERVICE_ADDR;
  let port: number | undefined;
  if (portText !== undefined) {
    result |= SERVICE_PORT;
    const n = stringToNumber(portText, 0, 65535);
    if (n !== -1) {
      port = n;
    } else {
      const byName = protocol ? ctx.services.portOf(portText, protocol) : undefined;
      if (byName === undefined) return { result: 0 };
      port = byName;
    }
  }
  return { result, value: { family: address.family, address, port } };
}

function parseNetmask(text: string, ctx: GrammarContext): number | undefined {
  return inetAton(text) ?? ctx.lookupHost?.(text);
}

function parseSchedFlags(scheduler: string, text: string): number {
  const sched = scheduler !== '' ? scheduler : DEFAULT_SCHEDULER;
  let flags = 0;
  for (const flag of text.split(',').filter((f) => f !== '')) {
    switch (flag) {
      // The generic names pass their bit to any scheduler, sh and mh included.
      case 'flag-1':
        flags |= IP_VS_SVC_F_SCHED1;
        break;
      case 'flag-2':
        flags |= IP_VS_SVC_F_SCHED2;
        break;
      case 'flag-3':
        flags |= IP_VS_SVC_F_SCHED3;
        break;
      case 'sh-fallback':
      case 'sh-port':
      case 'mh-fallback':
      case 'mh-port':
        flags |= flag.endsWith('fallback') ? IP_VS_SVC_F_SCHED1 : IP_VS_SVC_F_SCHED2;
        if (sched !== flag.slice(0, 2)) fail(`incompatible scheduler flag \`${flag}'`);
        break;
      default:
        fail(`invalid scheduler flag \`${flag}'`);
    }
  }
  return flags;
}

function isMulticast(address: ParsedAddress): boolean {
  return address.family === 'ipv4' ? (address.bytes[0]! & 0xf0) === 0xe0 : address.bytes[0] === 0xff;
}

/** The listing ipvsadm prints with no option: names resolved, no counters, sorted. */
export function plainListFormat(): ListFormat {
  return { numeric: false, stats: false, rate: false, thresholds: false, persistentConn: false, noSort: false, exact: false, tunInfo: false };
}

function newEntry(): Omit<ParsedCommand, 'command' | 'options' | 'kind'> {
  return {
    format: plainListFormat(),
    service: {
      family: undefined,
      protocol: undefined,
      address: undefined,
      port: 0,
      fwmark: 0,
      scheduler: '',
      flags: 0,
      timeout: 0,
      netmask: 0xffffffff,
      persistenceEngine: '',
    },
    destination: {
      family: undefined,
      address: undefined,
      port: 0,
      forwarding: IP_VS_CONN_F_DROUTE,
      weight: 1,
      upperThreshold: 0,
      lowerThreshold: 0,
      tunnelType: 0,
      tunnelPort: 0,
      tunnelFlags: 0,
    },
    timeouts: { tcp: 0, tcpFin: 0, udp: 0 },
    daemon: {
      state: undefined,
      interface: '',
      syncId: 0,
      syncMaxLen: 0,
      mcastGroup: undefined,
      mcastPort: 0,
      mcastTtl: 0,
    },
  };
}

const FIRST_OPTION_COMMANDS: Record<string, CommandName> = {
  A: 'add-service',
  E: 'edit-service',
  D: 'delete-service',
  a: 'add-server',
  e: 'edit-server',
  d: 'delete-server',
  C: 'flush',
  L: 'list',
  l: 'list',
  Z: 'zero',
  set: 'set',
  R: 'restore',
  S: 'save',
};

const PROTOCOL_OF_OPTION: Record<string, Protocol> = { t: 'tcp', u: 'udp', 'sctp-service': 'sctp' };

/**
 * Parse one ipvsadm command line (without the program name). Throws CommandLineError with ipvsadm's
 * sentence and exit status for input ipvsadm refuses.
 */
export function parseCommandLine(argv: readonly string[], ctx: GrammarContext): ParseOutcome {
  const scanner = new OptionScanner(argv);
  const entry = newEntry();
  const options = new Set<OptionName>();
  const svc = entry.service;
  const dest = entry.destination;
  const daemon = entry.daemon;
  const format = entry.format;
  let schedFlagsText = '';

  const setOption = (name: OptionName): void => {
    if (options.has(name)) fail(`multiple '${name}' options specified`);
    options.add(name);
  };

  const first: ScanItem = scanner.nextItem();
  if (first.kind !== 'option') tryHelp();
  let command: CommandName;
  const firstId = first.spec.id;
  if (firstId === 'h') return { kind: 'help' };
  if (firstId === 'v') return { kind: 'version' };
  if (firstId === 'start-daemon' || firstId === 'stop-daemon') {
    command = firstId;
    if (first.value === 'master' || first.value === 'backup') daemon.state = first.value;
    else fail(firstId === 'start-daemon' ? 'illegal start-daemon parameter specified' : 'illegal start_daemon specified');
  } else {
    const c = FIRST_OPTION_COMMANDS[firstId];
    if (c === undefined) tryHelp();
    command = c;
  }

  for (;;) {
    const item = scanner.nextItem();
    if (item.kind === 'end') break;
    if (item.kind === 'error') throw new CommandLineError(`${item.token}: ${item.error}`, 255);
    const value = item.value;
    switch (item.spec.id) {
      case 't':
      case 'u':
      case 'sctp-service': {
        setOption('service-address');
        svc.protocol = PROTOCOL_OF_OPTION[item.spec.id];
        const parsed = parseServiceText(value!, svc.protocol, ctx);
        if (parsed.value) {
          svc.family = parsed.value.family;
          svc.address = parsed.value.address;
          if (parsed.value.family === 'ipv6') svc.netmask = 128;
          if (parsed.value.port !== undefined) svc.port = parsed.value.port;
        }
        if (!(parsed.result & SERVICE_ADDR)) fail('illegal virtual server address[:port] specified');
        break;
      }
      case 'f':
        setOption('service-address');
        svc.family = 'ipv4';
        svc.protocol = 'tcp';
        svc.fwmark = parseFwmark(value!);
        break;
      case 's':
        setOption('scheduler');
        svc.scheduler = value!.slice(0, IP_VS_SCHEDNAME_MAXLEN - 1);
        break;
      case 'p':
        setOption('persistent');
        svc.flags |= IP_VS_SVC_F_PERSISTENT;
        svc.timeout = parseTimeout(value, 1, MAX_TIMEOUT);
        break;
      case 'M':
        setOption('netmask');
        if (svc.family !== 'ipv6') {
          const mask = parseNetmask(value!, ctx);
          if (mask === undefined) fail('illegal virtual server persistent mask specified');
          svc.netmask = mask;
        } else {
          svc.netmask = atoi(value!);
          if (svc.netmask < 1 || svc.netmask > 128) fail('illegal ipv6 netmask specified');
        }
        break;
      case 'r': {
        setOption('real-server');
        const parsed = parseServiceText(value!, svc.protocol, ctx);
        // ipvsadm starts from a copy of the service, so an unparsed part keeps the service's value.
        dest.family = parsed.value?.family ?? svc.family;
        dest.address = parsed.value?.address ?? svc.address;
        dest.port = parsed.value?.port ?? svc.port;
        if (!(parsed.result & SERVICE_ADDR)) fail('illegal real server address[:port] specified');
        if (parsed.result === SERVICE_ADDR) dest.port = svc.port;
        break;
      }
      case 'i':
        setOption('forwarding-method');
        dest.forwarding = IP_VS_CONN_F_TUNNEL;
        break;
      case 'g':
        setOption('forwarding-method');
        dest.forwarding = IP_VS_CONN_F_DROUTE;
        break;
      case 'm':
        setOption('forwarding-method');
        dest.forwarding = IP_VS_CONN_F_MASQ;
        break;
      case 'w':
        setOption('weight');
        dest.weight = stringToNumber(value!, 0, INT_MAX);
        if (dest.weight === -1) fail('illegal weight specified');
        break;
      case 'x':
        setOption('u-threshold');
        dest.upperThreshold = stringToNumber(value!, 0, INT_MAX);
        if (dest.upperThreshold === -1) fail('illegal u_threshold specified');
        break;
      case 'y':
        setOption('l-threshold');
        dest.lowerThreshold = stringToNumber(value!, 0, INT_MAX);
        if (dest.lowerThreshold === -1) fail('illegal l_threshold specified');
        break;
      case 'c':
        setOption('connection');
        break;
      case 'n':
        setOption('numeric');
        format.numeric = true;
        break;
      case 'mcast-interface':
        setOption('mcast-interface');
        daemon.interface = interfaceName(value!);
        break;
      case 'syncid':
        setOption('syncid');
        daemon.syncId = stringToNumber(value!, 0, 255);
        if (daemon.syncId === -1) fail('illegal syncid specified');
        break;
      case 'timeout':
        setOption('timeout');
        break;
      case 'daemon':
        setOption('daemon');
        break;
      case 'stats':
        setOption('stats');
        format.stats = true;
        break;
      case 'rate':
        setOption('rate');
        format.rate = true;
        break;
      case 'thresholds':
        setOption('thresholds');
        format.thresholds = true;
        break;
      case 'persistent-conn':
        setOption('persistent-conn');
        format.persistentConn = true;
        break;
      case 'nosort':
        setOption('nosort');
        format.noSort = true;
        break;
      case 'sort':
        break;
      case 'X':
        setOption('exact');
        format.exact = true;
        break;
      case '6':
        if (svc.fwmark) {
          svc.family = 'ipv6';
          svc.netmask = 128;
        } else {
          fail('-6 used before -f\n');
        }
        break;
      case 'o':
        setOption('ops');
        svc.flags |= IP_VS_SVC_F_ONEPACKET;
        break;
      case 'pe':
        setOption('pe');
        svc.persistenceEngine = value!.slice(0, 16);
        break;
      case 'b':
        setOption('sched-flags');
        schedFlagsText = value!.slice(0, 127);
        break;
      case 'mcast-group': {
        setOption('mcast-group');
        const text = value!;
        if (text.includes(':')) {
          const bytes = parseIPv6(text);
          const address = bytes ? ipv6Address(bytes) : undefined;
          if (!address || !isMulticast(address)) fail(`invalid IPv6 mcast-group \`${text}'`);
          daemon.mcastGroup = address;
        } else {
          const v4 = parseIPv4Strict(text);
          const address = v4 === undefined ? undefined : ipv4Address(v4);
          if (!address || !isMulticast(address)) fail(`invalid IPv4 mcast-group \`${text}'`);
          daemon.mcastGroup = address;
        }
        break;
      }
      case 'mcast-port':
        setOption('mcast-port');
        daemon.mcastPort = stringToNumber(value!, 1, 65535);
        if (daemon.mcastPort === -1) fail('illegal mcast-port specified');
        break;
      case 'mcast-ttl':
        setOption('mcast-ttl');
        daemon.mcastTtl = stringToNumber(value!, 1, 255);
        if (daemon.mcastTtl === -1) fail('illegal mcast-ttl specified');
        break;
      case 'sync-maxlen':
        setOption('sync-maxlen');
        daemon.syncMaxLen = stringToNumber(value!, 1, 65535 - 20 - 8);
        if (daemon.syncMaxLen === -1) fail('illegal sync-maxlen specified');
        break;
      case 'tun-info':
        setOption('tun-info');
        format.tunInfo = true;
        break;
      case 'tun-type': {
        setOption('tun-type');
        const type = TUNNEL_TYPES.indexOf(value! as TunnelTypeName);
        if (type < 0) fail('illegal tunnel type specified');
        dest.tunnelType = type;
        break;
      }
      case 'tun-port':
        setOption('tun-port');
        dest.tunnelPort = stringToNumber(value!, 1, 65535);
        if (dest.tunnelPort === -1) fail('illegal tunnel port specified');
        break;
      case 'tun-nocsum':
        setOption('tun-nocsum');
        break;
      case 'tun-csum':
        setOption('tun-csum');
        dest.tunnelFlags |= IP_VS_TUNNEL_ENCAP_FLAG_CSUM;
        break;
      case 'tun-remcsum':
        setOption('tun-remcsum');
        dest.tunnelFlags |= IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM;
        break;
      default:
        // A second command, -h or -v after the command: ipvsadm names the argument it stopped at.
        fail(`invalid option \`${item.token}'`);
    }
  }

  if (command === 'set') {
    const a = scanner.nextWord();
    const b = a === undefined ? undefined : scanner.nextWord();
    const c = b === undefined ? undefined : scanner.nextWord();
    if (a === undefined || b === undefined || c === undefined) fail('--set option requires 3 timeout values');
    entry.timeouts = {
      tcp: parseTimeout(a, 0, MAX_TIMEOUT),
      tcpFin: parseTimeout(b, 0, MAX_TIMEOUT),
      udp: parseTimeout(c, 0, MAX_TIMEOUT),
    };
  }
  const extra = scanner.nextWord();
  if (extra !== undefined) fail(`unexpected argument ${extra}`);

  if (schedFlagsText !== '') {
    svc.flags &= ~(IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3);
    svc.flags |= parseSchedFlags(svc.scheduler, schedFlagsText);
  }

  checkCommandOptions(command, options);

  if (command === 'add-service' || command === 'edit-service') {
    if (!svc.fwmark && !svc.port && !(svc.flags & IP_VS_SVC_F_PERSISTENT)) {
      fail('Zero port specified for non-persistent service');
    }
    if (svc.flags & IP_VS_SVC_F_ONEPACKET && !svc.fwmark && svc.protocol !== 'udp') {
      fail('One-Packet Scheduling is only for UDP virtual services');
    }
    if (svc.scheduler === '') svc.scheduler = DEFAULT_SCHEDULER;
  }
  if (command === 'start-daemon' && daemon.interface === '') daemon.interface = DEFAULT_MCAST_INTERFACE;

  if (command === 'add-server' || command === 'edit-server') {
    if (!svc.fwmark && (dest.forwarding === IP_VS_CONN_F_TUNNEL || dest.forwarding === IP_VS_CONN_F_DROUTE)) {
      dest.port = svc.port;
    }
    if (dest.family !== svc.family && dest.forwarding !== IP_VS_CONN_F_TUNNEL) {
      fail('Different address family is allowed only for tunneling servers');
    }
    const tunnelOptionGiven = ['tun-type', 'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'].some((o) =>
      options.has(o as OptionName),
    );
    if (tunnelOptionGiven && dest.forwarding !== IP_VS_CONN_F_TUNNEL) fail('Tunnel options conflict with forward method');
    checkTunnelOptions(dest.tunnelType, options);
  }

  if (command === 'list') {
    const has = (o: OptionName): boolean => options.has(o);
    if (
      ((has('connection') || has('timeout') || has('daemon')) && (has('stats') || has('rate') || has('thresholds'))) ||
      ((has('timeout') || has('daemon')) && has('persistent-conn'))
    ) {
      fail('options conflicts in the list command');
    }
  }

  return { kind: 'command', command, options, ...entry };
}

function checkCommandOptions(command: CommandName, options: ReadonlySet<OptionName>): void {
  const row = COMMAND_OPTION_TABLE[command];
  let last: OptionName | undefined;
  OPTION_NAMES.forEach((name, j) => {
    const rule = row[j];
    if (!options.has(name)) {
      if (rule === '+') fail(`You need to supply the '${name}' option for the '${command}' command`);
      return;
    }
    if (rule === 'x') fail(`Illegal '${name}' option with the '${command}' command`);
    if (rule === '1') {
      if (last === undefined) last = name;
      else fail(`The option '${name}' conflicts with the '${last}' option in the '${command}' command`);
    }
  });
}

function checkTunnelOptions(tunnelType: number, options: ReadonlySet<OptionName>): void {
  const row = TUNNEL_OPTION_TABLE[tunnelType]!;
  const typeName = TUNNEL_TYPES[tunnelType]!;
  let last: OptionName | undefined;
  TUNNEL_OPTIONS.forEach((name, j) => {
    const rule = row[j];
    if (!options.has(name)) {
      if (rule === '+') fail(`You need to supply the '${name}' option for the '${typeName}' tunnel type`);
      return;
    }
    if (rule === 'x') fail(`Illegal '${name}' option with the '${typeName}' tunnel type`);
    if (rule === '1') {
      if (last === undefined) last = name;
      else fail(`The option '${name}' conflicts with the '${last}' option in the '${typeName}' tunnel type`);
    }
  });
}

/**
 * The host names a command line would look up (values of -t/-u/--sctp-service/-r/-M that are neither
 * IPv4 nor IPv6 addresses), so a caller can resolve them asynchronously and then parse with the answers.
 * Found by parsing with a recording lookup; errors are ignored here (the real parse reports them).
 */
export function collectHostNames(argv: readonly string[], services: ServiceNames): string[] {
  const names = new Set<string>();
  try {
    parseCommandLine(argv, {
      services,
      lookupHost: (name) => {
        names.add(name);
        return 0x7f000001;
      },
    });
  } catch {
    // the real parse reports the error
  }
  return [...names];
}

/** The dotted text of an IPv4 netmask held as a host-order number. */
export function netmaskText(mask: number): string {
  return formatIPv4(mask >>> 0);
}
