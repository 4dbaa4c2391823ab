// Saving a live table as ipvsadm rules text without holding it whole: the services are read (and sorted
// as ipvsadm sorts them), then their destinations in runs (the client's destinationsOfEach; else one
// service at a time), each run written out before the next is read. The text comes in chunks for a stream
// or a file; a 5 000-service table keeps one run of destinations in memory at a time, which under slow
// page faults (virtual machines, User-Mode Linux) matters.

import { serviceRulesText, type FormatRulesOptions } from './format.js';
import { sortServices } from './ordering.js';
import { resolveEndpointNames, type Resolver } from './resolver.js';
import { keyOfService } from '../ipvs/service.js';
import { ValidationError } from '../ipvs/errors.js';
import { booleanOption, onlyKnownOptions, optionKeys } from '../ipvs/option-keys.js';
import type { Destination, ReadOptions, Service, ServiceKey, WithoutStats } from '../ipvs/types.js';

export { keyOfService };

/** A destination as a read returns it: with statistics, or without when the read asked for none. */
export type ReadDestination = Destination | WithoutStats<Destination>;

/**
 * What reading the destinations of services of type S needs: the client (`Ipvs`) has both methods;
 * any object with destinations() will do. A read given `stats: false` may leave the statistics out.
 */
export interface DestinationSource<S> {
  destinations(key: ServiceKey, options?: ReadOptions): Promise<readonly ReadDestination[]>;
  /** When present, used instead of destinations() per service: runs of services with their destinations. */
  destinationsOfEach?(services: Iterable<S>, options?: ReadOptions): AsyncIterable<ReadonlyArray<{ service: S; destinations: readonly ReadDestination[] }>>;
}

/** What saving reads: the services, and their destinations. */
export interface RulesSource extends DestinationSource<Service | WithoutStats<Service>> {
  /** Given `{ stats: false }` by iterateRules: a source may leave the statistics out (the client does). */
  services(options?: ReadOptions): Promise<ReadonlyArray<Service | WithoutStats<Service>>>;
}

/**
 * How saving reads: the rules text has no statistics, so the client is asked not to decode them (a fifth of
 * reading a big table). The objects may then lack `stats` (a RulesSource's reads are typed so); nothing here reads it.
 */
const CONFIG_ONLY: ReadOptions = Object.freeze({ stats: false });

/**
 * The destinations of `services` in order, in runs: through the source's destinationsOfEach when it has
 * one, else one destinations() call (and a run of one) per service, `keyOf` naming each. A failed read
 * ends the iteration after the runs before it. What save, export, reconcile and the CLI's listings read by.
 */
export async function* destinationRuns<S>(
  source: DestinationSource<S>,
  services: readonly S[],
  keyOf: (service: S) => ServiceKey,
  options?: ReadOptions,
): AsyncGenerator<ReadonlyArray<{ service: S; destinations: readonly ReadDestination[] }>, void, undefined> {
  if (source.destinationsOfEach !== undefined) {
    yield* source.destinationsOfEach(services, options);
    return;
  }
  for (const service of services) yield [{ service, destinations: await source.destinations(keyOf(service), options) }];
}

export interface IterateRulesOptions extends FormatRulesOptions {
  /**
   * Where host and service names come from for the non-numeric form, looked up a run of services at a
   * time as the table is read: `systemResolver()` gives what `ipvsadm -S` prints. Not used with `numeric`,
   * nor when `names` is given; without both, numbers are printed (`ipvsadm -Sn`'s text).
   */
  resolver?: Resolver;
  /** Keep the kernel's order instead of ipvsadm's sort (`--nosort`). Default false. */
  noSort?: boolean;
  /** Yield text once a chunk holds about this many characters. Default 65 536. */
  chunkSize?: number;
}

const ITERATE_KEYS = optionKeys<IterateRulesOptions>('', { numeric: true, names: true, resolver: true, noSort: true, chunkSize: true });

/**
 * The text `ipvsadm -S` (given a `resolver`, or `names`) or `ipvsadm -Sn` prints for the table `source`
 * holds, in chunks; joined, the chunks equal formatRules of the same table with the same names. A read that fails ends the iteration with its error, after
 * the text of the services read before it.
 */
export async function* iterateRules(source: RulesSource, options: IterateRulesOptions = {}): AsyncGenerator<string, void, undefined> {
  onlyKnownOptions(options, ITERATE_KEYS);
  const numeric = booleanOption('numeric', options.numeric, false);
  const noSort = booleanOption('noSort', options.noSort, false);
  const chunkSize = options.chunkSize ?? 1 << 16;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new ValidationError('chunkSize', chunkSize, 'must be an integer number of characters, 1 or more');
  let services = await source.services(CONFIG_ONLY);
  if (!noSort) services = sortServices(services);
  let text = '';
  try {
    for await (const run of destinationRuns(source, services, keyOfService, CONFIG_ONLY)) {
      const names = numeric || options.names !== undefined || options.resolver === undefined
        ? options.names
        : await resolveEndpointNames(run.map(({ service, destinations }) => ({ address: service.address, destinations })), options.resolver);
      for (const { service, destinations } of run) {
        text += serviceRulesText(service, destinations, numeric, names, noSort);
        if (text.length >= chunkSize) {
          yield text;
          text = '';
        }
      }
    }
  } catch (err) {
    if (text !== '') yield text;
    throw err;
  }
  if (text !== '') yield text;
}
