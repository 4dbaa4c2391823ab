// `ipvs -R` against the fake kernel: bulk application (a 20 000-line table through pipelined windows), the
// first refusal reported by line number with every earlier line applied and no later one (additions the
// kernel carried out after the refused request in the same datagram are taken back), edits and deletions
// one at a time, and nothing applied when a line is malformed.

import { describe, expect, it } from 'vitest';
import { CliHarness } from './harness.js';
import { applyOperations } from '../../src/cli/restore.js';
import { Ipvs } from '../../src/client.js';
import { parseRules } from '../../src/rules/parse.js';
import { FakeKernel } from '../../src/testing/index.js';

/** A saved table of `services` services with `per` destinations each, as ipvsadm -Sn prints it. */
function bigTable(services: number, per: number): string {
  let text = '';
  for (let s = 0; s < services; s++) {
    const vip = `10.${(s >> 8) & 255}.${s & 255}.1`;
    text += `-A -t ${vip}:80 -s rr\n`;
    for (let d = 0; d < per; d++) text += `-a -t ${vip}:80 -r 192.168.${d}.${(s % 250) + 1}:8080 -m -w ${d + 1}\n`;
  }
  return text;
}

describe('-R in bulk', () => {
  it('restores a 20 000-line table; -Sn prints it back unchanged', async () => {
    const h = new CliHarness();
    const text = bigTable(2000, 9);
    expect(text.split('\n').length - 1).toBe(20_000);
    expect(await h.run('-R', text)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(h.opened).toBe(1);
    expect(await h.save()).toBe(text);
  }, 60_000);

  it('sends additions many to a datagram (pipelined through execute), not one request per round trip', async () => {
    const fake = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: fake.transport() });
    const calls: number[] = [];
    const execute = ipvs.execute.bind(ipvs);
    ipvs.execute = async (ops, options) => {
      calls.push(ops.length);
      return execute(ops, options);
    };
    const failures = await applyOperations(ipvs, parseRules(bigTable(100, 9)));
    expect(failures).toEqual([]);
    // one execute() for the whole run of additions
    expect(calls).toEqual([1000]);
    await ipvs.close();
  });

  it('a refusal deep inside a big run: earlier lines applied, the refused line and every later one not', async () => {
    const h = new CliHarness();
    // service 775 of the table (line 7751) collides with one already there
    await h.setUp('-A -t 10.3.7.1:80 -s rr');
    const lines = bigTable(2000, 9).split('\n');
    const at = lines.indexOf('-A -t 10.3.7.1:80 -s rr');
    expect(at + 1).toBe(7751);
    const r = await h.run('-R', lines.join('\n'));
    expect(r).toEqual({ code: 255, stdout: '', stderr: `line ${at + 1}: Service already exists\n` });
    const saved = await h.save();
    const applied = lines.slice(0, at).join('\n') + '\n';
    // the pre-existing service sorts among the restored ones: compare as sets of lines
    const expected = new Set([...applied.split('\n').filter((l) => l !== ''), '-A -t 10.3.7.1:80 -s rr']);
    expect(new Set(saved.split('\n').filter((l) => l !== ''))).toEqual(expected);
  }, 60_000);

  it('a refused destination: later destinations of existing services are taken back too', async () => {
    const h = new CliHarness();
    await h.setUp('-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.0.2 -m');
    const before = await h.save();
    const r = await h.run(
      '-R',
      ['-a -t 10.0.0.1:80 -r 10.0.0.3 -m', '-a -t 10.0.0.1:80 -r 10.0.0.2 -m', '-a -t 10.0.0.1:80 -r 10.0.0.4 -m', '-A -t 10.0.0.9:80', '-a -t 10.0.0.9:80 -r 10.0.0.5 -g', ''].join('\n'),
    );
    expect(r).toEqual({ code: 255, stdout: '', stderr: 'line 2: Destination already exists\n' });
    expect(await h.save()).toBe(before.replace('-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n', '-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n-a -t 10.0.0.1:80 -r 10.0.0.3:80 -m -w 1\n'));
  });

  it('edits and deletions run one at a time: a refused one stops the rules there', async () => {
    const h = new CliHarness();
    await h.setUp('-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.0.2 -m');
    const r = await h.run('-R', '-e -t 10.0.0.1:80 -r 10.0.0.2 -m -w 5\n-d -t 10.0.0.1:80 -r 10.0.0.7\n-D -t 10.0.0.1:80\n');
    expect(r).toEqual({ code: 255, stdout: '', stderr: 'line 2: No such destination\n' });
    expect(await h.save()).toBe('-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 5\n');
  });

  it('a malformed line anywhere applies nothing', async () => {
    const h = new CliHarness();
    const text = bigTable(100, 9) + '-a -t 10.0.0.1:80 -r 10.0.0.2 -w 2147483648\n';
    expect(await h.run('-R', text)).toEqual({ code: 2, stdout: '', stderr: 'line 1001: illegal weight specified\n' });
    expect(await h.save()).toBe('');
  });

  it('a last line without its newline is applied, whatever blanks end it (ipvsadm drops it after two: docs/cli.md)', async () => {
    for (const ending of ['', ' ', '  ', ' \t', '\t\r']) {
      const h = new CliHarness();
      expect(await h.run('-R', `-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.2:80 -s rr${ending}`)).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(await h.save()).toBe('-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.2:80 -s rr\n');
    }
  });

  it('a leading byte-order mark is dropped, as by ipvs apply (it made the first word U+FEFF -A, refused as a bare `-A`); CRLF lines read', async () => {
    const h = new CliHarness();
    const text = '\ufeff-A -t 10.0.0.1:80 -s rr\r\n-a -t 10.0.0.1:80 -r 10.0.0.2 -m\r\n';
    expect(await h.run('-R', text)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await h.save()).toBe('-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n');
  });
});
