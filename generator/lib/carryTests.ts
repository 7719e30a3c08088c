/**
 * Wide zero and all-ones tests as the carry out of one carry chain, for where a tree of LUTs would be
 * several levels deep (ECP5 and 7-series chains cost one level on entry and little per bit).
 */
import { type Expr, lit } from '../dsl/expr.js';

/** Whether any bit of `v` is set: all ones plus `v` overflows exactly when `v` is not 0. */
export function anySetByCarry(v: Expr): Expr {
  if (v.width === 1) return v;
  const n = v.width;
  return lit((1n << BigInt(n)) - 1n, n + 1)
    .addWrap(v.resize(n + 1))
    .bit(n);
}

/** Whether every bit of `v` is set: `v` plus one overflows exactly then. */
export function allSetByCarry(v: Expr): Expr {
  if (v.width === 1) return v;
  const n = v.width;
  return v
    .resize(n + 1)
    .addWrap(1)
    .bit(n);
}
