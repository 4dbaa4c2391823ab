// The fast path of parseRules: the `-A` / `-E` and `-a` / `-e` lines `ipvsadm -S` and `-Sn` write, read
// without the general grammar (argv array, option scanner, ParsedCommand) into the same operation objects
// it builds (command-line.ts, then specs.ts), key for key.
// It is an optimisation, not a second grammar: it takes only a strict subset of what the general path
// accepts (numeric addresses and ports, plain decimal numbers, the options in ipvsadm -S's order, no glued
// or long forms besides --pe and --sctp-service) and answers undefined for anything else, including every
// line the general path would refuse, so results and error sentences stay the general path's.
// A line is recognised by one sticky regular expression, run in place on the whole text (no line string,
// no argv array): matching is native code from the first call, which matters because a restore parses its
// text once, in a fresh process, mostly before the JIT has optimised any JavaScript. The patterns have no
// nested or overlapping repetition (each repeated piece is followed by a character it cannot match), so
// matching time stays linear in the line, whatever the line. What is left in code is range checks, the
// rules ipvsadm applies across options, and building the objects.

import { formatIPv6, parseIPv6 } from './addresses.js';
import { DEFAULT_PERSISTENCE_TIMEOUT, DEFAULT_SCHEDULER, MAX_TIMEOUT } from './command-line.js';
import type { RuleOperation } from './operations.js';
import type { DestinationSpec, Scheduler, ServiceKey, ServiceSpec } from '../ipvs/types.js';

const INT_MAX = 2147483647;
const UINT_MAX = 4294967295;

// Words are separated as ruleLineArguments separates them; the first word may be `ipvsadm`; `#` starting
// a word ends the line.
const BLANK = '[ \\t\\r]+';
const HEAD = `[ \\t\\r]*(?:ipvsadm${BLANK})?`;
const TAIL = `(?:${BLANK}#.*|[ \\t\\r]*)`;
// A dotted quad in its canonical spelling only (0..255, no leading zeros), so the text is the address
// text: inet_aton's octal, hex and short forms go the general way.
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const QUAD = `${OCTET}(?:\\.${OCTET}){3}`;
const NUMBER = '([0-9]{1,10})';
// 3 groups: IPv4 address, IPv6 address (inside brackets), port. A service name for the port (`:http`)
// does not match; a bracketed address without a port is declined in code.
const ENDPOINT = `(?:(${QUAD})|\\[([0-9A-Fa-f:.]+)\\])(?::([0-9]{1,5}))?`;
// 6 groups from SVC: protocol letter (none for --sctp-service), ENDPOINT, fwmark, `-6`.
const SERVICE = `(?:(?:-([tu])|--sctp-service)${BLANK}${ENDPOINT}|-f${BLANK}${NUMBER}(${BLANK}-6)?)`;
const SVC = 2;

// Group 1 the command letter, then SERVICE; then -s, -p (the word), its value, -M, --pe, -o.
const SERVICE_LINE =
  `${HEAD}-([AE])${BLANK}${SERVICE}` +
  `(?:${BLANK}-s${BLANK}([a-z0-9_]{1,15}))?` +
  `(?:${BLANK}(-p)(?:${BLANK}${NUMBER})?)?` +
  `(?:${BLANK}-M${BLANK}(${QUAD}|[0-9]{1,3}))?` +
  `(?:${BLANK}--pe${BLANK}([a-z0-9_]{1,16}))?` +
  `(${BLANK}-o)?${TAIL}`;
const SCHED = SVC + 6;
const PERSISTENT = SCHED + 1;
const TIMEOUT = SCHED + 2;
const MASK = SCHED + 3;
const ENGINE = SCHED + 4;
const ONE_PACKET = SCHED + 5;

// Group 1 the command letter, then SERVICE; then -r's ENDPOINT, the forwarding letter, -w, -x, -y.
const DESTINATION_LINE =
  `${HEAD}-([ae])${BLANK}${SERVICE}${BLANK}-r${BLANK}${ENDPOINT}` +
  `(?:${BLANK}-([gim]))?` +
  `(?:${BLANK}-w${BLANK}${NUMBER})?` +
  `(?:${BLANK}-x${BLANK}${NUMBER})?` +
  `(?:${BLANK}-y${BLANK}${NUMBER})?${TAIL}`;
const REAL = SVC + 6;
const METHOD = REAL + 3;
const WEIGHT = REAL + 4;
const UPPER = REAL + 5;
const LOWER = REAL + 6;

// Numbers below are digits by the patterns (at most 10, so exact as a Number; leading zeros are decimal, as
// strtol reads them): only their upper bounds, and lower bounds above 0, are left to check.

/** Whether the SERVICE groups name an IPv6 service: a bracketed address, or `-f MARK -6`. */
function isV6Service(m: RegExpExecArray): boolean {
  return m[SVC + 2] !== undefined || m[SVC + 5] !== undefined;
}

/** Reads the lines of one rules text; the patterns are per instance since a sticky RegExp is mutable. */
export class FastRuleLines {
  private readonly serviceLine = new RegExp(SERVICE_LINE, 'y');
  private readonly destinationLine = new RegExp(DESTINATION_LINE, 'y');
  // The canonical text of the last IPv6 address read: a service's repeats on each of its -a lines.
  private lastV6 = '';
  private lastV6Text = '';

  constructor(private readonly text: string) {}

  /**
   * The operation of the line text[start, end) (1-based number `line`), or undefined when the general
   * path must read it: another command, another shape, blank or comment-only, or a line it refuses.
   */
  operation(start: number, end: number, line: number): RuleOperation | undefined {
    // The command letter follows the first dash (a leading `ipvsadm` has none). Searched within the line
    // only: indexOf would scan on past a line without one, through every later line, per line.
    let dash = start;
    while (dash < end && this.text.charCodeAt(dash) !== 45) dash++;
    if (dash + 1 >= end) return undefined;
    const letter = this.text[dash + 1];
    const service = letter === 'A' || letter === 'E';
    if (!service && letter !== 'a' && letter !== 'e') return undefined;
    const pattern = service ? this.serviceLine : this.destinationLine;
    pattern.lastIndex = start;
    const m = pattern.exec(this.text);
    if (m === null || pattern.lastIndex !== end) return undefined;
    // The general path drops every word `ipvsadm` (ruleLineArguments), so `-s ipvsadm` is its business.
    if (service && (m[SCHED] === 'ipvsadm' || m[ENGINE] === 'ipvsadm')) return undefined;
    return service ? this.service(m, line) : this.destination(m, line);
  }

  /** The canonical text of the ENDPOINT at group i; undefined to fall back. */
  private endpointAddress(m: RegExpExecArray, i: number): string | undefined {
    const quad = m[i];
    if (quad !== undefined) return quad;
    // ipvsadm needs the port after `[v6]`. The general path's own parser and printer give the same text.
    const inner = m[i + 1]!;
    if (m[i + 2] === undefined) return undefined;
    if (inner !== this.lastV6) {
      const bytes = parseIPv6(inner);
      if (bytes === undefined) return undefined;
      this.lastV6 = inner;
      this.lastV6Text = formatIPv6(bytes);
    }
    return this.lastV6Text;
  }

  /** The service the SERVICE groups name, as serviceKeyOf builds it; undefined to fall back. */
  private serviceKey(m: RegExpExecArray): ServiceKey | undefined {
    const mark = m[SVC + 4];
    if (mark !== undefined) {
      const fwmark = Number(mark);
      if (fwmark < 1 || fwmark > UINT_MAX) return undefined;
      return { fwmark, family: m[SVC + 5] === undefined ? 'ipv4' : 'ipv6' };
    }
    const address = this.endpointAddress(m, SVC + 1);
    // Without a port the service's port is 0, as in ipvsadm.
    const port = m[SVC + 3] === undefined ? 0 : Number(m[SVC + 3]);
    if (address === undefined || port > 65535) return undefined;
    const letter = m[SVC];
    return { protocol: letter === 't' ? 'tcp' : letter === 'u' ? 'udp' : 'sctp', address, port };
  }

  private service(m: RegExpExecArray, line: number): RuleOperation | undefined {
    const key = this.serviceKey(m);
    if (key === undefined) return undefined;
    const v6 = isV6Service(m);
    let timeout = 0;
    if (m[PERSISTENT] !== undefined) {
      timeout = m[TIMEOUT] === undefined ? DEFAULT_PERSISTENCE_TIMEOUT : Number(m[TIMEOUT]);
      if (timeout < 1 || timeout > MAX_TIMEOUT) return undefined;
    }
    // -M is a dotted mask for IPv4 services, a prefix length 1..128 for IPv6 ones.
    const mask = m[MASK];
    let netmask: string | number = v6 ? 128 : '255.255.255.255';
    if (mask !== undefined) {
      if (mask.includes('.') === v6) return undefined;
      const prefix = Number(mask);
      if (v6 && (prefix < 1 || prefix > 128)) return undefined;
      netmask = v6 ? prefix : mask;
    }
    // ipvsadm's "Zero port specified for non-persistent service".
    if ('port' in key && key.port === 0 && timeout === 0) return undefined;
    const onePacket = m[ONE_PACKET] !== undefined;
    // ipvsadm's "One-Packet Scheduling is only for UDP virtual services".
    if (onePacket && 'protocol' in key && key.protocol !== 'udp') return undefined;
    const scheduler = (m[SCHED] ?? DEFAULT_SCHEDULER) as Scheduler;
    const persistence = timeout === 0 ? false : { timeout, netmask };
    const flags: ServiceSpec['flags'] = onePacket ? ['one-packet'] : [];
    // Written out rather than spread from the key: a spread makes a slower object, and the order is the same.
    const spec: ServiceSpec =
      'fwmark' in key
        ? { fwmark: key.fwmark, family: key.family, scheduler, persistence, flags }
        : { protocol: key.protocol, address: key.address, port: key.port, scheduler, persistence, flags };
    const engine = m[ENGINE];
    if (engine !== undefined) spec.persistenceEngine = engine as ServiceSpec['persistenceEngine'];
    return m[1] === 'E' ? { op: 'updateService', service: spec, line } : { op: 'addService', service: spec, line };
  }

  private destination(m: RegExpExecArray, line: number): RuleOperation | undefined {
    const service = this.serviceKey(m);
    const address = this.endpointAddress(m, REAL);
    if (service === undefined || address === undefined) return undefined;
    const method = m[METHOD];
    const forwarding = method === 'm' ? 'masq' : method === 'i' ? 'tunnel' : 'route';
    // ipvsadm's "Different address family is allowed only for tunneling servers".
    if ((m[REAL + 1] !== undefined) !== isV6Service(m) && forwarding !== 'tunnel') return undefined;
    const portText = m[REAL + 2];
    const givenPort = portText === undefined ? 0 : Number(portText);
    // No port, or direct routing / tunnelling to an address service: ipvsadm sends the service's port.
    const servicePort = 'port' in service ? service.port : 0;
    const port = portText === undefined || ('port' in service && forwarding !== 'masq') ? servicePort : givenPort;
    const weight = m[WEIGHT] === undefined ? 1 : Number(m[WEIGHT]);
    const upperThreshold = m[UPPER] === undefined ? 0 : Number(m[UPPER]);
    const lowerThreshold = m[LOWER] === undefined ? 0 : Number(m[LOWER]);
    if (givenPort > 65535 || weight > INT_MAX || upperThreshold > INT_MAX || lowerThreshold > INT_MAX) return undefined;
    const destination: DestinationSpec = { address, port, forwarding, weight, upperThreshold, lowerThreshold };
    if (forwarding === 'tunnel') destination.tunnel = { type: 'ipip' };
    return m[1] === 'e'
      ? { op: 'updateDestination', service, destination, line }
      : { op: 'addDestination', service, destination, line };
  }
}
