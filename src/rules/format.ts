// Writing the ipvsadm rules format: exactly the text `ipvsadm -S` (given names) or `-Sn` prints for a
// table, services and destinations sorted as ipvsadm sorts them. Each service is one `-A` line followed by
// one `-a` line per destination; fields appear only when they differ from what ipvsadm -R would assume.

import { endpointText, type EndpointNames } from './endpoint-text.js';
import { sortDestinations, sortServices } from './ordering.js';
import {
  forwardingSwitch,
  isPersistent,
  persistenceMaskText,
  SCHED_FLAG_MASK,
  schedFlagsText,
  serviceFlagBits,
  tunnelRuleSuffix,
} from './service-facts.js';
import { IP_VS_SVC_F_ONEPACKET } from '../ipvs/constants.js';
import { ValidationError } from '../ipvs/errors.js';
import { booleanOption, onlyKnownOptions, optionKeys } from '../ipvs/option-keys.js';
import type { Destination, Service, WithoutStats } from '../ipvs/types.js';

/** A service with its destinations, as read from the kernel (with or without statistics: rules have none). */
export type ServiceWithDestinations = WithoutStats<Service> & { destinations: readonly WithoutStats<Destination>[] };

export interface FormatRulesOptions {
  /** Print addresses and ports as numbers (`ipvsadm -Sn`), even when `names` are given. Default false. */
  numeric?: boolean;
  /**
   * Names for the non-numeric form: a host-name lookup (synchronous) and the services database.
   * `await resolveEndpointNames(table)` makes the ones `ipvsadm -S` prints. Without names, numbers are
   * printed: `ipvsadm -Sn`'s text.
   */
  names?: EndpointNames;
}

/**
 * The `-t 10.0.0.1:80` / `-f 10 -6` part that names a service in save lines; `--xxx-service 10.0.0.1:80` for a
 * protocol other than TCP, UDP and SCTP, as ipvsadm 1.31 saves it (an option neither it nor parseRules takes).
 */
export function serviceRuleName(service: WithoutStats<Service>, numeric: boolean, names: EndpointNames | undefined): string {
  if (service.fwmark !== undefined && service.fwmark !== 0) {
    return service.family === 'ipv6' ? `-f ${service.fwmark} -6` : `-f ${service.fwmark}`;
  }
  const switchText = service.protocol === 'tcp' ? '-t' : service.protocol === 'udp' ? '-u' : service.protocol === 'sctp' ? '--sctp-service' : '--xxx-service';
  return `${switchText} ${endpointText(service.address!, service.port!, service.protocol, numeric, names)}`;
}

/** One `-A ...` line (without newline). */
export function formatServiceRule(service: WithoutStats<Service>, numeric: boolean, names: EndpointNames | undefined): string {
  let line = `-A ${serviceRuleName(service, numeric, names)} -s ${service.scheduler}`;
  const bits = serviceFlagBits(service);
  if (isPersistent(service)) {
    line += ` -p ${service.persistence?.timeout ?? 0}`;
    const mask = persistenceMaskText(service);
    if (mask !== undefined) line += ` -M ${mask}`;
  }
  if (service.persistenceEngine) line += ` --pe ${service.persistenceEngine}`;
  if (bits & IP_VS_SVC_F_ONEPACKET) line += ' -o';
  if (bits & SCHED_FLAG_MASK) line += ` -b ${schedFlagsText(service)}`;
  return line;
}

/** One `-a ...` line (without newline). */
export function formatDestinationRule(
  service: WithoutStats<Service>,
  destination: WithoutStats<Destination>,
  numeric: boolean,
  names: EndpointNames | undefined,
): string {
  return destinationRuleAfter(`-a ${serviceRuleName(service, numeric, names)} -r `, service, destination, numeric, names);
}

/** formatDestinationRule given its service's `-a ... -r ` head, which a service's lines share. */
function destinationRuleAfter(
  head: string,
  service: WithoutStats<Service>,
  destination: WithoutStats<Destination>,
  numeric: boolean,
  names: EndpointNames | undefined,
): string {
  const dname = endpointText(destination.address, destination.port, service.protocol, numeric, names);
  let line = `${head}${dname} ${forwardingSwitch(destination)} -w ${destination.weight}`;
  if (destination.forwarding === 'tunnel') line += tunnelRuleSuffix(destination);
  return line;
}

const FORMAT_KEYS = optionKeys<FormatRulesOptions>('', { numeric: true, names: true });

/**
 * The text `ipvsadm -S` prints for these services, given `names` from resolveEndpointNames (without them,
 * or with `numeric`, the text of `ipvsadm -Sn`).
 */
export function formatRules(services: readonly ServiceWithDestinations[], options: FormatRulesOptions = {}): string {
  onlyKnownOptions(options, FORMAT_KEYS);
  const numeric = booleanOption('numeric', options.numeric, false);
  checkTable(services);
  let out = '';
  for (const service of sortServices(services)) out += serviceRulesText(service, service.destinations, numeric, options.names, false);
  return out;
}

/**
 * The shape formatRules needs, checked before it is printed: from JavaScript, `formatRules(await
 * ipvs.services())` (whose services have a destinations() method, not an array) failed deep in the sorting
 * with "sortDestinations is not iterable", which names nothing the caller wrote.
 */
function checkTable(services: unknown): void {
  if (!Array.isArray(services)) throw new ValidationError('services', services, 'must be an array of services, each with the array of its destinations');
  for (let i = 0; i < services.length; i++) {
    const s = services[i] as { destinations?: unknown } | null;
    if (typeof s !== 'object' || s === null) throw new ValidationError(`services[${i}]`, s, 'must be a service read back, with the array of its destinations');
    if (!Array.isArray(s.destinations)) {
      const hint = typeof s.destinations === 'function'
        ? ': a service the client returns has a destinations() method instead; give { ...service, destinations: await ipvs.destinations(service) }'
        : '';
      throw new ValidationError(`services[${i}].destinations`, s.destinations, `must be the array of the service's destinations${hint}`);
    }
  }
}

/**
 * One service's `-A` line and its `-a` lines, each ending in a newline, destinations sorted as ipvsadm
 * sorts them unless `noSort`. The unit formatRules, iterateRules and `ipvs -S` print.
 */
export function serviceRulesText(
  service: WithoutStats<Service>,
  destinations: readonly WithoutStats<Destination>[],
  numeric: boolean,
  names: EndpointNames | undefined,
  noSort: boolean,
): string {
  let text = formatServiceRule(service, numeric, names) + '\n';
  const head = `-a ${serviceRuleName(service, numeric, names)} -r `;
  for (const d of noSort || destinations.length < 2 ? destinations : sortDestinations(destinations)) {
    text += destinationRuleAfter(head, service, d, numeric, names) + '\n';
  }
  return text;
}
