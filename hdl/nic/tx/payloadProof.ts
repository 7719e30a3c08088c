/**
 * V-2 on the TX side (spec section 14, docs/formal.md): every payload read the TX engine issues for a
 * frame of context c lies inside the buffer of a descriptor the sequence check accepted for c, for
 * that frame. Payload reads take fragments from a queue that every context shares, so the property
 * rests on two halves, each proven on its block:
 *
 * - `fragmentProof` (the check, check.ts): the fragments the check queues are the buffers of the
 *   descriptors it accepts, and each frame record it pushes comes with the commit of exactly its `n`
 *   fragments (n >= 1), all accepted for that frame, and nothing else is committed; a frame's
 *   tentative fragments are all dropped before another frame's are pushed.
 * - `payloadReadProof` (the payload issuer, payload.ts): for each frame taken from the frame queue it
 *   takes exactly `n` fragments, and every read it issues lies inside the fragment being read.
 *
 * Both queues are FIFOs written at the same commit, so the issuer's k-th fragment after a frame is
 * that frame's k-th fragment. Ghost state records what each half needs: the tentative fragments of
 * the frame being assembled (how many, for which context and frame), the fragment being read.
 */
import { defineModule, type Expr, lit, mux, UInt } from '../../../generator/index.js';
import type { NicParams } from '../../params.js';
import { nicWidths } from '../interfaces.js';
import type { CheckMutation } from './check.js';
import { checkHarness } from './checkProof.js';
import { txConfig } from './config.js';
import { txLayouts } from './layouts.js';
import { burstLayout } from './packer.js';
import { burstPlan, type PayloadMutation, payloadIssuer } from './payload.js';

/** The check alone, its surroundings free (checkHarness) and TX_EXP_SEQ writable whenever the context is disabled. */
export function fragmentProof(p: NicParams, opts: { mutation?: CheckMutation } = {}) {
  const mutation = opts.mutation;
  return defineModule('tx_frag_proof', { N_CTX: p.N_CTX, ...(mutation ? { MUTATION: mutation } : {}) }, (m) => {
    const h = checkHarness(m, p, { ...(mutation ? { mutation } : {}), fragDepth: 2 });
    const { cfg, lay, chk, fragQ, frameQ } = h;
    fragQ.out.ready.set(m.input('frag_ready'));
    frameQ.out.ready.set(m.input('frame_ready'));
    const outs: [string, Expr][] = [
      ['frag_out_valid', fragQ.out.valid],
      ['frag_out_data', fragQ.out.data],
      ['frame_out_valid', frameQ.out.valid],
      ['frame_out_data', frameQ.out.data],
      ['cont_valid_out', h.cont.valid],
      ['cont_addr_out', h.cont.addr],
      ['probe_hit', chk.probeHit],
    ];
    for (const [name, e] of outs) m.output(name, e.type).set(e);

    // ---- V-2 ----
    const f = chk.formal;
    const push = fragQ.in.valid.and(fragQ.in.ready);
    const commit = fragQ.commit;
    const rollback = fragQ.rollback;
    const pushed = lay.frag.unpack(fragQ.in.data);
    const isBuf = (addr: Expr, len: Expr): Expr => pushed.addr.eq(addr).and(pushed.len.eq(len));
    // The fragment queue's tentative entries (fragFifo.ts: a commit publishes them and a push in the
    // same cycle; a rollback drops them and wins over a push), and whose frame they are.
    const cw = cfg.nW + 2; // counts past a wrapped frame count: a frame's n must not wrap
    const tent = m.ghost('f_tentative', UInt(cw), {
      reset: 0,
      next: (s) => mux(rollback.or(commit), lit(0, cw), mux(push, s.addWrap(1), s)),
    });
    const tentCtx = m.ghost('f_tentative_ctx', UInt(cfg.ctxW), { reset: 0, next: (s) => mux(push.and(f.accept), f.ctx, s) });
    const tentFirst = m.ghost('f_tentative_first', UInt(cfg.iseqW), { reset: 0, next: (s) => mux(push.and(f.accept), f.seq, s) });

    m.when(push, () =>
      m.assert(
        f.accept
          .and(isBuf(f.headAddr, f.headLen))
          .or(f.contAccept.and(isBuf(f.nextAddr, f.nextLen)))
          .and(pushed.len.ne(0)),
        'V-2: a fragment is queued only for a descriptor the check accepts, with its buffer address and (non-zero) length',
      ),
    );
    m.when(push.and(f.accept), () =>
      m.assert(tent.eq(0).or(rollback), "V-2: a frame's first fragment is queued only when no other frame's fragments are tentative"),
    );
    m.when(push.and(f.contAccept), () =>
      m.assert(
        tent.ne(0).and(tentCtx.eq(f.fCtx)).and(tentFirst.eq(f.fFirst)),
        'V-2: a next fragment joins the tentative fragments of its own frame',
      ),
    );
    const frame = lay.frame.unpack(frameQ.in.data);
    const framePush = frameQ.in.valid.and(frameQ.in.ready);
    const total = tent.addWrap(push.resize(cw));
    m.when(framePush.and(frame.err.not()), () => {
      m.assert(
        commit
          .and(rollback.not())
          .and(total.eq(frame.n.resize(cw)))
          .and(frame.n.ne(0)),
        'V-2: a frame to read is pushed with the commit of exactly its n fragments (n >= 1)',
      );
      m.assert(
        tent.eq(0).or(tentCtx.eq(frame.ctx).and(tentFirst.eq(frame.first))),
        "V-2: the fragments committed with a frame were accepted for the frame's context and first seq",
      );
    });
    m.when(framePush.and(frame.err), () =>
      m.assert(commit.not().and(total.eq(0).or(rollback)), 'V-2: an error frame (nothing to read) commits no fragment'),
    );
    m.when(commit, () => m.assert(framePush, 'V-2: fragments are committed only with their frame'));
    // Invariants that make the proof inductive: the tentative fragments are those of the frame being
    // assembled, one per descriptor taken, unless the frame is already an error frame.
    m.when(f.assembling.not(), () => m.assert(tent.eq(0), 'V-2 (invariant): no fragment is tentative between frames'));
    m.when(f.assembling, () => {
      m.assert(
        mux(f.fErr, tent.eq(0), tent.eq(f.fN.resize(cw)).and(f.fN.ne(0))),
        'V-2 (invariant): the tentative fragments are one per descriptor of the frame being assembled (none once it is an error frame)',
      );
      m.assert(
        tent.eq(0).or(tentCtx.eq(f.fCtx).and(tentFirst.eq(f.fFirst))),
        'V-2 (invariant): the tentative fragments are of the frame being assembled',
      );
    });
    m.cover(framePush.and(frame.err.not()).and(frame.n.eq(2)), 'V-2: a frame of two fragments is committed');
  });
}

/** The payload issuer alone: the frame and fragment queues' outputs, the AR grant, the buffer credit and the downstream queues free. */
export function payloadReadProof(p: NicParams, opts: { mutation?: PayloadMutation } = {}) {
  const cfg = txConfig(p, nicWidths(p));
  const lay = txLayouts(cfg);
  const mutation = opts.mutation;
  return defineModule('tx_payload_proof', { N_CTX: p.N_CTX, ...(mutation ? { MUTATION: mutation } : {}) }, (m) => {
    const frameOut = { valid: m.input('frame_valid'), ready: m.wire('frame_ready'), data: m.input('frame_data', UInt(lay.frame.width)) };
    const fragOut = { valid: m.input('frag_valid'), ready: m.wire('frag_ready'), data: m.input('frag_data', UInt(lay.frag.width)) };
    const orderIn = { valid: m.wire('order_valid'), ready: m.input('order_ready'), data: m.wire('order_data', UInt(lay.frame.width)) };
    const burstW = burstLayout(cfg.db, cfg.burstWindow).width;
    const burstIn = { valid: m.wire('burst_valid'), ready: m.input('burst_ready'), data: m.wire('burst_data', UInt(burstW)) };
    const ar = { valid: m.wire('ar_valid'), addr: m.wire('ar_addr', UInt(64)), len: m.wire('ar_len', UInt(8)), grant: m.input('ar_grant') };
    const pay = payloadIssuer(
      m,
      cfg,
      lay,
      {
        frameOut,
        fragOut,
        orderIn,
        burstIn,
        ar,
        rawPop: m.input('raw_pop'),
        probeCtx: m.input('probe_ctx', UInt(cfg.ctxW)),
      },
      mutation ? { mutation } : {},
    );
    const outs: [string, Expr][] = [
      ['frame_ready_out', frameOut.ready],
      ['frag_ready_out', fragOut.ready],
      ['ar_valid_out', ar.valid],
      ['ar_addr_out', ar.addr],
      ['ar_len_out', ar.len],
      ['order_valid_out', orderIn.valid],
      ['order_data_out', orderIn.data],
      ['burst_valid_out', burstIn.valid],
      ['burst_data_out', burstIn.data],
      ['probe_hit', pay.probeHit],
    ];
    for (const [name, e] of outs) m.output(name, e.type).set(e);

    // ---- V-2 ----
    m.assume(ar.grant.not().or(ar.valid), 'V-2: the AR arbiter grants the payload read only when asked for (dmaRead.ts)');
    const incoming = lay.frame.unpack(frameOut.data);
    m.assume(
      frameOut.valid.not().or(incoming.err).or(incoming.n.ne(0)),
      'V-2: a frame to read has at least one fragment (the check pushes no other: fragmentProof)',
    );
    m.assume(
      fragOut.valid.not().or(lay.frag.unpack(fragOut.data).len.ne(0)),
      'V-2: a fragment has a non-zero length (the check queues no other: fragmentProof)',
    );
    const pf = pay.formal;
    const take = frameOut.valid.and(frameOut.ready);
    // The fragments taken for the frame being read, and the one being read now.
    const nw = cfg.nW + 1;
    const taken = m.ghost('f_taken', UInt(nw), {
      reset: 0,
      // (A frame's first fragment may be taken with the frame.)
      next: (s) => mux(take, pf.nextFrag.resize(nw), mux(pf.nextFrag, s.addWrap(1), s)),
    });
    const popped = lay.frag.unpack(fragOut.data);
    const keep = (name: string, v: Expr): Expr => m.ghost(name, v.type, { reset: 0, next: (s) => mux(pf.nextFrag, v, s) });
    const gAddr = keep('f_frag_addr', popped.addr);
    const gLen = keep('f_frag_len', popped.len);
    const n = pf.frameN.resize(nw);

    m.when(pf.nextFrag.and(take.not()), () =>
      m.assert(taken.lt(n), 'V-2: a fragment is taken only for a frame with fragments left to read'),
    );
    m.when(orderIn.valid.and(pf.frameErr.not()), () =>
      m.assert(taken.eq(n), "V-2: a frame's reads end only once its n fragments are taken"),
    );
    m.when(pf.nextFrag, () => m.assert(mux(take, incoming.err, pf.frameErr).not(), 'V-2: no fragment is taken for an error frame'));

    const issue = ar.valid.and(ar.grant);
    // Offsets from the buffer's start, modulo 2^64 (addresses wrap as the issuer's counter does).
    const off = pf.addr.subWrap(gAddr);
    const inBuf = off.lt(gLen.resize(64));
    const w = 20; // holds every sum below: offsets under 2^16, a read under 2^12 bytes
    const intoBeat = pf.addr.subWrap(ar.addr);
    const arBytes = ar.len.resize(w).addWrap(1).shl(cfg.dbLog2).trunc(w);
    m.when(issue, () => {
      m.assert(pf.burst, 'V-2: a payload read is issued only while a fragment is being read');
      m.assert(
        inBuf.and(intoBeat.lt(cfg.db)).and(
          off
            .trunc(w)
            .addWrap(arBytes)
            .lt(gLen.resize(w).addWrap(intoBeat.trunc(w)).addWrap(lit(cfg.db, w))),
        ),
        "V-2: a payload read starts at the beat holding a byte of the fragment's buffer and its last beat holds one too",
      );
      m.assert(
        inBuf.and(off.trunc(w).addWrap(pf.bytes.resize(w)).le(gLen.resize(w))),
        "V-2: the bytes kept from a payload read lie inside the fragment's buffer",
      );
    });
    // Invariants that make the proof inductive.
    m.when(pf.reading, () => {
      m.assert(
        taken
          .le(n)
          .and(taken.addWrap(pf.left.resize(nw)).eq(n))
          .and(pf.frameErr.not()),
        "V-2 (invariant): the fragments taken and those left make the frame's n",
      );
    });
    m.when(pf.next, () => m.assert(pf.left.ne(0), 'V-2 (invariant): a fragment is wanted only while one is left'));
    m.when(pf.burst, () =>
      m.assert(
        inBuf.and(off.trunc(16).addWrap(pf.rem).eq(gLen)),
        'V-2 (invariant): the rest of the fragment being read ends where its buffer ends',
      ),
    );
    // The issuer keeps the next burst's plan in registers: it is the plan of its address and rest.
    const plan = burstPlan(cfg, pf.addr.bits(Math.log2(cfg.burstWindow) - 1, 0), pf.rem, mutation);
    m.when(pf.burst, () =>
      m.assert(
        pf.bytes.eq(plan.bytes).and(pf.beats.eq(plan.beats)).and(pf.lastOfFrag.eq(plan.last)),
        "V-2 (invariant): the registered burst is the one the fragment's address and rest give",
      ),
    );

    m.cover(issue, 'V-2: a payload read is issued for a fragment');
    m.cover(issue.and(pf.lastOfFrag).and(pf.left.eq(0)).and(taken.eq(2)), "V-2: the last read of a frame's second fragment is issued");
  });
}
