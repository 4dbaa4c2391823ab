// Types a strict user project compiles with: the package's own typecheck (tsconfig.json) leaves
// exactOptionalPropertyTypes off, so the fixtures here are compiled again with it on, as a user's
// `strict` + `exactOptionalPropertyTypes` project would compile them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { strictDiagnostics } from '../helpers/strict-compile.js';

describe('under exactOptionalPropertyTypes', () => {
  it("setStats/bumpStats take a Service read back from the client (fwmark services carry address?: undefined)", () => {
    expect(strictDiagnostics([fileURLToPath(new URL('./stats-target.ts', import.meta.url))])).toEqual([]);
  }, 60_000);

  it('a service or destination read back, changed or not, is taken back by the client without a cast', () => {
    expect(strictDiagnostics([fileURLToPath(new URL('./read-back-specs.ts', import.meta.url))])).toEqual([]);
  }, 60_000);

  it("error codes, the name guards, the named option types, read-only execute() results, the health events, a prepared run's refusal and the fake kernel's request log compile as a strict user project compiles them", () => {
    const files = ['./error-codes.ts', './guards.ts', './option-names.ts', './operation-results.ts', './health-events.ts', './prepared-runs.ts', './fake-requests.ts'].map((f) => fileURLToPath(new URL(f, import.meta.url)));
    expect(strictDiagnostics(files)).toEqual([]);
  }, 60_000);

  it("a spread copy of a service the client returned is typed without the prototype's methods, as it is", () => {
    expect(strictDiagnostics([fileURLToPath(new URL('./bound-services.ts', import.meta.url))])).toEqual([]);
  }, 60_000);

  it('the generic reads refuse the option keys they refuse at run time; wrappers and doubles of them compile', () => {
    expect(strictDiagnostics([fileURLToPath(new URL('./read-options.ts', import.meta.url))])).toEqual([]);
  }, 60_000);

  it("a spec written by hand with a wrong name is told so, not that it lacks a read-back object's rawFlags or family", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipvs-types-'));
    try {
      const file = join(dir, 'mistakes.ts');
      const index = fileURLToPath(new URL('../../src/index.js', import.meta.url));
      writeFileSync(file, [
        `import type { Ipvs } from ${JSON.stringify(index)};`,
        `export async function f(ipvs: Ipvs): Promise<void> {`,
        `  const key = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;`,
        `  await ipvs.addService({ ...key, scheduler: 'rrr' });`,
        `  await ipvs.updateDestination(key, { address: '10.0.0.2', forwarding: 'nat' });`,
        `}`,
      ].join('\n'));
      const messages = strictDiagnostics([file]);
      expect(messages).toHaveLength(2);
      expect(messages[0]).toMatch(/Overload 1 of 2[^\n]*\n[^\n]*Type '"rrr"' is not assignable to type '[^']*"wlc"/);
      expect(messages[1]).toMatch(/Overload 1 of 2[^\n]*\n[^\n]*Type '"nat"' is not assignable to type 'ForwardingInput'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
