// execute(): everything validated before anything is sent, windows sized from the receive buffer and sent
// one after the other as each is acknowledged, one result per operation in input order, stopOnError and
// AbortSignal.

import { describe, expect, it } from 'vitest';
import { Ipvs, windowSize } from '../../src/client.js';
import { IpvsError, KernelError, OperationBatch, ValidationError, type Operation, type Transport } from '../../src/index.js';
import { FakeKernel } from '../../src/testing/index.js';
import { CMD } from '../helpers/ipvs-bytes.js';
import { ScriptedIpvs, type Handler } from '../helpers/ipvs-script.js';
import { splitMessages } from '../helpers/netlink-bytes.js';

const EEXIST = 17;
const svc = (i: number) => ({ protocol: 'tcp' as const, address: `10.0.${i >> 8}.${i & 255}`, port: 80 });
const adds = (n: number): Operation[] => Array.from({ length: n }, (_, i) => ({ op: 'add-service' as const, service: { ...svc(i), scheduler: 'rr' as const } }));

async function open(o: { handler?: Handler; manual?: boolean; receiveBufferSize?: number } = {}): Promise<{ k: ScriptedIpvs; ipvs: Ipvs }> {
  const k = new ScriptedIpvs(o);
  return { k, ipvs: await Ipvs.open({ transport: k, timeoutMs: 5000 }) };
}

/** IPVS datagrams sent (the family lookup left out), each as its number of messages. */
const windows = (k: ScriptedIpvs): number[] => k.sent.slice(1).map((d) => splitMessages(d).length);
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('window size', () => {
  it('one request per KiB of receive buffer, within 16..1024', () => {
    expect(windowSize(0)).toBe(16);
    expect(windowSize(16 * 1024)).toBe(16);
    expect(windowSize(212_992)).toBe(208);
    expect(windowSize(8 * 1024 * 1024)).toBe(1024);
  });
});

describe('execute', () => {
  it('refuses operations that are neither an array nor an OperationBatch, naming both forms', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    await expect(ipvs.execute({} as never)).rejects.toMatchObject({ name: 'ValidationError', field: 'operations', reason: 'must be an array of operations or an OperationBatch' });
    expect(kernel.requests.filter((r) => r !== 'CTRL_CMD_GETFAMILY')).toEqual([]);
  });

  it('sends windows of requests, one datagram each, and reports every result in order', async () => {
    const { k, ipvs } = await open({ receiveBufferSize: 16 * 1024 });
    const results = await ipvs.execute(adds(40));
    expect(results).toHaveLength(40);
    expect(results.every((r) => 'ok' in r && r.ok)).toBe(true);
    expect(windows(k)).toEqual([16, 16, 8]);
    expect(k.requests.map((r) => r.cmd)).toEqual(new Array(40).fill(CMD.NEW_SERVICE));
  });

  it('sends the next window only once the previous one is acknowledged', async () => {
    const { k, ipvs } = await open({ receiveBufferSize: 16 * 1024, manual: true });
    const done = ipvs.execute(adds(40));
    await tick();
    expect(windows(k)).toEqual([16]);
    k.release();
    await tick();
    expect(windows(k)).toEqual([16, 16]);
    k.release();
    await tick();
    expect(windows(k)).toEqual([16, 16, 8]);
    k.release();
    expect(await done).toHaveLength(40);
  });

  it('a failure is reported for its operation, the others go on; errors are mapped', async () => {
    let n = 0;
    const { ipvs } = await open({ handler: (req, k) => (n++ % 5 === 2 ? k.error(req, EEXIST) : k.ack(req)), receiveBufferSize: 16 * 1024 });
    const results = await ipvs.execute(adds(20));
    const failed = results.flatMap((r, i) => ('ok' in r && !r.ok ? [i] : []));
    expect(failed).toEqual([2, 7, 12, 17]);
    const r2 = results[2] as { ok: false; error: Error };
    expect(r2.error).toBeInstanceOf(KernelError);
    expect(r2.error.message).toBe('service tcp 10.0.0.2:80 already exists [EEXIST]');
  });

  it('stopOnError: the failing window is reported as the kernel did it, later windows are skipped', async () => {
    const { k, ipvs } = await open({ handler: (req, s) => (req.seq === s.requests[3]?.seq ? s.error(req, EEXIST) : s.ack(req)), receiveBufferSize: 16 * 1024 });
    const results = await ipvs.execute(adds(40), { stopOnError: true });
    expect(windows(k)).toEqual([16]);
    expect(results.slice(0, 16).filter((r) => 'ok' in r && !r.ok)).toHaveLength(1);
    expect(results[4]).toEqual({ ok: true }); // the kernel went on within the window
    expect(results.slice(16)).toEqual(new Array(24).fill({ skipped: true }));
  });

  it('validates everything first: one bad operation throws naming its index, and nothing is sent', async () => {
    const { k, ipvs } = await open();
    const ops = adds(10);
    ops[7] = { op: 'add-destination', service: svc(1), destination: { address: '10.9.9.9', weight: 1.5 } };
    await expect(ipvs.execute(ops)).rejects.toMatchObject({ field: 'operations[7].destination.weight', value: 1.5 });
    await expect(ipvs.execute(ops)).rejects.toBeInstanceOf(ValidationError);
    await expect(ipvs.execute(adds(3), { window: 0 })).rejects.toMatchObject({ field: 'window' });
    expect(k.sent).toHaveLength(1); // the family lookup only
  });

  it('an explicit window', async () => {
    const { k, ipvs } = await open();
    await ipvs.execute(adds(10), { window: 3 });
    expect(windows(k)).toEqual([3, 3, 3, 1]);
    expect(await ipvs.execute([])).toEqual([]);
  });

  it('an abort fails the window in flight and skips the rest', async () => {
    const { k, ipvs } = await open({ receiveBufferSize: 16 * 1024, manual: true });
    const ac = new AbortController();
    const done = ipvs.execute(adds(40), { signal: ac.signal });
    await tick();
    ac.abort();
    const results = await done;
    expect(windows(k)).toEqual([16]);
    expect(results.slice(0, 16).every((r) => 'ok' in r && !r.ok && r.error.name === 'AbortError')).toBe(true);
    expect(results.slice(16)).toEqual(new Array(24).fill({ skipped: true }));
    // an aborted signal up front sends nothing
    const before = k.sent.length;
    expect(await ipvs.execute(adds(2), { signal: AbortSignal.abort() })).toEqual([{ skipped: true }, { skipped: true }]);
    expect(k.sent.length).toBe(before);
  });

  it('after an overflow of the receive buffer (ENOBUFS) the windows not yet sent are skipped, without stopOnError, and the client goes on', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    kernel.overflowReplies(1, 'IPVS_CMD_NEW_SERVICE');
    const results = await ipvs.execute(adds(40), { window: 16 });
    // The window in flight: carried out, its answers lost (the typed error says to read the table back).
    expect(results.slice(0, 16).every((r) => 'ok' in r && !r.ok && r.error instanceof KernelError && r.error.code === 'ENOBUFS')).toBe(true);
    // Sent before, they would have lost their answers the same way, their outcome unknown.
    expect(results.slice(16)).toEqual(new Array(24).fill({ skipped: true }));
    expect(await ipvs.services({ stats: false })).toHaveLength(16);
    expect((await ipvs.execute(adds(40).slice(16), { window: 16 })).every((r) => 'ok' in r && r.ok)).toBe(true);
  });

  it('takes an OperationBatch, or a slice of one, as it takes the array: the same datagrams and results', async () => {
    const failing: Handler = (req, s) => (req.seq === s.requests[20]?.seq ? s.error(req, EEXIST) : s.ack(req));
    const a = await open({ handler: failing, receiveBufferSize: 16 * 1024 });
    const b = await open({ handler: failing, receiveBufferSize: 16 * 1024 });
    const ops = adds(40);
    const fromArray = await a.ipvs.execute(ops);
    const batch = OperationBatch.from(ops);
    const fromBatch = await b.ipvs.execute(batch);
    const noSeq = (d: Buffer): Buffer => {
      const c = Buffer.from(d);
      for (let at = 0; at < c.length; at += (c.readUInt32LE(at) + 3) & ~3) c.writeUInt32LE(0, at + 8);
      return c;
    };
    expect(b.k.sent.slice(1).map(noSeq)).toEqual(a.k.sent.slice(1).map(noSeq));
    expect(fromBatch.map((r) => ('ok' in r ? r.ok : 'skipped'))).toEqual(fromArray.map((r) => ('ok' in r ? r.ok : 'skipped')));
    expect((fromBatch[20] as { error: Error }).error.message).toBe((fromArray[20] as { error: Error }).error.message);
    expect((fromBatch[20] as { error: Error }).error.message).toMatch(/service tcp 10\.0\.0\.20:80 already exists/);
    // a slice: its operations only, each named by its place in the slice's source
    const sent = b.k.requests.length;
    const part = await b.ipvs.execute(batch.slice(30, 35));
    expect(part).toHaveLength(5);
    expect(b.k.requests.length - sent).toBe(5);
    // the same batch again: the same bytes, sequence numbers aside
    const again = b.k.sent.length;
    await b.ipvs.execute(batch);
    expect(b.k.sent.slice(again).map(noSeq)).toEqual(a.k.sent.slice(1).map(noSeq));
  });

  it('a window after one that timed out is written into a buffer of its own, whole and right', async () => {
    let n = 0;
    const { k, ipvs } = await open({ handler: (req, s) => (n++ < 16 ? undefined : s.ack(req)), receiveBufferSize: 16 * 1024 });
    // a transport that keeps the datagrams it was handed (the unanswered one may still be in use)
    const handed: Uint8Array[] = [];
    const send = k.send.bind(k);
    k.send = (d: Uint8Array) => (handed.push(d), send(d));
    const results = await ipvs.execute(adds(40), { timeoutMs: 50 });
    expect(Buffer.from(handed[0]!)).toEqual(k.sent[1]);
    expect(results.slice(0, 16).every((r) => 'ok' in r && !r.ok && r.error.name === 'TimeoutError')).toBe(true);
    expect(results.slice(16).every((r) => 'ok' in r && r.ok)).toBe(true);
    // every datagram as it was sent: the 40 services in order
    const addresses = k.requests.map((r) => r.attrs.toString('hex'));
    expect(new Set(addresses).size).toBe(40);
    expect(windows(k)).toEqual([16, 16, 8]);
  });

  it("a custom transport's own error (no errno) is an IpvsError: in a result and when thrown; its message, its code or EIO, the original as cause", async () => {
    const kernel = new FakeKernel();
    const inner = kernel.transport();
    let failure: unknown;
    const transport: Transport = {
      portId: inner.portId,
      receiveBufferSize: inner.receiveBufferSize,
      attach: (receiver) => inner.attach(receiver),
      send: (datagram) => (failure === undefined ? inner.send(datagram) : Promise.reject(failure)),
      close: () => inner.close(),
    };
    const ipvs = await Ipvs.open({ transport, timeoutMs: 5000 });
    const linkDown = Object.assign(new Error('link down'), { code: 'ELINKDOWN' });
    failure = linkDown;
    const [result] = await ipvs.execute(adds(1));
    const error = result && 'ok' in result && !result.ok ? result.error : undefined;
    expect(error).toBeInstanceOf(IpvsError);
    expect(error).toMatchObject({ message: 'link down', code: 'ELINKDOWN', cause: linkDown });
    const bare = new Error('broken');
    failure = bare;
    const [other] = await ipvs.execute(adds(1));
    expect(other).toMatchObject({ ok: false, error: { message: 'broken', code: 'EIO', cause: bare } });
    expect((other as { error: unknown }).error).toBeInstanceOf(IpvsError);
    const thrown = await ipvs.service(svc(0)).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(IpvsError);
    expect(thrown).toMatchObject({ code: 'EIO', cause: bare });
    failure = undefined;
    await ipvs.close();
  });

  it('pipelines thousands of operations quickly', async () => {
    const { k, ipvs } = await open();
    const ops = adds(5000);
    const t0 = performance.now();
    const results = await ipvs.execute(ops);
    const ms = performance.now() - t0;
    expect(results.every((r) => 'ok' in r && r.ok)).toBe(true);
    expect(windows(k)).toHaveLength(Math.ceil(5000 / 208));
    expect(ms).toBeLessThan(3000);
  });
});
