// How ipvsadm writes an address and port: `10.0.0.1:80`, `[2001:db8::1]:80`, and without -n the host
// name (reverse lookup) and the service name (services database) instead of the numbers. Lookups are
// synchronous here: callers that resolve host names asynchronously (DNS) do so first and pass a map.

import { canonicalAddress, canonicalIPv4Value } from './addresses.js';
import type { ServiceNames } from './service-names.js';
import type { Protocol } from '../ipvs/types.js';

export interface EndpointNames {
  /** The host name of an address (canonical text), when known; undefined prints the address. */
  hostName?: (address: string) => string | undefined;
  services: ServiceNames;
}

/**
 * ipvsadm's addrport_to_anyname. `protocol` undefined (fwmark services) or a number (a protocol ipvsadm has no
 * name for) always prints the port number: only TCP, UDP and SCTP ports are looked up.
 */
export function endpointText(
  address: string,
  port: number,
  protocol: Protocol | number | undefined,
  numeric: boolean,
  names: EndpointNames | undefined,
): string {
  let text = address;
  let v6 = false;
  // The client reports IPv4 addresses in canonical form already; only other text needs parsing.
  if (canonicalIPv4Value(address) === undefined) {
    const parsed = canonicalAddress(address);
    text = parsed?.text ?? address;
    v6 = parsed ? parsed.family === 'ipv6' : address.includes(':');
  }
  let host = text;
  let portText = String(port);
  if (!numeric && names) {
    host = names.hostName?.(text) ?? text;
    if (typeof protocol === 'string') portText = names.services.nameOf(port, protocol) ?? portText;
  }
  // ipvsadm formats into a 60-byte buffer: longer names are cut.
  return (v6 ? `[${host}]:${portText}` : `${host}:${portText}`).slice(0, 59);
}
