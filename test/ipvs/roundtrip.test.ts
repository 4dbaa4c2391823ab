// Round-trip properties: for random valid specs, decode(encode(validate(spec))) is the object the spec
// describes, with every default filled. The expected object is computed here from the spec alone (Node's
// own SocketAddress is the oracle for address text), not from the library's normalisation.

import { SocketAddress } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Attributes } from '../../src/netlink/reader.js';
import { MessageWriter } from '../../src/netlink/writer.js';
import { decodeDaemon, encodeDaemon } from '../../src/ipvs/daemon.js';
import { decodeDestination, encodeDestination } from '../../src/ipvs/destination.js';
import { decodeService, encodeService } from '../../src/ipvs/service.js';
import { decodeStats, encodeStats } from '../../src/ipvs/stats.js';
import { decodeTimeouts, encodeTimeouts } from '../../src/ipvs/timeouts.js';
import { decodeInfo, encodeInfo } from '../../src/ipvs/info.js';
import { SCHEDULER_NAMES, type DaemonSpec, type DestinationSpec, type ServiceSpec, type Stats } from '../../src/ipvs/types.js';
import { u32 } from '../helpers/netlink-bytes.js';
import { validateDaemon, validateDestinationSpec, validateServiceKey, validateServiceSpec, validateTimeouts } from '../../src/ipvs/validate.js';

const norm6 = (text: string): string => new SocketAddress({ address: text, family: 'ipv6' }).address;
const zeroStats: Stats = { conns: 0n, inPackets: 0n, outPackets: 0n, inBytes: 0n, outBytes: 0n, cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };

/** Write with `write`, then parse the one top-level attribute back (as the kernel would see the nest). */
function through(write: (w: MessageWriter) => void, type: number): Attributes {
  const w = new MessageWriter(64);
  write(w);
  const nested = Attributes.parse(w.toBuffer()).nested(type);
  if (!nested) throw new Error('nothing written');
  return nested;
}

/** As `through`, with attributes only the kernel adds (counters, say) appended to the nest. */
function throughPlus(write: (w: MessageWriter) => void, type: number, ...kernelOnly: Buffer[]): Attributes {
  const w = new MessageWriter(64);
  write(w);
  const raw = Attributes.parse(w.toBuffer()).raw(type);
  if (!raw) throw new Error('nothing written');
  return Attributes.parse(Buffer.concat([raw, ...kernelOnly]));
}

const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6();
const anyAddress = fc.oneof(ipv4.map((a) => ({ text: a, v6: false })), ipv6.map((a) => ({ text: a, v6: true })));
/** What Linux takes as a destination on any host (validateDestinationSpec refuses the rest): no 0.0.0.0, 255.255.255.255, 224.0.0.0/4, :: or ff00::/8. */
const destinationAddress = anyAddress.filter(({ text, v6 }) => {
  if (v6) return !/^ff/i.test(norm6(text)) && norm6(text) !== '::';
  const first = Number(text.split('.')[0]);
  return text !== '0.0.0.0' && text !== '255.255.255.255' && (first < 224 || first > 239);
});
const prefix4 = fc.integer({ min: 0, max: 32 }).map((p) => (p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0));
const dotted = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

const serviceCase = fc.record({
  key: fc.oneof(
    fc.record({ protocol: fc.constantFrom('tcp', 'udp', 'sctp'), addr: anyAddress, port: fc.integer({ min: 0, max: 65535 }) }),
    fc.record({ fwmark: fc.integer({ min: 1, max: 0xffffffff }), v6: fc.boolean() }),
  ),
  scheduler: fc.option(fc.constantFrom(...SCHEDULER_NAMES), { nil: undefined }),
  persistence: fc.option(fc.record({ timeout: fc.option(fc.integer({ min: 1, max: 2678400 }), { nil: undefined }), mask4: prefix4, prefix6: fc.integer({ min: 1, max: 128 }), setMask: fc.boolean() }), { nil: undefined }),
  onePacket: fc.boolean(),
  fallback: fc.boolean(),
  portFlag: fc.boolean(),
  pe: fc.boolean(),
});

describe('services', () => {
  it('decodeService(encodeService(validateServiceSpec(spec))) is the service the spec describes (property)', () => {
    fc.assert(
      fc.property(serviceCase, (c) => {
        // A port-0 service must be persistent (validateServiceSpec refuses it otherwise).
        fc.pre('fwmark' in c.key || c.key.port !== 0 || c.persistence !== undefined);
        const v6 = 'fwmark' in c.key ? c.key.v6 : c.key.addr.v6;
        const scheduler = c.scheduler ?? 'wlc';
        const schedPrefix = scheduler === 'sh' || scheduler === 'mh' ? scheduler : undefined;
        const flags: string[] = [];
        // One-packet scheduling: UDP and firewall-mark services only.
        if (c.onePacket && ('fwmark' in c.key || c.key.protocol === 'udp')) flags.push('one-packet');
        if (schedPrefix && c.fallback) flags.push(`${schedPrefix}-fallback`);
        if (schedPrefix && c.portFlag) flags.push(`${schedPrefix}-port`);
        const key = 'fwmark' in c.key
          ? { fwmark: c.key.fwmark, family: v6 ? 'ipv6' : 'ipv4' }
          : { protocol: c.key.protocol, address: c.key.addr.text, port: c.key.port };
        const spec = {
          ...key,
          ...(c.scheduler === undefined ? {} : { scheduler: c.scheduler }),
          ...(c.persistence === undefined ? {} : {
            persistence: {
              ...(c.persistence.timeout === undefined ? {} : { timeout: c.persistence.timeout }),
              ...(c.persistence.setMask ? { netmask: v6 ? c.persistence.prefix6 : dotted(c.persistence.mask4) } : {}),
            },
          }),
          flags: [...flags].reverse(), // order on input does not matter
          ...(c.pe ? { persistenceEngine: 'sip' } : {}),
        } as ServiceSpec;

        const decoded = decodeService(through((w) => encodeService(w, validateServiceSpec(spec)), 1));

        const rawFlags = (c.persistence ? 1 : 0) | (flags.includes('one-packet') ? 4 : 0) | (schedPrefix && c.fallback ? 8 : 0) | (schedPrefix && c.portFlag ? 16 : 0);
        const expected: Record<string, unknown> = 'fwmark' in c.key
          ? { fwmark: c.key.fwmark }
          : { protocol: c.key.protocol, address: c.key.addr.v6 ? norm6(c.key.addr.text) : c.key.addr.text, port: c.key.port };
        Object.assign(expected, { family: v6 ? 'ipv6' : 'ipv4', scheduler, flags, stats: zeroStats, rawFlags });
        if (c.persistence) {
          const mask = c.persistence.setMask ? (v6 ? c.persistence.prefix6 : dotted(c.persistence.mask4)) : v6 ? 128 : '255.255.255.255';
          expected.persistence = { timeout: c.persistence.timeout ?? 300, netmask: mask };
        }
        if (c.pe) expected.persistenceEngine = 'sip';
        expect(decoded).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe('destinations', () => {
  const destCase = fc.record({
    service: fc.oneof(
      fc.record({ protocol: fc.constantFrom('tcp', 'udp', 'sctp'), addr: anyAddress, port: fc.integer({ min: 0, max: 65535 }) }),
      fc.record({ fwmark: fc.integer({ min: 1, max: 0xffffffff }), v6: fc.boolean() }),
    ),
    addr: destinationAddress,
    port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
    forwarding: fc.option(fc.constantFrom('masq', 'route', 'tunnel'), { nil: undefined }),
    weight: fc.option(fc.integer({ min: 0, max: 2147483647 }), { nil: undefined }),
    upper: fc.option(fc.integer({ min: 0, max: 2147483647 }), { nil: undefined }),
    lowerPart: fc.double({ min: 0, max: 1, noNaN: true }),
    // remcsum is for gue only (Linux's gre ignores it, and it is refused there).
    tunnel: fc.option(
      fc.record({ type: fc.constantFrom('ipip', 'gue', 'gre'), port: fc.integer({ min: 1, max: 65535 }), checksum: fc.constantFrom('nocsum', 'csum', 'remcsum') })
        .filter((t) => !(t.type === 'gre' && t.checksum === 'remcsum')),
      { nil: undefined },
    ),
  });

  it('decodeDestination(encodeDestination(validateDestinationSpec(spec))) is the destination the spec describes (property)', () => {
    fc.assert(
      fc.property(destCase, (c) => {
        const serviceV6 = 'fwmark' in c.service ? c.service.v6 : c.service.addr.v6;
        // A destination of the other family is only valid when tunnelled: force the forwarding then.
        const forwarding = c.addr.v6 !== serviceV6 ? 'tunnel' : c.forwarding;
        const svc = validateServiceKey('fwmark' in c.service
          ? { fwmark: c.service.fwmark, family: c.service.v6 ? 'ipv6' : 'ipv4' }
          : { protocol: c.service.protocol, address: c.service.addr.text, port: c.service.port });
        const upper = c.upper ?? 0;
        const lower = Math.floor(c.lowerPart * upper);
        const tunnel = forwarding === 'tunnel' && c.tunnel
          ? { type: c.tunnel.type, ...(c.tunnel.type === 'gue' ? { port: c.tunnel.port } : {}), ...(c.tunnel.type === 'ipip' ? {} : { checksum: c.tunnel.checksum }) }
          : undefined;
        const spec: DestinationSpec = {
          address: c.addr.text,
          ...(c.port === undefined ? {} : { port: c.port }),
          ...(forwarding === undefined ? {} : { forwarding }),
          ...(c.weight === undefined ? {} : { weight: c.weight }),
          ...(c.upper === undefined ? {} : { upperThreshold: upper, lowerThreshold: lower }),
          ...(tunnel ? { tunnel } : {}),
        } as DestinationSpec;

        // The connection counters are the kernel's to report: appended as it would.
        const counters = [u32(7, 0), u32(8, 0), u32(9, 0)];
        const decoded = decodeDestination(throughPlus((w) => encodeDestination(w, validateDestinationSpec(svc, spec)), 2, ...counters), svc.af);

        const expected: Record<string, unknown> = {
          address: c.addr.v6 ? norm6(c.addr.text) : c.addr.text,
          family: c.addr.v6 ? 'ipv6' : 'ipv4',
          port: c.port ?? svc.port,
          forwarding: forwarding ?? 'route',
          weight: c.weight ?? 1,
          upperThreshold: upper,
          lowerThreshold: c.upper === undefined ? 0 : lower,
          activeConns: 0, inactiveConns: 0, persistentConns: 0, stats: zeroStats,
        };
        if (forwarding === 'tunnel') {
          expected.tunnel = tunnel
            ? { type: tunnel.type, port: tunnel.type === 'gue' ? c.tunnel!.port : 0, checksum: tunnel.type === 'ipip' ? 'nocsum' : c.tunnel!.checksum }
            : { type: 'ipip', port: 0, checksum: 'nocsum' };
        }
        expect(decoded).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe('daemons, timeouts, info, stats', () => {
  it('daemons round-trip, optional fields only when given (property)', () => {
    const group = fc.oneof(
      fc.tuple(fc.integer({ min: 224, max: 239 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map((p) => p.join('.')),
      fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 7, maxLength: 7 }).map((g) => norm6(['ff02', ...g.map((x) => x.toString(16))].join(':'))),
    );
    fc.assert(
      fc.property(
        fc.record({
          state: fc.constantFrom('master', 'backup'),
          interface: fc.stringMatching(/^[a-z][a-z0-9.-]{0,14}$/),
          syncId: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
          syncMaxLen: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
          mcastGroup: fc.option(group, { nil: undefined }),
          mcastPort: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
          mcastTtl: fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined }),
        }),
        (r) => {
          const spec = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as DaemonSpec;
          const decoded = decodeDaemon(through((w) => encodeDaemon(w, validateDaemon(spec)), 3));
          expect(decoded).toEqual({ ...spec, syncId: r.syncId ?? 0 });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('timeouts and info round-trip (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2678400 }), fc.integer({ min: 0, max: 2678400 }), fc.integer({ min: 0, max: 2678400 }), (tcp, tcpFin, udp) => {
        const w = new MessageWriter(32);
        encodeTimeouts(w, validateTimeouts({ tcp, tcpFin, udp }));
        expect(decodeTimeouts(Attributes.parse(w.toBuffer()))).toEqual({ tcp, tcpFin, udp });
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffff }), fc.integer({ min: 0, max: 0xffffffff }), (versionCode, connectionTableSize) => {
        const w = new MessageWriter(32);
        encodeInfo(w, { versionCode, connectionTableSize });
        const info = decodeInfo(Attributes.parse(w.toBuffer()));
        expect(info).toMatchObject({ versionCode, connectionTableSize });
        expect(info.version.split('.').map(Number)).toEqual([versionCode >>> 16, (versionCode >>> 8) & 255, versionCode & 255]);
      }),
    );
  });

  it('stats round-trip through the kernel shape, 64-bit counters exact (property)', () => {
    const counter = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    const rate = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(fc.tuple(counter, counter, counter, counter, counter), fc.tuple(rate, rate, rate, rate, rate), ([conns, inPackets, outPackets, inBytes, outBytes], [cps, inPps, outPps, inBps, outBps]) => {
        const stats: Stats = { conns, inPackets, outPackets, inBytes, outBytes, cps, inPps, outPps, inBps, outBps };
        const w = new MessageWriter(256);
        encodeStats(w, stats, 10, 12, false);
        expect(decodeStats(Attributes.parse(w.toBuffer()), 10, 12)).toEqual(stats);
      }),
    );
  });
});
