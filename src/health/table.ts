// What the kernel should hold for one service, given the health of its real servers, and the changes
// that take what the checker believes the kernel holds to that. Pure functions: the checker owns the
// belief (read from the kernel at start and after any failure, updated by each accepted change) and the
// serialisation; this file owns the rules. Only the configured real servers and the sorry server are
// ever touched: other destinations in the same service belong to someone else (one with a weight keeps
// the sorry server out, as a real server that is up does).
//
// Order matters so that a service never has nothing to send to: capacity is added first (restored or
// added real servers, then the sorry server), then servers are quiesced, then deleted (the sorry server
// last of all, after a real server is back). The checker sends the adds first and the rest only after them,
// holding back whatever would leave nothing serving when an add was refused.

import type { Operation } from '../ipvs/operations.js';
import type { Destination, Forwarding, TunnelChecksum, TunnelSpec, TunnelType } from '../ipvs/types.js';
import type { FullDestinationSpec, NormalHealthService, NormalRealServer } from './config.js';
import type { HealthStatus } from './types.js';

/** What the checker believes the kernel holds for one destination. */
export interface BelievedDestination {
  weight: number;
  /** A number: another tool set a method Linux has no name for (it then differs from any configured one). */
  forwarding: Forwarding | number;
  upperThreshold: number;
  lowerThreshold: number;
  /** Tunnel destinations only, every field explicit. */
  tunnel?: FullTunnel;
}

interface FullTunnel {
  type: TunnelType | number;
  port: number;
  checksum: TunnelChecksum;
}

/** A tunnel as the kernel holds it: ipip by default, a port only for gue, a checksum option only past ipip. */
function fullTunnel(t: TunnelSpec | undefined): FullTunnel {
  const type = t?.type ?? 'ipip';
  return { type, port: type === 'gue' ? (t?.port ?? 0) : 0, checksum: type === 'ipip' ? 'nocsum' : (t?.checksum ?? 'nocsum') };
}

export function believedOf(d: Destination | FullDestinationSpec): BelievedDestination {
  const b: BelievedDestination = { weight: d.weight, forwarding: d.forwarding, upperThreshold: d.upperThreshold, lowerThreshold: d.lowerThreshold };
  if (d.forwarding === 'tunnel') b.tunnel = fullTunnel(d.tunnel);
  return b;
}

export type ChangeKind = 'add' | 'restore' | 'update' | 'quiesce' | 'remove';

export interface PlannedChange {
  operation: Operation;
  kind: ChangeKind;
  destinationId: string;
  sorry: boolean;
  /** What the kernel holds after it (undefined: the destination is gone). */
  after: BelievedDestination | undefined;
  before: BelievedDestination | undefined;
}

/**
 * The destinations the kernel should hold: id -> spec, or null for "must not be there". A real server
 * whose state is not known yet is left out (left as it is), and so is one the kernel refuses to take
 * ('refused': its address is not one Linux takes as a destination), which can serve no more than a server
 * that is down. The sorry server is wanted when every real server is known to be down (or refused) and no
 * other destination of the service (one the config does not name) has a weight: the kernel sends that one
 * its share whatever the checker does, and the sorry server beside it would take a share of live traffic.
 */
export function wantedDestinations(
  svc: NormalHealthService,
  status: (destinationId: string) => HealthStatus | 'unknown' | 'refused',
  othersServe = false,
): Map<string, FullDestinationSpec | null> {
  const want = new Map<string, FullDestinationSpec | null>();
  let allDown = true;
  for (const rs of svc.realServers) {
    const s = status(rs.id);
    if (s === 'refused') continue;
    if (s !== 'down') allDown = false;
    if (s === 'up') want.set(rs.id, rs.spec);
    else if (s === 'down') want.set(rs.id, svc.onFailure === 'quiesce' ? { ...rs.spec, weight: 0 } : null);
  }
  if (svc.sorry) want.set(svc.sorry.id, allDown && !othersServe ? svc.sorry.spec : null);
  return want;
}

function same(have: BelievedDestination, want: FullDestinationSpec): boolean {
  // A kernel may report a destination on this host as 'local' whatever was asked for.
  const forwardingSame = have.forwarding === want.forwarding || have.forwarding === 'local' || have.forwarding === 'bypass';
  if (have.forwarding === 'tunnel' && want.forwarding === 'tunnel') {
    const h = have.tunnel ?? fullTunnel(undefined);
    const w = fullTunnel(want.tunnel);
    if (h.type !== w.type || h.port !== w.port || h.checksum !== w.checksum) return false;
  }
  return forwardingSame && have.weight === want.weight && have.upperThreshold === want.upperThreshold && have.lowerThreshold === want.lowerThreshold;
}

const RANK: Readonly<Record<ChangeKind, number>> = { add: 0, restore: 0, update: 0, quiesce: 1, remove: 2 };

/** The changes from `believed` to `wanted`, in a safe order (see the file header). */
export function planChanges(
  svc: NormalHealthService,
  wanted: ReadonlyMap<string, FullDestinationSpec | null>,
  believed: ReadonlyMap<string, BelievedDestination>,
): PlannedChange[] {
  const changes: PlannedChange[] = [];
  const sorryId = svc.sorry?.id;
  // Made on the first removal: a search of the real servers per removal is quadratic when many go at once.
  let keys: Map<string, NormalRealServer['key']> | undefined;
  for (const [id, want] of wanted) {
    const have = believed.get(id);
    const sorry = id === sorryId;
    if (want === null) {
      if (!have) continue;
      keys ??= new Map(svc.realServers.map((r) => [r.id, r.key]));
      const key = sorry ? svc.sorry!.key : keys.get(id)!;
      changes.push({ operation: { op: 'delete-destination', service: svc.key, destination: key }, kind: 'remove', destinationId: id, sorry, before: have, after: undefined });
      continue;
    }
    if (!have) {
      changes.push({ operation: { op: 'add-destination', service: svc.key, destination: want }, kind: 'add', destinationId: id, sorry, before: undefined, after: believedOf(want) });
      continue;
    }
    if (same(have, want)) continue;
    const kind: ChangeKind = want.weight === 0 && have.weight !== 0 ? 'quiesce' : have.weight === 0 && want.weight !== 0 ? 'restore' : 'update';
    changes.push({ operation: { op: 'update-destination', service: svc.key, destination: want }, kind, destinationId: id, sorry, before: have, after: believedOf(want) });
  }
  return changes.map((c, i) => ({ c, i })).sort((a, b) => RANK[a.c.kind] - RANK[b.c.kind] || a.i - b.i).map((x) => x.c);
}
