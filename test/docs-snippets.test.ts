// The runnable examples of the documents that test/readme.test.ts and test/docs-testing.test.ts do not run:
// each ```js block is written to a module beside this file and imported as written, 'ipvs' and
// 'ipvs/testing' being the sources (mocked, as in test/examples, so no build is needed). A block that opens
// the real kernel gets ONE substitution, `Ipvs.open()` becoming `Ipvs.open({ transport })` on a fake kernel;
// a block that starts mid-program (README's `ipvs` already open) gets that one line put in front. What each
// prints and leaves in the table is then checked against what the text around it says. The JSON configs of
// docs/health.md are read as `ipvs health --check-config` reads them, and every value the two entries export
// must be named somewhere in the documents. docs/health.md's sample log lines are what the checker logs.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { HealthChecker, ManualScheduler, normaliseHealthConfig, parseHealthConfig } from '../src/health/index.js';
import { Ipvs } from '../src/client.js';
import { FakeKernel } from '../src/testing/index.js';

vi.mock('ipvs', async () => await import('../src/index.js'));
vi.mock('ipvs/testing', async () => await import('../src/testing/index.js'));

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'test', `.docs-snippets-${process.pid}`);
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The code blocks of `lang` in the section under `heading` (up to the next heading of any level). */
function blocksUnder(file: string, heading: string, lang: 'js' | 'json'): string[] {
  const text = `\n${readFileSync(join(root, file), 'utf8')}`;
  const at = text.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`${file} has no "${heading}" heading`);
  const rest = text.slice(at + heading.length + 2);
  const end = rest.search(/^#+ /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\``, 'gm'))].map((m) => m[1] as string);
}

const OPEN = 'Ipvs.open()';
let modules = 0;

/** Import `code` as a module with `globalThis.__docsTransport` set to a transport of `kernel`; returns what it logged. */
async function run(code: string, kernel: FakeKernel): Promise<unknown[][]> {
  const file = join(dir, `snippet-${++modules}.mjs`);
  writeFileSync(file, code);
  (globalThis as { __docsTransport?: unknown }).__docsTransport = kernel.transport();
  const printed: unknown[][] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args));
  const error = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void printed.push(['console.error', ...args]));
  try {
    await import(/* @vite-ignore */ pathToFileURL(file).href);
  } finally {
    log.mockRestore();
    error.mockRestore();
    delete (globalThis as { __docsTransport?: unknown }).__docsTransport;
  }
  return printed;
}

/** The one substitution: the block's own `Ipvs.open()`, opening the current namespace, opens the fake instead. */
function onFake(code: string): string {
  expect(code.split(OPEN)).toHaveLength(2);
  return code.replace(OPEN, 'Ipvs.open({ transport: globalThis.__docsTransport })');
}

/** The table as lines: `tcp 192.168.1.110:80 rr` then `  -> 192.168.1.116:80 route 2` per destination. */
function table(kernel: FakeKernel): string[] {
  return kernel.state().services.flatMap((s) => [
    `${s.key} ${s.scheduler}${s.timeout ? ` persistent ${s.timeout}` : ''}`,
    ...s.destinations.map((d) => `  -> ${d.address}:${d.port} ${d.forwarding} ${d.weight}`).sort(),
  ]);
}

describe('docs/reconcile.md, the first example as written', () => {
  it('plans, applies and exports the state it describes', async () => {
    const [block] = blocksUnder('docs/reconcile.md', '# Desired state and reconcile', 'js');
    const kernel = new FakeKernel();
    // The block keeps its results in consts; give them back to check what they hold.
    const printed = await run(`${onFake(block as string)}\nconsole.log(p, result, saved);\n`, kernel);
    const [[p, result, saved]] = printed as [[{ steps: unknown[]; inSync: boolean }, { ok: boolean; applied: unknown[] }, unknown]];
    expect(p.inSync).toBe(false);
    expect(result.ok).toBe(true);
    expect(result.applied).toHaveLength(p.steps.length);
    expect(table(kernel)).toEqual([
      'tcp 192.168.1.110:80 rr',
      '  -> 192.168.1.116:80 route 2',
      '  -> 192.168.1.117:80 route 1',
      'fwmark 10 wlc persistent 60',
      '  -> 192.168.1.118:0 route 1',
    ]);
    // "the table as a desired state (JSON-serialisable)"
    expect(JSON.parse(JSON.stringify(saved))).toEqual(saved);
    expect(saved).toMatchObject({ services: [{ port: 80, destinations: [{}, {}] }, { fwmark: 10, destinations: [{ address: '192.168.1.118' }] }] });
  });
});

describe("README's desired-state example, as written", () => {
  it('applies the state with prune and drain, and reports nothing failed', async () => {
    const [block] = blocksUnder('README.md', '## Desired state: plan and apply', 'js');
    expect(block).not.toContain(OPEN);
    const kernel = new FakeKernel();
    // The block uses the client of the quick start above it; open that one first.
    const printed = await run(`import { Ipvs } from 'ipvs';\nconst ipvs = await ${onFake(OPEN)};\n${block as string}`, kernel);
    expect(printed).toEqual([]);
    expect(table(kernel)).toEqual(['tcp 192.168.1.110:80 rr', '  -> 192.168.1.116:80 route 2', '  -> 192.168.1.117:80 route 1']);
  });
});

describe('the health-check examples of README and docs/health.md', () => {
  it.each([
    ['README.md', '## Health checks'],
    ['docs/health.md', '## Library'],
  ])('%s builds its checker as written (started, it would check real servers: the start is left out)', async (file, heading) => {
    const [block] = blocksUnder(file, heading, 'js');
    const START = 'await checker.start();';
    expect((block as string).split(START)).toHaveLength(2);
    const code = onFake(block as string).replace(START, 'globalThis.__docsChecker = checker;');
    await run(code, new FakeKernel());
    const checker = (globalThis as { __docsChecker?: HealthChecker }).__docsChecker;
    delete (globalThis as { __docsChecker?: unknown }).__docsChecker;
    expect(checker).toBeInstanceOf(HealthChecker);
    expect(checker?.status().map((s) => [s.serviceId, s.destinations.map((d) => [d.destinationId, d.weight])])).toEqual([
      ['tcp 192.168.1.110:80', [['192.168.1.116:80', 2], ['192.168.1.117:80', 1]]],
    ]);
    await checker?.stop();
  });
});

describe('docs/health.md, "Testing code that uses it", as written', () => {
  it('prints the table its comment shows: .117 quiesced after three failed checks', async () => {
    const [block] = blocksUnder('docs/health.md', '### Testing code that uses it', 'js');
    const code = block as string;
    const comment = /^\/\/ (\[.*\]): /m.exec(code)?.[1];
    expect(comment).toBeDefined();
    // The block makes its own fake kernel; the one given here goes unused.
    const printed = await run(code, new FakeKernel());
    expect(printed).toHaveLength(1);
    expect(printed[0]).toEqual([JSON.parse((comment as string).replaceAll("'", '"'))]);
  });
});

describe("docs/health.md's log lines", () => {
  it('are what the checker logs, in that order, for one server that fails three checks and passes two', async () => {
    const doc = readFileSync(join(root, 'docs', 'health.md'), 'utf8');
    const sample = /leak detected" warning\), e\.g\.:\n\n```\n([\s\S]*?)```/.exec(doc)?.[1]?.trimEnd().split('\n');
    expect(sample).toHaveLength(6);
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const scheduler = new ManualScheduler();
    let up = true;
    const lines: string[] = [];
    const logger = { info: (l: string) => void lines.push(l), warn: (l: string) => void lines.push(l), error: (l: string) => void lines.push(l) };
    // A custom check stands in for the HTTP one: its failure is worded as the HTTP check's, its success is not.
    const run = (): boolean => {
      if (!up) throw new Error('connection refused');
      return true;
    };
    const config = { services: [{ protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'wrr', destinations: [{ address: '192.168.1.117' }],
      sorryServer: { address: '127.0.0.1' }, check: { type: 'custom', run, jitterMs: 0 } }] } as const;
    const checker = new HealthChecker({ ipvs, scheduler, logger, config });
    await checker.start();
    lines.length = 0;
    up = false;
    await scheduler.advance(15_000);
    await checker.settled();
    up = true;
    await scheduler.advance(10_000);
    await checker.settled();
    await checker.stop();
    await ipvs.close();
    expect(lines.map((l) => l.replace('(custom check passed)', '(HTTP 200)'))).toEqual(sample);
  });
});

describe('docs/health.md, the JSON configs', () => {
  const configs = blocksUnder('docs/health.md', '## `ipvs health CONFIG`', 'json');

  it('are the two the text introduces', () => {
    expect(configs).toHaveLength(2);
  });

  it.each(configs.map((c, i) => [i, c]))('config %i is read and checked as ipvs health reads it', (_, text) => {
    const normal = normaliseHealthConfig(parseHealthConfig(text as string));
    expect(normal.length).toBeGreaterThan(0);
  });

  it("the seed's config: HTTP checks rise 2 / fall 2, weights 2 and 1, the sorry server routed", () => {
    const [seed] = normaliseHealthConfig(parseHealthConfig(configs[0] as string));
    expect(seed?.realServers.map((r) => [r.spec.weight, r.check.spec.type, r.check.rise, r.check.fall])).toEqual([[2, 'http', 2, 2], [1, 'http', 2, 2]]);
    expect(seed?.sorry?.spec).toMatchObject({ address: '127.0.0.1', forwarding: 'route' });
  });

  it('the fwmark and PCC config: persistent services remove a failed server, and each check names a port', () => {
    const services = normaliseHealthConfig(parseHealthConfig(configs[1] as string));
    expect(services.map((s) => [s.id, s.onFailure, s.realServers.map((r) => r.check.port)])).toEqual([
      ['fwmark 10', 'remove', [80, 80]],
      ['tcp 192.168.1.111:0', 'remove', [80, 80]],
    ]);
  });
});

describe('the documents name every value the package exports', () => {
  const docs = ['README.md', ...['api.md', 'reconcile.md', 'health.md', 'testing.md', 'cli.md', 'examples.md'].map((f) => `docs/${f}`)]
    .map((f) => readFileSync(join(root, f), 'utf8'))
    .join('\n');
  it.each([
    ['ipvs', '../src/index.js'],
    ['ipvs/testing', '../src/testing/index.js'],
  ])('%s', async (_, entry) => {
    const names = Object.keys(await import(/* @vite-ignore */ entry));
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => !new RegExp(`\\b${name}\\b`).test(docs))).toEqual([]);
  });
});
