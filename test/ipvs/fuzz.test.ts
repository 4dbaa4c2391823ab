// Fuzzing every IPVS decoder: random bytes, every truncation of valid replies, and valid replies with
// random bytes overwritten. A decoder may return or throw DecodeError; anything else (a RangeError from
// a short read, a TypeError) is a bug.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/netlink/errors.js';
import { Attributes, parseMessages } from '../../src/netlink/reader.js';
import { decodeDaemon, decodeDaemonMessage } from '../../src/ipvs/daemon.js';
import { decodeDestination, decodeDestinationMessage } from '../../src/ipvs/destination.js';
import { decodeInfoMessage } from '../../src/ipvs/info.js';
import { decodeService, decodeServiceMessage } from '../../src/ipvs/service.js';
import { decodeStats } from '../../src/ipvs/stats.js';
import { decodeTimeoutsMessage } from '../../src/ipvs/timeouts.js';
import {
  AF_INET, AF_INET6, CMD, daemonNest, destReplyNest, genlPayload, infoAttrs, ipvsMsg, svcReplyNest, timeoutAttrs,
} from '../helpers/ipvs-bytes.js';

type Decoder = (payload: Buffer) => unknown;

const decoders: [string, Decoder][] = [
  ['decodeServiceMessage', decodeServiceMessage],
  ['decodeDestinationMessage (IPv4 service)', (b) => decodeDestinationMessage(b, AF_INET)],
  ['decodeDestinationMessage (IPv6 service)', (b) => decodeDestinationMessage(b, AF_INET6)],
  ['decodeDaemonMessage', decodeDaemonMessage],
  ['decodeTimeoutsMessage', decodeTimeoutsMessage],
  ['decodeInfoMessage', decodeInfoMessage],
  ['decodeService (attributes)', (b) => decodeService(Attributes.parse(b))],
  ['decodeDestination (attributes)', (b) => decodeDestination(Attributes.parse(b), AF_INET)],
  ['decodeDaemon (attributes)', (b) => decodeDaemon(Attributes.parse(b))],
  ['decodeStats (attributes)', (b) => decodeStats(Attributes.parse(b), 10, 12)],
];

/** Valid genl payloads of every reply kind, as seeds for truncation and mutation. */
const seeds: Buffer[] = [
  genlPayload(CMD.NEW_SERVICE, svcReplyNest({ key: { protocol: 'tcp', address: '192.168.1.110', port: 80 }, sched: 'rr', pe: 'sip', flags: 3, timeout: 600, netmask: 0xffffff00, stats: { conns: 5n } })),
  genlPayload(CMD.NEW_SERVICE, svcReplyNest({ key: { fwmark: 10, family: 'ipv6' }, sched: 'sh', flags: 0x19, timeout: 60, netmask: 64 })),
  genlPayload(CMD.NEW_DEST, destReplyNest({ address: '2001:db8::7', port: 53, fwd: 2, weight: 1, tunType: 1, tunPort: 6080, tunFlags: 1, upper: 9, lower: 2 })),
  genlPayload(CMD.NEW_DEST, destReplyNest({ address: '10.0.0.2', port: 80, fwd: 0, weight: 3, old: true })),
  genlPayload(CMD.NEW_DAEMON, daemonNest({ state: 1, ifname: 'eth0', syncId: 5, maxLen: 1472, group: 'ff02::1:2', port: 8848, ttl: 1 }, false)),
  genlPayload(CMD.SET_CONFIG, timeoutAttrs(900, 120, 300)),
  genlPayload(CMD.SET_INFO, infoAttrs(0x010201, 4096)),
];

function onlyDecodeErrors(decode: Decoder, bytes: Buffer): void {
  try {
    decode(bytes);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw new Error(`not a DecodeError for ${bytes.toString('hex')}: ${String(err)}`, { cause: err });
  }
}

describe.each(decoders)('%s', (_name, decode) => {
  it('random bytes give a result or a DecodeError (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => onlyDecodeErrors(decode, Buffer.from(b))), { numRuns: 400 });
  });

  it('every truncation of every valid reply gives a result or a DecodeError', () => {
    for (const seed of seeds) {
      for (let n = 0; n <= seed.length; n++) onlyDecodeErrors(decode, Buffer.from(seed.subarray(0, n)));
      // the genl header cut off too: attributes only
      for (let n = 4; n <= seed.length; n++) onlyDecodeErrors(decode, Buffer.from(seed.subarray(4, n)));
    }
  });

  it('valid replies with bytes overwritten give a result or a DecodeError (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        (seed, edits, dropHeader) => {
          const b = Buffer.from(dropHeader ? seed.subarray(4) : seed);
          for (const [at, value] of edits) b[at % b.length] = value;
          onlyDecodeErrors(decode, b);
        },
      ),
      { numRuns: 400 },
    );
  });
});

it('whole datagrams: split then decode, only DecodeErrors (property)', () => {
  const datagram = Buffer.concat(seeds.slice(0, 2).map((s, i) => ipvsMsg({ family: 0x1c, cmd: CMD.NEW_SERVICE, seq: i + 1, flags: 2 }, s.subarray(4))));
  fc.assert(
    fc.property(fc.nat(datagram.length), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (cut, edits) => {
      const b = Buffer.from(datagram.subarray(0, cut));
      for (const [at, value] of edits) if (b.length > 0) b[at % b.length] = value;
      try {
        for (const m of parseMessages(b)) onlyDecodeErrors(decodeServiceMessage, m.payload);
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError);
      }
    }),
    { numRuns: 500 },
  );
});
