/** Sequence numbers of SEQ_W bits with wraparound: the arithmetic the VMM and the NIC must agree on. */

export class SeqSpace {
  /** 2^width. */
  readonly modulus: number;
  readonly mask: number;

  constructor(readonly width: number) {
    if (!Number.isInteger(width) || width < 1 || width > 32) throw new Error(`sequence width ${width} must be an integer in 1..32`);
    this.modulus = 2 ** width;
    this.mask = this.modulus - 1;
  }

  /** a + n mod 2^width (n may be negative). */
  add(a: number, n: number): number {
    return (((a + n) % this.modulus) + this.modulus) % this.modulus;
  }

  /** (a - b) mod 2^width: how far a is ahead of b. */
  diff(a: number, b: number): number {
    return this.add(a, -b);
  }

  check(v: number, what: string): number {
    if (!Number.isInteger(v) || v < 0 || v > this.mask)
      throw new Error(`${what} ${v} must be an integer in 0..${this.mask} (SEQ_W=${this.width})`);
    return v;
  }
}
