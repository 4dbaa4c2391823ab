// IP addresses as IPVS carries them. Text in, text out: parsing validates with node:net and fills the
// 16-byte `union nf_inet_addr` the kernel's attributes hold (IPv4 in the first four bytes); formatting
// prints IPv4 dotted and IPv6 exactly as inet_ntop (and so Node, libuv and ipvsadm) prints it: RFC 5952
// lowercase, no leading zeros, the longest run of two or more zero groups compressed (the first on a tie),
// and a dotted tail for IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses. Netmasks:
// IPVS stores an IPv4 persistence mask as a big-endian u32 and an IPv6 one as a prefix length in a
// host-order u32 (ip_vs_ctl.c reads `(__force __u32) u->netmask` and refuses values outside 1..128), so
// no 16-byte IPv6 mask exists on the wire; the helpers below convert prefix lengths both ways anyway for
// callers that show masks.

import { isIPv4, isIPv6 } from 'node:net';
import { AF_INET, AF_INET6 } from './constants.js';
import { ValidationError } from './errors.js';
import type { AddressFamily } from './types.js';

export interface ParsedAddress {
  family: AddressFamily;
  af: typeof AF_INET | typeof AF_INET6;
  /** 16 bytes: IPv4 in the first four, as the kernel's union nf_inet_addr. */
  bytes: Buffer;
  /** Normalised text. */
  text: string;
}

/**
 * Parse an IPv4 or IPv6 address (an IPv6 one may be written in brackets). Throws a ValidationError
 * naming `field` for anything else, including zone ids (`fe80::1%eth0`), which IPVS cannot carry.
 */
export function parseAddress(field: string, value: unknown): ParsedAddress {
  if (typeof value !== 'string') throw new ValidationError(field, value, 'must be an IPv4 or IPv6 address string');
  // From Buffer's shared pool: a restore validates tens of thousands of addresses, and a separate
  // ArrayBuffer for each (Buffer.alloc) costs more to create and to collect than the parse itself.
  const bytes = Buffer.allocUnsafe(16);
  for (let i = 0; i < 16; i++) bytes[i] = 0;
  // Canonical IPv4 (what ipvsadm -S writes and the kernel reports) is its own normalised text.
  const v4 = canonicalIPv4Value(value);
  if (v4 !== undefined) {
    bytes[0] = v4 >>> 24;
    bytes[1] = (v4 >>> 16) & 255;
    bytes[2] = (v4 >>> 8) & 255;
    bytes[3] = v4 & 255;
    return { family: 'ipv4', af: AF_INET, bytes, text: value };
  }
  if (isIPv4(value)) {
    writeIPv4(value, bytes);
    return { family: 'ipv4', af: AF_INET, bytes, text: formatIPv4(bytes) };
  }
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  if (isIPv6(bare) && !bare.includes('%')) {
    writeIPv6(bare, bytes);
    return { family: 'ipv6', af: AF_INET6, bytes, text: formatIPv6(bytes) };
  }
  throw new ValidationError(field, value, refusalReason(bare));
}

/**
 * Why text is no address, in words for the spellings other tools take: ipvsadm (inet_aton) reads 010.0.0.1
 * as octal, 8.0.0.1, where most software reads 10.0.0.1, and takes 127.1 and 0x7f.0.0.1; a zone id names an
 * interface IPVS has no field for. Each is refused rather than read one way or the other.
 */
function refusalReason(bare: string): string {
  const zone = bare.indexOf('%');
  if (zone > 0 && isIPv6(bare.slice(0, zone))) return `a zone id (${bare.slice(zone)}) cannot be given: IPVS carries none; give the address alone`;
  if (/^[0-9.]+$/.test(bare) && bare.split('.').some((part) => part.length > 1 && part.startsWith('0'))) {
    return 'a leading zero is refused: ipvsadm reads 010.0.0.1 as octal (8.0.0.1), most software as decimal; write the numbers without it';
  }
  const parts = bare.split('.');
  if (parts.length <= 4 && parts.every((part) => /^(?:0[xX][0-9a-fA-F]+|[0-9]+)$/.test(part))) {
    if (parts.length === 4 && parts.every((part) => /^[0-9]+$/.test(part))) return 'not an IPv4 address: each number is 0..255';
    return 'not four decimal numbers 0..255: the short and hex forms ipvsadm takes (127.1, 0x7f.0.0.1) are refused';
  }
  return 'not an IPv4 or IPv6 address';
}

/**
 * The value of an IPv4 address written canonically (four decimal octets 0..255, no leading zeros): text
 * that is already its own normalised form. Undefined for anything else, which then needs the full parse.
 */
export function canonicalIPv4Value(s: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a final '.' closes the last octet
    if (c === 46) {
      if (digits === 0 || octet > 255 || ++parts > 4) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return undefined; // a leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3) return undefined;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? value : undefined;
}

/** The normalised text of an address, or undefined when `value` is not one. */
export function normalizeAddress(value: string): string | undefined {
  try {
    return parseAddress('address', value).text;
  } catch {
    return undefined;
  }
}

function writeIPv4(text: string, out: Buffer): void {
  const parts = text.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
}

/** Text already checked by isIPv6 -> 16 bytes. */
function writeIPv6(text: string, out: Buffer): void {
  let s = text;
  // An embedded IPv4 tail becomes the last two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const p = (v4[1] as string).split('.').map(Number) as [number, number, number, number];
    s = s.slice(0, v4.index) + `${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`;
  }
  const cut = s.indexOf('::');
  const head = cut < 0 ? s : s.slice(0, cut);
  const tail = cut < 0 ? '' : s.slice(cut + 2);
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = cut < 0 ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
}

/** The first four bytes as a dotted quad. */
export function formatIPv4(bytes: Uint8Array): string {
  return `${bytes[0] ?? 0}.${bytes[1] ?? 0}.${bytes[2] ?? 0}.${bytes[3] ?? 0}`;
}

/** Sixteen bytes as inet_ntop prints them (see the header comment). */
export function formatIPv6(bytes: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((((bytes[i * 2] ?? 0) << 8) | (bytes[i * 2 + 1] ?? 0)) >>> 0);
  let bestStart = -1;
  let bestLen = 0;
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
  if (bestLen < 2) bestStart = -1;
  // Encapsulated IPv4: ::a.b.c.d (six zero groups) and ::ffff:a.b.c.d, as inet_ntop decides it.
  if (bestStart === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
    const prefix = bestLen === 6 ? '::' : '::ffff:';
    return `${prefix}${bytes[12] ?? 0}.${bytes[13] ?? 0}.${bytes[14] ?? 0}.${bytes[15] ?? 0}`;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** An address attribute's bytes as text; IPv4 reads the first four of however many are there. */
export function formatAddress(af: number, bytes: Uint8Array): string {
  return af === AF_INET6 ? formatIPv6(bytes) : formatIPv4(bytes);
}

/** The bytes to put in an address attribute: four for IPv4, sixteen for IPv6. */
export function addressBytes(af: number, bytes16: Buffer): Buffer {
  return af === AF_INET6 ? bytes16 : bytes16.subarray(0, 4);
}

export function familyOfAf(af: number): AddressFamily {
  return af === AF_INET6 ? 'ipv6' : 'ipv4';
}

export function afOfFamily(family: AddressFamily): number {
  return family === 'ipv6' ? AF_INET6 : AF_INET;
}

/** Multicast: 224.0.0.0/4 or ff00::/8. */
export function isMulticast(address: ParsedAddress): boolean {
  const first = address.bytes[0] ?? 0;
  return address.family === 'ipv4' ? first >= 224 && first <= 239 : first === 0xff;
}

/**
 * A dotted IPv4 mask, or a prefix length 0..32 (a number, or text: '24', '/24', as an IPv6 mask may be
 * written) -> its 32-bit value. Only contiguous masks are netmasks: 255.0.255.0 is refused.
 */
export function parseIPv4Mask(field: string, value: unknown): number {
  const prefix = typeof value === 'string' ? /^\/?(\d{1,2})$/.exec(value) : null;
  if (typeof value === 'number' || prefix !== null) {
    const n = prefix !== null ? Number(prefix[1]) : (value as number);
    if (Number.isInteger(n) && n >= 0 && n <= 32) return prefixToIPv4Mask(n);
    throw new ValidationError(field, value, 'an IPv4 netmask is dotted (255.255.255.0) or a prefix length 0..32');
  }
  if (typeof value !== 'string' || !isIPv4(value)) throw new ValidationError(field, value, 'an IPv4 netmask is dotted (255.255.255.0) or a prefix length 0..32');
  const n = value.split('.').reduce((acc, p) => ((acc << 8) | Number(p)) >>> 0, 0);
  if (ipv4MaskToPrefix(n) === undefined) throw new ValidationError(field, value, 'the netmask is not contiguous');
  return n;
}

/**
 * A dotted mask as the kernel reported it (formatIPv4Mask's text) -> its 32-bit value. Not checked for
 * contiguity: the kernel keeps any persistence netmask it is given (ipvsadm -M 255.0.255.0).
 */
export function ipv4MaskValue(dotted: string): number {
  return dotted.split('.').reduce((acc, p) => ((acc << 8) | Number(p)) >>> 0, 0);
}

export function formatIPv4Mask(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** 0..32 -> the mask's 32-bit value (24 -> 0xffffff00). */
export function prefixToIPv4Mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** A 32-bit mask -> its prefix length, or undefined when the ones are not contiguous. */
export function ipv4MaskToPrefix(mask: number): number | undefined {
  const inverted = ~mask >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return undefined;
  let ones = 0;
  for (let m = mask >>> 0; m !== 0; m = (m << 1) >>> 0) ones++;
  return ones;
}

/** 0..128 -> the 16-byte IPv6 mask (for display; IPVS itself carries the prefix length). */
export function prefixToIPv6Mask(prefix: number): Buffer {
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = (0xff00 >> bits) & 0xff;
  }
  return out;
}

/** A 16-byte IPv6 mask -> its prefix length, or undefined when it is not contiguous. */
export function ipv6MaskToPrefix(mask: Uint8Array): number | undefined {
  let prefix = 0;
  let ended = false;
  for (let i = 0; i < 16; i++) {
    const b = mask[i] ?? 0;
    if (ended) {
      if (b !== 0) return undefined;
      continue;
    }
    if (b === 0xff) {
      prefix += 8;
      continue;
    }
    const ones = ipv4MaskToPrefix((b << 24) >>> 0);
    if (ones === undefined || ones > 8) return undefined;
    prefix += ones;
    ended = true;
  }
  return prefix;
}
