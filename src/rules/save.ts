// Saving a live table as ipvsadm rules text without holding it whole: the services are read (and sorted
// as ipvsadm sorts them), then their destinations in runs (the client's destinationsOfEach; else one
// service at a time), each run written out before the next is read. The text comes in chunks for a stream
// or a file; a 5 000-service table keeps one run of destinations in memory at a time, which under slow
// page faults (virtual machines, User-Mode Linux) matters.

import { serviceRulesText, type FormatRulesOptions } from './format.js';
import { sortServices } from './ordering.js';
import type { Destination, Service, ServiceKey } from '../ipvs/types.js';

/** What saving reads: the client (`Ipvs`) has these methods; any object with the first two will do. */
export interface RulesSource {
  services(): Promise<readonly Service[]>;
  destinations(key: ServiceKey): Promise<readonly Destination[]>;
  /** When present, used instead of destinations() per service: runs of services with their destinations. */
  destinationsOfEach?(services: Iterable<Service>): AsyncIterable<ReadonlyArray<{ service: Service; destinations: readonly Destination[] }>>;
}

export interface IterateRulesOptions extends FormatRulesOptions {
  /** Keep the kernel's order instead of ipvsadm's sort (`--nosort`). Default false. */
  noSort?: boolean;
  /** Yield text once a chunk holds about this many characters. Default 65 536. */
  chunkSize?: number;
}

/** The key naming a service the kernel reported (what its destinations are read by). */
export function keyOfService(service: Service): ServiceKey {
  if (service.fwmark !== undefined && service.fwmark !== 0) return { fwmark: service.fwmark, family: service.family };
  return { protocol: service.protocol!, address: service.address!, port: service.port! };
}

/**
 * The text `ipvsadm -S` (`-Sn` with numeric) prints for the table `source` holds, in chunks; joined, the
 * chunks equal formatRules of the same table. A read that fails ends the iteration with its error, after
 * the text of the services read before it.
 */
export async function* iterateRules(source: RulesSource, options: IterateRulesOptions = {}): AsyncGenerator<string, void, undefined> {
  const numeric = options.numeric ?? false;
  const noSort = options.noSort ?? false;
  const chunkSize = options.chunkSize ?? 1 << 16;
  let services = await source.services();
  if (!noSort) services = sortServices(services);
  let text = '';
  if (source.destinationsOfEach !== undefined) {
    try {
      for await (const run of source.destinationsOfEach(services)) {
        for (const { service, destinations } of run) {
          text += serviceRulesText(service, destinations, numeric, options.names, noSort);
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
    return;
  }
  for (const service of services) {
    let destinations: readonly Destination[];
    try {
      destinations = await source.destinations(keyOfService(service));
    } catch (err) {
      if (text !== '') yield text;
      throw err;
    }
    text += serviceRulesText(service, destinations, numeric, options.names, noSort);
    if (text.length >= chunkSize) {
      yield text;
      text = '';
    }
  }
  if (text !== '') yield text;
}
