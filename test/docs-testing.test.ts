// docs/testing.md's example, run as written: the ```ts blocks under "Testing your own balancer" whose first
// line names a file (`// balancer.ts`) are written to a directory beside this file and the test file among
// them is imported while this one is collected, so its tests run here as its own. 'ipvs' and 'ipvs/testing'
// are the sources (mocked, as in test/examples), so no build is needed. The same files are also compiled as
// a strict user project would compile them (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess).
// README's own fake-kernel block is run as written too.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { strictDiagnostics } from './helpers/strict-compile.js';

vi.mock('ipvs', async () => await import('../src/index.js'));
vi.mock('ipvs/testing', async () => await import('../src/testing/index.js'));

const root = fileURLToPath(new URL('..', import.meta.url));

/** The code blocks after `heading` (up to the next heading of its level) whose first line is `// file.ts`. */
export function namedBlocks(markdown: string, heading: string): Map<string, string> {
  const at = markdown.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`no "${heading}" heading`);
  const level = /^#+/.exec(heading)?.[0] ?? '##';
  const rest = markdown.slice(at + heading.length + 2);
  const end = rest.search(new RegExp(`^${level} `, 'm'));
  const section = end < 0 ? rest : rest.slice(0, end);
  const out = new Map<string, string>();
  for (const m of section.matchAll(/^```ts\n\/\/ ([\w.-]+\.ts)\n([\s\S]*?)^```/gm)) out.set(m[1] as string, `// ${m[1]}\n${m[2]}`);
  return out;
}

const doc = readFileSync(join(root, 'docs', 'testing.md'), 'utf8');
const files = namedBlocks(doc, '## Testing your own balancer');
const dir = join(root, 'test', `.docs-testing-${process.pid}`);
mkdirSync(dir, { recursive: true });
for (const [name, code] of files) writeFileSync(join(dir, name), code);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs/testing.md, the balancer example as written', async () => {
  it('has the two files', () => {
    expect([...files.keys()]).toEqual(['balancer.ts', 'balancer.test.ts']);
  });

  it('compiles as a strict user project', () => {
    const errors = strictDiagnostics([...files.keys()].map((f) => join(dir, f)), { baseUrl: root, paths: { ipvs: ['src/index.ts'], 'ipvs/testing': ['src/testing/index.ts'] } });
    expect(errors).toEqual([]);
  }, 60_000);

  // The example's own tests, registered here as this file is collected.
  await import(/* @vite-ignore */ pathToFileURL(join(dir, 'balancer.test.ts')).href);
});

describe("README's fake-kernel block, as written", () => {
  it('runs and shows what its comments say', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const at = readme.indexOf('\n## Testing your own balancer with the fake kernel\n');
    const block = /^```js\n([\s\S]*?)^```/m.exec(readme.slice(at))?.[1];
    expect(block).toContain("from 'ipvs/testing'");
    const file = join(dir, 'readme-fake-kernel.mjs');
    writeFileSync(file, block as string);
    const printed: unknown[][] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args));
    try {
      await import(/* @vite-ignore */ pathToFileURL(file).href);
    } finally {
      log.mockRestore();
    }
    expect(printed).toHaveLength(1);
    const [services, requests] = printed[0] as [{ key: string; destinations: { address: string; activeConns: number; stats: { conns: bigint } }[] }[], string[]];
    expect(services.map((s) => s.key)).toEqual(['tcp 192.168.1.110:80']);
    expect(services[0]?.destinations.map((d) => [d.address, d.activeConns, d.stats.conns])).toEqual([['192.168.1.116', 3, 10n]]);
    expect(requests).toEqual(['CTRL_CMD_GETFAMILY', 'IPVS_CMD_NEW_SERVICE', 'IPVS_CMD_NEW_DEST']);
  });
});
