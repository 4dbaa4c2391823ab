// endpointText skips parsing for canonical IPv4 text (what the client reports); every other text is
// canonicalised as before. Checked against the plain parse-everything reference on tricky inputs.
import { describe, expect, it } from 'vitest';
import { canonicalAddress, canonicalIPv4Value } from '../../src/rules/addresses.js';
import { endpointText } from '../../src/rules/endpoint-text.js';

function reference(address: string, port: number): string {
  const parsed = canonicalAddress(address);
  const text = parsed?.text ?? address;
  const v6 = parsed ? parsed.family === 'ipv6' : address.includes(':');
  return (v6 ? `[${text}]:${port}` : `${text}:${port}`).slice(0, 59);
}

describe('endpointText', () => {
  const inputs = [
    '10.0.0.1', '0.0.0.0', '255.255.255.255', '192.168.1.110', '1.2.3.4',
    '010.0.0.1', '1.2.3.04', '1.2.3.00', '256.1.1.1', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', '',
    '1234.1.1.1', '1.2.3.4 ', '::ffff:1.2.3.4', '2001:DB8::1', '2001:db8:0:0:0:0:0:1', '::', 'fe80::1', 'host.example',
  ];
  it.each(inputs)('%j prints as the full parse would', (address) => {
    expect(endpointText(address, 80, 'tcp', true, undefined)).toBe(reference(address, 80));
  });
});

describe('canonicalIPv4Value', () => {
  it.each(['10.0.0.1', '0.0.0.0', '255.255.255.255', '010.0.0.1', '1.2.3', '256.0.0.1', '1.2.3.4.5', '', '::1', '1.2.3.4x'])('%j', (text) => {
    const parsed = canonicalAddress(text);
    const expected = parsed?.family === 'ipv4' && parsed.text === text ? ((parsed.bytes[0]! << 24) | (parsed.bytes[1]! << 16) | (parsed.bytes[2]! << 8) | parsed.bytes[3]!) >>> 0 : undefined;
    expect(canonicalIPv4Value(text)).toBe(expected);
  });
});
