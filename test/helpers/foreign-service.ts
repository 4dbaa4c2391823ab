// Services of any IP protocol number, made as another tool makes them (pyroute2, a raw netlink program):
// Linux's generic netlink path takes any protocol (only the old sockopt path checks for TCP, UDP and SCTP),
// while the client refuses to add one. Hand-built request bytes (netlink-bytes.ts) over any Transport, so
// the same helper seeds the fake kernel and a real one.

import { isIPv4 } from 'node:net';
import type { Transport } from '../../src/netlink/transport.js';
import { RawClient } from '../conformance/raw-client.js';
import * as B from './netlink-bytes.js';

export interface ForeignService {
  protocol: number;
  /** IPv4 dotted quad, or IPv6 (a `::` allowed, no brackets). */
  address: string;
  port: number;
  /** Default 'rr'. */
  scheduler?: string;
  /** One destination, on the service's port; masq (0) unless said. */
  destination?: { address: string; forwarding?: 'masq' | 'tunnel' | 'route'; weight?: number };
}

/** The 16 bytes of the kernel's union nf_inet_addr. */
function addressBytes(a: string): number[] {
  if (isIPv4(a)) return [...a.split('.').map(Number), ...new Array<number>(12).fill(0)];
  const b = Buffer.alloc(16);
  const [head = '', tail] = a.split('::');
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  [...hs, ...new Array<string>(8 - hs.length - ts.length).fill('0'), ...ts].forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return [...b];
}

const FORWARDING = { masq: 0, tunnel: 2, route: 3 } as const;

/** Add each service (and its destination) through `transport`, then close it; throws on any refusal. */
export async function addForeignServices(transport: Transport, services: readonly ForeignService[]): Promise<void> {
  const c = new RawClient(transport);
  try {
    const family = await c.familyId('IPVS');
    for (const s of services) {
      const v6 = !isIPv4(s.address);
      const key = [B.u16(1, v6 ? 10 : 2), B.u16(2, s.protocol), B.bin(3, addressBytes(s.address)), B.u16be(4, s.port)];
      const full = B.nest(
        1, ...key, B.str(6, s.scheduler ?? 'rr'), B.bin(7, [...B.le32(0), ...B.le32(0xffffffff)]), B.u32(8, 0),
        v6 ? B.u32(9, 128) : B.u32be(9, 0xffffffff),
      );
      const added = await c.errno({ type: family, flags: B.F_REQUEST, cmd: 1, attrs: [full] });
      if (added !== 0) throw new Error(`NEW_SERVICE proto ${s.protocol} ${s.address}:${s.port}: errno ${added}`);
      const d = s.destination;
      if (!d) continue;
      const dest = B.nest(
        2, B.bin(1, addressBytes(d.address)), B.u16be(2, s.port), B.u32(3, FORWARDING[d.forwarding ?? 'masq']), B.u32(4, d.weight ?? 1),
        B.u32(5, 0), B.u32(6, 0),
      );
      const destAdded = await c.errno({ type: family, flags: B.F_REQUEST, cmd: 5, attrs: [B.nest(1, ...key), dest] });
      if (destAdded !== 0) throw new Error(`NEW_DEST ${d.address} in proto ${s.protocol} ${s.address}:${s.port}: errno ${destAdded}`);
    }
  } finally {
    await transport.close();
  }
}

/**
 * The table of the report that found the problem (real ipvsadm 1.31 lists and saves it): a TCP service and
 * two services of protocols Linux does not balance, 47 (GRE) on port 80 and 50 (ESP) on port 0, each with
 * one masquerading destination.
 */
export const GRE_AND_ESP: readonly ForeignService[] = [
  { protocol: 47, address: '10.9.9.9', port: 80, destination: { address: '10.9.9.10' } },
  { protocol: 50, address: '10.9.9.9', port: 0, destination: { address: '10.9.9.10' } },
];

/** A destination as another tool may send it: any forwarding value (Linux keeps 0..7) and any tunnel type (a u8). */
export interface RawDestination {
  address: string;
  /** The service's own port when left out. */
  port?: number;
  /** IP_VS_CONN_F_* value: 0 masq, 1 local, 2 tunnel, 3 route, 4 bypass, 5..7 without a name. */
  fwd: number;
  weight?: number;
  /** Sent only when given: type (0 ipip, 1 gue, 2 gre, more without a name), port, flags (1 csum, 2 remcsum). */
  tunnel?: { type: number; port?: number; flags?: number };
}

/** Add `dests` to the existing service `service` (any protocol number) through `transport`, then close it. */
export async function addRawDestinations(
  transport: Transport,
  service: { protocol: number; address: string; port: number },
  dests: readonly RawDestination[],
): Promise<void> {
  const c = new RawClient(transport);
  try {
    const family = await c.familyId('IPVS');
    const v6 = !isIPv4(service.address);
    const key = [B.u16(1, v6 ? 10 : 2), B.u16(2, service.protocol), B.bin(3, addressBytes(service.address)), B.u16be(4, service.port)];
    for (const d of dests) {
      const t = d.tunnel;
      const tunnel = t ? [B.u8(13, t.type), B.u16be(14, t.port ?? 0), B.u16(15, t.flags ?? 0)] : [];
      const dest = B.nest(
        2, B.bin(1, addressBytes(d.address)), B.u16be(2, d.port ?? service.port), B.u32(3, d.fwd), B.u32(4, d.weight ?? 1),
        B.u32(5, 0), B.u32(6, 0), ...tunnel,
      );
      const added = await c.errno({ type: family, flags: B.F_REQUEST, cmd: 5, attrs: [B.nest(1, ...key), dest] });
      if (added !== 0) throw new Error(`NEW_DEST ${d.address} (fwd ${d.fwd}) in ${service.protocol} ${service.address}:${service.port}: errno ${added}`);
    }
  } finally {
    await transport.close();
  }
}
