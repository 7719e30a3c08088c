/**
 * Seeded randomness for tests. A test takes its seed from SEED (or picks one), puts it in its failure
 * messages, and re-runs identically with SEED=<n>.
 */

/** A small, fast generator (sfc32); the same seed gives the same sequence everywhere. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.u32() / 0x100000000;
  }

  /** `int(n)`: an integer in [0, n) for n up to 2^32. `int(lo, hi)`: an integer in [lo, hi], like Python's randint. */
  int(n: number, hi?: number): number {
    if (hi !== undefined) return this.range(n, hi);
    return Math.floor((this.u32() / 0x100000000) * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + Math.floor((this.u32() / 0x100000000) * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  /** A uniform value of `width` bits. */
  bits(width: number): bigint {
    let v = 0n;
    for (let i = 0; i < width; i += 32) v = (v << 32n) | BigInt(this.u32());
    return BigInt.asUintN(width, v);
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick: no items to pick from');
    return items[this.int(items.length)];
  }

  /** An independent generator derived from this one (for a sub-component). */
  fork(): Rng {
    return new Rng(this.u32());
  }
}

/** The seed from $SEED, or a fresh one. Put it in failure messages: `seed ${seed} (re-run with SEED=${seed})`. */
export function testSeed(): number {
  const env = process.env.SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`SEED=${env}: use a whole number from 0 to 4294967295`);
    return n;
  }
  return Math.floor(Math.random() * 0x100000000);
}
