/**
 * Records carried through the transmit engine's queues: named fields packed into one vector, the first
 * field at the least significant bits (so a queue can find the context number of an entry at bit 0).
 */
import { cat, ElaborationError, type Expr } from '../../../generator/index.js';

export class RecordLayout<F extends string> {
  readonly width: number;
  private readonly lsbs: Readonly<Record<F, number>>;

  constructor(readonly fields: readonly (readonly [F, number])[]) {
    let lsb = 0;
    const lsbs = {} as Record<F, number>;
    for (const [name, width] of fields) {
      if (!Number.isInteger(width) || width < 1) throw new RangeError(`record field ${name} has width ${width}`);
      lsbs[name] = lsb;
      lsb += width;
    }
    this.width = lsb;
    this.lsbs = lsbs;
  }

  widthOf(f: F): number {
    const entry = this.fields.find(([n]) => n === f);
    if (!entry) throw new RangeError(`no record field ${f}`);
    return entry[1];
  }

  /** The record with every field given; each value must have its field's width. */
  pack(values: Readonly<Record<F, Expr>>): Expr {
    const parts = [...this.fields].reverse().map(([name, width]) => {
      const v = values[name];
      if (v.width !== width) {
        throw new ElaborationError(`record field ${name} is ${width} bits, given ${v.width} bits`, v.src);
      }
      return v;
    });
    return cat(...parts);
  }

  /** Each field of a packed record. */
  unpack(e: Expr): Readonly<Record<F, Expr>> {
    if (e.width !== this.width) throw new ElaborationError(`a ${this.width}-bit record was given ${e.width} bits`, e.src);
    const out = {} as Record<F, Expr>;
    for (const [name, width] of this.fields) {
      const lsb = this.lsbs[name];
      out[name] = e.bits(lsb + width - 1, lsb);
    }
    return out;
  }
}
