/** Randomized model tests: the runtime's seeded Rng, with the seed named in any failure. */
import { Rng, testSeed } from '../../testbench/runtime/random.js';

export type { Rng };

/** Runs `body` with an Rng seeded from SEED (or a fresh seed); a failure names the seed and how to re-run with it. */
export async function withSeed(body: (rng: Rng, seed: number) => void | Promise<void>): Promise<void> {
  const seed = testSeed();
  try {
    await body(new Rng(seed), seed);
  } catch (e) {
    const note = `(seed ${seed}; re-run with SEED=${seed})`;
    if (e instanceof Error) {
      e.message = `${e.message}\n  ${note}`;
      throw e;
    }
    throw new Error(`${String(e)}\n  ${note}`);
  }
}
