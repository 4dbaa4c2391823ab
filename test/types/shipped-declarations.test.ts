// The .d.ts files the package ships, compiled as a strict user project compiles them when it leaves
// skipLibCheck at tsc's default (false): every declaration a user's program reaches is then checked
// under exactOptionalPropertyTypes too. The other strict compilations skip lib checks and would miss it.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { strictDiagnostics } from '../helpers/strict-compile.js';

const dist = fileURLToPath(new URL('../../dist', import.meta.url));

describe('shipped declarations', () => {
  it('compile under strict, exactOptionalPropertyTypes and skipLibCheck false (run `npm run build` first)', () => {
    const files = (readdirSync(dist, { recursive: true }) as string[]).filter((f) => f.endsWith('.d.ts')).map((f) => join(dist, f));
    expect(files.length).toBeGreaterThan(50);
    expect(strictDiagnostics(files, { skipLibCheck: false })).toEqual([]);
  }, 120_000);
});
