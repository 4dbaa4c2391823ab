// Types a strict user project compiles with: the package's own typecheck (tsconfig.json) leaves
// exactOptionalPropertyTypes off, so the fixtures here are compiled again with it on, as a user's
// `strict` + `exactOptionalPropertyTypes` project would compile them.
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
});
