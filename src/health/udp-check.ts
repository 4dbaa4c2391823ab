// The UDP check: a connected UDP socket sends the configured payload to the server and waits for one
// datagram back. Healthy when one comes (and, if asked, it begins with the expected bytes or contains the
// expected text); an ICMP port unreachable, which Linux reports on a connected socket as ECONNREFUSED, fails
// at once; silence fails at the timeout (run-check.ts). A fresh socket, so a fresh ephemeral port, per
// check: a late answer to an earlier check cannot pass this one. The socket is closed as soon as the check
// has its answer or is aborted.

import dgram from 'node:dgram';
import type { ProbeOutcome } from './http-check.js';
import { networkFailure } from './net-errors.js';
import type { UdpCheck } from './types.js';

/** Over IPv4 a UDP payload holds at most 65 507 bytes (65 535 less the IPv4 and UDP headers). */
export const UDP_PAYLOAD_MAX = 65_507;

/** The bytes a check sends: `payloadHex` decoded, or `payload` as UTF-8. Both were validated (config.ts). */
export function udpPayload(spec: Pick<UdpCheck, 'payload' | 'payloadHex'>): Buffer {
  return spec.payloadHex !== undefined ? Buffer.from(spec.payloadHex.replace(/\s+/g, ''), 'hex') : Buffer.from(spec.payload ?? '', 'utf8');
}

/** `expectHex` as bytes ('' when absent). */
export function udpExpectedPrefix(spec: Pick<UdpCheck, 'expectHex'>): Buffer {
  return Buffer.from((spec.expectHex ?? '').replace(/\s+/g, ''), 'hex');
}

const hexStart = (b: Buffer): string => (b.length > 16 ? `${b.subarray(0, 16).toString('hex')}...` : b.toString('hex'));

/** The verdict on a reply. */
export function judgeUdpReply(spec: UdpCheck, reply: Buffer): ProbeOutcome {
  const what = `UDP reply of ${reply.length} byte${reply.length === 1 ? '' : 's'}`;
  if (spec.expectHex !== undefined) {
    const prefix = udpExpectedPrefix(spec);
    if (!reply.subarray(0, prefix.length).equals(prefix)) {
      return { ok: false, detail: `${what} that does not begin with ${prefix.toString('hex')} (it begins ${hexStart(reply) || 'with nothing'})` };
    }
    return { ok: true, detail: `${what}, begins with ${prefix.toString('hex')}` };
  }
  const want = spec.expect;
  if (want === undefined) return { ok: true, detail: what };
  const text = reply.toString('utf8');
  let matches: boolean;
  if (typeof want === 'string') matches = text.includes(want);
  else {
    want.lastIndex = 0;
    matches = want.test(text);
  }
  if (matches) return { ok: true, detail: `${what}, matches` };
  return { ok: false, detail: `${what} that does not ${typeof want === 'string' ? `contain ${JSON.stringify(want)}` : `match ${want}`}` };
}

export function udpProbe(spec: UdpCheck, address: string, port: number, localAddress: string | undefined, signal: AbortSignal): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ ok: false, detail: 'aborted' });
      return;
    }
    let socket: dgram.Socket;
    let finished = false;
    const done = (outcome: ProbeOutcome): void => {
      if (finished) return;
      finished = true;
      signal.removeEventListener('abort', onAbort);
      try {
        socket.close();
      } catch {
        /* closed already, or never bound */
      }
      resolve(outcome);
    };
    const onAbort = (): void => done({ ok: false, detail: 'aborted' });
    const failed = (err: unknown): void => {
      if ((err as { code?: unknown } | null)?.code === 'ECONNREFUSED') {
        done({ ok: false, detail: `port unreachable (ICMP): nothing listens on UDP port ${port} there` });
      } else done(networkFailure(err));
    };
    try {
      socket = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
    } catch (err) {
      resolve(networkFailure(err));
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    // Stays attached after close(): a late error must not become an unhandled 'error' event.
    socket.on('error', failed);
    socket.once('message', (reply: Buffer) => done(judgeUdpReply(spec, reply)));
    // Each step first asks whether the check has ended meanwhile (aborted, timed out): a closed socket throws.
    const send = (): void => {
      if (finished) return;
      try {
        socket.connect(port, address, (err?: Error) => {
          if (finished) return;
          if (err) return failed(err);
          try {
            socket.send(udpPayload(spec), (sendErr) => {
              if (sendErr && !finished) failed(sendErr);
            });
          } catch (e) {
            failed(e);
          }
        });
      } catch (e) {
        failed(e);
      }
    };
    try {
      if (localAddress !== undefined) socket.bind({ address: localAddress, port: 0 }, send);
      else send();
    } catch (err) {
      failed(err);
    }
  });
}
