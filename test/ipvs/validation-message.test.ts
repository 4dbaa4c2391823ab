// A ValidationError's message shows the refused value, which may be whatever a file held: it stays short,
// and building it never throws, however deep or large the value.

import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/ipvs/errors.js';
import { parseDesiredStateJson } from '../../src/reconcile/state.js';
import { normaliseHealthConfig, parseHealthConfig } from '../../src/health/config.js';

function deepArray(depth: number): unknown[] {
  let v: unknown[] = [];
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('the value in a ValidationError message', () => {
  it('a value nested deeper than the stack: named by its kind, no RangeError', () => {
    const err = new ValidationError('services[0]', deepArray(200_000), 'must be an object');
    expect(err.message).toBe('invalid services[0] (an array of 1): must be an object');
  });

  it('JSON nested deeper than the stack is a ValidationError of the state or health config', () => {
    const text = `{"services":[${'['.repeat(200_000)}${']'.repeat(200_000)}]}`;
    expect(() => parseDesiredStateJson(text)).toThrow(ValidationError);
    expect(() => parseHealthConfig(text)).toThrow(ValidationError);
  });

  it('a large value is cut', () => {
    const err = new ValidationError('address', 'x'.repeat(1_000_000), 'not an IPv4 or IPv6 address');
    expect(err.message).toBe(`invalid address "${'x'.repeat(199)}...: not an IPv4 or IPv6 address`);
    expect(err.value).toHaveLength(1_000_000);
    const list = Array.from({ length: 100_000 }, (_, i) => i);
    expect(() => normaliseHealthConfig({ services: [list] } as never)).toThrow(/^invalid services\[0\] \[0,1,2,.{150,200}\.\.\.: must be an object$/);
  });

  it('a cycle, a function, a class instance', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(new ValidationError('x', cycle, 'r').message).toBe('invalid x (an object): r');
    expect(new ValidationError('x', new AbortController(), 'r').message).toBe('invalid x AbortController {}: r');
    expect(new ValidationError('x', 'short', 'r').message).toBe('invalid x "short": r');
    // A function by its name, not its source text (which String() of it gives).
    expect(new ValidationError('x', function check() { return 'a long body'; }, 'r').message).toBe('invalid x function check: r');
    expect(new ValidationError('x', [() => 1][0], 'r').message).toBe('invalid x function (anonymous): r');
  });
});
