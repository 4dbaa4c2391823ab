// Types for data.mjs (the benchmark and the lab are plain JS run on the built package; the test of the data is not).
import type { DesiredState } from '../../src/reconcile/index.js';

export interface BenchChange {
  /** The service's index. */
  i: number;
  kind: 'edit' | 'remove' | 'add';
  /** The change's own index. */
  k: number;
}

export interface BenchData {
  saveText(): string;
  changes(): BenchChange[];
  changedState(edits: readonly BenchChange[]): DesiredState;
  changeRules(edits: readonly BenchChange[]): string;
  revertRules(edits: readonly BenchChange[]): string;
}

export function benchData(services: number, dests: number): BenchData;
