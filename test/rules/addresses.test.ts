// Address reading and printing as the C library does it for ipvsadm: inet_aton's lenient IPv4 forms,
// strict inet_pton for IPv6, and inet_ntop's spelling (longest zero run, dotted tails).

import { describe, expect, it } from 'vitest';
import { canonicalAddress, formatIPv6, inetAton, parseIPv4Strict, parseIPv6 } from '../../src/rules/addresses.js';

describe('inetAton', () => {
  it.each([
    ['1.2.3.4', 0x01020304],
    ['10.1', 0x0a000001],
    ['10', 10],
    ['0x7f.1', 0x7f000001],
    ['010.0.0.1', 0x08000001],
    ['192.168.1.110', 0xc0a8016e],
    ['255.255.255.255', 0xffffffff],
    ['1.2.3.4 trailing', 0x01020304],
  ])('%s', (text, value) => {
    expect(inetAton(text)).toBe(value);
  });

  it.each(['', 'a.b.c.d', '1.2.3.256', '1.2.3.4.5', '08', '1..2', '4294967296', 'host', '1.2.3.4x'])(
    'refuses %j',
    (text) => {
      expect(inetAton(text)).toBeUndefined();
    },
  );
});

describe('parseIPv4Strict', () => {
  it('takes only four decimal parts without leading zeros', () => {
    expect(parseIPv4Strict('224.0.0.81')).toBe(0xe0000051);
    expect(parseIPv4Strict('010.0.0.1')).toBeUndefined();
    expect(parseIPv4Strict('10.1')).toBeUndefined();
  });
});

describe('IPv6', () => {
  it.each([
    ['2001:db8::1', '2001:db8::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::1.2.3.4'],
    ['ff02::1:2', 'ff02::1:2'],
    ['1:0:0:1:0:0:1:1', '1::1:0:0:1:1'],
  ])('%s prints as %s', (text, printed) => {
    const bytes = parseIPv6(text);
    expect(bytes).toBeDefined();
    expect(formatIPv6(bytes!)).toBe(printed);
  });

  it.each(['', ':', '1:2', '1::2::3', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4', '[::1]'])(
    'refuses %j',
    (text) => {
      expect(parseIPv6(text)).toBeUndefined();
    },
  );

  it('canonicalAddress normalises either family', () => {
    expect(canonicalAddress('2001:DB8:0:0::10')).toMatchObject({ family: 'ipv6', text: '2001:db8::10' });
    expect(canonicalAddress('192.168.1.1')).toMatchObject({ family: 'ipv4', text: '192.168.1.1' });
    expect(canonicalAddress('nonsense')).toBeUndefined();
  });
});
