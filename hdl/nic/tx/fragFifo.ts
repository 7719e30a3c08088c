/**
 * The queue of a frame's buffer fragments (address, length) between the sequence check and the
 * payload reads. Fragments are pushed tentatively while a frame's descriptors are checked; `commit`
 * publishes them when its last descriptor (EOP) matched, `rollback` drops them when the frame is
 * abandoned (a descriptor of it failed the check), so no byte of a frame is read before all of its
 * descriptors passed. The reader sees committed entries only, through a register (one entry more than
 * `depth` may be queued, and an entry is visible two cycles after its commit).
 */
import { defineModule, isPow2, log2Ceil, mux, UInt } from '../../../generator/index.js';
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

    const mem = m.memory('mem', { width, depth });
    // Pointers carry one extra bit so that full and empty differ.
    const wr = m.reg('wr_ptr', UInt(aw + 1), { reset: 0 });
    const wc = m.reg('commit_ptr', UInt(aw + 1), { reset: 0 });
    const rd = m.reg('rd_ptr', UInt(aw + 1), { reset: 0 });
    const inUse = m.named('in_use', wr.subWrap(rd));
    // Full (in_use = DEPTH) is kept in a flip-flop, worked out from this cycle's push, read and rollback
    // over compares of registers: the check's decisions that wait on `in.ready` then start at a
    // flip-flop instead of behind the pointers' subtract (docs/tx-engine.md, Timing).
    const full = m.reg('full', undefined, { reset: 0 });
    input.ready.set(full.not());
    // The oldest committed entry waits in a register (`head`), read from the memory as soon as the
    // register is free, so the reader's burst plan starts at flip-flops, not behind the LUT-RAM read
    // (10 LUT levels in the flat NIC). It holds committed entries only; a rollback never reaches it.
    const headValid = m.reg('head_valid', undefined, { reset: 0 });
    const head = m.reg('head', UInt(width), { reset: 0 });
    output.valid.set(headValid);
    output.data.set(head);
    const push = m.named('push', input.valid.and(input.ready));
    const load = m.named('load', rd.ne(wc).and(headValid.not().or(output.ready)));
    headValid.set(load.or(headValid.and(output.ready.not())));
    m.when(load, () => head.set(mem.readAsync(rd.bits(aw - 1, 0))));
    const atDepth = inUse.eq(depth);
    const oneShort = inUse.eq(depth - 1);
    const committedFull = wc.subWrap(rd).eq(depth);
    full.set(load.not().and(mux(rollback, committedFull, atDepth.or(oneShort.and(push)))));
    const wrNext = m.named('wr_next', wr.addWrap(1));
    m.when(push, () => {
      mem.write(wr.bits(aw - 1, 0), input.data);
      wr.set(wrNext);
    });
    m.when(commit, () => wc.set(mux(push, wrNext, wr)));
    // A rollback wins over a push in the same cycle: the frame being abandoned owns every tentative entry.
    m.when(rollback, () => wr.set(wc));
    m.when(load, () => rd.set(rd.addWrap(1)));
    return { in: input, commit, rollback, out: output };
  });
}
