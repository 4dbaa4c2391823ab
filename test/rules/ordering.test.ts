// ipvsadm's listing order: libipvs's comparators (signed 32-bit differences) under glibc's merge sort.

import { describe, expect, it } from 'vitest';
import { destination, service } from './fixtures.js';
import fc from 'fast-check';
import { compareDestinations, compareServices, glibcSort, sortDestinations, sortServices } from '../../src/rules/ordering.js';
import { emptyStats } from '../../src/ipvs/stats.js';
import type { Destination } from '../../src/ipvs/types.js';

const addresses = (xs: readonly { address?: string | undefined }[]) => xs.map((x) => x.address);

describe('service order', () => {
  it('firewall marks after addresses, IPv4 before IPv6, TCP before UDP before SCTP, then address, then port', () => {
    const sorted = sortServices([
      service({ fwmark: 2 }),
      service({ fwmark: 1 }),
      service({ protocol: 'sctp', address: '10.0.0.1', port: 1 }),
      service({ protocol: 'udp', address: '10.0.0.1', port: 1 }),
      service({ protocol: 'tcp', address: '2001:db8::1', port: 1 }),
      service({ protocol: 'tcp', address: '10.0.0.1', port: 443 }),
      service({ protocol: 'tcp', address: '10.0.0.1', port: 80 }),
    ]);
    expect(sorted.map((s) => (s.fwmark ? `f${s.fwmark}` : `${s.protocol} ${s.address}:${s.port}`))).toEqual([
      'tcp 10.0.0.1:80',
      'tcp 10.0.0.1:443',
      'udp 10.0.0.1:1',
      'sctp 10.0.0.1:1',
      'tcp 2001:db8::1:1',
      'f1',
      'f2',
    ]);
  });

  it('addresses more than 2^31 apart compare backwards', () => {
    expect(addresses(sortServices([service({ address: '10.0.0.1' }), service({ address: '192.168.1.1' })]))).toEqual(['192.168.1.1', '10.0.0.1']);
    expect(addresses(sortServices([service({ address: '10.0.0.2' }), service({ address: '10.0.0.1' })]))).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('a cycle in the comparison is resolved the way glibc\'s merge sort resolves it', () => {
    // 0.0.0.0 < 96.0.0.0 < 192.0.0.0 < 0.0.0.0 under libipvs's comparison
    const sorted = sortDestinations([
      destination({ address: '192.0.0.0' }),
      destination({ address: '96.0.0.0' }),
      destination({ address: '0.0.0.0' }),
    ]);
    expect(addresses(sorted)).toEqual(['192.0.0.0', '0.0.0.0', '96.0.0.0']);
  });

  it('destinations: address then port', () => {
    const sorted = sortDestinations([
      destination({ address: '10.0.0.2', port: 80 }),
      destination({ address: '10.0.0.1', port: 8080 }),
      destination({ address: '10.0.0.1', port: 80 }),
    ]);
    expect(sorted.map((d) => `${d.address}:${d.port}`)).toEqual(['10.0.0.1:80', '10.0.0.1:8080', '10.0.0.2:80']);
  });
});

describe('glibcSort', () => {
  it('is stable and merges left first on ties', () => {
    const items = [3, 1, 2, 1, 3, 0].map((k, i) => ({ k, i }));
    expect(glibcSort(items, (a, b) => a.k - b.k).map((x) => x.i)).toEqual([5, 1, 3, 2, 0, 4]);
  });
});

describe('sort keys', () => {
  it('sortDestinations and sortServices agree with their comparators under glibcSort, mixed families, run after run', () => {
    // 32.1.13.184 is the first word of 2001:db8::/32: an IPv6 address then compares its other words with
    // the IPv4 one's, which must read as zero.
    const v4 = fc.oneof(fc.constant('32.1.13.184'), fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `${a}.0.${b}.1`));
    const v6 = fc.tuple(fc.nat(2), fc.nat(0xffff)).map(([a, b]) => `2001:db8:${a.toString(16)}::${b.toString(16)}`);
    const dest = fc.tuple(fc.oneof(v4, v6), fc.nat(3)).map(([address, port]): Destination => ({
      address, family: address.includes(':') ? 'ipv6' : 'ipv4', port, forwarding: 'masq', weight: 1, upperThreshold: 0,
      lowerThreshold: 0, activeConns: 0, inactiveConns: 0, persistentConns: 0, stats: emptyStats(),
    }));
    fc.assert(
      fc.property(fc.array(fc.array(dest, { maxLength: 9 }), { minLength: 1, maxLength: 4 }), (lists) => {
        for (const ds of lists) {
          expect(sortDestinations(ds)).toEqual(glibcSort(ds, compareDestinations));
          const ss = ds.map((d) => ({ protocol: 'tcp' as const, address: d.address, port: d.port, family: d.family, scheduler: 'wlc', flags: [], stats: emptyStats(), rawFlags: 0 }));
          expect(sortServices(ss)).toEqual(glibcSort(ss, compareServices));
        }
      }),
      { numRuns: 300 },
    );
  });
});
