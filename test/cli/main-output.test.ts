// The `ipvs` executable when its output cannot be written: a reader that went away (`ipvs -Ln | head`) ends
// it quietly with the status a shell shows for ipvsadm (killed by SIGPIPE, 141), and a full disk is one line
// and status 1, never Node's stack trace for an unhandled 'error'. `-h` prints without opening a client.

import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function run(stdout: 'closed' | number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '-h'], { stdio: ['ignore', stdout === 'closed' ? 'pipe' : stdout, 'pipe'] });
    if (stdout === 'closed') child.stdout!.destroy();
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('ipvs when its output cannot be written', () => {
  it('a closed pipe: no message, status 141', async () => {
    expect(await run('closed')).toEqual({ code: 141, stderr: '' });
  });

  it('a full disk (/dev/full): one line, status 1', async () => {
    const fd = openSync('/dev/full', 'w');
    try {
      const r = await run(fd);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^ipvs: cannot write the output: .*ENOSPC.*\n$/);
    } finally {
      closeSync(fd);
    }
  });
});
