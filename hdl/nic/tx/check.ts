/**
 * The sequence check (spec section 5; P-7, P-8, P-9) and frame assembly. Fetched descriptors arrive in
 * fetch order. A fetch of context c for seq s is:
 * - stale when s is not c's expected seq (it was fetched speculatively before a rollback, or its slot
 *   was already consumed): dropped without a trace;
 * - a miss when its descriptor's 32-bit seq is not s or its length is 0 (counted in tx_seq_miss), or
 *   when the read failed (an error response on any beat, F-2: counted in tx_dma_err instead); either
 *   way c's fetching rolls back to s and c goes idle (or probes again if a doorbell came), and nothing
 *   of the descriptor is used;
 * - accepted otherwise. Only then does c's expected seq advance: the slot read is exp_seq mod ring
 *   size, so a stale, forged or zeroed slot is never used.
 *
 * Descriptors up to EOP form a frame. The next descriptor of a frame is taken from the head of the
 * fetch stream when it is the right one (speculative fetching puts it there), else fetched on its own
 * (ID 1) while the stream waits. A frame's fragments are pushed tentatively and committed at EOP, with
 * the expected seq advancing by the whole frame at once; if a later descriptor of the frame misses, the
 * whole frame is abandoned and will be fetched again, so no part of a frame is ever read or sent before
 * all its descriptors passed. A frame over the maximum (or with more descriptors than fit the
 * fragment queue) is committed as an error: nothing to read, its descriptors complete with ERR.
 */
import {
  all,
  any,
  cat,
  type Expr,
  fsm,
  type InstancePorts,
  lit,
  log2Ceil,
  type Memory,
  type ModuleBuilder,
  mux,
  UInt,
} from '../../../generator/index.js';
import type { SyncFifoIO } from '../../../generator/lib/index.js';
import { DCACHE_SLOTS, type TxConfig } from './config.js';
import type { ContextMemories } from './contextMemory.js';
import type { DmaRead } from './dmaRead.js';
import type { fragFifo } from './fragFifo.js';
import { descFields, descLane, descReadAddr, slotAddr, type TxLayouts } from './layouts.js';
import { type Flags, mayRun, type Scheduler, setBit } from './scheduler.js';
import type { SharedPort } from './sharedPort.js';

// Only what the check uses, so the V-1 proof module (checkProof.ts) can give it exactly that.
export interface CheckDeps {
  readonly flags: Flags;
  readonly mems: Pick<ContextMemories, 'exp' | 'fetchSeq'>;
  readonly sched: Pick<Scheduler, 'bits'>;
  readonly dma: Pick<DmaRead, 'descFifo' | 'cont' | 'contValid' | 'contData' | 'contTake'>;
  readonly metaOut: InstancePorts<SyncFifoIO>['out'];
  readonly frags: FragFifoPorts;
  readonly frameIn: InstancePorts<SyncFifoIO>['in'];
  readonly counters: SharedPort<CounterEventField>;
  readonly probeCtx: Expr;
  /** The last TX_PROD per context: a frame's next descriptor is never fetched past it (absent in the V-1 proof). */
  readonly prod?: Memory;
  /**
   * The descriptor cache (docs/tx-engine.md, *Descriptor cache*): DCACHE_SLOTS entries of a fetched
   * descriptor record per context, at {ctx, seq mod DCACHE_SLOTS}. The check writes a read's
   * descriptors beyond its turn's quota there and decides a cached meta entry's descriptors from it,
   * exactly as fetched ones. Absent in the V-1 proof and on buses without batching.
   */
  readonly dcache?: Memory;
  /**
   * While high the check takes no decision (so it commits no frame): a TX_EXP_SEQ write holds it for
   * the cycles it waits, and then needs only the other users of its ports to be idle, not the
   * decision's outcome (registers.ts). Absent in the V-1 proof.
   */
  readonly hold?: Expr;
}

export type FragFifoPorts = InstancePorts<ReturnType<typeof fragFifo>['io']>;

export type CounterEventField = 'ctx' | 'miss' | 'sent' | 'bytes' | 'oversize' | 'spoofed' | 'dmaErr';

export interface Check {
  /** A fetched descriptor leaves the descriptor queue (the fetcher's credits). */
  readonly descPop: Expr;
  /**
   * A descriptor that a turn took is decided (fetched or from the descriptor cache; not one the
   * cache keeps): the fetcher's count of descriptors waiting in the fetch stream.
   */
  readonly takenPop: Expr;
  /** A context's next-to-fetch seq is written in this cycle (the check's rollback, or forward move, of the last cycle). */
  readonly fetchSeqWrite: { en: Expr; ctx: Expr; value: Expr };
  /** The check changes context bits in this cycle. */
  readonly deciding: Expr;
  readonly probeHit: Expr;
  /** For the V-1 and V-2 proofs (checkProof.ts, payloadProof.ts): the decisions and the frame being assembled. */
  readonly formal: {
    readonly accept: Expr;
    readonly contAccept: Expr;
    readonly ctx: Expr;
    readonly seq: Expr;
    readonly headSeq: Expr;
    readonly nextSeq: Expr;
    /** The buffers of the first and of the next descriptor being decided (V-2, payloadProof.ts). */
    readonly headAddr: Expr;
    readonly headLen: Expr;
    readonly nextAddr: Expr;
    readonly nextLen: Expr;
    readonly assembling: Expr;
    readonly fCtx: Expr;
    readonly fFirst: Expr;
    readonly fNext: Expr;
    readonly fN: Expr;
    readonly fErr: Expr;
  };
}

/**
 * Deliberate bugs for the non-vacuity tests of the proofs (docs/formal.md): the prover must find a
 * counterexample on each. Never used outside test/formal.
 */
export type CheckMutation = 'v1-ignore-stale' | 'v2-one-more-fragment';

export function sequenceCheck(
  m: ModuleBuilder,
  cfg: TxConfig,
  lay: TxLayouts,
  deps: CheckDeps,
  opts: { mutation?: CheckMutation } = {},
): Check {
  const { flags, mems, sched, dma, metaOut, frameIn, counters } = deps;
  const fragIn = deps.frags.in;
  const { bits } = sched;
  const st = fsm(m, 'chk_state', ['IDLE', 'CMP', 'CONT', 'CWAIT'] as const);
  const dcache = deps.dcache;
  const raw0 = lay.meta.unpack(metaOut.data);
  // Without the cache every descriptor of a read is the turn's, and none comes from the cache.
  const mrec0 = dcache ? raw0 : { ...raw0, cached: lit(0, 1) };
  // A batched read (scheduler.ts) is one meta entry for n + 1 descriptors of consecutive seqs, each
  // decided on its own as below; `idx` says which of them the head of the descriptor queue is.
  const idx = m.reg('chk_idx', UInt(2), { reset: 0 });
  const headSeqNow = m.named('chk_seq', mrec0.seq.addWrap(idx.resize(cfg.iseqW)));
  // On a 512-bit bus a read is one beat holding all its descriptors (one 64-byte block): descriptor
  // `idx` is in lane `lane + idx` of it, and the beat leaves the descriptor queue with the read's last.
  const beatBatch = cfg.db === 64;
  const laneNow = m.named('chk_lane', beatBatch ? mrec0.lane.addWrap(idx) : mrec0.lane);
  // The descriptor's 128 bits in a beat that holds 2 (256-bit bus) or 4 (512-bit bus) of them.
  const pickLane = (data: Expr, lane: Expr): Expr => {
    if (cfg.db === 32) return mux(lane, data.bits(255, 128), data.bits(127, 0));
    if (cfg.db === 64) {
      const part = (i: number): Expr => data.bits(128 * i + 127, 128 * i);
      return mux(lane.bit(1), mux(lane.bit(0), part(3), part(2)), mux(lane.bit(0), part(1), part(0)));
    }
    return data.trunc(128);
  };
  const fifoRec = lay.desc.unpack(dma.descFifo.out.data);
  // A descriptor of the read beyond what its turn takes (idx >= take): not decided now, but written to
  // the cache, where the context's next turn finds it (a cached meta entry later in the stream).
  const isExtra = dcache ? m.named('chk_is_extra', mrec0.cached.not().and(idx.resize(3).ge(mrec0.take))) : lit(0, 1);
  const fill = dcache ? m.named('chk_fill', st.is('IDLE').and(metaOut.valid).and(isExtra).and(dma.descFifo.out.valid)) : lit(0, 1);
  const cacheAddr = (ctx: Expr, seq: Expr): Expr => cat(ctx, seq.bits(log2Ceil(DCACHE_SLOTS) - 1, 0));
  if (dcache) {
    const rec = lay.cached.pack({ data: pickLane(fifoRec.data, laneNow), err: fifoRec.err });
    m.when(fill, () => dcache.write(cacheAddr(mrec0.ctx, headSeqNow), rec));
  }
  const start = m.named('chk_start', st.is('IDLE').and(metaOut.valid).and(isExtra.not()));
  const expRd = mems.exp.mem.read(mrec0.ctx, { enable: start, name: 'chk_exp_rd' });
  // The descriptor of a cached entry, read at `start` like the expected seq (written by a fill at
  // least a cycle before: fills and decisions follow the stream's order).
  const cacheRd = dcache?.read(cacheAddr(mrec0.ctx, headSeqNow), { enable: start, name: 'chk_dcache_rd' });
  m.when(start, () => st.goto('CMP'));
  // The head of the meta queue is a LUT-RAM read behind the queue's pointers: CMP decides from a copy
  // taken at `start` (the head cannot change before CMP pops it), so the decision starts at flip-flops
  // (docs/tx-engine.md, Timing).
  const held = <E extends Expr>(name: string, e: E) => {
    const r = m.reg(name, e.type, { reset: 0 });
    m.when(start, () => r.set(e));
    return r;
  };
  const mrec = {
    ctx: held('chk_q_ctx', mrec0.ctx),
    seq: held('chk_q_seq', headSeqNow),
    probe: held('chk_q_probe', mrec0.probe.and(idx.eq(0))),
    lane: held('chk_q_lane', laneNow),
    base: held('chk_q_base', mrec0.base),
    log2: held('chk_q_log2', mrec0.log2),
    n: held('chk_q_n', mrec0.n),
    cached: held('chk_q_cached', mrec0.cached),
  };
  // CONT looks at the head as it was in the last cycle (`hq`): the same entry now unless a descriptor
  // left the queue then, when the head is not known for a cycle (`headFresh` low: CONT waits).
  const hqValid = m.reg('chk_hq_valid', undefined, { reset: 0 });
  const hqLane = m.reg('chk_hq_lane', mrec0.lane.type, { reset: 0 });
  const hqN = m.reg('chk_hq_n', mrec0.n.type, { reset: 0 });
  // (Whether the head is the frame's next descriptor is compared a cycle early, below: a cached entry
  // never is, as it has nothing in the descriptor queue.) An extra taken as a frame's next descriptor
  // leaves the fetcher's count of cached descriptors wrong, so the frame's end invalidates it.
  const hqExtra = m.reg('chk_hq_extra', undefined, { reset: 0 });
  hqLane.set(laneNow);
  hqN.set(mrec0.n);
  hqExtra.set(isExtra);
  const headFresh = m.named('chk_head_fresh', hqValid.or(metaOut.valid.not()));

  // CMP of a cached entry decides the descriptor read from the cache, with its error bit, as a fetched one.
  const fromCache = st.is('CMP').and(mrec.cached);
  const fifoDesc = pickLane(fifoRec.data, mux(st.is('CONT'), hqLane, mrec.lane));
  const cacheRec = cacheRd ? lay.cached.unpack(cacheRd) : undefined;
  const headRec = cacheRec
    ? { data: mux(fromCache, cacheRec.data, fifoDesc), err: mux(fromCache, cacheRec.err, fifoRec.err) }
    : { data: fifoDesc, err: fifoRec.err };
  const head = descFields(m.named('chk_head_desc', headRec.data));
  const contLane = m.reg('chk_cont_lane', cfg.laneW > 1 ? UInt(cfg.laneW) : undefined, { reset: 0 });
  const contRec = lay.desc.unpack(dma.contData);
  const cont = descFields(m.named('chk_cont_desc', pickLane(contRec.data, contLane)));
  const seq32 = (s: Expr): Expr => s.trunc(cfg.seqW).resize(32);
  const maxLen = cfg.maxFrame;

  // ---- a frame's first descriptor (CMP) ----
  const c = mrec.ctx;
  // Whether the context may run, as of two cycles ago: a decision is taken at least a cycle after its
  // context was set (`cmpWarm`, `contWarm`), so this is the flag of the right context, and the
  // decision starts at a flip-flop rather than at the per-context flags' mux. A disable or quiesce
  // takes effect two cycles later here, which no bus access can tell from a write that came later.
  const runs = m.reg('chk_runs_q', undefined, { reset: 0 });
  // The flag itself is read a cycle ahead, for the context the next cycle will hold (picked by
  // `start`), so the decision's outcomes are not behind an N_CTX-to-1 select of the flags (10 LUT
  // levels at 32 contexts): a disable or quiesce reaches the decision two cycles after the write, as
  // the decision's own flags (`runs`, `wouldAccept`) see the same copy.
  const runsAhead = m.reg('chk_runs_ahead', undefined, { reset: 0 });
  runsAhead.set(mux(start, mayRun(flags, mrec0.ctx), mayRun(flags, c)));
  const runsD = runsAhead;
  runs.set(runsD);
  // The compares are registered and the decision taken from them a cycle later (`cmpWarm`: the
  // copy of the head's meta entry and the expected seq were there in the last cycle; `headSeen`: the
  // descriptor at the head of its queue was there and was not popped), so the decision does not run
  // a 32-bit compare into everything it updates (docs/tx-engine.md, Timing).
  const staleQ = m.reg('chk_stale_q', undefined, { reset: 0 });
  const matchQ = m.reg('chk_match_q', undefined, { reset: 0 });
  const tooLongQ = m.reg('chk_too_long_q', undefined, { reset: 0 });
  const cmpWarm = m.reg('chk_cmp_warm', undefined, { reset: 0 });
  const headSeen = m.reg('chk_head_seen', undefined, { reset: 0 });
  const staleD = opts.mutation === 'v1-ignore-stale' ? lit(0, 1) : mrec.seq.ne(expRd);
  const matchD = headRec.err
    .not()
    .and(head.seq.eq(seq32(mrec.seq)))
    .and(head.len.ne(0));
  const tooLongD = head.len.gt(maxLen);
  staleQ.set(staleD);
  matchQ.set(matchD);
  tooLongQ.set(tooLongD);
  const stale = staleQ;
  const match = matchQ;
  const headTooLong = tooLongQ;
  // The outcomes the decision's effects need are registered whole beside the compares, from the same
  // inputs (the descriptor's EOP too: a decision is taken only once the descriptor was there unchanged
  // in the last cycle, as for the compares): the effects (queue pushes, commit, rollback) then start
  // one LUT behind the decision instead of behind an AND of the compares and the EOP's pick
  // (docs/tx-engine.md, Eighth round).
  const acceptD = runsD.and(staleD.not()).and(matchD);
  const flagQ = (name: string, d: Expr): Expr => {
    const r = m.reg(name, undefined, { reset: 0 });
    r.set(d);
    return r;
  };
  const headEop = flagQ('chk_eop_q', head.eop);
  const wouldAccept = flagQ('chk_would_accept_q', acceptD);
  const acceptFrag = flagQ('chk_accept_frag_q', acceptD.and(tooLongD.not()));
  const acceptEop = flagQ('chk_accept_eop_q', acceptD.and(head.eop));
  const acceptCommit = flagQ('chk_accept_commit_q', acceptD.and(head.eop).and(tooLongD.not()));
  // A decision waits only for the queue space it needs (a frame's own tentative fragments may fill the
  // fragment queue: the descriptor that makes it too long must still be taken).
  const cmpRoom = all(acceptFrag.not().or(fragIn.ready), acceptEop.not().or(frameIn.ready));
  const free = deps.hold ? deps.hold.not() : lit(1, 1);
  const cmpGo = m.named('chk_cmp_go', st.is('CMP').and(cmpWarm).and(headSeen.or(mrec.cached)).and(cmpRoom).and(free));
  cmpWarm.set(st.is('CMP').and(cmpGo.not()));
  const aDis = m.named('chk_disabled', cmpGo.and(runs.not()));
  const bStale = m.named('chk_stale', cmpGo.and(runs).and(stale));
  const cMiss = m.named('chk_miss', cmpGo.and(runs).and(stale.not()).and(match.not()));
  const dOk = m.named('chk_accept', cmpGo.and(wouldAccept));
  const probe = mrec.probe;
  const rearmC = bits.rearm.bit(c);

  // ---- the frame being assembled ----
  const fLenW = 17;
  const fCtx = m.reg('chk_f_ctx', UInt(cfg.ctxW), { reset: 0 });
  const fFirst = m.reg('chk_f_first', UInt(cfg.iseqW), { reset: 0 });
  const fNext = m.reg('chk_f_next', UInt(cfg.iseqW), { reset: 0 });
  const fN = m.reg('chk_f_n', UInt(cfg.nW), { reset: 0 });
  const fLen = m.reg('chk_f_len', UInt(fLenW), { reset: 0 });
  const fErr = m.reg('chk_f_err', undefined, { reset: 0 });
  const fBase = m.reg('chk_f_base', UInt(60), { reset: 0 });
  const fLog2 = m.reg('chk_f_log2', UInt(cfg.log2W), { reset: 0 });
  const fUsedCont = m.reg('chk_f_used_cont', undefined, { reset: 0 });

  // ---- the frame's next descriptor (CONT / CWAIT) ----
  // Whether the head of the fetch stream is the frame's next descriptor: the compare of `hq` with the
  // frame's registers, made a cycle early from what `hq` loads and from each value the frame's
  // registers may take (unchanged, a frame started in CMP, a descriptor taken in CONT or CWAIT), the one
  // of the last cycle's outcome picked now: the continuation's decisions and its read request start
  // at flip-flops, not behind a compare (docs/tx-engine.md, Eighth round).
  const nextIsQ = (name: string, ctx: Expr, seq: Expr): Expr => {
    const r = m.reg(name, undefined, { reset: 0 });
    r.set(mrec0.cached.not().and(mrec0.ctx.eq(ctx)).and(headSeqNow.eq(seq)));
    return r;
  };
  const hqIsNextSame = nextIsQ('chk_hq_next_same', fCtx, fNext);
  const hqIsNextFirst = nextIsQ('chk_hq_next_first', mrec.ctx, mrec.seq.addWrap(1));
  const hqIsNextInc = nextIsQ('chk_hq_next_inc', fCtx, fNext.addWrap(1));
  const startedQ = m.reg('chk_started_q', undefined, { reset: 0 });
  const steppedQ = m.reg('chk_stepped_q', undefined, { reset: 0 });
  const hqMatches = mux(startedQ, hqIsNextFirst, mux(steppedQ, hqIsNextInc, hqIsNextSame));
  const headIsNext = m.named('chk_head_is_next', hqValid.and(hqMatches));
  // A decision waits a cycle after the frame's registers were last set (`contWarm`), so it needs only
  // the compare with them unchanged.
  const headIsNextWarm = hqValid.and(hqIsNextSame);
  const contAddr = slotAddr(cfg, fBase, fLog2, fNext);
  // The next descriptor is fetched alone only when TX_PROD says it is posted; else the frame is
  // abandoned without a read (as on a miss, uncounted) until a doorbell posts the rest.
  const fNextPosted = deps.prod
    ? deps.prod
        .read(mux(st.is('CMP'), c, fCtx), { name: 'chk_prod_rd' })
        .subWrap(fNext.trunc(cfg.seqW))
        .bit(cfg.seqW - 1)
        .not()
    : lit(1, 1);
  const notHead = st.is('CONT').and(headFresh).and(headIsNext.not());
  const contUnposted = m.named('chk_cont_unposted', notHead.and(fNextPosted.not()));
  dma.cont.valid.set(notHead.and(fNextPosted));
  dma.cont.addr.set(descReadAddr(cfg, contAddr));
  dma.cont.len.set(cfg.db < 16 ? 1 : 0);
  m.when(dma.cont.grant, () => {
    contLane.set(descLane(cfg, contAddr));
    st.goto('CWAIT');
  });
  // The next descriptor: the head of the fetch stream (CONT) or the one fetched on its own (CWAIT).
  const fromHead = st.is('CONT');
  const nd = {
    addr: mux(fromHead, head.addr, cont.addr),
    len: mux(fromHead, head.len, cont.len),
    eop: mux(fromHead, head.eop, cont.eop),
    seq: mux(fromHead, head.seq, cont.seq),
    err: mux(fromHead, headRec.err, contRec.err),
  };
  const fRuns = m.reg('chk_f_runs_q', undefined, { reset: 0 });
  // (Read a cycle ahead as in CMP, for the frame's context the next cycle holds: picked by `dOk`.)
  const fRunsAhead = m.reg('chk_f_runs_ahead', undefined, { reset: 0 });
  const fRunsD = fRunsAhead;
  fRuns.set(fRunsD);
  // As in CMP, the compares are registered and the decision taken a cycle later, once the descriptor
  // and the frame's registers were the same in the last cycle (`contWarm`, `headSeen`, `contSeen`).
  const nMatchQ = m.reg('chk_n_match_q', undefined, { reset: 0 });
  // Compared for each source and picked by it (`fromHead` is the state, early), so the compare does
  // not start behind the source mux: the continuation's decisions were 9 LUT levels from `cont_data`.
  const nMatchOf = (err: Expr, seq: Expr, len: Expr): Expr =>
    err
      .not()
      .and(seq.eq(seq32(fNext)))
      .and(len.ne(0));
  const nMatchD = mux(fromHead, nMatchOf(headRec.err, head.seq, head.len), nMatchOf(contRec.err, cont.seq, cont.len));
  nMatchQ.set(nMatchD);
  const nMatch = nMatchQ;
  const contWarm = m.reg('chk_cont_warm', undefined, { reset: 0 });
  const contSeen = m.reg('chk_cont_seen', undefined, { reset: 0 });
  const n1 = fN.addWrap(1);
  const len1 = fLen.add(nd.len);
  // A frame may have no more descriptors than the fragment queue and its own count hold: one more
  // makes it an error frame. (With a count that wrapped, the payload reads would take too few of the
  // frame's fragments and leave the rest to the next frame, of any context: V-2.)
  const maxDescs = Math.min(cfg.fragDepth, 2 ** cfg.nW - 1);
  const tooMany = fN
    .resize(cfg.nW + 1)
    .addWrap(1)
    .gt(maxDescs);
  const errNowQ = m.reg('chk_err_now_q', undefined, { reset: 0 });
  // (The length test per source as well, picked by it.)
  const tooLongOf = (len: Expr): Expr => fLen.add(len).gt(maxLen);
  const errNowD = fErr.or(mux(fromHead, tooLongOf(head.len), tooLongOf(cont.len))).or(tooMany);
  errNowQ.set(errNowD);
  const errNow = m.named('chk_err_now', errNowQ);
  // (As in CMP: the outcomes the effects need, registered whole.)
  const takeD = fRunsD.and(nMatchD);
  const ndEop = flagQ('chk_n_eop_q', nd.eop);
  const wouldTake = flagQ('chk_would_take_q', takeD);
  const takeFrag = flagQ('chk_take_frag_q', takeD.and(errNowD.not()));
  const takeEop = flagQ('chk_take_eop_q', takeD.and(nd.eop));
  const takeCommit = flagQ('chk_take_commit_q', takeD.and(nd.eop).and(errNowD.not()));
  const takeErrs = flagQ('chk_take_errs_q', takeD.and(errNowD).and(fErr.not()));
  const contRoom = all(takeFrag.not().or(fragIn.ready), takeEop.not().or(frameIn.ready));
  const useHead = m.named('chk_use_head', st.is('CONT').and(contWarm).and(headSeen).and(headIsNextWarm).and(contRoom).and(free));
  const useCont = m.named('chk_use_cont', st.is('CWAIT').and(contWarm).and(contSeen).and(contRoom).and(free));
  dma.contTake.set(useCont);
  contSeen.set(dma.contValid.and(useCont.not()));
  const contGo = m.named('chk_cont_go', useHead.or(useCont));
  const contDis = m.named('chk_cont_disabled', contGo.and(fRuns.not()));
  const contMiss = m.named('chk_cont_miss', contGo.and(fRuns).and(nMatch.not()));
  const contOk = m.named('chk_cont_accept', contGo.and(wouldTake));
  const abandon = m.named('chk_abandon', contDis.or(contMiss).or(contUnposted));
  // The state and the frame's registers stay as they are unless the check decides or fetches alone.
  // (With two or four descriptors per DMA beat the head's lane comes from `hq`, which must be current too.)
  const laneKnown = cfg.db >= 32 ? st.is('CWAIT').or(hqValid) : lit(1, 1);
  contWarm.set(st.is('CONT').or(st.is('CWAIT')).and(contGo.or(abandon).or(dma.cont.grant).not()).and(laneKnown));
  const fNextInc = fNext.addWrap(1);

  // A descriptor of the meta entry is done (decided, or filled into the cache); only fetched ones
  // leave the descriptor queue.
  const entryPop = m.named('chk_entry_pop', any(cmpGo, useHead, fill));
  const lastOfRead = idx.eq(mux(fill, mrec0.n, mux(st.is('CONT'), hqN, mrec.n)));
  const descDone = any(cmpGo.and(mrec.cached.not()), useHead, fill);
  const descPop = m.named('chk_desc_pop', beatBatch ? descDone.and(lastOfRead) : descDone);
  metaOut.ready.set(entryPop.and(lastOfRead));
  dma.descFifo.out.ready.set(descPop);
  m.when(entryPop, () => idx.set(mux(lastOfRead, lit(0, 2), idx.addWrap(1))));
  hqValid.set(metaOut.valid.and(entryPop.not()));
  headSeen.set(dma.descFifo.out.valid.and(descPop.not()));

  // ---- fragments and frames ----
  const pushFirst = cmpGo.and(acceptFrag);
  const pushNext = contGo.and(takeFrag);
  fragIn.valid.set(pushFirst.or(pushNext));
  // The write data of the fragment and frame queues and of TX_EXP_SEQ is picked by the state (a first
  // descriptor is decided in CMP, a next one in CONT or CWAIT), not by the decision: only the write
  // enables wait for the decision (docs/tx-engine.md, Timing).
  const inCmp = st.is('CMP');
  fragIn.data.set(lay.frag.pack({ addr: mux(inCmp, head.addr, nd.addr), len: mux(inCmp, head.len, nd.len) }));
  const commitFirst = cmpGo.and(acceptEop);
  const commitNext = contGo.and(takeEop);
  deps.frags.commit.set(cmpGo.and(acceptCommit).or(contGo.and(takeCommit)));
  deps.frags.rollback.set(abandon.or(contGo.and(takeErrs)));
  frameIn.valid.set(commitFirst.or(commitNext));
  frameIn.data.set(
    mux(
      inCmp,
      lay.frame.pack({
        ctx: c,
        first: mrec.seq,
        n: lit(opts.mutation === 'v2-one-more-fragment' ? 2 : 1, cfg.nW),
        len: head.len,
        err: headTooLong,
        base: mrec.base,
        log2: mrec.log2,
      }),
      lay.frame.pack({
        ctx: fCtx,
        first: fFirst,
        n: n1,
        len: len1.trunc(16),
        err: errNow,
        base: fBase,
        log2: fLog2,
      }),
    ),
  );

  fRunsAhead.set(mux(dOk, mayRun(flags, c), mayRun(flags, fCtx)));
  m.when(dOk, () => {
    fCtx.set(c);
    fFirst.set(mrec.seq);
    fNext.set(mrec.seq.addWrap(1));
    fN.set(1);
    fLen.set(head.len.resize(fLenW));
    fErr.set(headTooLong);
    fBase.set(mrec.base);
    fLog2.set(mrec.log2);
    fUsedCont.set(0);
  });
  m.when(cmpGo, () => st.goto('IDLE'));
  m.when(dOk.and(headEop.not()), () => st.goto('CONT'));
  m.when(contOk.and(ndEop.not()), () => {
    fN.set(n1);
    m.when(errNow.not(), () => fLen.set(len1.trunc(fLenW)));
    fErr.set(errNow);
    fNext.set(fNextInc);
    m.when(useCont.or(useHead.and(hqExtra)), () => fUsedCont.set(1));
    st.goto('CONT');
  });
  m.when(abandon.or(commitNext), () => st.goto('IDLE'));
  startedQ.set(dOk);
  steppedQ.set(contOk.and(ndEop.not()));

  // ---- the expected seq advances by a whole frame at its EOP ----
  // (The register bus, the port's later user, writes only while it holds the check: `free` picks the
  // check's data.)
  const expWrite = commitFirst.or(commitNext);
  mems.exp.port.request(
    'chk',
    expWrite,
    { addr: mux(inCmp, c, fCtx), data: mux(inCmp, mrec.seq.addWrap(1), fNextInc), mask: lit(1, 1) },
    deps.hold ? free : expWrite,
  );

  // ---- rollbacks of the next-to-fetch seq ----
  const rbHead = m.named('chk_rb_head', aDis.or(bStale.and(probe)).or(cMiss));
  const resetAfterCont = commitNext.and(fUsedCont.or(useCont).or(useHead.and(hqExtra)));
  const fsEn = m.named('chk_fseq_en', rbHead.or(abandon).or(resetAfterCont));
  const fsCtx = m.named('chk_fseq_ctx', mux(rbHead, c, fCtx));
  const fsValue = m.named('chk_fseq_value', mux(rbHead, expRd, mux(abandon, fFirst, fNextInc)));
  // Written a cycle after the decision, from registers: the fetcher adopts the value from them
  // (scheduler.ts), so the decision does not run on into the fetcher's turn and the shaper. A fetch
  // the fetcher issues in the decision's cycle is then one more speculative read, which the check
  // drops as stale (its seq is past the rolled-back one); it never reads past TX_PROD.
  const fsQ = {
    en: m.reg('chk_fseq_q_en', undefined, { reset: 0 }),
    ctx: m.reg('chk_fseq_q_ctx', UInt(cfg.ctxW), { reset: 0 }),
    value: m.reg('chk_fseq_q_value', UInt(cfg.iseqW), { reset: 0 }),
  };
  fsQ.en.set(fsEn);
  m.when(fsEn, () => {
    fsQ.ctx.set(fsCtx);
    fsQ.value.set(fsValue);
  });
  // (With the descriptor cache the word's count of cached descriptors is written 0: invalidated.)
  mems.fetchSeq.port.request('chk', fsQ.en, { addr: fsQ.ctx, data: fsQ.value.resize(mems.fetchSeq.mem.width), mask: lit(1, 1) });

  // ---- counters: a miss, or a failed read (F-2: a DMA error, not a sequence miss) ----
  // Counted a cycle after the decision, from registers (the check decides at most every other
  // cycle, so one register is enough): the counter port's other users do not wait on the decision.
  const missEv = m.named('chk_miss_ev', cMiss.or(contMiss));
  const missQ = m.reg('chk_miss_q', undefined, { reset: 0 });
  const missErrQ = m.reg('chk_miss_err_q', undefined, { reset: 0 });
  const missCtxQ = m.reg('chk_miss_ctx_q', UInt(cfg.ctxW), { reset: 0 });
  missQ.set(missEv);
  m.when(missEv, () => {
    missErrQ.set(mux(cMiss, headRec.err, nd.err));
    missCtxQ.set(mux(cMiss, c, fCtx));
  });
  const missErr = missErrQ;
  counters.request('chk', missQ, {
    ctx: missCtxQ,
    miss: missErr.not(),
    sent: lit(0, 1),
    bytes: lit(0, 16),
    oversize: lit(0, 1),
    spoofed: lit(0, 1),
    dmaErr: missErr.resize(cfg.dmaErrW),
  });

  // ---- context bits ----
  // A probe's outcome: matched, the context fetches speculatively; stale, it probes again; missed,
  // it probes again if a doorbell came meanwhile (rearm), else it goes idle.
  setBit(m, bits.probeWait, cmpGo.and(probe), c, 0);
  setBit(m, bits.active, aDis.and(probe), c, 0);
  setBit(m, bits.probing, aDis.and(probe), c, 1);
  setBit(m, bits.rearm, aDis.and(probe), c, 0);
  setBit(m, bits.probing, cMiss, c, 1);
  setBit(m, bits.rearm, cMiss, c, 0);
  setBit(m, bits.active, cMiss.and(rearmC.not()), c, 0);
  setBit(m, bits.probing, dOk.and(probe), c, 0);
  const fRearm = bits.rearm.bit(fCtx);
  setBit(m, bits.probing, abandon, fCtx, 1);
  setBit(m, bits.rearm, abandon, fCtx, 0);
  setBit(m, bits.active, contDis.or(contMiss.or(contUnposted).and(fRearm.not())), fCtx, 0);

  const deciding = m.named('chk_deciding', cmpGo.or(contGo).or(contUnposted));
  const probeHit = m.named('chk_probe_hit', st.is('CONT').or(st.is('CWAIT')).and(fCtx.eq(deps.probeCtx)));
  return {
    descPop,
    takenPop: m.named('chk_taken_pop', cmpGo.or(useHead.and(hqExtra.not()))),
    fetchSeqWrite: fsQ,
    deciding,
    probeHit,
    formal: {
      accept: dOk,
      contAccept: contOk,
      ctx: c,
      seq: mrec.seq,
      headSeq: head.seq,
      nextSeq: nd.seq,
      headAddr: head.addr,
      headLen: head.len,
      nextAddr: nd.addr,
      nextLen: nd.len,
      assembling: st.is('CONT').or(st.is('CWAIT')),
      fCtx,
      fFirst,
      fNext,
      fN,
      fErr,
    },
  };
}
