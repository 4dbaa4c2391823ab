// The connection table: /proc/net/ip_vs_conn lines (as the kernel prints them) parsed and printed as
// ipvsadm -Lc / -Lnc / --persistent-conn print them.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONN_FIXTURE } from './harness.js';
import { connectionRow, connectionTitle, parseConnectionLine, parseConnectionTable } from '../../src/cli/connections.js';
import { parseServicesFile } from '../../src/rules/service-names.js';

const PROC_IP_VS_CONN = readFileSync(CONN_FIXTURE, 'utf8');

describe('parsing /proc/net/ip_vs_conn', () => {
  it('hex IPv4, full IPv6, ports, state, expiry, persistence-engine fields', () => {
    const entries = parseConnectionTable(PROC_IP_VS_CONN);
    expect(entries).toHaveLength(5);
    expect(entries[0]).toEqual({
      protocolName: 'TCP',
      client: { address: '10.0.0.99', port: 51234 },
      virtual: { address: '192.168.1.110', port: 80 },
      destination: { address: '192.168.1.116', port: 80 },
      state: 'ESTABLISHED',
      expires: 899,
    });
    expect(entries[2]).toMatchObject({ protocolName: 'IP', virtual: { address: '0.0.0.10', port: 0 }, state: 'NONE' });
    expect(entries[3]).toMatchObject({ protocolName: 'UDP', peName: 'sip', peData: 'abc@x' });
    expect(entries[4]).toMatchObject({
      client: { address: '2001:db8::63', port: 51234 },
      virtual: { address: '2001:db8::1', port: 80 },
      destination: { address: '2001:db8::10', port: 80 },
      state: 'SYN_RECV',
    });
    expect(parseConnectionLine('   ')).toBeUndefined();
  });
});

describe('printing', () => {
  it('-Lnc', () => {
    const entries = parseConnectionTable(PROC_IP_VS_CONN);
    const out = connectionTitle(false) + entries.map((e) => connectionRow(e, true, false, undefined)).join('');
    expect(out).toBe(
      [
        'IPVS connection entries',
        'pro expire state       source             virtual            destination',
        'TCP 14:59  ESTABLISHED 10.0.0.99:51234    192.168.1.110:80   192.168.1.116:80',
        'TCP 00:59  NONE        10.0.0.99:0        192.168.1.110:0    192.168.1.116:0',
        'IP  05:00  NONE        10.0.0.99:0        0.0.0.10:0         192.168.1.117:0',
        'UDP 00:57  UDP         10.0.0.99:5060     10.0.0.1:5060      192.168.1.2:5060',
        'TCP 00:07  SYN_RECV    [2001:db8::63]:51234 [2001:db8::1]:80   [2001:db8::10]:80',
        '',
      ].join('\n'),
    );
  });

  it('--persistent-conn adds the engine columns for lines that have them', () => {
    const entries = parseConnectionTable(PROC_IP_VS_CONN);
    expect(connectionTitle(true)).toBe(
      'IPVS connection entries\npro expire state       source             virtual            destination        pe name          pe_data\n',
    );
    expect(connectionRow(entries[3]!, true, true, undefined)).toBe(
      'UDP 00:57  UDP         10.0.0.99:5060     10.0.0.1:5060      192.168.1.2:5060 sip                abc@x\n',
    );
    expect(connectionRow(entries[0]!, true, true, undefined)).toBe(
      'TCP 14:59  ESTABLISHED 10.0.0.99:51234    192.168.1.110:80   192.168.1.116:80\n',
    );
  });

  it('-Lc resolves names and ports by protocol; IP templates keep numeric ports', () => {
    const entries = parseConnectionTable(PROC_IP_VS_CONN);
    const names = {
      hostName: (a: string) => ({ '192.168.1.110': 'vip', '192.168.1.116': 'rs1', '192.168.1.117': 'rs2' })[a],
      services: parseServicesFile('http 80/tcp\nsip 5060/udp\n'),
    };
    expect(connectionRow(entries[0]!, false, false, names)).toBe('TCP 14:59  ESTABLISHED 10.0.0.99:51234    vip:http           rs1:http\n');
    expect(connectionRow(entries[2]!, false, false, names)).toBe('IP  05:00  NONE        10.0.0.99:0        0.0.0.10:0         rs2:0\n');
    expect(connectionRow(entries[3]!, false, false, names)).toBe('UDP 00:57  UDP         10.0.0.99:sip      10.0.0.1:sip       192.168.1.2:sip\n');
  });
});
