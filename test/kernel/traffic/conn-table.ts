// Reading /proc/net/ip_vs_conn (what `ipvsadm -Lnc` shows) in a namespace: one entry per connection,
// and per persistence template (client port 0; for a port-0 service the virtual port is 0 too, and for
// a fwmark service the protocol is IP and the virtual address holds the mark). IPv4 only: the traffic
// tests use IPv4.

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

export function parseConnTable(text: string): ConnEntry[] {
  const out: ConnEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 9 || f[1]!.length !== 8) continue;
    const clientPort = parseInt(f[2]!, 16);
    out.push({
      protocol: f[0]!,
      client: ipv4(f[1]!),
      clientPort,
      virtual: ipv4(f[3]!),
      virtualPort: parseInt(f[4]!, 16),
      destination: ipv4(f[5]!),
      destinationPort: parseInt(f[6]!, 16),
      state: f[7]!,
      expires: Number(f[8]),
      template: clientPort === 0,
    });
  }
  return out;
}
