import type { MasterPorts, SlavePorts } from '../dsl/bundle.js';
import { type Expr, lit, mux } from '../dsl/expr.js';
import { defineModule, type ModuleBuilder, type ModuleDef, type RamStyle } from '../dsl/module.js';
import type { OutPort, Reg } from '../dsl/signal.js';
import { bitsFor, isPow2, log2Ceil, UInt } from '../dsl/types.js';
import { requireInt } from './params.js';
import { dataStreamSpec } from './stream.js';

/** Where the FIFO keeps its words: block RAM (synchronous read), or flip-flops / LUT RAM (asynchronous read). */
export type FifoStorage = 'block' | 'flops';

export interface SyncFifoOptions {
  /** Data width in bits. */
  width: number;
  /** Words held, 1..65536 (any number; powers of two need no wrap logic). */
  depth: number;
  /** Default: block RAM from `blockRamMinDepth` words up, flip-flops below. */
  storage?: FifoStorage;
  /**
   * With block storage, `'block'` tells synthesis to use block RAM however shallow the FIFO (yosys keeps
   * up to about 64 words in LUT RAM, plus a flip-flop per bit for the output register, unless told);
   * the RAM's own output register is then the output stage. Default: synthesis chooses.
   */
  ramStyle?: RamStyle;
  /**
   * The producer's valid settles late (behind its own handshakes), so the word count and
   * `in_ready` pick by the push last, one LUT in front of their flip-flops. Default: no such ordering.
   */
  latePush?: boolean;
  /**
   * The consumer's ready settles late: the word counts (and, with block storage, the RAM's fetch
   * count) pick by the pop last. Not with `latePush` (one step can be picked last). Default: off.
   */
  latePop?: boolean;
}

/** The depth from which a FIFO uses block RAM unless told otherwise. */
export const blockRamMinDepth = 32;

type Stream = ReturnType<typeof dataStreamSpec>;

export interface SyncFifoIO {
  in: SlavePorts<Stream>;
  out: MasterPorts<Stream>;
  /** Words in the FIFO (bitsFor(depth) bits). */
  count: OutPort;
}

/**
 * Synchronous first-in first-out queue with valid/ready on both sides. Words are accepted while
 * `count` < depth and offered while the FIFO holds one; a word can enter and another leave on the same
 * edge, so it sustains one word per cycle. `in_ready` and `out_valid` are flip-flops (`countFlags`): no
 * combinational path crosses from one side to the other except `out_ready` into the block RAM's read
 * enable.
 *
 * Flip-flop storage reads asynchronously: a word pushed into an empty FIFO is offered on the next
 * cycle. Block RAM storage reads synchronously into the RAM's output register, which serves as the
 * output stage: the next word is fetched whenever that register is empty or being emptied, so the
 * output has no bubbles; a word pushed into an empty FIFO is offered two cycles later.
 */
export function syncFifo(opts: SyncFifoOptions): ModuleDef<SyncFifoIO> {
  requireInt('syncFifo', 'width', opts.width, 1, 65536);
  requireInt('syncFifo', 'depth', opts.depth, 1, 65536);
  if (opts.storage !== undefined && opts.storage !== 'block' && opts.storage !== 'flops') {
    throw new RangeError(`syncFifo: storage = '${String(opts.storage)}' is not allowed; use 'block' or 'flops'`);
  }
  if (opts.ramStyle !== undefined && opts.ramStyle !== 'block' && opts.ramStyle !== 'distributed') {
    throw new RangeError(`syncFifo: ramStyle = '${String(opts.ramStyle)}' is not allowed; use 'block' or 'distributed'`);
  }
  const { width, depth, ramStyle } = opts;
  const storage = opts.storage ?? (depth >= blockRamMinDepth ? 'block' : 'flops');
  if (ramStyle === 'block' && storage !== 'block') throw new RangeError("syncFifo: ramStyle 'block' needs storage 'block'");
  // RAM_STYLE only when given, so that every other FIFO keeps its module name.
  const params: Record<string, string | number> = { WIDTH: width, DEPTH: depth, STORAGE: storage };
  if (ramStyle) params.RAM_STYLE = ramStyle;
  if (opts.latePush && opts.latePop)
    throw new RangeError('syncFifo: latePush and latePop exclude each other; pick the step that settles last');
  if (opts.latePush) params.LATE_PUSH = 1;
  if (opts.latePop) params.LATE_POP = 1;
  return defineModule('sync_fifo', params, (m) => {
    const input = m.slave('in', dataStreamSpec(width));
    const output = m.master('out', dataStreamSpec(width));
    const count = m.output('count', UInt(bitsFor(depth)));
    // A word is read only once written and its slot is rewritten only after it was read (count <= depth),
    // so no read meets a write to its address: synthesis needs no bypass logic around the RAM.
    const mem = m.memory('mem', { width, depth, readUnderWrite: 'undefined', ...(ramStyle ? { ramStyle } : {}) });
    const words = m.reg('words', UInt(bitsFor(depth)), { reset: 0 });
    count.set(words);
    const push = m.wire('push');
    const pop = m.wire('pop');
    const late = opts.latePush ? 'inc' : opts.latePop ? 'dec' : undefined;
    const flags = countFlags(words, depth, push, pop, late);
    const notFull = m.reg('not_full', undefined, { reset: 1 });
    notFull.set(flags.full.not());
    input.ready.set(notFull);
    push.set(input.valid.and(input.ready));
    pop.set(output.valid.and(output.ready));
    const wrPtr = pointer(m, 'wr_ptr', depth, push);
    m.when(push, () => mem.write(wrPtr, input.data));
    words.set(countNext(words, push, pop, late));

    if (storage === 'flops') {
      const rdPtr = pointer(m, 'rd_ptr', depth, pop);
      const notEmpty = m.reg('not_empty', undefined, { reset: 0 });
      notEmpty.set(flags.nonEmpty);
      output.valid.set(notEmpty);
      output.data.set(mem.readAsync(rdPtr));
    } else {
      // Words in the RAM that have not been fetched into its output register yet.
      const stored = m.reg('stored', UInt(bitsFor(depth)), { reset: 0 });
      const outValid = m.reg('out_valid_q', undefined, { reset: 0 });
      const anyStored = m.reg('any_stored', undefined, { reset: 0 });
      const fetch = m.named('fetch', anyStored.and(outValid.not().or(output.ready)));
      // The fetch follows the pop (out_ready), so with latePop it is the step picked last here.
      const fetchLate = opts.latePop ? 'dec' : undefined;
      anyStored.set(countFlags(stored, depth, push, fetch, fetchLate).nonEmpty);
      const rdPtr = pointer(m, 'rd_ptr', depth, fetch);
      output.valid.set(outValid);
      output.data.set(mem.read(rdPtr, { enable: fetch, name: 'out_word' }));
      m.when(fetch, () => outValid.set(1)).elseWhen(pop, () => outValid.set(0));
      stored.set(countNext(stored, push, fetch, fetchLate));
    }
    return { in: input, out: output, count };
  });
}

/**
 * What a word count that steps by +1 on `inc` and -1 on `dec` (never past 0 or `depth`) will say after
 * this edge: that it is `depth`, and that it is not 0. From compares of the count and the steps, so a
 * queue keeps its ready and valid in flip-flops: whoever waits on them starts at a register, and the
 * count's compares are off their paths. `late` names a step to pick by last (see below).
 */
export function countFlags(count: Expr, depth: number, inc: Expr, dec: Expr, late?: 'inc' | 'dec'): { full: Expr; nonEmpty: Expr } {
  // A step that settles late (a handshake behind deep logic) is picked last, by one LUT in front of
  // the flip-flop: both outcomes are worked out from the count and the other step meanwhile.
  if (late !== undefined) {
    const one = lit(1, 1);
    const zero = lit(0, 1);
    const sel = late === 'inc' ? inc : dec;
    const on = late === 'inc' ? countFlags(count, depth, one, dec) : countFlags(count, depth, inc, one);
    const off = late === 'inc' ? countFlags(count, depth, zero, dec) : countFlags(count, depth, inc, zero);
    return { full: mux(sel, on.full, off.full), nonEmpty: mux(sel, on.nonEmpty, off.nonEmpty) };
  }
  const grows = inc.and(dec.not());
  const full = count
    .eq(depth)
    .and(dec.not())
    .or(count.eq(depth - 1).and(grows));
  const stays = count.eq(1).and(dec.not());
  const nonEmpty = inc.or(depth > 1 ? count.gt(1).or(stays) : stays);
  return { full, nonEmpty };
}

/** A RAM address that steps by one (wrapping at depth) on each edge where `step` holds. */
function pointer(m: ModuleBuilder, name: string, depth: number, step: Expr): Expr {
  if (depth === 1) return lit(0, 1);
  const ptr: Reg = m.reg(name, UInt(log2Ceil(depth)), { reset: 0 });
  const next = isPow2(depth) ? ptr.addWrap(1) : mux(ptr.eq(depth - 1), 0, ptr.addWrap(1));
  m.when(step, () => ptr.set(next));
  return ptr;
}

/** The count after this edge; with `late`, picked last by that step (as in countFlags). */
export function countNext(count: Expr, inc: Expr, dec: Expr, late?: 'inc' | 'dec'): Expr {
  const up = count.addWrap(1);
  const down = count.subWrap(1);
  if (late === 'dec') return mux(dec, mux(inc, count, down), mux(inc, up, count));
  if (late === 'inc') return mux(inc, mux(dec, count, up), mux(dec, down, count));
  return mux(inc.and(dec.not()), up, mux(dec.and(inc.not()), down, count));
}
