/**
 * A small first-in first-out queue whose entries start with a context number, and which can say in
 * one cycle whether any entry belongs to a given context. The transmit engine's queues are these, so
 * that a STATUS read learns whether DMA for a context is still in flight (P-12) by asking each queue,
 * in time that grows with the pipeline's depth, not with N_CTX.
 *
 * Storage is asynchronous-read (LUT RAM or flip-flops). The probe is answered in one of two ways,
 * whichever keeps fewer flip-flops (both say the same in every cycle):
 *
 * - `'slots'`: each slot's context number and a valid bit in flip-flops, compared in parallel (a
 *   compare per slot: cheap when there are many contexts and few slots);
 * - `'contexts'`: per context, whether it has an entry queued and the slot of its newest one. Entries
 *   leave in order, so a context's entries are all gone when the slot of its newest one is popped.
 *   A compare of the read pointer per context: cheap when there are fewer contexts than slots.
 */
import { any, bitsFor, defineModule, isPow2, log2Ceil, mux, UInt } from '../../../generator/index.js';
import { countFlags, countNext, dataStreamSpec } from '../../../generator/lib/index.js';
import { txQueueInBlockRam } from './config.js';

export interface ProbeFifoOptions {
  width: number;
  /** A power of two, at least 2. */
  depth: number;
  /** The context number is bits [ctxW-1:0] of each entry. */
  ctxW: number;
  /** How the probe is answered (see above); default: whichever keeps fewer flip-flops. */
  probe?: ProbeTracking;
  /** Where the words are kept (see below); default: `defaultProbeStorage`. */
  storage?: ProbeFifoStorage;
}

/**
 * `'lut'`: LUT RAM (or flip-flops), read asynchronously at the read pointer. `'block'`: block RAM,
 * read synchronously every cycle at the next cycle's read pointer, so the head is in the RAM's output
 * register one edge after each pop, as LUT RAM would show it; a word pushed while it becomes the head
 * (into an empty queue, or one whose last word leaves) is not readable from the RAM yet and comes from
 * a copy of the last pushed word instead. The ports behave alike cycle for cycle; block storage costs
 * a flip-flop per bit (that copy) and the output multiplexer LUT RAM deeper than 16 words has anyway,
 * and saves the LUT RAM: worth it for wide queues of 32 words and more.
 */
export type ProbeFifoStorage = 'lut' | 'block';

/** Block RAM where the TX queue policy (`txQueueInBlockRam`, which counts the copy) says so. */
export function defaultProbeStorage(width: number, depth: number): ProbeFifoStorage {
  return txQueueInBlockRam(width, depth, { keepsCopy: true }) ? 'block' : 'lut';
}

export type ProbeTracking = 'slots' | 'contexts';

/** The default tracking: the one with fewer flip-flops, per context (slot + bit) or per slot (context + bit). */
export function defaultProbeTracking(depth: number, ctxW: number): ProbeTracking {
  return 2 ** ctxW * (log2Ceil(depth) + 1) <= depth * (ctxW + 1) ? 'contexts' : 'slots';
}

export function probeFifo(o: ProbeFifoOptions) {
  const { width, depth, ctxW } = o;
  if (!isPow2(depth) || depth < 2) throw new RangeError(`probeFifo: depth ${depth} must be a power of two >= 2`);
  if (ctxW > width) throw new RangeError(`probeFifo: a ${ctxW}-bit context does not fit ${width}-bit entries`);
  const aw = log2Ceil(depth);
  const tracking = o.probe ?? defaultProbeTracking(depth, ctxW);
  if (tracking !== 'slots' && tracking !== 'contexts')
    throw new RangeError(`probeFifo: probe '${String(tracking)}' is not 'slots' or 'contexts'`);
  const storage = o.storage ?? defaultProbeStorage(width, depth);
  if (storage !== 'lut' && storage !== 'block') throw new RangeError(`probeFifo: storage '${String(storage)}' is not 'lut' or 'block'`);
  return defineModule('tx_probe_fifo', { WIDTH: width, DEPTH: depth, CTX_W: ctxW, PROBE: tracking, STORAGE: storage }, (m) => {
    const input = m.slave('in', dataStreamSpec(width));
    const output = m.master('out', dataStreamSpec(width));
    const probeCtx = m.input('probe_ctx', UInt(ctxW));
    const probeHit = m.output('probe_hit');
    const count = m.output('count', UInt(bitsFor(depth)));

    const mem = m.memory('mem', storage === 'lut' ? { width, depth } : { width, depth, readUnderWrite: 'undefined', ramStyle: 'block' });
    const wr = m.reg('wr_ptr', UInt(aw), { reset: 0 });
    const rd = m.reg('rd_ptr', UInt(aw), { reset: 0 });
    const words = m.reg('words', UInt(bitsFor(depth)), { reset: 0 });

    // Ready and valid in flip-flops, as in syncFifo.
    const push = m.wire('push');
    const pop = m.wire('pop');
    // The push settles last (the producer's go is behind its handshakes): the flags pick by it.
    const flags = countFlags(words, depth, push, pop, 'inc');
    const notFull = m.reg('not_full', undefined, { reset: 1 });
    const notEmpty = m.reg('not_empty', undefined, { reset: 0 });
    notFull.set(flags.full.not());
    notEmpty.set(flags.nonEmpty);
    input.ready.set(notFull);
    output.valid.set(notEmpty);
    count.set(words);
    push.set(input.valid.and(input.ready));
    pop.set(output.valid.and(output.ready));
    if (storage === 'lut') {
      output.data.set(mem.readAsync(rd));
    } else {
      // The RAM is read where the head will be; that slot is being written exactly when the queue
      // holds nothing else after this edge (words == pop), and then the copy is the head.
      const ramWord = mem.read(mux(pop, rd.addWrap(1), rd), { name: 'ram_word' });
      const lastIn = m.reg('last_in', UInt(width));
      const fromLastIn = m.reg('from_last_in', undefined, { reset: 0 });
      m.when(push, () => lastIn.set(input.data));
      fromLastIn.set(push.and(words.eq(pop.resize(words.width))));
      output.data.set(mux(fromLastIn, lastIn, ramWord));
    }
    const inCtx = input.data.bits(ctxW - 1, 0);
    m.when(push, () => {
      mem.write(wr, input.data);
      wr.set(wr.addWrap(1));
    });
    m.when(pop, () => rd.set(rd.addWrap(1)));
    words.set(countNext(words, push, pop, 'inc'));

    if (tracking === 'slots') {
      const slotValid = m.reg('slot_valid', UInt(depth), { reset: 0 });
      const slotCtx = m.reg('slot_ctx', UInt(depth * ctxW), { reset: 0 });
      m.when(push, () => slotCtx.atPart(wr, ctxW).set(inCtx));
      // A push and a pop never name the same slot (the queue is neither empty nor full then).
      m.when(pop, () => slotValid.atIndex(rd).set(0));
      m.when(push, () => slotValid.atIndex(wr).set(1));
      const hits = Array.from({ length: depth }, (_, i) => slotValid.bit(i).and(slotCtx.bits((i + 1) * ctxW - 1, i * ctxW).eq(probeCtx)));
      probeHit.set(any(...hits));
    } else {
      const nc = 2 ** ctxW;
      const queued = m.reg('ctx_queued', UInt(nc), { reset: 0 });
      // Meaningful while the context's queued bit is set: its newest entry is still in its slot then.
      const newest = m.reg('ctx_newest', UInt(nc * aw), { reset: 0 });
      for (let c = 0; c < nc; c++) {
        const drained = pop.and(newest.bits((c + 1) * aw - 1, c * aw).eq(rd));
        // A push for the context in the same cycle wins: its new entry is then the newest.
        m.when(push.and(inCtx.eq(c)), () => queued.at(c).set(1)).elseWhen(drained, () => queued.at(c).set(0));
      }
      m.when(push, () => newest.atPart(inCtx, aw).set(wr));
      probeHit.set(queued.bit(probeCtx));
    }
    return { in: input, out: output, probe_ctx: probeCtx, probe_hit: probeHit, count };
  });
}
