// The README's quick start, unmodified, on the real kernel: the first ```js/```ts block under "Quick start"
// is written to a file and run by `node` as a program, inside a fresh network namespace (which is then the
// "current netns" the quick start opens; lo up and dum0 carrying 192.168.1.1/24, so its direct-routing
// destination is routable). Its `import ... from 'ipvs'` is resolved to this checkout's source (src/index.ts,
// through tsx and a one-line resolve hook) rather than dist/, so no build is needed. Then the real ipvsadm
// must see what the quick start claims to have made. Run inside the real-kernel sandbox only
// (IPVS_KERNEL=1): `node scripts/sandbox.mjs --kernel-suite -- test/kernel/readme.kernel.test.ts`.
// Its twin on the fake kernel is test/readme.test.ts.

import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createNamespace } from './netns.js';

const onKernel = process.env.IPVS_KERNEL === '1';
const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

/** The first ```js or ```ts block after the "## Quick start" heading of README.md. */
function quickStart(readme: string): string {
  const at = readme.search(/^#+ Quick start\s*$/m);
  if (at < 0) throw new Error('README.md has no "Quick start" heading');
  const block = /^```(?:js|ts|javascript|typescript)\s*\n([\s\S]*?)^```/m.exec(readme.slice(at));
  if (!block?.[1]) throw new Error('no ```js or ```ts block under the quick start heading');
  return block[1];
}

const dataUrl = (code: string): string => `data:text/javascript,${encodeURIComponent(code)}`;

/** Node flags that make `import ... from 'ipvs'` load this checkout's TypeScript source. */
function sourceFlags(): string[] {
  const entry = pathToFileURL(join(root, 'src', 'index.ts')).href;
  const hook = `export async function resolve(s, c, next) { return next(s === 'ipvs' ? ${JSON.stringify(entry)} : s, c); }`;
  return ['--import', 'tsx', '--import', dataUrl(`import { register } from 'node:module'; register(${JSON.stringify(dataUrl(hook))});`)];
}

if (onKernel) {
  describe('README quick start on the real kernel', () => {
    it('runs unmodified and leaves the table it describes', async () => {
      const code = quickStart(readFileSync(join(root, 'README.md'), 'utf8'));
      const dir = mkdtempSync(join(tmpdir(), 'readme-'));
      const ns = `readme-${process.pid}`;
      const ip = (...a: string[]): string => execFileSync('ip', a, { encoding: 'utf8' });
      createNamespace(ns, ['link set lo up', 'link add dum0 type dummy', 'addr add 192.168.1.1/24 dev dum0', 'link set dum0 up']);
      try {
        const file = join(dir, 'quick-start.mjs');
        writeFileSync(file, code);
        const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, ...sourceFlags(), file], { cwd: root, encoding: 'utf8', timeout: 60_000 });
        // It prints each service (util.inspect of the object) with its destinations.
        expect(stdout).toContain("address: '192.168.1.110'");
        expect(stdout).toContain("address: '192.168.1.116'");
        expect(stdout).toContain("forwarding: 'route'");
        expect(stdout).toContain('fwmark: 10');
        const saved = (await run('ip', ['netns', 'exec', ns, 'ipvsadm', '-Sn'], { encoding: 'utf8' })).stdout;
        expect(saved.split('\n').map((l) => l.trim()).filter(Boolean).sort()).toEqual([
          '-A -f 10 -s rr -p 60',
          '-A -t 192.168.1.110:0 -s rr -p 600',
          '-a -t 192.168.1.110:0 -r 192.168.1.116:0 -g -w 2',
        ]);
      } finally {
        ip('netns', 'del', ns);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
} else {
  describe('README quick start: real kernel', () => {
    it.skip('runs only inside the real-kernel sandbox (IPVS_KERNEL=1)', () => {});
  });
}
