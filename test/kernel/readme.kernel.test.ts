// The README's quick start, unmodified, on the real kernel: the first ```js/```ts block under "Quick start"
// is written to a file and run by `node` as a program, inside a fresh network namespace (which is then the
// "current netns" the quick start opens; lo up and dum0 carrying 192.168.1.1/24, so its direct-routing
// destination is routable). Its `import ... from 'ipvs'` is resolved to this checkout's source (src/index.ts,
// through tsx and a one-line resolve hook) rather than dist/, so no build is needed. Then the real ipvsadm
// must see what the quick start claims to have made. Run inside the real-kernel sandbox only
// (IPVS_KERNEL=1): `node scripts/sandbox.mjs --kernel-suite -- test/kernel/readme.kernel.test.ts`.
// Its twin on the fake kernel is test/readme.test.ts.
// The same way, unmodified, each in a namespace of its own: the first ```js block of docs/reconcile.md and the
// "Library" block of docs/health.md (by plain node, `ipvs` being the BUILT package), and the command-line ```sh
// block of README.md ("Command line", run by `sh -e`, with `ipvs` on the PATH being the built command line,
// dist/src/cli/main.js): `npm run build` first, as for the examples. About a minute of guest time together.

import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** The `n`th (from 0) block of `lang` after the heading matching `heading` (up to the next heading of any level). */
function blockUnder(markdown: string, heading: RegExp, lang: string, n = 0): string {
  const at = markdown.search(heading);
  if (at < 0) throw new Error(`no heading ${heading}`);
  const rest = markdown.slice(at).replace(/^.*\n/, '');
  const end = rest.search(/^#+ /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  const block = [...section.matchAll(new RegExp(`^\`\`\`${lang}\\s*\\n([\\s\\S]*?)^\`\`\``, 'gm'))][n]?.[1];
  if (!block) throw new Error(`no ${lang} block number ${n} under ${heading}`);
  return block;
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

    const CLI = join(root, 'dist', 'src', 'cli', 'main.js');
    const network = ['link set lo up', 'link add dum0 type dummy', 'addr add 192.168.1.1/24 dev dum0', 'link set dum0 up'];
    const ipvsadmSave = (ns: string): string[] =>
      execFileSync('ip', ['netns', 'exec', ns, 'ipvsadm', '-Sn'], { encoding: 'utf8' }).split('\n').filter(Boolean);

    /**
     * Run `code` (a JS module from the docs) unmodified in a fresh namespace, by plain `node` from a directory inside
     * this checkout, where `ipvs` is the BUILT package (the package's self-reference, as for the examples: no tsx,
     * which costs some 10 s a start in UML); then `check` the namespace.
     */
    async function moduleInNamespace(code: string, check: (ns: string, stdout: string) => void): Promise<void> {
      if (!existsSync(join(root, 'dist', 'src', 'index.js'))) throw new Error('the docs\' modules import the built package: run `npm run build` first');
      const dir = mkdtempSync(join(root, 'test', '.docs-kernel-'));
      const ns = `docs-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
      createNamespace(ns, network);
      try {
        const file = join(dir, 'snippet.mjs');
        writeFileSync(file, code);
        const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, file], { cwd: root, encoding: 'utf8', timeout: 60_000 });
        check(ns, stdout);
      } finally {
        execFileSync('ip', ['netns', 'del', ns]);
        rmSync(dir, { recursive: true, force: true });
      }
    }

    /** Run a ```sh block by `sh -e` in a fresh namespace, `ipvs` on the PATH being the built command line. */
    async function shellInNamespace(code: string, check: (ns: string, stdout: string) => void): Promise<void> {
      if (!existsSync(CLI)) throw new Error(`the shell blocks run the built command line: run \`npm run build\` first (${CLI} is missing)`);
      const dir = mkdtempSync(join(tmpdir(), 'docs-sh-'));
      const ns = `docs-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
      createNamespace(ns, network);
      try {
        writeFileSync(join(dir, 'ipvs'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
        chmodSync(join(dir, 'ipvs'), 0o755);
        writeFileSync(join(dir, 'block.sh'), code);
        const env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}` };
        const { stdout } = await run('ip', ['netns', 'exec', ns, 'sh', '-e', join(dir, 'block.sh')], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
        check(ns, stdout);
      } finally {
        execFileSync('ip', ['netns', 'del', ns]);
        rmSync(dir, { recursive: true, force: true });
      }
    }

    it("docs/reconcile.md's first example runs unmodified and leaves the state it describes", async () => {
      const code = blockUnder(readFileSync(join(root, 'docs', 'reconcile.md'), 'utf8'), /^# Desired state and reconcile\s*$/m, 'js');
      await moduleInNamespace(code, (ns, stdout) => {
        expect(stdout).toBe(''); // result.ok: nothing printed
        expect(ipvsadmSave(ns).sort()).toEqual([
          '-A -f 10 -s wlc -p 60',
          '-A -t 192.168.1.110:80 -s rr',
          '-a -f 10 -r 192.168.1.118:0 -g -w 1',
          '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2',
          '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g -w 1',
        ]);
      });
    });

    it("docs/health.md's Library example runs unmodified: no real server answers, so both are quiesced and the sorry server is in", async () => {
      const code = blockUnder(readFileSync(join(root, 'docs', 'health.md'), 'utf8'), /^## Library\s*$/m, 'js');
      await moduleInNamespace(code, (ns, stdout) => {
        expect(stdout).toContain('every real server is down: added the sorry server 127.0.0.1:80 (route, weight 1)');
        expect(ipvsadmSave(ns).sort()).toEqual([
          '-A -t 192.168.1.110:80 -s wrr',
          '-a -t 192.168.1.110:80 -r 127.0.0.1:80 -g -w 1',
          '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 0',
          '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g -w 0',
        ]);
      });
    });

    // docs/cli.md's first block is the same six command lines on port 80, without persistence: not run again here.
    it("README's command lines run as written (sh -e), list what they made and restore it from their own save", async () => {
      const code = blockUnder(readFileSync(join(root, 'README.md'), 'utf8'), /^## Command line\s*$/m, 'sh');
      await shellInNamespace(code, (ns, stdout) => {
        expect(stdout).toBe(
          'IP Virtual Server version 1.2.1 (size=4096)\n' +
            'Prot LocalAddress:Port Scheduler Flags\n' +
            '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n' +
            'TCP  192.168.1.110:0 rr persistent 600\n' +
            '  -> 192.168.1.116:0              Route   2      0          0         \n',
        );
        expect(ipvsadmSave(ns)).toEqual(['-A -t 192.168.1.110:0 -s rr -p 600', '-a -t 192.168.1.110:0 -r 192.168.1.116:0 -g -w 2']);
      });
    });
  });
} else {
  describe('README quick start: real kernel', () => {
    it.skip('runs only inside the real-kernel sandbox (IPVS_KERNEL=1)', () => {});
  });
}
