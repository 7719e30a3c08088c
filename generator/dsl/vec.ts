import { ElaborationError } from './errors.js';
import { type Expr, literal, type Operand, select } from './expr.js';
import type { DrivenSignal } from './signal.js';
import { captureSource } from './source.js';

/** What a Vec needs from its module to write by a dynamic index (implemented by ModuleBuilder). */
export interface VecOwner {
  switch(subject: Expr): { is(values: Operand, body: () => void): unknown };
}

/**
 * A fixed-length array of signals of one type, like Chisel's `Vec`: `v.at(3)` is element 3,
 * `v.read(idx)` picks an element by a signal, and (for wires and registers) `v.write(idx, x)` drives
 * the element an index names. Elements are ordinary signals named `<name>_<i>` in the Verilog.
 */
export class Vec<T extends Expr> implements Iterable<T> {
  constructor(readonly items: readonly T[]) {
    if (items.length === 0) throw new ElaborationError('a Vec needs at least one element', captureSource());
  }

  get length(): number {
    return this.items.length;
  }

  /** Element i (a constant index). */
  at(i: number): T {
    const item = this.items[i];
    if (!Number.isInteger(i) || item === undefined) {
      throw new ElaborationError(`Vec index ${i} is out of range 0..${this.items.length - 1}`, captureSource());
    }
    return item;
  }

  /** The element `index` names (a mux); an index past the end reads an undefined value. */
  read(index: Expr): Expr {
    return select(index, [...this.items]);
  }

  [Symbol.iterator](): Iterator<T> {
    return this.items[Symbol.iterator]();
  }
}

/** A Vec of signals this module drives. */
export class DrivenVec<T extends DrivenSignal> extends Vec<T> {
  constructor(
    private readonly owner: VecOwner,
    items: readonly T[],
  ) {
    super(items);
  }

  /** Drives the element `index` names with `value` (one case per element); the others are left alone. */
  write(index: Expr, value: Operand): void {
    const loc = captureSource();
    if (index.type.signed) throw new ElaborationError('a Vec index must be unsigned', loc);
    const reachable = Math.min(this.items.length, 2 ** Math.min(index.width, 30));
    const v = typeof value === 'object' ? value : literal(value, (this.items[0] as T).type, loc);
    let chain = this.owner.switch(index);
    for (let i = 0; i < reachable; i++) {
      const item = this.items[i] as T;
      chain = chain.is(i, () => item.set(v)) as typeof chain;
    }
  }
}
