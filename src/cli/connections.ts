// The connection table (`ipvs -Lc`, `-Lnc`, `-Lc --persistent-conn`), read from the kernel's
// /proc/net/ip_vs_conn as ipvsadm does (there is no netlink dump of connections). The file has a header
// line, then one line per connection or persistence template: protocol name, client, virtual and
// destination addresses (IPv4 as 8 hex digits, IPv6 in full colon form) with 4-hex-digit ports, the
// state name, the seconds until expiry, and for persistence-engine connections the engine name and data.

import { left } from './columns.js';
import { formatIPv4, ipv6Address, parseIPv4Strict, parseIPv6 } from '../rules/addresses.js';
import { endpointText, type EndpointNames } from '../rules/endpoint-text.js';
import type { Protocol } from '../ipvs/types.js';

export interface ConnectionEntry {
  /** As the kernel names it: TCP, UDP, SCTP, or IP for firewall-mark templates. */
  protocolName: string;
  client: { address: string; port: number };
  virtual: { address: string; port: number };
  destination: { address: string; port: number };
  state: string;
  /** Seconds until the entry expires. */
  expires: number;
  /** Present only when the line carries persistence-engine fields. */
  peName?: string;
  peData?: string;
}

function hexPort(text: string | undefined): number {
  const m = /^[0-9a-fA-F]+/.exec(text ?? '');
  return m ? parseInt(m[0], 16) & 0xffff : 0;
}

// strtoul(text, NULL, 16): leading hex digits, 0 when none.
function hexAddress(text: string): string {
  const m = /^\s*(?:0[xX])?([0-9a-fA-F]+)/.exec(text);
  if (!m) return formatIPv4(0);
  const digits = m[1]!.replace(/^0+/, '');
  // Past 64 bits strtoul saturates; the address keeps the low 32 bits either way.
  const value = digits.length > 16 ? 0xffffffff : Number(BigInt(`0x${digits || '0'}`) & 0xffffffffn);
  return formatIPv4(value);
}

function addressOf(text: string, v6: boolean): string {
  if (v6) {
    const bytes = parseIPv6(text);
    if (bytes) return ipv6Address(bytes).text;
  }
  const dotted = parseIPv4Strict(text);
  if (dotted !== undefined) return formatIPv4(dotted);
  return hexAddress(text);
}

/** One line of /proc/net/ip_vs_conn (not the header); undefined for a blank line. */
export function parseConnectionLine(line: string): ConnectionEntry | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 2 || f[0] === '') return undefined;
  const clientV6 = parseIPv6(f[1]!) !== undefined;
  const destV6 = f[5] !== undefined && parseIPv6(f[5]) !== undefined;
  const expires = Number.parseInt(f[8] ?? '0', 10);
  const entry: ConnectionEntry = {
    protocolName: f[0]!.slice(0, 7),
    client: { address: addressOf(f[1]!, clientV6), port: hexPort(f[2]) },
    virtual: { address: addressOf(f[3] ?? '', clientV6), port: hexPort(f[4]) },
    destination: { address: addressOf(f[5] ?? '', destV6), port: hexPort(f[6]) },
    state: (f[7] ?? '').slice(0, 15),
    expires: Number.isFinite(expires) ? expires : 0,
  };
  if (f.length >= 11) {
    entry.peName = f[9]!;
    entry.peData = f[10]!;
  }
  return entry;
}

/** Every connection in the file's text (the first line is the header). */
export function parseConnectionTable(text: string): ConnectionEntry[] {
  const lines = text.split('\n');
  const out: ConnectionEntry[] = [];
  for (const line of lines.slice(1)) {
    const entry = parseConnectionLine(line);
    if (entry) out.push(entry);
  }
  return out;
}

const PROTOCOLS: Record<string, Protocol> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

/** The title lines of the connection listing. */
export function connectionTitle(persistentConn: boolean): string {
  if (persistentConn) {
    return `IPVS connection entries\npro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} ${left('destination', 18)} ${left('pe name', 16)} pe_data\n`;
  }
  return `IPVS connection entries\npro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} destination\n`;
}

function expireText(seconds: number): string {
  const s = Math.max(0, Math.trunc(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** One connection as ipvsadm prints it (with its newline). */
export function connectionRow(
  entry: ConnectionEntry,
  numeric: boolean,
  persistentConn: boolean,
  names: EndpointNames | undefined,
): string {
  const protocol = PROTOCOLS[entry.protocolName];
  const c = endpointText(entry.client.address, entry.client.port, protocol, numeric, names);
  const v = endpointText(entry.virtual.address, entry.virtual.port, protocol, numeric, names);
  const d = endpointText(entry.destination.address, entry.destination.port, protocol, numeric, names);
  const head = `${left(entry.protocolName, 3)} ${left(expireText(entry.expires), 6)} ${left(entry.state, 11)} ${left(c, 18)} ${left(v, 18)}`;
  if (persistentConn && entry.peName !== undefined) {
    return `${head} ${left(d, 16)} ${left(entry.peName, 18)} ${entry.peData ?? ''}\n`;
  }
  return `${head} ${d}\n`;
}
