// The shared check of options objects (src/ipvs/option-keys.ts): an unknown key is refused with a
// ValidationError naming it, whatever its value, with the nearest known key as a suggestion; symbol and
// inherited keys are passed over. The entry points that use it have their own tests (unknown-options).

import { describe, expect, it } from 'vitest';
import { OperationBatch } from '../../src/ipvs/batch.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import { closestKey, onlyKnownOptions, optionKeys } from '../../src/ipvs/option-keys.js';

interface Example {
  dryRun?: boolean;
  prune?: boolean;
  timeoutMs?: number;
  hz?: number;
}

const KEYS = optionKeys<Example>('', { dryRun: true, prune: true, timeoutMs: true, hz: true });

function refusal(options: unknown, path?: string): ValidationError {
  try {
    onlyKnownOptions(options, KEYS, path);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('not refused');
}

describe('onlyKnownOptions', () => {
  it('passes known keys, undefined values of known keys, and returns the object', () => {
    const o = { dryRun: true, prune: undefined };
    expect(onlyKnownOptions(o, KEYS)).toBe(o);
    expect(onlyKnownOptions({}, KEYS)).toEqual({});
  });

  it('refuses an unknown key by name, with its value and the known keys', () => {
    const err = refusal({ prune: true, dryrun: true });
    expect(err).toMatchObject({ field: 'dryrun', value: true, code: 'EINVALIDARG' });
    expect(err.message).toBe('invalid dryrun true: unknown option (did you mean dryRun?); expected one of dryRun, prune, timeoutMs, hz');
  });

  it('refuses an unknown key set to undefined too', () => {
    expect(refusal({ purne: undefined })).toMatchObject({ field: 'purne', reason: expect.stringMatching(/^unknown option \(did you mean prune\?\)/) });
  });

  it('names the object where it is given a path', () => {
    expect(refusal({ hZ: 100 }, 'FakeKernelOptions').field).toBe('FakeKernelOptions.hZ');
    expect(refusal({ hZ: 100 }, 'FakeKernelOptions').message).toMatch(/^invalid FakeKernelOptions\.hZ 100: unknown option \(did you mean hz\?\)/);
  });

  it('suggests only a key equal but for case or within an edit distance of 2', () => {
    const known = ['dryRun', 'prune', 'timeoutMs', 'stopOnError'];
    expect(closestKey('DRYRUN', known)).toBe('dryRun');
    expect(closestKey('purne', known)).toBe('prune');
    expect(closestKey('timeout', known)).toBe('timeoutMs');
    expect(closestKey('stopOnErorr', known)).toBe('stopOnError');
    expect(closestKey('timeoutMilliseconds', known)).toBeUndefined();
    expect(closestKey('stats', known)).toBeUndefined();
    expect(refusal({ verbose: true }).reason).toBe('unknown option; expected one of dryRun, prune, timeoutMs, hz');
  });

  it('passes symbol keys, inherited keys and non-enumerable keys over', () => {
    const tagged = { dryRun: true, [Symbol('tag')]: 1 };
    expect(() => onlyKnownOptions(tagged, KEYS)).not.toThrow();
    const inherited = Object.create({ somethingElse: true, dryrun: true }) as object;
    expect(() => onlyKnownOptions(inherited, KEYS)).not.toThrow();
    class Opts {
      prune = true;
      method(): void {}
    }
    expect(() => onlyKnownOptions(new Opts(), KEYS)).not.toThrow();
    const hidden = Object.defineProperty({}, 'secret', { value: 1, enumerable: false });
    expect(() => onlyKnownOptions(hidden, KEYS)).not.toThrow();
  });

  it('refuses what is not an object', () => {
    expect(refusal(null).message).toBe('invalid options null: must be an object');
    expect(refusal(5, 'drain').message).toBe('invalid drain 5: must be an object');
  });
});

describe('OperationBatch options', () => {
  it('an unknown key is refused', () => {
    expect(() => new OperationBatch({ sources: () => undefined } as never)).toThrow(/^invalid sources .*: unknown option \(did you mean source\?\); expected one of source$/);
  });
});
