// The listing formats of `ipvs -L`, line by line. Golden lines are written from ipvsadm 1.31's printf
// formats (column widths, number scaling), independently of the implementation.

import { describe, expect, it } from 'vitest';
import { largeNumber } from '../../src/cli/columns.js';
import {
  daemonLines,
  destinationRow,
  listTitle,
  serviceRow,
  timeoutLine,
  versionHeader,
} from '../../src/cli/listing.js';
import type { ListFormat } from '../../src/rules/command-line.js';
import { parseServicesFile } from '../../src/rules/service-names.js';
import { destination, service } from '../rules/fixtures.js';

const plain: ListFormat = {
  numeric: true,
  stats: false,
  rate: false,
  thresholds: false,
  persistentConn: false,
  noSort: false,
  exact: false,
  tunInfo: false,
};
const fmt = (f: Partial<ListFormat>): ListFormat => ({ ...plain, ...f });

describe('largeNumber (print_largenum)', () => {
  it.each([
    [0n, '        0'],
    [99_999_999n, ' 99999999'],
    [100_000_000n, '  100000K'],
    [999_999_999n, '  999999K'],
    [1_000_000_000n, '    1000M'],
    [99_999_999_999n, '   99999M'],
    [100_000_000_000n, '     100G'],
    [99_999_999_999_999n, '   99999G'],
    [100_000_000_000_000n, '     100T'],
    [18_446_744_073_709_551_615n, '18446744T'],
  ])('%s', (n, text) => {
    expect(largeNumber(n, false)).toBe(text);
  });

  it('--exact widens only past eight digits', () => {
    expect(largeNumber(123n, true)).toBe('      123');
    expect(largeNumber(12_345_678n, true)).toBe(' 12345678');
    expect(largeNumber(123_456_789n, true)).toBe(' 123456789');
    expect(largeNumber(123_456_789_012_345n, true)).toBe(' 123456789012345');
  });
});

describe('plain listing', () => {
  it('header, titles, service and server lines', () => {
    expect(versionHeader({ version: '1.2.1', versionCode: 0x010201, connectionTableSize: 4096 })).toBe(
      'IP Virtual Server version 1.2.1 (size=4096)\n',
    );
    expect(listTitle(plain)).toBe(
      'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n',
    );
    const svc = service({ address: '192.168.1.110', port: 80 });
    expect(serviceRow(svc, plain, undefined)).toBe('TCP  192.168.1.110:80 wlc\n');
    expect(serviceRow(service({ address: '192.168.1.110', port: 0, scheduler: 'rr', persistence: { timeout: 600, netmask: '255.255.255.255' }, rawFlags: 3 }), plain, undefined)).toBe(
      'TCP  192.168.1.110:0 rr persistent 600\n',
    );
    expect(serviceRow(service({ fwmark: 10, scheduler: 'rr', persistence: { timeout: 60, netmask: '255.255.255.255' }, rawFlags: 3 }), plain, undefined)).toBe(
      'FWM  10 rr persistent 60\n',
    );
    expect(destinationRow(svc, destination({ address: '192.168.1.116', port: 80, weight: 2, activeConns: 3, inactiveConns: 12 }), plain, undefined)).toBe(
      '  -> 192.168.1.116:80             Route   2      3          12        \n',
    );
  });

  it('flags text: scheduler flags, mask, pe, ops; IPv6 and firewall marks', () => {
    expect(
      serviceRow(
        service({ address: '10.0.0.1', port: 80, scheduler: 'sh', flags: ['sh-fallback', 'sh-port'], rawFlags: 0x1a | 0x1, persistence: { timeout: 600, netmask: '255.255.255.0' }, persistenceEngine: 'sip' }),
        plain,
        undefined,
      ),
    ).toBe('TCP  10.0.0.1:80 sh (sh-fallback,sh-port) persistent 600 mask 255.255.255.0 pe sip\n');
    expect(serviceRow(service({ protocol: 'udp', address: '2001:db8::1', port: 53, persistence: { timeout: 300, netmask: 64 }, rawFlags: 0x7 }), plain, undefined)).toBe(
      'UDP  [2001:db8::1]:53 wlc persistent 300 mask 64 ops\n',
    );
    expect(serviceRow(service({ fwmark: 7, family: 'ipv6', scheduler: 'mh', rawFlags: 0x12, flags: ['mh-port'] }), plain, undefined)).toBe(
      'FWM  7 IPv6 mh (mh-port)\n',
    );
    expect(serviceRow(service({ protocol: 'sctp', address: '10.0.0.1', port: 5060, rawFlags: 0x22 }), plain, undefined)).toBe(
      'SCTP 10.0.0.1:5060 wlc (flag-3)\n',
    );
    const v6 = service({ address: '2001:db8::1', port: 80 });
    expect(destinationRow(v6, destination({ address: '2001:db8:1234:5678:9abc:def0:1234:5678', port: 80, forwarding: 'masq' }), plain, undefined)).toBe(
      '  -> [2001:db8:1234:5678:9abc:def0:1234:5678]:80 Masq    1      0          0         \n',
    );
    expect(destinationRow(v6, destination({ address: '192.168.1.6', port: 80, forwarding: 'local' }), plain, undefined)).toContain(' Local   ');
    expect(destinationRow(v6, destination({ address: '192.168.1.7', port: 80, forwarding: 'bypass' }), plain, undefined)).toContain(' (null)  ');
  });

  it('names instead of numbers without -n, cut to the column as ipvsadm cuts them', () => {
    const names = {
      hostName: (a: string) =>
        ({ '192.168.1.110': 'lb.example.org', '192.168.1.116': 'a-very-long-real-server-name.example.org' })[a],
      services: parseServicesFile('http 80/tcp\n'),
    };
    const svc = service({ address: '192.168.1.110', port: 80 });
    expect(serviceRow(svc, fmt({ numeric: false }), names)).toBe('TCP  lb.example.org:http wlc\n');
    expect(destinationRow(svc, destination({ address: '192.168.1.116', port: 80 }), fmt({ numeric: false }), names)).toBe(
      '  -> a-very-long-real-server-name Route   1      0          0         \n',
    );
    const long = service({ address: '192.168.1.116', port: 80 });
    expect(serviceRow(long, fmt({ numeric: false }), names)).toBe('TCP  a-very-long-real-server-name wlc\n');
  });
});

describe('--stats, --rate, --exact, --thresholds, --persistent-conn, --tun-info', () => {
  const svc = service({
    address: '192.168.1.110',
    port: 80,
    stats: { conns: 123n, inPackets: 100_000_000n, outPackets: 999_999_999n, inBytes: 123_456_789_012n, outBytes: 123_456_789_012_345n, cps: 1, inPps: 20, outPps: 30, inBps: 4000, outBps: 500_000_000 },
  });
  const dest = destination({
    address: '192.168.1.116',
    port: 80,
    weight: 2,
    activeConns: 3,
    inactiveConns: 12,
    persistentConns: 7,
    upperThreshold: 100,
    lowerThreshold: 10,
    stats: { conns: 5n, inPackets: 99_999_999n, outPackets: 1_000_000_000n, inBytes: 99_999_999_999_999n, outBytes: 100_000_000_000_000n, cps: 1, inPps: 123_456_789, outPps: 3, inBps: 4000, outBps: 500_000_000 },
  });

  it('--stats', () => {
    expect(listTitle(fmt({ stats: true }))).toBe('Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\n');
    expect(serviceRow(svc, fmt({ stats: true }), undefined)).toBe('TCP  192.168.1.110:80                  123  100000K  999999K     123G     123T\n');
    expect(destinationRow(svc, dest, fmt({ stats: true }), undefined)).toBe('  -> 192.168.1.116:80                    5 99999999    1000M   99999G     100T\n');
  });

  it('--stats --exact', () => {
    expect(serviceRow(svc, fmt({ stats: true, exact: true }), undefined)).toBe(
      'TCP  192.168.1.110:80                  123 100000000 999999999 123456789012 123456789012345\n',
    );
  });

  it('--rate', () => {
    expect(listTitle(fmt({ rate: true }))).toBe('Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n  -> RemoteAddress:Port\n');
    expect(serviceRow(svc, fmt({ rate: true }), undefined)).toBe('TCP  192.168.1.110:80                    1       20       30     4000  500000K\n');
    expect(destinationRow(svc, dest, fmt({ rate: true }), undefined)).toBe('  -> 192.168.1.116:80                    1 123456789        3     4000  500000K\n');
  });

  it('--thresholds', () => {
    expect(listTitle(fmt({ thresholds: true }))).toBe('Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n  -> RemoteAddress:Port\n');
    expect(serviceRow(svc, fmt({ thresholds: true }), undefined)).toBe('TCP  192.168.1.110:80 wlc\n');
    expect(destinationRow(svc, dest, fmt({ thresholds: true }), undefined)).toBe('  -> 192.168.1.116:80             100        10         3          12        \n');
  });

  it('--persistent-conn', () => {
    expect(listTitle(fmt({ persistentConn: true }))).toBe('Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n  -> RemoteAddress:Port\n');
    expect(destinationRow(svc, dest, fmt({ persistentConn: true }), undefined)).toBe('  -> 192.168.1.116:80             2         7           3          12        \n');
  });

  it('--tun-info', () => {
    expect(listTitle(fmt({ tunInfo: true }))).toBe(
      'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n',
    );
    const gue = destination({ address: '192.168.1.4', port: 80, forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } });
    expect(destinationRow(svc, gue, fmt({ tunInfo: true }), undefined)).toBe('  -> 192.168.1.4:80               Tunnel  gue:6080:+c   1      0          0         \n');
    const masq = destination({ address: '192.168.1.2', port: 8080, forwarding: 'masq', weight: 0 });
    expect(destinationRow(svc, masq, fmt({ tunInfo: true }), undefined)).toBe('  -> 192.168.1.2:8080             Masq    n/a           0      0          0         \n');
    const gre = destination({ address: '192.168.1.5', port: 80, forwarding: 'tunnel', tunnel: { type: 'gre', port: 0, checksum: 'remcsum' } });
    expect(destinationRow(svc, gre, fmt({ tunInfo: true }), undefined)).toContain(' gre:r+c       ');
    const ipip = destination({ address: '192.168.1.6', port: 80, forwarding: 'tunnel' });
    expect(destinationRow(svc, ipip, fmt({ tunInfo: true }), undefined)).toContain(' Tunnel  ipip          ');
  });
});

describe('--timeout and --daemon', () => {
  it('timeouts', () => {
    expect(timeoutLine({ tcp: 900, tcpFin: 120, udp: 300 })).toBe('Timeout (tcp tcpfin udp): 900 120 300\n');
  });

  it('daemons, with the optional fields the kernel reports', () => {
    expect(
      daemonLines([
        { state: 'master', interface: 'eth0', syncId: 1, syncMaxLen: 1472, mcastGroup: '224.0.0.81', mcastPort: 8848, mcastTtl: 1 },
        { state: 'backup', interface: 'dum0', syncId: 2 },
      ]),
    ).toBe(
      'master sync daemon (mcast=eth0, syncid=1, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\nbackup sync daemon (mcast=dum0, syncid=2)\n',
    );
    expect(daemonLines([])).toBe('');
  });
});
