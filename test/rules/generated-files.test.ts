// The random rules files of the kernel differential (test/helpers/rules-generator.ts) on the host: the same
// seed gives the same file, the ipvsadm spelling keeps the line numbers, and parseRules (fast path and all)
// reads each file exactly as the general grammar does, and prepareRules refuses the same line.

import { describe, expect, it } from 'vitest';
import { RulesSyntaxError } from '../../src/rules/errors.js';
import { parseRules, parseRulesGeneral, type ParseRulesOptions } from '../../src/rules/parse.js';
import { prepareRules } from '../../src/rules/prepare.js';
import { parseServicesFile } from '../../src/rules/service-names.js';
import { generateRules } from '../helpers/rules-generator.js';

const options: ParseRulesOptions = {
  services: parseServicesFile('http 80/tcp\ndomain 53/tcp\ndomain 53/udp\n'),
  lookupHost: () => undefined,
};

function outcome(read: () => unknown): unknown {
  try {
    return { ok: JSON.stringify(read()) };
  } catch (err) {
    if (err instanceof RulesSyntaxError) return { line: err.line, message: err.message };
    throw err;
  }
}

describe('generated rules files', () => {
  it('are reproducible, and the ipvsadm spelling has the same lines', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const a = generateRules(seed);
      expect(generateRules(seed)).toEqual(a);
      expect(a.ipvsadmText.split('\n').length).toBe(a.text.split('\n').length);
      expect(a.ipvsadmText).not.toContain('#');
    }
    expect(generateRules(1).text).not.toBe(generateRules(2).text);
  });

  it('parse the same through the fast path and the general grammar, and prepare refuses the same line', () => {
    for (let seed = 1; seed <= 150; seed++) {
      const { text } = generateRules(seed);
      const fast = outcome(() => parseRules(text, options));
      expect({ seed, ...(fast as object) }).toEqual({ seed, ...(outcome(() => parseRulesGeneral(text, options)) as object) });
      const prepared = outcome(() => prepareRules(text, options));
      if ('line' in (fast as object)) expect({ seed, ...(prepared as object) }).toEqual({ seed, ...(fast as object) });
      else expect({ seed, ok: 'ok' in (prepared as object) }).toEqual({ seed, ok: true });
    }
  });
});
