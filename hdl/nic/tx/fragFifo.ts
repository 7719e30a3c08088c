/**
 * The queue of a frame's buffer fragments (address, length) between the sequence check and the
 * payload reads. Fragments are pushed tentatively while a frame's descriptors are checked; `commit`
 * publishes them when its last descriptor (EOP) matched, `rollback` drops them when the frame is
 * abandoned (a descriptor of it failed the check), so no byte of a frame is read before all of its
 * descriptors passed. The reader sees committed entries only.
 */
import { bitsFor, defineModule, isPow2, log2Ceil, mux, UInt } from '../../../generator/index.js';
import { dataStreamSpec } from '../../../generator/lib/index.js';

export interface FragFifoOptions {
  width: number;
  /** A power of two, at least 2. */
  depth: number;
}

export function fragFifo(o: FragFifoOptions) {
  const { width, depth } = o;
  if (!isPow2(depth) || depth < 2) throw new RangeError(`fragFifo: depth ${depth} must be a power of two >= 2`);
  const aw = log2Ceil(depth);
  return defineModule('tx_frag_fifo', { WIDTH: width, DEPTH: depth }, (m) => {
    const input = m.slave('in', dataStreamSpec(width));
    const commit = m.input('commit');
    const rollback = m.input('rollback');
    const output = m.master('out', dataStreamSpec(width));
    const used = m.output('used', UInt(bitsFor(depth)));

    const mem = m.memory('mem', { width, depth });
    // Pointers carry one extra bit so that full and empty differ.
    const wr = m.reg('wr_ptr', UInt(aw + 1), { reset: 0 });
    const wc = m.reg('commit_ptr', UInt(aw + 1), { reset: 0 });
    const rd = m.reg('rd_ptr', UInt(aw + 1), { reset: 0 });
    const inUse = m.named('in_use', wr.subWrap(rd));
    used.set(inUse);
    // Full (in_use = DEPTH) is kept in a flip-flop, worked out from this cycle's push, pop and rollback
    // over compares of registers: the check's decisions that wait on `in.ready` then start at a
    // flip-flop instead of behind the pointers' subtract (docs/tx-engine.md, Timing).
    const full = m.reg('full', undefined, { reset: 0 });
    input.ready.set(full.not());
    output.valid.set(rd.ne(wc));
    output.data.set(mem.readAsync(rd.bits(aw - 1, 0)));
    const push = m.named('push', input.valid.and(input.ready));
    const pop = m.named('pop', output.valid.and(output.ready));
    const atDepth = inUse.eq(depth);
    const oneShort = inUse.eq(depth - 1);
    const committedFull = wc.subWrap(rd).eq(depth);
    full.set(pop.not().and(mux(rollback, committedFull, atDepth.or(oneShort.and(push)))));
    const wrNext = m.named('wr_next', wr.addWrap(1));
    m.when(push, () => {
      mem.write(wr.bits(aw - 1, 0), input.data);
      wr.set(wrNext);
    });
    m.when(commit, () => wc.set(mux(push, wrNext, wr)));
    // A rollback wins over a push in the same cycle: the frame being abandoned owns every tentative entry.
    m.when(rollback, () => wr.set(wc));
    m.when(pop, () => rd.set(rd.addWrap(1)));
    return { in: input, commit, rollback, out: output, used };
  });
}
