// The seed document's ipvsadm lines through `ipvs` on the fake kernel: each line as a command line, the
// same lines as an `ipvs -R` rules file (with the program name left in, which -R skips as ipvsadm does),
// the script's add/del cycle repeated as a health checker would, and the resulting table as ipvsadm 1.31
// saves it (the same text the real-kernel test checks against the real ipvsadm).

import { describe, expect, it } from 'vitest';
import { CliHarness } from './harness.js';
import { SEED_LINES, SEED_SAVED, SEED_SEQUENCE } from './seed-lines.js';

describe('the seed document through ipvs (fake kernel)', () => {
  it('every ipvsadm line runs, silently, and the table saves as ipvsadm saves it', async () => {
    const h = new CliHarness();
    for (const line of SEED_SEQUENCE) expect({ line, ...(await h.run(line)) }).toEqual({ line, code: 0, stdout: '', stderr: '' });
    expect(await h.save()).toBe(SEED_SAVED);
    expect((await h.run('-Ln')).stdout).toContain('FWM  10 rr persistent 60\n');
  });

  it('covers every ipvsadm line of the seed', () => {
    expect(SEED_LINES.map((l) => l.args.split(' ')[0])).toEqual(['-A', '-A', '-a', '-a', '-a', '-a', '-d']);
    expect(new Set(SEED_LINES.map((l) => l.seed.toLowerCase().replace(/\s/g, '').slice(0, 7)))).toEqual(new Set(['ipvsadm']));
  });

  it('the same lines as a rules file for -R, program name and all', async () => {
    const h = new CliHarness();
    expect(await h.run('-R', SEED_SEQUENCE.map((l) => `ipvsadm ${l}`).join('\n') + '\n')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await h.save()).toBe(SEED_SAVED);
  });

  it("the health script's del/add cycle: a failed server leaves, comes back with its weight", async () => {
    const h = new CliHarness();
    for (const line of SEED_SEQUENCE) await h.run(line);
    const del117 = '-d -t 192.168.1.110:80 -r 192.168.1.117:80';
    const add117 = '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g -w 1';
    const add116 = '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2';
    expect(await h.run(del117)).toEqual({ code: 0, stdout: '', stderr: '' });
    // deleting twice is what the script guards against with its status array: ipvsadm's refusal
    expect(await h.run(del117)).toEqual({ code: 255, stdout: '', stderr: 'No such destination\n' });
    expect(await h.run(add116)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await h.run(add117)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await h.run(add117)).toEqual({ code: 255, stdout: '', stderr: 'Destination already exists\n' });
    expect(await h.save()).toBe(
      SEED_SAVED.replace(
        '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g -w 1\n',
        '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2\n-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g -w 1\n',
      ),
    );
  });
});
