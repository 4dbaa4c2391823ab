// Compiled by the project's typecheck and, under exactOptionalPropertyTypes, by test/types/exact-optional.test.ts:
// an object read back, changed or not, goes back to the client without a cast (api.md: "what the client reads
// back is a valid spec"), while a spec written by hand keeps its names checked by the compiler.
import { describeOperation, OperationBatch, type Ipvs, type OperationInput, type ReadBackDestinationSpec, type ReadBackServiceSpec, type ServiceKey, type Service, type Destination } from '../../src/index.js';

/** Copy a table to another client: each service and destination as read. */
export async function copyTable(from: Ipvs, to: Ipvs): Promise<void> {
  for (const s of await from.services()) {
    await to.addService(s);
    for (const d of await from.destinations(s)) await to.addDestination(s, d);
  }
  for (const s of await from.services({ stats: false })) {
    await to.updateService(s);
    for (const d of await from.destinations(s, { stats: false })) await to.updateDestination(s, d);
  }
}

/** Change one field and send it back. */
export async function changeOne(ipvs: Ipvs, key: ServiceKey): Promise<void> {
  const svc = await ipvs.service(key);
  await ipvs.updateService({ ...svc, scheduler: 'wrr' });
  await ipvs.updateService({ ...svc, persistence: { timeout: 60 } });
  for (const d of await svc.destinations()) {
    await ipvs.updateDestination(key, { ...d, weight: 0 });
    await svc.addDestination({ ...d, address: '10.0.9.9' });
  }
}

export const service = (s: Service): ReadBackServiceSpec => s;
export const destination = (d: Destination): ReadBackDestinationSpec => d;

export async function handWritten(ipvs: Ipvs): Promise<void> {
  const key = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
  // @ts-expect-error a scheduler written by hand is one of SCHEDULER_NAMES
  await ipvs.addService({ ...key, scheduler: 'rrr' });
  // @ts-expect-error so is an engine
  await ipvs.updateService({ fwmark: 1, family: 'ipv6', persistenceEngine: 'sipp' });
  // @ts-expect-error a forwarding method written by hand is masq, route or tunnel
  await ipvs.addDestination(key, { address: '10.0.0.2', forwarding: 'local' });
  // @ts-expect-error a misspelt field is still refused
  await ipvs.updateDestination(key, { address: '10.0.0.2', wieght: 0 });
}

/** Drain every destination of a listing in one execute(): each operation built from what was read. */
export async function drainAll(ipvs: Ipvs): Promise<void> {
  const ops: OperationInput[] = [];
  for (const s of await ipvs.services({ stats: false })) {
    ops.push({ op: 'update-service', service: { ...s, scheduler: 'wrr' } });
    for (const d of await ipvs.destinations(s)) ops.push({ op: 'update-destination', service: s, destination: { ...d, weight: 0 } });
  }
  await ipvs.execute(ops);
  // @ts-expect-error an operation written by hand keeps its names checked
  await ipvs.execute([{ op: 'add-destination', service: { fwmark: 1 }, destination: { address: '10.0.0.2', forwarding: 'bypass' } }]);
}

/** The same operations in a batch built ahead, and described for a log line. */
export function batchOf(services: readonly Service[], destinations: readonly Destination[]): OperationBatch {
  const batch = new OperationBatch();
  for (const s of services) batch.add({ op: 'update-service', service: { ...s, scheduler: 'rr' } });
  const ops: OperationInput[] = services.flatMap((s) => destinations.map((d) => ({ op: 'update-destination' as const, service: s, destination: { ...d, weight: 0 } })));
  for (const op of ops) console.log(describeOperation(op));
  return OperationBatch.from(ops);
}
