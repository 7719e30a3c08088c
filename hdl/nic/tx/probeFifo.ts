/**
 * A small first-in first-out queue whose entries start with a context number, and which can say in
 * one cycle whether any entry belongs to a given context. The transmit engine's queues are these, so
 * that a STATUS read learns whether DMA for a context is still in flight (P-12) by asking each queue,
 * in time that grows with the pipeline's depth, not with N_CTX.
 *
 * Storage is asynchronous-read (LUT RAM or flip-flops); the context numbers are also kept in
 * flip-flops, with a valid bit per slot, for the parallel compare.
 */
import { any, bitsFor, defineModule, isPow2, log2Ceil, UInt } from '../../../generator/index.js';
import { dataStreamSpec } from '../../../generator/lib/index.js';

export interface ProbeFifoOptions {
  width: number;
  /** A power of two, at least 2. */
  depth: number;
  /** The context number is bits [ctxW-1:0] of each entry. */
  ctxW: number;
}

export function probeFifo(o: ProbeFifoOptions) {
  const { width, depth, ctxW } = o;
  if (!isPow2(depth) || depth < 2) throw new RangeError(`probeFifo: depth ${depth} must be a power of two >= 2`);
  if (ctxW > width) throw new RangeError(`probeFifo: a ${ctxW}-bit context does not fit ${width}-bit entries`);
  const aw = log2Ceil(depth);
  return defineModule('tx_probe_fifo', { WIDTH: width, DEPTH: depth, CTX_W: ctxW }, (m) => {
    const input = m.slave('in', dataStreamSpec(width));
    const output = m.master('out', dataStreamSpec(width));
    const probeCtx = m.input('probe_ctx', UInt(ctxW));
    const probeHit = m.output('probe_hit');
    const count = m.output('count', UInt(bitsFor(depth)));

    const mem = m.memory('mem', { width, depth });
    const wr = m.reg('wr_ptr', UInt(aw), { reset: 0 });
    const rd = m.reg('rd_ptr', UInt(aw), { reset: 0 });
    const words = m.reg('words', UInt(bitsFor(depth)), { reset: 0 });
    const slotValid = m.reg('slot_valid', UInt(depth), { reset: 0 });
    const slotCtx = m.reg('slot_ctx', UInt(depth * ctxW), { reset: 0 });

    input.ready.set(words.ne(depth));
    output.valid.set(words.ne(0));
    output.data.set(mem.readAsync(rd));
    count.set(words);
    const push = m.named('push', input.valid.and(input.ready));
    const pop = m.named('pop', output.valid.and(output.ready));
    m.when(push, () => {
      mem.write(wr, input.data);
      wr.set(wr.addWrap(1));
      slotCtx.atPart(wr, ctxW).set(input.data.bits(ctxW - 1, 0));
    });
    m.when(pop, () => rd.set(rd.addWrap(1)));
    m.when(push.and(pop.not()), () => words.set(words.addWrap(1))).elseWhen(pop.and(push.not()), () => words.set(words.subWrap(1)));
    // A push and a pop never name the same slot (the queue is neither empty nor full then).
    m.when(pop, () => slotValid.atIndex(rd).set(0));
    m.when(push, () => slotValid.atIndex(wr).set(1));

    const hits = Array.from({ length: depth }, (_, i) => slotValid.bit(i).and(slotCtx.bits((i + 1) * ctxW - 1, i * ctxW).eq(probeCtx)));
    probeHit.set(any(...hits));
    return { in: input, out: output, probe_ctx: probeCtx, probe_hit: probeHit, count };
  });
}
