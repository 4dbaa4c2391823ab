// services() and destinations() of a table whose answer comes slowly but steadily (a big table on a slow
// machine: about 500 000 services in the User-Mode Linux guest take longer than the default 30 s to list) are
// read to their end: their timeoutMs is the longest wait for the next part, not a bound on the whole
// listing. One that stalls still times out; an AbortSignal bounds the whole call. On the fake kernel, with a
// transport that hands each of the kernel's datagrams over 40 ms after the one before, under fake timers.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { AbortError, TimeoutError } from '../../src/index.js';
import type { Transport, TransportReceiver } from '../../src/netlink/transport.js';
import { FakeKernel } from '../../src/testing/index.js';
import type { Operation } from '../../src/ipvs/operations.js';

const GAP_MS = 40;

/** The real setImmediate (taken before any test fakes timers): the fake kernel answers on it. */
const realTurn = ((immediate) => (): Promise<void> => new Promise<void>((resolve) => immediate(resolve)))(setImmediate);

/**
 * Fake time passes 5 ms at a time, with real turns of the event loop between, so that the fake kernel (which
 * answers on the real setImmediate) answers within a few fake milliseconds, as a kernel would; until `p` has
 * settled, or `limitMs` has passed.
 */
async function until<T>(p: Promise<T>, limitMs = 60_000): Promise<T> {
  let settled = false;
  void p.then(() => (settled = true));
  for (let t = 0; t < limitMs && !settled; t += 5) {
    await vi.advanceTimersByTimeAsync(5);
    for (let i = 0; i < 4; i++) await realTurn();
  }
  return p;
}

/** `inner`, with each datagram from the kernel handed over GAP_MS after the one before; none after `stallAfter`. */
function slow(inner: Transport): Transport & { delivered: number; stallAfter: number; resume(): void } {
  const queue: Buffer[] = [];
  let receiver: TransportReceiver | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = {
    delivered: 0,
    stallAfter: Infinity,
    get portId() {
      return inner.portId;
    },
    get receiveBufferSize() {
      return inner.receiveBufferSize;
    },
    attach(r: TransportReceiver) {
      receiver = r;
      inner.attach({
        datagram: (data) => {
          queue.push(Buffer.from(data));
          pump();
        },
        error: (err, fatal) => r.error(err, fatal),
      });
    },
    send: (datagram: Uint8Array) => inner.send(datagram),
    resume() {
      t.stallAfter = Infinity;
      pump();
    },
    close: () => {
      if (timer !== undefined) clearTimeout(timer);
      return inner.close();
    },
  };
  const pump = (): void => {
    if (timer !== undefined || queue.length === 0 || t.delivered >= t.stallAfter) return;
    timer = setTimeout(() => {
      timer = undefined;
      t.delivered++;
      receiver?.datagram(queue.shift()!);
      pump();
    }, GAP_MS);
  };
  return t;
}

const SERVICES = 200;

async function table(): Promise<FakeKernel> {
  // Small parts: a few services per datagram, so the listing takes many datagrams.
  const kernel = new FakeKernel({ dumpBudget: 600 });
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  const ops: Operation[] = [];
  for (let i = 0; i < SERVICES; i++) {
    const service = { protocol: 'tcp', address: `10.0.0.${i + 1}`, port: 80 } as const;
    ops.push({ op: 'add-service', service });
    if (i === 0) for (let d = 0; d < 40; d++) ops.push({ op: 'add-destination', service, destination: { address: `192.168.0.${d + 1}`, port: 80 } });
  }
  await ipvs.execute(ops);
  await ipvs.close();
  return kernel;
}

/** The call's outcome, without an unhandled rejection meanwhile. */
const outcome = <T>(p: Promise<T>): Promise<{ value?: T; error?: unknown }> => p.then((value) => ({ value }), (error: unknown) => ({ error }));

afterEach(() => {
  vi.useRealTimers();
});

describe('a listing answered slowly but steadily', () => {
  /** A client over the slow transport, with a 100 ms timeout. */
  async function open(kernel: FakeKernel): Promise<{ ipvs: Ipvs; transport: ReturnType<typeof slow> }> {
    vi.useFakeTimers();
    const transport = slow(kernel.transport());
    const ipvs = await until(Ipvs.open({ transport, timeoutMs: 100 }));
    return { ipvs, transport };
  }

  it('services() and destinations() read to their end, though each takes many times their timeoutMs', async () => {
    const { ipvs, transport } = await open(await table());
    const start = transport.delivered;
    const startedAt = performance.now();
    const { value, error } = await until(outcome(ipvs.services()));
    expect(error).toBeUndefined();
    expect(value).toHaveLength(SERVICES);
    // Far more datagrams than come in one timeout (100 ms: two and a half of them).
    expect(transport.delivered - start).toBeGreaterThan(20);
    expect(performance.now() - startedAt).toBeGreaterThan(10 * 100);
    const destinations = await until(outcome(ipvs.destinations({ protocol: 'tcp', address: '10.0.0.1', port: 80 })));
    expect(destinations.value).toHaveLength(40);
    await ipvs.close();
  });

  it('one that stalls midway times out, and the client lists again once the rest has come', async () => {
    const { ipvs, transport } = await open(await table());
    transport.stallAfter = transport.delivered + 10;
    const { error } = await until(outcome(ipvs.services()));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(/no answer from the kernel within 100 ms$/);
    transport.resume();
    const again = await until(outcome(ipvs.services()));
    expect(again.error).toBeUndefined();
    expect(again.value).toHaveLength(SERVICES);
    await ipvs.close();
  });

  it('an AbortSignal bounds the whole call', async () => {
    const { ipvs, transport } = await open(await table());
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const start = transport.delivered;
    const { error } = await until(outcome(ipvs.services({ signal: controller.signal })));
    expect(error).toBeInstanceOf(AbortError);
    expect(transport.delivered - start).toBeLessThan(10);
    const again = await until(outcome(ipvs.services()));
    expect(again.error).toBeUndefined();
    expect(again.value).toHaveLength(SERVICES);
    await ipvs.close();
  });
});
