// A process that holds every netlink port id the `netlink` package can give it (the pid and a 10-bit
// counter: 1 024) gets a typed EADDRINUSE that says so, not an EIO. Needs real netlink sockets, so it
// is skipped where none can be made; and where the descriptor limit comes first (EMFILE), there is
// nothing to see.

import { afterAll, describe, expect, it } from 'vitest';
import { KernelSocketTransport } from '../../native/socket.js';
import { Ipvs, IpvsError } from '../../src/index.js';
import { kernelSocketUnavailable } from '../helpers/kernel-socket-child.js';

const unavailable = kernelSocketUnavailable();
const held: KernelSocketTransport[] = [];

afterAll(async () => {
  await Promise.all(held.splice(0).map((t) => t.close()));
});

describe.skipIf(unavailable !== undefined)('netlink port ids used up', () => {
  it('the next socket fails with EADDRINUSE naming the cause, and Ipvs.open() reports it with that code', async () => {
    let failure: unknown;
    for (let i = 0; i < 1100 && failure === undefined; i++) {
      try {
        held.push(new KernelSocketTransport());
      } catch (err) {
        failure = err;
      }
    }
    if ((failure as { code?: string } | undefined)?.code === 'EMFILE') return;
    expect(failure).toBeInstanceOf(Error);
    expect((failure as { code?: string }).code).toBe('EADDRINUSE');
    expect((failure as Error).message).toMatch(/^bind: no free netlink port id: .*1 024 per process.*close the clients no longer in use/);
    const err = await Ipvs.open().then(() => expect.unreachable('should have failed'), (e: unknown) => e);
    expect(err).toBeInstanceOf(IpvsError);
    expect((err as IpvsError).code).toBe('EADDRINUSE');
    expect((err as IpvsError).message).toMatch(/no free netlink port id/);
  }, 120_000); // about 14 s alone (each socket looks for its fd among the ones before it); far more on a loaded machine
});
