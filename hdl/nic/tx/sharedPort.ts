/**
 * One write port (of a memory, a queue or an output) shared by several stages with fixed priority: the
 * first requester registered wins. A stage asks `free()` before it commits to using the port in a
 * cycle, then `request()`s it; `result()` gives the muxed port for the single write at the end. A
 * block RAM keeps one write port this way, whoever writes it.
 */
import { any, type Expr, lit, type ModuleBuilder, mux } from '../../../generator/index.js';

export class SharedPort<F extends string> {
  private readonly reqs: { who: string; en: Expr; select: Expr; values: Readonly<Record<F, Expr>> }[] = [];

  constructor(
    private readonly m: ModuleBuilder,
    readonly name: string,
    private readonly fields: readonly F[],
  ) {}

  /** True when no requester registered so far uses the port in this cycle. */
  free(): Expr {
    return this.reqs.length === 0 ? lit(1, 1) : any(...this.reqs.map((r) => r.en)).not();
  }

  /**
   * True when no requester registered so far but `who` uses the port: for a later requester that
   * keeps `who` off the port itself while it waits (so it need not wait on `who`'s decision).
   */
  freeExcept(who: string): Expr {
    const others = this.reqs.filter((r) => r.who !== who);
    if (others.length === this.reqs.length) throw new RangeError(`shared port ${this.name}: no requester ${who}`);
    return others.length === 0 ? lit(1, 1) : any(...others.map((r) => r.en)).not();
  }

  /**
   * Uses the port when `en` holds and no earlier requester does; returns that grant. `select`, when
   * given, picks this requester's values in the port's data mux instead of `en`: a shallower signal
   * that holds whenever `en` does and never while a later requester writes (so a late decision drives
   * only the write enable, not the data).
   */
  request(who: string, en: Expr, values: Readonly<Record<F, Expr>>, select: Expr = en): Expr {
    const granted = this.m.named(`${this.name}_gnt_${who}`, this.free().and(en));
    this.reqs.push({ who, en, select, values });
    return granted;
  }

  /** The port as written: `valid`, and each field from the highest-priority requester. */
  result(): { valid: Expr; values: Readonly<Record<F, Expr>> } {
    if (this.reqs.length === 0) throw new RangeError(`shared port ${this.name} has no requester`);
    const valid = this.m.named(`${this.name}_valid`, any(...this.reqs.map((r) => r.en)));
    const values = {} as Record<F, Expr>;
    for (const f of this.fields) {
      let v = (this.reqs[this.reqs.length - 1] as { values: Readonly<Record<F, Expr>> }).values[f];
      for (let i = this.reqs.length - 2; i >= 0; i--) {
        const r = this.reqs[i] as { select: Expr; values: Readonly<Record<F, Expr>> };
        v = mux(r.select, r.values[f], v);
      }
      values[f] = this.m.named(`${this.name}_${f}`, v);
    }
    return { valid, values };
  }
}
