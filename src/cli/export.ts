// `ipvs export`: the whole IPVS table as a desired state in JSON (the format `ipvs apply` and `ipvs diff`
// read), services and destinations in ipvsadm's listing order, so that `ipvs export > state.json` then
// `ipvs apply state.json` changes nothing and two exports of one table are the same text.

import type { CliContext } from './context.js';
import { errorText } from './apply.js';
import { OpenFailure } from './failures.js';
import { exportState, type ReconcileClient } from '../reconcile/index.js';
import { applyRefusals } from '../reconcile/export.js';

/** How many entries apply would refuse are listed one by one; the rest are counted. */
const SHOWN_REFUSALS = 20;

const EXPORT_USAGE = `Usage: %p export [--compact]
Print the IPVS table as a desired state in JSON, for \`%p apply\` and \`%p diff\`. A value Linux keeps that
apply refuses is written as reported, and named in a warning on standard error (exit status 0 all the same).
  --compact   one line instead of indented JSON
`;

export function exportUsage(programName: string): string {
  return EXPORT_USAGE.replaceAll('%p', programName);
}

/** `ipvs export ...`; resolves to the exit status (0, or 1 when the table cannot be read, 2 for usage). */
export async function runExport(args: readonly string[], ctx: CliContext): Promise<number> {
  let compact = false;
  for (const a of args) {
    if (a === '--compact') compact = true;
    else if (a === '-h' || a === '--help') {
      ctx.stdout.write(exportUsage(ctx.programName));
      return 0;
    } else {
      ctx.stderr.write(`${ctx.programName} export: unknown argument ${a}\n${exportUsage(ctx.programName)}`);
      return 2;
    }
  }
  let ipvs: Pick<ReconcileClient, 'iterateServices' | 'destinations'>;
  try {
    ipvs = (await ctx.ipvs()) as unknown as Pick<ReconcileClient, 'iterateServices' | 'destinations'>;
  } catch (err) {
    // No IPVS (or no permission to open it) is a table that cannot be read: ipvsadm's paragraph, status 1.
    if (!(err instanceof OpenFailure)) throw err;
    ctx.stderr.write(err.text + '\n');
    return 1;
  }
  try {
    const state = await exportState(ipvs);
    ctx.stdout.write((compact ? JSON.stringify(state) : JSON.stringify(state, null, 2)) + '\n');
    // Values Linux keeps that apply does not take are written as reported; say so now, not when the file is applied.
    const refusals = applyRefusals(state);
    if (refusals.length > 0) {
      ctx.stderr.write(`${ctx.programName} export: warning: \`${ctx.programName} apply\` refuses this state as it is (values Linux keeps that it does not take as input):\n`);
      for (const r of refusals.slice(0, SHOWN_REFUSALS)) ctx.stderr.write(`  ${errorText(r)}\n`);
      if (refusals.length > SHOWN_REFUSALS) ctx.stderr.write(`  ... and ${refusals.length - SHOWN_REFUSALS} more\n`);
    }
    return 0;
  } catch (err) {
    ctx.stderr.write(`${ctx.programName} export: ${errorText(err)}\n`);
    return 1;
  }
}
