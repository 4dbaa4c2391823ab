// Commands beyond ipvsadm's, named by a first argument that is a word rather than an option
// (`ipvs apply FILE`, `ipvs diff FILE`, `ipvs export`, `ipvs health CONFIG`). ipvsadm itself never takes
// a leading word, so these cannot collide with a compatible command line. Each entry gets the remaining
// arguments and the run's context and returns the exit status. Add new words to SUBCOMMANDS.

import type { CliContext } from './context.js';

export interface Subcommand {
  /** One line for the usage text. */
  readonly summary: string;
  run(args: readonly string[], ctx: CliContext): Promise<number>;
}

export const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {};
