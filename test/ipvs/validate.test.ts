import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/ipvs/errors.js';
import {
  serviceKeyText, validateDaemon, validateDestinationKey, validateDestinationSpec, validateDestinationValues,
  validateNewServiceSpec, validateServiceKey, validateServiceSpec, validateServiceValues, validateTimeouts,
} from '../../src/ipvs/validate.js';

function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

/** Each refusal names the field and shows the value in its message. */
function expectRefused(fn: () => unknown, field: string, value: unknown, reason?: RegExp): void {
  const err = refusal(fn);
  expect(err.field).toBe(field);
  expect(err.value).toEqual(value);
  expect(err.code).toBe('EINVALIDARG');
  expect(err.message.startsWith(`invalid ${field} `)).toBe(true);
  if (reason) expect(err.reason).toMatch(reason);
}

const tcp = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
const svc4 = validateServiceKey(tcp);
const svc6 = validateServiceKey({ protocol: 'tcp', address: '2001:db8::10', port: 80 });
const fw = validateServiceKey({ fwmark: 10 });

describe('service keys', () => {
  it('normalises address keys and names them', () => {
    const k = validateServiceKey({ protocol: 'udp', address: '2001:DB8::0001', port: 53 });
    expect(k).toMatchObject({ af: 10, protocol: 17, port: 53, fwmark: 0, text: 'udp [2001:db8::1]:53', key: { protocol: 'udp', address: '2001:db8::1', port: 53 } });
    expect(svc4.text).toBe('tcp 192.168.1.110:80');
    expect(validateServiceKey({ protocol: 'sctp', address: '10.0.0.1', port: 0 }).protocol).toBe(132);
  });

  it('takes a protocol number (a service another tool made); 6, 17 and 132 are the names', () => {
    expect(validateServiceKey({ protocol: 47, address: '10.9.9.9', port: 80 })).toMatchObject({
      af: 2, protocol: 47, port: 80, fwmark: 0, text: 'proto 47 10.9.9.9:80', key: { protocol: 47, address: '10.9.9.9', port: 80 },
    });
    expect(validateServiceKey({ protocol: 0, address: '2001:DB8::1', port: 0 })).toMatchObject({ af: 10, protocol: 0, text: 'proto 0 [2001:db8::1]:0' });
    expect(validateServiceKey({ protocol: 65535, address: '10.9.9.9', port: 80 }).text).toBe('proto 65535 10.9.9.9:80');
    for (const [n, name] of [[6, 'tcp'], [17, 'udp'], [132, 'sctp']] as const) {
      const k = validateServiceKey({ protocol: n, address: '10.9.9.9', port: 80 });
      expect(k).toEqual(validateServiceKey({ protocol: name, address: '10.9.9.9', port: 80 }));
      expect(k.key).toEqual({ protocol: name, address: '10.9.9.9', port: 80 });
    }
    expect(serviceKeyText({ protocol: 50, address: '2001:db8::1', port: 0 }, true)).toBe('proto 50 [2001:db8::1]:0');
    for (const bad of [65536, -1, 2.5, Number.NaN, Infinity]) {
      expectRefused(() => validateServiceKey({ protocol: bad, address: '10.9.9.9', port: 80 }), 'protocol', bad, /integer 0\.\.65535/);
    }
    // Anything else may name one, only adding it is refused.
    expect(validateServiceSpec({ protocol: 47, address: '10.9.9.9', port: 80, scheduler: 'rr' })).toMatchObject({ protocol: 47, scheduler: 'rr' });
    expectRefused(() => validateNewServiceSpec({ protocol: 47, address: '10.9.9.9', port: 80 }), 'protocol', 47, /balance nothing/);
    expect(validateNewServiceSpec({ protocol: 6, address: '10.9.9.9', port: 80 }).protocol).toBe(6);
  });

  it('holds an IPv4 address as its 32-bit value and an IPv6 one as 16 bytes', () => {
    expect(svc4).toMatchObject({ af: 2, v4: 0xc0a8016e, v6: undefined });
    expect(svc6.v4).toBe(0);
    expect(Buffer.from(svc6.v6!).toString('hex')).toBe('20010db8000000000000000000000010');
    expect(fw).toMatchObject({ v4: 0, v6: undefined });
    expect(validateServiceKey({ protocol: 'tcp', address: '255.255.255.255', port: 1 }).v4).toBe(0xffffffff);
    expectRefused(() => validateServiceKey({ protocol: 'tcp', address: '10.0.0.1', port: 80, family: 'ipv6' }), 'family', 'ipv6', /does not match the address 10.0.0.1/);
  });

  it('takes fwmark keys, IPv4 by default', () => {
    expect(fw).toMatchObject({ af: 2, fwmark: 10, protocol: 0, port: 0, text: 'fwmark 10', key: { fwmark: 10, family: 'ipv4' } });
    expect(validateServiceKey({ fwmark: 0xffffffff, family: 'ipv6' })).toMatchObject({ af: 10, text: 'fwmark 4294967295 (IPv6)' });
  });

  it('takes a Service read back from the kernel as a key', () => {
    const asRead = { ...tcp, family: 'ipv4', scheduler: 'rr', flags: [], rawFlags: 2, stats: {} };
    expect(validateServiceKey(asRead).text).toBe('tcp 192.168.1.110:80');
  });

  it.each([
    [null, 'service', null],
    ['tcp', 'service', 'tcp'],
    [{ protocol: 'icmp', address: '1.2.3.4', port: 1 }, 'protocol', 'icmp'],
    [{ address: '1.2.3.4', port: 1 }, 'protocol', undefined],
    [{ protocol: 'tcp', address: '1.2.3', port: 1 }, 'address', '1.2.3'],
    [{ protocol: 'tcp', address: '1.2.3.4', port: 70000 }, 'port', 70000],
    [{ protocol: 'tcp', address: '1.2.3.4', port: -1 }, 'port', -1],
    [{ protocol: 'tcp', address: '1.2.3.4', port: 1.5 }, 'port', 1.5],
    [{ protocol: 'tcp', address: '1.2.3.4', port: '80' }, 'port', '80'],
    [{ protocol: 'tcp', address: '1.2.3.4' }, 'port', undefined],
    [{ protocol: 'tcp', address: '1.2.3.4', port: 80, family: 'ipv6' }, 'family', 'ipv6'],
    [{ fwmark: 0 }, 'fwmark', 0],
    [{ fwmark: 2 ** 32 }, 'fwmark', 2 ** 32],
    [{ fwmark: 1, family: 'inet' }, 'family', 'inet'],
    [{ fwmark: 1, protocol: 'tcp', address: '1.2.3.4', port: 1 }, 'fwmark', 1],
  ])('refuses %j (field %s)', (key, field, value) => {
    expectRefused(() => validateServiceKey(key), field, value);
  });

  it('words a port refusal as a person reads it', () => {
    expect(() => validateServiceKey({ ...tcp, port: 70000 })).toThrow('invalid port 70000: must be an integer 0..65535');
  });
});

describe('service specs', () => {
  it('fills ipvsadm defaults: wlc, no persistence, host netmask', () => {
    expect(validateServiceSpec(tcp)).toMatchObject({ scheduler: 'wlc', flags: 0, timeout: 0, netmask: 0xffffffff, pe: undefined });
    expect(validateServiceSpec({ protocol: 'tcp', address: '::1', port: 1 })).toMatchObject({ netmask: 128 });
  });

  it('persistence: true means 300 s; options override', () => {
    expect(validateServiceSpec({ ...tcp, persistence: true })).toMatchObject({ flags: 1, timeout: 300 });
    expect(validateServiceSpec({ ...tcp, persistence: {} })).toMatchObject({ flags: 1, timeout: 300 });
    expect(validateServiceSpec({ ...tcp, persistence: false })).toMatchObject({ flags: 0, timeout: 0 });
    expect(validateServiceSpec({ ...tcp, persistence: { timeout: 2678400, netmask: '255.255.255.0' } })).toMatchObject({ timeout: 2678400, netmask: 0xffffff00 });
    expect(validateServiceSpec({ ...tcp, persistence: { netmask: 16 } })).toMatchObject({ netmask: 0xffff0000 });
    expect(validateServiceSpec({ ...tcp, persistence: { netmask: '24' } })).toMatchObject({ netmask: 0xffffff00 });
    expect(validateServiceSpec({ ...tcp, persistence: { netmask: '/24' } })).toMatchObject({ netmask: 0xffffff00 });
  });

  it('an array is no persistence or tunnel object (persistence: [] would otherwise mean persistent 300 s)', () => {
    for (const persistence of [[], [600]]) {
      expect(() => validateServiceSpec({ ...tcp, persistence })).toThrow(/invalid persistence .*must be true, false or \{ timeout\?, netmask\? \}/);
      expect(() => validateServiceValues({ ...tcp, persistence })).toThrow(/must be true, false or/);
    }
    expect(() => validateDestinationSpec(svc4, { address: '10.0.0.2', forwarding: 'tunnel', tunnel: [] })).toThrow(/invalid destination.tunnel \[\]/);
  });

  it('IPv6 persistence netmasks are prefix lengths (or masks, or "/64")', () => {
    const v6 = { protocol: 'tcp', address: '2001:db8::1', port: 443 } as const;
    expect(validateServiceSpec({ ...v6, persistence: { netmask: 64 } }).netmask).toBe(64);
    expect(validateServiceSpec({ ...v6, persistence: { netmask: '/48' } }).netmask).toBe(48);
    expect(validateServiceSpec({ ...v6, persistence: { netmask: 'ffff:ffff:ffff:ffff::' } }).netmask).toBe(64);
    expect(validateServiceSpec({ fwmark: 3, family: 'ipv6', persistence: { netmask: 128 } }).netmask).toBe(128);
    expectRefused(() => validateServiceSpec({ ...v6, persistence: { netmask: 0 } }), 'persistence.netmask', 0);
    expectRefused(() => validateServiceSpec({ ...v6, persistence: { netmask: 129 } }), 'persistence.netmask', 129);
    expectRefused(() => validateServiceSpec({ ...v6, persistence: { netmask: 'ffff:ff00:ffff::' } }), 'persistence.netmask', 'ffff:ff00:ffff::');
    expectRefused(() => validateServiceSpec({ ...v6, persistence: { netmask: '255.255.255.0' } }), 'persistence.netmask', '255.255.255.0');
  });

  it('sets flag bits and keeps the scheduler flags with their scheduler', () => {
    expect(validateServiceSpec({ ...tcp, protocol: 'udp', flags: ['one-packet'] }).flags).toBe(4);
    expect(validateServiceSpec({ fwmark: 3, flags: ['one-packet'] }).flags).toBe(4);
    expect(validateServiceSpec({ ...tcp, scheduler: 'sh', flags: ['sh-fallback', 'sh-port'] }).flags).toBe(0x18);
    expect(validateServiceSpec({ ...tcp, scheduler: 'mh', persistence: true, flags: ['mh-port'] }).flags).toBe(0x11);
    expectRefused(() => validateServiceSpec({ ...tcp, scheduler: 'rr', flags: ['sh-port'] }), 'flags', 'sh-port', /only applies to the sh scheduler, not rr/);
    expectRefused(() => validateServiceSpec({ ...tcp, flags: ['mh-fallback'] }), 'flags', 'mh-fallback', /not wlc/);
  });

  it('refuses one-packet scheduling on a TCP or SCTP service: Linux ignores it there, and ipvsadm -R could not restore its -o', () => {
    expectRefused(() => validateServiceSpec({ ...tcp, flags: ['one-packet'] }), 'flags', 'one-packet',
      /^one-packet scheduling applies to UDP and firewall-mark services only, not to service tcp 192\.168\.1\.110:80 \(Linux ignores it there, and ipvsadm refuses -o for it\)$/);
    expectRefused(() => validateServiceSpec({ ...tcp, protocol: 'sctp', flags: ['one-packet'] }), 'flags', 'one-packet', /not to service sctp /);
    // A service read back with the flag (another tool's) is refused as input by the same path.
    expectRefused(() => validateServiceSpec({ ...tcp, family: 'ipv4', scheduler: 'wlc', flags: ['one-packet'], rawFlags: 6 }), 'flags', 'one-packet');
  });

  it('refuses a port-0 service without persistence: Linux would refuse every connection to its address, and ipvsadm refuses it', () => {
    const zero = { ...tcp, port: 0 };
    for (const spec of [zero, { ...zero, persistence: false }, { ...zero, protocol: 'udp' }, { ...zero, protocol: 'sctp', scheduler: 'rr' }, { ...zero, address: '2001:db8::1' }]) {
      expectRefused(() => validateServiceSpec(spec), 'port', 0, /^a service on port 0 \(all ports\) must be persistent: Linux would refuse every connection to \S+ on a port without a service of its own, and ipvsadm refuses it \("Zero port specified for non-persistent service"\)$/);
    }
    expect(refusal(() => validateServiceSpec(zero)).reason).toContain(' to 192.168.1.110 on ');
    // Persistent, it is the "all ports" service; fwmark services have no port; any other port needs no persistence.
    expect(validateServiceSpec({ ...zero, persistence: true }).flags).toBe(1);
    expect(validateServiceSpec({ ...zero, persistence: { timeout: 60 }, flags: ['flag-1'] }).flags).toBe(9);
    expect(validateServiceSpec({ fwmark: 3 }).flags).toBe(0);
    expect(validateServiceSpec({ ...tcp, port: 1 }).flags).toBe(0);
    // A service read back (another tool's, or one whose persistence a change takes away) goes through the same check.
    expectRefused(() => validateServiceSpec({ ...zero, family: 'ipv4', scheduler: 'wlc', flags: [], rawFlags: 2 }), 'port', 0);
    // A protocol Linux does not balance is never scheduled anyway: another tool's such service can still be updated.
    expect(validateServiceSpec({ protocol: 47, address: '10.0.0.1', port: 0 }).flags).toBe(0);
  });

  it('the generic flag-1..flag-3 set SCHED1..3 with any scheduler', () => {
    expect(validateServiceSpec({ ...tcp, scheduler: 'rr', flags: ['flag-1', 'flag-3'] }).flags).toBe(0x28);
    expect(validateServiceSpec({ ...tcp, flags: ['flag-2'] }).flags).toBe(0x10);
    expect(validateServiceSpec({ ...tcp, scheduler: 'sh', flags: ['flag-1', 'flag-2', 'flag-3'] }).flags).toBe(0x38);
    expect(validateServiceSpec({ ...tcp, scheduler: 'mh', flags: ['mh-port', 'flag-2', 'flag-3'] }).flags).toBe(0x30);
    expectRefused(() => validateServiceSpec({ ...tcp, flags: ['flag-4'] }), 'flags', 'flag-4', /unknown flag/);
  });

  it.each([
    [{ scheduler: 'bogus' }, 'scheduler', 'bogus'],
    [{ scheduler: 'toString' }, 'scheduler', 'toString'],
    [{ persistence: 'yes' }, 'persistence', 'yes'],
    [{ persistence: { timeout: 0 } }, 'persistence.timeout', 0],
    [{ persistence: { timeout: 2678401 } }, 'persistence.timeout', 2678401],
    [{ persistence: { netmask: '255.0.255.0' } }, 'persistence.netmask', '255.0.255.0'],
    [{ persistence: { netmask: 'x' } }, 'persistence.netmask', 'x'],
    [{ flags: 'one-packet' }, 'flags', 'one-packet'],
    [{ flags: ['persistent'] }, 'flags', 'persistent'],
    [{ flags: ['constructor'] }, 'flags', 'constructor'],
    [{ persistenceEngine: 'http' }, 'persistenceEngine', 'http'],
  ])('refuses %j (field %s)', (extra, field, value) => {
    expectRefused(() => validateServiceSpec({ ...tcp, ...extra }), field, value);
  });

  it("takes the scheduler 'none' (Linux: no scheduler), sent as is; scheduler flags pass by their generic names", () => {
    expect(validateServiceSpec({ ...tcp, scheduler: 'none' })).toMatchObject({ scheduler: 'none', flags: 0 });
    expect(validateServiceSpec({ ...tcp, scheduler: 'none', flags: ['flag-1', 'flag-3'], persistence: true, persistenceEngine: 'sip' }))
      .toMatchObject({ scheduler: 'none', flags: 0x29, pe: 'sip' });
    expectRefused(() => validateServiceSpec({ ...tcp, scheduler: 'none', flags: ['sh-port'] }), 'flags', 'sh-port', /not none/);
    expectRefused(() => validateServiceSpec({ ...tcp, scheduler: 'None' }), 'scheduler', 'None', /one of rr, .*, mh, twos, none$/);
  });

  it('refuses a field a spec does not have, by path (a Service read back is still a spec)', () => {
    expectRefused(() => validateServiceSpec({ ...tcp, schedular: 'sh' }), 'schedular', 'sh', /^unknown field \(did you mean scheduler\?\); expected one of protocol, address, port, fwmark, family, scheduler, persistence, flags, persistenceEngine$/);
    expectRefused(() => validateServiceSpec({ ...tcp, persistence: { timout: 60 } }), 'persistence.timout', 60, /^unknown field \(did you mean timeout\?\); expected one of timeout, netmask$/);
    const stats = { conns: 0n, inPackets: 0n, outPackets: 0n, inBytes: 0n, outBytes: 0n, cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
    expect(validateServiceSpec({ ...tcp, family: 'ipv4', scheduler: 'none', flags: [], rawFlags: 2, stats, unknownAttributes: [], persistence: { timeout: 5, netmask: '255.255.255.255' } }))
      .toMatchObject({ scheduler: 'none', timeout: 5 });
    // Inherited and non-enumerable keys are not fields of the spec.
    const inherited = Object.assign(Object.create({ schedular: 'sh' }) as object, tcp);
    expect(validateServiceSpec(inherited).scheduler).toBe('wlc');
    expect(validateServiceSpec(Object.defineProperty({ ...tcp }, 'schedular', { value: 'sh', enumerable: false })).scheduler).toBe('wlc');
  });

  it('names the persistence engine', () => {
    expect(validateServiceSpec({ ...tcp, persistence: true, persistenceEngine: 'sip' }).pe).toBe('sip');
  });
});

describe('destinations', () => {
  it('defaults: the service port, route, weight 1, no thresholds, no tunnel', () => {
    expect(validateDestinationSpec(svc4, { address: '192.168.1.116' })).toMatchObject({
      af: 2, port: 80, fwd: 3, weight: 1, upper: 0, lower: 0, tunType: undefined, tunPort: undefined, tunFlags: undefined, text: '192.168.1.116:80',
    });
    expect(validateDestinationSpec(fw, { address: '10.0.0.2' }).port).toBe(0);
    expect(validateDestinationKey(svc6, { address: '2001:db8::2', port: 8080 }).text).toBe('[2001:db8::2]:8080');
  });

  it('validating into a given object overwrites every field, options reset to their defaults', () => {
    const into = validateDestinationSpec(svc4, { address: '10.0.0.9', port: 1, forwarding: 'tunnel', weight: 7, upperThreshold: 9, lowerThreshold: 2, tunnel: { type: 'gue', port: 6080, checksum: 'csum' } });
    const again = validateDestinationValues(svc4, { address: '192.168.1.116' }, into);
    expect(again).toBe(into);
    expect({ ...again }).toEqual({ ...validateDestinationSpec(svc4, { address: '192.168.1.116' }) });
    expect(validateDestinationValues(svc4, { address: '2001:db8::2', forwarding: 'tunnel' }, into)).toMatchObject({ af: 10, v4: 0, address: '2001:db8::2', fwd: 2, weight: 1 });
    expect(validateDestinationKey(svc4, { address: '10.0.0.3' }, into)).toMatchObject({ af: 2, v6: undefined, address: '10.0.0.3', port: 80, fwd: 3, tunType: undefined });
  });

  it('forwarding methods map to the kernel constants', () => {
    expect(validateDestinationSpec(svc4, { address: '10.0.0.2', forwarding: 'masq' }).fwd).toBe(0);
    expect(validateDestinationSpec(svc4, { address: '10.0.0.2', forwarding: 'tunnel' }).fwd).toBe(2);
    expect(validateDestinationSpec(svc4, { address: '10.0.0.2', forwarding: 'route' }).fwd).toBe(3);
  });

  it('another family than the service only through a tunnel (as ip_vs_genl_set_cmd)', () => {
    expect(validateDestinationSpec(svc4, { address: '2001:db8::2', forwarding: 'tunnel' }).af).toBe(10);
    expectRefused(() => validateDestinationSpec(svc4, { address: '2001:db8::2', forwarding: 'masq' }), 'destination.address', '2001:db8::2', /needs forwarding 'tunnel'/);
    expectRefused(() => validateDestinationSpec(svc6, { address: '10.0.0.2' }), 'destination.address', '10.0.0.2');
  });

  it('weights 0..INT_MAX, thresholds 0..u32 max, lower at most upper (the kernel says ERANGE)', () => {
    expect(validateDestinationSpec(svc4, { address: '10.0.0.2', weight: 0 }).weight).toBe(0);
    expect(validateDestinationSpec(svc4, { address: '10.0.0.2', weight: 2147483647, upperThreshold: 2147483647, lowerThreshold: 5 })).toMatchObject({ weight: 2147483647, upper: 2147483647, lower: 5 });
    // Linux keeps any u32 threshold (another tool can set one above INT_MAX): read back, it must be taken back.
    expect(validateDestinationSpec(svc4, { address: '10.0.0.2', upperThreshold: 4294967295, lowerThreshold: 4294967295 })).toMatchObject({ upper: 4294967295, lower: 4294967295 });
    expectRefused(() => validateDestinationSpec(svc4, { address: '10.0.0.2', lowerThreshold: 1 }), 'destination.lowerThreshold', 1, /upper threshold \(0\)/);
    expectRefused(() => validateDestinationSpec(svc4, { address: '10.0.0.2', upperThreshold: 10, lowerThreshold: 11 }), 'destination.lowerThreshold', 11);
  });

  it('tunnel options', () => {
    expect(validateDestinationSpec(svc4, { address: '10.0.0.2', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'remcsum' } }))
      .toMatchObject({ fwd: 2, tunType: 1, tunPort: 6080, tunFlags: 2 });
    expect(validateDestinationSpec(svc4, { address: '10.0.0.2', forwarding: 'tunnel', tunnel: { type: 'gre', checksum: 'csum' } }))
      .toMatchObject({ tunType: 2, tunPort: undefined, tunFlags: 1 });
    expect(validateDestinationSpec(svc4, { address: '10.0.0.2', forwarding: 'tunnel', tunnel: { type: 'ipip' } }))
      .toMatchObject({ tunType: 0, tunFlags: 0 });
  });

  it('a field a spec does not have is refused, by path; a Destination read back is a spec', () => {
    expectRefused(() => validateDestinationSpec(svc4, { ...d, wieght: 0 }), 'destination.wieght', 0, /^unknown field \(did you mean weight\?\); expected one of address, port, forwarding, weight, upperThreshold, lowerThreshold, tunnel$/);
    expectRefused(() => validateDestinationSpec(svc4, { ...tun, tunnel: { type: 'gre', chksum: 'csum' } }), 'destination.tunnel.chksum', 'csum', /^unknown field \(did you mean checksum\?\); expected one of type, port, checksum$/);
    const read = { address: '10.0.0.2', family: 'ipv4', port: 80, forwarding: 'tunnel', weight: 3, upperThreshold: 0, lowerThreshold: 0, tunnel: { type: 'gre', port: 0, checksum: 'csum' },
      activeConns: 1, inactiveConns: 2, persistentConns: 3, stats: {}, unknownAttributes: [] };
    expect(validateDestinationSpec(svc4, read)).toMatchObject({ weight: 3, tunType: 2, tunFlags: 1 });
    // The key alone (a delete) takes any object with an address.
    expect(validateDestinationKey(svc4, { ...d, wieght: 0 }).address).toBe('10.0.0.2');
  });

  it("remcsum is for gue tunnels only: Linux's gre ignores it (ipvsadm refuses it too)", () => {
    expectRefused(() => validateDestinationSpec(svc4, { ...tun, tunnel: { type: 'gre', checksum: 'remcsum' } }), 'destination.tunnel.checksum', 'remcsum', /gue tunnels only/);
    expect(validateDestinationSpec(svc4, { ...tun, tunnel: { type: 'gue', port: 1, checksum: 'remcsum' } }).tunFlags).toBe(2);
  });

  it('refuses destination addresses Linux refuses on every host; a key to delete may be any address', () => {
    for (const address of ['0.0.0.0', '255.255.255.255', '224.0.0.1', '239.255.255.255']) {
      expectRefused(() => validateDestinationSpec(svc4, { address }), 'destination.address', address, /must be a unicast address/);
      expect(validateDestinationKey(svc4, { address }).address).toBe(address);
    }
    for (const address of ['::', 'ff02::1', 'ff05::1', 'FF01::1', '[ff0e::1]', '0:0:0:0:0:0:0:0']) {
      expectRefused(() => validateDestinationSpec(svc6, { address }), 'destination.address', address, /must be a unicast address/);
      // the other family, tunnelled, too
      expectRefused(() => validateDestinationSpec(svc4, { address, forwarding: 'tunnel' }), 'destination.address', address, /must be a unicast address/);
    }
    // Linux takes the rest of 0.0.0.0/8 and of 240.0.0.0/4, and a subnet's broadcast is the host's to know.
    for (const address of ['0.1.2.3', '240.0.0.1', '223.255.255.255', '254.255.255.255', '192.168.1.255', '10.0.0.0']) {
      expect(validateDestinationSpec(svc4, { address }).address).toBe(address);
    }
    for (const address of ['::1', 'fe80::1', 'fe02::1', '::2', '2001:db8::ff']) expect(validateDestinationSpec(svc6, { address }).af).toBe(10);
  });

  const d = { address: '10.0.0.2' };
  const tun = { ...d, forwarding: 'tunnel' };
  it.each([
    [null, 'destination', null],
    [{ address: 'x' }, 'destination.address', 'x'],
    [{ ...d, port: 65536 }, 'destination.port', 65536],
    [{ ...d, forwarding: 'nat' }, 'destination.forwarding', 'nat'],
    [{ ...d, forwarding: 'local' }, 'destination.forwarding', 'local'],
    [{ ...d, weight: -1 }, 'destination.weight', -1],
    [{ ...d, weight: 2147483648 }, 'destination.weight', 2147483648],
    [{ ...d, upperThreshold: 4294967296 }, 'destination.upperThreshold', 4294967296],
    [{ ...d, lowerThreshold: -1 }, 'destination.lowerThreshold', -1],
    [{ ...d, tunnel: { type: 'gue', port: 1 } }, 'destination.tunnel', { type: 'gue', port: 1 }],
    [{ ...tun, tunnel: 'gue' }, 'destination.tunnel', 'gue'],
    [{ ...tun, tunnel: { type: 'vxlan' } }, 'destination.tunnel.type', 'vxlan'],
    [{ ...tun, tunnel: { type: 'gue' } }, 'destination.tunnel.port', undefined],
    [{ ...tun, tunnel: { type: 'gue', port: 0 } }, 'destination.tunnel.port', 0],
    [{ ...tun, tunnel: { type: 'gre', port: 6080 } }, 'destination.tunnel.port', 6080],
    [{ ...tun, tunnel: { type: 'gre', checksum: 'md5' } }, 'destination.tunnel.checksum', 'md5'],
    [{ ...tun, tunnel: { type: 'ipip', checksum: 'csum' } }, 'destination.tunnel.checksum', 'csum'],
  ])('refuses %j (field %s)', (dest, field, value) => {
    expectRefused(() => validateDestinationSpec(svc4, dest), field, value);
  });
});

describe('timeouts', () => {
  it('a missing field is 0, which the kernel leaves unchanged', () => {
    expect(validateTimeouts({ tcp: 900 })).toEqual({ tcp: 900, tcpFin: 0, udp: 0 });
    expect(validateTimeouts({})).toEqual({ tcp: 0, tcpFin: 0, udp: 0 });
    expect(validateTimeouts({ tcp: 2678400, tcpFin: 120, udp: 300 })).toEqual({ tcp: 2678400, tcpFin: 120, udp: 300 });
  });

  it.each([
    [null, 'timeouts', null],
    [{ tcp: -1 }, 'timeouts.tcp', -1],
    [{ tcpFin: 2678401 }, 'timeouts.tcpFin', 2678401],
    [{ udp: 1.5 }, 'timeouts.udp', 1.5],
    [{ tcpfin: 30 }, 'timeouts.tcpfin', 30],
    [{ timout: 30 }, 'timeouts.timout', 30],
  ])('refuses %j (field %s)', (t, field, value) => {
    expectRefused(() => validateTimeouts(t), field, value);
  });
});

describe('sync daemons', () => {
  it('fills the sync id and leaves the rest to the kernel', () => {
    expect(validateDaemon({ state: 'master', interface: 'eth0' })).toEqual({
      state: 1, ifname: 'eth0', syncId: 0, syncMaxLen: undefined, group: undefined, port: undefined, ttl: undefined,
    });
    const full = validateDaemon({ state: 'backup', interface: 'eth1', syncId: 255, syncMaxLen: 1400, mcastGroup: 'FF02::1:2', mcastPort: 8849, mcastTtl: 255 });
    expect(full).toMatchObject({ state: 2, syncId: 255, syncMaxLen: 1400, port: 8849, ttl: 255 });
    expect(full.group?.text).toBe('ff02::1:2');
  });

  it.each([
    [{ interface: 'eth0' }, 'daemon.state', undefined],
    [{ state: 'slave', interface: 'eth0' }, 'daemon.state', 'slave'],
    [{ state: 'master' }, 'daemon.interface', undefined],
    [{ state: 'master', interface: '' }, 'daemon.interface', ''],
    [{ state: 'master', interface: 'a-very-long-name' }, 'daemon.interface', 'a-very-long-name'],
    [{ state: 'master', interface: 'eth0', syncId: 256 }, 'daemon.syncId', 256],
    [{ state: 'master', interface: 'eth0', syncMaxLen: 0 }, 'daemon.syncMaxLen', 0],
    [{ state: 'master', interface: 'eth0', mcastGroup: '10.0.0.1' }, 'daemon.mcastGroup', '10.0.0.1'],
    [{ state: 'master', interface: 'eth0', mcastGroup: 'fe80::1' }, 'daemon.mcastGroup', 'fe80::1'],
    [{ state: 'master', interface: 'eth0', mcastGroup: 'group' }, 'daemon.mcastGroup', 'group'],
    [{ state: 'master', interface: 'eth0', mcastPort: 0 }, 'daemon.mcastPort', 0],
    [{ state: 'master', interface: 'eth0', mcastTtl: 256 }, 'daemon.mcastTtl', 256],
    [{ state: 'master', interface: 'eth0', syncid: 9 }, 'daemon.syncid', 9],
    [{ state: 'master', interface: 'eth0', mcastgroup: '239.0.0.1' }, 'daemon.mcastgroup', '239.0.0.1'],
  ])('refuses %j (field %s)', (spec, field, value) => {
    expectRefused(() => validateDaemon(spec), field, value);
  });

  it('names a NUL in the interface name as the reason, not the length', () => {
    expect(() => validateDaemon({ state: 'master', interface: 'eth0\0x' })).toThrow(/daemon\.interface.*must not contain a NUL/s);
  });

  it('a 15-byte interface name is the longest', () => {
    expect(validateDaemon({ state: 'master', interface: 'abcdefghijklmno' }).ifname).toHaveLength(15);
  });
});

describe('null is a value, not a field left out', () => {
  // JSON writes a missing optional value as null: read as the default, `"forwarding": null` silently became
  // 'route' and `"scheduler": null` 'wlc', while every other field (weight, port, persistence...) refused null.
  it('refuses null for the fields that have a default, naming the field', () => {
    expectRefused(() => validateServiceSpec({ ...tcp, scheduler: null }), 'scheduler', null, /^unknown scheduler/);
    expectRefused(() => validateServiceKey({ fwmark: 10, family: null }), 'family', null, /^must be 'ipv4' or 'ipv6'$/);
    expectRefused(() => validateDestinationSpec(svc4, { address: '10.0.0.2', forwarding: null }), 'destination.forwarding', null, /^must be 'masq', 'route' or 'tunnel'$/);
    expectRefused(
      () => validateDestinationSpec(svc4, { address: '10.0.0.2', forwarding: 'tunnel', tunnel: { type: 'gre', checksum: null } }),
      'destination.tunnel.checksum', null, /^must be 'nocsum', 'csum' or 'remcsum'$/,
    );
  });

  it('left out, the same fields still take their defaults', () => {
    expect(validateServiceSpec({ ...tcp, scheduler: undefined }).scheduler).toBe('wlc');
    expect(validateServiceKey({ fwmark: 10, family: undefined }).af).toBe(2);
    expect(validateDestinationSpec(svc4, { address: '10.0.0.2', forwarding: undefined }).fwd).toBe(3);
    expect(validateDestinationSpec(svc4, { address: '10.0.0.2', forwarding: 'tunnel', tunnel: { type: 'gre' } }).tunFlags).toBe(0);
  });
});
