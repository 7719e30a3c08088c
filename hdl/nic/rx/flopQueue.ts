/**
 * A short first-in first-out queue in flip-flops, built inside the calling module so that its push,
 * data and pop can be driven from inside `when` blocks of that module (several places may push or
 * pop under their own conditions, unlike an instance's ports, which each take one driver).
 */
import { type Expr, type ModuleBuilder, select, UInt, type Wire } from '../../../generator/index.js';

export interface FlopQueue {
  /** Drive high to push `pushData` (ignored while full). */
  readonly push: Wire;
  readonly pushData: Wire;
  /** Drive high to drop the head (ignored while empty). */
  readonly pop: Wire;
  readonly full: Expr;
  /** Some entry is queued. */
  readonly valid: Expr;
  /** The oldest entry. */
  readonly head: Expr;
  /** Entries queued. */
  readonly count: Expr;
}

export function flopQueue(m: ModuleBuilder, name: string, width: number, depth: number): FlopQueue {
  if (!Number.isInteger(depth) || depth < 2 || (depth & (depth - 1)) !== 0) {
    throw new RangeError(`flopQueue ${name}: depth ${depth} must be a power of two >= 2`);
  }
  const aw = Math.round(Math.log2(depth));
  const push = m.wire(`${name}_push`, undefined, { init: 0 });
  const pushData = m.wire(`${name}_push_data`, UInt(width), { init: 0 });
  const pop = m.wire(`${name}_pop`, undefined, { init: 0 });
  // Reset, so that the head of an empty queue, which drives ports (AXI addresses), is never X.
  const entries = Array.from({ length: depth }, (_, i) => m.reg(`${name}_e${i}`, UInt(width), { reset: 0 }));
  const wr = m.reg(`${name}_wr`, UInt(aw), { reset: 0 });
  const rd = m.reg(`${name}_rd`, UInt(aw), { reset: 0 });
  const count = m.reg(`${name}_count`, UInt(aw + 1), { reset: 0 });
  const full = m.named(`${name}_full`, count.eq(depth));
  const valid = m.named(`${name}_valid`, count.ne(0));
  const doPush = m.named(`${name}_do_push`, push.and(full.not()));
  const doPop = m.named(`${name}_do_pop`, pop.and(valid));
  entries.forEach((e, i) => {
    m.when(doPush.and(wr.eq(i)), () => e.set(pushData));
  });
  m.when(doPush, () => wr.set(wr.addWrap(1)));
  m.when(doPop, () => rd.set(rd.addWrap(1)));
  m.when(doPush.and(doPop.not()), () => count.set(count.addWrap(1))).elseWhen(doPop.and(doPush.not()), () => count.set(count.subWrap(1)));
  const head = m.named(`${name}_head`, select(rd, entries));
  return {
    push,
    pushData,
    pop,
    full,
    valid,
    head,
    count,
  };
}
