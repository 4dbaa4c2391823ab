// The random tests' source of numbers: seeded, so a failing case is rerun from its printed seed.

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; the same seed gives the same floats in [0, 1) on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
