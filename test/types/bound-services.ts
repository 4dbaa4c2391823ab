// Compiled by the project's typecheck and, under exactOptionalPropertyTypes, by test/types/exact-optional.test.ts:
// a service the client returns has its ServiceMethods from a shared prototype, so a spread copy has the data
// and not the methods; TypeScript types the copy so, for a read with statistics or without.
import type { BoundService, Ipvs, ReadWithoutStats, Service, ServiceMethods, WithoutStats } from '../../src/index.js';

export async function copies(ipvs: Ipvs): Promise<void> {
  const [whole] = await ipvs.services();
  const [bare] = await ipvs.services({ stats: false });
  if (whole === undefined || bare === undefined) return;
  await whole.destinations({ stats: false });
  await bare.addDestination({ address: '10.0.0.2' });
  const plain: Service = { ...whole };
  const plainBare: WithoutStats<Service> = { ...bare };
  // @ts-expect-error a spread copy has no destinations(): it is not on the object itself
  await { ...whole }.destinations();
  // @ts-expect-error nor on a copy of one read without statistics
  await { ...bare }.addDestination({ address: '10.0.0.2' });
  // Either spelling of a service read without statistics takes the other.
  const named: WithoutStats<BoundService> = bare;
  const back: ReadWithoutStats<BoundService> = named;
  void [plain, plainBare, back];
}

/** A double of the methods is a plain object: the class has no value at run time. */
export const methods = (ipvs: Ipvs, key: Service): ServiceMethods => ({
  destinations: (o) => ipvs.destinations(key, o),
  addDestination: (d, o) => ipvs.addDestination(key, d, o),
});
