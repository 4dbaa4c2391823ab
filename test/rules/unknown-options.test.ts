// The rules format's functions refuse option keys they do not have, before parsing, resolving or reading
// anything: a misspelt `numeric` or `noSort` would otherwise print other text than asked for.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import { formatRules, iterateRules, parseRules, parseRulesResolving, prepareRules, prepareRulesResolving, systemResolver } from '../../src/rules/index.js';
import { FakeKernel } from '../../src/testing/index.js';
import { refusedSync as refused } from '../helpers/refused.js';

const RULES = '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 1\n';

describe('rules options refuse unknown keys', () => {
  it('parseRules, prepareRules', () => {
    expect(refused(() => parseRules(RULES, { lookuphost: () => '10.0.0.9' } as never)).message).toBe(
      'invalid lookuphost function lookuphost: unknown option (did you mean lookupHost?); expected one of services, lookupHost',
    );
    expect(refused(() => prepareRules(RULES, { service: undefined } as never)).reason).toMatch(/^unknown option \(did you mean services\?\)/);
  });

  it('parseRulesResolving, prepareRulesResolving: lookupHost is their argument, not an option; nothing is looked up', async () => {
    const looked: string[] = [];
    const lookup = async (name: string): Promise<string | undefined> => {
      looked.push(name);
      return undefined;
    };
    const text = '-A -t web.example:80 -s rr\n';
    await expect(parseRulesResolving(text, lookup, { lookupHost: () => '10.0.0.9' } as never)).rejects.toMatchObject({ field: 'lookupHost', reason: 'unknown option; expected one of services' });
    await expect(prepareRulesResolving(text, lookup, { Services: undefined } as never)).rejects.toMatchObject({ field: 'Services', reason: expect.stringMatching(/did you mean services\?/) });
    expect(looked).toEqual([]);
  });

  it('formatRules, systemResolver', () => {
    expect(refused(() => formatRules([], { numberic: true } as never)).reason).toMatch(/^unknown option \(did you mean numeric\?\); expected one of numeric, names$/);
    expect(refused(() => systemResolver({ timeout: 100 } as never)).reason).toMatch(/did you mean timeoutMs\?/);
    expect(refused(() => systemResolver({ cacheMS: 0 } as never)).field).toBe('cacheMS');
  });

  it('iterateRules: refused before the table is read', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService({ protocol: 'tcp', address: '10.0.0.1', port: 80 });
    const before = kernel.requests.length;
    const err = await (async () => {
      for await (const chunk of iterateRules(ipvs, { nosort: true } as never)) void chunk;
    })().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'nosort', reason: expect.stringMatching(/^unknown option \(did you mean noSort\?\)/) });
    expect(kernel.requests.length).toBe(before);
    await ipvs.close();
  });
});
