// Node's process warnings (MaxListenersExceededWarning, TimeoutOverflowWarning) emitted during each test of
// the calling file: registers its own beforeEach/afterEach, returns the live list's reader.
import { afterEach, beforeEach } from 'vitest';

export function collectProcessWarnings(): () => Error[] {
  let warnings: Error[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w);
  };
  beforeEach(() => {
    warnings = [];
    process.on('warning', onWarning);
  });
  afterEach(() => {
    process.off('warning', onWarning);
  });
  return () => warnings;
}
