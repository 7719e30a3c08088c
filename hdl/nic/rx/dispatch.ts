/**
 * Demultiplexing and replication (spec section 7, R-1..R-5): for each classified frame, the set of
 * contexts that get a copy, then one buffer request per context, lowest context first.
 *
 * - Unicast: the table's context, if it is enabled, not quiescing and (for loopback) not the sender.
 *   Otherwise the frame is dropped before any DMA and counts rx_nomatch (R-2, P-12).
 * - Broadcast: every enabled, non-quiescing context; multicast: those of them with MCAST_EN (R-3, R-4).
 *   A loopback frame never goes back to its sender. With no such context the frame is dropped uncounted.
 * Each request is answered from prefetched state in a few cycles (no buffer: dropped and counted by
 * the context-state unit, R-5), so a context without buffers never holds up the others. After the
 * last copy the frame's buffer space is released, in order, behind the copies' payload reads.
 */
import { Bool, type Expr, fsm, lit, type ModuleBuilder, UInt } from '../../../generator/index.js';
import { lowestSetBit } from '../../../generator/lib/priorityEncoder.js';
import type { Classified } from './classify.js';
import type { RxConfig } from './config.js';
import { CONSUME } from './ctxState.js';
import { fitWidth } from './widths.js';

export interface DispatchInputs {
  en: Expr;
  quiesce: Expr;
  mcastEn: Expr;
  consumeTake: Expr;
  result: { valid: Expr; kind: Expr; addr: Expr; slot: Expr; seq: Expr; doneBase: Expr };
  canCopy: Expr;
  canRelease: Expr;
}

export interface DispatchOutputs {
  consume: { valid: Expr; ctx: Expr; len: Expr };
  job: { valid: Expr; buf: Expr; start: Expr; len: Expr; ctx: Expr; addr: Expr; slot: Expr; seq: Expr; doneBase: Expr };
  /**
   * Work for the DMA writer, in order: a copy (the job pushed in the same cycle), and/or the release
   * of the frame's buffer space after its copies were read.
   */
  work: { valid: Expr; copy: Expr; release: Expr; buf: Expr; end: Expr };
  nomatch: Expr;
  /** For the V-3 proof (hdl/nic/rx/dispatchProof.ts): the contexts still to ask, and a copy awaiting its answer. */
  formal: { targets: Expr; waiting: Expr };
}

/**
 * Deliberate bugs for the non-vacuity tests of the proofs (docs/formal.md): the prover must find a
 * counterexample on each. Never used outside test/formal.
 */
export type DispatchMutation = 'v3-ignore-hit';

export function dispatch(
  m: ModuleBuilder,
  c: RxConfig,
  f: Classified,
  pw: number,
  i: DispatchInputs,
  opts: { mutation?: DispatchMutation } = {},
): DispatchOutputs {
  const n = c.nCtx;
  const ctxW = c.ctxW;
  const st = fsm(m, 'disp_state', ['LOAD', 'COPY', 'WAIT'] as const);
  const ok = m.named('disp_ok', i.en.and(i.quiesce.not()));
  const onehot = (ctx: Expr) => (n === 1 ? lit(1, 1) : lit(1, n).shl(ctx));
  const notSelf = f.buf.eq(1).repeat(n).and(onehot(f.src)).not();
  const okAt = n === 1 ? ok.bit(0) : ok.bit(f.ctx);
  const hit = opts.mutation === 'v3-ignore-hit' ? lit(1, 1) : f.hit;
  const uniOk = m.named('disp_uni_ok', hit.and(okAt).and(f.buf.eq(0).or(f.ctx.ne(f.src))));
  const multi = f.bcast.or(f.mcast);
  const group = m.named('disp_group', ok.and(f.mcast.repeat(n).and(i.mcastEn).or(f.mcast.not().repeat(n))).and(notSelf));

  const targets = m.reg('disp_targets', UInt(n), { reset: 0 });
  const fBuf = m.reg('disp_buf', Bool, { reset: 0 });
  const fStart = m.reg('disp_start', UInt(pw), { reset: 0 });
  const fEnd = m.reg('disp_end', UInt(pw), { reset: 0 });
  const fLen = m.reg('disp_len', UInt(c.lenW), { reset: 0 });
  const cur = m.reg('disp_ctx', UInt(ctxW), { reset: 0 });
  const nomatch = m.reg('disp_nomatch', Bool, { reset: 0 });
  nomatch.set(0);

  // Loads the next classified frame (in the cycle its predecessor is finished, when there is one).
  const load = () => {
    f.pop.set(lit(1, 1));
    fBuf.set(f.buf);
    fStart.set(f.start);
    fEnd.set(f.end);
    fLen.set(f.len);
    m.when(multi, () => targets.set(group))
      .elseWhen(uniOk, () => targets.set(onehot(f.ctx)))
      .otherwise(() => {
        targets.set(0);
        nomatch.set(1);
      });
    st.goto('COPY');
  };
  const finish = () => {
    m.when(f.valid, load).otherwise(() => st.goto('LOAD'));
  };
  f.pop.set(lit(0, 1));
  m.when(st.is('LOAD').and(f.valid), load);

  const workValid = m.wire('disp_work_valid', Bool, { init: 0 });
  const workCopy = m.wire('disp_work_copy', Bool, { init: 0 });
  const workRelease = m.wire('disp_work_release', Bool, { init: 0 });
  const next = lowestSetBit(m, 'disp_next', targets);
  const nextCtx = fitWidth(next.index, ctxW);
  const asking = m.named('disp_asking', st.is('COPY').and(next.valid).and(i.canCopy));
  m.when(st.is('COPY'), () => {
    // No (more) target: release the frame's space.
    m.when(next.valid.not().and(i.canRelease), () => {
      workValid.set(1);
      workRelease.set(1);
      finish();
    });
    m.when(asking.and(i.consumeTake), () => {
      cur.set(nextCtx);
      st.goto('WAIT');
    });
  });
  // The writer had room for a job and its work item when the request went out; only we fill them.
  const waiting = st.is('WAIT').and(i.result.valid);
  const granted = m.named('disp_granted', waiting.and(i.result.kind.eq(CONSUME.OK)));
  const rest = m.named('disp_rest', n === 1 ? lit(0, 1) : targets.and(onehot(cur).not()).orR());
  const lastCopy = m.named('disp_last', waiting.and(rest.not()));
  m.when(waiting, () => {
    if (n === 1) targets.set(0);
    else targets.atIndex(cur).set(0);
    st.goto('COPY');
    m.when(granted.or(lastCopy), () => {
      workValid.set(1);
      workCopy.set(granted);
      workRelease.set(lastCopy);
    });
    m.when(lastCopy, finish);
  });

  return {
    consume: { valid: asking, ctx: nextCtx, len: fLen },
    job: {
      valid: granted,
      buf: fBuf,
      start: fStart,
      len: fLen,
      ctx: cur,
      addr: i.result.addr,
      slot: i.result.slot,
      seq: i.result.seq,
      doneBase: i.result.doneBase,
    },
    work: { valid: workValid, copy: workCopy, release: workRelease, buf: fBuf, end: fEnd },
    nomatch,
    formal: { targets, waiting: st.is('WAIT') },
  };
}
