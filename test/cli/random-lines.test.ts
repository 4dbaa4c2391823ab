// The generator of the randomised ipvsadm differential (test/kernel/cli-random.test.ts) must be reproducible:
// a difference it reports is found again from its seed alone.

import { expect, it } from 'vitest';
import { randomLines } from '../helpers/cli-random-lines.js';
import { seededRandom } from '../helpers/seeded-random.js';

it('the same seed gives the same lines; another seed, others', () => {
  const a = randomLines(seededRandom(7), 200);
  expect(randomLines(seededRandom(7), 200)).toEqual(a);
  expect(randomLines(seededRandom(8), 200)).not.toEqual(a);
  // every line starts with an option (the harness splits lines at spaces; no empty words)
  for (const line of a) expect(line).toMatch(/^-\S*( \S+)*$/);
});
