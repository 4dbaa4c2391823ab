// Saving a live table as ipvsadm rules text without holding it whole: the services are read (and sorted
// as ipvsadm sorts them), then each one's destinations are read and written out before the next. The text
// comes in chunks for a stream or a file; a 5 000-service table keeps one service's destinations in
// memory at a time, which under slow page faults (virtual machines, User-Mode Linux) is most of the cost.

import { serviceRulesText, type FormatRulesOptions } from './format.js';
import { sortServices } from './ordering.js';
import type { Destination, Service, ServiceKey } from '../ipvs/types.js';

/** What saving reads: the client (`Ipvs`) has both methods; any object with them will do. */
export interface RulesSource {
  services(): Promise<readonly Service[]>;
  destinations(key: ServiceKey): Promise<readonly Destination[]>;
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
  const chunkSize = options.chunkSize ?? 1 << 16;
  let services = await source.services();
  if (!options.noSort) services = sortServices(services);
  let text = '';
  for (const service of services) {
    let destinations: readonly Destination[];
    try {
      destinations = await source.destinations(keyOfService(service));
    } catch (err) {
      if (text !== '') yield text;
      throw err;
    }
    text += serviceRulesText(service, destinations, numeric, options.names, options.noSort ?? false);
    if (text.length >= chunkSize) {
      yield text;
      text = '';
    }
  }
  if (text !== '') yield text;
}
