/** Small width adapters the receive blocks share. */
import type { Expr } from '../../../generator/index.js';

/** `e` zero-extended or truncated to `w` bits, for values known to fit (say why at the call). */
export function fitWidth(e: Expr, w: number): Expr {
  return e.width >= w ? e.trunc(w) : e.resize(w);
}

/** Number of set bits of `e`, as a `bitsFor(e.width)`-wide value. */
export function popcount(e: Expr, w: number): Expr {
  let sum: Expr | null = null;
  for (let i = 0; i < e.width; i++) {
    const b = e.bit(i).resize(w);
    sum = sum === null ? b : sum.addWrap(b);
  }
  return sum as Expr;
}

export function log2(n: number): number {
  return Math.round(Math.log2(n));
}

export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
