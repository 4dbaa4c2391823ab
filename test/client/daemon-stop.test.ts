// stopDaemon() when the kernel sends no answer at all. Linux's stop_sync_thread() tears a daemon down but
// returns kthread_stop()'s -EINTR when the daemon's thread had not run yet (a daemon stopped right after
// it started, seen under User-Mode Linux), and netlink_rcv_skb() answers -EINTR with nothing. The client
// sends a GET_INFO behind the DEL_DAEMON and, once that is answered, settles from the daemon list instead
// of waiting for its timeout. Checked against the fake kernel (idleDaemonThreads models the quirk) and a
// scripted kernel (for the cases the fake cannot reach: a daemon that survives an unanswered stop).

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { AbortError, KernelError, TimeoutError } from '../../src/index.js';
import { FakeKernel } from '../../src/testing/index.js';
import { CMD, daemonNest, infoAttrs } from '../helpers/ipvs-bytes.js';
import { ScriptedIpvs, type Handler } from '../helpers/ipvs-script.js';

const TIMEOUT = 5000;

async function onFake(options: ConstructorParameters<typeof FakeKernel>[0] = {}): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel(options);
  const ipvs = await Ipvs.open({ transport: kernel.transport(), timeoutMs: TIMEOUT });
  return { kernel, ipvs };
}

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  const value = await p;
  return { value, ms: Date.now() - start };
}

describe('stopDaemon on the fake kernel', () => {
  it('answered: resolves as before, and ESRCH for a daemon not running', async () => {
    const { kernel, ipvs } = await onFake();
    await ipvs.startDaemon({ state: 'master', interface: 'lo' });
    await ipvs.stopDaemon('master');
    expect(await ipvs.daemons()).toEqual([]);
    await expect(ipvs.stopDaemon('master')).rejects.toMatchObject({ code: 'ESRCH', message: expect.stringContaining('no master sync daemon is running') });
    // One datagram per stop, each a DEL_DAEMON and a GET_INFO; no daemon listing when the kernel answered.
    expect(kernel.requests.filter((r) => r !== 'CTRL_CMD_GETFAMILY')).toEqual([
      'IPVS_CMD_NEW_DAEMON', 'IPVS_CMD_DEL_DAEMON', 'IPVS_CMD_GET_INFO', 'IPVS_CMD_GET_DAEMON', 'IPVS_CMD_DEL_DAEMON', 'IPVS_CMD_GET_INFO',
    ]);
    await ipvs.close();
  });

  it('unanswered (a thread that never ran): resolves at once once the daemon list shows it gone', async () => {
    const { kernel, ipvs } = await onFake({ idleDaemonThreads: true });
    for (const state of ['master', 'backup'] as const) {
      await ipvs.startDaemon({ state, interface: 'lo', syncId: 3 });
      const { ms } = await timed(ipvs.stopDaemon(state));
      expect(ms).toBeLessThan(1000);
    }
    expect(await ipvs.daemons()).toEqual([]);
    expect(kernel.requests.filter((r) => r.endsWith('_DAEMON') || r.endsWith('_INFO')).slice(1, 4)).toEqual(['IPVS_CMD_DEL_DAEMON', 'IPVS_CMD_GET_INFO', 'IPVS_CMD_GET_DAEMON']);
    // Stopping it again is answered: ESRCH.
    await expect(ipvs.stopDaemon('backup')).rejects.toMatchObject({ code: 'ESRCH' });
    await ipvs.close();
  });

  it('a stop carried out but never answered (dropReplies) is settled the same way', async () => {
    const { kernel, ipvs } = await onFake();
    await ipvs.startDaemon({ state: 'backup', interface: 'lo' });
    kernel.dropReplies(1, 'IPVS_CMD_DEL_DAEMON');
    const { ms } = await timed(ipvs.stopDaemon('backup'));
    expect(ms).toBeLessThan(1000);
    expect(await ipvs.daemons()).toEqual([]);
    await ipvs.close();
  });

  it('nothing answered at all: the client timeout still applies', async () => {
    const { kernel, ipvs } = await onFake();
    await ipvs.startDaemon({ state: 'backup', interface: 'lo' });
    kernel.dropReplies(2);
    await expect(ipvs.stopDaemon('backup', { timeoutMs: 50 })).rejects.toBeInstanceOf(TimeoutError);
    await ipvs.close();
  });

  it("the caller's abort signal fails it with AbortError", async () => {
    const { kernel, ipvs } = await onFake();
    await ipvs.startDaemon({ state: 'backup', interface: 'lo' });
    const ctl = new AbortController();
    ctl.abort(new Error('stop'));
    await expect(ipvs.stopDaemon('backup', { signal: ctl.signal })).rejects.toBeInstanceOf(AbortError);
    kernel.dropReplies(2);
    const later = new AbortController();
    const p = ipvs.stopDaemon('backup', { signal: later.signal });
    setTimeout(() => later.abort(), 20);
    await expect(p).rejects.toBeInstanceOf(AbortError);
    await ipvs.close();
  });
});

describe('stopDaemon on a scripted kernel', () => {
  const listing = (running: boolean): Handler => (req, k) => {
    if (req.cmd === CMD.DEL_DAEMON) return undefined; // -EINTR: no answer at all
    if (req.cmd === CMD.GET_INFO) return k.reply(req, CMD.SET_INFO, infoAttrs(0x010201, 4096));
    if (req.cmd === CMD.GET_DAEMON) return k.dump(req, CMD.NEW_DAEMON, running ? [daemonNest({ state: 2, ifname: 'lo', syncId: 0 })] : []);
    return k.ack(req);
  };

  it('unanswered and the daemon is gone: resolves', async () => {
    const k = new ScriptedIpvs({ handler: listing(false) });
    const ipvs = await Ipvs.open({ transport: k, timeoutMs: TIMEOUT });
    const { ms } = await timed(ipvs.stopDaemon('backup'));
    expect(ms).toBeLessThan(1000);
    expect(k.requests.map((r) => r.cmd)).toEqual([CMD.DEL_DAEMON, CMD.GET_INFO, CMD.GET_DAEMON]);
    await ipvs.close();
  });

  it('unanswered and the daemon still listed: a KernelError EINTR that says so', async () => {
    const k = new ScriptedIpvs({ handler: listing(true) });
    const ipvs = await Ipvs.open({ transport: k, timeoutMs: TIMEOUT });
    const err = await ipvs.stopDaemon('backup').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect(err).toMatchObject({ code: 'EINTR', operation: 'stop sync daemon' });
    expect((err as Error).message).toContain('the kernel did not answer and the daemon still runs');
    await ipvs.close();
  });
});
