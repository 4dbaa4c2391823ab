// How ipvsadm writes an address and port: `10.0.0.1:80`, `[2001:db8::1]:80`, and without -n the host
// name (reverse lookup) and the service name (services database) instead of the numbers. Lookups are
// synchronous here: callers that resolve host names asynchronously (DNS) do so first and pass a map.

import { canonicalAddress } from './addresses.js';
import type { ServiceNames } from './service-names.js';
import type { Protocol } from '../ipvs/types.js';

export interface EndpointNames {
  /** The host name of an address (canonical text), when known; undefined prints the address. */
  hostName?: (address: string) => string | undefined;
  services: ServiceNames;
}

/** ipvsadm's addrport_to_anyname. `protocol` undefined (fwmark services) always prints the port number. */
export function endpointText(
  address: string,
  port: number,
  protocol: Protocol | undefined,
  numeric: boolean,
  names: EndpointNames | undefined,
): string {
  let text = address;
  let v6 = false;
  // The client reports IPv4 addresses in canonical form already; only other text needs parsing.
  if (!isCanonicalIPv4(address)) {
    const parsed = canonicalAddress(address);
    text = parsed?.text ?? address;
    v6 = parsed ? parsed.family === 'ipv6' : address.includes(':');
  }
  let host = text;
  let portText = String(port);
  if (!numeric && names) {
    host = names.hostName?.(text) ?? text;
    if (protocol) portText = names.services.nameOf(port, protocol) ?? portText;
  }
  // ipvsadm formats into a 60-byte buffer: longer names are cut.
  return (v6 ? `[${host}]:${portText}` : `${host}:${portText}`).slice(0, 59);
}

/** Four decimal octets 0..255 without leading zeros: text canonicalAddress would return unchanged. */
function isCanonicalIPv4(s: string): boolean {
  let parts = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a final '.' closes the last octet
    if (c === 46) {
      if (digits === 0 || value > 255 || ++parts > 4) return false;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && value === 0) return false; // a leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return parts === 4;
}
