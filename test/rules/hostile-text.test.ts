// Rules text nobody vetted (`ipvs -R < file`, `ipvs apply file`): whatever its shape, reading it takes time
// linear in its size. The budgets below are some twenty times what the linear code needs on a slow machine
// and a small fraction of what a quadratic scan takes on a fast one.

import { describe, expect, it } from 'vitest';
import { MAX_RULE_WORDS, parseRules, parseRulesResolving, ruleLineArguments } from '../../src/rules/parse.js';
import { prepareRules } from '../../src/rules/prepare.js';
import { NO_SERVICE_NAMES } from '../../src/rules/service-names.js';
import { RulesSyntaxError } from '../../src/rules/errors.js';

function elapsed(run: () => unknown): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

describe('rules text of a hostile shape', () => {
  // Each line without a dash once made the fast path search the rest of the text for one.
  const commentsThenRule = '# a comment without a dash\n'.repeat(300_000) + '-A -t 10.0.0.1:80 -s rr\n';

  it('many lines without a dash: parseRules stays linear', () => {
    let count = 0;
    expect(elapsed(() => (count = parseRules(commentsThenRule, { services: NO_SERVICE_NAMES }).length))).toBeLessThan(2000);
    expect(count).toBe(1);
  });

  it('many lines without a dash: prepareRules (ipvs -R) stays linear', () => {
    expect(elapsed(() => prepareRules(commentsThenRule, { services: NO_SERVICE_NAMES }))).toBeLessThan(2000);
  });

  it('a NUL character: refused with its line, said in words (a UTF-16 or binary file)', () => {
    const utf16 = Buffer.from('-A -t 10.0.0.1:80\n', 'utf16le').toString('latin1');
    const text = `-A -t 10.0.0.1:80 -s rr\n${utf16}`;
    const options = { services: NO_SERVICE_NAMES };
    for (const parse of [parseRules, prepareRules]) {
      expect(() => parse(text, options)).toThrow(RulesSyntaxError);
      expect(() => parse(text, options)).toThrow('line 2: holds a NUL character: not rules text (a binary file, or UTF-16?)');
    }
    expect(() => parseRules('-A -t 10.0.0.1:80 -s rr\0\n', options)).toThrow('line 1: holds a NUL character');
  });

  it('a line of millions of words: refused with its line, without splitting it all (it took 3 GB and 80 s)', async () => {
    const options = { services: NO_SERVICE_NAMES };
    const text = '-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.2:80' + ' -n'.repeat(2_000_000) + '\n';
    for (const parse of [parseRules, prepareRules]) {
      expect(() => parse(text, options)).toThrow(`line 2: holds more than ${MAX_RULE_WORDS} words: not a rule`);
    }
    await expect(parseRulesResolving(text, async () => undefined, options)).rejects.toThrow(`line 2: holds more than ${MAX_RULE_WORDS} words`);
    expect(() => ruleLineArguments(' -n'.repeat(MAX_RULE_WORDS + 1))).toThrow(RangeError);
  });

  it('the words past the bound are never dropped unseen, dropped `ipvsadm` words counted too; a comment may be long', () => {
    const options = { services: NO_SERVICE_NAMES };
    // Cut at the bound, this line would read as `-A -t 10.0.0.1:80` without its scheduler.
    const padded = '-A -t 10.0.0.1:80 ' + 'ipvsadm '.repeat(MAX_RULE_WORDS) + '-s rr\n';
    expect(() => parseRules(padded, options)).toThrow('line 1: holds more than');
    expect(ruleLineArguments(' ipvsadm'.repeat(MAX_RULE_WORDS - 1))).toEqual([]);
    // The bound itself: blanks at both ends take no word's place.
    expect(ruleLineArguments(` ${'-n '.repeat(MAX_RULE_WORDS)}`)).toHaveLength(MAX_RULE_WORDS);
    expect(() => ruleLineArguments(` ${'-n '.repeat(MAX_RULE_WORDS + 1)}`)).toThrow(RangeError);
    expect(() => ruleLineArguments('-n '.repeat(MAX_RULE_WORDS + 1).trim())).toThrow(RangeError);
    const comment = '-A -t 10.0.0.1:80 -s rr # ' + 'word '.repeat(5 * MAX_RULE_WORDS) + '\n';
    expect(parseRules(comment, options)).toEqual([expect.objectContaining({ op: 'addService', service: expect.objectContaining({ scheduler: 'rr' }) })]);
  });
});
