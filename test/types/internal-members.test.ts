// The members of the exported classes that only the library calls are marked @internal and left out of the
// shipped declarations (tsconfig.build.json: stripInternal): a user's program compiled against dist sees
// neither OperationBatch's messages() and request() (execute()'s wire) nor a PreparedRun's add() and
// PreparedRun.empty() (a run is prepareRules()'s to fill), cannot construct a PreparedRun or assign its
// `invalid`, and still has every member the docs give them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { strictDiagnostics } from '../helpers/strict-compile.js';

describe('internal members (run `npm run build` first)', () => {
  it('are absent from the shipped declarations; the public ones are there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipvs-internal-'));
    try {
      const file = join(dir, 'user.ts');
      const index = fileURLToPath(new URL('../../dist/src/index.js', import.meta.url));
      writeFileSync(file, [
        `import { Ipvs, OperationBatch, PreparedRun, prepareRules } from ${JSON.stringify(index)};`,
        `export async function f(ipvs: Ipvs, text: string): Promise<number> {`,
        `  const batch = OperationBatch.from([{ op: 'delete-service', service: { fwmark: 1 } }]).add({ op: 'delete-service', service: { fwmark: 2 } });`,
        `  const part: OperationBatch = batch.slice(0, 1);`,
        `  let n = batch.length + part.length + (batch.operation(0).op === 'delete-service' ? 1 : 0);`,
        `  // @ts-expect-error internal to execute()`,
        `  batch.messages;`,
        `  // @ts-expect-error internal to execute()`,
        `  batch.request;`,
        `  for (const step of prepareRules(text)) {`,
        `    if (!(step instanceof PreparedRun)) continue;`,
        `    n += step.length + step.line(0) + (step.isAddition(0) ? 1 : 0) + step.rule(0).line + (step.invalid?.error.field.length ?? 0);`,
        `    await ipvs.execute(step.operations);`,
        `    // @ts-expect-error prepareRules() fills a run`,
        `    step.add;`,
        `    // @ts-expect-error read-only: the run sets it`,
        `    step.invalid = undefined;`,
        `  }`,
        `  // @ts-expect-error runs come from prepareRules()`,
        `  PreparedRun.empty;`,
        `  // @ts-expect-error runs come from prepareRules()`,
        `  new PreparedRun(() => { throw new Error('no'); });`,
        `  return n;`,
        `}`,
      ].join('\n'));
      expect(strictDiagnostics([file])).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
