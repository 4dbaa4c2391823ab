// Compiled by the project's typecheck and, under exactOptionalPropertyTypes, by test/types/exact-optional.test.ts:
// execute()'s results are read-only, as they are at run time (one frozen `{ ok: true }` for every success, one
// `{ skipped: true }` shared by the operations a call skipped); a double of execute() still returns its own.
// A failure's error is an IpvsError, as are a step's failure of apply() and the health checker's `error` event:
// their `code` is read without a cast.
import { IpvsError, type ApplyResult, type FailureEvent, type Ipvs, type IpvsErrorCode, type OperationResult, type ReconcileClient, type StepFailure } from '../../src/index.js';

export async function results(ipvs: Ipvs): Promise<number> {
  const out = await ipvs.execute([{ op: 'delete-service', service: { fwmark: 1 } }]);
  const first = out[0]!;
  // @ts-expect-error a success is the same frozen object every time
  if ('ok' in first && first.ok) first.ok = true;
  // @ts-expect-error a skipped result is shared by the call's other skipped operations
  if ('skipped' in first) first.skipped = true;
  return out.filter((r) => 'ok' in r && !r.ok).length;
}

/** The codes of the failures, read as they are typed. */
export async function codes(ipvs: Ipvs): Promise<IpvsErrorCode[]> {
  const out = await ipvs.execute([{ op: 'delete-service', service: { fwmark: 1 } }]);
  return out.flatMap((r) => ('ok' in r && !r.ok ? [r.error.code] : []));
}
export const stepCode = (f: StepFailure): IpvsErrorCode => f.error.code;
export const appliedCodes = (r: ApplyResult): IpvsErrorCode[] => r.failed.map((f) => f.error.code);
export const eventCode = (e: FailureEvent): IpvsErrorCode => e.error.code;
export const isKernel = (f: StepFailure): boolean => f.error.code === 'EEXIST';

export const double = (ipvs: Ipvs): ReconcileClient => ({
  iterateServices: (o) => ipvs.iterateServices(o),
  destinations: (k, o) => ipvs.destinations(k, o),
  execute: async (ops): Promise<OperationResult[]> => Array.from({ length: ops.length }, (): OperationResult => ({ ok: false, error: new IpvsError('refused', 'EPERM') })),
});

// @ts-expect-error a double's failure is an IpvsError (a plain Error has no code)
export const plain: OperationResult = { ok: false, error: new Error('refused') };
