// Types a strict user project compiles with: the package's own typecheck (tsconfig.json) leaves
// exactOptionalPropertyTypes off, so the fixtures here are compiled again with it on, as a user's
// `strict` + `exactOptionalPropertyTypes` project would compile them.
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

function diagnostics(fixture: string): string[] {
  const file = fileURLToPath(new URL(fixture, import.meta.url));
  const program = ts.createProgram([file], {
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
    types: ['node'],
    skipLibCheck: true,
    noEmit: true,
  });
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`not compiled: ${file}`);
  return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('under exactOptionalPropertyTypes', () => {
  it("setStats/bumpStats take a Service read back from the client (fwmark services carry address?: undefined)", () => {
    expect(diagnostics('./stats-target.ts')).toEqual([]);
  }, 60_000);
});
