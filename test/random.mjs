// mulberry32: a small seeded generator, so a failing run (of strings, of kills, of injected faults) can be
// replayed. Plain JavaScript, for the TypeScript tests and the plain-Node stand-in and benches alike.

/** A generator of numbers in [0, 1), the same sequence for the same seed. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
