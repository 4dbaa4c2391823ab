// Input nobody vetted, printed back by a command that runs as root: a state file's unknown key, JSON.parse's
// excerpt of a broken file, a rules line's words, a health config's key and a log line must not reach the
// terminal as control characters (an escape sequence acts on the terminal; a newline forges a log line).
// They are printed as \u001b-style escapes (src/cli/printable.ts).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHealth } from '../../src/cli/health.js';
import { printable } from '../../src/cli/printable.js';
import { CliHarness } from './harness.js';

const ESC = '\u001b';
// Sets the window title, then clears the screen.
const HOSTILE = `${ESC}]0;owned\u0007${ESC}[2J`;
const SHOWN = '\\u001b]0;owned\\u0007\\u001b[2J';
const CONTROLS = /[\x00-\x08\x0a\x0d-\x1f\x7f-\x9f]/;

const dir = mkdtempSync(join(tmpdir(), 'ipvs-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function stateFile(text: string): string {
  const file = join(dir, `state-${++files}.json`);
  writeFileSync(file, text);
  return file;
}

/** No control character but the final newline of each line. */
function expectPrintableLines(text: string): void {
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) expect(line).not.toMatch(CONTROLS);
}

describe('hostile input printed back', () => {
  it('printable: control characters escaped (but tab, vertical tab and form feed), the rest untouched', () => {
    expect(printable('plain text, \u00e9t\u00e9 \u2014 ok')).toBe('plain text, \u00e9t\u00e9 \u2014 ok');
    expect(printable(`a${HOSTILE}b`)).toBe(`a${SHOWN}b`);
    expect(printable('a\nb\r\0\x7f\x9b')).toBe('a\\u000ab\\u000d\\u0000\\u007f\\u009b');
    expect(printable('a\tb\vc\fd')).toBe('a\tb\vc\fd');
  });

  it('apply and diff: an unknown key of a state file is named escaped', async () => {
    const h = new CliHarness();
    // JSON's own escapes: the key JSON.parse gives holds the control characters.
    const file = stateFile(`{"services": [], "${SHOWN}": 1}`);
    for (const command of ['apply', 'diff']) {
      const r = await h.run([command, file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`invalid ${SHOWN} 1: unknown field`);
      expectPrintableLines(r.stderr);
    }
  });

  it("apply: JSON.parse's excerpt of a broken state file is escaped", async () => {
    const h = new CliHarness();
    const r = await h.run(['apply', '--dry-run', stateFile(`{"services": [${HOSTILE}]}`)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not valid JSON');
    expectPrintableLines(r.stderr);
  });

  it('-R: the words of a refused line are escaped', async () => {
    const h = new CliHarness();
    const r = await h.run(['-R'], `-A -t 10.0.0.1:80 -s rr\n${HOSTILE}-A -t 10.0.0.2:80\n`);
    expect(r.code).toBe(255);
    expect(r.stderr).toBe(`line 2: a rule must start with a command option (-A, -E, -D, -a, -e, -d, -C, -Z, --set, --start-daemon, --stop-daemon), not \`${SHOWN}-A'\n`);
    const unexpected = await h.run(['-R'], `-A -t 10.0.0.1:80 -s rr x${ESC}[2J\n`);
    expect(unexpected.stderr).toBe('line 1: unexpected argument x\\u001b[2J\n');
  });

  it('health: an unknown key of the config, and a log line, are escaped', async () => {
    const err: string[] = [];
    const io = {
      stdout: { write: () => true },
      stderr: { write: (t: string) => err.push(t) },
      ipvs: async () => {
        throw new Error(`no kernel\n2026-01-01T00:00:00.000Z forged line`);
      },
      now: () => new Date(0),
      signal: AbortSignal.abort(),
    };
    const key = `{"services": [], "${SHOWN}": 1}`;
    expect(await runHealth(['c.json'], { ...io, readFile: async () => key })).toBe(2);
    expect(err.join('')).toContain(`invalid ${SHOWN} 1: unknown field`);
    expectPrintableLines(err.join(''));
    err.length = 0;
    expect(await runHealth(['c.json'], { ...io, readFile: async () => '{"services": []}' })).toBe(1);
    expect(err.join('')).toBe('1970-01-01T00:00:00.000Z error: cannot open IPVS: no kernel\\u000a2026-01-01T00:00:00.000Z forged line\n');
  });
});
