// A seeded generator of public client calls for the randomised comparison of the fake kernel with the real one
// (test/kernel/fake-drift.kernel.test.ts). Each call is data (a method and its arguments, printable to reproduce a
// difference) plus how to run it on any client; what it returns or throws is reduced to plain JSON (outcome())
// so the two kernels' answers compare with toEqual. The same seed gives the same calls on any machine.
//
// Why the pools are small: updates, deletions, duplicates and listings only meet existing objects when the calls
// name the same few services and real servers again and again. Some values are bad for the client (it refuses
// them before sending, identically on both kernels, which the comparison checks too); most are good for the
// client but meet every check the kernel makes: local, broadcast and link-local destinations, families that do
// not match, schedulers and engines the kernel has or has not, daemons on interfaces that cannot carry them.

import type { Ipvs } from '../../src/client.js';
import type { DesiredState } from '../../src/reconcile/state.js';
import type { DaemonSpec, DestinationKey, DestinationSpec, ServiceFlag, ServiceKey, ServiceSpec, Timeouts } from '../../src/ipvs/types.js';
import type { Operation, OperationResult } from '../../src/ipvs/operations.js';
import { SCHEDULER_NAMES } from '../../src/ipvs/types.js';

type Rand = () => number;

const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const chance = (rand: Rand, p: number): boolean => rand() < p;
const int = (rand: Rand, min: number, max: number): number => min + Math.floor(rand() * (max - min + 1));

/** One call: `text` reproduces it (`ipvs.addService({...})`), `run` makes it on a client. */
export interface Call {
  text: string;
  run: (ipvs: Ipvs) => Promise<unknown>;
}

// Services: address services of each protocol and family (a local VIP among them), fwmark services of both
// families, keys the client refuses (a foreign protocol to add, a family that does not match) or that name
// nothing (protocol numbers only another tool uses).
const V4_KEYS: readonly ServiceKey[] = [
  { protocol: 'tcp', address: '192.168.1.110', port: 80 },
  { protocol: 'tcp', address: '192.168.1.110', port: 0 },
  { protocol: 'udp', address: '192.168.1.111', port: 53 },
  { protocol: 'sctp', address: '192.168.1.112', port: 3868 },
  { protocol: 'udp', address: '192.168.1.113', port: 5060 },
  { protocol: 'tcp', address: '10.0.0.1', port: 22 },
  { fwmark: 1 },
  { fwmark: 4294967295, family: 'ipv4' },
];
const V6_KEYS: readonly ServiceKey[] = [
  { protocol: 'tcp', address: '2001:db8::10', port: 443 },
  { protocol: 'udp', address: '2001:DB8:0::11', port: 53 },
  { protocol: 'sctp', address: '2001:db8::12', port: 0 },
  { fwmark: 2, family: 'ipv6' },
];
const ODD_KEYS: readonly ServiceKey[] = [
  { protocol: 6, address: '192.168.1.110', port: 80 },
  { protocol: 47, address: '192.168.1.110', port: 80 },
  { protocol: 'tcp', address: '255.255.255.255', port: 1 },
  { protocol: 'udp', address: '224.0.0.1', port: 9 },
  { protocol: 'tcp', address: '::', port: 80 },
  { protocol: 'tcp', address: '192.168.1.300', port: 80 },
  { protocol: 'tcp', address: '192.168.1.110', port: 65536 },
  { fwmark: 0 },
  { fwmark: 3, family: 'ipv5' as 'ipv4' },
  { protocol: 'tcp', address: '0.0.0.0', port: 80 },
  { protocol: 'udp', address: '::ffff:10.0.0.1', port: 53 },
  { protocol: 'tcp', address: 'fe80::1', port: 80 },
  { protocol: 'tcp', address: '127.0.0.1', port: 0 },
];

/** The keys most calls name, so that destinations find their service and duplicates meet. */
const HOT_KEYS: readonly ServiceKey[] = [V4_KEYS[0]!, V4_KEYS[2]!, V4_KEYS[6]!, V6_KEYS[0]!, V6_KEYS[3]!];

function serviceKey(rand: Rand): ServiceKey {
  const r = rand();
  if (r < 0.65) return pick(rand, HOT_KEYS);
  if (r < 0.87) return pick(rand, V4_KEYS);
  if (r < 0.97) return pick(rand, V6_KEYS);
  return pick(rand, ODD_KEYS);
}

const isV6 = (key: ServiceKey): boolean => ('fwmark' in key ? key.family === 'ipv6' : key.address.includes(':'));

/** Of every pool, a value the client refuses is taken this often. */
const BAD = 0.02;
const value = <T>(rand: Rand, good: readonly T[], bad: readonly T[]): T => (chance(rand, BAD) ? pick(rand, bad) : pick(rand, good));

const V4_MASKS = { good: ['255.255.255.255', '255.255.255.0', '255.255.0.0', '0.0.0.0', 24, 32, 0], bad: ['255.0.255.0', 33] };
const V6_MASKS = { good: [128, 64, 48, 1, '/96', 'ffff:ffff:ffff:ffff::'], bad: [0, 129] };
const TIMEOUTS_S = { good: [1, 60, 300, 360, 86400, 2678400], bad: [0, 2678401] };

function flagsFor(rand: Rand, scheduler: string, key: ServiceKey): ServiceFlag[] | undefined {
  if (!chance(rand, 0.4)) return undefined;
  const pool: ServiceFlag[] = ['flag-1', 'flag-2', 'flag-3'];
  // One-packet scheduling: UDP and firewall-mark services (on another protocol it is refused, now and then tried).
  if ('fwmark' in key || key.protocol === 'udp' || chance(rand, BAD)) pool.unshift('one-packet');
  if (scheduler === 'sh' || chance(rand, BAD)) pool.push('sh-fallback', 'sh-port');
  if (scheduler === 'mh' || chance(rand, BAD)) pool.push('mh-fallback', 'mh-port');
  const flags = pool.filter(() => chance(rand, 0.3));
  if (chance(rand, 0.1)) flags.push(flags[0] ?? 'flag-1'); // a duplicate
  return flags;
}

function serviceSpec(rand: Rand, key: ServiceKey): ServiceSpec {
  const spec: ServiceSpec = { ...key };
  // Mostly the schedulers of 6.1 and 'none'; 'twos' (6.2 and later) only now and then, an unknown name rarer.
  const r = rand();
  const scheduler = r < BAD ? ('bogus' as 'rr') : r < 0.06 ? 'twos' : pick(rand, SCHEDULER_NAMES.filter((s) => s !== 'twos'));
  if (chance(rand, 0.85)) spec.scheduler = scheduler;
  const flags = flagsFor(rand, spec.scheduler ?? 'wlc', key);
  if (flags !== undefined) spec.flags = flags;
  const p = rand();
  if (p < 0.15) spec.persistence = true;
  else if (p < 0.2) spec.persistence = false;
  else if (p < 0.55) {
    const persistence: { timeout?: number; netmask?: string | number } = {};
    if (chance(rand, 0.8)) persistence.timeout = value(rand, TIMEOUTS_S.good, TIMEOUTS_S.bad);
    if (chance(rand, 0.5)) {
      const masks = isV6(key) === !chance(rand, BAD) ? V6_MASKS : V4_MASKS;
      persistence.netmask = value(rand, masks.good, masks.bad);
    }
    spec.persistence = persistence;
  }
  if (chance(rand, 0.15)) spec.persistenceEngine = value(rand, ['sip'] as const, ['h323' as 'sip']);
  return spec;
}

// Destinations: remote ones, local ones (an address of dum0 or lo: reported as forwarding 'local'), the broadcast
// address of a prefix of dum0, an address of dum1 (down), link-local (fe80::99: an address of the ipv6-down
// history's down dummy) and IPv4-mapped IPv6, and ones the client refuses (multicast, unspecified).
const V4_DESTS = ['192.168.1.20', '192.168.1.21', '10.1.2.3', '192.168.1.1', '127.0.0.1', '10.0.0.1', '172.16.0.1', '192.168.1.255', '10.255.255.255', '172.16.0.255'];
const V6_DESTS = ['2001:db8::20', '2001:db8::21', '2001:db8:1::5', '2001:db8::1', '::1', 'fe80::1234', 'fe80::99', '::ffff:192.168.1.20'];
const BAD_DESTS = ['224.0.0.5', '0.0.0.0', '255.255.255.255', '::', 'ff02::1', '10.0.0.256', 'host.example'];
/** The destinations most calls name, so that duplicates, updates and deletions meet one. */
const HOT_V4_DESTS = ['192.168.1.20', '192.168.1.21', '127.0.0.1'];
const HOT_V6_DESTS = ['2001:db8::20', '2001:db8::1', '::1'];
const PORTS = [undefined, undefined, undefined, undefined, 80, 8080, 0, 65535, 53];
const WEIGHTS = { good: [undefined, 0, 1, 1, 2, 100, 2147483647], bad: [-1, 2147483648, 1.5] };
const THRESHOLDS = [0, 1, 10, 65535, 4294967295];

function destinationKey(rand: Rand, key: ServiceKey): DestinationKey {
  const r = rand();
  const v6 = r < 0.1 ? !isV6(key) : isV6(key);
  const hot = chance(rand, 0.6);
  const address = hot ? pick(rand, v6 ? HOT_V6_DESTS : HOT_V4_DESTS) : value(rand, v6 ? V6_DESTS : V4_DESTS, BAD_DESTS);
  const port = hot && chance(rand, 0.7) ? undefined : pick(rand, PORTS);
  return port === undefined ? { address } : { address, port };
}

function destinationSpec(rand: Rand, key: ServiceKey): DestinationSpec {
  const d: DestinationSpec = destinationKey(rand, key);
  const mixed = d.address.includes(':') !== isV6(key);
  const f = rand();
  // A destination of the other family must tunnel: mostly it does.
  if (mixed && f < 0.8) d.forwarding = 'tunnel';
  else if (f < 0.2) d.forwarding = 'masq';
  else if (f < 0.4) d.forwarding = 'route';
  else if (f < 0.7) d.forwarding = 'tunnel';
  if (d.forwarding === 'tunnel' && chance(rand, 0.7)) {
    const type = pick(rand, ['ipip', 'gue', 'gre', 'gue'] as const);
    const tunnel: NonNullable<DestinationSpec['tunnel']> = { type };
    if (type === 'gue' ? !chance(rand, BAD) : chance(rand, BAD)) tunnel.port = value(rand, [6080, 1, 65535], [0, 65536]);
    if (chance(rand, 0.5)) {
      const ok = type === 'gue' ? ['nocsum', 'csum', 'remcsum'] : type === 'gre' ? ['nocsum', 'csum'] : ['nocsum'];
      tunnel.checksum = value(rand, ok, ['remcsum', 'csum', 'crc']) as 'nocsum';
    }
    d.tunnel = tunnel;
  }
  const weight = value(rand, WEIGHTS.good, WEIGHTS.bad);
  if (weight !== undefined) d.weight = weight;
  if (chance(rand, 0.3)) {
    d.upperThreshold = pick(rand, THRESHOLDS);
    if (chance(rand, 0.6)) d.lowerThreshold = chance(rand, BAD) ? d.upperThreshold + 1 : Math.floor(d.upperThreshold * rand());
  } else if (chance(rand, BAD)) d.lowerThreshold = 5;
  return d;
}

// lo, dum0 (up, IPv4 and IPv6), dum1 (down), dum2 (MTU 1000: no IPv6), dum3 (no IPv6 address), one that is not.
const INTERFACES = { good: ['lo', 'dum0', 'dum0', 'dum1', 'dum2', 'dum3', 'nope0'], bad: ['a-name-too-long-x', ''] };
const GROUPS = { good: [undefined, undefined, '224.0.0.81', '239.1.2.3', 'ff02::1:2', 'ff05::5'], bad: ['10.0.0.9'] };

function daemonSpec(rand: Rand): DaemonSpec {
  const d: DaemonSpec = { state: chance(rand, 0.5) ? 'master' : 'backup', interface: value(rand, INTERFACES.good, INTERFACES.bad) };
  if (chance(rand, 0.3)) d.syncId = value(rand, [0, 1, 255], [256]);
  if (chance(rand, 0.3)) d.syncMaxLen = value(rand, [1, 100, 1400, 1500, 9000, 65535], [65536, 0]);
  const group = value(rand, GROUPS.good, GROUPS.bad);
  if (group !== undefined) d.mcastGroup = group;
  if (chance(rand, 0.3)) d.mcastPort = value(rand, [1, 8848, 65535], [0]);
  if (chance(rand, 0.3)) d.mcastTtl = value(rand, [1, 2, 255], [0, 256]);
  return d;
}

function timeouts(rand: Rand): Partial<Timeouts> {
  const t: Partial<Timeouts> = {};
  const seconds = (): number => value(rand, [0, 1, 5, 60, 120, 900, 86400, 2678400], [-1, 2678401, 1.5]);
  if (chance(rand, 0.7)) t.tcp = seconds();
  if (chance(rand, 0.6)) t.tcpFin = seconds();
  if (chance(rand, 0.6)) t.udp = seconds();
  return t;
}

function operation(rand: Rand): Operation {
  const key = serviceKey(rand);
  const r = rand();
  if (r < 0.25) return { op: 'add-service', service: serviceSpec(rand, key) };
  if (r < 0.35) return { op: 'update-service', service: serviceSpec(rand, key) };
  if (r < 0.42) return { op: 'delete-service', service: key };
  if (r < 0.75) return { op: 'add-destination', service: key, destination: destinationSpec(rand, key) };
  if (r < 0.88) return { op: 'update-destination', service: key, destination: destinationSpec(rand, key) };
  return { op: 'delete-destination', service: key, destination: destinationKey(rand, key) };
}

function desiredState(rand: Rand): DesiredState {
  const services = [];
  const n = int(rand, 0, 3);
  for (let i = 0; i < n; i++) {
    const key = chance(rand, 0.7) ? pick(rand, V4_KEYS) : pick(rand, V6_KEYS);
    const spec: ServiceSpec & { destinations?: DestinationSpec[] } = serviceSpec(rand, key);
    if (chance(rand, 0.8)) {
      spec.destinations = [];
      const m = int(rand, 0, 3);
      for (let j = 0; j < m; j++) spec.destinations.push(destinationSpec(rand, key));
    }
    services.push(spec);
  }
  return { services } as DesiredState;
}

const show = (v: unknown): string => JSON.stringify(v);

/** One random call of the client's public API. */
export function randomCall(rand: Rand): Call {
  const r = rand();
  // Calls on destinations mostly name a service that is often there (a sequence adds them as it goes).
  const key = r >= 0.28 && r < 0.57 && chance(rand, 0.6) ? pick(rand, HOT_KEYS) : serviceKey(rand);
  if (r < 0.17) {
    const spec = serviceSpec(rand, key);
    return { text: `addService(${show(spec)})`, run: (c) => c.addService(spec) };
  }
  if (r < 0.24) {
    const spec = serviceSpec(rand, key);
    return { text: `updateService(${show(spec)})`, run: (c) => c.updateService(spec) };
  }
  if (r < 0.28) return { text: `deleteService(${show(key)})`, run: (c) => c.deleteService(key) };
  if (r < 0.45) {
    const d = destinationSpec(rand, key);
    return { text: `addDestination(${show(key)}, ${show(d)})`, run: (c) => c.addDestination(key, d) };
  }
  if (r < 0.52) {
    const d = destinationSpec(rand, key);
    return { text: `updateDestination(${show(key)}, ${show(d)})`, run: (c) => c.updateDestination(key, d) };
  }
  if (r < 0.57) {
    const d = destinationKey(rand, key);
    return { text: `deleteDestination(${show(key)}, ${show(d)})`, run: (c) => c.deleteDestination(key, d) };
  }
  if (r < 0.65) {
    const ops: Operation[] = [];
    const n = int(rand, 1, 12);
    for (let i = 0; i < n; i++) ops.push(operation(rand));
    const options: { window?: number; stopOnError?: boolean } = {};
    if (chance(rand, 0.5)) options.window = int(rand, 1, 5);
    if (chance(rand, 0.3)) options.stopOnError = true;
    return { text: `execute(${show(ops)}, ${show(options)})`, run: (c) => c.execute(ops, options) };
  }
  if (r < 0.69) {
    const t = timeouts(rand);
    return { text: `setTimeouts(${show(t)})`, run: (c) => c.setTimeouts(t) };
  }
  if (r < 0.72) {
    const k = chance(rand, 0.5) ? undefined : key;
    return { text: `zero(${k === undefined ? '' : show(k)})`, run: (c) => c.zero(k) };
  }
  if (r < 0.735) return { text: 'flush()', run: (c) => c.flush() };
  if (r < 0.77) {
    const d = daemonSpec(rand);
    return { text: `startDaemon(${show(d)})`, run: (c) => c.startDaemon(d) };
  }
  if (r < 0.79) {
    const state = chance(rand, 0.5) ? 'master' : 'backup';
    return { text: `stopDaemon(${show(state)})`, run: (c) => c.stopDaemon(state) };
  }
  if (r < 0.82) return { text: `service(${show(key)})`, run: (c) => c.service(key) };
  if (r < 0.84) return { text: `hasService(${show(key)})`, run: (c) => c.hasService(key) };
  if (r < 0.87) return { text: `destinations(${show(key)})`, run: async (c) => sortedDestinations(await c.destinations(key)) };
  if (r < 0.89) return { text: 'services()', run: async (c) => sortedServices(await c.services()) };
  if (r < 0.9) return { text: 'timeouts()', run: (c) => c.timeouts() };
  if (r < 0.91) return { text: 'daemons()', run: async (c) => sortedDaemons(await c.daemons()) };
  if (r < 0.92) return { text: 'info()', run: (c) => c.info() };
  if (r < 0.93) return { text: 'exportState()', run: async (c) => sortedState(await c.exportState()) };
  if (r < 0.935) {
    const desired = desiredState(rand);
    return { text: `plan(${show(desired)})`, run: async (c) => byText((await c.plan(desired)).steps) };
  }
  if (r < 0.94) {
    // Every service read back is handed to destinationsOfEach, as save and export do.
    const runLength = int(rand, 1, 4);
    return {
      text: `destinationsOfEach(await services(), { runLength: ${runLength} })`,
      run: async (c) => {
        const out = [];
        for await (const run of c.destinationsOfEach(await c.services(), { runLength })) {
          for (const pair of run) out.push({ service: pair.service, destinations: sortedDestinations(pair.destinations) });
        }
        return byKey(out, (x) => serviceText(x.service));
      },
    };
  }
  if (r < 0.955) {
    // A service read back, changed and written back (the read-change-update loop): its rawFlags and names go too.
    const change = serviceSpec(rand, key);
    const { scheduler, flags, persistence } = change;
    const edit = { ...(scheduler === undefined ? {} : { scheduler }), ...(flags === undefined ? {} : { flags }), ...(persistence === undefined ? {} : { persistence }) };
    return {
      text: `updateService({ ...(await service(${show(key)})), ...${show(edit)} })`,
      run: async (c) => c.updateService({ ...(await c.service(key)), ...edit }),
    };
  }
  if (r < 0.97) {
    const weight = value(rand, WEIGHTS.good, WEIGHTS.bad) ?? 0;
    return {
      text: `for (const d of await destinations(${show(key)})) updateDestination(${show(key)}, { ...d, weight: ${weight} })`,
      run: async (c) => {
        const out = [];
        for (const d of sortedDestinations(await c.destinations(key))) out.push(await runCall({ text: '', run: (cc) => cc.updateDestination(key, { ...d, weight }) }, c));
        return out;
      },
    };
  }
  const desired = desiredState(rand);
  // Without stopOnError: which steps a failure skips would follow the plan's order, which follows the listings'.
  const options: { prune?: boolean } = {};
  if (chance(rand, 0.2)) options.prune = true;
  return { text: `apply(${show(desired)}, ${show(options)})`, run: async (c) => applied(await c.apply(desired, options)) };
}

// The kernel lists services and destinations in its hash tables' order, which the fake does not model (it has no
// hash); every listing is compared sorted.

const text = (v: unknown): string => JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
const byText = <T>(list: readonly T[]): T[] => [...list].sort((a, b) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0));
const serviceText = (s: { protocol?: unknown; address?: unknown; port?: unknown; fwmark?: unknown; family?: unknown }): string =>
  s.fwmark !== undefined ? `f ${String(s.fwmark)} ${String(s.family)}` : `${String(s.protocol)} ${String(s.address)} ${String(s.port)}`;
const byKey = <T extends object>(list: readonly T[], key: (x: T) => string): T[] => [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

export const sortedServices = <T extends object>(list: readonly T[]): T[] => byKey(list, (s) => serviceText(s as never));
export const sortedDestinations = <T extends object>(list: readonly T[]): T[] => byKey(list, (d) => `${String((d as { address: unknown }).address)} ${String((d as { port: unknown }).port)}`);
export const sortedDaemons = <T extends object>(list: readonly T[]): T[] => byKey(list, (d) => String((d as { state: unknown }).state));

function sortedState(state: DesiredState): unknown {
  return sortedServices(state.services.map((s) => ('destinations' in s && s.destinations !== undefined ? { ...s, destinations: sortedDestinations(s.destinations) } : s)));
}

/** An apply() result without what follows from the listing order (the plan's step order, so each list sorted). */
function applied(result: Awaited<ReturnType<Ipvs['apply']>>): unknown {
  return {
    ok: result.ok,
    dryRun: result.dryRun,
    steps: byText(result.plan.steps),
    applied: byText(result.applied),
    failed: byText(result.failed.map((f) => ({ ...f, error: outcome(f.error, true) }))),
    notAttempted: byText(result.notAttempted),
  };
}

/** An error as compared: its class, code and message (the kernel's extended ack is part of the message). */
function errorOf(err: unknown): unknown {
  if (!(err instanceof Error)) return { thrown: String(err) };
  return { error: err.name, code: (err as { code?: unknown }).code, message: err.message };
}

/** What a call returned (`value`) or threw (`error`), as plain JSON. */
export function outcome(value: unknown, failed = false): unknown {
  if (failed) return errorOf(value);
  if (Array.isArray(value) && value.every((r) => r !== null && typeof r === 'object' && ('ok' in r || 'skipped' in r))) {
    return (value as OperationResult[]).map((r) => ('ok' in r && !r.ok ? { ok: false, error: errorOf(r.error) } : r));
  }
  return JSON.parse(text(value ?? null)) as unknown;
}

/** Run a call, with what it gave or threw as outcome() has it. */
export async function runCall(call: Call, ipvs: Ipvs): Promise<unknown> {
  try {
    return outcome(await call.run(ipvs));
  } catch (err) {
    return outcome(err, true);
  }
}
