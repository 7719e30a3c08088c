/** Seeded randomness for randomized model tests: SEED from the environment, printed on failure. */

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32: small, fast, and good enough to drive test stimulus. */
export function makeRng(seed: number): Rng {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (items) => items[Math.floor(next() * items.length)],
    chance: (p) => next() < p,
  };
}

/** The seed of this run: env SEED if set, else a fresh one. */
export function testSeed(): number {
  const env = process.env.SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new Error(`SEED=${env} must be an integer in 0..2^32-1`);
    return n;
  }
  return Math.floor(Math.random() * 0xffff_ffff);
}

/** Runs `body` with a seeded Rng; on failure the error names the seed and how to re-run with it. */
export async function withSeed(body: (rng: Rng, seed: number) => void | Promise<void>): Promise<void> {
  const seed = testSeed();
  try {
    await body(makeRng(seed), seed);
  } catch (e) {
    const msg = `${e instanceof Error ? e.message : String(e)}\n  (seed ${seed}; re-run with SEED=${seed})`;
    if (e instanceof Error) {
      e.message = msg;
      throw e;
    }
    throw new Error(msg);
  }
}
