// The kernel's table as a desired state: what `ipvs export` prints, and what a program can save and
// apply later (applying an export to the same kernel changes nothing). Services and destinations are
// in ipvsadm's listing order so that two exports of the same table are identical text. Options at
// their defaults are left out except the scheduler, forwarding, port and weight, which every entry
// states so that the file reads on its own.

import type { Ipvs } from '../client.js';
import type { Destination, DestinationSpec, Scheduler, Service, ServiceSpec, TunnelSpec, WithoutStats } from '../ipvs/types.js';
import { sortDestinations, sortServices } from '../rules/ordering.js';
import { flagNames } from '../ipvs/service.js';
import { onlyKnownOptions, optionKeys, signalOption } from '../ipvs/option-keys.js';
import { destinationRuns, keyOfService } from '../rules/save.js';
import { ValidationError } from '../ipvs/errors.js';
import { normaliseDesiredState } from './desired.js';
import type { DesiredService, DesiredState } from './state.js';

/** One service as the kernel reports it, as a desired-state entry (destinations given: managed). */
export function desiredServiceOf(service: WithoutStats<Service>, destinations: readonly WithoutStats<Destination>[]): DesiredService {
  const key = service.fwmark !== undefined && service.family === 'ipv4' ? { fwmark: service.fwmark } : keyOfService(service);
  const spec: ServiceSpec = { ...key, scheduler: service.scheduler as Scheduler };
  if (service.persistence) {
    const { timeout, netmask } = service.persistence;
    const hostMask = netmask === 128 || netmask === '255.255.255.255';
    spec.persistence = hostMask ? { timeout } : { timeout, netmask };
  }
  const flags = flagNames(service.rawFlags, service.scheduler);
  if (flags.length > 0) spec.flags = flags;
  if (service.persistenceEngine) spec.persistenceEngine = service.persistenceEngine as ServiceSpec['persistenceEngine'];
  return { ...spec, destinations: sortDestinations(destinations).map(desiredDestinationOf) };
}

/** One destination as the kernel reports it, as a desired-state entry. */
export function desiredDestinationOf(d: WithoutStats<Destination>): DestinationSpec {
  // 'local', 'bypass', and a method or tunnel type without a name (a number) are written as reported; they are
  // not inputs, so such an entry is refused when applied.
  const spec: DestinationSpec = { address: d.address, port: d.port, forwarding: d.forwarding as DestinationSpec['forwarding'], weight: d.weight };
  if (d.upperThreshold) spec.upperThreshold = d.upperThreshold;
  if (d.lowerThreshold) spec.lowerThreshold = d.lowerThreshold;
  if (d.forwarding === 'tunnel' && d.tunnel) {
    const tunnel: TunnelSpec = { type: d.tunnel.type };
    if (d.tunnel.type === 'gue') tunnel.port = d.tunnel.port;
    if (d.tunnel.type !== 'ipip' && d.tunnel.checksum !== 'nocsum') tunnel.checksum = d.tunnel.checksum;
    spec.tunnel = tunnel;
  }
  return spec;
}

/** Options of exportState() (and of `ipvs.exportState()`). */
export interface ExportStateOptions {
  /** Aborts the reads: the promise rejects with an AbortError. */
  signal?: AbortSignal;
}

const EXPORT_KEYS = optionKeys<ExportStateOptions>('', { signal: true });

/**
 * Read the whole table as a desired state (services first, then each one's destinations). The services are
 * collected, through `services()` when the client has it: they are all held anyway, to be sorted, and
 * collected they are decoded as they are read, where an iterated listing would be read ahead whole, undecoded,
 * for the listings started meanwhile (another export, a `daemons()`) to take their turn.
 */
export async function exportState(
  ipvs: Pick<Ipvs, 'iterateServices' | 'destinations'> & Partial<Pick<Ipvs, 'services' | 'destinationsOfEach'>>,
  options: ExportStateOptions = {},
): Promise<DesiredState> {
  onlyKnownOptions(options, EXPORT_KEYS);
  signalOption(options.signal);
  // A desired state has no statistics: they are not decoded (the objects lack `stats`, and are typed so).
  const opts = options.signal ? { signal: options.signal, stats: false as const } : { stats: false as const };
  let services: Array<WithoutStats<Service>>;
  if (ipvs.services) {
    services = await ipvs.services(opts);
  } else {
    services = [];
    for await (const s of ipvs.iterateServices(opts)) services.push(s);
  }
  const out: DesiredService[] = [];
  for await (const run of destinationRuns(ipvs, sortServices(services), keyOfService, opts)) {
    for (const { service, destinations } of run) out.push(desiredServiceOf(service, destinations));
  }
  return { services: out };
}

/**
 * Why `apply` (and `plan`) would refuse an exported state, one error per entry: the values Linux keeps that the
 * client does not take as input (docs/reconcile.md, "Limits": a gre tunnel with remcsum, a method or tunnel type
 * without a name, a persistence timeout of 0, a non-contiguous netmask ...). Each names its path in `state`
 * (`services[1].destinations[4].tunnel.checksum`); a service refused itself is named once, without its
 * destinations. Empty for what apply takes, which is checked once, as a plan would; the entries are looked at
 * one by one only when that fails.
 */
export function applyRefusals(state: DesiredState): ValidationError[] {
  let whole: ValidationError;
  try {
    normaliseDesiredState(state);
    return [];
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    whole = err;
  }
  const out: ValidationError[] = [];
  /** The refusal of a one-service state, its path `services[0]...` renamed to `path...`; undefined when taken. */
  const refusal = (one: DesiredService, from: string, path: string): ValidationError | undefined => {
    try {
      normaliseDesiredState({ services: [one] });
      return undefined;
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return err.field.startsWith(from) ? new ValidationError(path + err.field.slice(from.length), err.value, err.reason) : err;
    }
  };
  state.services.forEach((service, i) => {
    const { destinations, ...options } = service;
    const own = refusal({ ...options, ...(destinations ? { destinations: [] } : {}) }, 'services[0]', `services[${i}]`);
    if (own !== undefined) {
      out.push(own);
      return;
    }
    destinations?.forEach((d, j) => {
      const e = refusal({ ...options, destinations: [d] }, 'services[0].destinations[0]', `services[${i}].destinations[${j}]`);
      if (e !== undefined) out.push(e);
    });
  });
  // Refused as a whole for nothing of one entry (two entries alike, which a table read back never has): that refusal.
  return out.length > 0 ? out : [whole];
}
