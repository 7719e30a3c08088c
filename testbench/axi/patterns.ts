/**
 * Back-pressure and pacing patterns: a pattern answers, for a cycle, whether a ready may be high (or a
 * new valid may start). Randomized patterns take a seeded Rng so runs repeat.
 */
import type { Rng } from '../runtime/random.js';

export type Pattern = (cycle: number) => boolean;

/** Always allowed: full throughput. */
export const always: Pattern = () => true;

/** Never allowed (stalls until replaced). */
export const never: Pattern = () => false;

/** Allowed with probability `p` each cycle. */
export function randomly(p: number, rng: Rng): Pattern {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`randomly(${p}): a probability is between 0 and 1`);
  return () => rng.chance(p);
}

/** `on` cycles allowed, then `off` cycles not, repeating. */
export function periodic(on: number, off: number): Pattern {
  if (on < 1 || off < 0) throw new RangeError(`periodic(${on}, ${off}): needs on >= 1 and off >= 0`);
  const period = on + off;
  return (cycle) => cycle % period < on;
}

/** A repeating pattern written as a string of 1s and 0s, e.g. '1101'. */
export function fromBits(bits: string): Pattern {
  if (!/^[01]+$/.test(bits)) throw new RangeError(`fromBits('${bits}'): use a string of 0s and 1s`);
  const table = [...bits].map((c) => c === '1');
  return (cycle) => table[cycle % table.length];
}

/**
 * Long back-pressure: runs of allowed cycles and of stalled cycles, each run's length drawn from its
 * [min, max] range (e.g. `stalls(rng, [50, 400], [500, 3000])`). Asked once per cycle, in order.
 */
export function stalls(rng: Rng, on: readonly [number, number], off: readonly [number, number]): Pattern {
  for (const [what, [lo, hi]] of [
    ['on', on],
    ['off', off],
  ] as const) {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi < lo) {
      throw new RangeError(`stalls(): the ${what} run [${lo}, ${hi}] needs whole numbers with 1 <= min <= max`);
    }
  }
  let allowed = true;
  let until = rng.range(on[0], on[1]);
  return (cycle) => {
    while (cycle >= until) {
      allowed = !allowed;
      const [lo, hi] = allowed ? on : off;
      until += rng.range(lo, hi);
    }
    return allowed;
  };
}
