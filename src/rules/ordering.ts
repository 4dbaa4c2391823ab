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

/** An address as libipvs's comparators see it: four 32-bit words (IPv4 fills the first, the rest 0). */
interface Words {
  family: 'ipv4' | 'ipv6';
  w0: number;
  w1: number;
  w2: number;
  w3: number;
}

function wordsOf(address: string | undefined, family: 'ipv4' | 'ipv6'): [number, number, number, number] {
  // What the client reports (canonical IPv4) needs no full parse.
  const v4 = address === undefined ? undefined : canonicalIPv4Value(address);
  if (v4 !== undefined) return [v4, 0, 0, 0];
  // fwmark services carry no address: libipvs compares its all-zero union.
  const parsed = address === undefined ? undefined : canonicalAddress(address);
  const words = parsed ? addressWords(parsed) : [];
  return [words[0] ?? 0, words[1] ?? 0, words[2] ?? 0, words[3] ?? 0];
}

function compareWords(a: Words, b: Words): number {
  let r = signedDifference(a.w0, b.w0);
  if (a.family !== 'ipv6' || r !== 0) return r;
  r = signedDifference(a.w1, b.w1);
  if (r !== 0) return r;
  r = signedDifference(a.w2, b.w2);
  if (r !== 0) return r;
  return signedDifference(a.w3, b.w3);
}

interface ServiceSortKey extends Words {
  fwmark: number;
  af: number;
  protocol: number;
  port: number;
}

function serviceSortKey(s: Service): ServiceSortKey {
  const [w0, w1, w2, w3] = wordsOf(s.address, s.family);
  return {
    fwmark: s.fwmark ?? 0,
    af: s.family === 'ipv6' ? AF_INET6 : AF_INET,
    protocol: s.protocol ? PROTOCOL_NUMBERS[s.protocol] : 0,
    family: s.family, w0, w1, w2, w3,
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
  r = compareWords(a, b);
  if (r !== 0) return r;
  return a.port - b.port;
}

/** libipvs's ipvs_cmp_services. */
export function compareServices(a: Service, b: Service): number {
  return compareServiceKeys(serviceSortKey(a), serviceSortKey(b));
}

interface DestinationSortKey extends Words {
  port: number;
}

function destinationSortKey(d: Destination): DestinationSortKey {
  const [w0, w1, w2, w3] = wordsOf(d.address, d.family);
  return { family: d.family, w0, w1, w2, w3, port: d.port };
}

// The family of the first one decides how addresses compare (an IPv4 address is the first word of the union).
function compareDestinationKeys(a: DestinationSortKey, b: DestinationSortKey): number {
  const r = compareWords(a, b);
  if (r !== 0) return r;
  return a.port - b.port;
}

/** libipvs's ipvs_cmp_dests. */
export function compareDestinations(a: Destination, b: Destination): number {
  return compareDestinationKeys(destinationSortKey(a), destinationSortKey(b));
}

/**
 * glibc's qsort (msort_with_tmp): a stable top-down merge sort, the left run winning ties (cmp <= 0),
 * merging through one scratch array as glibc does through its temporary buffer.
 */
export function glibcSort<T>(items: readonly T[], compare: (a: T, b: T) => number): T[] {
  const out = [...items];
  const tmp = new Array<T>(out.length);
  const sortRange = (start: number, n: number): void => {
    if (n <= 1) return;
    const n1 = Math.floor(n / 2);
    const mid = start + n1;
    const end = start + n;
    sortRange(start, n1);
    sortRange(mid, n - n1);
    let i = start;
    let j = mid;
    let k = 0;
    while (i < mid && j < end) {
      if (compare(out[i]!, out[j]!) <= 0) tmp[k++] = out[i++]!;
      else tmp[k++] = out[j++]!;
    }
    while (i < mid) tmp[k++] = out[i++]!;
    // What is left of the right run is already in place.
    for (let m = 0; m < k; m++) out[start + m] = tmp[m]!;
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
