// The TCP connect check: healthy when the three-way handshake completes. The connection is closed at
// once (a FIN, not a reset, so the server's log shows an ordinary short connection).

import net from 'node:net';
import { describeNetworkError } from './net-errors.js';
import type { ProbeOutcome } from './http-check.js';

export function tcpProbe(address: string, port: number, localAddress: string | undefined, signal: AbortSignal): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let socket: net.Socket;
    try {
      socket = net.connect({ host: address, port, ...(localAddress !== undefined ? { localAddress } : {}) });
    } catch (err) {
      resolve({ ok: false, detail: describeNetworkError(err) });
      return;
    }
    const onAbort = (): void => {
      socket.destroy();
      resolve({ ok: false, detail: 'aborted' });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (outcome: ProbeOutcome): void => {
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    socket.once('connect', () => {
      socket.end();
      done({ ok: true, detail: 'TCP connect' });
    });
    socket.on('error', (err) => {
      socket.destroy();
      done({ ok: false, detail: describeNetworkError(err) });
    });
  });
}
