// What a CommonJS user gets from `require('ipvs')`: the package is an ES module, and Node 20.19+ / 22.12+ can
// require() one that has no top-level await, but only if the exports map offers a condition `require` matches
// (an `import`-only map makes Node say "No "exports" main defined", as if the package had no entry at all).
// A child `node` requires both entries through the package's self-reference, so this runs the real exports
// map against the built dist/ (`npm run build` comes before `npm test` in .ci/run, and `prepare` builds on
// install).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

// A CommonJS program: both entries by name, a client on the fake kernel, and an error raised by the fake
// caught as the main entry's class (one module instance behind both entries).
const PROGRAM = `
const { Ipvs, KernelError } = require('ipvs');
const { FakeKernel } = require('ipvs/testing');
(async () => {
  const kernel = new FakeKernel();
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  const info = await ipvs.info();
  kernel.failNext(1, 'EBUSY');
  const err = await ipvs.services().catch((e) => e);
  await ipvs.close();
  console.log(JSON.stringify({ version: info.version, kernelError: err instanceof KernelError, code: err.code }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe('package entry from CommonJS', () => {
  it('is built (dist/ is what the exports map points at)', () => {
    expect(existsSync(`${root}dist/src/index.js`), 'run `npm run build` first').toBe(true);
    expect(existsSync(`${root}dist/src/testing/index.js`), 'run `npm run build` first').toBe(true);
  });

  it("require('ipvs') and require('ipvs/testing') load where Node can require an ES module", () => {
    const run = spawnSync(process.execPath, ['-e', PROGRAM], { cwd: root, encoding: 'utf8', timeout: 15_000 });
    if (process.features.require_module === true) {
      expect(run.stderr).not.toMatch(/ERR_/);
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ version: '1.2.1', kernelError: true, code: 'EBUSY' });
    } else {
      // Node 20.0-20.18: the error that says what to do (use import()), not that the package has no entry.
      expect(run.stderr).toContain('ERR_REQUIRE_ESM');
    }
  });
});
