// Health configs: defaults, the three check levels, and refusals that name the field.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { checksInFlightOf, worstCaseChecksInFlight } from '../../src/health/config.js';
import { normaliseHealthConfig, parseHealthConfig, type HealthConfig } from '../../src/health/index.js';
import { defaultChecksInFlight } from '../../src/health/limits.js';
import { FakeKernel } from '../../src/testing/index.js';

const base = (svc: Record<string, unknown> = {}, top: Record<string, unknown> = {}): HealthConfig =>
  ({
    services: [{ protocol: 'tcp', address: '192.168.1.110', port: 80, destinations: [{ address: '192.168.1.116' }], ...svc }],
    ...top,
  }) as unknown as HealthConfig;

describe('normaliseHealthConfig', () => {
  it('fills the defaults: TCP check every 5 s, rise 2, fall 3, quiesce, route, weight 1', () => {
    const [svc] = normaliseHealthConfig(base());
    expect(svc!.id).toBe('tcp 192.168.1.110:80');
    expect(svc!.onFailure).toBe('quiesce');
    const rs = svc!.realServers[0]!;
    expect(rs.spec).toEqual({ address: '192.168.1.116', port: 80, forwarding: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 });
    expect(rs.check).toMatchObject({ intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3, jitterMs: 500, address: '192.168.1.116', port: 80, label: 'TCP connect 192.168.1.116:80' });
  });

  it("keeps its own copies of a check's headers and status list: what was checked is what every check sends", () => {
    const headers: Record<string, string> = { 'x-probe': 'ipvs' };
    const expectStatus = [200, 204];
    const [svc] = normaliseHealthConfig(base({ check: { type: 'http', headers, expectStatus } }));
    headers['x-probe'] = 'a\r\nx-injected: 1';
    expectStatus.length = 0;
    const spec = svc!.realServers[0]!.check.spec as { headers?: Record<string, string>; expectStatus?: number[] };
    expect(spec.headers).toEqual({ 'x-probe': 'ipvs' });
    expect(spec.expectStatus).toEqual([200, 204]);
  });

  it('a UDP or SCTP service must name its check type (the default TCP connect fails against a UDP-only server forever); TCP and fwmark services keep the default', () => {
    for (const protocol of ['udp', 'sctp']) {
      const name = protocol.toUpperCase();
      let err: unknown;
      try {
        normaliseHealthConfig(base({ protocol, port: 53 }));
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ name: 'ValidationError', field: 'services[0].check.type', value: undefined });
      expect((err as Error).message).toMatch(new RegExp(`^invalid services\\[0\\]\\.check\\.type \\(missing\\): an? ${name} service has no default check: a TCP connect fails against servers that listen on ${name} only`));
      // Timing alone names no type.
      expect(() => normaliseHealthConfig(base({ protocol, port: 53, check: { intervalMs: 1000 } }))).toThrow(/no default check/);
      // A type at any level will do: the config's, the service's, the destination's.
      expect(normaliseHealthConfig(base({ protocol, port: 53 }, { check: { type: 'tcp' } }))[0]!.realServers[0]!.check.label).toBe('TCP connect 192.168.1.116:53');
      expect(normaliseHealthConfig(base({ protocol, port: 53, check: { type: 'http', port: 8080 } }))[0]!.realServers[0]!.check.label).toBe('HTTP GET http://192.168.1.116:8080/');
      expect(normaliseHealthConfig(base({ protocol, port: 53, destinations: [{ address: '192.168.1.116', check: { type: 'custom', run: async () => true } }] }))).toHaveLength(1);
      // Every server needs one: a second without is refused.
      expect(() =>
        normaliseHealthConfig(base({ protocol, port: 53, destinations: [{ address: '192.168.1.116', check: { type: 'tcp' } }, { address: '192.168.1.117' }] })),
      ).toThrow(/no default check/);
    }
    expect(normaliseHealthConfig(base())[0]!.realServers[0]!.check.label).toBe('TCP connect 192.168.1.116:80');
    // A firewall mark may group any protocol: its checks keep the default (their port must be given anyway).
    const fwmark = normaliseHealthConfig({ services: [{ fwmark: 3, persistence: { timeout: 60 }, check: { port: 53 }, destinations: [{ address: '192.168.1.116', port: 0 }] }] });
    expect(fwmark[0]!.realServers[0]!.check.label).toBe('TCP connect 192.168.1.116:53');
  });

  it("takes the scheduler 'none'", () => {
    expect(normaliseHealthConfig(base({ scheduler: 'none' }))[0]!.spec).toMatchObject({ scheduler: 'none' });
  });

  it('a persistent service removes a failed server by default (weight 0 would not move its clients); an explicit choice wins', () => {
    const pcc = { port: 0, persistence: { timeout: 600 }, check: { port: 80 } };
    expect(normaliseHealthConfig(base(pcc))[0]!.onFailure).toBe('remove');
    const fwmark = { fwmark: 1, protocol: undefined, address: undefined, port: undefined, persistence: true, check: { port: 80 } };
    expect(normaliseHealthConfig(base(fwmark))[0]!.onFailure).toBe('remove');
    expect(normaliseHealthConfig(base({ ...pcc, onFailure: 'quiesce' }))[0]!.onFailure).toBe('quiesce');
    expect(normaliseHealthConfig(base(pcc, { onFailure: 'quiesce' }))[0]!.onFailure).toBe('quiesce');
    expect(normaliseHealthConfig(base({ persistence: false }))[0]!.onFailure).toBe('quiesce');
  });

  it('a UDP service removes a failed server by default (weight 0 would not move its flows, each datagram keeping its entry alive); SCTP quiesces; an explicit choice wins', () => {
    const dns = { protocol: 'udp', port: 53, check: { type: 'tcp' } };
    expect(normaliseHealthConfig(base(dns))[0]!.onFailure).toBe('remove');
    expect(normaliseHealthConfig(base({ ...dns, onFailure: 'quiesce' }))[0]!.onFailure).toBe('quiesce');
    expect(normaliseHealthConfig(base(dns, { onFailure: 'quiesce' }))[0]!.onFailure).toBe('quiesce');
    expect(normaliseHealthConfig(base({ ...dns, protocol: 'sctp' }))[0]!.onFailure).toBe('quiesce');
  });

  it('merges checks from config to service to destination, and a new type replaces', () => {
    const cfg = base(
      {
        check: { type: 'http', path: '/health', host: 'www.example.com' },
        destinations: [{ address: '192.168.1.116', check: { port: 8080 } }, { address: '192.168.1.117', check: { type: 'tcp' } }],
      },
      { check: { intervalMs: 1000, fall: 1 } },
    );
    const [svc] = normaliseHealthConfig(cfg);
    const [a, b] = svc!.realServers;
    expect(a!.check).toMatchObject({ intervalMs: 1000, fall: 1, port: 8080, label: 'HTTP GET http://192.168.1.116:8080/health' });
    expect(a!.check.spec).toMatchObject({ host: 'www.example.com' });
    expect(b!.check).toMatchObject({ intervalMs: 1000, fall: 1, label: 'TCP connect 192.168.1.117:80' });
    expect(b!.check.spec).not.toHaveProperty('host');
  });

  it('gives a loopback sorry server route forwarding, another one the real servers\' forwarding', () => {
    const [svc] = normaliseHealthConfig(base({ destinations: [{ address: '10.0.0.2', forwarding: 'masq' }], sorryServer: { address: '127.0.0.1' } }));
    expect(svc!.sorry!.spec.forwarding).toBe('route');
    const [svc2] = normaliseHealthConfig(base({ destinations: [{ address: '10.0.0.2', forwarding: 'masq' }], sorryServer: { address: '10.0.0.99' } }));
    expect(svc2!.sorry!.spec.forwarding).toBe('masq');
  });

  it('gives route forwarding to a loopback sorry server however it is written, with masq real servers', () => {
    const v6 = (sorry: string): HealthConfig => ({
      services: [{ protocol: 'tcp', address: '2001:db8::10', port: 80, destinations: [{ address: '2001:db8::2', forwarding: 'masq' }], sorryServer: { address: sorry } }],
    });
    for (const spelling of ['::1', '[::1]', '0:0:0:0:0:0:0:1', '::0:1', '[0::1]', '0000::0001']) {
      const [svc] = normaliseHealthConfig(v6(spelling));
      expect(svc!.sorry, spelling).toMatchObject({ id: '[::1]:80', spec: { address: '::1', forwarding: 'route' } });
    }
    const [v4] = normaliseHealthConfig(base({ destinations: [{ address: '10.0.0.2', forwarding: 'masq' }], sorryServer: { address: '127.0.0.2' } }));
    expect(v4!.sorry!.spec.forwarding).toBe('route');
    // An IPv4-mapped 127.x is no loopback to the kernel's IPv6 NAT: it keeps the real servers' forwarding.
    expect(normaliseHealthConfig(v6('::ffff:127.0.0.1'))[0]!.sorry!.spec.forwarding).toBe('masq');
  });

  it("a udp check: its label, its payload as text or hex, and a level below replacing the other spelling of a payload or an expectation", () => {
    const udp = (check: Record<string, unknown>, dcheck?: Record<string, unknown>) =>
      normaliseHealthConfig(base({ protocol: 'udp', port: 53, check, destinations: [{ address: '192.168.1.116', ...(dcheck ? { check: dcheck } : {}) }] }))[0]!.realServers[0]!.check;
    const c = udp({ type: 'udp', payloadHex: '1234 0100', expectHex: '12 34' });
    expect(c).toMatchObject({ label: 'UDP request 192.168.1.116:53', port: 53, spec: { type: 'udp', payloadHex: '1234 0100', expectHex: '12 34' } });
    expect(udp({ type: 'udp', payload: 'x', expect: 'ok' }, { payloadHex: '00', expectHex: '01' }).spec).toEqual({ type: 'udp', payloadHex: '00', expectHex: '01' });
    expect(udp({ type: 'udp', payloadHex: '00' }, { payload: 'x', port: 5353 })).toMatchObject({ port: 5353, spec: { type: 'udp', payload: 'x' } });
    expect(udp({ type: 'udp', payloadHex: '00' }, { payload: 'x' }).spec).not.toHaveProperty('payloadHex');
    // The refusal of a UDP service without a check type names the udp check first.
    expect(() => normaliseHealthConfig(base({ protocol: 'udp', port: 53 }))).toThrow(/Name the type: 'udp' \(a datagram the servers answer\), 'tcp'/);
    expect(() => normaliseHealthConfig(base({ protocol: 'sctp', port: 53 }))).toThrow(/Name the type: 'tcp' when/);
    // The largest datagram IPv4 carries, and a source of the right family.
    expect(() => udp({ type: 'udp', payload: 'x'.repeat(65_507), localAddress: '192.168.1.1' })).not.toThrow();
    expect(() => udp({ type: 'udp', payloadHex: ' 12\n34\tabCD ', expectHex: '12' })).not.toThrow();
    // Linear in the text: a long run of whitespace before a bad character is refused at once.
    expect(() => udp({ type: 'udp', payloadHex: `${' '.repeat(200_000)}z` })).toThrow(/check\.payloadHex .*must be hexadecimal bytes/);
  });

  it('normalises IPv6 addresses and names them in brackets', () => {
    const [svc] = normaliseHealthConfig({
      services: [{ protocol: 'tcp', address: '2001:db8::10', port: 443, destinations: [{ address: '2001:DB8:0::2', forwarding: 'masq' }], check: { type: 'https' } }],
    });
    expect(svc!.realServers[0]!.id).toBe('[2001:db8::2]:443');
    expect(svc!.realServers[0]!.check.label).toBe('HTTPS GET https://[2001:db8::2]:443/');
  });

  const refusals: [string, HealthConfig, RegExp][] = [
    ['an unknown service field', base({ sheduler: 'rr' }), /services\[0\]\.sheduler.*unknown field/],
    ['an unknown check field', base({ check: { type: 'tcp', path: '/' } }), /services\[0\]\.check\.path.*unknown field/],
    ['an unknown persistence field', base({ persistence: { timout: 60 } }), /services\[0\]\.persistence\.timout 60: unknown field \(did you mean timeout\?\); expected one of timeout, netmask/],
    ['an unknown tunnel field', base({ destinations: [{ address: '192.168.1.116', forwarding: 'tunnel', tunnel: { type: 'gre', chksum: 'csum' } }] }),
      /services\[0\]\.destinations\[0\]\.tunnel\.chksum "csum": unknown field \(did you mean checksum\?\); expected one of type, port, checksum/],
    ['a multicast destination', base({ destinations: [{ address: '224.0.0.7' }] }), /services\[0\]\.destinations\[0\]\.address "224\.0\.0\.7": must be a unicast address/],
    ['an unknown check type', base({ check: { type: 'ping' } }), /services\[0\]\.check\.type/],
    // Names every object inherits: a ValidationError like any unknown type, not a TypeError from inside.
    ['a check type named constructor', base({ check: { type: 'constructor' } as never }), /services\[0\]\.check\.type "constructor": must be 'http', 'https', 'tcp', 'udp' or 'custom'/],
    ['a check type named __proto__', base({ check: { type: '__proto__' } as never }), /services\[0\]\.check\.type "__proto__": must be 'http'/],
    ['a config-level check type named toString', { ...base(), check: { type: 'toString' } } as never, /^invalid check\.type "toString": must be 'http'/],
    ['a bad weight', base({ destinations: [{ address: '192.168.1.116', weight: -1 }] }), /services\[0\]\.destinations\[0\]\.weight/],
    ['a bad address', base({ destinations: [{ address: 'server-1' }] }), /services\[0\]\.destinations\[0\]\.address/],
    ['a bad service', base({ protocol: 'icmp' }), /services\[0\]\.protocol/],
    ['a check without a port on a port-0 service', base({ port: 0, persistence: { timeout: 600 } }), /destinations\[0\]\.check\.port.*port is 0/],
    ['a fwmark service without a check port', { services: [{ fwmark: 10, destinations: [{ address: '10.0.0.2' }] }] }, /check\.port/],
    ['rise 0', base({ check: { rise: 0 } }), /check\.rise.*1\.\.1000/],
    ['a path without a slash', base({ check: { type: 'http', path: 'health' } }), /check\.path/],
    ['a bad status', base({ check: { type: 'http', expectStatus: [200, 999] } }), /check\.expectStatus\[1\]/],
    ['a custom check without a function', base({ check: { type: 'custom' } }), /check\.run/],
    ['a udp check without a payload', base({ check: { type: 'udp' } }), /^invalid services\[0\]\.destinations\[0\]\.check\.payload \(missing\): a udp check sends a datagram: give payload \(text\) or payloadHex/],
    ['a udp check with both payloads', base({ check: { type: 'udp', payload: 'x', payloadHex: '00' } }), /check\.payloadHex "00": give payload or payloadHex, not both/],
    ['a udp check with an empty payload', base({ check: { type: 'udp', payload: '' } }), /check\.payload "": must be 1\.\.65507 bytes \(it is 0\)/],
    ['a udp check with an empty hex payload', base({ check: { type: 'udp', payloadHex: ' ' } }), /check\.payloadHex " ": must be 1\.\.65507 bytes \(it is 0\)/],
    ['a udp payload larger than a datagram', base({ check: { type: 'udp', payload: '\u00e9'.repeat(32_754) } }), /check\.payload .*must be 1\.\.65507 bytes \(it is 65508\)/],
    ['a udp payload that is not a string', base({ check: { type: 'udp', payload: 42 } }), /check\.payload 42: must be a string/],
    ['a udp hex payload with an odd digit', base({ check: { type: 'udp', payloadHex: '123' } }), /check\.payloadHex "123": must be hexadecimal bytes, two digits each/],
    ['a udp hex payload with a 0x', base({ check: { type: 'udp', payloadHex: '0x1234' } }), /check\.payloadHex "0x1234": must be hexadecimal/],
    ['a udp check with both expectations', base({ check: { type: 'udp', payload: 'x', expect: 'y', expectHex: '00' } }), /check\.expectHex "00": give expect or expectHex, not both/],
    ['a udp check expecting nothing', base({ check: { type: 'udp', payload: 'x', expect: '' } }), /check\.expect "": is empty, which every reply contains/],
    ['a udp expectation that is no text', base({ check: { type: 'udp', payload: 'x', expect: 1 } }), /check\.expect 1: must be a string \(the reply must contain it\) or a RegExp/],
    ['a udp expectation longer than any reply', base({ check: { type: 'udp', payload: 'x', expect: 'y'.repeat(65_508) } }), /check\.expect "y+.*: is longer than any UDP reply \(65507 bytes\): the check could never pass/],
    ['a udp hex expectation longer than any reply', base({ check: { type: 'udp', payload: 'x', expectHex: '00'.repeat(65_508) } }), /check\.expectHex .*could never pass/],
    ['an empty udp hex expectation', base({ check: { type: 'udp', payload: 'x', expectHex: '' } }), /check\.expectHex "": must be the reply's first bytes in hexadecimal/],
    ['a udp field on a tcp check', base({ check: { type: 'tcp', payload: 'x' } }), /check\.payload "x": unknown field/],
    ['an IPv6 source for an IPv4 udp check', base({ check: { type: 'udp', payload: 'x', localAddress: '::1' } }), /check\.localAddress "::1": an IPv6 source address cannot reach/],
    ['a duplicate destination', base({ destinations: [{ address: '192.168.1.116' }, { address: '192.168.1.116', port: 80 }] }), /destinations\[1\].*also services\[0\]\.destinations\[0\]/],
    ['a duplicate service', { services: [base().services[0]!, base().services[0]!] }, /services\[1\].*also services\[0\]/],
    ['a sorry server that is a real server', base({ sorryServer: { address: '192.168.1.116' } }), /sorryServer.*also a real server/],
    ['a bad onFailure', base({ onFailure: 'drain' }), /onFailure.*'quiesce' or 'remove'/],
    ['services missing', {} as HealthConfig, /services.*array/],
    // Values Node's http refuses at every request: each would fail every check of every server it applies to.
    ['a path with a space', base({ check: { type: 'http', path: '/health check' } }), /services\[0\]\.destinations\[0\]\.check\.path "\/health check": .*percent-encode/],
    ['a path with a control character', base({ check: { type: 'http', path: '/health\tz' } }), /check\.path.*control/],
    ['a path with a non-ASCII character', base({ check: { type: 'https', path: '/sant\u00e9' } }), /check\.path.*non-ASCII/],
    ['a header value with CR LF', base({ check: { type: 'http', headers: { 'x-token': 'abc\r\n' } } }), /check\.headers\["x-token"\].*CR, LF/],
    ['a header name that is not a token', base({ check: { type: 'http', headers: { 'bad name': 'v' } } }), /check\.headers\["bad name"\] "bad name": .*HTTP token/],
    ['a host with CR LF', base({ check: { type: 'http', host: 'www.example.com\r\n' } }), /check\.host.*control/],
    ['a host with a space', base({ check: { type: 'http', host: 'www example' } }), /check\.host.*spaces/],
    ['an empty host', base({ check: { type: 'http', host: '' } }), /check\.host/],
    // Without brackets the last group of an IPv6 address cannot be told from a port, and no Host header carries it so.
    ['an IPv6 host without brackets', base({ check: { type: 'https', host: '::1' } }), /check\.host "::1": an IPv6 address goes in brackets.*\[2001:db8::1\]:8443/],
    ['an IPv6 host and port without brackets', base({ check: { type: 'http', host: '2001:db8::1:8443' } }), /check\.host.*in brackets/],
    ['a bracketed host that is no IPv6 address', base({ check: { type: 'https', host: '[www.example.com]:443' } }), /check\.host.*'\[IPv6 address\]:port'/],
    ['a bracketed host with a zone', base({ check: { type: 'https', host: '[fe80::1%eth0]' } }), /check\.host.*'\[IPv6 address\]'/],
    ['an unclosed bracket', base({ check: { type: 'https', host: '[::1' } }), /check\.host/],
    ['a bracketed host with a bad port', base({ check: { type: 'https', host: '[::1]:https' } }), /check\.host.*port after the brackets/],
    ['a host with a bad port', base({ check: { type: 'http', host: 'www.example.com:65536' } }), /check\.host.*port after ':'/],
    ['a host that is only a port', base({ check: { type: 'http', host: ':8080' } }), /check\.host.*name before the port/],
    ['an IPv6 source for an IPv4 server', base({ check: { type: 'http', localAddress: '::1' } }), /check\.localAddress "::1": an IPv6 source address cannot reach 192\.168\.1\.116/],
    ['an IPv4 source for an IPv6 check address', base({ check: { type: 'tcp', address: '2001:db8::5', localAddress: '10.0.0.1' } }), /check\.localAddress.*IPv4 source address cannot reach 2001:db8::5/],
    ['a masq sorry server on loopback', base({ sorryServer: { address: '127.0.0.1', forwarding: 'masq' } }), /sorryServer\.forwarding "masq": .*loopback address \(127\.0\.0\.1\).*'route'/],
    ['a masq sorry server on ::1 written long', { services: [{ protocol: 'tcp', address: '2001:db8::10', port: 80, destinations: [{ address: '2001:db8::2' }], sorryServer: { address: '0:0:0:0:0:0:0:1', forwarding: 'masq' } }] } as HealthConfig, /sorryServer\.forwarding "masq": .*loopback address \(::1\): leave forwarding out or use 'route'/],
    ['a masq sorry server on ::1', { services: [{ protocol: 'tcp', address: '2001:db8::10', port: 80, destinations: [{ address: '2001:db8::2' }], sorryServer: { address: '::1', forwarding: 'masq' } }] } as HealthConfig, /sorryServer\.forwarding.*loopback address \(::1\)/],
    // Linux's NAT refuses to send another host's packets to loopback: such a server would pass every check and get no client.
    ['a masq real server on loopback', base({ destinations: [{ address: '192.168.1.116', forwarding: 'masq' }, { address: '127.0.0.2', forwarding: 'masq' }] }), /services\[0\]\.destinations\[1\]\.forwarding "masq": the kernel drops traffic from other hosts that it would NAT to a loopback address \(127\.0\.0\.2\): leave forwarding out or use 'route' for a real server/],
    // Linux would refuse every connection to the address on a port without a service of its own (docs/decisions.md).
    ['a port-0 service without persistence', base({ port: 0, check: { type: 'tcp', port: 80 } }), /^invalid services\[0\]\.port 0: a service on port 0 \(all ports\) must be persistent/],
    ['a masq real server on ::1 written long', { services: [{ protocol: 'tcp', address: '2001:db8::10', port: 80, destinations: [{ address: '[0:0::1]', port: 8080, forwarding: 'masq' }] }] } as HealthConfig, /destinations\[0\]\.forwarding "masq": .*loopback address \(::1\)/],
  ];
  it.each(refusals)('refuses %s', (_name, cfg, message) => {
    expect(() => normaliseHealthConfig(cfg)).toThrow(message);
  });

  it('an unknown field is refused with the closest field of its level, or none when no field is close', () => {
    const refusal = (cfg: unknown): string => {
      try {
        normaliseHealthConfig(cfg as HealthConfig);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('not refused');
    };
    expect(refusal({ servces: [] })).toBe('invalid servces []: unknown field (did you mean services?); expected one of services, check, onFailure, maxChecksInFlight');
    expect(refusal(base({ sheduler: 'rr' }))).toMatch(/^invalid services\[0\]\.sheduler "rr": unknown field \(did you mean scheduler\?\); expected one of protocol, .*, destinations, check, sorryServer, onFailure$/);
    expect(refusal(base({ destinations: [{ address: '192.168.1.116', wieght: 2 }] })))
      .toBe('invalid services[0].destinations[0].wieght 2: unknown field (did you mean weight?); expected one of address, port, forwarding, weight, upperThreshold, lowerThreshold, tunnel, check');
    expect(refusal(base({ check: { intervalMS: 1000 } }))).toMatch(/^invalid services\[0\]\.check\.intervalMS 1000: unknown field \(did you mean intervalMs\?\); expected one of type, intervalMs, /);
    expect(refusal(base({ check: { type: 'http', pth: '/' } }))).toMatch(/^invalid services\[0\]\.check\.pth "\/": unknown field \(did you mean path\?\); expected one of type, .*, tlsVerify$/);
    expect(refusal(base({ sorryServer: { address: '127.0.0.1', check: {} } })))
      .toBe('invalid services[0].sorryServer.check {}: unknown field; expected one of address, port, forwarding, weight, upperThreshold, lowerThreshold, tunnel');
  });

  it('accepts what Node sends as written: an encoded path and query, token header names, tabs and Latin-1 in values, a source of the right family', () => {
    const cfg = base({
      check: { type: 'http', path: '/health%20check?full=1&x=~', host: 'www.example.com:8080', headers: { 'x-api-key': 'a\tb', "x!#$%&'*+-.^_`|~": 'caf\u00e9' }, localAddress: '192.168.1.1' },
      sorryServer: { address: '127.0.0.1', forwarding: 'route' },
    });
    expect(normaliseHealthConfig(cfg)[0]!.realServers[0]!.check.label).toBe('HTTP GET http://192.168.1.116:80/health%20check?full=1&x=~');
    expect(() => normaliseHealthConfig(base({ check: { type: 'tcp', address: '2001:db8::5', localAddress: '2001:db8::1' } }))).not.toThrow();
    for (const host of ['[2001:db8::1]', '[2001:db8::1]:8443', '192.0.2.1', '192.0.2.1:8080', 'www.example.com', 'localhost:65535']) {
      expect(() => normaliseHealthConfig(base({ check: { type: 'https', host } })), host).not.toThrow();
    }
    // A custom check binds nothing: an inherited source of the other family is no concern of it.
    expect(() => normaliseHealthConfig(base({ check: { type: 'custom', run: () => true, localAddress: '::1' } }))).not.toThrow();
    expect(normaliseHealthConfig(base({ destinations: [{ address: '10.0.0.2', forwarding: 'masq' }], sorryServer: { address: '10.0.0.99' } }))[0]!.sorry!.spec.forwarding).toBe('masq');
  });
});

describe('real servers on loopback', () => {
  it('routes to them (the default) and keeps masq to an IPv4-mapped 127.x, which the kernel treats as any IPv6 address', () => {
    const [svc] = normaliseHealthConfig(base({ destinations: [{ address: '127.0.0.1' }] }));
    expect(svc!.realServers[0]!.spec.forwarding).toBe('route');
    const v6 = { services: [{ protocol: 'tcp', address: '2001:db8::10', port: 80, destinations: [{ address: '::ffff:127.0.0.1', forwarding: 'masq' }] }] } as HealthConfig;
    expect(normaliseHealthConfig(v6)[0]!.realServers[0]!.spec.forwarding).toBe('masq');
  });

  it('the client still takes a masq destination on loopback, as Linux and ipvsadm do: only the health config knows it cannot serve', async () => {
    const ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
    const service = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
    await ipvs.addService(service);
    await ipvs.addDestination(service, { address: '127.0.0.1', port: 8080, forwarding: 'masq' });
    expect((await ipvs.destinations(service)).map((d) => `${d.address} ${d.forwarding}`)).toEqual(['127.0.0.1 masq']);
    await ipvs.close();
  });
});

describe('parseHealthConfig', () => {
  it('reads JSON and checks it', () => {
    const text = JSON.stringify(base({ check: { type: 'http', body: 'ok' } }));
    expect(parseHealthConfig(text).services).toHaveLength(1);
    expect(() => parseHealthConfig('{')).toThrow('invalid config "{": not valid JSON');
    // A UTF-8 file an editor began with a byte-order mark, as a desired state may.
    expect(parseHealthConfig(`\ufeff${text}`).services).toHaveLength(1);
    expect(() => parseHealthConfig('{"services":[{"protocol":"tcp"}]}')).toThrow(/services\[0\]\.address/);
  });
});

describe('maxChecksInFlight', () => {
  it('takes an integer from 1 and refuses anything else, naming the field; left out, a quarter of the limit on open files, at most 1 024', () => {
    expect(checksInFlightOf(base({}, { maxChecksInFlight: 16 }))).toBe(16);
    expect(parseHealthConfig(JSON.stringify(base({}, { maxChecksInFlight: 1 }))).maxChecksInFlight).toBe(1);
    for (const bad of [0, -1, 2.5, '16', null, 1_000_001]) {
      expect(() => normaliseHealthConfig(base({}, { maxChecksInFlight: bad }))).toThrow(/^invalid maxChecksInFlight .*: must be an integer 1\.\.1000000$/);
    }
    expect(() => normaliseHealthConfig(base({}, { maxCheckInFlight: 16 }))).toThrow(/unknown field \(did you mean maxChecksInFlight\?\)/);
    const limits = (soft: string): string => `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 ${soft}                 files\n`;
    expect(defaultChecksInFlight(limits('1024'))).toBe(256);
    expect(defaultChecksInFlight(limits('64'))).toBe(16);
    expect(defaultChecksInFlight(limits('3'))).toBe(1);
    expect(defaultChecksInFlight(limits('1048576'))).toBe(1024);
    expect(defaultChecksInFlight(limits('unlimited'))).toBe(1024);
    expect(defaultChecksInFlight('')).toBe(1024);
    expect(checksInFlightOf(base())).toBe(defaultChecksInFlight());
  });

  it("left out, the default grows past 1 024 to the config's worst case (every check timing out) as far as descriptors allow", () => {
    // 4 000 servers at the default interval and timeout: each in flight 2 s of every 7 s if all time out.
    const big = {
      services: Array.from({ length: 200 }, (_, s) => ({
        protocol: 'tcp' as const,
        address: `192.168.${s >> 8}.${(s & 255) + 1}`,
        port: 80,
        destinations: Array.from({ length: 20 }, (_, j) => ({ address: `10.1.${s}.${j + 1}` })),
      })),
    };
    const services = normaliseHealthConfig(big);
    expect(worstCaseChecksInFlight(services)).toBe(1143);
    expect(worstCaseChecksInFlight(normaliseHealthConfig(base()))).toBe(1);
    const limits = (soft: string): string => `Max open files            ${soft}                 ${soft}                 files\n`;
    expect(defaultChecksInFlight(limits('1048576'), 1143)).toBe(1143);
    expect(defaultChecksInFlight(limits('4096'), 1143)).toBe(1024);
    expect(defaultChecksInFlight(limits('1024'), 1143)).toBe(256);
    expect(defaultChecksInFlight('', 1143)).toBe(1143);
    expect(defaultChecksInFlight(limits('1048576'), 12)).toBe(1024);
    expect(checksInFlightOf(big)).toBe(defaultChecksInFlight(undefined, 1143));
  });
});
