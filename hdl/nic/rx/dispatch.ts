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
import { any, Bool, cat, type Expr, fsm, lit, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
import { anySetByCarry } from '../../../generator/lib/carryTests.js';
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
  /**
   * The writer has room for a job and its work item even after every entry of the request stage and
   * the answer line (REQUESTS_AHEAD - 1 of them) has been queued: a request may go out while earlier
   * ones await their answers.
   */
  canCopy: Expr;
  /** The same for a release-only work item. */
  canRelease: Expr;
}

/** Cycles from a consume request taken by the context-state unit to its answer (ctxState: SELECT, READ, DECIDE). */
export const ANSWER_LATENCY = 3;

/** Entries of the request stage between the dispatcher's choice and the context-state unit. */
export const REQUEST_STAGE = 2;

/**
 * Buffer requests (and release-only entries) that may be on their way to the writer when the
 * dispatcher makes a new one: the request stage, the answer line and the new one.
 */
export const REQUESTS_AHEAD = REQUEST_STAGE + ANSWER_LATENCY + 1;

export interface DispatchOutputs {
  consume: { valid: Expr; ctx: Expr; len: Expr };
  job: { valid: Expr; buf: Expr; start: Expr; len: Expr; ctx: Expr; addr: Expr; slot: Expr; seq: Expr; doneBase: Expr };
  /**
   * Work for the DMA writer, in order: a copy (the job pushed in the same cycle), and/or the release
   * of the frame's buffer space after its copies were read.
   */
  work: { valid: Expr; copy: Expr; release: Expr; buf: Expr; end: Expr };
  nomatch: Expr;
  /**
   * For the V-3 proof (hdl/nic/rx/dispatchProof.ts): the contexts still to ask; an entry entering the
   * answer line now; and the line's stages (valid, copy, context), oldest last.
   */
  formal: {
    targets: Expr;
    enter: Expr;
    line: { valid: Expr; copy: Expr; ctx: Expr }[];
    /**
     * The request stage: `push` an entry of the current frame goes in; the head (`main`) loads when
     * `mainLoad`, from the second entry (`skid`) if it holds one, else from the entry pushed; the
     * second entry takes the entry pushed when the head does not load.
     */
    stage: { push: Expr; mainLoad: Expr; main: { valid: Expr; copy: Expr; ctx: Expr }; skid: { valid: Expr; copy: Expr; ctx: Expr } };
  };
}

/**
 * Deliberate bugs for the non-vacuity tests of the proofs (docs/formal.md): the prover must find a
 * counterexample on each. Never used outside test/formal.
 */
export type DispatchMutation = 'v3-ignore-hit';

/**
 * Whether the lowest set bit of `x` is set in `w` (0 when `x` is 0), as the carry out of one carry
 * chain over the bits in reverse order (bit 0 last): a bit of `x` that is clear propagates the carry,
 * a set one generates it when its bit of `w` is set and kills it otherwise, so the lowest set bit of
 * `x` decides. One LUT level and a chain, rather than `x & -x` (a chain), an AND and a 32-input OR.
 */
function lowestIsIn(x: Expr, w: Expr): Expr {
  const n = x.width;
  const rev = (v: Expr) => cat(...Array.from({ length: n }, (_, k) => v.bit(k)));
  // Propagate: a = 1, b = 0; generate: a = b = 1; kill: a = b = 0.
  const a = rev(x.not().or(w));
  const b = rev(x.and(w));
  return a
    .resize(n + 1)
    .addWrap(b.resize(n + 1))
    .bit(n);
}

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
  const st = fsm(m, 'disp_state', ['LOAD', 'COPY'] as const);
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
  const nomatch = m.reg('disp_nomatch', Bool, { reset: 0 });
  nomatch.set(0);
  // The targets a loaded frame starts with; the targets' next value is picked at the end (see there).
  // A unicast frame's as a vector, bit by bit (its context's one-hot, enable, quiesce and loopback
  // test), not the one-hot picked by `uniOk`: that ran through the enable bit of the frame's context
  // (a 32-way multiplexer behind the classify queue's read) into the targets at 10 LUT levels.
  const uniVec = hit.repeat(n).and(ok).and(onehot(f.ctx)).and(notSelf);
  const loaded = m.named('disp_loaded_targets', mux(multi, group, uniVec));

  // Loads the next classified frame (in the cycle its predecessor's last entry goes out, when there is one).
  const load = () => {
    f.pop.set(lit(1, 1));
    fBuf.set(f.buf);
    fStart.set(f.start);
    fEnd.set(f.end);
    fLen.set(f.len);
    m.when(multi.not().and(uniOk.not()), () => nomatch.set(1));
    st.goto('COPY');
  };
  const finish = () => {
    m.when(f.valid, load).otherwise(() => st.goto('LOAD'));
  };
  f.pop.set(lit(0, 1));
  m.when(st.is('LOAD').and(f.valid), load);

  // Entries (a buffer request, or a frame's release with no copy) go through a two-entry request stage
  // before the context-state unit and the answer line, so the unit's choice of operation (and the read
  // address of its dynamic word) starts from flip-flops rather than from the choice of the next target
  // and the writer's room (13 LUT levels in the flattened NIC). Both outputs are registers, and so is
  // its `ready` (the second entry is empty): one entry per cycle still goes in and out.
  const entryW = 1 + 1 + ctxW + 1 + 2 * pw + c.lenW;
  const field = (d: Expr) => {
    let at = entryW;
    const take = (w: number) => {
      at -= w;
      return d.bits(at + w - 1, at);
    };
    return { copy: take(1), last: take(1), ctx: take(ctxW), buf: take(1), start: take(pw), end: take(pw), len: take(c.lenW) };
  };
  const push = m.wire('disp_push', Bool, { init: 0 });
  const pushCopy = m.wire('disp_push_copy', Bool, { init: 0 });
  const pushLast = m.wire('disp_push_last', Bool, { init: 0 });
  const next = lowestSetBit(m, 'disp_next', targets);
  // Up to 32 contexts, the next target's one-hot comes straight from the targets (x & -x), and its
  // number is that one-hot encoded (an OR of 16 bits per bit), not the priority encoder's tree,
  // which ran from the targets into the request stage's context at 9 LUT levels. (A release entry,
  // with no target, gets context 0; its context is never used.)
  const small = n > 1 && n <= 32;
  const nextOh = small ? m.named('disp_next_onehot', targets.and(targets.not().addWrap(1))) : null;
  const encodeOh = (oh: Expr): Expr =>
    cat(
      ...Array.from({ length: ctxW }, (_, k) => {
        const b = ctxW - 1 - k;
        const set = Array.from({ length: n }, (_, j) => j).filter((j) => (j >> b) & 1);
        return set.length ? any(...set.map((j) => oh.bit(j))) : lit(0, 1);
      }),
    );
  const nextCtx = nextOh ? encodeOh(nextOh) : fitWidth(next.index, ctxW);
  const mainV = m.reg('disp_req_valid', Bool, { reset: 0 });
  const mainD = m.reg('disp_req', UInt(entryW), { reset: 0 });
  const skidV = m.reg('disp_req2_valid', Bool, { reset: 0 });
  const skidD = m.reg('disp_req2', UInt(entryW), { reset: 0 });
  const stageReady = skidV.not();
  // The entry's copy and last bits from the targets alone (an entry pushed with a target left is a
  // copy, and the last one when no other target is left; without one it releases the frame), and the
  // stage's data registers loaded whether or not an entry goes in (its valid bits say whether one did):
  // so neither waits for the decision to push, which was a chain from the targets through the
  // waiting-context test and the writer's room into the stage (9 LUT levels).
  const pushD = cat(pushCopy, pushLast, nextCtx, fBuf, fStart, fEnd, fLen);
  const head = field(mainD);
  // The head leaves when the unit takes its request, or at once when it only releases.
  const enter = m.named('disp_enter', mainV.and(head.copy.not().or(i.consumeTake)));
  const mainLoad = m.named('disp_req_load', mainV.not().or(enter));
  m.when(mainLoad, () => {
    mainV.set(skidV.or(push));
    mainD.set(mux(skidV, skidD, pushD));
    skidV.set(0);
  }).otherwise(() => {
    m.when(push, () => skidV.set(1));
    m.when(skidV.not(), () => skidD.set(pushD));
  });

  // The answer line: one entry per buffer request taken (and per release-only frame), shifted every
  // cycle so that a request's entry leaves in the cycle the context-state unit answers it (a fixed
  // ANSWER_LATENCY later). Requests for the next copies, and the next frames, go out meanwhile: a
  // frame per cycle when each has one target on a different context (the unit itself holds back a
  // request for a context still in its pipeline, so copies to one context stay in order and each sees
  // the state the previous one left).
  const lineV: Expr[] = [];
  const lineD: Expr[] = [];
  let prevV: Expr = enter;
  let prevD: Expr = mainD;
  for (let k = 1; k <= ANSWER_LATENCY; k++) {
    const v = m.reg(`disp_line${k}_valid`, Bool, { reset: 0 });
    const d = m.reg(`disp_line${k}`, UInt(entryW), { reset: 0 });
    v.set(prevV);
    d.set(prevD);
    lineV.push(v);
    lineD.push(d);
    prevV = v;
    prevD = d;
  }

  // A context with a request still in the stage or in the line's first place is not asked again yet:
  // the unit takes a consume of one context at most every other cycle (the cycle between may take a
  // fetched descriptor of that context), so a request asked sooner would only wait in the stage, and
  // one asked three cycles after the last leaves a cycle in which the context's doorbells and fetch
  // retries get in (a consume every cycle the unit could take it kept them out). Issue 16: the
  // dispatcher used to wait for the answer (the whole line), one consume per context every 4 cycles.
  const waiting: [Expr, Expr][] = [
    [mainV, mainD],
    [skidV, skidD],
    [lineV[0] as Expr, lineD[0] as Expr],
  ];
  // With few contexts, a vector of the contexts waiting (from flip-flops, beside the choice of the next
  // target) indexed by it, rather than five compares after it; with many, the compares are smaller.
  const waitingCopy = waiting.map(([v, d]) => v.and(field(d).copy));
  // Up to 32 contexts, the contexts of those entries as one-hot vectors in flip-flops beside them
  // (zero for a release or an empty entry), worked out from what each entry takes next: decoding the
  // entries' contexts ran through the waiting test, the ask and the COPY state into the classify
  // queue's pop at 9 LUT levels.
  let waitingVec: Expr | null = null;
  if (n > 1 && n <= 32) {
    const mainOh = m.reg('disp_req_onehot', UInt(n), { reset: 0 });
    const skidOh = m.reg('disp_req2_onehot', UInt(n), { reset: 0 });
    const line1Oh = m.reg('disp_line1_onehot', UInt(n), { reset: 0 });
    const none = lit(0, n);
    // The entry pushed now: the lowest target (a copy), or none (a release).
    const pushOh = nextOh as Expr;
    // The push settles last: both outcomes, picked by it.
    const skidOrPush = (pushed: Expr) => mux(skidV, skidOh, pushed);
    mainOh.set(mux(push, mux(mainLoad, skidOrPush(pushOh), mainOh), mux(mainLoad, skidOrPush(none), mainOh)));
    skidOh.set(mux(push, mux(mainLoad, none, skidOrPush(pushOh)), mux(mainLoad, none, skidOrPush(none))));
    line1Oh.set(mux(enter, mainOh, none));
    m.assert(
      mainOh
        .eq(mux(waitingCopy[0] as Expr, onehot(head.ctx), none))
        .and(skidOh.eq(mux(waitingCopy[1] as Expr, onehot(field(skidD).ctx), none)))
        .and(line1Oh.eq(mux(waitingCopy[2] as Expr, onehot(field(lineD[0] as Expr).ctx), none))),
      'the waiting one-hot vectors follow the request stage and the answer line',
    );
    waitingVec = m.named('disp_waiting', mainOh.or(skidOh).or(line1Oh));
  }
  // Up to 32 contexts, the next target's one-hot and the targets left without it come straight from
  // the targets (x & -x and x & (x - 1), each a short carry chain), not from the encoded index
  // decoded again: that ran through the ask and the COPY state into the classify queue's pop at 8 to
  // 9 LUT levels.
  const withoutNext = small ? m.named('disp_targets_left', targets.and(targets.subWrap(1))) : null;
  const inLine = m.named(
    'disp_in_line',
    n === 1
      ? any(...waitingCopy)
      : small
        ? lowestIsIn(targets, waitingVec as Expr)
        : any(...waiting.map(([, d], k) => (waitingCopy[k] as Expr).and(field(d).ctx.eq(nextCtx)))),
  );
  // Up to 32 contexts, whether any target is left (and any besides the next one) as the carry out of
  // a chain (all ones plus the vector overflows when it is not 0), not a 32-input OR: each was 3 or 4
  // LUT levels in front of the ask and the classify queue's pop.
  const nonZero = (v: Expr): Expr => (small ? anySetByCarry(v) : v.orR());
  const anyTarget = m.named('disp_any_target', small ? nonZero(targets) : next.valid);
  const asking = m.named('disp_asking', st.is('COPY').and(anyTarget).and(i.canCopy).and(inLine.not()).and(stageReady));
  const rest = m.named('disp_rest', n === 1 ? lit(0, 1) : withoutNext ? nonZero(withoutNext) : targets.and(onehot(nextCtx).not()).orR());
  const releasing = m.named('disp_releasing', anyTarget.not().and(i.canRelease).and(stageReady));
  pushCopy.set(anyTarget);
  pushLast.set(anyTarget.not().or(rest.not()));
  m.when(st.is('COPY'), () => {
    // No target at all: the frame's space is released (in order, behind the copies ahead of it).
    m.when(releasing, () => {
      push.set(1);
      finish();
    });
    m.when(asking, () => {
      push.set(1);
      m.when(rest.not(), finish);
    });
  });
  // The ask settles last (behind the writer's room and the stage): the targets' next value is worked
  // out for both outcomes of it and picked by it, one LUT in front of the flip-flops (it ran through
  // the ask into the classify queue's pop and then the targets at 9 LUT levels).
  const left = n === 1 ? lit(0, n) : (withoutNext ?? targets.and(onehot(nextCtx).not()));
  const ifAsked = mux(rest.not().and(f.valid), loaded, left);
  const loadsUnasked = st.is('LOAD').or(st.is('COPY').and(releasing)).and(f.valid);
  const ifNotAsked = mux(loadsUnasked, loaded, targets);
  targets.set(mux(asking, ifAsked, ifNotAsked));

  // The oldest entry meets its answer: a buffer given becomes a job; the frame's last entry releases it.
  const out = field(lineD[ANSWER_LATENCY - 1] as Expr);
  const outV = lineV[ANSWER_LATENCY - 1] as Expr;
  const granted = m.named('disp_granted', outV.and(out.copy).and(i.result.valid).and(i.result.kind.eq(CONSUME.OK)));
  const lastOut = m.named('disp_last', outV.and(out.last));

  return {
    consume: { valid: mainV.and(head.copy), ctx: head.ctx, len: head.len },
    job: {
      valid: granted,
      buf: out.buf,
      start: out.start,
      len: out.len,
      ctx: out.ctx,
      addr: i.result.addr,
      slot: i.result.slot,
      seq: i.result.seq,
      doneBase: i.result.doneBase,
    },
    work: { valid: granted.or(lastOut), copy: granted, release: lastOut, buf: out.buf, end: out.end },
    nomatch,
    formal: {
      targets,
      enter,
      stage: {
        push,
        mainLoad,
        main: { valid: mainV, copy: head.copy, ctx: head.ctx },
        skid: { valid: skidV, copy: field(skidD).copy, ctx: field(skidD).ctx },
      },
      line: lineV.map((v, k) => {
        const e = field(lineD[k] as Expr);
        return { valid: v, copy: e.copy, ctx: e.ctx };
      }),
    },
  };
}
