// Compiled by the project's typecheck and, under exactOptionalPropertyTypes, by test/types/exact-optional.test.ts:
// execute()'s results are read-only, as they are at run time (one frozen `{ ok: true }` for every success, one
// `{ skipped: true }` shared by the operations a call skipped); a double of execute() still returns its own.
import type { Ipvs, OperationResult, ReconcileClient } from '../../src/index.js';

export async function results(ipvs: Ipvs): Promise<number> {
  const out = await ipvs.execute([{ op: 'delete-service', service: { fwmark: 1 } }]);
  const first = out[0]!;
  // @ts-expect-error a success is the same frozen object every time
  if ('ok' in first && first.ok) first.ok = true;
  // @ts-expect-error a skipped result is shared by the call's other skipped operations
  if ('skipped' in first) first.skipped = true;
  return out.filter((r) => 'ok' in r && !r.ok).length;
}

export const double = (ipvs: Ipvs): ReconcileClient => ({
  iterateServices: (o) => ipvs.iterateServices(o),
  destinations: (k, o) => ipvs.destinations(k, o),
  execute: async (ops): Promise<OperationResult[]> => Array.from({ length: ops.length }, (): OperationResult => ({ ok: false, error: new Error('refused') })),
});
