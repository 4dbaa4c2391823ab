// The memory that throttles repeated warnings: a repeat within 10 min is a debug line, the count comes with
// the next warning, and the memory stays at REMEMBERED_WARNINGS texts however many distinct ones come.

import { describe, expect, it } from 'vitest';
import { REMEMBERED_WARNINGS, REPEAT_WARNING_MS, RepeatedWarnings } from '../../src/health/repeated-warnings.js';

describe('RepeatedWarnings', () => {
  it('throttles texts that alternate, and counts their repeats', () => {
    const w = new RepeatedWarnings('failure');
    expect(w.note('read failed', 0)).toEqual({ repeat: false, since: '' });
    expect(w.note('change refused', 1)).toEqual({ repeat: false, since: '' });
    for (let t = 2; t < 12; t++) expect(w.note(t % 2 ? 'read failed' : 'change refused', t)).toEqual({ repeat: true });
    expect(w.note('read failed', REPEAT_WARNING_MS)).toEqual({ repeat: false, since: ' (the same failure 5 more times since this warning 10 min ago)' });
    expect(w.repeatNote()).toBe(' (the same failure again: warned at most every 10 min)');
  });

  it('forgets the text seen longest ago beyond REMEMBERED_WARNINGS, keeping a recurring one', () => {
    const w = new RepeatedWarnings('failure');
    for (let i = 0; i < 1000; i++) {
      expect(w.note(`request ${i} refused`, i).repeat).toBe(false);
      expect(w.note('the recurring one', i).repeat).toBe(i > 0);
    }
    expect(w.size).toBe(REMEMBERED_WARNINGS);
    expect(w.note('request 999 refused', 1000).repeat).toBe(true);
    expect(w.note('request 0 refused', 1000).repeat).toBe(false); // forgotten: new again
    w.clear();
    expect(w.size).toBe(0);
  });
});
