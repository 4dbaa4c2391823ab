// Writing the drain-state file (`ipvs apply --drain-state FILE`), run as root, often in /tmp: the
// temporary file it is written through is created anew, so a symlink someone planted at that name is
// removed rather than followed.

import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
});
