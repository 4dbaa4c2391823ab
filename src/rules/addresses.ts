// Address text as ipvsadm reads and prints it. ipvsadm leans on the C library: inet_aton for IPv4 input
// (which takes "10.1", hex and octal parts), inet_pton for IPv6 input, inet_ntop / inet_ntoa for output.
// The same rules are reproduced here so that `ipvs` accepts exactly the inputs ipvsadm accepts and prints
// addresses byte for byte as it does, whatever spelling the client or the kernel used.

export type Family = 'ipv4' | 'ipv6';

const MAX_BY_PARTS = [0xffffffff, 0xffffff, 0xffff, 0xff];

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isHexDigit(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
}

/**
 * The C library's inet_aton: one to four parts separated by dots, each decimal, octal (leading 0) or hex
 * (leading 0x); the last part fills the remaining bytes. Returns the address as an unsigned 32-bit number
 * in host order, or undefined when the text is not an address. Trailing white space ends the address.
 */
export function inetAton(text: string): number | undefined {
  const parts: number[] = [];
  let i = 0;
  let c = text[i];
  let value = 0;
  let sawDigit = false;
  for (;;) {
    if (!isDigit(c)) return undefined;
    value = 0;
    let base = 10;
    sawDigit = false;
    if (c === '0') {
      c = text[++i];
      if (c === 'x' || c === 'X') {
        base = 16;
        c = text[++i];
      } else {
        base = 8;
        sawDigit = true;
      }
    }
    for (;;) {
      if (isDigit(c)) {
        if (base === 8 && (c === '8' || c === '9')) return undefined;
        value = value * base + (c!.charCodeAt(0) - 48);
        c = text[++i];
        sawDigit = true;
      } else if (base === 16 && isHexDigit(c)) {
        value = value * 16 + parseInt(c!, 16);
        c = text[++i];
        sawDigit = true;
      } else {
        break;
      }
      if (value > 0xffffffff) return undefined;
    }
    if (c === '.') {
      if (parts.length > 2 || value > 0xff) return undefined;
      parts.push(value);
      c = text[++i];
    } else {
      break;
    }
  }
  if (!(c === undefined || isSpace(c))) return undefined;
  if (!sawDigit) return undefined;
  if (value > MAX_BY_PARTS[parts.length]!) return undefined;
  let result = value;
  for (let p = 0; p < parts.length; p++) result += parts[p]! * 2 ** (8 * (3 - p));
  return result >>> 0;
}

/** Strict dotted quad as inet_pton(AF_INET) takes it: four decimal parts, no leading zeros. */
export function parseIPv4Strict(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let result = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    result = result * 256 + n;
  }
  return result >>> 0;
}

/** inet_pton(AF_INET6): 16 bytes, or undefined when the text is not an IPv6 address. */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length === 0) return undefined;
  const bytes = new Uint8Array(16);
  let head = text;
  let tailV4: number | undefined;
  // A trailing dotted quad takes the last 32 bits.
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.indexOf('.', lastColon) >= 0) {
    tailV4 = parseIPv4Strict(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = text.slice(0, lastColon + 1);
    // "::1.2.3.4" keeps its "::"; "1::2:1.2.3.4" leaves "1::2:" which must lose the dangling colon.
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const doubleAt = head.indexOf('::');
  if (doubleAt >= 0 && head.indexOf('::', doubleAt + 1) >= 0) return undefined;
  const groupLimit = tailV4 === undefined ? 8 : 6;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (doubleAt >= 0) {
    const left = parseGroups(head.slice(0, doubleAt));
    const right = parseGroups(head.slice(doubleAt + 2));
    if (!left || !right) return undefined;
    if (left.length + right.length > groupLimit - 1) return undefined;
    groups = [...left, ...new Array<number>(groupLimit - left.length - right.length).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (!all || all.length !== groupLimit) return undefined;
    groups = all;
  }
  groups.forEach((g, idx) => {
    bytes[idx * 2] = g >> 8;
    bytes[idx * 2 + 1] = g & 0xff;
  });
  if (tailV4 !== undefined) {
    bytes[12] = (tailV4 >>> 24) & 0xff;
    bytes[13] = (tailV4 >>> 16) & 0xff;
    bytes[14] = (tailV4 >>> 8) & 0xff;
    bytes[15] = tailV4 & 0xff;
  }
  return bytes;
}

/** inet_ntoa: the dotted quad of a host-order 32-bit address. */
export function formatIPv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

/**
 * inet_ntop(AF_INET6) as the C library writes it: lowercase, the first longest run of two or more zero
 * groups shortened to "::", and the IPv4-compatible / IPv4-mapped forms ending in a dotted quad.
 */
export function formatIPv6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((bytes[i * 2]! << 8) | bytes[i * 2 + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
      return out;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

export interface ParsedAddress {
  family: Family;
  /** Canonical text as inet_ntop / inet_ntoa print it. */
  text: string;
  /** Network-order bytes: 4 for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
}

function ipv4Bytes(value: number): Uint8Array {
  return Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

export { canonicalIPv4Value } from '../ipvs/address.js';

/** Any address text the client or kernel reports, in either family, normalised to the C library's spelling. */
export function canonicalAddress(text: string): ParsedAddress | undefined {
  const v4 = parseIPv4Strict(text);
  if (v4 !== undefined) return { family: 'ipv4', text: formatIPv4(v4), bytes: ipv4Bytes(v4) };
  const v6 = parseIPv6(text);
  if (v6 !== undefined) return { family: 'ipv6', text: formatIPv6(v6), bytes: v6 };
  return undefined;
}

/** An IPv4 address read by inet_aton, as a ParsedAddress. */
export function ipv4Address(value: number): ParsedAddress {
  return { family: 'ipv4', text: formatIPv4(value), bytes: ipv4Bytes(value) };
}

/** An IPv6 address as a ParsedAddress. */
export function ipv6Address(bytes: Uint8Array): ParsedAddress {
  return { family: 'ipv6', text: formatIPv6(bytes), bytes };
}

/** A dotted IPv4 netmask as a 32-bit number (host order); undefined when not an address. */
export function ipv4Value(text: string): number | undefined {
  return parseIPv4Strict(text) ?? inetAton(text);
}

/**
 * The 32-bit words of an address in network order, as libipvs compares them when it sorts (ntohl of
 * each s6_addr32, or of the IPv4 address).
 */
export function addressWords(address: ParsedAddress): number[] {
  const b = address.bytes;
  const words: number[] = [];
  for (let i = 0; i < b.length; i += 4) {
    words.push(((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0);
  }
  return words;
}
