// destinationsOfEach: the destinations of many services read one after another and handed out in runs.
// Against the fake kernel: runs cut at runLength, the given order and the given objects kept, each
// pair's destinations what destinations() says, runLength checked, and every way an iteration ends early
// (a bad key, a kernel refusal, a timeout, an abort, the consumer's break) yielding what was read before
// and leaving the client usable. Then the same contract through a transport with the synchronous
// exchange (the kernel socket's path), where a whole table read takes no promise per service.

import { describe, expect, it } from 'vitest';
import { Ipvs, type ServiceDestinations } from '../../src/client.js';
import { AbortError, KernelError, TimeoutError, ValidationError, type Service, type ServiceKey } from '../../src/index.js';
import type { ExchangeResult } from '../../src/netlink/transport.js';
import { FakeKernel } from '../../src/testing/index.js';
import { CMD, destReplyNest } from '../helpers/ipvs-bytes.js';
import { ScriptedIpvs, type Handler } from '../helpers/ipvs-script.js';

const WEB = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
const DNS = { protocol: 'udp', address: '10.0.0.1', port: 53 } as const;
const V6 = { protocol: 'tcp', address: '2001:db8::1', port: 443 } as const;
const MARK = { fwmark: 7 } as const;
const MARK6 = { fwmark: 9, family: 'ipv6' } as const;
const BARE = { protocol: 'sctp', address: '10.0.0.2', port: 9000 } as const; // no destinations
/** Not in the table. */
const MISSING = { protocol: 'tcp', address: '10.0.0.99', port: 8080 } as const;

const GET_DEST = 'IPVS_CMD_GET_DEST';

async function setup(): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel({ dumpBudget: 512 });
  const ipvs = await Ipvs.open({ transport: kernel.transport(), timeoutMs: 2000 });
  await ipvs.execute([
    { op: 'add-service', service: { ...WEB, scheduler: 'rr' } },
    { op: 'add-service', service: { ...DNS, scheduler: 'wrr' } },
    { op: 'add-service', service: { ...V6, scheduler: 'sh', flags: ['sh-port'] } },
    { op: 'add-service', service: { ...MARK, persistence: { timeout: 60 } } },
    { op: 'add-service', service: { ...MARK6, scheduler: 'lc' } },
    { op: 'add-service', service: BARE },
    ...[1, 2, 3].map((j) => ({ op: 'add-destination', service: WEB, destination: { address: `10.1.0.${j}`, forwarding: 'masq', weight: j } }) as const),
    { op: 'add-destination', service: DNS, destination: { address: '10.1.1.1', port: 5353, forwarding: 'masq' } },
    { op: 'add-destination', service: V6, destination: { address: '2001:db8::10', weight: 5 } },
    { op: 'add-destination', service: V6, destination: { address: '2001:db8::11', upperThreshold: 100, lowerThreshold: 10 } },
    { op: 'add-destination', service: MARK, destination: { address: '10.1.2.1' } },
    { op: 'add-destination', service: MARK, destination: { address: '10.1.2.2', weight: 0 } },
    { op: 'add-destination', service: MARK6, destination: { address: '2001:db8::20', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } } },
  ]);
  return { kernel, ipvs };
}

type Runs<S> = Array<Array<ServiceDestinations<S>>>;

/** Every run, and the error that ended the iteration (undefined when it ran to its end). */
async function drain<S>(iteration: AsyncIterable<Array<ServiceDestinations<S>>>): Promise<{ runs: Runs<S>; error: unknown }> {
  const runs: Runs<S> = [];
  try {
    for await (const run of iteration) runs.push(run);
  } catch (error) {
    return { runs, error };
  }
  return { runs, error: undefined };
}

async function runsOf<S>(iteration: AsyncIterable<Array<ServiceDestinations<S>>>): Promise<Runs<S>> {
  const { runs, error } = await drain(iteration);
  if (error !== undefined) throw error;
  return runs;
}

const lengths = (runs: Runs<unknown>): number[] => runs.map((r) => r.length);

const count = (kernel: FakeKernel, name: string): number => kernel.requests.filter((r) => r === name).length;

/** A lazy list of keys, which records how far it was read and whether it was closed. */
function listed<S>(items: readonly S[], before?: (i: number) => void): { iterable: Iterable<S>; pulled: () => number; closed: () => boolean } {
  let pulled = 0;
  let closed = false;
  const iterable: Iterable<S> = {
    [Symbol.iterator]: () => ({
      next: (): IteratorResult<S> => {
        if (pulled >= items.length) return { done: true, value: undefined };
        before?.(pulled);
        return { done: false, value: items[pulled++] as S };
      },
      return: (): IteratorResult<S> => {
        closed = true;
        return { done: true, value: undefined };
      },
    }),
  };
  return { iterable, pulled: () => pulled, closed: () => closed };
}

describe('destinationsOfEach on the fake kernel', () => {
  it('cuts runs at runLength, keeps the order and the very objects given, each with what destinations() reads', async () => {
    await using ipvs = (await setup()).ipvs;
    const services = await ipvs.services();
    expect(services).toHaveLength(6);
    const five = services.slice(0, 5);
    const runs = await runsOf(ipvs.destinationsOfEach(five, { runLength: 2 }));
    expect(lengths(runs)).toEqual([2, 2, 1]);
    const pairs = runs.flat();
    pairs.forEach((pair, i) => expect(pair.service).toBe(five[i]));
    for (const [i, pair] of pairs.entries()) expect(pair.destinations).toEqual(await ipvs.destinations(five[i]!));
    // The services read back are bound services still: their methods work on what is yielded.
    expect(await (pairs[0]!.service as Service & { destinations(): Promise<unknown> }).destinations()).toEqual(pairs[0]!.destinations);

    expect(lengths(await runsOf(ipvs.destinationsOfEach(services, { runLength: 4 })))).toEqual([4, 2]);
    expect(lengths(await runsOf(ipvs.destinationsOfEach(services, { runLength: 6 })))).toEqual([6]); // no empty run after a full one
    expect(lengths(await runsOf(ipvs.destinationsOfEach(services, { runLength: 1 })))).toEqual([1, 1, 1, 1, 1, 1]);
    expect(lengths(await runsOf(ipvs.destinationsOfEach(services)))).toEqual([6]); // default 256
    expect(lengths(await runsOf(ipvs.destinationsOfEach(services, { runLength: 65536 })))).toEqual([6]);
  });

  it('takes plain keys (fwmark, IPv6, repeated, in any order); a service that does not exist has no destinations', async () => {
    const { kernel, ipvs } = await setup();
    const keys: ServiceKey[] = [{ ...MARK6 }, { ...MISSING }, { ...V6 }, { ...MARK }, { ...DNS }, { ...WEB }, { ...BARE }, { ...V6 }];
    const before = count(kernel, GET_DEST);
    const runs = await runsOf(ipvs.destinationsOfEach(keys, { runLength: 3 }));
    expect(lengths(runs)).toEqual([3, 3, 2]);
    expect(count(kernel, GET_DEST) - before).toBe(keys.length); // one dump per key, repeated keys included
    const pairs = runs.flat();
    pairs.forEach((pair, i) => expect(pair.service).toBe(keys[i]));
    for (const [i, pair] of pairs.entries()) expect(pair.destinations).toEqual(await ipvs.destinations(keys[i]!));
    const addresses = pairs.map((p) => p.destinations.map((d) => d.address));
    expect(addresses).toEqual([
      ['2001:db8::20'], [], expect.arrayContaining(['2001:db8::10', '2001:db8::11']), expect.arrayContaining(['10.1.2.1', '10.1.2.2']),
      ['10.1.1.1'], expect.arrayContaining(['10.1.0.1', '10.1.0.2', '10.1.0.3']), [], expect.arrayContaining(['2001:db8::10', '2001:db8::11']),
    ]);
    expect(pairs[0]!.destinations[0]).toMatchObject({ family: 'ipv6', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } });
    expect(pairs[4]!.destinations[0]).toMatchObject({ port: 5353, forwarding: 'masq' });
    expect(pairs[2]!.destinations.find((d) => d.address === '2001:db8::11')).toMatchObject({ upperThreshold: 100, lowerThreshold: 10 });
    // Keys spelled differently name the same service.
    const spelled = (await runsOf(ipvs.destinationsOfEach([{ protocol: 'tcp', address: '[2001:DB8::1]', port: 443 }]))).flat();
    expect(spelled[0]!.destinations).toEqual(pairs[2]!.destinations);
    await ipvs.close();
  });

  it('an empty list (or an empty table) yields nothing and sends nothing', async () => {
    const { kernel, ipvs } = await setup();
    const before = kernel.requests.length;
    expect(await runsOf(ipvs.destinationsOfEach([]))).toEqual([]);
    expect(await runsOf(ipvs.destinationsOfEach(new Set<ServiceKey>(), { runLength: 1 }))).toEqual([]);
    expect(kernel.requests.length).toBe(before);
    await ipvs.flush();
    expect(await runsOf(ipvs.destinationsOfEach(await ipvs.services()))).toEqual([]);
    await ipvs.close();
  });

  it('reads the list lazily: a run at a time, any iterable', async () => {
    const { kernel, ipvs } = await setup();
    const keys = [WEB, DNS, V6, MARK, MARK6, BARE];
    const list = listed(keys);
    const iteration = ipvs.destinationsOfEach(list.iterable, { runLength: 2 });
    expect(list.pulled()).toBe(0); // nothing before the first next()
    const first = await iteration.next();
    expect(first.value).toHaveLength(2);
    expect(list.pulled()).toBeLessThan(keys.length);
    const rest = await runsOf({ [Symbol.asyncIterator]: () => iteration });
    expect(lengths(rest)).toEqual([2, 2]);
    expect(list.pulled()).toBe(keys.length);
    expect(list.closed()).toBe(false); // ran to its end: nothing to close
    // A generator is an iterable too.
    function* gen(): Generator<ServiceKey> {
      yield MARK;
      yield MISSING;
    }
    expect((await runsOf(ipvs.destinationsOfEach(gen()))).flat().map((p) => p.destinations.length)).toEqual([2, 0]);
    expect(count(kernel, GET_DEST)).toBeGreaterThanOrEqual(8);
    await ipvs.close();
  });

  it('between runs the client is free: other requests go through, and later runs read the table as it is then', async () => {
    const { ipvs } = await setup();
    const iteration = ipvs.destinationsOfEach([WEB, DNS, MARK], { runLength: 1 });
    const first = await iteration.next();
    expect(first.value?.[0]?.destinations).toHaveLength(3);
    await ipvs.addDestination(MARK, { address: '10.1.2.3' });
    expect(await ipvs.services()).toHaveLength(6);
    const rest = (await runsOf({ [Symbol.asyncIterator]: () => iteration })).flat();
    expect(rest.map((p) => p.destinations.length)).toEqual([1, 3]);
    await ipvs.close();
  });

  it('refuses a runLength that is not an integer 1..65536 on the first next(), before any request', async () => {
    const { kernel, ipvs } = await setup();
    const before = kernel.requests.length;
    for (const runLength of [0, -1, 1.5, 65537, 70000, Number.NaN, Infinity, 'x', '2', true]) {
      const iteration = ipvs.destinationsOfEach([WEB, DNS], { runLength: runLength as number });
      const err = await iteration.next().then(() => undefined, (e: unknown) => e);
      expect(err, String(runLength)).toBeInstanceOf(ValidationError);
      expect(err).toMatchObject({ field: 'runLength', reason: 'must be an integer from 1 to 65536' });
      if (!Number.isNaN(runLength)) expect((err as ValidationError).value).toBe(runLength);
      expect(await iteration.next()).toEqual({ done: true, value: undefined });
    }
    expect(kernel.requests.length).toBe(before);
    // undefined is the default, not a value.
    expect(lengths(await runsOf(ipvs.destinationsOfEach([WEB, DNS], { runLength: undefined })))).toEqual([2]);
    await ipvs.close();
  });

  it('a bad key at index 2: the run of services 0-1 first, then the ValidationError naming services[2]', async () => {
    const { kernel, ipvs } = await setup();
    const bad: Array<[unknown, string, unknown]> = [
      [{ protocol: 'tcp', address: '10.0.0.1', port: 70000 }, 'services[2].port', 70000],
      [{ protocol: 'icmp', address: '10.0.0.1', port: 80 }, 'services[2].protocol', 'icmp'],
      [{ protocol: 'tcp', address: 'not an address', port: 80 }, 'services[2].address', 'not an address'],
      [{ fwmark: 0 }, 'services[2].fwmark', 0],
      [{ fwmark: 3, family: 'ipx' }, 'services[2].family', 'ipx'],
      [{ protocol: 'tcp', address: '10.0.0.1', port: 80, family: 'ipv6' }, 'services[2].family', 'ipv6'],
      [null, 'services[2]', null],
      ['tcp 10.0.0.1:80', 'services[2]', 'tcp 10.0.0.1:80'],
    ];
    for (const [key, field, value] of bad) {
      const before = count(kernel, GET_DEST);
      const list = listed([WEB, MARK6, key as ServiceKey, DNS]);
      const { runs, error } = await drain(ipvs.destinationsOfEach(list.iterable));
      expect(lengths(runs), field).toEqual([2]);
      expect(runs[0]!.map((p) => p.service)).toEqual([WEB, MARK6]);
      expect(runs[0]![0]!.destinations).toHaveLength(3);
      expect(runs[0]![1]!.destinations).toHaveLength(1);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ field, value });
      expect((error as ValidationError).cause).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toContain(`invalid ${field} `);
      expect(count(kernel, GET_DEST) - before).toBe(2); // nothing read for the bad key or after it
      expect(list.pulled()).toBe(3);
      expect(list.closed()).toBe(true);
    }
    await ipvs.close();
  });

  it('a bad key ends the iteration at a run boundary too: no empty run; at index 0 nothing is yielded', async () => {
    await using ipvs = (await setup()).ipvs;
    const wrong = { protocol: 'tcp', address: '10.0.0.1', port: -1 } as ServiceKey;
    const atTwo = await drain(ipvs.destinationsOfEach([WEB, DNS, wrong, V6], { runLength: 2 }));
    expect(lengths(atTwo.runs)).toEqual([2]);
    expect(atTwo.error).toMatchObject({ field: 'services[2].port', value: -1 });
    const atThree = await drain(ipvs.destinationsOfEach([WEB, DNS, V6, wrong], { runLength: 2 }));
    expect(lengths(atThree.runs)).toEqual([2, 1]);
    expect(atThree.error).toMatchObject({ field: 'services[3].port' });
    const atZero = await drain(ipvs.destinationsOfEach([wrong, WEB]));
    expect(atZero.runs).toEqual([]);
    expect(atZero.error).toMatchObject({ field: 'services[0].port' });
    expect(await ipvs.services()).toHaveLength(6);
  });

  it("a failing return() of the caller's iterator does not hide the error that ended the loop (as for...of)", async () => {
    await using ipvs = (await setup()).ipvs;
    const keys = [WEB, { protocol: 'bogus' } as unknown as ServiceKey];
    let i = 0;
    const iterable: Iterable<ServiceKey> = {
      [Symbol.iterator]: () => ({
        next: () => (i < keys.length ? { value: keys[i++]!, done: false } : { value: undefined, done: true }),
        return: () => {
          throw new Error('return() of the caller iterator failed');
        },
      }),
    };
    const { runs, error } = await drain(ipvs.destinationsOfEach(iterable));
    expect(lengths(runs)).toEqual([1]);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ field: 'services[1].protocol' });
  });

  it('a kernel refusal mid-way: the run read before it, then the KernelError; the client goes on', async () => {
    const { kernel, ipvs } = await setup();
    const keys = [WEB, V6, MARK, DNS, MARK6];
    // Armed as the third key is handed over, so the fault hits exactly its read.
    const list = listed(keys, (i) => {
      if (i === 2) kernel.failNext(1, 'ENOMEM', GET_DEST);
    });
    const before = count(kernel, GET_DEST);
    const { runs, error } = await drain(ipvs.destinationsOfEach(list.iterable, { runLength: 10 }));
    expect(lengths(runs)).toEqual([2]);
    expect(runs[0]!.map((p) => p.service)).toEqual([WEB, V6]);
    expect(runs[0]!.map((p) => p.destinations.length)).toEqual([3, 2]);
    expect(error).toBeInstanceOf(KernelError);
    expect(error).toMatchObject({ code: 'ENOMEM' });
    expect(count(kernel, GET_DEST) - before).toBe(3); // none after the refused one
    expect(list.closed()).toBe(true);
    expect(kernel.pendingFaults).toBe(0);
    expect(await ipvs.services()).toHaveLength(6);
    expect(await ipvs.destinations(MARK)).toHaveLength(2);
    await ipvs.close();
  });

  it('a refusal right after a full run: that run was already yielded, the error comes alone', async () => {
    const { kernel, ipvs } = await setup();
    const list = listed([WEB, V6, MARK, DNS], (i) => {
      if (i === 2) kernel.failNext(1, 'EPERM', GET_DEST);
    });
    const { runs, error } = await drain(ipvs.destinationsOfEach(list.iterable, { runLength: 2 }));
    expect(lengths(runs)).toEqual([2]);
    expect(error).toMatchObject({ code: 'EPERM' });
    await ipvs.close();
  });

  it('a read that times out, or an abort: the runs before it, then TimeoutError / AbortError', async () => {
    const { kernel, ipvs } = await setup();
    const timing = listed([WEB, V6, MARK], (i) => {
      if (i === 1) kernel.dropReplies(1, GET_DEST);
    });
    const timedOut = await drain(ipvs.destinationsOfEach(timing.iterable, { timeoutMs: 50 }));
    expect(lengths(timedOut.runs)).toEqual([1]);
    expect(timedOut.error).toBeInstanceOf(TimeoutError);
    expect(await ipvs.destinations(V6)).toHaveLength(2);

    const controller = new AbortController();
    const aborting = listed([WEB, V6, MARK, DNS], (i) => {
      if (i === 2) controller.abort();
    });
    const aborted = await drain(ipvs.destinationsOfEach(aborting.iterable, { signal: controller.signal, runLength: 3 }));
    expect(lengths(aborted.runs)).toEqual([2]);
    expect(aborted.error).toBeInstanceOf(AbortError);
    expect(aborting.closed()).toBe(true);
    expect(await ipvs.services()).toHaveLength(6);
    await ipvs.close();
  });

  it('stopping early (break) closes the list and leaves the client usable', async () => {
    const { kernel, ipvs } = await setup();
    const services = await ipvs.services();
    const list = listed(services);
    const before = count(kernel, GET_DEST);
    const seen: Array<ServiceDestinations<Service>> = [];
    for await (const run of ipvs.destinationsOfEach(list.iterable, { runLength: 2 })) {
      seen.push(...run);
      break;
    }
    expect(seen.map((p) => p.service)).toEqual(services.slice(0, 2));
    expect(list.closed()).toBe(true);
    expect(count(kernel, GET_DEST) - before).toBe(2);
    expect(await ipvs.services()).toHaveLength(6);
    expect(await ipvs.destinations(WEB)).toHaveLength(3);
    // return() before the first next(): nothing is read.
    const reads = count(kernel, GET_DEST);
    const unstarted = ipvs.destinationsOfEach(services);
    expect(await unstarted.return(undefined)).toEqual({ done: true, value: undefined });
    expect(count(kernel, GET_DEST)).toBe(reads);
    // A consumer that throws while holding a run: its error, and the client still works.
    await expect(async () => {
      for await (const run of ipvs.destinationsOfEach(services, { runLength: 3 })) if (run.length > 0) throw new Error('consumer');
    }).rejects.toThrow('consumer');
    expect(await ipvs.destinations(MARK6)).toHaveLength(1);
    await ipvs.close();
  });

  it('on a closed client, the first next() fails with the ClosedError', async () => {
    const { ipvs } = await setup();
    await ipvs.close();
    const { runs, error } = await drain(ipvs.destinationsOfEach([WEB, DNS]));
    expect(runs).toEqual([]);
    expect(error).toMatchObject({ name: 'ClosedError' });
  });
});

// The synchronous path. ScriptedIpvs (test/helpers) answers inside send(); this adds Transport.exchange:
// the request is written and its answer handed to `take` at once, as the kernel socket does. Each
// GET_DEST is answered from the scripted table below, keyed by the order of the requests.

class ExchangingIpvs extends ScriptedIpvs {
  exchanges = 0;
  private capture: Buffer[] | undefined;

  override deliver(datagram: Uint8Array): void {
    if (this.capture) this.capture.push(Buffer.from(datagram));
    else super.deliver(datagram);
  }

  exchange(datagram: Uint8Array, take: (view: Buffer) => boolean): ExchangeResult {
    this.exchanges++;
    const manual = this.manual;
    this.manual = true; // hold the replies instead of queueing them for the receiver
    void this.send(datagram);
    this.manual = manual;
    const replies: Buffer[] = [];
    this.capture = replies;
    try {
      this.release();
    } finally {
      this.capture = undefined;
    }
    while (replies.length > 0) {
      if (take(replies.shift()!)) {
        queueMicrotask(() => replies.forEach((r) => this.deliver(r)));
        return 'done';
      }
    }
    return 'partial';
  }
}

const ENOMEM = 12;

/** The n-th GET_DEST (from 1) is answered with (n - 1) % 3 destinations 10.9.n.j, or refused when in `refuse`. */
function scripted(refuse: ReadonlySet<number> = new Set()): Handler {
  let n = 0;
  return (req, k) => {
    if (req.cmd !== CMD.GET_DEST) return k.ack(req);
    n++;
    if (refuse.has(n)) return k.error(req, ENOMEM);
    const entries = Array.from({ length: (n - 1) % 3 }, (_, j) => destReplyNest({ address: `10.9.${n}.${j + 1}`, port: 80, fwd: 0, weight: j + 1 }));
    return k.dump(req, CMD.NEW_DEST, entries);
  };
}

const expectedAddresses = (from: number, count: number): string[][] =>
  Array.from({ length: count }, (_, i) => Array.from({ length: (from + i - 1) % 3 }, (_, j) => `10.9.${from + i}.${j + 1}`));

const keysOf = (n: number): ServiceKey[] => Array.from({ length: n }, (_, i) => ({ protocol: 'tcp', address: `10.0.1.${i + 1}`, port: 80 }));

describe('destinationsOfEach through Transport.exchange', () => {
  it('reads every service inside the exchange, the runs as on the usual path', async () => {
    const k = new ExchangingIpvs({ handler: scripted() });
    const ipvs = await Ipvs.open({ transport: k });
    const keys = keysOf(7);
    const runs = await runsOf(ipvs.destinationsOfEach(keys, { runLength: 3 }));
    expect(lengths(runs)).toEqual([3, 3, 1]);
    expect(runs.flat().map((p) => p.service)).toEqual(keys);
    expect(runs.flat().map((p) => p.destinations.map((d) => d.address))).toEqual(expectedAddresses(1, 7));
    expect(runs[0]![2]!.destinations.map((d) => d.weight)).toEqual([1, 2]);
    expect(k.exchanges).toBe(7);
    expect(k.requestsOf(CMD.GET_DEST)).toHaveLength(7);
    // destinations() agrees (the 8th, 9th and 10th answers).
    for (const [i, key] of keysOf(3).entries()) expect((await ipvs.destinations(key)).map((d) => d.address)).toEqual(expectedAddresses(8 + i, 1)[0]);
    await ipvs.close();
  });

  it('a refusal answered inside the exchange: the run before it, then the KernelError; the client goes on', async () => {
    const k = new ExchangingIpvs({ handler: scripted(new Set([3])) });
    const ipvs = await Ipvs.open({ transport: k });
    const { runs, error } = await drain(ipvs.destinationsOfEach(keysOf(5), { runLength: 100 }));
    expect(lengths(runs)).toEqual([2]);
    expect(runs[0]!.map((p) => p.destinations.map((d) => d.address))).toEqual(expectedAddresses(1, 2));
    expect(error).toBeInstanceOf(KernelError);
    expect(error).toMatchObject({ code: 'ENOMEM' });
    expect(k.requestsOf(CMD.GET_DEST)).toHaveLength(3);
    expect(await ipvs.destinations(keysOf(1)[0]!)).toHaveLength(0); // the 4th answer: 3 % 3
    await ipvs.close();
  });

  it('a bad key and a break behave as on the usual path', async () => {
    const k = new ExchangingIpvs({ handler: scripted() });
    const ipvs = await Ipvs.open({ transport: k });
    const keys: unknown[] = keysOf(4);
    keys[2] = { fwmark: -5 };
    const bad = await drain(ipvs.destinationsOfEach(keys as ServiceKey[]));
    expect(lengths(bad.runs)).toEqual([2]);
    expect(bad.error).toMatchObject({ field: 'services[2].fwmark', value: -5 });
    expect(k.requestsOf(CMD.GET_DEST)).toHaveLength(2);
    for await (const run of ipvs.destinationsOfEach(keysOf(10), { runLength: 4 })) {
      expect(run).toHaveLength(4);
      break;
    }
    expect(k.requestsOf(CMD.GET_DEST)).toHaveLength(6);
    expect((await ipvs.destinations(keysOf(1)[0]!)).map((d) => d.address)).toEqual(expectedAddresses(7, 1)[0]);
    await ipvs.close();
  });
});

describe('destinationsOfEach: what it is given', () => {
  it('refuses runLength null and input that is not iterable, before any read', async () => {
    const { ipvs } = await setup();
    await expect(drain(ipvs.destinationsOfEach([WEB], { runLength: null as unknown as number }))).resolves.toMatchObject({ runs: [], error: { field: 'runLength', value: null } });
    for (const input of [null, undefined, 42, { protocol: 'tcp' }]) {
      const { runs, error } = await drain(ipvs.destinationsOfEach(input as unknown as Iterable<ServiceKey>));
      expect(runs).toEqual([]);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ field: 'services' });
    }
    await ipvs.close();
  });

  it('an input whose next() throws ends the iteration with that error and is not closed (as for-of)', async () => {
    const { ipvs } = await setup();
    let closed = false;
    let pulled = 0;
    const input: Iterable<ServiceKey> = {
      [Symbol.iterator]: () => ({
        next: (): IteratorResult<ServiceKey> => {
          if (pulled++ === 1) throw new Error('input broke');
          return { done: false, value: WEB };
        },
        return: (): IteratorResult<ServiceKey> => {
          closed = true;
          return { done: true, value: undefined };
        },
      }),
    };
    const { runs, error } = await drain(ipvs.destinationsOfEach(input));
    expect(lengths(runs)).toEqual([1]);
    expect(error).toEqual(new Error('input broke'));
    expect(closed).toBe(false);
    await ipvs.close();
  });
});
