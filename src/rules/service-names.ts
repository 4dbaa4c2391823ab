// Port numbers and service names (`http` <-> 80/tcp), as ipvsadm gets them from getservbyname and
// getservbyport: the services database, /etc/services. ipvsadm accepts `-t 10.0.0.1:http` and prints
// `10.0.0.1:http` unless -n is given, so both directions are needed, per protocol. The table is read
// synchronously once per instance; a missing file simply means no names, as with the C library.

import { readFileSync } from 'node:fs';
import { ValidationError } from '../ipvs/errors.js';
import type { Protocol } from '../ipvs/types.js';

export interface ServiceNames {
  /** getservbyname(name, protocol): the port of a service name or alias, first entry in file order. */
  portOf(name: string, protocol: Protocol): number | undefined;
  /** getservbyport(port, protocol): the official name of the first entry with that port. */
  nameOf(port: number, protocol: Protocol): string | undefined;
}

/** Parse services-database text (`name port/protocol aliases... # comment` lines). */
export function parseServicesFile(text: string): ServiceNames {
  const byName = new Map<string, number>();
  const byPort = new Map<string, string>();
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/#.*/, '').trim();
    if (line === '') continue;
    const fields = line.split(/\s+/);
    const [name, portProto, ...aliases] = fields;
    if (!name || !portProto) continue;
    const entry = portAndProtocol(portProto);
    if (!entry) continue;
    const { port, proto } = entry;
    const portKey = `${port}/${proto}`;
    if (!byPort.has(portKey)) byPort.set(portKey, name);
    for (const n of [name, ...aliases]) {
      const nameKey = `${n}/${proto}`;
      if (!byName.has(nameKey)) byName.set(nameKey, port);
    }
  }
  return {
    portOf: (name, protocol) => byName.get(`${name}/${protocol}`),
    nameOf: (port, protocol) => byPort.get(`${port}/${protocol}`),
  };
}

/**
 * `port/protocol` as the C library's services parser reads it: the port through strtoul with base 0
 * (`0x50` is 80, `010` is 8, `08` is refused), kept to 16 bits as htons keeps it (65617 is 81); the
 * protocol compared as written (getservbyname's `tcp` does not find `TCP`).
 */
function portAndProtocol(field: string): { port: number; proto: string } | undefined {
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\/(\S+)$/.exec(field);
  if (!m) return undefined;
  const digits = m[1]!;
  const value = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.length > 1 && digits.startsWith('0') ? parseInt(digits, 8) : Number(digits);
  return { port: Math.min(value, 0xffffffff) % 0x10000, proto: m[2]! };
}

/**
 * No names at all: every port prints as a number and only numeric ports parse. Frozen: it is shared (every
 * systemServiceNames() without a readable file falls back to it), so a caller's assignment must not reach the rest.
 */
export const NO_SERVICE_NAMES: Readonly<ServiceNames> = Object.freeze({
  portOf: () => undefined,
  nameOf: () => undefined,
});

/** The system's services database, read lazily on first use. */
export function systemServiceNames(path = '/etc/services'): ServiceNames {
  let table: ServiceNames | undefined;
  const load = (): ServiceNames => {
    if (!table) {
      try {
        table = parseServicesFile(readFileSync(path, 'utf8'));
      } catch {
        table = NO_SERVICE_NAMES;
      }
    }
    return table;
  };
  return {
    portOf: (name, protocol) => load().portOf(name, protocol),
    nameOf: (port, protocol) => load().nameOf(port, protocol),
  };
}

/**
 * A `services` option: the services database when left out, else a ServiceNames (checked, so that a wrong
 * value is refused by name rather than failing as "portOf is not a function" at the first named port).
 */
export function serviceNamesOption(value: unknown, field = 'services'): ServiceNames {
  if (value === undefined) return systemServiceNames();
  const v = value as Partial<Record<keyof ServiceNames, unknown>> | null;
  if (typeof v !== 'object' || v === null || typeof v.portOf !== 'function' || typeof v.nameOf !== 'function') {
    throw new ValidationError(field, value, 'must be a ServiceNames (portOf and nameOf), such as parseServicesFile(text) or systemServiceNames()');
  }
  return v as ServiceNames;
}
