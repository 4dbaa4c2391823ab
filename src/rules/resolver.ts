// Name resolution as ipvsadm does it through the C library: host names to IPv4 addresses
// (gethostbyname) for input, addresses to host names (gethostbyaddr, i.e. /etc/hosts then DNS) for
// listings and saves without -n, and the services database for ports. The system resolver goes through
// getnameinfo / getaddrinfo (the same NSS path as ipvsadm). Each answer is reused for a minute: a save looks
// the same real server up once, and a program keeping one resolver sees names change and keeps only the last
// minute's answers, however many addresses pass through its table. Every lookup is bounded by a short
// timeout after which the numeric form is used, so a machine without a reachable DNS server prints numbers
// promptly instead of hanging. Formatting is synchronous: resolveEndpointNames looks up a table's addresses
// first, as `ipvs -S` and `-L` do before printing.

import { lookup as dnsLookup, lookupService } from 'node:dns';
import { ValidationError } from '../ipvs/errors.js';
import { onlyKnownOptions, optionKeys } from '../ipvs/option-keys.js';
import { canonicalAddress } from './addresses.js';
import type { EndpointNames } from './endpoint-text.js';
import { serviceNamesOption, systemServiceNames, type ServiceNames } from './service-names.js';

/** Where host and service names come from: systemResolver(), staticResolver(), or your own. */
export interface Resolver {
  /** The host name of an address, or undefined to print the address. */
  reverse(address: string): Promise<string | undefined>;
  /** The IPv4 address of a host name (dotted text), or undefined when it has none. */
  lookup(name: string): Promise<string | undefined>;
  /** Port names per protocol. */
  readonly services: ServiceNames;
}

export interface SystemResolverOptions {
  /** Give up on one lookup after this long and use the number. Default 2000 ms. */
  timeoutMs?: number;
  /** Services database path. Default /etc/services. */
  servicesPath?: string;
  /** Reuse an answer (a name, an address, or that there is none) for this long; Infinity: for good. Default 60 000 ms. */
  cacheMs?: number;
}

/**
 * Answers by what was asked, each kept `ttl` ms from when it was asked. The map is in the order of asking,
 * so the expired ones are at its front: each question first drops them, and the map holds no more than
 * the last `ttl` ms of questions.
 */
export class AnswerCache<T> {
  private readonly byKey = new Map<string, { at: number; answer: T }>();

  constructor(
    private readonly ttl: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  get(key: string, ask: () => T): T {
    const now = this.now();
    for (const [k, e] of this.byKey) {
      if (now - e.at < this.ttl) break;
      this.byKey.delete(k);
    }
    let entry = this.byKey.get(key);
    if (entry === undefined) {
      entry = { at: now, answer: ask() };
      this.byKey.set(key, entry);
    }
    return entry.answer;
  }
}

function withTimeout<T>(work: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    timer.unref?.();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}

const SYSTEM_RESOLVER_KEYS = optionKeys<SystemResolverOptions>('', { timeoutMs: true, servicesPath: true, cacheMs: true });

/** The machine's resolver (NSS: /etc/hosts, DNS, ...), cached for a while and time-bounded. */
export function systemResolver(options: SystemResolverOptions = {}): Resolver {
  const timeoutMs = onlyKnownOptions(options, SYSTEM_RESOLVER_KEYS).timeoutMs ?? 2000;
  // A timer fires a longer wait after 1 ms: every lookup would give the number at once.
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 2_147_483_647) {
    throw new ValidationError('timeoutMs', timeoutMs, 'must be an integer number of milliseconds from 1 to 2147483647');
  }
  const cacheMs = options.cacheMs ?? 60_000;
  if (typeof cacheMs !== 'number' || !(cacheMs >= 0)) throw new ValidationError('cacheMs', cacheMs, 'must be a number of milliseconds, 0 or more (Infinity: for good)');
  const reverseCache = new AnswerCache<Promise<string | undefined>>(cacheMs);
  const forwardCache = new AnswerCache<Promise<string | undefined>>(cacheMs);
  return {
    services: systemServiceNames(options.servicesPath),
    reverse: (address) =>
      reverseCache.get(address, () => {
        const work = new Promise<string | undefined>((resolve, reject) => {
          lookupService(address, 0, (err, hostname) =>
            err ? reject(err) : resolve(hostname && hostname !== address ? hostname : undefined),
          );
        });
        return withTimeout(work, timeoutMs, undefined);
      }),
    lookup: (name) =>
      forwardCache.get(name, () => {
        const work = new Promise<string | undefined>((resolve, reject) => {
          dnsLookup(name, { family: 4 }, (err, address) => (err ? reject(err) : resolve(address || undefined)));
        });
        return withTimeout(work, timeoutMs, undefined);
      }),
  };
}

/** A resolver that knows only what it is given (host name to IPv4 address, and service names): for tests and for fully numeric use. */
export function staticResolver(
  hosts: Readonly<Record<string, string>> = {},
  services: ServiceNames = { portOf: () => undefined, nameOf: () => undefined },
): Resolver {
  // A Map has no own entries: given one, every name would silently stay unknown.
  if (typeof hosts !== 'object' || hosts === null || Array.isArray(hosts) || hosts instanceof Map) {
    throw new ValidationError('hosts', hosts, 'must be an object from host name to IPv4 address ({ web: "10.0.0.1" }); for a Map, Object.fromEntries(map)');
  }
  serviceNamesOption(services);
  const byAddress = new Map<string, string>();
  for (const [name, address] of Object.entries(hosts)) {
    if (typeof address !== 'string') throw new ValidationError(`hosts.${name}`, address, 'must be an address string');
    if (!byAddress.has(address)) byAddress.set(address, name);
  }
  return {
    services,
    reverse: async (address) => byAddress.get(address),
    lookup: async (name) => hosts[name],
  };
}

/** An address to name, or a service whose address (fwmark services have none) and destinations' addresses are. */
export type AddressSource = string | { readonly address?: string | undefined; readonly destinations?: readonly { readonly address: string }[] };

/**
 * The `names` that make formatRules (or a listing) print host and service names as `ipvsadm -S` does:
 * every address of `table` (services with their destinations, or addresses) looked up at once through
 * `resolver` (default systemResolver(): /etc/hosts, then DNS, 2 s at most each, the number when there
 * is no name), and ports named through the resolver's services database.
 */
export async function resolveEndpointNames(table: Iterable<AddressSource>, resolver: Resolver = systemResolver()): Promise<EndpointNames> {
  const addresses = new Set<string>();
  const add = (address: string): void => void addresses.add(canonicalAddress(address)?.text ?? address);
  for (const entry of table) {
    if (typeof entry === 'string') add(entry);
    else {
      if (entry.address !== undefined) add(entry.address);
      for (const d of entry.destinations ?? []) add(d.address);
    }
  }
  const answers = new Map<string, string>();
  await Promise.all(
    [...addresses].map(async (address) => {
      const name = await resolver.reverse(address);
      if (name !== undefined) answers.set(address, name);
    }),
  );
  return { hostName: (address) => answers.get(address), services: resolver.services };
}
