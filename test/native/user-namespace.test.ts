// inChildUserNamespace(): the initial user namespace's uid_map maps every id to itself; any other map is a child's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inChildUserNamespace } from '../../native/user-namespace.js';

const dir = mkdtempSync(join(tmpdir(), 'ipvs-userns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function map(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('inChildUserNamespace', () => {
  it("the initial namespace's identity map of every id, as Linux pads it", () => {
    expect(inChildUserNamespace(map('initial', '         0          0 4294967295\n'))).toBe(false);
  });

  it('a map of root alone (unshare -Ur), of a range (rootless containers), of several lines, or none written yet', () => {
    expect(inChildUserNamespace(map('root', '         0      65534          1\n'))).toBe(true);
    expect(inChildUserNamespace(map('range', '         0     100000      65536\n'))).toBe(true);
    expect(inChildUserNamespace(map('lines', '         0       1000          1\n         1     100000      65536\n'))).toBe(true);
    expect(inChildUserNamespace(map('empty', ''))).toBe(true);
  });

  it('no map to read (no /proc): taken as the initial namespace, so a refusal names CAP_NET_ADMIN plainly', () => {
    expect(inChildUserNamespace(join(dir, 'missing'))).toBe(false);
  });

  it("this process's own map answers without throwing", () => {
    expect(typeof inChildUserNamespace()).toBe('boolean');
  });
});
