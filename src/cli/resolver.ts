// Name resolution for the command line, as ipvsadm does it through the C library: host names to IPv4
// addresses (gethostbyname) for input, addresses to host names (gethostbyaddr, i.e. /etc/hosts then DNS)
// for listings without -n, and the services database for ports. The system resolver goes through
// getnameinfo / getaddrinfo (the same NSS path as ipvsadm), each answer is cached for the run, and every
// lookup is bounded by a short timeout after which the numeric form is used, so a machine without a
// reachable DNS server prints numbers promptly instead of hanging.

import { lookup as dnsLookup, lookupService } from 'node:dns';
import { systemServiceNames, type ServiceNames } from '../rules/service-names.js';

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

/** The machine's resolver (NSS: /etc/hosts, DNS, ...), cached and time-bounded. */
export function systemResolver(options: SystemResolverOptions = {}): Resolver {
  const timeoutMs = options.timeoutMs ?? 2000;
  const reverseCache = new Map<string, Promise<string | undefined>>();
  const forwardCache = new Map<string, Promise<string | undefined>>();
  return {
    services: systemServiceNames(options.servicesPath),
    reverse(address) {
      let answer = reverseCache.get(address);
      if (!answer) {
        const work = new Promise<string | undefined>((resolve, reject) => {
          lookupService(address, 0, (err, hostname) =>
            err ? reject(err) : resolve(hostname && hostname !== address ? hostname : undefined),
          );
        });
        answer = withTimeout(work, timeoutMs, undefined);
        reverseCache.set(address, answer);
      }
      return answer;
    },
    lookup(name) {
      let answer = forwardCache.get(name);
      if (!answer) {
        const work = new Promise<string | undefined>((resolve, reject) => {
          dnsLookup(name, { family: 4 }, (err, address) => (err ? reject(err) : resolve(address || undefined)));
        });
        answer = withTimeout(work, timeoutMs, undefined);
        forwardCache.set(name, answer);
      }
      return answer;
    },
  };
}

/** A resolver that knows only what it is given: for tests and for fully numeric use. */
export function staticResolver(
  hosts: Readonly<Record<string, string>> = {},
  services: ServiceNames = { portOf: () => undefined, nameOf: () => undefined },
): Resolver {
  const byAddress = new Map<string, string>();
  for (const [name, address] of Object.entries(hosts)) if (!byAddress.has(address)) byAddress.set(address, name);
  return {
    services,
    reverse: async (address) => byAddress.get(address),
    lookup: async (name) => hosts[name],
  };
}
