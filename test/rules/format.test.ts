// formatRules: the exact text of `ipvsadm -S` / `-Sn`. Golden texts are written by hand from ipvsadm
// 1.31's save format (one -A line per service, one -a line per real server, ipvsadm's sort order).

import { describe, expect, it } from 'vitest';
import { destination, service, withDestinations } from './fixtures.js';
import { formatRules } from '../../src/rules/format.js';
import { parseServicesFile } from '../../src/rules/service-names.js';

describe('formatRules', () => {
  it('the seed table, sorted as ipvsadm sorts it', () => {
    const table = [
      withDestinations(service({ fwmark: 10, scheduler: 'rr', persistence: { timeout: 60, netmask: '255.255.255.255' }, rawFlags: 3 }), [
        destination({ address: '192.168.1.117', port: 0 }),
        destination({ address: '192.168.1.116', port: 0 }),
      ]),
      withDestinations(service({ address: '192.168.1.110', port: 80 }), [destination({ address: '192.168.1.116', port: 80, weight: 2 })]),
      withDestinations(
        service({ address: '192.168.1.110', port: 0, scheduler: 'rr', persistence: { timeout: 600, netmask: '255.255.255.255' }, rawFlags: 3 }),
        [],
      ),
    ];
    expect(formatRules(table, { numeric: true })).toBe(
      [
        '-A -t 192.168.1.110:0 -s rr -p 600',
        '-A -t 192.168.1.110:80 -s wlc',
        '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2',
        '-A -f 10 -s rr -p 60',
        '-a -f 10 -r 192.168.1.116:0 -g -w 1',
        '-a -f 10 -r 192.168.1.117:0 -g -w 1',
        '',
      ].join('\n'),
    );
  });

  it("addresses far apart sort 'backwards', as libipvs's signed subtraction does", () => {
    const table = [
      withDestinations(service({ address: '10.0.0.1', port: 80 }), [
        destination({ address: '10.0.0.5', port: 80 }),
        destination({ address: '192.168.1.5', port: 80 }),
      ]),
      withDestinations(service({ address: '192.168.1.1', port: 80 }), []),
      withDestinations(service({ protocol: 'udp', address: '10.0.0.1', port: 53 }), []),
    ];
    expect(formatRules(table, { numeric: true })).toBe(
      [
        '-A -t 192.168.1.1:80 -s wlc',
        '-A -t 10.0.0.1:80 -s wlc',
        '-a -t 10.0.0.1:80 -r 192.168.1.5:80 -g -w 1',
        '-a -t 10.0.0.1:80 -r 10.0.0.5:80 -g -w 1',
        '-A -u 10.0.0.1:53 -s wlc',
        '',
      ].join('\n'),
    );
  });

  it('every optional field: masks, engines, one-packet, scheduler flags, forwarding and tunnels', () => {
    const table = [
      withDestinations(
        service({
          address: '10.0.0.1',
          port: 80,
          scheduler: 'sh',
          persistence: { timeout: 600, netmask: '255.255.255.0' },
          persistenceEngine: 'sip',
          flags: ['sh-port'],
          rawFlags: 0x1 | 0x2 | 0x10,
        }),
        [
          destination({ address: '192.168.1.2', port: 8080, forwarding: 'masq', weight: 0 }),
          destination({ address: '192.168.1.3', port: 80, forwarding: 'tunnel', tunnel: { type: 'ipip', port: 0, checksum: 'nocsum' } }),
          destination({ address: '192.168.1.4', port: 80, forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } }),
          destination({ address: '192.168.1.5', port: 80, forwarding: 'tunnel', tunnel: { type: 'gre', port: 0, checksum: 'nocsum' } }),
          destination({ address: '192.168.1.6', port: 80, forwarding: 'local', weight: 3 }),
        ],
      ),
      withDestinations(
        service({ protocol: 'udp', address: '2001:db8::1', port: 53, persistence: { timeout: 300, netmask: 64 }, flags: ['one-packet'], rawFlags: 0x7 }),
        [destination({ address: '2001:db8::10', port: 53, forwarding: 'masq', weight: 5 })],
      ),
      withDestinations(service({ fwmark: 5, family: 'ipv6', scheduler: 'rr' }), []),
      withDestinations(service({ address: '10.0.0.2', port: 80, scheduler: 'rr', rawFlags: 0x2 | 0x8 | 0x20 }), []),
    ];
    expect(formatRules(table, { numeric: true })).toBe(
      [
        '-A -t 10.0.0.1:80 -s sh -p 600 -M 255.255.255.0 --pe sip -b sh-port',
        '-a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m -w 0',
        '-a -t 10.0.0.1:80 -r 192.168.1.3:80 -i -w 1 --tun-type ipip',
        '-a -t 10.0.0.1:80 -r 192.168.1.4:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
        '-a -t 10.0.0.1:80 -r 192.168.1.5:80 -i -w 1 --tun-type gre --tun-nocsum',
        '-a -t 10.0.0.1:80 -r 192.168.1.6:80 -g -w 3',
        '-A -t 10.0.0.2:80 -s rr -b flag-1,flag-3',
        '-A -u [2001:db8::1]:53 -s wlc -p 300 -M 64 -o',
        '-a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -m -w 5',
        '-A -f 5 -6 -s rr',
        '',
      ].join('\n'),
    );
  });

  it('without -n: host names and service names', () => {
    const names = {
      hostName: (a: string) => ({ '10.0.0.1': 'www.example', '192.168.1.2': 'web1' })[a],
      services: parseServicesFile('http 80/tcp\ndomain 53/udp\n'),
    };
    const table = [
      withDestinations(service({ address: '10.0.0.1', port: 80 }), [
        destination({ address: '192.168.1.2', port: 80 }),
        destination({ address: '192.168.1.3', port: 8080, forwarding: 'masq' }),
      ]),
      withDestinations(service({ protocol: 'udp', address: '10.0.0.1', port: 53 }), []),
      withDestinations(service({ fwmark: 1 }), [destination({ address: '192.168.1.2', port: 80 })]),
    ];
    expect(formatRules(table, { names })).toBe(
      [
        '-A -t www.example:http -s wlc',
        '-a -t www.example:http -r web1:http -g -w 1',
        '-a -t www.example:http -r 192.168.1.3:8080 -m -w 1',
        '-A -u www.example:domain -s wlc',
        '-A -f 1 -s wlc',
        '-a -f 1 -r web1:80 -g -w 1',
        '',
      ].join('\n'),
    );
    // -n ignores the names
    expect(formatRules(table, { numeric: true, names }).split('\n')[0]).toBe('-A -t 10.0.0.1:80 -s wlc');
  });

  it('an empty table saves as nothing', () => {
    expect(formatRules([])).toBe('');
  });
});

describe('formatRules refuses a table of the wrong shape by path', () => {
  it("names a service whose destinations are not an array (the client's services have a destinations() method)", async () => {
    const { Ipvs } = await import('../../src/client.js');
    const { FakeKernel } = await import('../../src/testing/index.js');
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService({ protocol: 'tcp', address: '10.0.0.1', port: 80 });
    const read = await ipvs.services();
    expect(() => formatRules(read as never)).toThrow(
      /^invalid services\[0\]\.destinations function destinations: must be the array of the service's destinations: a service the client returns has a destinations\(\) method instead; give \{ \.\.\.service, destinations: await ipvs\.destinations\(service\) \}$/,
    );
    const table = await Promise.all(read.map(async (s) => ({ ...s, destinations: await ipvs.destinations(s) })));
    expect(formatRules(table)).toBe('-A -t 10.0.0.1:80 -s wlc\n');
    await ipvs.close();
  });

  it('names a table that is not an array, and an entry that is not an object', () => {
    expect(() => formatRules({ services: [] } as never)).toThrow(expect.objectContaining({ field: 'services', reason: 'must be an array of services, each with the array of its destinations' }));
    expect(() => formatRules([null] as never)).toThrow(expect.objectContaining({ field: 'services[0]', value: null }));
    expect(() => formatRules([{ ...service({ protocol: 'tcp', address: '10.0.0.1', port: 80 }) }] as never)).toThrow(expect.objectContaining({ field: 'services[0].destinations', value: undefined }));
  });
});
