// Decoding of kernel-shaped replies (nests without NLA_F_NESTED, 16-byte addresses, STATS and STATS64),
// built by the test-only builder: every field, the old-kernel fallbacks, what must be refused, and the
// unknown attributes that must be kept.

import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/netlink/errors.js';
import { decodeDaemonMessage } from '../../src/ipvs/daemon.js';
import { decodeDestinationMessage } from '../../src/ipvs/destination.js';
import { decodeInfoMessage } from '../../src/ipvs/info.js';
import { decodeServiceMessage } from '../../src/ipvs/service.js';
import { decodeTimeoutsMessage } from '../../src/ipvs/timeouts.js';
import {
  AF_INET, AF_INET6, CMD, daemonNest, destReplyNest, genlPayload, infoAttrs, stats32Nest, stats64Nest, svcReplyNest, timeoutAttrs,
} from '../helpers/ipvs-bytes.js';
import { nestNoFlag, nlattr, str, u16, u32 } from '../helpers/netlink-bytes.js';

const zeroStats = { conns: 0n, inPackets: 0n, outPackets: 0n, inBytes: 0n, outBytes: 0n, cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
const big = 2n ** 53n + 7n;
const statsIn = { conns: big, inpkts: 10n, outpkts: 11n, inbytes: 2n ** 40n, outbytes: 13n, cps: 5n, inpps: 6n, outpps: 7n, inbps: 8n, outbps: 9n };
const statsOut = { conns: big, inPackets: 10n, outPackets: 11n, inBytes: 2n ** 40n, outBytes: 13n, cps: 5, inPps: 6, outPps: 7, inBps: 8, outBps: 9 };

const service = (r: Parameters<typeof svcReplyNest>[0]) => decodeServiceMessage(genlPayload(CMD.NEW_SERVICE, svcReplyNest(r)));

function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DecodeError) return err;
    throw err;
  }
  throw new Error('expected a DecodeError');
}

describe('services', () => {
  it('a persistent IPv4 service with 64-bit stats', () => {
    expect(service({ key: { protocol: 'tcp', address: '192.168.1.110', port: 0 }, sched: 'rr', flags: 0x3, timeout: 600, netmask: 0xffffff00, stats: statsIn })).toEqual({
      protocol: 'tcp', address: '192.168.1.110', port: 0, family: 'ipv4', scheduler: 'rr', flags: [],
      persistence: { timeout: 600, netmask: '255.255.255.0' }, stats: statsOut, rawFlags: 3,
    });
  });

  it('an IPv6 fwmark service: prefix length netmask, sh flags named', () => {
    const s = service({ key: { fwmark: 10, family: 'ipv6' }, sched: 'sh', pe: 'sip', flags: 0x1b, timeout: 60, netmask: 64 });
    expect(s).toEqual({
      fwmark: 10, family: 'ipv6', scheduler: 'sh', flags: ['sh-fallback', 'sh-port'], persistence: { timeout: 60, netmask: 64 },
      persistenceEngine: 'sip', stats: zeroStats, rawFlags: 0x1b,
    });
  });

  it('flags: one-packet, mh names, and the generic flag-N names for bits no scheduler names', () => {
    expect(service({ key: { protocol: 'udp', address: '2001:db8::1', port: 53 }, sched: 'mh', flags: 0x1e, timeout: 0, netmask: 128 }))
      .toMatchObject({ address: '2001:db8::1', family: 'ipv6', flags: ['one-packet', 'mh-fallback', 'mh-port'] });
    const rr = service({ key: { protocol: 'sctp', address: '10.0.0.1', port: 9 }, sched: 'rr', flags: 0x3a, timeout: 0, netmask: 0xffffffff });
    expect(rr).toMatchObject({ protocol: 'sctp', flags: ['flag-1', 'flag-2', 'flag-3'], rawFlags: 0x3a });
    expect(rr.persistence).toBeUndefined();
    expect(service({ key: { fwmark: 4 }, sched: 'wlc', flags: 0x0a, timeout: 0, netmask: 0xffffffff }).flags).toEqual(['flag-1']);
    // SCHED3 has no sh or mh name
    expect(service({ key: { fwmark: 5 }, sched: 'sh', flags: 0x2a, timeout: 0, netmask: 0xffffffff }).flags).toEqual(['sh-fallback', 'flag-3']);
    expect(service({ key: { fwmark: 6 }, sched: 'mh', flags: 0x22, timeout: 0, netmask: 0xffffffff }).flags).toEqual(['flag-3']);
  });

  it('kernels before 4.1: 32-bit stats only', () => {
    expect(service({ key: { fwmark: 1 }, sched: 'wlc', flags: 2, timeout: 0, netmask: 0xffffffff, stats: statsIn, noStats64: true }).stats)
      .toEqual({ ...statsOut, conns: BigInt.asUintN(32, big) });
  });

  it('STATS64 with IPVS_STATS_ATTR_PAD in front', () => {
    const nest = nestNoFlag(1, u16(1, AF_INET), u32(5, 9), str(6, 'rr'), nlattr(7, Buffer.alloc(8)), u32(8, 0), u32(9, 0xffffffff), stats64Nest(12, statsIn, true));
    expect(decodeServiceMessage(genlPayload(1, nest)).stats).toEqual(statsOut);
  });

  it('keeps unknown attributes, non-enumerable, and leaves the object plain', () => {
    const s = service({ key: { fwmark: 2 }, sched: 'rr', flags: 2, timeout: 0, netmask: 0xffffffff, extra: [u32(42, 0xdeadbeef), nlattr(13, [1, 2, 3])] });
    expect(s.unknownAttributes).toEqual([{ type: 42, data: new Uint8Array([0xef, 0xbe, 0xad, 0xde]) }, { type: 13, data: new Uint8Array([1, 2, 3]) }]);
    expect(Object.keys(s)).not.toContain('unknownAttributes');
    expect(service({ key: { fwmark: 2 }, sched: 'rr', flags: 2, timeout: 0, netmask: 0xffffffff }).unknownAttributes).toBeUndefined();
  });

  it.each([
    [1, 'IPVS_SVC_ATTR_AF'],
    [6, 'IPVS_SVC_ATTR_SCHED_NAME'],
    [7, 'IPVS_SVC_ATTR_FLAGS'],
    [8, 'IPVS_SVC_ATTR_TIMEOUT'],
    [9, 'IPVS_SVC_ATTR_NETMASK'],
    [2, 'IPVS_SVC_ATTR_PROTOCOL'],
    [3, 'IPVS_SVC_ATTR_ADDR'],
    [4, 'IPVS_SVC_ATTR_PORT'],
  ])('refuses a service without attribute %i', (type, name) => {
    const err = decodeError(() => service({ key: { protocol: 'tcp', address: '1.2.3.4', port: 1 }, sched: 'rr', flags: 0, timeout: 0, netmask: 0, omit: [type] }));
    expect(err.message).toContain(name);
  });

  it('reads a protocol other than TCP, UDP and SCTP as its number (Linux keeps any), 6, 17 and 132 as names', () => {
    const of = (proto: number) =>
      decodeServiceMessage(genlPayload(1, nestNoFlag(1, u16(1, AF_INET), u16(2, proto), nlattr(3, [1, 2, 3, 4]), nlattr(4, [0, 80]), str(6, 'rr'), nlattr(7, Buffer.alloc(8)), u32(8, 0), u32(9, 0))));
    expect(of(47)).toMatchObject({ protocol: 47, address: '1.2.3.4', port: 80, family: 'ipv4', scheduler: 'rr' });
    expect([0, 1, 6, 17, 50, 132, 255, 65535].map((p) => of(p).protocol)).toEqual([0, 1, 'tcp', 'udp', 50, 'sctp', 255, 65535]);
    expect(Object.keys(of(47))).toEqual(Object.keys(of(6)));
  });

  it('refuses what the kernel never sends', () => {
    expect(() => decodeServiceMessage(genlPayload(1))).toThrow(/without IPVS_CMD_ATTR_SERVICE/);
    expect(() => decodeServiceMessage(Buffer.from([1, 1]))).toThrow(DecodeError);
    const odd = (attrs: Buffer[]) => decodeServiceMessage(genlPayload(1, nestNoFlag(1, ...attrs)));
    const rest = [str(6, 'rr'), nlattr(7, Buffer.alloc(8)), u32(8, 0), u32(9, 0)];
    expect(() => odd([u16(1, 7), u32(5, 1), ...rest])).toThrow(/address family 7/);
    expect(() => odd([u16(1, AF_INET6), u16(2, 6), nlattr(3, [1, 2, 3, 4]), nlattr(4, [0, 80]), ...rest])).toThrow(/address of 4 bytes/);
    expect(() => odd([u16(1, AF_INET), u32(5, 1), str(6, 'rr'), nlattr(7, [1, 0]), u32(8, 0), u32(9, 0)])).toThrow(/flags of 2 bytes/);
    expect(() => odd([u16(1, AF_INET), u32(5, 1), str(6, 'rr'), nlattr(7, Buffer.alloc(8)), u32(8, 0), nlattr(9, [1])])).toThrow(/netmask of 1 bytes/);
    expect(() => odd([u16(1, AF_INET), u32(5, 1), ...rest, nestNoFlag(12, nlattr(1, [1, 2]))])).toThrow(/in statistics/);
  });
});

describe('destinations', () => {
  const dest = (r: Parameters<typeof destReplyNest>[0], serviceAf = AF_INET) =>
    decodeDestinationMessage(genlPayload(CMD.NEW_DEST, destReplyNest(r)), serviceAf);

  it('every field of a masquerading destination', () => {
    expect(dest({ address: '192.168.1.116', port: 8080, fwd: 0, weight: 3, upper: 100, lower: 10, active: 4, inactive: 5, persistent: 6, stats: statsIn })).toEqual({
      address: '192.168.1.116', family: 'ipv4', port: 8080, forwarding: 'masq', weight: 3, upperThreshold: 100, lowerThreshold: 10,
      activeConns: 4, inactiveConns: 5, persistentConns: 6, stats: statsOut,
    });
  });

  it('forwarding methods, local and bypass included; one without a name as its number; flag bits above the mask ignored', () => {
    const fwd = (n: number) => dest({ address: '10.0.0.1', port: 1, fwd: n, weight: 1 }).forwarding;
    expect([0, 1, 2, 3, 4, 0x103].map(fwd)).toEqual(['masq', 'local', 'tunnel', 'route', 'bypass', 'route']);
    // Linux keeps the three bits of IP_VS_CONN_F_FWD_MASK as another tool sent them.
    expect([5, 6, 7, 0x105].map(fwd)).toEqual([5, 6, 7, 5]);
    expect(dest({ address: '10.0.0.1', port: 1, fwd: 5, weight: 1, tunType: 1, tunPort: 5 }).tunnel).toBeUndefined();
  });

  it('tunnel details only for tunnel destinations', () => {
    expect(dest({ address: '2001:db8::7', port: 53, fwd: 2, weight: 1, tunType: 1, tunPort: 6080, tunFlags: 3 }).tunnel).toEqual({ type: 'gue', port: 6080, checksum: 'remcsum' });
    expect(dest({ address: '10.0.0.7', port: 53, fwd: 2, weight: 1, tunType: 2, tunFlags: 1 }).tunnel).toEqual({ type: 'gre', port: 0, checksum: 'csum' });
    expect(dest({ address: '10.0.0.7', port: 53, fwd: 3, weight: 1, tunType: 1, tunPort: 5 }).tunnel).toBeUndefined();
    // A type past gre (Linux keeps any u8) as its number.
    expect(dest({ address: '10.0.0.7', port: 53, fwd: 2, weight: 1, tunType: 9, tunPort: 7, tunFlags: 1 }).tunnel).toEqual({ type: 9, port: 7, checksum: 'csum' });
    expect(dest({ address: '10.0.0.7', port: 53, fwd: 2, weight: 1, tunType: 255 }).tunnel?.type).toBe(255);
  });

  it('kernels before 3.18: no family of its own (the service family is used), no tunnel attributes', () => {
    const d = dest({ address: '2001:db8::2', port: 80, fwd: 2, weight: 1, old: true }, AF_INET6);
    expect(d).toMatchObject({ address: '2001:db8::2', family: 'ipv6', tunnel: { type: 'ipip', port: 0, checksum: 'nocsum' } });
  });

  it('keeps unknown attributes', () => {
    expect(dest({ address: '10.0.0.1', port: 1, fwd: 3, weight: 1, extra: [u32(16, 1)] }).unknownAttributes).toEqual([{ type: 16, data: new Uint8Array([1, 0, 0, 0]) }]);
  });

  it.each([[1, 'ADDR'], [2, 'PORT'], [3, 'FWD_METHOD'], [4, 'WEIGHT'], [5, 'U_THRESH'], [6, 'L_THRESH'], [7, 'ACTIVE_CONNS'], [8, 'INACT_CONNS'], [9, 'PERSIST_CONNS']])(
    'refuses a destination without attribute %i (%s)',
    (type, name) => {
      expect(() => dest({ address: '10.0.0.1', port: 1, fwd: 3, weight: 1, omit: [type] })).toThrow(new RegExp(`IPVS_DEST_ATTR_${name}`));
    },
  );

  it('refuses a short address and an unknown family', () => {
    const d = (attrs: Buffer[]) => decodeDestinationMessage(genlPayload(5, nestNoFlag(2, ...attrs)), AF_INET);
    const rest = [nlattr(2, [0, 80]), u32(3, 0), u32(4, 1), u32(5, 0), u32(6, 0), u32(7, 0), u32(8, 0), u32(9, 0)];
    expect(() => d([nlattr(1, [10, 0]), ...rest])).toThrow(/address of 2 bytes/);
    expect(() => d([nlattr(1, Buffer.alloc(16)), u16(11, 3), ...rest])).toThrow(/address family 3/);
    expect(() => decodeDestinationMessage(genlPayload(5), AF_INET)).toThrow(/without IPVS_CMD_ATTR_DEST/);
  });
});

describe('daemons, timeouts, info', () => {
  it('a daemon with everything (port host order, IPv4 group)', () => {
    expect(decodeDaemonMessage(genlPayload(CMD.NEW_DAEMON, daemonNest({ state: 1, ifname: 'eth0', syncId: 5, maxLen: 1472, group: '224.0.0.81', port: 8848, ttl: 1 }, false)))).toEqual({
      state: 'master', interface: 'eth0', syncId: 5, syncMaxLen: 1472, mcastGroup: '224.0.0.81', mcastPort: 8848, mcastTtl: 1,
    });
  });

  it('an old kernel\'s daemon (state, interface, id) and an IPv6 group', () => {
    expect(decodeDaemonMessage(genlPayload(CMD.NEW_DAEMON, daemonNest({ state: 2, ifname: 'dum0', syncId: 0 }, false)))).toEqual({ state: 'backup', interface: 'dum0', syncId: 0 });
    expect(decodeDaemonMessage(genlPayload(CMD.NEW_DAEMON, daemonNest({ state: 2, ifname: 'dum0', syncId: 0, group: 'ff02::1:2' }, false))).mcastGroup).toBe('ff02::1:2');
  });

  it('refuses a daemon without state, interface or sync id', () => {
    expect(() => decodeDaemonMessage(genlPayload(11, daemonNest({ state: 3, ifname: 'x', syncId: 0 }, false)))).toThrow(/daemon state 3/);
    expect(() => decodeDaemonMessage(genlPayload(11, daemonNest({ state: 1, syncId: 0 }, false)))).toThrow(/interface or sync id/);
    expect(() => decodeDaemonMessage(genlPayload(11, daemonNest({ state: 1, ifname: 'x' }, false)))).toThrow(/interface or sync id/);
    expect(() => decodeDaemonMessage(genlPayload(11, nestNoFlag(3, u32(1, 1), str(2, 'x'), u32(3, 0), nlattr(6, [0xff, 2]))))).toThrow(/IPv6 group of 2 bytes/);
    expect(() => decodeDaemonMessage(genlPayload(11))).toThrow(/without IPVS_CMD_ATTR_DAEMON/);
  });

  it('timeouts, and a kernel without UDP support', () => {
    expect(decodeTimeoutsMessage(genlPayload(CMD.SET_CONFIG, timeoutAttrs(900, 120, 300)))).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
    expect(decodeTimeoutsMessage(genlPayload(CMD.SET_CONFIG, u32(4, 900), u32(5, 120)))).toEqual({ tcp: 900, tcpFin: 120, udp: 0 });
  });

  it('info: version text and table size; both required', () => {
    expect(decodeInfoMessage(genlPayload(CMD.SET_INFO, infoAttrs(0x010201, 4096)))).toEqual({ version: '1.2.1', versionCode: 0x010201, connectionTableSize: 4096 });
    expect(() => decodeInfoMessage(genlPayload(CMD.SET_INFO, u32(1, 0x010201)))).toThrow(DecodeError);
  });

  it('stats nests on their own decode either form', () => {
    // a destination whose STATS64 is missing falls back to STATS
    const nest = destReplyNest({ address: '10.0.0.1', port: 1, fwd: 3, weight: 1, stats: { conns: 3n }, omit: [12] });
    expect(decodeDestinationMessage(genlPayload(5, nest), AF_INET).stats.conns).toBe(3n);
    expect(stats32Nest(10).length).toBe(4 + 8 * 8 + 12 * 2);
  });
});
