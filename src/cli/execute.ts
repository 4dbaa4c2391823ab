// Carrying out one parsed ipvsadm command against the client and printing what ipvsadm prints: listings
// to stdout, refusals to stderr with ipvsadm's exit statuses (1 when a listing cannot be read, 255 when
// the kernel refuses a change, as ipvsadm returns -1 from main).

import { connectionRow, connectionTitle, parseConnectionLine, type ConnectionEntry } from './connections.js';
import { outputRoom, type CliContext, type CliIpvs } from './context.js';
import { describeFailure, earlierRefusal } from './failures.js';
import { daemonLines, destinationRow, listTitle, serviceRow, timeoutLine, versionHeader } from './listing.js';
import type { KernelAction } from './messages.js';
import { restoreRules } from './restore.js';
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { ListFormat, ParsedCommand } from '../rules/command-line.js';
import type { EndpointNames } from '../rules/endpoint-text.js';
import { resolveEndpointNames, type AddressSource } from '../rules/resolver.js';
import { serviceRulesText } from '../rules/format.js';
import { sortDestinations, sortServices } from '../rules/ordering.js';
import { destinationRuns, keyOfService } from '../rules/save.js';
import {
  daemonSpecOf,
  destinationKeyOf,
  destinationSpecOf,
  serviceKeyOf,
  serviceSpecOf,
} from '../rules/specs.js';
import type { Destination, ReadOptions, Service, ServiceKey } from '../ipvs/types.js';


/** Resolve every address the output will show, so formatting can stay synchronous. */
export function endpointNames(ctx: CliContext, addresses: Iterable<AddressSource>): Promise<EndpointNames> {
  return resolveEndpointNames(addresses, ctx.resolver);
}

/**
 * A service and its destinations, typed whole: the read leaves the statistics out only for the listings
 * that never print them (see listAll).
 */
interface Entry {
  service: Service;
  destinations: readonly Destination[];
}

/** What destinationRuns read, as an Entry (see above). */
const asEntries = (run: ReadonlyArray<{ service: Service; destinations: readonly unknown[] }>): readonly Entry[] => run as readonly Entry[];

/** Read destinations for each service in order; stops at the first failure, as ipvsadm exits there. */
async function withDestinations(ipvs: CliIpvs, services: readonly Service[], read: ReadOptions | undefined): Promise<{ entries: Entry[]; failure?: unknown }> {
  const entries: Entry[] = [];
  try {
    for await (const run of destinationRuns<Service>(ipvs, services, keyOfService, read)) entries.push(...asEntries(run));
  } catch (failure) {
    return { entries, failure };
  }
  return { entries };
}

async function namesFor(ctx: CliContext, entries: readonly Entry[], numeric: boolean): Promise<EndpointNames | undefined> {
  if (numeric) return undefined;
  return endpointNames(ctx, entries.map(({ service, destinations }) => ({ address: service.address, destinations })));
}

function entryText({ service, destinations }: Entry, format: ListFormat, rule: boolean, names: EndpointNames | undefined): string {
  if (rule) return serviceRulesText(service, destinations, format.numeric, names, format.noSort);
  const ordered = format.noSort || destinations.length < 2 ? destinations : sortDestinations(destinations);
  let text = serviceRow(service, format, names);
  for (const d of ordered) text += destinationRow(service, d, format, names);
  return text;
}

function printEntries(ctx: CliContext, entries: readonly Entry[], format: ListFormat, rule: boolean, names: EndpointNames | undefined): void {
  for (const entry of entries) ctx.stdout.write(entryText(entry, format, rule, names));
}

/** Output is written in chunks of about this many characters. */
const CHUNK = 1 << 16;

/**
 * Write a chunk of a streamed listing; when the output cannot take it at once, wait until it can (outputRoom).
 * False when the output failed or closed (a reader gone): the listing ends there, with status 1 (src/cli/main.ts).
 */
async function writeChunk(ctx: CliContext, text: string): Promise<boolean> {
  ctx.stdout.write(text);
  const room = outputRoom(ctx.stdout);
  return room === undefined || (await room);
}

/** A name lookup that failed while a listing streamed: not a failed read of the table (see streamEntries). */
class LookupFailure {
  constructor(readonly cause: unknown) {}
}

/**
 * Runs of a named listing whose names are looked up while the run before them waits to be printed. A lookup that
 * gets no answer waits out the resolver's timeout (2 s): one run at a time, a table of unnamed addresses with no
 * DNS server answering would wait that long per run of 256 services, where every lookup at once waited it once.
 * With this many runs ahead the waits overlap, and the listing holds at most this many runs beyond the one it prints.
 */
export const NAMED_RUNS_AHEAD = 4;

/** A run read, waiting to be printed: its names (a promise that never rejects) when the listing has names. */
interface WaitingRun {
  entries: readonly Entry[];
  names: Promise<EndpointNames | LookupFailure> | undefined;
}

/**
 * The whole table's listing, printed run by run as the destinations are read (a run: up to destinationsOfEach's
 * 256 services, or one service from a client without it), so a big table is never held whole: a 5 000-service
 * save keeps one run of services' destinations at a time. Without -n the names of each run's addresses are
 * looked up as it is read, and it is printed once they are in, at most NAMED_RUNS_AHEAD runs behind the reading:
 * memory stays bounded, and the text is the same as with every name looked up first, since names change no order
 * (ipvsadm sorts by number). What was read before a failure is printed, then the failure, as ipvsadm does. A chunk
 * the output cannot take at once is waited for (outputRoom): the reading keeps pace with the reader.
 */
async function streamEntries(ctx: CliContext, ipvs: CliIpvs, services: readonly Service[], format: ListFormat, rule: boolean, read: ReadOptions | undefined): Promise<number> {
  const ahead = format.numeric ? 0 : NAMED_RUNS_AHEAD;
  const waiting: WaitingRun[] = [];
  let text = '';
  /** Print the oldest run read, once its names are in; false when the output failed or closed. */
  const printOldest = async (): Promise<boolean> => {
    const run = waiting.shift() as WaitingRun;
    const names = run.names === undefined ? undefined : await run.names;
    if (names instanceof LookupFailure) throw names;
    for (const entry of run.entries) {
      text += entryText(entry, format, rule, names);
      if (text.length >= CHUNK) {
        const more = await writeChunk(ctx, text);
        text = '';
        if (!more) return false;
      }
    }
    return true;
  };
  let failure: unknown;
  let failed = false;
  try {
    try {
      for await (const run of destinationRuns<Service>(ipvs, services, keyOfService, read)) {
        const entries = asEntries(run);
        const names = format.numeric ? undefined : namesFor(ctx, entries, false).then((n) => n as EndpointNames, (err: unknown) => new LookupFailure(err));
        waiting.push({ entries, names });
        while (waiting.length > ahead) if (!(await printOldest())) return 1;
      }
    } catch (err) {
      if (err instanceof LookupFailure) throw err;
      failed = true;
      failure = err;
    }
    // The runs read before the end, or before a failure, still waiting for their names.
    while (waiting.length > 0) if (!(await printOldest())) return 1;
  } catch (err) {
    // A resolver that throws is no failure to read the table: its error goes on up (runCli prints it, status 1), as it
    // did when every name was looked up first, now after the text of the runs before it.
    if (!(err instanceof LookupFailure)) throw err;
    ctx.stdout.write(text);
    throw err.cause;
  }
  if (text !== '') ctx.stdout.write(text);
  if (!failed) return 0;
  ctx.stderr.write(describeFailure(failure, 'get-destinations') + '\n');
  return 1;
}

/** `-L` (rule false) or `-S` (rule true) over the whole table. */
export async function listAll(ctx: CliContext, format: ListFormat, rule: boolean): Promise<number> {
  const ipvs = await ctx.ipvs();
  if (!rule) ctx.stdout.write(versionHeader(await ipvs.info()));
  // Only --stats and --rate print statistics: the other listings read without them (the rows never touch
  // `stats` then; see ReadOptions), which is a large share of reading a big table.
  const read: ReadOptions | undefined = !rule && (format.stats || format.rate) ? undefined : { stats: false };
  let services: Service[];
  try {
    services = (await ipvs.services(read)) as Service[];
  } catch (err) {
    ctx.stderr.write(describeFailure(err, 'get-services') + '\n');
    return 1;
  }
  if (!format.noSort) services = sortServices(services);
  if (!rule) ctx.stdout.write(listTitle(format));
  return streamEntries(ctx, ipvs, services, format, rule, read);
}

async function listOne(ctx: CliContext, key: ServiceKey, format: ListFormat): Promise<number> {
  const ipvs = await ctx.ipvs();
  let service: Service | undefined;
  try {
    service = await ipvs.service(key);
  } catch (err) {
    ctx.stderr.write(describeFailure(err, 'get-service') + '\n');
    return 1;
  }
  if (!service) {
    ctx.stderr.write(describeFailure({ code: 'ESRCH' }, 'get-service') + '\n');
    return 1;
  }
  ctx.stdout.write(listTitle(format));
  const { entries, failure } = await withDestinations(ipvs, [service], undefined);
  printEntries(ctx, entries, format, false, await namesFor(ctx, entries, format.numeric));
  if (failure !== undefined) {
    ctx.stderr.write(describeFailure(failure, 'get-destinations') + '\n');
    return 1;
  }
  return 0;
}

/** Lines of the connection table taken together: their names are looked up at once (without -n). */
export const CONNECTION_BATCH = 2048;

/** A batch of connections read, waiting to be printed: its names (a promise that never rejects) when the listing has names. */
interface WaitingBatch {
  entries: ConnectionEntry[];
  names: Promise<EndpointNames | LookupFailure> | undefined;
}

/**
 * `-Lc` and `-Lnc`: the connection table printed as the file is read, at the pace the output takes it
 * (outputRoom). A busy director holds millions of connections: read whole, a table past some 5 million lines
 * (512 MiB of text) could not even be one string, and a slow reader held all of it in memory. Without -n the
 * names of each batch of CONNECTION_BATCH lines are looked up as it is read, and it is printed once they are in,
 * at most NAMED_RUNS_AHEAD batches behind the reading (as streamEntries does with runs of services): memory stays
 * bounded by those batches, and the text is the same as with every name looked up first.
 */
async function listConnections(ctx: CliContext, format: ListFormat): Promise<number> {
  // /proc/net shows the namespace of the process's main thread: the --netns one once entered.
  ctx.enterNamespace?.();
  const ahead = format.numeric ? 0 : NAMED_RUNS_AHEAD;
  const waiting: WaitingBatch[] = [];
  let batch: ConnectionEntry[] = [];
  let header = true;
  let text = '';
  /** Print the oldest batch read, once its names are in; false when the output failed or closed. */
  const printOldest = async (): Promise<boolean> => {
    const next = waiting.shift() as WaitingBatch;
    const names = next.names === undefined ? undefined : await next.names;
    if (names instanceof LookupFailure) throw names;
    for (const entry of next.entries) {
      text += connectionRow(entry, format.numeric, format.persistentConn, names);
      if (text.length >= CHUNK) {
        const more = await writeChunk(ctx, text);
        text = '';
        if (!more) return false;
      }
    }
    return true;
  };
  /** The batch read so far goes to the queue (its names asked for now); the oldest ones are printed. */
  const queue = async (): Promise<boolean> => {
    const entries = batch;
    batch = [];
    const names = format.numeric
      ? undefined
      : endpointNames(ctx, entries.flatMap((e) => [e.client.address, e.virtual.address, e.destination.address])).then(
          (n) => n,
          (err: unknown) => new LookupFailure(err),
        );
    waiting.push({ entries, names });
    while (waiting.length > ahead) if (!(await printOldest())) return false;
    return true;
  };
  try {
    try {
      for (const line of fileLines(ctx.procConnPath)) {
        if (header) {
          header = false;
          text = connectionTitle(format.persistentConn);
          continue;
        }
        const entry = parseConnectionLine(line);
        if (entry) batch.push(entry);
        if (batch.length >= CONNECTION_BATCH && !(await queue())) return 1;
      }
    } catch (err) {
      // Not opened, or nothing read: ipvsadm's message. A failure later (or of the output) is no such thing.
      if (err instanceof LookupFailure || !header) throw err;
      ctx.stderr.write(`cannot open file ${ctx.procConnPath}\n`);
      return 1;
    }
    if (header) {
      ctx.stderr.write(`unexpected input from ${ctx.procConnPath}\n`);
      return 1;
    }
    if (batch.length > 0 && !(await queue())) return 1;
    while (waiting.length > 0) if (!(await printOldest())) return 1;
  } catch (err) {
    // A resolver that throws: printed what came before it, then its error goes on up (runCli prints it, status 1).
    if (!(err instanceof LookupFailure)) throw err;
    ctx.stdout.write(text);
    throw err.cause;
  }
  if (text !== '') ctx.stdout.write(text);
  return 0;
}

/**
 * The lines of a file, a chunk read each time the lines before it are taken. The reads are synchronous, on the
 * main thread (the connection file answers at once, from the kernel's memory), not in libuv's thread pool: there
 * -Lc's name lookups run too (getnameinfo), and with no DNS server answering each holds a thread for glibc's
 * timeouts (10 s and more) long after the resolver printed the number (2 s), so every read queued behind a batch
 * of lookups, for hours on a big table.
 */
function* fileLines(path: string): Generator<string> {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      rest += decoder.write(buffer.subarray(0, read));
      let start = 0;
      for (let end = rest.indexOf('\n'); end !== -1; end = rest.indexOf('\n', start)) {
        yield rest.slice(start, end);
        start = end + 1;
      }
      rest = rest.slice(start);
    }
    rest += decoder.end();
    if (rest !== '') yield rest;
  } finally {
    closeSync(fd);
  }
}

/** A change to the table; prints ipvsadm's sentence and returns 255 when the kernel refuses it. */
async function change(ctx: CliContext, action: KernelAction, work: (ipvs: CliIpvs) => Promise<unknown>, service?: ServiceKey): Promise<number> {
  const ipvs = await ctx.ipvs();
  try {
    await work(ipvs);
    return 0;
  } catch (err) {
    ctx.stderr.write(describeFailure((service && (await earlierRefusal(ipvs, action, service, err))) ?? err, action) + '\n');
    return 255;
  }
}

/** Run one parsed command; returns the exit status. */
export async function executeCommand(cmd: ParsedCommand, ctx: CliContext): Promise<number> {
  switch (cmd.command) {
    case 'list': {
      if (cmd.options.has('connection')) return listConnections(ctx, cmd.format);
      const key = cmd.options.has('service-address') ? serviceKeyOf(cmd) : undefined;
      if (key) return listOne(ctx, key, cmd.format);
      if (cmd.options.has('timeout')) {
        const ipvs = await ctx.ipvs();
        try {
          ctx.stdout.write(timeoutLine(await ipvs.timeouts()));
          return 0;
        } catch {
          return 1;
        }
      }
      if (cmd.options.has('daemon')) {
        const ipvs = await ctx.ipvs();
        try {
          ctx.stdout.write(daemonLines(await ipvs.daemons()));
          return 0;
        } catch {
          return 1;
        }
      }
      return listAll(ctx, cmd.format, false);
    }
    case 'save':
      return listAll(ctx, cmd.format, true);
    case 'restore':
      return restoreRules(ctx);
    case 'flush':
      return change(ctx, 'other', (ipvs) => ipvs.flush());
    case 'add-service':
      return change(ctx, 'add-service', (ipvs) => ipvs.addService(serviceSpecOf(cmd)), serviceKeyOf(cmd));
    case 'edit-service':
      return change(ctx, 'edit-service', (ipvs) => ipvs.updateService(serviceSpecOf(cmd)), serviceKeyOf(cmd));
    case 'delete-service':
      return change(ctx, 'delete-service', (ipvs) => ipvs.deleteService(serviceKeyOf(cmd)!));
    case 'zero':
      return change(ctx, 'zero', (ipvs) => {
        // libipvs zeroes everything when the service is all zeros (`-Z -t 0.0.0.0:0` included).
        const svc = cmd.service;
        const named = svc.fwmark !== 0 || svc.port !== 0 || (svc.address?.bytes.some((b) => b !== 0) ?? false);
        const key = named ? serviceKeyOf(cmd) : undefined;
        return key ? ipvs.zero(key) : ipvs.zero();
      });
    case 'add-server':
      return change(ctx, 'add-server', (ipvs) => ipvs.addDestination(serviceKeyOf(cmd)!, destinationSpecOf(cmd)), serviceKeyOf(cmd));
    case 'edit-server':
      return change(ctx, 'edit-server', (ipvs) => ipvs.updateDestination(serviceKeyOf(cmd)!, destinationSpecOf(cmd)), serviceKeyOf(cmd));
    case 'delete-server':
      return change(ctx, 'delete-server', (ipvs) => ipvs.deleteDestination(serviceKeyOf(cmd)!, destinationKeyOf(cmd)));
    case 'set':
      return change(ctx, 'other', (ipvs) => ipvs.setTimeouts(cmd.timeouts));
    case 'start-daemon':
      return change(ctx, 'start-daemon', (ipvs) => ipvs.startDaemon(daemonSpecOf(cmd)));
    case 'stop-daemon':
      return change(ctx, 'stop-daemon', (ipvs) => ipvs.stopDaemon(cmd.daemon.state ?? 'master'));
  }
}
