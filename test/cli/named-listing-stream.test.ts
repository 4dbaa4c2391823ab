// The named listings (`ipvs -L`, `ipvs -S`, without -n) stream as the numeric ones do: names are looked up a
// run of services at a time (not for the whole table first), the text is the same as with every name looked up
// first, the reading keeps pace with a slow reader, and a reader gone ends the listing.

import { describe, expect, it } from 'vitest';
import { listTitle, serviceRow, destinationRow, versionHeader } from '../../src/cli/listing.js';
import { NAMED_RUNS_AHEAD } from '../../src/cli/execute.js';
import { runCli } from '../../src/cli/run.js';
import { Ipvs } from '../../src/client.js';
import type { Operation } from '../../src/ipvs/operations.js';
import type { Destination, Service } from '../../src/ipvs/types.js';
import type { ListFormat } from '../../src/rules/command-line.js';
import { serviceRulesText } from '../../src/rules/format.js';
import { sortDestinations, sortServices } from '../../src/rules/ordering.js';
import type { EndpointNames } from '../../src/rules/endpoint-text.js';
import { resolveEndpointNames, staticResolver, type Resolver } from '../../src/rules/resolver.js';
import { FakeKernel } from '../../src/testing/index.js';
import { firstChunk, slowReader } from '../helpers/slow-reader.js';
import { TEST_SERVICES } from './harness.js';

/** A resolver that names some addresses, and counts its lookups. */
function countingResolver(hosts: Record<string, string>): Resolver & { calls: number } {
  const base = staticResolver(hosts, TEST_SERVICES);
  const r = {
    calls: 0,
    services: base.services,
    lookup: base.lookup,
    reverse: async (address: string): Promise<string | undefined> => {
      r.calls++;
      // Answered after a turn, as a real lookup is.
      await new Promise<void>((resolve) => setImmediate(resolve));
      return base.reverse(address);
    },
  };
  return r;
}

/** A varied table of `count` services (TCP, UDP, fwmark, IPv6; 0 to 3 destinations), written in the kernel's order. */
async function seed(kernel: FakeKernel, count: number): Promise<void> {
  const ops: Operation[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 7;
    const service =
      kind === 5
        ? ({ fwmark: 1000 + i } as const)
        : kind === 6
          ? ({ protocol: 'tcp', address: `2001:db8::${(i + 1).toString(16)}`, port: 443 } as const)
          : ({ protocol: kind === 4 ? 'udp' : 'tcp', address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: [80, 443, 8080, 0, 53][kind]! } as const);
    ops.push({ op: 'add-service', service: { ...service, scheduler: i % 3 === 0 ? 'rr' : 'wlc', ...(kind === 3 ? { persistence: { timeout: 600 } } : {}) } });
    const six = kind === 6;
    for (let d = 0; d < i % 4; d++) {
      const backend = (i * 7 + d * 13) % 40;
      ops.push({
        op: 'add-destination',
        service,
        destination: six
          ? { address: `2001:db8:1::${backend + 1}`, port: 443, weight: d + 1 }
          : { address: `192.168.${backend >> 4}.${(backend & 15) + 1}`, port: kind === 3 ? 0 : 80, weight: d + 1, forwarding: d === 1 ? 'masq' : 'route' },
      });
    }
  }
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  const results = await ipvs.execute(ops);
  expect(results.filter((r) => !('ok' in r) || !r.ok)).toEqual([]);
  await ipvs.close();
}

/** Names for a third of the backends and some services, one of them longer than a column. */
function hosts(): Record<string, string> {
  const out: Record<string, string> = {};
  for (let b = 0; b < 40; b += 3) out[`backend-${b}.example`] = `192.168.${b >> 4}.${(b & 15) + 1}`;
  out['a-rather-long-virtual-server-name.example'] = '10.0.0.7';
  out['vip.example'] = '10.0.1.1';
  return out;
}

const FORM: Readonly<Record<string, Partial<ListFormat>>> = {
  '': {},
  '--stats': { stats: true },
  '--rate': { rate: true },
  '--thresholds': { thresholds: true },
  '--persistent-conn': { persistentConn: true },
  '--tun-info': { tunInfo: true },
  '--stats --exact': { stats: true, exact: true },
  '--nosort': { noSort: true },
};

interface WholeTable {
  header: string;
  kernelOrder: { service: Service; destinations: Destination[] }[];
  sorted: { service: Service; destinations: Destination[] }[];
  names: EndpointNames;
}

/** The whole table read, and every name looked up, as the listings did before they streamed. */
async function readWhole(kernel: FakeKernel, resolver: Resolver): Promise<WholeTable> {
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  const kernelOrder: { service: Service; destinations: Destination[] }[] = [];
  for (const service of await ipvs.services()) kernelOrder.push({ service, destinations: await ipvs.destinations(service) });
  const names = await resolveEndpointNames(kernelOrder.map(({ service, destinations }) => ({ address: service.address, destinations })), resolver);
  const order = new Map(sortServices(kernelOrder.map((e) => e.service)).map((s, i) => [s, i]));
  const sorted = [...kernelOrder].sort((a, b) => order.get(a.service)! - order.get(b.service)!);
  const header = versionHeader(await ipvs.info());
  await ipvs.close();
  return { header, kernelOrder, sorted, names };
}

/** What the listing printed before it streamed: the whole table's text, formatted with every name. */
function wholeTableText(table: WholeTable, rule: boolean, form: Partial<ListFormat>): string {
  const format: ListFormat = { numeric: false, stats: false, rate: false, thresholds: false, persistentConn: false, noSort: false, exact: false, tunInfo: false, ...form };
  const { names } = table;
  let text = rule ? '' : table.header + listTitle(format);
  for (const { service, destinations } of format.noSort ? table.kernelOrder : table.sorted) {
    if (rule) {
      text += serviceRulesText(service, destinations, false, names, format.noSort);
      continue;
    }
    text += serviceRow(service, format, names);
    for (const d of format.noSort || destinations.length < 2 ? destinations : sortDestinations(destinations)) text += destinationRow(service, d, format, names);
  }
  return text;
}

async function run(kernel: FakeKernel, resolver: Resolver, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    ipvs: () => Ipvs.open({ transport: kernel.transport() }),
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    resolver,
  });
  return { code, stdout, stderr };
}

describe('the named listings of a table of several runs of services', () => {
  it('print what they printed with every name looked up first, in every form', async () => {
    const kernel = new FakeKernel();
    await seed(kernel, 300); // two runs of destinationsOfEach (256 services each)
    const resolver = countingResolver(hosts());
    const table = await readWhole(kernel, resolver);
    for (const [words, form] of Object.entries(FORM)) {
      const extra = words === '' ? [] : words.split(' ');
      for (const rule of [false, true]) {
        if (rule && words !== '') continue; // -S takes none of them (ipvsadm refuses --nosort with -S)
        const got = await run(kernel, resolver, [rule ? '-S' : '-L', ...extra]);
        const expected = wholeTableText(table, rule, form);
        expect(expected).toContain('backend-3.example');
        expect({ argv: [rule ? '-S' : '-L', ...extra], ...got }).toEqual({ argv: [rule ? '-S' : '-L', ...extra], code: 0, stdout: expected, stderr: '' });
      }
    }
  });

  it('hold a bounded number of runs while their names are looked up, not the table', async () => {
    const kernel = new FakeKernel();
    const count = 3000;
    const ops: Operation[] = [];
    for (let i = 0; i < count; i++) ops.push({ op: 'add-service', service: { protocol: 'tcp', address: `10.1.${i >> 8}.${i & 255}`, port: 80 } });
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.execute(ops);
    await ipvs.close();
    // Runs read beyond the one being printed, each of 256 services at most: the most a listing holds.
    const bound = (NAMED_RUNS_AHEAD + 1) * 256;
    for (const argv of [['-L'], ['-S']]) {
      kernel.requests.length = 0;
      // Lookups that get no answer until released: the listing reads on only as far as it may hold.
      const base = staticResolver({}, TEST_SERVICES);
      let held: (() => void)[] | undefined = [];
      let calls = 0;
      const resolver: Resolver = {
        ...base,
        reverse: async (address) => {
          calls++;
          if (held !== undefined) await new Promise<void>((resolve) => held!.push(resolve));
          return base.reverse(address);
        },
      };
      let stdout = '';
      const run = runCli(argv, { ipvs: () => Ipvs.open({ transport: kernel.transport() }), stdout: { write: (s: string) => (stdout += s) }, stderr: { write: () => {} }, resolver });
      // The services' listing takes many turns but is one request: first wait for the first run's lookups.
      for (let i = 0; i < 100_000 && calls === 0; i++) await turn();
      await quiet(kernel, { get calls() { return calls; } });
      const destinationsRead = kernel.requests.length - (argv[0] === '-L' ? 4 : 3); // the family, GET_INFO (again for -L's header), the services
      expect(destinationsRead).toBeGreaterThan(0);
      expect(destinationsRead).toBeLessThanOrEqual(bound);
      expect(calls).toBeLessThanOrEqual(bound);
      // More than one run's lookups wait at once: a lookup that gets no answer holds up one run, not each in turn.
      expect(calls).toBeGreaterThan(256);
      const waiting = held ?? [];
      held = undefined;
      for (const done of waiting) done();
      expect(await run).toBe(0);
      expect(calls).toBe(count);
      expect(stdout.split('\n').length).toBeGreaterThan(count);
    }
  });
});

describe('a named listing whose read fails midway', () => {
  it('prints the runs read before the failure, with their names, then the failure, as with every name looked up first', async () => {
    const kernel = new FakeKernel();
    await seed(kernel, 300);
    const resolver = countingResolver(hosts());
    const table = await readWhole(kernel, resolver);
    // The 280th service's destinations are refused: 279 services printed (the second run's first 23 too).
    kernel.failNext(1, 'ENOMEM', { command: 'IPVS_CMD_GET_DEST', after: 279 });
    const got = await run(kernel, resolver, ['-L']);
    const whole = wholeTableText(table, false, {});
    const lines = whole.split('\n');
    const firstOf = (n: number): number => lines.findIndex((line, i) => i > 2 && !line.startsWith('  ->') && --n < 0);
    expect(got.code).toBe(1);
    expect(got.stdout).toBe(lines.slice(0, firstOf(279)).join('\n') + '\n');
    expect(got.stderr).toBe('Memory allocation problem\n');
  });
});

describe('a named listing whose resolver fails', () => {
  it('ends with the resolver\'s message and status 1, as when every name was looked up first, not as a failed read of the table', async () => {
    const kernel = new FakeKernel();
    await seed(kernel, 20);
    const failure = new Error('resolver broke');
    const resolver: Resolver = { ...staticResolver({}, TEST_SERVICES), reverse: () => Promise.reject(failure) };
    let stderr = '';
    const code = await runCli(['-L'], { ipvs: () => Ipvs.open({ transport: kernel.transport() }), stdout: { write: () => {} }, stderr: { write: (s: string) => (stderr += s) }, resolver });
    expect({ code, stderr }).toEqual({ code: 1, stderr: 'ipvs: resolver broke\n' });
  });
});

const SERVICES = 4000;

const turn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Event-loop turns until neither the kernel nor the resolver gets anything new for 100 of them. */
async function quiet(kernel: FakeKernel, resolver: { calls: number }): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    const before = kernel.requests.length + resolver.calls;
    for (let j = 0; j < 100; j++) await turn();
    if (kernel.requests.length + resolver.calls === before) return;
  }
}

describe('a named listing written to a slow or closed stream', () => {
  for (const option of ['-S', '-L']) {
    it(`${option} reads the table and looks names up at the pace the stream takes the text`, async () => {
      const { kernel, stdout, written, text, release } = await slowReader(SERVICES);
      const resolver = countingResolver({ 'rs.example': '192.168.1.1' });
      const stderr: string[] = [];
      const run = runCli([option], { ipvs: () => Ipvs.open({ transport: kernel.transport() }), stdout, stderr: { write: (s: string) => stderr.push(s) }, resolver });
      await firstChunk(written);
      await quiet(kernel, resolver);
      expect(written()).toBeGreaterThan(0);
      // A chunk written and waiting (under 1 000 services' lines), the runs read ahead of it named (see the bound above).
      const readAhead = 1000 + (NAMED_RUNS_AHEAD + 1) * 256;
      expect(kernel.requests.length).toBeLessThan(readAhead);
      expect(resolver.calls).toBeLessThan(readAhead);
      release();
      expect(await run).toBe(0);
      expect(kernel.requests.length).toBe(SERVICES + (option === '-L' ? 4 : 3)); // the family, GET_INFO (again for -L's header), the services, each one's destinations
      expect(resolver.calls).toBe(SERVICES + Math.ceil(SERVICES / 256)); // each service's address, and the destination's once a run
      expect(stderr).toEqual([]);
      const lines = text().split('\n');
      expect(lines).toHaveLength(2 * SERVICES + (option === '-L' ? 3 : 0) + 1);
      expect(lines.filter((l) => l.includes('rs.example:http'))).toHaveLength(SERVICES);
    });
  }

  it('ends when the stream fails (its reader gone), the rest of the table unread and unnamed', async () => {
    const { kernel, stdout, written } = await slowReader(SERVICES);
    const resolver = countingResolver({});
    stdout.on('error', () => {});
    const run = runCli(['-L'], { ipvs: () => Ipvs.open({ transport: kernel.transport() }), stdout, stderr: { write: () => {} }, resolver });
    await firstChunk(written);
    stdout.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(await run).toBe(1);
    expect(kernel.requests.length).toBeLessThan(1000 + (NAMED_RUNS_AHEAD + 1) * 256);
    expect(resolver.calls).toBeLessThan(1000 + (NAMED_RUNS_AHEAD + 1) * 256);
  });
});
