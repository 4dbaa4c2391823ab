// Compiled by the project's typecheck (tsconfig.json includes test/): a destination's forwarding method and
// tunnel type read back are a name or, for a value Linux keeps but has no name for (another tool's), a number;
// a destination read back is still a DestinationKey, and (forwarding cast, as for 'local' and 'bypass') a
// DestinationSpec, its tunnel included, that the usual read-change-update loop passes back.
import type { Destination, DestinationKey, DestinationSpec, Forwarding, Ipvs, ServiceKey, TunnelType } from '../../src/index.js';

export async function quiesceAll(ipvs: Ipvs, key: ServiceKey): Promise<void> {
  for (const d of await ipvs.destinations(key)) {
    const forwarding: Forwarding | number = d.forwarding;
    const type: TunnelType | number | undefined = d.tunnel?.type;
    if (typeof forwarding === 'number' || typeof type === 'number') {
      const named: DestinationKey = d;
      await ipvs.deleteDestination(key, named);
      continue;
    }
    const spec: DestinationSpec = { ...d, forwarding: forwarding as DestinationSpec['forwarding'], weight: 0 };
    await ipvs.updateDestination(key, spec);
  }
}

// @ts-expect-error the names stay the five Linux has
export const notAName: Forwarding = 5;
// @ts-expect-error as input the forwarding method is a name
export const input: DestinationSpec = { address: '10.0.0.1', forwarding: 5 };
export const read = (d: Destination): number | string => d.forwarding;

/** What another tool can leave (a test double of a read): forwarding 5, a tunnel of type 3. */
export const fromAnotherTool: Omit<Destination, 'stats'> = {
  address: '10.0.0.1', family: 'ipv4', port: 80, forwarding: 5, weight: 1, upperThreshold: 0, lowerThreshold: 0,
  tunnel: { type: 3, port: 0, checksum: 'nocsum' }, activeConns: 0, inactiveConns: 0, persistentConns: 0,
};
/** Still a DestinationSpec to the compiler once forwarding is named; the client refuses the tunnel type 3 at run time. */
export const sentBack: DestinationSpec = { ...fromAnotherTool, forwarding: 'tunnel' };
