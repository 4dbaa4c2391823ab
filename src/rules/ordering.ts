// The order in which ipvsadm prints services and destinations. ipvsadm sorts both (unless --nosort) with
// the C library's qsort and libipvs's comparators, which subtract unsigned 32-bit fields and read the
// difference as a signed int. Addresses more than 2^31 apart therefore compare "backwards"
// (192.168.1.1 sorts before 10.0.0.1), and the comparison is not even transitive, so the result depends
// on the sorting algorithm. glibc's qsort is a top-down merge sort; it is reproduced here step for step,
// with the same comparators, so `ipvs -L` and `ipvs -S` list in exactly ipvsadm's order.

import { addressWords, canonicalAddress, canonicalIPv4Value } from './addresses.js';
import { AF_INET, AF_INET6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../ipvs/constants.js';
import type { Destination, Protocol, Service } from '../ipvs/types.js';

/** (a - b) on unsigned 32-bit values, read as a signed 32-bit int: the libipvs comparison. */
function signedDifference(a: number, b: number): number {
  return ((a >>> 0) - (b >>> 0)) | 0;
}

const PROTOCOL_NUMBERS: Record<Protocol, number> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, sctp: IPPROTO_SCTP };

function wordsOf(address: string | undefined, family: 'ipv4' | 'ipv6'): number[] {
  // What the client reports (canonical IPv4) needs no full parse.
  const v4 = address === undefined ? undefined : canonicalIPv4Value(address);
  if (v4 !== undefined) return [v4, 0, 0, 0];
  // fwmark services carry no address: libipvs compares its all-zero union.
  const parsed = address === undefined ? undefined : canonicalAddress(address);
  const words = parsed ? addressWords(parsed) : [];
  while (words.length < (family === 'ipv6' ? 4 : 1)) words.push(0);
  while (words.length < 4) words.push(0);
  return words;
}

function compareWords(family: 'ipv4' | 'ipv6', a: readonly number[], b: readonly number[]): number {
  if (family !== 'ipv6') return signedDifference(a[0]!, b[0]!);
  let r = 0;
  for (let i = 0; r === 0 && i < 4; i++) r = signedDifference(a[i]!, b[i]!);
  return r;
}

interface ServiceSortKey {
  fwmark: number;
  af: number;
  protocol: number;
  words: number[];
  family: 'ipv4' | 'ipv6';
  port: number;
}

function serviceSortKey(s: Service): ServiceSortKey {
  return {
    fwmark: s.fwmark ?? 0,
    af: s.family === 'ipv6' ? AF_INET6 : AF_INET,
    protocol: s.protocol ? PROTOCOL_NUMBERS[s.protocol] : 0,
    words: wordsOf(s.address, s.family),
    family: s.family,
    port: s.port ?? 0,
  };
}

function compareServiceKeys(a: ServiceSortKey, b: ServiceSortKey): number {
  let r = signedDifference(a.fwmark, b.fwmark);
  if (r !== 0) return r;
  r = a.af - b.af;
  if (r !== 0) return r;
  r = a.protocol - b.protocol;
  if (r !== 0) return r;
  r = compareWords(a.family, a.words, b.words);
  if (r !== 0) return r;
  return a.port - b.port;
}

/** libipvs's ipvs_cmp_services. */
export function compareServices(a: Service, b: Service): number {
  return compareServiceKeys(serviceSortKey(a), serviceSortKey(b));
}

interface DestinationSortKey {
  family: 'ipv4' | 'ipv6';
  words: number[];
  port: number;
}

function destinationSortKey(d: Destination): DestinationSortKey {
  return { family: d.family, words: wordsOf(d.address, d.family), port: d.port };
}

// The family of the first one decides how addresses compare (an IPv4 address is the first word of the union).
function compareDestinationKeys(a: DestinationSortKey, b: DestinationSortKey): number {
  const r = compareWords(a.family, a.words, b.words);
  if (r !== 0) return r;
  return a.port - b.port;
}

/** libipvs's ipvs_cmp_dests. */
export function compareDestinations(a: Destination, b: Destination): number {
  return compareDestinationKeys(destinationSortKey(a), destinationSortKey(b));
}

/** glibc's qsort (msort_with_tmp): a stable top-down merge sort, the left run winning ties (cmp <= 0). */
export function glibcSort<T>(items: readonly T[], compare: (a: T, b: T) => number): T[] {
  const out = [...items];
  const sortRange = (start: number, n: number): void => {
    if (n <= 1) return;
    const n1 = Math.floor(n / 2);
    const n2 = n - n1;
    sortRange(start, n1);
    sortRange(start + n1, n2);
    const left = out.slice(start, start + n1);
    const right = out.slice(start + n1, start + n);
    let i = 0;
    let j = 0;
    let k = start;
    while (i < n1 && j < n2) {
      if (compare(left[i]!, right[j]!) <= 0) out[k++] = left[i++]!;
      else out[k++] = right[j++]!;
    }
    while (i < n1) out[k++] = left[i++]!;
    while (j < n2) out[k++] = right[j++]!;
  };
  sortRange(0, out.length);
  return out;
}

export function sortServices<S extends Service>(services: readonly S[]): S[] {
  const keyed = services.map((item) => ({ item, key: serviceSortKey(item) }));
  return glibcSort(keyed, (a, b) => compareServiceKeys(a.key, b.key)).map((k) => k.item);
}

export function sortDestinations<D extends Destination>(destinations: readonly D[]): D[] {
  const keyed = destinations.map((item) => ({ item, key: destinationSortKey(item) }));
  return glibcSort(keyed, (a, b) => compareDestinationKeys(a.key, b.key)).map((k) => k.item);
}
