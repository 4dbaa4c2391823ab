// Reading /proc/net/ip_vs_conn (what `ipvsadm -Lnc` shows) in a namespace: one entry per connection,
// and per persistence template (client port 0; for a port-0 service the virtual port is 0 too, and for
// a fwmark service the protocol is IP and the virtual address holds the mark). The kernel prints IPv4
// as 8 hex digits and IPv6 as eight full groups (fd09:0001:0000:...); both come out as ipvsadm shows them,
// IPv6 compressed (fd09:1::2).

export interface ConnEntry {
  protocol: string;
  client: string;
  clientPort: number;
  /** The virtual address, or for a fwmark template the mark as a dotted quad (mark 10: 0.0.0.10). */
  virtual: string;
  virtualPort: number;
  destination: string;
  destinationPort: number;
  state: string;
  /** Seconds left. */
  expires: number;
  /** A persistence template rather than a connection. */
  template: boolean;
}

const ipv4 = (hex: string): string => [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
// WHATWG URL serialisation compresses IPv6 as RFC 5952 does (for the lab's addresses, which embed no IPv4).
const ipv6 = (full: string): string => new URL(`http://[${full}]/`).hostname.slice(1, -1);
const address = (field: string): string => (field.length === 8 ? ipv4(field) : ipv6(field));
const isAddress = (field: string): boolean => field.length === 8 || field.split(':').length === 8;

export function parseConnTable(text: string): ConnEntry[] {
  const out: ConnEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 9 || !isAddress(f[1]!)) continue;
    const clientPort = parseInt(f[2]!, 16);
    out.push({
      protocol: f[0]!,
      client: address(f[1]!),
      clientPort,
      virtual: address(f[3]!),
      virtualPort: parseInt(f[4]!, 16),
      destination: address(f[5]!),
      destinationPort: parseInt(f[6]!, 16),
      state: f[7]!,
      expires: Number(f[8]),
      template: clientPort === 0,
    });
  }
  return out;
}
