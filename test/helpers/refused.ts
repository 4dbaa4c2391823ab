// The ValidationError a call or a promise is refused with (the test fails when it is not refused, or with another error).
import { expect } from 'vitest';
import { ValidationError } from '../../src/ipvs/errors.js';

export function refusedSync(call: () => unknown): ValidationError {
  try {
    call();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('not refused');
}

export async function refusedAsync(p: Promise<unknown>): Promise<ValidationError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}
