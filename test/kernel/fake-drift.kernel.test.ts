// The fake kernel (src/testing/) against the real one, through seeded random sequences of public client calls
// (test/helpers/client-random-calls.ts): services, destinations and execute() batches of every kind, timeouts,
// zero, flush, sync daemons, every read, plan/apply/export; values valid and not. Each sequence runs on a client in
// a fresh network namespace of the real kernel (its network one of a few: NETWORKS) and on a client of a FakeKernel
// set up as that namespace is; every call must give the same result or the same error (class, code, message), and
// afterwards the two tables must read back the same (services, the destinations of each, timeouts, daemons, info),
// listings compared sorted since the kernel lists in hash order, which the fake does not model. The fixed cases of test/conformance/ run on both
// kernels too; this finds the cases nobody thought of.
// Runs only inside the UML sandbox (IPVS_KERNEL=1), as root.
//
// It runs for IPVS_FAKE_DRIFT_SECONDS of guest time (default 45), from the seed IPVS_FAKE_DRIFT_SEED (default 1;
// `random` picks one). The seed is printed, and every difference is reported with the calls of its sequence up to
// it, which reproduce it: make it a case of test/conformance/suite.ts or a unit test in test/testing/. A longer hunt:
//   IPVS_FAKE_DRIFT_SECONDS=900 IPVS_FAKE_DRIFT_SEED=random node scripts/sandbox.mjs --timeout 1500 \
//     --kernel-suite -- test/kernel/fake-drift.kernel.test.ts

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { FakeKernel, type FakeKernelOptions } from '../../src/testing/index.js';
import { FAKE_HISTORY_OPTIONS } from '../conformance/suite.js';
import { WIRE_INTERFACES } from '../conformance/wire-suite.js';
import { outcome, randomCall, runCall, sortedDaemons, sortedDestinations, sortedServices } from '../helpers/client-random-calls.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { createNamespaces, deleteNamespaces, HISTORY_NETWORKS, SUITE_NETWORK } from './netns.js';

const enabled = process.env.IPVS_KERNEL === '1';
const SECONDS = Number(process.env.IPVS_FAKE_DRIFT_SECONDS ?? 45);
const SEED_TEXT = process.env.IPVS_FAKE_DRIFT_SEED ?? '1';
const SEED = SEED_TEXT === 'random' ? Math.floor(Math.random() * 2 ** 32) : Number(SEED_TEXT);
/** Calls per sequence: enough to build a table worth reading, few enough to pin a difference down. */
const CALLS = 80;
/**
 * Namespaces are made and deleted this many at a time, each by one shell: under User-Mode Linux a process start
 * is dear, and one namespace per sequence made and deleted alone took half of the run.
 */
const NAMESPACES_AT_ONCE = 10;

/** The usual namespace of the real side: the conformance suites' (SUITE_NETWORK); the fake gets WIRE_INTERFACES, the same. */
const USUAL = SUITE_NETWORK;

/**
 * The networks a batch of namespaces gets: the usual one most of the time, else one of the histories of
 * test/conformance/suite.ts (what a namespace has had decides which IPv4 destinations Linux takes), each with the
 * fake's options that model it (FAKE_HISTORY_OPTIONS, which test/conformance.fake.test.ts uses too).
 */
const NETWORKS: ReadonlyArray<{ name: string; ip: readonly string[]; fake: FakeKernelOptions }> = [
  { name: 'usual', ip: USUAL, fake: { interfaces: WIRE_INTERFACES } },
  { name: 'usual', ip: USUAL, fake: { interfaces: WIRE_INTERFACES } },
  ...(['new', 'ipv6-only', 'ipv4-down', 'ipv4-removed', 'ipv6-down'] as const).map((h) => ({ name: h, ip: HISTORY_NETWORKS[h], fake: FAKE_HISTORY_OPTIONS[h] })),
  {
    name: 'lo-only',
    ip: ['link set lo up'],
    fake: { interfaces: [{ name: 'lo', mtu: 65536, addresses: ['127.0.0.1/8', '::1/128'] }] },
  },
];

/** The fake as the sandbox's kernel is: User-Mode Linux pads u64 counters and runs at HZ 100. */
const fakeKernel = (network: FakeKernelOptions): FakeKernel => new FakeKernel({ ...network, u64Padding: true, hz: 100 });

/** The whole table as read back, plain JSON; listings sorted (hash order, see above). */
async function readBack(ipvs: Ipvs): Promise<unknown> {
  const services = sortedServices(await ipvs.services());
  const destinations = [];
  for (const s of services) destinations.push(sortedDestinations(await ipvs.destinations(s)));
  return outcome({ services, destinations, timeouts: await ipvs.timeouts(), daemons: sortedDaemons(await ipvs.daemons()), info: await ipvs.info() });
}

interface Difference {
  sequence: number;
  /** The name of the namespace's network (NETWORKS). */
  network: string;
  /** The call that differed, or '(the table afterwards)'. */
  call: string;
  kernel: unknown;
  fake: unknown;
  /** The sequence's calls up to this one: run on a fresh namespace and a fresh fake, they show the difference. */
  calls: string[];
}

describe.runIf(enabled)('the fake kernel vs the real one, random client calls', () => {
  it(`seeded sequences give the same answers and leave the same table (seed ${SEED_TEXT})`, { timeout: (SECONDS + 120) * 1000 }, async () => {
    expect(Number.isInteger(SEED) && SEED >= 0).toBe(true);
    console.log(`fake-drift: seed ${SEED}, ${SECONDS} s`);
    const rand = seededRandom(SEED);
    const differences: Difference[] = [];
    const deadline = Date.now() + SECONDS * 1000;
    let calls = 0;
    /** The kernel's answers by method and outcome (`addDestination EINVAL`), printed: what the run covered. */
    const seen = new Map<string, number>();
    const time = { namespace: 0, kernel: 0, fake: 0 };
    let t = performance.now();
    let fresh: string[] = [];
    let used: string[] = [];
    // The networks are drawn from a stream of their own, so that the calls of a seed do not depend on them.
    const networks = seededRandom(SEED ^ 0x5eed);
    let network = NETWORKS[0]!;
    const nextNamespace = (sequence: number): string => {
      if (fresh.length === 0) {
        deleteNamespaces(used);
        used = [];
        network = NETWORKS[Math.floor(networks() * NETWORKS.length)]!;
        fresh = Array.from({ length: NAMESPACES_AT_ONCE }, (_, i) => `drift-${process.pid}-${sequence + i}`);
        createNamespaces(fresh, network.ip);
      }
      const ns = fresh.shift()!;
      used.push(ns);
      return ns;
    };
    const lap = (what: keyof typeof time): void => {
      const now = performance.now();
      time[what] += now - t;
      t = now;
    };
    try {
      for (let sequence = 0; Date.now() < deadline; sequence++) {
        lap('fake');
        const real = await Ipvs.open({ netns: nextNamespace(sequence) });
        lap('namespace');
        const fake = await Ipvs.open({ transport: fakeKernel(network.fake).transport() });
        try {
          const texts: string[] = [];
          let differed = false;
          for (let i = 0; i < CALLS; i++) {
            const call = randomCall(rand);
            texts.push(call.text);
            lap('fake');
            const expected = await runCall(call, real);
            lap('kernel');
            const actual = await runCall(call, fake);
            calls++;
            // The read-and-update-each loop is named by its writes (its outcome is the read's; each write's is in its list).
            const method = call.text.startsWith('for (') ? 'updateDestination(each)' : call.text.slice(0, call.text.indexOf('('));
            const kind = `${method} ${(expected as { code?: string } | null)?.code ?? 'ok'}`;
            seen.set(kind, (seen.get(kind) ?? 0) + 1);
            // The first difference of a sequence is reported; the rest of it follows from the first as often as not.
            if (!differed && JSON.stringify(actual) !== JSON.stringify(expected)) {
              differed = true;
              differences.push({ sequence, network: network.name, call: call.text, kernel: expected, fake: actual, calls: [...texts] });
            }
          }
          lap('fake');
          const kernelState = await readBack(real);
          lap('kernel');
          const fakeState = await readBack(fake);
          if (!differed && JSON.stringify(kernelState) !== JSON.stringify(fakeState)) {
            differences.push({ sequence, network: network.name, call: '(the table afterwards)', kernel: kernelState, fake: fakeState, calls: texts });
          }
        } finally {
          await fake.close();
          lap('fake');
          await real.close();
          lap('namespace');
        }
      }
    } finally {
      deleteNamespaces([...used, ...fresh]);
    }
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    console.log(`fake-drift: seed ${SEED}: ${calls} calls, ${differences.length} differences; namespaces ${s(time.namespace)}, kernel ${s(time.kernel)}, fake ${s(time.fake)}`);
    console.log(`fake-drift: the kernel's answers: ${[...seen].sort().map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const d of differences) console.log(`fake-drift: seed ${SEED}, sequence ${d.sequence} (network ${d.network}):\n  ${d.calls.join('\n  ')}\n  kernel: ${JSON.stringify(d.kernel)}\n  fake:   ${JSON.stringify(d.fake)}`);
    expect(differences, `seed ${SEED}`).toEqual([]);
  });
});
