// Compiles files as a strict user project would (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess,
// NodeNext): the package's own typecheck leaves exactOptionalPropertyTypes off. Returns each file's
// diagnostics as "file: message" lines; `extra` adds compiler options (e.g. paths to the sources).
import ts from 'typescript';

export function strictDiagnostics(files: string[], extra: ts.CompilerOptions = {}): string[] {
  const program = ts.createProgram(files, {
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
    ...extra,
  });
  return files.flatMap((f) => {
    const source = program.getSourceFile(f);
    if (!source) throw new Error(`not compiled: ${f}`);
    return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  });
}
