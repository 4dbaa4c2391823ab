// Commands beyond ipvsadm's, named by a first argument that is a word rather than an option
// (`ipvs apply FILE`, `ipvs diff FILE`, `ipvs export`, `ipvs health CONFIG`). ipvsadm itself never takes
// a leading word, so these cannot collide with a compatible command line. Each entry gets the remaining
// arguments and the run's context and returns the exit status; its summary is listed under "Other
// commands" by `ipvs -h` and after an unknown word. Add new words to SUBCOMMANDS; the bodies live in
// their own files (apply.ts, diff.ts, export.ts, health.ts), which keeps this table a table. They are
// loaded when their word is used: an ipvsadm-style command line never pays for loading reconcile or health.

import type { CliContext } from './context.js';

export interface Subcommand {
  /** One line for the usage text. */
  readonly summary: string;
  run(args: readonly string[], ctx: CliContext): Promise<number>;
}

/** A summary whose argument and text line up in a column after the word (run.ts prints "WORD  SUMMARY"). */
function summary(word: string, args: string, text: string): string {
  return `${' '.repeat(Math.max(0, 6 - word.length))}${args.padEnd(6)}  ${text}`;
}

export const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = Object.freeze({
  apply: {
    summary: summary('apply', 'FILE', 'make the table hold the desired state in FILE (JSON or rules text)'),
    run: async (args, ctx) => (await import('./apply.js')).runApply(args, ctx),
  },
  diff: {
    summary: summary('diff', 'FILE', 'show what apply FILE would change (exit 0 in sync, 1 changes pending)'),
    run: async (args, ctx) => (await import('./diff.js')).runDiff(args, ctx),
  },
  export: {
    summary: summary('export', '', 'print the table as a desired state in JSON'),
    run: async (args, ctx) => (await import('./export.js')).runExport(args, ctx),
  },
  health: {
    summary: summary('health', 'CONFIG', 'keep real servers healthy from a JSON config until SIGINT/SIGTERM'),
    run: async (args, ctx) => (await import('./health.js')).runHealth([...args], ctx),
  },
});
