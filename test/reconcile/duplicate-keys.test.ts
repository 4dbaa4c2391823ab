// Duplicate keys in a desired state or a health config: JSON.parse keeps the last silently, and a state whose
// service lists "destinations" twice would lose the first list, whose servers apply then deletes. Refused,
// naming the key and where its second occurrence is.

import { describe, expect, it } from 'vitest';
import { parseHealthConfig } from '../../src/health/config.js';
import { findDuplicateKey } from '../../src/reconcile/duplicate-keys.js';
import { parseDesiredState, parseDesiredStateJson } from '../../src/reconcile/state.js';
import { CliHarness } from '../cli/harness.js';

describe('duplicate keys', () => {
  it('findDuplicateKey: per object, nested at any depth, keys compared decoded; strings holding quotes, colons and brackets are passed over', () => {
    expect(findDuplicateKey('{"a": 1, "b": 2}')).toBeUndefined();
    expect(findDuplicateKey('{"a": 1, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]}')).toBeUndefined();
    expect(findDuplicateKey('{"a": 1, "a": 2}')).toEqual({ key: 'a', offset: 9 });
    expect(findDuplicateKey('[{"x": [{"deep": {"k": 1, "k": 2}}]}]')?.key).toBe('k');
    expect(findDuplicateKey('{"a": 1, "\\u0061": 2}')?.key).toBe('a');
    expect(findDuplicateKey('{"q\\"{[": "a:\\"b\\\\", "v": "\\\\", "q\\"{[": 0}')?.key).toBe('q"{[');
    expect(findDuplicateKey('{"k": "x", "y": "k", "z": ["k", "k"]}')).toBeUndefined();
    expect(findDuplicateKey('{"s": "2001:db8::1", "t": {"u": "\\\\"}, "s" : 1}')?.key).toBe('s');
    const many = Array.from({ length: 40 }, (_, i) => `"k${i}": ${i}`);
    expect(findDuplicateKey(`{${many.join(', ')}}`)).toBeUndefined();
    expect(findDuplicateKey(`{${many.join(', ')}, "k3": 0}`)?.key).toBe('k3');
    expect(findDuplicateKey('{"a": {}, "b": [], "c": {"a": [{}]}}')).toBeUndefined();
  });

  it('a desired state: a service with "destinations" twice is refused (the first list was dropped, and apply deleted its servers)', () => {
    const text = '{"services": [{"protocol": "tcp", "address": "10.0.0.1", "port": 80,\n  "destinations": [{"address": "10.0.0.2"}],\n  "destinations": [{"address": "10.0.0.3"}]}]}';
    for (const parse of [parseDesiredStateJson, (t: string) => parseDesiredState(t)]) {
      expect(() => parse(text)).toThrow('invalid state "destinations": the key appears twice in one object (the second at line 3, column 3)');
    }
  });

  it('ipvs apply refuses such a state before reading the kernel, and changes nothing', async () => {
    const h = new CliHarness();
    await h.setUp('-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.0.2');
    const text = '{"services": [{"protocol": "tcp", "address": "10.0.0.1", "port": 80, "scheduler": "rr", "destinations": [{"address": "10.0.0.2"}], "destinations": [{"address": "10.0.0.3"}]}]}';
    const r = await h.run(['apply', '-'], text);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ipvs apply: standard input: invalid state "destinations": the key appears twice/);
    expect(await h.save()).toBe('-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1\n');
  });

  it('a health config with a key twice is refused', () => {
    const text = '{"services": [{"protocol": "tcp", "address": "10.0.0.1", "port": 80, "destinations": [{"address": "10.0.0.2", "weight": 0, "weight": 1}]}]}';
    const column = text.lastIndexOf('"weight"') + 1;
    expect(() => parseHealthConfig(text)).toThrow(`invalid config "weight": the key appears twice in one object (the second at line 1, column ${column})`);
  });
});
