// What `npm pack` puts in the tarball: what runs (dist/, whose native/ part is compiled there too), the
// documentation, the examples, the license; never TypeScript sources nobody runs, tests or tooling. Asked
// of npm itself (`npm pack --dry-run --ignore-scripts`, no build), so it sees `files` as npm applies it; the
// entry points are checked against the built dist/ (`npm run build` comes before `npm test` in .ci/run).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

interface PackResult {
  files: { path: string }[];
}

function packedFiles(): string[] {
  const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(run.status, run.stderr).toBe(0);
  const [result] = JSON.parse(run.stdout) as PackResult[];
  return result!.files.map((f) => f.path).sort();
}

describe('package files', () => {
  it('ships dist, docs, examples, README and LICENSE, and no sources, tests or tooling', () => {
    const files = packedFiles();
    const tops = [...new Set(files.map((f) => f.split('/')[0]))].sort();
    expect(tops).toEqual(['LICENSE', 'README.md', 'dist', 'docs', 'examples', 'package.json']);
    expect(files.filter((f) => /\.(c|m)?ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /^dist\/(test|bench|scripts)\//.test(f))).toEqual([]);

    // Every entry point the manifest names is in it.
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
      main: string; types: string; bin: Record<string, string>; exports: Record<string, string | Record<string, string>>;
    };
    const targets = [pkg.main, pkg.types, ...Object.values(pkg.bin), ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)))];
    for (const target of targets) expect(files, `${target} (run \`npm run build\` first)`).toContain(target.replace(/^\.\//, ''));
  });

  it('source maps carry their sources: the .ts files they name are not shipped', () => {
    // Without sourcesContent a debugger shows nothing and bundlers warn of missing sources (Vite does).
    const maps = packedFiles().filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const map of maps) {
      const parsed = JSON.parse(readFileSync(`${root}${map}`, 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(parsed.sourcesContent?.length, map).toBe(parsed.sources.length);
      expect(parsed.sourcesContent!.every((c) => typeof c === 'string' && c.length > 0), map).toBe(true);
    }
  });

  it('LICENSE is the MIT license package.json names', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { license: string };
    const text = readFileSync(`${root}LICENSE`, 'utf8');
    expect(pkg.license).toBe('MIT');
    expect(text).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} the ipvs authors\n/);
    expect(text).toContain('The above copyright notice and this permission notice shall be included in all');
  });

  it('depends on @types/node 20 or later: its declarations use Node globals (Buffer, AbortSignal)', () => {
    // Without it a TypeScript project with no @types/node of its own gets netlink's @types/node 12, hoisted
    // by npm (errors in these declarations, or `signal` typed any under skipLibCheck): docs/decisions.md.
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies['@types/node']).toBe('>=20');
    const declarations = readFileSync(`${root}dist/src/client.d.ts`, 'utf8');
    expect(declarations).toContain('AbortSignal');
  });
});
