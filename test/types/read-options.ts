// Compiled by the project's typecheck and, under exactOptionalPropertyTypes, by test/types/exact-optional.test.ts:
// the generic reads (services, destinations, their iterators, destinationsOfEach, a bound service's
// destinations) refuse at compile time the option keys they refuse at run time, literals with `stats` included,
// while wrappers and test doubles of them still compile.
import type {
  BoundService, Destination, HealthClient, Ipvs, OnlyKeysOf, ReadOptions, ReadResult, ReconcileClient, RulesSource, WithoutStats,
} from '../../src/index.js';

const key = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;

export async function misspelt(ipvs: Ipvs, bound: BoundService): Promise<void> {
  // @ts-expect-error timeout is not an option (timeoutMs is): refused at run time
  await ipvs.services({ stats: false, timeout: 1000 });
  // @ts-expect-error likewise beside stats: true
  await ipvs.services({ stats: true, timout: 1000 });
  // @ts-expect-error statz
  await ipvs.destinations(key, { stats: true, statz: false });
  // @ts-expect-error a read's options are not a plan's
  for await (const s of ipvs.iterateServices({ stats: false, prune: true })) void s;
  // @ts-expect-error nor for the destinations' iterator
  for await (const d of ipvs.iterateDestinations(key, { stats: false, signl: undefined })) void d;
  // @ts-expect-error runlength for runLength
  for await (const run of ipvs.destinationsOfEach([key], { stats: false, runlength: 4 })) void run;
  // @ts-expect-error runLength is destinationsOfEach's alone
  await ipvs.destinations(key, { stats: false, runLength: 4 });
  // @ts-expect-error and a bound service's destinations()
  await bound.destinations({ stats: false, timeout: 5 });
  const carried = { stats: false, prune: true };
  // @ts-expect-error an object that carries other keys too is refused as a whole at run time
  await ipvs.services(carried);
}

export async function allowed(ipvs: Ipvs, options: ReadOptions, signal: AbortSignal, flag: boolean): Promise<void> {
  const whole: BoundService[] = await ipvs.services({ stats: true, timeoutMs: 1000, signal });
  const bare: WithoutStats<Destination>[] = await ipvs.destinations(key, { stats: false });
  const either: Array<BoundService | WithoutStats<BoundService>> = await ipvs.services(options);
  const maybe: Array<Destination | WithoutStats<Destination>> = await ipvs.destinations(key, { stats: flag, signal });
  for await (const run of ipvs.destinationsOfEach([key], { runLength: 8, stats: false })) {
    const ds: WithoutStats<Destination>[] = run[0]!.destinations;
    void ds;
  }
  void [whole, bare, either, maybe];
}

/** Wrappers and doubles of the reads, as the decision on ReadResult wants them to stay. */
export function doubles(ipvs: Ipvs): [ReconcileClient, HealthClient, RulesSource] {
  const reconcile: ReconcileClient = {
    iterateServices: (o) => ipvs.iterateServices(o),
    services: (o) => ipvs.services(o),
    destinations: (k, o) => ipvs.destinations(k, o),
    destinationsOfEach: (s, o) => ipvs.destinationsOfEach(s, o),
    execute: (ops, o) => ipvs.execute(ops, o),
  };
  const health: HealthClient = {
    services: (o) => ipvs.services(o),
    destinations: (k, o) => ipvs.destinations(k, o),
    execute: (ops, o) => ipvs.execute(ops, o),
    service: (k, o) => ipvs.service(k, o),
    addService: (s, o) => ipvs.addService(s, o),
    deleteService: (k, o) => ipvs.deleteService(k, o),
  };
  const rules: RulesSource = { services: (o?: ReadOptions) => ipvs.services(o), destinations: (k, o?: ReadOptions) => ipvs.destinations(k, o) };
  return [reconcile, health, rules];
}

/** A generic wrapper states the reads' own constraint. */
export const generic = (ipvs: Ipvs) =>
  <O extends ReadOptions & OnlyKeysOf<ReadOptions, O> = object>(o?: O): Promise<Array<ReadResult<O, BoundService>>> => ipvs.services(o);
