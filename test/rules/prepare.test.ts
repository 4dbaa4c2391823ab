// prepareRules: rules text straight into validated, encoded runs. Compared with what parseRules then
// execute() would send (the same bytes, the same lines and operations when asked for), the other
// operations kept between the runs in order, a bad line anywhere refusing the whole text, a value the
// client refuses recorded on its run, and host names looked up when a line needs them.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { OperationBatch } from '../../src/ipvs/batch.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import { RulesSyntaxError } from '../../src/rules/errors.js';
import { isTableOperation, toClientOperation, type TableRuleOperation } from '../../src/rules/operations.js';
import { parseRules } from '../../src/rules/parse.js';
import { PreparedRun, prepareRules, prepareRulesResolving, stepsOf } from '../../src/rules/prepare.js';
import { parseServicesFile } from '../../src/rules/service-names.js';
import { FakeKernel } from '../../src/testing/index.js';

const fam = { id: 0x21, version: 1 };
const services = parseServicesFile('http 80/tcp\nhttps 443/tcp\n');

/** A saved table (ipvsadm -Sn lines, and a few the fast path declines), flushes and --set between runs. */
function rulesText(): string {
  const lines: string[] = [];
  for (let s = 0; s < 300; s++) {
    const vip = `10.${s >> 8}.${s & 255}.1`;
    lines.push(s % 50 === 0 ? `ipvsadm -A -t ${vip}:http -s rr -p` : `-A -t ${vip}:80 -s wlc`);
    for (let d = 0; d < 3; d++) lines.push(`-a -t ${vip}:80 -r 192.168.${d}.${(s % 250) + 1}:8080 -m -w ${d + 1}`);
    if (s === 100) lines.push('', '# a comment', '-C');
    if (s === 200) lines.push('--set 10 20 30', '-E -t 10.0.0.1:80 -s rr', '-d -t 10.0.0.1:80 -r 192.168.0.1:8080', '-e -t 10.0.1.2:80 -r 192.168.1.3:8080 -g -w 4');
  }
  lines.push('-A -f 7 -6 -s sh', '-a -f 7 -6 -r [2001:db8::7]:80 -g', '-a -u [2001:db8::1]:53 -r 10.1.1.1 -i -w 2', '-A -u [2001:db8::1]:53', '');
  return lines.join('\n');
}

describe('prepareRules', () => {
  it('gives the runs parseRules + execute() would send, byte for byte, and the other lines between them', () => {
    const text = rulesText();
    const parsed = parseRules(text, { services });
    const steps = prepareRules(text, { services });
    expect(steps.map((s) => (s instanceof PreparedRun ? 'run' : s.op))).toEqual(['run', 'flush', 'run', 'setTimeouts', 'run']);
    expect(stepsOf(parsed).map((s) => (s instanceof PreparedRun ? s.length : s.op))).toEqual(steps.map((s) => (s instanceof PreparedRun ? s.length : s.op)));
    let i = 0;
    for (const step of steps) {
      if (!(step instanceof PreparedRun)) {
        expect(step).toEqual(parsed[i++]);
        continue;
      }
      const rules = parsed.slice(i, i + step.length) as TableRuleOperation[];
      expect(rules.every(isTableOperation)).toBe(true);
      expect(step.invalid).toBeUndefined();
      const reference = OperationBatch.from(rules.map(toClientOperation));
      expect(step.operations.messages(fam, 0, step.length).equals(reference.messages(fam, 0, reference.length))).toBe(true);
      for (let k = 0; k < step.length; k++) {
        expect(step.line(k)).toBe(rules[k]!.line);
        expect(step.isAddition(k)).toBe(rules[k]!.op === 'addService' || rules[k]!.op === 'addDestination');
      }
      for (const k of [0, 1, step.length - 1]) {
        expect(step.rule(k)).toEqual(rules[k]);
        expect(step.operations.operation(k)).toEqual(toClientOperation(rules[k]!));
      }
      i += step.length;
    }
    expect(i).toBe(parsed.length);
  });

  it('a bad line anywhere refuses the whole text, with parseRules\' error', () => {
    const lines = rulesText().split('\n');
    lines[1100] = lines[1100]!.replace(/-w \d+$/, '-w many');
    const text = lines.join('\n');
    expect(() => parseRules(text, { services })).toThrow(RulesSyntaxError);
    let mine: unknown;
    let theirs: unknown;
    try {
      prepareRules(text, { services });
    } catch (err) {
      mine = err;
    }
    try {
      parseRules(text, { services });
    } catch (err) {
      theirs = err;
    }
    expect(mine).toBeInstanceOf(RulesSyntaxError);
    expect((mine as RulesSyntaxError).message).toBe((theirs as RulesSyntaxError).message);
    expect((mine as RulesSyntaxError).line).toBe((theirs as RulesSyntaxError).line);
    expect((mine as RulesSyntaxError).line).toBe(1101);
  });

  it('a value the client refuses is recorded on its run, with the lines before it', () => {
    // ipvsadm's grammar takes a lower threshold above the upper one; the client refuses it.
    const text = '-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -x 5 -y 9\n-a -t 10.0.0.1:80 -r 10.0.0.3\n-C\n-A -t 10.0.0.5:80\n';
    const [run, flush, next] = prepareRules(text);
    expect(run).toBeInstanceOf(PreparedRun);
    const r = run as PreparedRun;
    expect(r.length).toBe(1);
    expect(r.invalid?.rule.line).toBe(2);
    expect(r.invalid?.error).toBeInstanceOf(ValidationError);
    expect((r.invalid?.error as ValidationError).field).toBe('operations[1].destination.lowerThreshold');
    expect(flush).toMatchObject({ op: 'flush', line: 4 });
    expect((next as PreparedRun).invalid).toBeUndefined();
  });

  it('runs through execute() as parseRules + execute() does: results in order, refusals worded the same', async () => {
    const text = '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2 -m\n-a -t 10.0.0.9:80 -r 10.0.0.3 -m\n-a -t 10.0.0.1:80 -r 10.0.0.4 -g\n';
    const [run] = prepareRules(text) as [PreparedRun];
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const results = await ipvs.execute(run.operations);
    expect(results.map((r) => ('ok' in r ? r.ok : 'skipped'))).toEqual([true, true, false, true]);
    const failed = results[2] as { ok: false; error: Error };
    expect(failed.error.message).toMatch(/no such service tcp 10\.0\.0\.9:80/);
    expect(run.line(2)).toBe(3);
    // the same operations as an array: the same words
    await ipvs.flush();
    const again = await ipvs.execute(parseRules(text).filter(isTableOperation).map(toClientOperation));
    expect((again[2] as { ok: false; error: Error }).error.message).toBe(failed.error.message);
    await ipvs.close();
  });

  it('looks host names up only when a line needs them', async () => {
    const asked: string[] = [];
    const lookup = async (name: string): Promise<string | undefined> => (asked.push(name), name === 'web' ? '10.9.9.9' : undefined);
    const numeric = await prepareRulesResolving('-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2\n', lookup, { services });
    expect(asked).toEqual([]);
    expect((numeric[0] as PreparedRun).length).toBe(2);
    const named = await prepareRulesResolving('-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r web:http\n', lookup, { services });
    expect(asked).toEqual(['web']);
    const run = named[0] as PreparedRun;
    expect(run.rule(1)).toMatchObject({ op: 'addDestination', destination: { address: '10.9.9.9', port: 80 }, line: 2 });
  });
});
