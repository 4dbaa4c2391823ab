// Compiled by the project's typecheck and, under exactOptionalPropertyTypes, by test/types/exact-optional.test.ts:
// the options of exportState and of the fake kernel's (un)loading have names a caller can use.
import { exportState, type ExportStateOptions, type Ipvs } from '../../src/index.js';
import type { FakeKernel, LoadIpvsOptions, UnloadIpvsOptions } from '../../src/testing/index.js';

export async function exportBoth(ipvs: Ipvs, signal: AbortSignal): Promise<void> {
  const options: ExportStateOptions = { signal };
  await exportState(ipvs, options);
  await ipvs.exportState(options);
  await ipvs.exportState({});
}

export function cycle(kernel: FakeKernel): void {
  const unload: UnloadIpvsOptions = { autoload: true };
  const load: LoadIpvsOptions = { familyId: 0x30 };
  kernel.unloadIpvs(unload).loadIpvs(load).reloadIpvs(load);
}

export const options = (o: ExportStateOptions): Parameters<Ipvs['exportState']>[0] => o;
// @ts-expect-error the only option is signal
export const wrong: ExportStateOptions = { stats: true };
