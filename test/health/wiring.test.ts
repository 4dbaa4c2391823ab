// `ipvs health` wired into the command line the way the dispatcher takes subcommands: the CLI's context
// is all runHealth needs (this file type-checks that), and a run goes through runCli.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runHealth } from '../../src/cli/health.js';
import { runCli } from '../../src/cli/run.js';
import type { Subcommand } from '../../src/cli/subcommands.js';
import { Ipvs } from '../../src/client.js';
import { FakeKernel } from '../../src/testing/index.js';

const health: Subcommand = {
  summary: 'keep real servers healthy from a JSON config (docs/health.md)',
  run: (args, ctx) => runHealth([...args], ctx),
};

describe('ipvs health through runCli', () => {
  it('checks a config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipvs-health-'));
    try {
      const file = join(dir, 'health.json');
      writeFileSync(file, JSON.stringify({ services: [{ protocol: 'tcp', address: '192.168.1.110', port: 80, destinations: [{ address: '192.168.1.116' }], sorryServer: { address: '127.0.0.1' } }] }));
      const out: string[] = [];
      const err: string[] = [];
      const kernel = new FakeKernel();
      const code = await runCli(['health', '--check-config', file], {
        ipvs: () => Ipvs.open({ transport: kernel.transport() }),
        stdout: { write: (t: string) => out.push(t) },
        stderr: { write: (t: string) => err.push(t) },
        subcommands: { health },
      });
      expect(err.join('')).toBe('');
      expect(code).toBe(0);
      expect(out.join('')).toContain('tcp 192.168.1.110:80: checking 1 real server (TCP every 5 s, rise 2, fall 3); a server that is down is quiesced (weight 0); sorry server 127.0.0.1:80');
      expect(kernel.requests).toEqual([]); // nothing sent
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
