// What the command line reads is bounded (src/cli/read-input.ts): a state file, health config or
// drain-state file that is /dev/zero, and standard input that never ends, are refused with a sentence
// once 256 MiB are read, instead of being read until memory runs out.

import { describe, expect, it } from 'vitest';
import type { CliIpvs } from '../../src/cli/context.js';
import { runHealth } from '../../src/cli/health.js';
import { readInputFile } from '../../src/cli/read-input.js';
import { runCli } from '../../src/cli/run.js';
import { Ipvs } from '../../src/client.js';
import { staticResolver } from '../../src/rules/resolver.js';
import { parseServicesFile } from '../../src/rules/service-names.js';
import { FakeKernel } from '../../src/testing/index.js';

async function run(argv: string[], stdin: string | AsyncIterable<string> = ''): Promise<{ code: number; stderr: string }> {
  const kernel = new FakeKernel();
  let stderr = '';
  const code = await runCli(argv, {
    ipvs: async () => (await Ipvs.open({ transport: kernel.transport() })) as unknown as CliIpvs,
    stdin,
    stdout: { write: () => undefined },
    stderr: { write: (s: string) => (stderr += s) },
    resolver: staticResolver({}, parseServicesFile('')),
  });
  return { code, stderr };
}

/** Standard input that never ends: a comment line, a mebibyte at a time. */
async function* endless(): AsyncGenerator<string> {
  const chunk = `#${'x'.repeat(1024 * 1024 - 2)}\n`;
  for (;;) yield chunk;
}

describe('bounded input', () => {
  it('ipvs apply /dev/zero is refused, not read without end', async () => {
    const r = await run(['apply', '--dry-run', '/dev/zero']);
    expect(r).toEqual({ code: 2, stderr: 'ipvs apply: /dev/zero: /dev/zero is larger than 256 MiB: not read further (a device or a runaway file?)\n' });
  }, 30_000);

  it('a drain-state file that is /dev/zero is refused', async () => {
    const r = await run(['apply', '--drain', '--drain-state', '/dev/zero', '-'], '-A -t 10.0.0.1:80\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/dev/zero is larger than 256 MiB');
  }, 30_000);

  it('ipvs -R and ipvs apply - refuse standard input that never ends', async () => {
    const restore = await run(['-R'], endless());
    expect(restore.code).not.toBe(0);
    expect(restore.stderr).toContain('standard input is larger than 256 MiB');
    const apply = await run(['apply', '-'], endless());
    expect(apply).toEqual({ code: 2, stderr: 'ipvs apply: standard input: standard input is larger than 256 MiB: not read further (a device or a runaway file?)\n' });
  }, 30_000);

  it('ipvs health /dev/zero is refused as an invalid config', async () => {
    const err: string[] = [];
    const code = await runHealth(['--check-config', '/dev/zero'], {
      stdout: { write: () => undefined },
      stderr: { write: (t: string) => err.push(t) },
      ipvs: () => Promise.reject(new Error('not needed')),
    });
    expect(code).toBe(2);
    expect(err.join('')).toContain('/dev/zero is larger than 256 MiB');
  }, 30_000);

  it('reads a regular file whole, and a device up to the limit', async () => {
    expect((await readInputFile('package.json')).toString('utf8')).toContain('"name": "ipvs"');
    await expect(readInputFile('/dev/zero', 100_000)).rejects.toThrow('/dev/zero is larger than 100000 bytes');
    expect((await readInputFile('/dev/null')).length).toBe(0);
  });
});
