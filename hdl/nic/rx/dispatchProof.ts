/**
 * The RX dispatch stage (dispatch.ts) alone, for the V-3 proof (spec section 14, docs/formal.md): an
 * RX frame is given only to the contexts the demultiplexer selects for its destination MAC (R-1..R-4).
 *
 * The stage is inlined into a module of its own whose inputs are free: the classified frame (the MAC
 * table's verdict `hit`/`ctx`, broadcast/multicast, loopback buffer and sender), the per-context
 * EN/QUIESCE/MCAST_EN flags, and the context-state unit's and DMA writer's handshakes. So the proof
 * holds whatever the context-state unit answers and whenever the flags change; the only assumption is
 * classify's own encoding (a frame is not both broadcast and multicast). The selection the copies are
 * checked against is written here apart from dispatch.ts, context by context from the spec's rules,
 * and taken in the cycle the frame is loaded (the flags of that cycle decide, as in the hardware).
 */
import { Bool, cat, defineModule, type Expr, mux, UInt } from '../../../generator/index.js';
import type { NicParams } from '../../params.js';
import type { Classified } from './classify.js';
import { rxConfig } from './config.js';
import { type DispatchMutation, dispatch } from './dispatch.js';
import { frameBufferPtrW } from './frameBuffer.js';

export function dispatchProof(p: NicParams, opts: { mutation?: DispatchMutation } = {}) {
  const c = rxConfig(p);
  const n = c.nCtx;
  const ctxW = c.ctxW;
  const pw = frameBufferPtrW(c.macBufWords);
  const mutation = opts.mutation;
  return defineModule('rx_dispatch_proof', { N_CTX: n, ...(mutation ? { MUTATION: mutation } : {}) }, (m) => {
    // ---- the classified frame at the head of classify's queue ----
    const pop = m.wire('cls_pop', Bool);
    const f: Classified = {
      valid: m.input('cls_valid'),
      pop,
      buf: m.input('cls_buf'),
      start: m.input('cls_start', UInt(pw)),
      end: m.input('cls_end', UInt(pw)),
      len: m.input('cls_len', UInt(c.lenW)),
      bcast: m.input('cls_bcast'),
      mcast: m.input('cls_mcast'),
      hit: m.input('cls_hit'),
      ctx: m.input('cls_ctx', UInt(ctxW)),
      src: m.input('cls_src', UInt(ctxW)),
    };
    const en = m.input('ctx_en', UInt(n));
    const quiesce = m.input('ctx_quiesce', UInt(n));
    const mcastEn = m.input('ctx_mcast_en', UInt(n));
    const d = dispatch(
      m,
      c,
      f,
      pw,
      {
        en,
        quiesce,
        mcastEn,
        consumeTake: m.input('consume_take'),
        result: {
          valid: m.input('res_valid'),
          kind: m.input('res_kind', UInt(2)),
          addr: m.input('res_addr', UInt(64)),
          slot: m.input('res_slot', UInt(64)),
          seq: m.input('res_seq', UInt(c.seqW)),
          doneBase: m.input('res_done_base', UInt(64)),
        },
        canCopy: m.input('can_copy'),
        canRelease: m.input('can_release'),
      },
      mutation ? { mutation } : {},
    );
    const outs: [string, Expr][] = [
      ['cls_pop_out', pop],
      ['consume_valid', d.consume.valid],
      ['consume_ctx', d.consume.ctx],
      ['consume_len', d.consume.len],
      ['job_valid', d.job.valid],
      ['job_buf', d.job.buf],
      ['job_start', d.job.start],
      ['job_len', d.job.len],
      ['job_ctx', d.job.ctx],
      ['job_addr', d.job.addr],
      ['job_slot', d.job.slot],
      ['job_seq', d.job.seq],
      ['job_done_base', d.job.doneBase],
      ['work_valid', d.work.valid],
      ['work_copy', d.work.copy],
      ['work_release', d.work.release],
      ['work_buf', d.work.buf],
      ['work_end', d.work.end],
      ['nomatch', d.nomatch],
    ];
    for (const [name, e] of outs) m.output(name, e.type).set(e);

    // ---- V-3 ----
    m.assume(f.bcast.and(f.mcast).not(), 'V-3: classify marks a frame broadcast or multicast, not both');
    // The spec's selection, context by context: enabled, not quiescing, not the loopback sender, and
    // broadcast, or multicast with MCAST_EN, or the unicast table hit's context.
    const unicast = f.bcast.not().and(f.mcast.not());
    const bitsLsbFirst = Array.from({ length: n }, (_, j) => {
      const live = en.bit(j).and(quiesce.bit(j).not());
      const notSender = f.buf.and(f.src.eq(j)).not();
      const wanted = f.bcast.or(f.mcast.and(mcastEn.bit(j))).or(unicast.and(f.hit).and(f.ctx.eq(j)));
      return live.and(notSender).and(wanted);
    });
    const selectNow = n === 1 ? (bitsLsbFirst[0] as Expr) : cat(...bitsLsbFirst.reverse());
    const fSelected = m.ghost('f_selected', UInt(n), { reset: 0, next: (s) => mux(pop, selectNow, s) });
    // Requests wait in the dispatcher's request stage, then for their answers in its answer line, while
    // the next frames load: the selection of each entry's frame travels beside it (taken as it enters,
    // before a load replaces it), moving as the stage's entries move.
    const stg = d.formal.stage;
    const skidSel = m.ghost('f_req2_selected', UInt(n), { reset: 0, next: (s) => mux(stg.mainLoad.not().and(stg.push), fSelected, s) });
    const mainSel = m.ghost('f_req_selected', UInt(n), {
      reset: 0,
      next: (s) => mux(stg.mainLoad, mux(stg.skid.valid, skidSel, fSelected), s),
    });
    m.when(d.consume.valid, () =>
      m.assert(mainSel.bit(d.consume.ctx), "V-3: a buffer is requested only for a context selected for the frame's destination"),
    );
    for (const [e, sel] of [
      [stg.main, mainSel],
      [stg.skid, skidSel],
    ] as const) {
      m.when(e.valid.and(e.copy), () =>
        m.assert(sel.bit(e.ctx), 'V-3 (invariant): a copy waiting in the request stage is for a selected context'),
      );
    }
    const lineSel: Expr[] = [];
    let prevSel: Expr = mainSel;
    d.formal.line.forEach((_, k) => {
      const g = m.ghost(`f_line${k + 1}_selected`, UInt(n), { reset: 0, next: () => prevSel });
      lineSel.push(g);
      prevSel = g;
    });
    const outSel = lineSel[lineSel.length - 1] as Expr;
    m.when(d.job.valid, () =>
      m.assert(outSel.bit(d.job.ctx), "V-3: a copy is written only to a context selected for the frame's destination"),
    );
    // Invariants that make the proof inductive.
    m.assert(d.formal.targets.and(fSelected.not()).eq(0), 'V-3 (invariant): the contexts still to ask are selected ones');
    d.formal.line.forEach((e, k) => {
      m.when(e.valid.and(e.copy), () =>
        m.assert((lineSel[k] as Expr).bit(e.ctx), 'V-3 (invariant): a copy awaiting its answer is for a selected context'),
      );
    });

    // Covers: each rule in use, the one that skips someone included.
    const latch = (name: string, v: Expr): Expr => m.ghost(name, Bool, { reset: 0, next: (s) => mux(pop, v, s) });
    const lbBcastSenderLive = latch('f_lb_bcast_sender_live', f.buf.and(f.bcast).and(en.bit(f.src)).and(quiesce.bit(f.src).not()));
    m.cover(d.job.valid.and(lbBcastSenderLive), 'V-3: a loopback broadcast is copied to a context while its live sender is skipped');
    const mcastSkip = latch('f_mcast_skip', f.mcast.and(en.and(quiesce.not()).and(mcastEn.not()).orR()));
    m.cover(d.job.valid.and(mcastSkip), 'V-3: a multicast is copied while a live context without MCAST_EN is skipped');
    const uniHit = latch('f_uni_hit', unicast.and(f.hit));
    m.cover(d.job.valid.and(uniHit), "V-3: a unicast hit is copied to the table's context");
  });
}
