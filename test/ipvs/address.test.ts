import { SocketAddress } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatAddress, formatIPv4Mask, formatIPv6, ipv4MaskToPrefix, ipv6MaskToPrefix, isMulticast, normalizeAddress, parseAddress,
  parseIPv4Mask, prefixToIPv4Mask, prefixToIPv6Mask,
} from '../../src/ipvs/address.js';
import { ValidationError } from '../../src/ipvs/errors.js';

/** Node's own printing of an IPv6 address (libuv's inet_ntop). */
const nodeText = (bytes: Uint8Array): string => {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
};

describe('parseAddress', () => {
  it.each([
    ['192.168.1.110', 'ipv4', '192.168.1.110', 'c0a8016e000000000000000000000000'],
    ['0.0.0.0', 'ipv4', '0.0.0.0', '00000000000000000000000000000000'],
    ['2001:DB8:0:0:1:0:0:1', 'ipv6', '2001:db8::1:0:0:1', '20010db8000000000001000000000001'],
    ['[2001:db8::1]', 'ipv6', '2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', 'ipv6', '2001:db8::1', '20010db8000000000000000000000001'],
    ['::ffff:192.0.2.1', 'ipv6', '::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['::', 'ipv6', '::', '00000000000000000000000000000000'],
    ['1:0:0:1:0:0:0:1', 'ipv6', '1:0:0:1::1', '00010000000000010000000000000001'],
  ])('%s', (text, family, normalised, hex) => {
    const a = parseAddress('address', text);
    expect(a.family).toBe(family);
    expect(a.text).toBe(normalised);
    expect(a.bytes.toString('hex')).toBe(hex);
  });

  it.each([
    ['010.0.0.1', /a leading zero is refused: ipvsadm reads 010\.0\.0\.1 as octal \(8\.0\.0\.1\)/],
    ['10.0.0.01', /a leading zero is refused/],
    ['127.1', /not four decimal numbers 0\.\.255: the short and hex forms ipvsadm takes/],
    ['0x7f.0.0.1', /short and hex forms/],
    ['2130706433', /short and hex forms/],
    ['fe80::1%eth0', /a zone id \(%eth0\) cannot be given: IPVS carries none/],
    ['[fe80::1%25eth0]', /a zone id \(%25eth0\)/],
    ['256.1.1.1', /: not an IPv4 address: each number is 0\.\.255$/],
    ['1.2.3.4.', /: not an IPv4 or IPv6 address$/],
    ['example.com', /: not an IPv4 or IPv6 address$/],
  ])('says why %j, a spelling other tools read, is refused', (text, reason) => {
    expect(() => parseAddress('address', text)).toThrow(reason);
  });

  it.each(['', '1.2.3', '256.1.1.1', '01.2.3.4', 'fe80::1%eth0', '::1::2', 'example.com', ' 1.2.3.4', '[1.2.3.4]'])('refuses %j, naming the field and value', (text) => {
    const err = (() => {
      try {
        parseAddress('destination.address', text);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'destination.address', value: text, code: 'EINVALIDARG' });
    expect((err as Error).message).toContain(`invalid destination.address ${JSON.stringify(text)}`);
  });

  it('refuses non-strings', () => {
    expect(() => parseAddress('address', 0x01020304)).toThrow(/invalid address 16909060: must be an IPv4 or IPv6 address string/);
    expect(normalizeAddress('nope')).toBeUndefined();
    expect(normalizeAddress('2001:DB8::0001')).toBe('2001:db8::1');
  });
});

describe('formatIPv6 prints as inet_ntop (Node, ipvsadm)', () => {
  it.each([
    ['00000000000000000000000000000001', '::1'],
    ['00000000000000000000000001020304', '::1.2.3.4'], // IPv4-compatible
    ['00000000000000000000000000000102', '::102'], // seven zero groups: not dotted
    ['00000000000000000000ffff01020304', '::ffff:1.2.3.4'],
    ['000000000000000000000000ffff0000', '::255.255.0.0'], // six zero groups: dotted, whatever follows
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // tie: the first run
    ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'], // one zero group is not compressed
    ['fe800000000000000000000000000000', 'fe80::'],
  ])('%s -> %s', (hex, text) => {
    const b = Buffer.from(hex, 'hex');
    expect(formatIPv6(b)).toBe(text);
    expect(nodeText(b)).toBe(text);
  });

  it('matches Node for any 16 bytes, with zero runs made likely (property)', () => {
    const word = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), (words) => {
        const b = Buffer.alloc(16);
        words.forEach((w, i) => b.writeUInt16BE(w, i * 2));
        const text = formatIPv6(b);
        expect(text).toBe(nodeText(b));
        // and it parses back to the same bytes
        expect(parseAddress('a', text).bytes.equals(b)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('formatAddress reads 4 bytes of a 16-byte IPv4 attribute', () => {
    expect(formatAddress(2, Buffer.from('0a000001000000000000000000000000', 'hex'))).toBe('10.0.0.1');
    expect(formatAddress(10, Buffer.from('20010db8000000000000000000000001', 'hex'))).toBe('2001:db8::1');
  });
});

describe('netmasks', () => {
  it('parses contiguous dotted IPv4 masks and prefix lengths', () => {
    expect(parseIPv4Mask('m', '255.255.255.0')).toBe(0xffffff00);
    expect(parseIPv4Mask('m', '255.255.255.255')).toBe(0xffffffff);
    expect(parseIPv4Mask('m', '0.0.0.0')).toBe(0);
    expect(parseIPv4Mask('m', 24)).toBe(0xffffff00);
    expect(parseIPv4Mask('m', 0)).toBe(0);
    expect(() => parseIPv4Mask('persistence.netmask', '255.0.255.0')).toThrow(/invalid persistence.netmask "255.0.255.0": the netmask is not contiguous/);
    expect(() => parseIPv4Mask('m', 33)).toThrow(ValidationError);
    expect(() => parseIPv4Mask('m', 'ffff::')).toThrow(ValidationError);
  });

  it('takes a prefix length written as text, as an IPv6 one may be ("24", "/24": from a config file or a command line)', () => {
    expect(parseIPv4Mask('m', '24')).toBe(0xffffff00);
    expect(parseIPv4Mask('m', '/24')).toBe(0xffffff00);
    expect(parseIPv4Mask('m', '0')).toBe(0);
    expect(parseIPv4Mask('m', '/32')).toBe(0xffffffff);
    for (const bad of ['33', '/33', '24/', '//24', '024.0', '-1', ' 24', '']) {
      expect(() => parseIPv4Mask('persistence.netmask', bad)).toThrow('an IPv4 netmask is dotted (255.255.255.0) or a prefix length 0..32');
    }
  });

  it('converts prefixes and masks both ways', () => {
    for (let p = 0; p <= 32; p++) expect(ipv4MaskToPrefix(prefixToIPv4Mask(p))).toBe(p);
    for (let p = 0; p <= 128; p++) expect(ipv6MaskToPrefix(prefixToIPv6Mask(p))).toBe(p);
    expect(formatIPv4Mask(0xfffffe00)).toBe('255.255.254.0');
    expect(prefixToIPv6Mask(65).toString('hex')).toBe('ffffffffffffffff8000000000000000');
    expect(ipv6MaskToPrefix(Buffer.from('ffffffffffffffff0100000000000000', 'hex'))).toBeUndefined();
    expect(ipv6MaskToPrefix(Buffer.from('ffff00000000000000000000000000ff', 'hex'))).toBeUndefined();
    expect(ipv4MaskToPrefix(0xff00ff00)).toBeUndefined();
  });

  it('knows multicast groups', () => {
    expect(isMulticast(parseAddress('g', '224.0.0.81'))).toBe(true);
    expect(isMulticast(parseAddress('g', '239.255.255.255'))).toBe(true);
    expect(isMulticast(parseAddress('g', '240.0.0.1'))).toBe(false);
    expect(isMulticast(parseAddress('g', 'ff02::1:2'))).toBe(true);
    expect(isMulticast(parseAddress('g', 'fe80::1'))).toBe(false);
  });
});
