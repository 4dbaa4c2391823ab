// Planning: the minimal list of operations that turns what the kernel holds into the desired state.
// The desired state is normalised first (and refused as a whole, naming the path of the bad field,
// before anything is read); the kernel's table is read once, fetching destinations only of the services
// the plan needs them for; then each service and destination is compared in normalised form (destination
// lists written as the kernel reports them are compared as written: see desired.ts). A changed
// option is an update (a weight change is one update-destination, never delete+add); a different key
// (protocol, address, port, fwmark, family) is a different service. Steps carry the steps they depend
// on and a phase: services are added and updated first, then destinations added and updated (adding
// capacity before removing any), then destinations deleted, then services deleted.

import type { Ipvs } from '../client.js';
import { ValidationError } from '../ipvs/errors.js';
import { onlyKnownOptions, optionKeys, signalOption, type OptionKeys } from '../ipvs/option-keys.js';
import type { Operation } from '../ipvs/operations.js';
import type { Destination, DestinationKey, ReadOptions, Service, ServiceKey } from '../ipvs/types.js';
import { decideDrain, drainClock, drainId, drainPolicy, nowOption, connectionsText, type DrainOption, type DrainPolicy, type DrainState } from './drain.js';
import { desiredDestinationsOf, normaliseDesiredState, sameDesiredDestinations, type DesiredEntry } from './desired.js';
import {
  destinationDifferences,
  destinationSpecOf,
  destinationSummary,
  normalKernelDestination,
  normalKernelService,
  sameDestination,
  sameService,
  serviceDifferences,
  serviceSpecOf,
  serviceSummary,
  type NormalDestination,
  type NormalService,
} from './normalize.js';
import type { DesiredState } from './state.js';
import { destinationRuns } from '../rules/save.js';

/**
 * What planning needs from the client. `Ipvs` has it; a test double may too. `services()`, when there,
 * reads the services in one collected dump instead of one yield per service; `destinationsOfEach()`
 * reads the destinations of all that need them without a promise per service.
 */
export type ReconcileClient = Pick<Ipvs, 'iterateServices' | 'destinations' | 'execute'> & Partial<Pick<Ipvs, 'services' | 'destinationsOfEach'>>;

export interface PlanOptions {
  /**
   * Delete services the kernel holds that the desired state does not list. `true` for all of them, or a
   * predicate choosing which (e.g. the ones in an address range this program owns; it sees services with
   * their statistics, which a plan otherwise does not read). Default false: unlisted services are left alone.
   */
  prune?: boolean | ((service: Service) => boolean);
  /** Remove destinations gracefully (weight 0 first, delete when idle); see DrainOption. Default: delete at once. */
  drain?: DrainOption;
  /** The clock for drain timeouts, in ms since the epoch. Default: the wall clock at process start plus the monotonic time since. */
  now?: number;
  signal?: AbortSignal;
}

/** Phases run in this order; the steps of one phase are pipelined together. */
export const PHASES = Object.freeze(['services', 'destinations', 'destination-deletes', 'service-deletes'] as const);
export type Phase = (typeof PHASES)[number];

export interface PlanStep {
  /** What execute() receives. */
  operation: Operation;
  /** The object, e.g. 'tcp 10.0.0.1:80' or 'tcp 10.0.0.1:80 -> 192.168.1.2:80'. */
  target: string;
  /** What changes and why, e.g. 'weight 1 -> 3' or 'not in the desired state'. */
  detail: string;
  phase: Phase;
  /** Indexes in `Plan.steps` of the steps that must succeed before this one is attempted. */
  dependsOn: number[];
  /** Set on the weight-0 update that starts draining a destination. */
  drain?: boolean;
  /**
   * Set on the delete that ends a drain begun earlier: when it began. Should the delete fail, apply hands
   * this time back in its drainState, so a timeout is not counted again from the next run.
   */
  drainSince?: number;
}

/** A destination on its way out: weight 0, waiting to become idle or for its drain timeout. */
export interface DrainingDestination {
  service: ServiceKey;
  destination: DestinationKey;
  target: string;
  activeConns: number;
  inactiveConns: number;
  /** When draining began (ms since the epoch). */
  since: number;
  /** The service goes too once its draining destinations are gone (it is being pruned). */
  serviceRemoved: boolean;
}

export interface Plan {
  /** In execution order. */
  steps: PlanStep[];
  /** The same operations, for execute(). */
  operations: Operation[];
  /** Destinations that are draining after this plan is carried out (weight 0 now or already). */
  draining: DrainingDestination[];
  /** Services in the kernel that the desired state does not list and that are left alone. */
  unmanaged: ServiceKey[];
  /** Drain start times to hand back to the next plan or apply (`drain: { state }`). */
  drainState: DrainState;
  /** Nothing to do and nothing draining: the kernel holds the desired state. */
  inSync: boolean;
}

/** One service of the kernel's table, with its destinations when they were read. */
export interface CurrentService {
  service: Service;
  norm: NormalService;
  destinations: Destination[] | undefined;
  /**
   * The destinations were read and readCurrent's `keep` found them needing no change, so they were not
   * kept (`destinations` is undefined). Only meaningful against the desired state `keep` judged by.
   */
  inSync?: boolean;
}

function pruneTest(option: PlanOptions['prune']): (service: Service) => boolean {
  if (option === undefined || option === false) return () => false;
  if (option === true) return () => true;
  if (typeof option === 'function') return option;
  throw new ValidationError('prune', option, 'must be a boolean or a predicate on services');
}

/**
 * Read the kernel's table: every service, and the destinations of those services for which `needs`
 * says so. Services are read in full first: a socket carries one dump at a time. `keep`, when given,
 * sees each service's destinations as they arrive; a list it returns false for is dropped and the
 * service marked `inSync` (plan() drops the lists that already match the desired state, which is most
 * of them: holding 20 000 destinations until planning made every garbage collection of the read copy them).
 */
export function readCurrent(
  ipvs: ReconcileClient,
  needs: (id: string, service: Service) => boolean,
  signal?: AbortSignal,
  keep?: (id: string, destinations: readonly Destination[]) => boolean,
): Promise<Map<string, CurrentService>> {
  return readTable(ipvs, needs, signal, keep, true, true);
}

/**
 * readCurrent, with the statistics of services and of destinations each read only when asked. Without them
 * the objects lack `stats` although typed whole: plan() asks for them whenever code other than its own can
 * see the objects (a prune predicate sees services, a drain's idle predicate destinations), and nothing of
 * its own reads them. Skipping them is about a fifth of reading a 5 000-service table in a cold process.
 */
async function readTable(
  ipvs: ReconcileClient,
  needs: (id: string, service: Service) => boolean,
  signal: AbortSignal | undefined,
  keep: ((id: string, destinations: readonly Destination[]) => boolean) | undefined,
  serviceStats: boolean,
  destinationStats: boolean,
): Promise<Map<string, CurrentService>> {
  const out = new Map<string, CurrentService>();
  const serviceOptions = readOptions(signal, serviceStats);
  const add = (service: Service): void => {
    const norm = normalKernelService(service);
    out.set(norm.id, { service, norm, destinations: undefined });
  };
  // `as Service` where the stats were left out: see above.
  if (ipvs.services) for (const service of await ipvs.services(serviceOptions)) add(service as Service);
  else for await (const service of ipvs.iterateServices(serviceOptions)) add(service as Service);
  const reading: CurrentService[] = [];
  for (const entry of out.values()) if (needs(entry.norm.id, entry.service)) reading.push(entry);
  let i = 0;
  const options = readOptions(signal, destinationStats);
  for await (const run of destinationRuns(ipvs, reading.map((entry) => entry.norm.key), (key) => key, options)) {
    // The lists are the reader's own arrays, handed over: CurrentService keeps them as they came.
    for (const pair of run) {
      // Typed whole where the stats were left out: see above.
      const destinations = pair.destinations as Destination[];
      const entry = reading[i++]!;
      if (keep !== undefined && !keep(entry.norm.id, destinations)) entry.inSync = true;
      else entry.destinations = destinations;
    }
  }
  return out;
}

function readOptions(signal: AbortSignal | undefined, stats: boolean): ReadOptions | undefined {
  if (stats) return signal ? { signal } : undefined;
  return signal ? { signal, stats } : { stats };
}

const PLAN_KEYS = optionKeys<PlanOptions>('', { prune: true, drain: true, now: true, signal: true });

/**
 * Plan options with their keys and the values of `now` and `signal` checked (`prune` and `drain` are
 * checked where they are read), before anything is read: a `now` that is not a number would make every
 * drain's age NaN, and a bad signal would otherwise be refused only by the client's reads. Internal.
 */
export function checkedPlanOptions<O extends PlanOptions>(options: O, keys: OptionKeys = PLAN_KEYS): O & object {
  onlyKnownOptions(options, keys);
  if (options.now !== undefined) nowOption(options.now);
  signalOption(options.signal);
  return options;
}

/** Plan against the kernel: read what it holds, then compute the steps (see planAgainst). */
export async function plan(ipvs: ReconcileClient, desired: DesiredState, options: PlanOptions = {}): Promise<Plan> {
  return planChecked(ipvs, desired, checkedPlanOptions(options));
}

/** plan() with options already checked: apply() passes its own, which have more keys. Internal. */
export async function planChecked(ipvs: ReconcileClient, desired: DesiredState, options: PlanOptions): Promise<Plan> {
  const wanted = normaliseDesiredState(desired);
  const prune = pruneTest(options.prune);
  const now = options.now ?? drainClock();
  const draining = drainPolicy(options.drain, now) !== undefined;
  const current = await readTable(
    ipvs,
    (id, service) => {
      const w = wanted.get(id);
      if (w) return w.specs !== undefined;
      return draining && prune(service);
    },
    options.signal,
    (id, destinations) => {
      const w = wanted.get(id);
      return w?.specs === undefined || !sameDesiredDestinations(destinations, w);
    },
    typeof options.prune === 'function',
    draining,
  );
  return planFrom(current, wanted, { ...options, now });
}

interface Draft {
  step: Omit<PlanStep, 'dependsOn'>;
  deps: Draft[];
  index: number;
}

/** The steps from a table already read (see readCurrent) to a normalised desired state. Pure. */
export function planAgainst(current: ReadonlyMap<string, CurrentService>, wanted: ReadonlyMap<string, DesiredEntry>, options: PlanOptions = {}): Plan {
  return planFrom(current, wanted, checkedPlanOptions(options));
}

function planFrom(current: ReadonlyMap<string, CurrentService>, wanted: ReadonlyMap<string, DesiredEntry>, options: PlanOptions): Plan {
  const policy = drainPolicy(options.drain, options.now ?? drainClock());
  const prune = pruneTest(options.prune);
  const drafts: Draft[] = [];
  const add = (step: Omit<PlanStep, 'dependsOn'>, deps: Draft[] = []): Draft => {
    const d: Draft = { step, deps, index: -1 };
    drafts.push(d);
    return d;
  };
  const drainingOut: DrainingDestination[] = [];
  const drainState: DrainState = {};
  const unmanaged: ServiceKey[] = [];

  /** Remove one destination no longer wanted; returns its delete step, or undefined while it drains. */
  const remove = (svc: CurrentService, d: Destination, serviceRemoved: boolean, pol: DrainPolicy | undefined): Draft | undefined => {
    const nd = normalKernelDestination(d);
    const id = drainId(svc.norm.id, nd.id);
    const target = id;
    const del = (why: string, drainSince?: number): Draft =>
      add({
        operation: { op: 'delete-destination', service: svc.norm.key, destination: nd.key }, target, detail: why, phase: 'destination-deletes',
        ...(drainSince !== undefined ? { drainSince } : {}),
      });
    if (!pol) return del(serviceRemoved ? 'its service is not in the desired state' : 'not in the desired state');
    const decision = decideDrain(pol, id, d, svc.norm.key);
    if (decision.action === 'delete') return del(decision.why, decision.since);
    if (decision.action === 'quiesce') {
      add({
        operation: { op: 'update-destination', service: svc.norm.key, destination: destinationSpecOf(nd, 0) },
        target,
        detail: `drain: weight ${d.weight} -> 0 (${connectionsText(d)})`,
        phase: 'destinations',
        drain: true,
      });
    }
    drainState[id] = decision.since;
    drainingOut.push({
      service: svc.norm.key, destination: nd.key, target, activeConns: d.activeConns, inactiveConns: d.inactiveConns,
      since: decision.since, serviceRemoved,
    });
    return undefined;
  };

  for (const [id, want] of wanted) {
    const have = current.get(id);
    if (!have) {
      const created = add({ operation: { op: 'add-service', service: serviceSpecOf(want.norm) }, target: id, detail: serviceSummary(want.norm), phase: 'services' });
      for (const nd of desiredDestinationsOf(want)?.list ?? []) {
        add(
          { operation: { op: 'add-destination', service: want.norm.key, destination: destinationSpecOf(nd) }, target: `${id} -> ${nd.id}`, detail: destinationSummary(nd), phase: 'destinations' },
          [created],
        );
      }
      continue;
    }
    if (!sameService(have.norm, want.norm)) {
      add({ operation: { op: 'update-service', service: serviceSpecOf(want.norm) }, target: id, detail: serviceDifferences(have.norm, want.norm).join(', '), phase: 'services' });
    }
    if (want.specs === undefined) continue;
    if (have.inSync === true || sameDesiredDestinations(have.destinations ?? [], want)) continue;
    const dests = desiredDestinationsOf(want)!;
    const kernelDests = new Map<string, { kd: Destination; knd: NormalDestination }>();
    for (const d of have.destinations ?? []) {
      const knd = normalKernelDestination(d);
      kernelDests.set(knd.id, { kd: d, knd });
    }
    for (const nd of dests.list) {
      const did = nd.id;
      const found = kernelDests.get(did);
      if (!found) {
        add({ operation: { op: 'add-destination', service: want.norm.key, destination: destinationSpecOf(nd) }, target: `${id} -> ${did}`, detail: destinationSummary(nd), phase: 'destinations' });
        continue;
      }
      const knd = found.knd;
      if (!sameDestination(knd, nd)) {
        const target = `${id} -> ${did}`;
        add({ operation: { op: 'update-destination', service: want.norm.key, destination: destinationSpecOf(nd) }, target, detail: destinationDifferences(knd, nd).join(', '), phase: 'destinations' });
      }
    }
    for (const { kd } of kernelDests.values()) {
      if (dests.findKernel(kd) === undefined) remove(have, kd, false, policy);
    }
  }

  for (const [id, have] of current) {
    if (wanted.has(id)) continue;
    if (!prune(have.service)) {
      unmanaged.push(have.norm.key);
      continue;
    }
    if (!policy) {
      add({ operation: { op: 'delete-service', service: have.norm.key }, target: id, detail: 'not in the desired state (its destinations go with it)', phase: 'service-deletes' });
      continue;
    }
    // Draining: the service's destinations leave one by one; the service follows the last of them.
    const deletes: Draft[] = [];
    let remaining = 0;
    for (const d of have.destinations ?? []) {
      const step = remove(have, d, true, policy);
      if (step) deletes.push(step);
      else remaining++;
    }
    if (remaining === 0) {
      add({ operation: { op: 'delete-service', service: have.norm.key }, target: id, detail: 'not in the desired state (drained)', phase: 'service-deletes' }, deletes);
    }
  }

  // Order by phase (stable within a phase), then turn dependencies into indexes.
  const ordered: Draft[] = [];
  for (const phase of PHASES) for (const d of drafts) if (d.step.phase === phase) ordered.push(d);
  ordered.forEach((d, i) => (d.index = i));
  const steps: PlanStep[] = ordered.map((d) => ({ ...d.step, dependsOn: d.deps.map((x) => x.index) }));
  return {
    steps,
    operations: steps.map((s) => s.operation),
    draining: drainingOut,
    unmanaged,
    drainState,
    inSync: steps.length === 0 && drainingOut.length === 0,
  };
}
