// Compiled under exactOptionalPropertyTypes by test/types/exact-optional.test.ts (the project's own
// typecheck leaves that flag off): what a strict user project writes against `ipvs/testing`.
import type { Ipvs, Service } from '../../src/index.js';
import type { FakeKernel, FakeStatsTarget } from '../../src/testing/index.js';

/** A Service read back from the client names its service for setStats(), fwmark services included. */
export async function setEach(ipvs: Ipvs, kernel: FakeKernel): Promise<void> {
  for (const s of await ipvs.services()) {
    for (const d of await ipvs.destinations(s)) kernel.setStats({ ...s, destination: d.address }, { activeConns: 1 });
    kernel.bumpStats(s, { conns: 1 });
  }
}

export const fromService = (s: Service): FakeStatsTarget => ({ ...s, destinationPort: undefined });
