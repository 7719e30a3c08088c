/**
 * A short first-in first-out queue, built inside the calling module so that its push, data and pop
 * can be driven from inside `when` blocks of that module (several places may push or pop under their
 * own conditions, unlike an instance's ports, which each take one driver).
 *
 * The entries are a memory with one write port and one asynchronous read at the head, which yosys
 * maps to distributed RAM (on ECP5 a TRELLIS_DPR16X4 holds 16 entries of 4 bits in 4 LUT sites);
 * only the pointers, the count and the full and valid flags are flip-flops. The memory starts at
 * zero (initial contents), so the head of a queue never pushed since power-up, which drives ports
 * (AXI addresses), is never X; a reset keeps the words, which are all values once written.
 */
import { Bool, type Expr, type ModuleBuilder, mux, UInt, type Wire } from '../../../generator/index.js';
import { countFlags, countNext } from '../../../generator/lib/index.js';

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

export function flopQueue(
  m: ModuleBuilder,
  name: string,
  width: number,
  depth: number,
  opts: {
    /**
     * Keep the head in a register, loaded from the entry behind it (or from the word pushed) at each
     * pop: the head then comes from flip-flops, not through the LUT RAM's read multiplexers. Costs a
     * flip-flop per bit: for narrow queues whose head is in front of deep decisions.
     */
    registeredHead?: boolean;
  } = {},
): FlopQueue {
  if (!Number.isInteger(depth) || depth < 2 || (depth & (depth - 1)) !== 0) {
    throw new RangeError(`flopQueue ${name}: depth ${depth} must be a power of two >= 2`);
  }
  const aw = Math.round(Math.log2(depth));
  const push = m.wire(`${name}_push`, undefined, { init: 0 });
  const pushData = m.wire(`${name}_push_data`, UInt(width), { init: 0 });
  const pop = m.wire(`${name}_pop`, undefined, { init: 0 });
  const entries = m.memory(`${name}_q`, { width, depth, init: Array.from({ length: depth }, () => 0) });
  const wr = m.reg(`${name}_wr`, UInt(aw), { reset: 0 });
  const rd = m.reg(`${name}_rd`, UInt(aw), { reset: 0 });
  const count = m.reg(`${name}_count`, UInt(aw + 1), { reset: 0 });
  // Full and valid in flip-flops, worked out from the count's next value (as syncFifo's ready and
  // valid): decoded from the count they were two LUT levels in front of every push and pop decision.
  const full = m.reg(`${name}_full`, Bool, { reset: 0 });
  const valid = m.reg(`${name}_valid`, Bool, { reset: 0 });
  const doPush = m.named(`${name}_do_push`, push.and(full.not()));
  const doPop = m.named(`${name}_do_pop`, pop.and(valid));
  m.when(doPush, () => {
    entries.write(wr, pushData);
    wr.set(wr.addWrap(1));
  });
  m.when(doPop, () => rd.set(rd.addWrap(1)));
  // The pop settles last (consumers decide it behind their own logic): the count and flags pick by it.
  count.set(countNext(count, doPush, doPop, 'dec'));
  const flags = countFlags(count, depth, doPush, doPop, 'dec');
  full.set(flags.full);
  valid.set(flags.nonEmpty);
  // (Also what lets an induction proof of a block with these queues rule out flags that disagree.)
  m.assert(full.eq(count.eq(depth)).and(valid.eq(count.ne(0))), `${name}: the full and valid flags follow the count`);
  const atRd = entries.readAsync(rd);
  let head: Expr = m.named(`${name}_head`, atRd);
  if (opts.registeredHead) {
    const headQ = m.reg(`${name}_head_q`, UInt(width), { reset: 0 });
    const behind = entries.readAsync(rd.addWrap(1));
    // After a pop the head is the entry behind, or the word pushed now when that was the only one.
    m.when(doPop, () => headQ.set(mux(count.eq(1), pushData, behind))).elseWhen(count.eq(0), () => headQ.set(pushData));
    m.assert(valid.not().or(headQ.eq(atRd)), `${name}: the registered head is the entry at the read pointer`);
    head = headQ;
  }
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
