// The thread could not return to its own network namespace after making the socket in another one (the
// EPERM a user namespace gives is refused beforehand, so this stands in for a failure no check foresaw):
// the socket made there is closed, not left open to hold the process alive, and the error says where the
// thread is. libc's setns is wrapped: the return really happens, then reports EPERM. Needs root and
// `ip netns`; skipped when either is missing.

import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';

const state = vi.hoisted(() => ({ calls: 0, failReturn: false }));

vi.mock('../../native/libc.js', async (original) => {
  const libc = await original<typeof import('../../native/libc.js')>();
  return {
    ...libc,
    setns(fd: number, nstype: number): void {
      libc.setns(fd, nstype);
      // The calls of one open: the check of our own namespace, the way in, the way back.
      if (state.failReturn && ++state.calls === 3) throw new libc.LibcError('setns', 1, String(fd));
    },
  };
});

const { KernelSocketTransport } = await import('../../native/socket.js');

const name = `ipvs-return-${process.pid}`;
let skipReason: string | undefined;
try {
  execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
} catch (err) {
  skipReason = (err as Error).message.split('\n')[0];
}

/** The NETLINK_GENERIC sockets open in the namespace (lines of its /proc/net/netlink with protocol 16). */
const genericSockets = (): number =>
  execFileSync('ip', ['netns', 'exec', name, 'cat', '/proc/net/netlink'], { encoding: 'utf8' })
    .trim().split('\n').slice(1).filter((line) => line.trim().split(/\s+/)[1] === '16').length;

describe.skipIf(skipReason !== undefined)(`a failed return from another namespace (${skipReason ?? `netns ${name}`})`, () => {
  afterAll(() => {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'pipe' });
  });

  it('closes the socket made there and says the thread is still inside', () => {
    const before = genericSockets();
    state.failReturn = true;
    let err: unknown;
    try {
      new KernelSocketTransport({ netns: name });
    } catch (e) {
      err = e;
    } finally {
      state.failReturn = false;
    }
    expect(state.calls).toBe(3);
    expect(err).toMatchObject({ code: 'EPERM', syscall: 'setns' });
    expect((err as Error).message).toBe(`cannot return from network namespace "${name}": EPERM; this thread is still inside it`);
    expect(genericSockets()).toBe(before);
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(readlinkSync('/proc/self/ns/net'));
  });
});
