// The table listings of `ipvs -L` in every form ipvsadm 1.31 prints: the plain table, --stats, --rate,
// --thresholds, --persistent-conn, --tun-info, with --exact and -n, plus the version header, the
// --timeout line and the --daemon lines. Pure formatting over the client's objects; fetching and name
// resolution happen in the caller. Column widths, truncation (28 characters for an IPv4 real server, 33
// for an IPv4 service) and the order of the optional words are ipvsadm's.

import { left, largeNumber, right, unsigned } from './columns.js';
import type { ListFormat } from '../rules/command-line.js';
import { canonicalAddress } from '../rules/addresses.js';
import { endpointText, type EndpointNames } from '../rules/endpoint-text.js';
import {
  forwardingName,
  isPersistent,
  persistenceMaskText,
  SCHED_FLAG_MASK,
  schedFlagsText,
  serviceFlagBits,
  tunnelInfoText,
} from '../rules/service-facts.js';
import { IP_VS_SVC_F_ONEPACKET } from '../ipvs/constants.js';
import type { Daemon, Destination, Info, Protocol, Service, Timeouts } from '../ipvs/types.js';

/** `IP Virtual Server version 1.2.1 (size=4096)` */
export function versionHeader(info: Info): string {
  let code = info.versionCode;
  if (typeof code !== 'number' || !Number.isFinite(code)) {
    const [a = 0, b = 0, c = 0] = String(info.version ?? '').split('.').map(Number);
    code = (a << 16) | (b << 8) | c;
  }
  return `IP Virtual Server version ${(code >> 16) & 0xff}.${(code >> 8) & 0xff}.${code & 0xff} (size=${info.connectionTableSize})\n`;
}

const PROT = 'Prot LocalAddress:Port';
const REMOTE = '  -> RemoteAddress:Port';

/** The column titles for a listing format. */
export function listTitle(format: ListFormat): string {
  if (format.stats) {
    return `${left(PROT, 33)} ${['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'].map((t) => right(t, 8)).join(' ')}\n${REMOTE}\n`;
  }
  if (format.rate) {
    return `${left(PROT, 33)} ${['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'].map((t) => right(t, 8)).join(' ')}\n${REMOTE}\n`;
  }
  if (format.thresholds) {
    return `${left(PROT, 33)} ${['Uthreshold', 'Lthreshold', 'ActiveConn', 'InActConn'].map((t) => left(t, 10)).join(' ')}\n${REMOTE}\n`;
  }
  if (format.persistentConn) {
    return `${left(PROT, 33)} ${left('Weight', 9)} ${left('PersistConn', 11)} ${left('ActiveConn', 10)} ${left('InActConn', 10)}\n${REMOTE}\n`;
  }
  if (format.tunInfo) {
    return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n';
  }
  return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
}

const PROTOCOL_LABEL: Readonly<Record<Protocol, string>> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

/**
 * `TCP  10.0.0.1:80`, `FWM  10`, `FWM  10 IPv6`: the service as a listing names it; `?    10.0.0.1:80` (its
 * port never named) for a protocol other than TCP, UDP and SCTP, as ipvsadm prints it.
 */
export function serviceListName(service: Service, format: ListFormat, names: EndpointNames | undefined): string {
  if (service.fwmark !== undefined && service.fwmark !== 0) {
    return service.family === 'ipv6' ? `FWM  ${service.fwmark} IPv6` : `FWM  ${service.fwmark}`;
  }
  const label = typeof service.protocol === 'string' ? PROTOCOL_LABEL[service.protocol] : '?';
  const name = `${left(label, 4)} ${endpointText(service.address!, service.port!, service.protocol, format.numeric, names)}`;
  return service.family === 'ipv6' ? name : name.slice(0, 33);
}

/** The service's own line (with its newline). */
export function serviceRow(service: Service, format: ListFormat, names: EndpointNames | undefined): string {
  const name = serviceListName(service, format, names);
  const s = service.stats;
  if (format.stats) {
    return left(name, 33) + [s.conns, s.inPackets, s.outPackets, s.inBytes, s.outBytes].map((v) => largeNumber(v, format.exact)).join('') + '\n';
  }
  if (format.rate) {
    return left(name, 33) + [s.cps, s.inPps, s.outPps, s.inBps, s.outBps].map((v) => largeNumber(v, format.exact)).join('') + '\n';
  }
  let line = `${name} ${service.scheduler}`;
  const bits = serviceFlagBits(service);
  if (bits & SCHED_FLAG_MASK) line += ` (${schedFlagsText(service)})`;
  if (isPersistent(service)) {
    line += ` persistent ${service.persistence?.timeout ?? 0}`;
    const mask = persistenceMaskText(service);
    if (mask !== undefined) line += ` mask ${mask}`;
    if (service.persistenceEngine) line += ` pe ${service.persistenceEngine}`;
  }
  if (bits & IP_VS_SVC_F_ONEPACKET) line += ' ops';
  return line + '\n';
}

/** One real-server line (with its newline). */
export function destinationRow(
  service: Service,
  destination: Destination,
  format: ListFormat,
  names: EndpointNames | undefined,
): string {
  let dname = endpointText(destination.address, destination.port, service.protocol, format.numeric, names);
  if (destination.family !== 'ipv6' && !dname.startsWith('[')) dname = dname.slice(0, 28);
  const head = `  -> ${left(dname, 28)}`;
  const d = destination;
  const s = d.stats;
  if (format.stats) {
    return head + [s.conns, s.inPackets, s.outPackets, s.inBytes, s.outBytes].map((v) => largeNumber(v, format.exact)).join('') + '\n';
  }
  if (format.rate) {
    return `${head} ${right(unsigned(s.cps), 8)} ${right(unsigned(s.inPps), 8)} ${right(unsigned(s.outPps), 8)}${largeNumber(s.inBps, format.exact)}${largeNumber(s.outBps, format.exact)}\n`;
  }
  if (format.thresholds) {
    return `${head} ${[d.upperThreshold, d.lowerThreshold, d.activeConns, d.inactiveConns].map((v) => left(unsigned(v), 10)).join(' ')}\n`;
  }
  if (format.persistentConn) {
    return `${head} ${left(String(d.weight), 9)} ${left(unsigned(d.persistentConns), 11)} ${left(unsigned(d.activeConns), 10)} ${left(unsigned(d.inactiveConns), 10)}\n`;
  }
  if (format.tunInfo) {
    return `${head} ${left(forwardingName(d), 7)} ${left(tunnelInfoText(d), 13)} ${left(String(d.weight), 6)} ${left(unsigned(d.activeConns), 10)} ${left(unsigned(d.inactiveConns), 10)}\n`;
  }
  return `${head} ${left(forwardingName(d), 7)} ${left(String(d.weight), 6)} ${left(unsigned(d.activeConns), 10)} ${left(unsigned(d.inactiveConns), 10)}\n`;
}

/** `Timeout (tcp tcpfin udp): 900 120 300` */
export function timeoutLine(timeouts: Timeouts): string {
  return `Timeout (tcp tcpfin udp): ${timeouts.tcp} ${timeouts.tcpFin} ${timeouts.udp}\n`;
}

/** `master sync daemon (mcast=eth0, syncid=1, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)` lines. */
export function daemonLines(daemons: readonly Daemon[]): string {
  let out = '';
  for (const d of daemons.slice(0, 2)) {
    if (d.state !== 'master' && d.state !== 'backup') continue;
    out += `${d.state} sync daemon (mcast=${d.interface}, syncid=${d.syncId}`;
    if (d.syncMaxLen) out += `, maxlen=${d.syncMaxLen}`;
    if (d.mcastGroup) out += `, group=${canonicalAddress(d.mcastGroup)?.text ?? d.mcastGroup}`;
    if (d.mcastPort) out += `, port=${d.mcastPort}`;
    if (d.mcastTtl) out += `, ttl=${d.mcastTtl}`;
    out += ')\n';
  }
  return out;
}
