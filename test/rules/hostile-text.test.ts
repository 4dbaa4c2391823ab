// Rules text nobody vetted (`ipvs -R < file`, `ipvs apply file`): whatever its shape, reading it takes time
// linear in its size. The budgets below are some twenty times what the linear code needs on a slow machine
// and a small fraction of what a quadratic scan takes on a fast one.

import { describe, expect, it } from 'vitest';
import { parseRules } from '../../src/rules/parse.js';
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
});
