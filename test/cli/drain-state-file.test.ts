// Writing the drain-state file (`ipvs apply --drain-state FILE`), run as root, often in /tmp: the
// temporary file it is written through is created anew, so a symlink someone planted at that name is
// removed rather than followed; and it is synced to disk before it is renamed over the old one.

import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { saveDrainState } from '../../src/cli/apply.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipvs-drain-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('saveDrainState', () => {
  it('replaces a symlink planted at the temporary name instead of writing through it', async () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const file = join(dir, 'drain.json');
    // Someone who can write to the directory guessed the temporary name.
    symlinkSync(victim, `${file}.${process.pid}.tmp`);
    await saveDrainState(file, { 'tcp 10.0.0.1:80 -> 10.0.0.2:80': 1000 });
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(file).isFile()).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ 'tcp 10.0.0.1:80 -> 10.0.0.2:80': 1000 });
  });

  it('replaces a symlink at the file itself, and a temporary file a crash left behind', async () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const file = join(dir, 'drain.json');
    symlinkSync(victim, file);
    writeFileSync(`${file}.${process.pid}.tmp`, '{"half');
    await saveDrainState(file, {});
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(file).isFile()).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('{}\n');
  });

  it('syncs the new file to disk before renaming it over the old one (a power loss could leave an empty file, refused by every later apply)', async () => {
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { sync(): Promise<void> };
    await probe.close();
    const file = join(dir, 'drain.json');
    const order: string[] = [];
    const sync = vi.spyOn(proto, 'sync').mockImplementation(async function (this: unknown) {
      order.push(existsSync(file) ? 'sync after rename' : 'sync');
    });
    try {
      await saveDrainState(file, { 'tcp 10.0.0.1:80 -> 10.0.0.2:80': 1000 });
    } finally {
      sync.mockRestore();
    }
    expect(order).toEqual(['sync']);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ 'tcp 10.0.0.1:80 -> 10.0.0.2:80': 1000 });
  });
});
