/**
 * The TX sequence check (check.ts) alone, for the V-1 proof (spec section 14, docs/formal.md): the TX
 * engine never reads a payload for a descriptor whose seq is not the context's expected seq.
 *
 * Payload reads take only committed entries of the fragment queue (fragFifo.ts), and the check is the
 * only stage that pushes and commits them, so the property is proven where fragments are decided: each
 * descriptor the check accepts (the first of a frame, and each next one of it) carries the context's
 * expected seq plus its position in the frame, read from TX_EXP_SEQ in the cycle of the decision.
 *
 * Free here: the descriptor fetches in flight (what the fetcher asked for, in any order and for any
 * seq) and the fetched descriptors (any content, any error), the continuation read's grant and data,
 * EN/QUIESCE, the context bits, queue back-pressure, and TX_EXP_SEQ writes by the register block
 * (C-6: only while the context is disabled; lowest priority on the port, as in the engine). The
 * context memories that the check uses (TX_EXP_SEQ and the next-to-fetch seq) are the engine's, with
 * any initial contents.
 */
import { Bool, cat, defineModule, type Expr, lit, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
import { syncFifo } from '../../../generator/lib/syncFifo.js';
import type { NicParams } from '../../params.js';
import { nicWidths } from '../interfaces.js';
import { type CheckMutation, type CounterEventField, sequenceCheck } from './check.js';
import { txConfig } from './config.js';
import type { CtxMemory } from './contextMemory.js';
import { fragFifo } from './fragFifo.js';
import { txLayouts } from './layouts.js';
import type { ContextBits, Flags } from './scheduler.js';
import { SharedPort } from './sharedPort.js';

/** Options of the check's surroundings in a proof module. */
export interface CheckHarnessOptions {
  mutation?: CheckMutation;
  /** Depth of the fragment queue (a power of two, at least 2). */
  fragDepth: number;
}

/**
 * The sequence check inside a proof module: its inputs free (fetches in flight, fetched descriptors,
 * the continuation read, EN/QUIESCE, the other stages' context bits, queue back-pressure), its queues
 * one entry deep in flops, the context memories it uses with any initial contents, and TX_EXP_SEQ
 * (with the next-to-fetch seq) written by the register block whenever it is disabled. What a proof
 * assumes about those writes is up to it (`reg`).
 */
export function checkHarness(m: ModuleBuilder, p: NicParams, opts: CheckHarnessOptions) {
  const w = nicWidths(p);
  const cfg = txConfig(p, w);
  const lay = txLayouts(cfg);
  const n = cfg.nCtx;
  const flags: Flags = {
    en: m.input('ctx_en', UInt(n)),
    quiesce: m.input('ctx_quiesce', UInt(n)),
    spoofchk: m.input('ctx_spoofchk', UInt(n)),
  };
  const mem = (name: string): CtxMemory => ({
    mem: m.memory(name, { width: cfg.iseqW, depth: n }),
    port: new SharedPort(m, `${name}_wr`, ['addr', 'data', 'mask']),
    lanes: 1,
  });
  const exp = mem('exp_mem');
  const fetchSeq = mem('fseq_mem');
  const bits: ContextBits = {
    active: m.reg('ctx_active', UInt(n), { reset: 0 }),
    probing: m.reg('ctx_probing', UInt(n), { reset: (1 << n) - 1 }),
    probeWait: m.reg('ctx_probe_wait', UInt(n), { reset: 0 }),
    rearm: m.reg('ctx_rearm', UInt(n), { reset: 0 }),
    queued: m.reg('ctx_queued', UInt(n), { reset: 0 }),
  };
  // The other stages (fetcher, doorbells) change these bits at will: a free next value, which the
  // check's own updates override bit by bit.
  for (const [name, r] of Object.entries(bits)) r.set(m.input(`${name}_next`, UInt(n)));
  // Queues of depth 1 in flops: the check's safety does not depend on their depth, and their inputs are free.
  const queue = (name: string, width: number) => m.instance(name, syncFifo({ width, depth: 1, storage: 'flops' })).io;
  const metaQ = queue('u_meta_q', lay.meta.width);
  metaQ.in.valid.set(m.input('meta_valid'));
  const metaInData = m.input('meta_data', UInt(lay.meta.width));
  // One descriptor per fetch here (batched reads, n > 0, and the descriptor cache are not part of this proof).
  metaQ.in.data.set(lay.meta.pack({ ...lay.meta.unpack(metaInData), n: lit(0, 2), take: lit(1, 3), cached: lit(0, 1) }));
  const descQ = queue('u_desc_q', lay.desc.width);
  descQ.in.valid.set(m.input('desc_valid'));
  descQ.in.data.set(m.input('desc_data', UInt(lay.desc.width)));
  const frameQ = queue('u_frame_q', lay.frame.width);
  const fragQ = m.instance('u_frag_q', fragFifo({ width: lay.frag.width, depth: opts.fragDepth })).io;
  const cont = {
    valid: m.wire('cont_valid', Bool),
    addr: m.wire('cont_addr', UInt(64)),
    len: m.wire('cont_len', UInt(8)),
    grant: m.input('cont_grant'),
  };
  const contTake = m.wire('cont_take', Bool);
  // The continuation read's result is a register in dmaRead.ts: it holds until the check takes it
  // (the check decides on it a cycle after it came, from registered compares).
  const contValidIn = m.input('cont_data_valid');
  const contDataIn = m.input('cont_data', UInt(lay.desc.width));
  const contHeld = m.ghost('f_cont_held', UInt(1), { reset: 0, next: () => contValidIn.and(contTake.not()) });
  const contPrev = m.ghost('f_cont_prev', UInt(lay.desc.width), { reset: 0, next: () => contDataIn });
  m.assume(contHeld.not().or(contValidIn.and(contDataIn.eq(contPrev))), 'the continuation read result holds until the check takes it');
  const counters = new SharedPort<CounterEventField>(m, 'cnt_ev', ['ctx', 'miss', 'sent', 'bytes', 'oversize', 'spoofed', 'dmaErr']);

  const chk = sequenceCheck(
    m,
    cfg,
    lay,
    {
      flags,
      mems: { exp, fetchSeq },
      sched: { bits },
      dma: {
        descFifo: descQ,
        cont,
        contValid: contValidIn,
        contData: contDataIn,
        contTake,
      },
      metaOut: metaQ.out,
      frags: fragQ,
      frameIn: frameQ.in,
      counters,
      probeCtx: m.input('probe_ctx', UInt(cfg.ctxW)),
    },
    opts.mutation ? { mutation: opts.mutation } : {},
  );

  // TX_EXP_SEQ (and the next-to-fetch seq) written by the register block: only while disabled (C-6).
  const reg = {
    valid: m.input('reg_exp_valid'),
    ctx: m.input('reg_exp_ctx', UInt(cfg.ctxW)),
    data: m.input('reg_exp_data', UInt(cfg.iseqW)),
  };
  const hvWrite = reg.valid.and(flags.en.bit(reg.ctx).not());
  for (const cm of [exp, fetchSeq]) {
    cm.port.request('reg', hvWrite, { addr: reg.ctx, data: reg.data, mask: lit(1, 1) });
    const { valid, values } = cm.port.result();
    m.when(valid, () => cm.mem.write(values.addr, values.data));
  }
  m.assume(cont.grant.not().or(cont.valid), 'the continuation read is granted only when asked for');
  return { cfg, lay, flags, exp, bits, metaQ, metaInData, frameQ, fragQ, cont, contTake, counters, chk, reg };
}

export function checkProof(p: NicParams, opts: { mutation?: CheckMutation } = {}) {
  const n = p.N_CTX;
  const mutation = opts.mutation;
  return defineModule('tx_check_proof', { N_CTX: n, ...(mutation ? { MUTATION: mutation } : {}) }, (m) => {
    const h = checkHarness(m, p, { ...(mutation ? { mutation } : {}), fragDepth: 2 });
    const { cfg, lay, flags, exp, bits, metaQ, metaInData, frameQ, cont, contTake, counters, chk } = h;
    const frags = h.fragQ;
    frameQ.out.ready.set(m.input('frame_ready'));
    frags.out.ready.set(m.input('frag_ready'));
    const hvValid = h.reg.valid;
    const hvCtx = h.reg.ctx;
    // Fetches of each context in flight towards the check (pushed into the meta queue, not yet
    // decided): with the frame being assembled, what QUIESCED waits for on this path (P-12).
    const metaIn = metaQ.in;
    const pushCtx = lay.meta.unpack(metaInData).ctx;
    const popCtx = lay.meta.unpack(metaQ.out.data).ctx;
    const pushed = metaIn.valid.and(metaIn.ready);
    const popped = metaQ.out.valid.and(metaQ.out.ready);
    const inFlight = Array.from({ length: n }, (_, j) =>
      m.ghost(`f_in_flight${j}`, UInt(3), {
        reset: 0,
        next: (s) => {
          const up = pushed.and(pushCtx.eq(j));
          const down = popped.and(popCtx.eq(j));
          return mux(up.and(down.not()), s.addWrap(1), mux(down.and(up.not()), s.subWrap(1), s));
        },
      }),
    );
    const quiet = (ctx: Expr): Expr =>
      cat(...inFlight.map((c, j) => c.eq(0).or(ctx.ne(j))))
        .andR()
        .and(chk.formal.assembling.and(chk.formal.fCtx.eq(ctx)).not());
    m.assume(
      hvValid.not().or(quiet(hvCtx)),
      'V-1: TX_EXP_SEQ is rewritten only once the context is quiesced: no fetch of it in flight, no frame of it being assembled (teardown, P-12)',
    );
    const cnt = counters.result();
    const outs: [string, Expr][] = [
      ['cont_valid_out', cont.valid],
      ['cont_addr_out', cont.addr],
      ['cont_len_out', cont.len],
      ['cont_take_out', contTake],
      ['fetch_seq_en', chk.fetchSeqWrite.en],
      ['deciding', chk.deciding],
      ['probe_hit', chk.probeHit],
      ['cnt_valid', cnt.valid],
      ['cnt_ctx', cnt.values.ctx],
      ['frag_out_valid', frags.out.valid],
      ['frag_out_data', frags.out.data],
      ['frame_out_valid', frameQ.out.valid],
      ['frame_out_data', frameQ.out.data],
      ['active', bits.active],
      ['probing', bits.probing],
    ];
    for (const [name, e] of outs) m.output(name, e.type).set(e);

    // ---- V-1 ----
    const f = chk.formal;
    const expNow = (ctx: Expr): Expr => exp.mem.readAsync(ctx);
    const seq32 = (s: Expr): Expr => s.trunc(cfg.seqW).resize(32);
    m.when(f.accept, () => {
      m.assert(f.seq.eq(expNow(f.ctx)), "V-1: a frame's first descriptor is taken only for the context's expected seq");
      m.assert(f.headSeq.eq(seq32(expNow(f.ctx))), "V-1: a taken first descriptor carries the context's expected seq");
    });
    const expected = expNow(f.fCtx).addWrap(f.fN.resize(cfg.iseqW));
    m.when(f.contAccept, () =>
      m.assert(f.nextSeq.eq(seq32(expected)), "V-1: a frame's next descriptor carries the context's expected seq plus its position"),
    );
    // Invariants that make the proof inductive: the frame being assembled starts at the expected seq.
    m.when(f.assembling, () => {
      m.assert(f.fFirst.eq(expNow(f.fCtx)), 'V-1 (invariant): the frame being assembled starts at the expected seq');
      m.assert(f.fNext.eq(expected), 'V-1 (invariant): the next descriptor of the frame is the expected seq plus its position');
    });
    m.cover(f.contAccept.and(f.fN.eq(1)), "V-1: a frame's second descriptor is taken");
    m.cover(f.accept.and(flags.en.bit(f.ctx)).and(hvValid.not()), 'V-1: a first descriptor is taken');
  });
}
