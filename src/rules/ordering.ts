// The order in which ipvsadm prints services and destinations. ipvsadm sorts both (unless --nosort) with
// the C library's qsort and libipvs's comparators, which subtract unsigned 32-bit fields and read the
// difference as a signed int. Addresses more than 2^31 apart therefore compare "backwards"
// (192.168.1.1 sorts before 10.0.0.1), and the comparison is not even transitive, so the result depends
// on the sorting algorithm. glibc's qsort is a top-down merge sort; it is reproduced here step for step,
// with the same comparators, so `ipvs -L` and `ipvs -S` list in exactly ipvsadm's order.

import { addressWords, canonicalAddress, canonicalIPv4Value } from './addresses.js';
import { AF_INET, AF_INET6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../ipvs/constants.js';
import type { Destination, Protocol, Service, WithoutStats } from '../ipvs/types.js';

/** (a - b) on unsigned 32-bit values, read as a signed 32-bit int: the libipvs comparison. */
function signedDifference(a: number, b: number): number {
  return ((a >>> 0) - (b >>> 0)) | 0;
}

const PROTOCOL_NUMBERS: Record<Protocol, number> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, sctp: IPPROTO_SCTP };

// Sort keys live in one flat array per sort, a fixed number of slots per item, so sorting a service's
// destinations or a table's services builds no object per item.
// An address as libipvs's comparators see it: four 32-bit words (IPv4 fills the first, the rest 0),
// and whether it is IPv6 (only then do the other three words count).
const V6 = 0;
const W0 = 1;

/** Write the address's IPv6 flag and words at keys[at..at+4]. */
function putWords(keys: Float64Array, at: number, address: string | undefined, family: 'ipv4' | 'ipv6'): void {
  keys[at + V6] = family === 'ipv6' ? 1 : 0;
  // What the client reports (canonical IPv4) needs no full parse.
  const v4 = address === undefined ? undefined : canonicalIPv4Value(address);
  if (v4 !== undefined) {
    keys[at + W0] = v4;
    keys[at + W0 + 1] = 0;
    keys[at + W0 + 2] = 0;
    keys[at + W0 + 3] = 0;
    return;
  }
  // fwmark services carry no address: libipvs compares its all-zero union.
  const parsed = address === undefined ? undefined : canonicalAddress(address);
  const words = parsed ? addressWords(parsed) : [];
  for (let k = 0; k < 4; k++) keys[at + W0 + k] = words[k] ?? 0;
}

function compareWords(keys: Float64Array, a: number, b: number): number {
  let r = signedDifference(keys[a + W0] as number, keys[b + W0] as number);
  if (keys[a + V6] !== 1 || r !== 0) return r;
  for (let k = 1; k < 4; k++) {
    r = signedDifference(keys[a + W0 + k] as number, keys[b + W0 + k] as number);
    if (r !== 0) return r;
  }
  return 0;
}

// A service's slots: fwmark, af, protocol, the address (5), port.
const S_FWMARK = 0;
const S_AF = 1;
const S_PROTOCOL = 2;
const S_ADDRESS = 3;
const S_PORT = 8;
const S_SLOTS = 9;

function putServiceKey(keys: Float64Array, at: number, s: WithoutStats<Service>): void {
  keys[at + S_FWMARK] = s.fwmark ?? 0;
  keys[at + S_AF] = s.family === 'ipv6' ? AF_INET6 : AF_INET;
  // A protocol other than TCP, UDP and SCTP is its number already, and sorts by it as in libipvs.
  keys[at + S_PROTOCOL] = s.protocol === undefined ? 0 : typeof s.protocol === 'number' ? s.protocol : PROTOCOL_NUMBERS[s.protocol];
  putWords(keys, at + S_ADDRESS, s.address, s.family);
  keys[at + S_PORT] = s.port ?? 0;
}

function compareServiceAt(keys: Float64Array, a: number, b: number): number {
  let r = signedDifference(keys[a + S_FWMARK] as number, keys[b + S_FWMARK] as number);
  if (r !== 0) return r;
  r = (keys[a + S_AF] as number) - (keys[b + S_AF] as number);
  if (r !== 0) return r;
  r = (keys[a + S_PROTOCOL] as number) - (keys[b + S_PROTOCOL] as number);
  if (r !== 0) return r;
  r = compareWords(keys, a + S_ADDRESS, b + S_ADDRESS);
  if (r !== 0) return r;
  return (keys[a + S_PORT] as number) - (keys[b + S_PORT] as number);
}

/** libipvs's ipvs_cmp_services. */
export function compareServices(a: WithoutStats<Service>, b: WithoutStats<Service>): number {
  const keys = new Float64Array(2 * S_SLOTS);
  putServiceKey(keys, 0, a);
  putServiceKey(keys, S_SLOTS, b);
  return compareServiceAt(keys, 0, S_SLOTS);
}

// A destination's slots: the address (5), port.
const D_PORT = 5;
const D_SLOTS = 6;

function putDestinationKey(keys: Float64Array, at: number, d: WithoutStats<Destination>): void {
  putWords(keys, at, d.address, d.family);
  keys[at + D_PORT] = d.port;
}

// The family of the first one decides how addresses compare (an IPv4 address is the first word of the union).
function compareDestinationAt(keys: Float64Array, a: number, b: number): number {
  const r = compareWords(keys, a, b);
  if (r !== 0) return r;
  return (keys[a + D_PORT] as number) - (keys[b + D_PORT] as number);
}

/** libipvs's ipvs_cmp_dests. */
export function compareDestinations(a: WithoutStats<Destination>, b: WithoutStats<Destination>): number {
  const keys = new Float64Array(2 * D_SLOTS);
  putDestinationKey(keys, 0, a);
  putDestinationKey(keys, D_SLOTS, b);
  return compareDestinationAt(keys, 0, D_SLOTS);
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

let scratch = new Float64Array(1024);

/** The keys of one sort (synchronous, never nested): one array reused, as a save sorts every service's destinations. */
function scratchKeys(length: number): Float64Array {
  if (scratch.length < length) scratch = new Float64Array(Math.max(length, scratch.length * 2));
  return scratch;
}

/** `items` in glibc's order under `compare`, given each item's key slots (`slots` numbers each, from `put`). */
function sortByKeys<T>(
  items: readonly T[],
  slots: number,
  put: (keys: Float64Array, at: number, item: T) => void,
  compare: (keys: Float64Array, a: number, b: number) => number,
): T[] {
  const keys = scratchKeys(items.length * slots);
  const order = new Array<number>(items.length);
  for (let i = 0; i < items.length; i++) {
    put(keys, i * slots, items[i] as T);
    order[i] = i * slots;
  }
  const sorted = glibcSort(order, (a, b) => compare(keys, a, b));
  const out = new Array<T>(items.length);
  for (let i = 0; i < sorted.length; i++) out[i] = items[(sorted[i] as number) / slots] as T;
  return out;
}

export function sortServices<S extends WithoutStats<Service>>(services: readonly S[]): S[] {
  return sortByKeys(services, S_SLOTS, putServiceKey, compareServiceAt);
}

export function sortDestinations<D extends WithoutStats<Destination>>(destinations: readonly D[]): D[] {
  return sortByKeys(destinations, D_SLOTS, putDestinationKey, compareDestinationAt);
}
