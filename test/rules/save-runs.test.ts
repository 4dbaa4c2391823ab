// iterateRules reads a source's destinations through destinationsOfEach when it has one (the client
// does) and through destinations() per service otherwise: the text, chunk for chunk, must not depend on
// which. A destinationsOfEach that fails after a run: the text of that run's services, then the error.
import { describe, expect, it, vi } from 'vitest';
import { Ipvs, formatRules, formatServiceRule, iterateRules, type RulesSource, type Service, type WithoutStats } from '../../src/index.js';
import type { Operation } from '../../src/ipvs/operations.js';
import { FakeKernel } from '../../src/testing/index.js';

/** 30 services: tcp, udp, fwmark, IPv6 and IPv6 fwmark, with 0..3 destinations of every forwarding kind. */
async function mixedTable(): Promise<Ipvs> {
  const ipvs = await Ipvs.open({ transport: new FakeKernel({ dumpBudget: 700 }).transport() });
  const ops: Operation[] = [];
  for (let i = 0; i < 30; i++) {
    const kind = i % 5;
    const v6 = kind >= 3;
    const key =
      kind === 0 ? ({ protocol: 'tcp', address: `10.3.0.${i}`, port: 80 + (i % 2) } as const)
      : kind === 1 ? ({ protocol: 'udp', address: `10.3.1.${i}`, port: 53 } as const)
      : kind === 2 ? ({ fwmark: 100 + i } as const)
      : kind === 3 ? ({ protocol: i % 2 ? 'sctp' : 'tcp', address: `2001:db8:3::${i}`, port: 443 } as const)
      : ({ fwmark: 200 + i, family: 'ipv6' } as const);
    ops.push({ op: 'add-service', service: { ...key, scheduler: i % 3 ? 'wlc' : 'rr', persistence: i % 4 === 1 ? { timeout: 120 } : false } });
    for (let j = 0; j < i % 4; j++) {
      const address = v6 ? `2001:db8:4:${i}::${j + 1}` : `10.4.${i}.${j + 1}`;
      const forwarding = (['masq', 'route', 'tunnel'] as const)[(i + j) % 3]!;
      const destination =
        forwarding === 'tunnel' && j % 2 === 0
          ? { address, forwarding, weight: j, tunnel: { type: 'gue', port: 6080 + j } as const }
          : { address, forwarding, weight: 3 - j, ...(key.fwmark === undefined && forwarding === 'masq' ? { port: 8000 + j } : {}) };
      ops.push({ op: 'add-destination', service: key, destination });
    }
  }
  const results = await ipvs.execute(ops);
  expect(results.every((r) => 'ok' in r && r.ok)).toBe(true);
  return ipvs;
}

/** The client seen through services() and destinations() only: the per-service path. */
function withoutRuns(ipvs: Ipvs): RulesSource {
  return { services: () => ipvs.services(), destinations: (key) => ipvs.destinations(key) };
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of it) out.push(chunk);
  return out;
}

async function collectUntilError(it: AsyncIterable<string>): Promise<{ chunks: string[]; error: unknown }> {
  const chunks: string[] = [];
  try {
    for await (const chunk of it) chunks.push(chunk);
  } catch (error) {
    return { chunks, error };
  }
  return { chunks, error: undefined };
}

describe('iterateRules through destinationsOfEach', () => {
  it('the client and a source without destinationsOfEach give the same chunks, for every option', async () => {
    await using ipvs = await mixedTable();
    const plain = withoutRuns(ipvs);
    const variants = [
      {},
      { numeric: true },
      { noSort: true },
      { numeric: true, noSort: true },
      { numeric: true, chunkSize: 1 },
      { numeric: true, chunkSize: 300 },
      { noSort: true, chunkSize: 150 },
    ];
    for (const options of variants) {
      const viaRuns = await collect(iterateRules(ipvs, options));
      const perService = await collect(iterateRules(plain, options));
      expect(viaRuns, JSON.stringify(options)).toEqual(perService);
      expect(viaRuns.join('').split('\n').filter((l) => l.startsWith('-A'))).toHaveLength(30);
      if (options.chunkSize === 1) expect(viaRuns).toHaveLength(30); // one chunk per service
    }
    // And both are formatRules of the whole table.
    const whole = [];
    for (const s of await ipvs.services()) whole.push({ ...s, destinations: await ipvs.destinations(s) });
    const text = (await collect(iterateRules(ipvs, { numeric: true }))).join('');
    expect(text).toBe(formatRules(whole, { numeric: true }));
    expect(text).toContain('\n-A -f 204 -6 -s wlc\n');
    expect(text).toContain('\n-a -f 214 -6 -r [2001:db8:4:14::1]:0 -i -w 0 --tun-type gue --tun-port 6080 --tun-nocsum\n');
    expect(text).toContain('\n-a -t [2001:db8:3::18]:443 -r [2001:db8:4:18::1]:8000 -m -w 3\n');
    expect(text).toContain('\n-a -u 10.3.1.6:53 -r 10.4.6.1:8000 -m -w 3\n');
  });

  it('the client is read through destinationsOfEach, in the order printed, and destinations() is not called', async () => {
    await using ipvs = await mixedTable();
    const runs = vi.spyOn(ipvs, 'destinationsOfEach');
    const single = vi.spyOn(ipvs, 'destinations');
    const services = vi.spyOn(ipvs, 'services');
    const chunks = await collect(iterateRules(ipvs, { numeric: true }));
    expect(runs).toHaveBeenCalledTimes(1);
    expect(single).not.toHaveBeenCalled();
    // The text has no statistics: neither read asks for them.
    expect(services.mock.calls.map(([o]) => o?.stats)).toEqual([false]);
    expect(runs.mock.calls[0]![1]?.stats).toBe(false);
    const given = [...(runs.mock.calls[0]![0] as Iterable<Service>)];
    expect(given).toHaveLength(30);
    const printed = chunks.join('').split('\n').filter((l) => l.startsWith('-A '));
    expect(given.map((s) => formatServiceRule(s, true, undefined))).toEqual(printed);
  });

  it('a destinationsOfEach that fails after one run: the text of that run\'s services, then its error', async () => {
    await using ipvs = await mixedTable();
    let handed: Array<Service | WithoutStats<Service>> = [];
    const failing: RulesSource = {
      services: () => ipvs.services(),
      destinations: () => Promise.reject(new Error('not to be called')),
      async *destinationsOfEach(services) {
        const runs = ipvs.destinationsOfEach(services, { runLength: 7 });
        const first = await runs.next();
        await runs.return(undefined);
        handed = first.value!.map((p) => p.service);
        yield first.value!;
        throw new Error('gone after one run');
      },
    };
    for (const options of [{ numeric: true }, { numeric: true, chunkSize: 200 }, { numeric: true, noSort: true }, { numeric: true, chunkSize: 1 << 20 }]) {
      const { chunks, error } = await collectUntilError(iterateRules(failing, options));
      expect(error).toMatchObject({ message: 'gone after one run' });
      expect(handed).toHaveLength(7);
      const text = chunks.join('');
      expect(text.split('\n').filter((l) => l.startsWith('-A'))).toHaveLength(7);
      // Exactly the rules of those seven, as formatRules prints them (sorted unless noSort, as the run came).
      const run = [];
      for (const s of handed) run.push({ ...s, destinations: await ipvs.destinations(s) });
      if (!options.noSort) expect(text).toBe(formatRules(run, { numeric: true }));
      else expect(text.split('\n').sort()).toEqual(formatRules(run, { numeric: true }).split('\n').sort());
      if (options.chunkSize === 200) expect(chunks.length).toBeGreaterThan(1);
    }
  });

  it('a destinationsOfEach that fails before any run: no text, the error', async () => {
    await using ipvs = await mixedTable();
    const source: RulesSource = {
      services: () => ipvs.services(),
      destinations: (key) => ipvs.destinations(key),
      async *destinationsOfEach() {
        throw new Error('refused at once');
      },
    };
    const { chunks, error } = await collectUntilError(iterateRules(source, { numeric: true }));
    expect(chunks).toEqual([]);
    expect(error).toMatchObject({ message: 'refused at once' });
  });

  it('a kernel refusal in the middle of the client\'s runs: the text before it, then the KernelError', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    for (let i = 0; i < 5; i++) await ipvs.addService({ protocol: 'tcp', address: `10.5.0.${i}`, port: 80 });
    // The client's own runs, with the third GET_DEST refused: the fault is armed as the third service is handed over.
    const source: RulesSource = {
      services: () => ipvs.services(),
      destinations: () => Promise.reject(new Error('not to be called')),
      destinationsOfEach: (services) =>
        ipvs.destinationsOfEach(
          (function* () {
            let n = 0;
            for (const s of services) {
              if (n++ === 2) kernel.failNext(1, 'ENOMEM', 'IPVS_CMD_GET_DEST');
              yield s;
            }
          })(),
        ),
    };
    const { chunks, error } = await collectUntilError(iterateRules(source, { numeric: true }));
    expect(error).toMatchObject({ code: 'ENOMEM' });
    expect(chunks).toEqual(['-A -t 10.5.0.0:80 -s wlc\n-A -t 10.5.0.1:80 -s wlc\n']);
  });
});
