import { cat, type Expr, lit, mux } from '../dsl/expr.js';
import { defineModule, type ModuleBuilder, type ModuleDef } from '../dsl/module.js';
import type { InPort, OutPort } from '../dsl/signal.js';
import { log2Ceil, UInt } from '../dsl/types.js';
import { requireInt } from './params.js';

export interface LowestSetBit {
  /** Some bit is set. */
  valid: Expr;
  /** Index of the lowest set bit (0 when none is): max(1, log2Ceil(width)) bits. */
  index: Expr;
}

/**
 * Builds, inside module `m`, a tree that finds the lowest set bit of `bits`. Each level halves the
 * candidates, so the depth is log2(width) two-input muxes, not a width-long priority chain. Level k
 * is a pair of wires `<prefix>_valid<k>` / `<prefix>_index<k>` holding one (valid, index) per node.
 */
export function lowestSetBit(m: ModuleBuilder, prefix: string, bits: Expr): LowestSetBit {
  const n = bits.width;
  if (n === 1) return { valid: bits, index: lit(0, 1) };
  const levels = log2Ceil(n);
  const padded = (1 << levels) - n;
  // Padding to a power of two keeps every node a pair; synthesis removes the constant zeros.
  let valid: Expr = padded ? m.named(`${prefix}_padded`, cat(lit(0, padded), bits)) : bits;
  let index: Expr | null = null;
  for (let level = 1; level <= levels; level++) {
    const nodes = 1 << (levels - level);
    const w = level - 1; // index width of the level below
    const validParts: Expr[] = [];
    const indexParts: Expr[] = [];
    for (let j = nodes - 1; j >= 0; j--) {
      const loValid = valid.bit(2 * j);
      const hiValid = valid.bit(2 * j + 1);
      validParts.push(loValid.or(hiValid));
      // The top index bit says "the low half had nothing"; the rest comes from the half that won.
      if (index === null) indexParts.push(loValid.not());
      else {
        const lo = index.bits((2 * j + 1) * w - 1, 2 * j * w);
        const hi = index.bits((2 * j + 2) * w - 1, (2 * j + 1) * w);
        indexParts.push(cat(loValid.not(), mux(loValid, lo, hi)));
      }
    }
    valid = m.named(`${prefix}_valid${level}`, cat(...validParts));
    index = m.named(`${prefix}_index${level}`, cat(...indexParts));
  }
  return { valid, index: index as Expr };
}

export interface PriorityEncoderOptions {
  /** Number of input bits, 1..65536. */
  n: number;
}

export interface PriorityEncoderIO {
  bits: InPort;
  /** Index of the lowest set bit of `bits`; 0 when none is set. */
  index: OutPort;
  /** Some bit of `bits` is set. */
  valid: OutPort;
}

/**
 * Priority encoder: the index of the lowest set bit of `bits` and whether any is set. Purely
 * combinational, log2(n) levels deep. Ports: `bits` (n), `index` (max(1, log2Ceil(n))), `valid`.
 */
export function priorityEncoder(opts: PriorityEncoderOptions): ModuleDef<PriorityEncoderIO> {
  requireInt('priorityEncoder', 'n', opts.n, 1, 65536);
  const n = opts.n;
  return defineModule('priority_encoder', { N: n }, (m) => {
    const bits = m.input('bits', UInt(n));
    const index = m.output('index', UInt(Math.max(1, log2Ceil(n))));
    const valid = m.output('valid');
    const found = lowestSetBit(m, 'tree', bits);
    index.set(found.index);
    valid.set(found.valid);
    return { bits, index, valid };
  });
}
