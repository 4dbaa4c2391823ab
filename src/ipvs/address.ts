// IPv4/IPv6 text <-> the 16-byte union nf_inet_addr the kernel's IPVS attributes carry, with IPv6
// normalised to RFC 5952 (lowercase, longest zero run compressed, no leading zeros).

import { isIPv4, isIPv6 } from 'node:net';
import { AF_INET, AF_INET6 } from './constants.js';
import type { AddressFamily } from './types.js';
import { ValidationError } from './errors.js';

export interface ParsedAddress {
  family: AddressFamily;
  af: typeof AF_INET | typeof AF_INET6;
  /** 16 bytes: IPv4 in the first four, as the kernel's union nf_inet_addr. */
  bytes: Buffer;
  /** Normalised text. */
  text: string;
}

export function parseAddress(field: string, value: unknown): ParsedAddress {
  if (typeof value !== 'string') throw new ValidationError(field, value, 'must be an IPv4 or IPv6 address string');
  const bytes = Buffer.alloc(16);
  if (isIPv4(value)) {
    const parts = value.split('.').map(Number);
    for (let i = 0; i < 4; i++) bytes[i] = parts[i] as number;
    return { family: 'ipv4', af: AF_INET, bytes, text: parts.join('.') };
  }
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  if (isIPv6(bare) && !bare.includes('%')) {
    writeIPv6(bare, bytes);
    return { family: 'ipv6', af: AF_INET6, bytes, text: formatIPv6(bytes) };
  }
  throw new ValidationError(field, value, 'not an IPv4 or IPv6 address');
}

function writeIPv6(text: string, out: Buffer): void {
  let s = text;
  // An embedded IPv4 tail becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const p = (v4[1] as string).split('.').map(Number) as [number, number, number, number];
    s = s.slice(0, v4.index) + `${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? (s.split('::') as [string, string]) : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
}

export function formatIPv4(bytes: Buffer): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

export function formatIPv6(bytes: Buffer): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(bytes.readUInt16BE(i * 2));
  // IPv4-mapped addresses keep their dotted tail, as Node and ipvsadm print them.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `::ffff:${formatIPv4(bytes.subarray(12))}`;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function formatAddress(af: number, bytes: Buffer): string {
  if (af === AF_INET6) {
    const full = Buffer.alloc(16);
    bytes.copy(full, 0, 0, Math.min(16, bytes.length));
    return formatIPv6(full);
  }
  return formatIPv4(bytes.length >= 4 ? bytes : Buffer.concat([bytes, Buffer.alloc(4)]));
}

export function familyOfAf(af: number): AddressFamily {
  return af === AF_INET6 ? 'ipv6' : 'ipv4';
}

export function afOfFamily(family: AddressFamily): number {
  return family === 'ipv6' ? AF_INET6 : AF_INET;
}

/** A dotted IPv4 mask -> its 32-bit value; contiguous masks only. */
export function parseIPv4Mask(field: string, value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 32) {
    return value === 0 ? 0 : (0xffffffff << (32 - value)) >>> 0;
  }
  if (typeof value !== 'string' || !isIPv4(value)) throw new ValidationError(field, value, 'an IPv4 netmask must be dotted, e.g. 255.255.255.0');
  const n = value.split('.').reduce((acc, p) => ((acc << 8) | Number(p)) >>> 0, 0);
  const inverted = ~n >>> 0;
  if ((inverted & (inverted + 1)) !== 0) throw new ValidationError(field, value, 'the netmask is not contiguous');
  return n;
}

export function formatIPv4Mask(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
