// The README's quick start, run as written against the fake kernel. The first ```js/```ts block under the
// "Quick start" heading is written to a module beside this file and imported, so its `import ... from 'ipvs'`
// stays as it is (mocked to the source, as in test/examples, so no build is needed). ONE substitution is
// made: `Ipvs.open()` becomes `Ipvs.open({ transport })` with the fake kernel's transport, since this
// machine has no IPVS. What it prints and what it leaves in the table are then checked against what it
// claims. Its twin on the real kernel, unmodified, is test/kernel/readme.kernel.test.ts.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeKernel } from '../src/testing/index.js';

vi.mock('ipvs', async () => await import('../src/index.js'));

const root = fileURLToPath(new URL('..', import.meta.url));

/** The first ```js or ```ts block after the "## Quick start" heading of README.md. */
export function quickStart(readme: string): string {
  const at = readme.search(/^#+ Quick start\s*$/m);
  if (at < 0) throw new Error('README.md has no "Quick start" heading');
  const block = /^```(?:js|ts|javascript|typescript)\s*\n([\s\S]*?)^```/m.exec(readme.slice(at));
  if (!block?.[1]) throw new Error('no ```js or ```ts block under the quick start heading');
  return block[1];
}

const OPEN = 'Ipvs.open()';

describe('README quick start', () => {
  const dir = join(root, 'test', `.readme-${process.pid}`);
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    delete (globalThis as { __readmeTransport?: unknown }).__readmeTransport;
  });

  it('runs as written on the fake kernel (only Ipvs.open() given the fake transport) and shows what it claims', async () => {
    const code = quickStart(readFileSync(join(root, 'README.md'), 'utf8'));
    expect(code).toContain("from 'ipvs'");
    // The call to substitute is the first one, the statement that opens the client (a comment later on
    // the close() line mentions another).
    expect(code.slice(0, code.indexOf(OPEN))).toMatch(/const ipvs = await $/);
    const kernel = new FakeKernel();
    (globalThis as { __readmeTransport?: unknown }).__readmeTransport = kernel.transport();
    // The substitution: the fake kernel's transport instead of the current network namespace's socket.
    const substituted = code.replace(OPEN, 'Ipvs.open({ transport: globalThis.__readmeTransport })');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'quick-start.mjs');
    writeFileSync(file, substituted);

    const printed: unknown[][] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args));
    try {
      await import(/* @vite-ignore */ `${new URL(`file://${file}`).href}?t=${Date.now()}`);
    } finally {
      log.mockRestore();
    }

    // It prints each service with its destinations: the PCC service (port 0, rr, persistent 600 s) with
    // its direct-routing destination of weight 2, and the fwmark 10 service (persistent 60 s) with none.
    expect(printed).toHaveLength(2);
    const byKey = new Map(printed.map(([svc, dests]) => [(svc as { fwmark?: number }).fwmark !== undefined ? 'fwmark' : 'pcc', { svc, dests }]));
    expect(byKey.get('pcc')?.svc).toMatchObject({ protocol: 'tcp', address: '192.168.1.110', port: 0, family: 'ipv4', scheduler: 'rr', persistence: { timeout: 600, netmask: '255.255.255.255' } });
    expect(byKey.get('pcc')?.dests).toMatchObject([{ address: '192.168.1.116', port: 0, forwarding: 'route', weight: 2 }]);
    expect(byKey.get('fwmark')?.svc).toMatchObject({ fwmark: 10, family: 'ipv4', scheduler: 'rr', persistence: { timeout: 60 } });
    expect(byKey.get('fwmark')?.dests).toEqual([]);
    // And the kernel holds exactly that; the client closed its socket.
    expect(kernel.state().services.map((s) => s.key).sort()).toEqual(['fwmark 10', 'tcp 192.168.1.110:0']);
  });
});
