// `ipvs health CONFIG` as a real process given a real SIGHUP while it is still reading CONFIG: it used to listen
// for SIGHUP only once the config was read, and Node's default for the signal ended it there. CONFIG is a FIFO
// here so that the read waits, for as long as the test needs, until the test writes to it.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

describe('ipvs health and a SIGHUP before its config is running', () => {
  it('a SIGHUP during the first read of CONFIG does not end it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipvs-hup-'));
    try {
      const fifo = join(dir, 'health.json');
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'health', fifo], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, s) => r([c, s])));
      // A writer that does not wait can open the FIFO only once a reader has it open: the command is then reading.
      let fd: number | undefined;
      const end = Date.now() + 20_000;
      while (fd === undefined) {
        try {
          fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENXIO' || Date.now() > end) throw err;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      child.kill('SIGHUP');
      // Not a config: it ends with status 2 and says so (the SIGHUP did nothing else; a valid config would need IPVS).
      writeSync(fd, 'not json');
      closeSync(fd);
      const [code, signal] = await exited;
      expect({ code, signal }, out).toEqual({ code: 2, signal: null });
      expect(out).toContain(`ipvs health: ${fifo}: `);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
