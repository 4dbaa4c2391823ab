// The TCP connect check: healthy when the three-way handshake completes. The socket is destroyed as soon
// as the check has its answer (connected, refused, timed out, stopped), never left to the peer: a server
// that speaks first (an SMTP, FTP or SSH greeting, a MySQL handshake) or an application too hung to
// accept would otherwise keep it, and its descriptor, open for good, one per check. The kernel closes it
// with a FIN, or with a reset when the server's greeting has already arrived unread, which is harmless.

import net from 'node:net';
import { networkFailure } from './net-errors.js';
import type { ProbeOutcome } from './http-check.js';

export function tcpProbe(address: string, port: number, localAddress: string | undefined, signal: AbortSignal): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ ok: false, detail: 'aborted' });
      return;
    }
    let socket: net.Socket;
    try {
      socket = net.connect({ host: address, port, ...(localAddress !== undefined ? { localAddress } : {}) });
    } catch (err) {
      resolve(networkFailure(err));
      return;
    }
    const done = (outcome: ProbeOutcome): void => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(outcome);
    };
    const onAbort = (): void => done({ ok: false, detail: 'aborted' });
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done({ ok: true, detail: 'TCP connect' }));
    // Stays attached after destroy(): a late error must not become an unhandled 'error' event.
    socket.on('error', (err) => done(networkFailure(err)));
  });
}
