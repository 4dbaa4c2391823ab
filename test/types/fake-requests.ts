// Compiled by the project's typecheck and, under exactOptionalPropertyTypes, by test/types/exact-optional.test.ts:
// the fake kernel's request log is typed by the names it holds (it was `string[]`), so a misspelt command name in
// a comparison is caught, while reading, clearing and comparing it as strings still compiles; failNext() takes an
// errno name typed as a KernelError's code is (editors offer the known names), or a number.
import type { ErrnoName } from '../../src/index.js';
import type { FakeKernel, FakeRequestName } from '../../src/testing/index.js';

export function log(kernel: FakeKernel): number {
  const adds = kernel.requests.filter((r) => r === 'IPVS_CMD_NEW_SERVICE' || r === 'CTRL_CMD_GETFAMILY').length;
  const names: readonly string[] = kernel.requests;
  const last: FakeRequestName | undefined = kernel.requests.at(-1);
  const unknown = kernel.requests.filter((r) => r === 'IPVS_CMD_99' || r.startsWith('netlink type ')).length;
  kernel.requests.length = 0;
  return adds + names.length + (last === undefined ? 0 : 1) + unknown;
}

// @ts-expect-error a misspelt command is never in the log
export const misspelt = (kernel: FakeKernel): boolean => kernel.requests.includes('IPVS_CMD_NEW_SERVCE');
// @ts-expect-error a misspelt command is never in the log
export const compared = (kernel: FakeKernel): number => kernel.requests.filter((r) => r === 'IPVS_CMD_DEL_SERVCE').length;

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
export const errnoParameter: Equal<Parameters<FakeKernel['failNext']>[1], ErrnoName | number> = true;
export const arm = (kernel: FakeKernel): FakeKernel => kernel.failNext(1, 'EBUSY').failNext(1, 'E1234').failNext(1, 16, 'IPVS_CMD_NEW_DEST');
