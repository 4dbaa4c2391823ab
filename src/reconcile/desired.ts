// The desired state as planning holds it: every service validated and normalised, by id, refused as a
// whole (naming the path of the bad field) before anything is read from the kernel. Every destination is
// validated up front too, but a list written the way the kernel reports it (plain: canonical addresses, no
// tunnels, the usual case) keeps no normal forms: it is compared with the kernel's as written, and its
// normal forms are built only for a service the plan has to change.

import { ValidationError } from '../ipvs/errors.js';
import type { Destination, DestinationSpec } from '../ipvs/types.js';
import { validateServiceValues, type WireService } from '../ipvs/validate.js';
import {
  atPathError,
  checkDesiredDestination,
  DesiredDestinations,
  kernelDestinationEquals,
  normalDesiredDestination,
  normalServiceOf,
  samePlainDestinations,
  samePlainKey,
  type NormalDestination,
  type NormalService,
} from './normalize.js';
import { checkShape, takeFreshlyChecked, type DesiredService, type DesiredState } from './state.js';

/** Plain lists longer than this get their normal forms at once: they are indexed, not searched. */
const PLAIN_MAX = 16;

export interface DesiredEntry {
  norm: NormalService;
  /** Its index in the desired state's services (for errors: `services[index]`). */
  index: number;
  /** The service as given (its destinations are validated against it again when their normal forms are built). */
  spec: DesiredService;
  /** The destinations as given, already validated; undefined: destinations are not managed. */
  specs: readonly DestinationSpec[] | undefined;
  /** Their normal forms: built at once for a list that is not plain, else when first asked (desiredDestinationsOf). */
  dests: DesiredDestinations | undefined;
  /** The service's port (0 for fwmark services): a destination's port when it gives none. */
  port: number;
}

/** The desired state, checked and validated, by service id. Throws ValidationError naming the path. */
export function normaliseDesiredState(desired: DesiredState): Map<string, DesiredEntry> {
  const state = takeFreshlyChecked(desired) ? desired : checkShape(desired);
  const out = new Map<string, DesiredEntry>();
  const services = state.services;
  // A big state has thousands of services and tens of thousands of destinations: plain loops, and no closure,
  // path text or id text per one unless it is refused.
  for (let i = 0; i < services.length; i++) {
    const svc = services[i]!;
    // The wire form validates the destinations and is dropped with this iteration; only the normal form is kept.
    const wire = validateService(svc, i);
    const norm = normalServiceOf(wire);
    const earlier = out.get(norm.id);
    if (earlier) throw new ValidationError(`services[${i}]`, norm.key, `the service ${norm.id} is also services[${earlier.index}]`);
    const list = svc.destinations;
    const dests = list !== undefined && !checkPlain(wire, list, i) ? buildDestinations(wire, list, i) : undefined;
    out.set(norm.id, { norm, index: i, spec: svc, specs: list, dests, port: wire.port });
  }
  return out;
}

function validateService(svc: DesiredService, i: number): WireService {
  try {
    // The field names were checked with the state's shape (checkShape), against the same lists.
    return validateServiceValues(svc);
  } catch (err) {
    throw atPathError(err, `services[${i}]`);
  }
}

/**
 * Whether the destinations of services[i] are plain (each written as the kernel reports it, no two alike, few
 * enough to search), validating them as it goes. It stops at the first that is not: buildDestinations then
 * validates the list from its start, so a state is refused for the same first fault either way.
 */
function checkPlain(wire: WireService, list: readonly DestinationSpec[], i: number): boolean {
  if (list.length > PLAIN_MAX) return false;
  for (let j = 0; j < list.length; j++) {
    const spec = list[j]!;
    let plain: boolean;
    try {
      plain = checkDesiredDestination(wire, spec);
    } catch (err) {
      throw atPathError(err, `services[${i}].destinations[${j}]`, 'destination.');
    }
    if (!plain) return false;
    for (let k = 0; k < j; k++) if (samePlainKey(list[k]!, spec, wire.port)) return false;
  }
  return true;
}

function buildDestinations(wire: WireService, list: readonly DestinationSpec[], i: number): DesiredDestinations {
  const dests = new DesiredDestinations(list.length);
  for (let j = 0; j < list.length; j++) {
    let dn: NormalDestination;
    try {
      dn = normalDesiredDestination(wire, list[j]!);
    } catch (err) {
      throw atPathError(err, `services[${i}].destinations[${j}]`, 'destination.');
    }
    if (dests.add(dn) !== undefined) throw twinError(wire, list, i, j, dn);
  }
  return dests;
}

/**
 * The error for services[i].destinations[j], which repeats an earlier one. Apart from the loop: a closure there
 * would make V8 allocate a context for every destination of the state.
 */
function twinError(wire: WireService, list: readonly DestinationSpec[], i: number, j: number, dn: NormalDestination): ValidationError {
  let before = 0;
  while (before < j && normalDesiredDestination(wire, list[before]!).id !== dn.id) before++;
  return new ValidationError(`services[${i}].destinations[${j}]`, dn.key, `the destination ${dn.id} is also services[${i}].destinations[${before}]`);
}

/** The normal forms of the entry's destinations (undefined when not managed), built on first use. */
export function desiredDestinationsOf(entry: DesiredEntry): DesiredDestinations | undefined {
  if (entry.specs === undefined) return undefined;
  if (entry.dests === undefined) {
    // Validated again: the values were checked when normalised, and this is what the plan will send.
    entry.dests = buildDestinations(validateService(entry.spec, entry.index), entry.specs, entry.index);
  }
  return entry.dests;
}

/**
 * Whether the kernel holds exactly the entry's destinations (which must be managed), each equal in every
 * option: nothing to do for them. Most services of a big table are like that, so this is decided without the
 * map the planner builds for a service that differs, and for a plain list without normal forms at all.
 */
export function sameDesiredDestinations(list: readonly Destination[], entry: DesiredEntry): boolean {
  if (entry.dests === undefined) return samePlainDestinations(list, entry.specs!, entry.port);
  const want = entry.dests;
  // The kernel never lists a destination twice: equal counts and every kernel one found and equal mean equal sets.
  if (list.length !== want.size) return false;
  for (const d of list) {
    const nd = want.findKernel(d);
    if (nd === undefined || !kernelDestinationEquals(d, nd)) return false;
  }
  return true;
}
