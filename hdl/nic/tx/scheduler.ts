/**
 * The transmit scheduler (spec section 6, "Scheduling"): a round-robin over the contexts that have
 * work, in constant time for any N_CTX (Corundum's way): a queue of context numbers plus bits per
 * context, no scan.
 *
 * Per context (flip-flop vectors, bit c = context c):
 * - `active`: the context may have descriptors; it is in the queue or in the fetcher's turn.
 * - `probing`: its next fetch is a probe: one descriptor fetch, which is the fetch of its turn (a
 *   matching probe is its turn's first frame). A context that a doorbell wakes, or whose ring ran dry,
 *   probes, so a doorbell for an empty (or zeroed, P-8) ring costs one descriptor read. When its next
 *   turn comes before the sequence check has seen the probe (`probeWait`), the fetcher waits in that
 *   turn: frames leave in fetch order, so giving the turn to the next context would put that context
 *   a frame ahead (T-2). Once a probe matched, the context fetches speculatively: each turn issues
 *   TX_QUANTUM fetches and requeues it at the tail, so fetches of several frames are in flight.
 * - `rearm`: a doorbell arrived while the context was active. When its ring then looks dry (a seq
 *   mismatch), the context probes once more instead of going idle, because the descriptor the
 *   doorbell announced may have been written after the mismatching read: no doorbell is lost.
 * - `queued`: the context is in the queue (so each context is in it at most once; depth N_CTX).
 *
 * The fetcher takes a context from the queue, reads its ring registers and next-to-fetch seq (one
 * block RAM read), and issues its fetches; a disabled or quiescing context is dropped (it starts no
 * DMA) and waits for a doorbell after it is enabled again.
 *
 * Shaping (shaper.ts): a context its cap or share holds back skips its turn as one without ring room
 * does (requeued at the tail), and a context with a share fetches as many descriptors as its deficit
 * pays for; with TX_RATE_MAX and TX_RATE_SHARE 0 the turn is exactly as described above.
 */
import {
  any,
  bitsFor,
  cat,
  type Expr,
  fsm,
  type InPort,
  type InstancePorts,
  lit,
  type Memory,
  type ModuleBuilder,
  mux,
  type Reg,
  type SlavePorts,
  UInt,
} from '../../../generator/index.js';
import { type SyncFifoIO, syncFifo } from '../../../generator/lib/index.js';
import type { ctxEventSpec } from '../interfaces.js';
import { DCACHE_CNT_W, type TxConfig } from './config.js';
import { type ContextMemories, lane, readCtx } from './contextMemory.js';
import type { ReadRequest } from './dmaRead.js';
import { descLane, descReadAddr, slotAddr, type TxLayouts } from './layouts.js';
import { SHARE_QUOTA_W, shaper } from './shaper.js';
import { SharedPort } from './sharedPort.js';

export interface ContextBits {
  readonly active: Reg;
  readonly probing: Reg;
  readonly probeWait: Reg;
  readonly rearm: Reg;
  readonly queued: Reg;
}

export interface Flags {
  readonly en: InPort;
  readonly quiesce: InPort;
  readonly spoofchk: InPort;
}

/** A context may start DMA: enabled and not quiescing. */
export function mayRun(flags: Flags, ctx: Expr): Expr {
  return flags.en.bit(ctx).and(flags.quiesce.bit(ctx).not());
}

export interface Scheduler {
  readonly bits: ContextBits;
  readonly queue: InstancePorts<SyncFifoIO>;
  /** Pushes into the queue: the fetcher's requeue (from `requeued`) first, then doorbells. */
  readonly push: SharedPort<'ctx'>;
  /** The fetcher's requeues at the end of a turn (at most one a cycle), into `requeued`. */
  readonly requeue: SharedPort<'ctx'>;
  /**
   * The context the fetcher requeued in the last cycle, pushed now (it goes first). The fetcher's
   * decision to requeue is its latest signal; from a register, it no longer decides the doorbells'
   * pushes and the queued bits in the same cycle (docs/tx-engine.md, Timing). The context counts as
   * queued meanwhile (doorbells do not push it; V-5 counts it as waiting).
   */
  readonly requeued: { readonly valid: Reg; readonly ctx: Reg };
}

export function scheduler(m: ModuleBuilder, cfg: TxConfig): Scheduler {
  const n = cfg.nCtx;
  const all = (1n << BigInt(n)) - 1n;
  const bits: ContextBits = {
    active: m.reg('ctx_active', UInt(n), { reset: 0 }),
    probing: m.reg('ctx_probing', UInt(n), { reset: all }),
    probeWait: m.reg('ctx_probe_wait', UInt(n), { reset: 0 }),
    rearm: m.reg('ctx_rearm', UInt(n), { reset: 0 }),
    queued: m.reg('ctx_queued', UInt(n), { reset: 0 }),
  };
  const queue = m.instance('u_active_q', syncFifo({ width: cfg.ctxW, depth: n })).io;
  const push = new SharedPort<'ctx'>(m, 'act_push', ['ctx']);
  const requeued = {
    valid: m.reg('act_requeue_q', undefined, { reset: 0 }),
    ctx: m.reg('act_requeue_q_ctx', UInt(cfg.ctxW), { reset: 0 }),
  };
  const s = { bits, queue, push, requeue: new SharedPort<'ctx'>(m, 'act_requeue', ['ctx']), requeued };
  pushContext(m, s, 'requeue', requeued.valid, requeued.ctx);
  return s;
}

/** The fetcher requeues `ctx` at the end of its turn: pushed from a register in the next cycle. */
function requeueContext(s: Scheduler, who: string, en: Expr, ctx: Expr): Expr {
  return s.requeue.request(who, en, { ctx });
}

/** Whether `ctx` is in the queue or in the requeue register. */
function queuedOrRequeued(s: Scheduler, ctx: Expr): Expr {
  return s.bits.queued.bit(ctx).or(s.requeued.valid.and(s.requeued.ctx.eq(ctx)));
}

/** Sets bit `ctx` of `reg` to `value` on edges where `cond` holds. */
export function setBit(m: ModuleBuilder, reg: Reg, cond: Expr, ctx: Expr, value: 0 | 1): void {
  m.when(cond, () => reg.atIndex(ctx).set(value));
}

/** Asks for a queue push of `ctx` (granted when no higher-priority push uses the port) and marks it queued. */
export function pushContext(m: ModuleBuilder, s: Scheduler, who: string, en: Expr, ctx: Expr): Expr {
  const granted = s.push.request(who, en, { ctx });
  setBit(m, s.bits.queued, granted, ctx, 1);
  return granted;
}

export interface FetcherDeps {
  readonly flags: Flags;
  readonly mems: ContextMemories;
  readonly metaIn: InstancePorts<SyncFifoIO>['in'];
  readonly ar: ReadRequest;
  /** The sequence check writing a context's next-to-fetch seq in this cycle (a rollback decided in the last one). */
  readonly chkFetchSeq: { en: Expr; ctx: Expr; value: Expr };
  /** The turn's shaping decision; shaper.ts unless given (the V-5 proof gives free decisions). */
  readonly shaper?: typeof shaper;
  /**
   * The doorbell bound and batching (docs/tx-engine.md, *Fetching up to TX_PROD*): the last TX_PROD
   * per context (SEQ_W bits), the check's pop of a fetched descriptor (credits for the descriptor
   * buffer), and the expected seqs (a context with nothing posted and nothing in flight goes idle).
   * Without it (the V-5 proof) the fetcher fetches until a miss, one descriptor per read.
   */
  readonly bound?: { readonly prod: Memory; readonly descPop: Expr; readonly takenPop?: Expr };
  /**
   * While high the fetcher leaves the next-to-fetch port alone (no fetch, no cache drop): a held
   * TX_EXP_SEQ write (registers.ts) then waits for none of its decisions.
   */
  readonly hold?: Expr;
  /**
   * While high the fetcher starts no read of the context words (no pop, no reload): a pending register
   * read (registers.ts) then has the shared read ports without waiting on the fetcher's decision.
   */
  readonly readHold?: Expr;
}

/** Descriptors per read at most: one aligned 64-byte block (4 beats on a 128-bit bus, one beat on a 512-bit bus). */
export const FETCH_BATCH = 4;

export interface Fetcher {
  /**
   * Whether the fetcher is busy with context `ctx` (in its turn, or reloading it), for doorbell
   * gating. A pop is not counted: a doorbell for the head in the cycle it is popped only sets bits the
   * pop does not write (rearm; or active and probing, with no push, as the head is still queued), just
   * as it would a cycle before the pop, so the doorbell's ready does not wait on the pop decision
   * (docs/tx-engine.md, Ninth round).
   */
  busyWith(ctx: Expr): Expr;
  /** A context whose turn waits for its probe, set aside while another context takes a turn. */
  readonly held: Expr;
  readonly heldCtx: Expr;
  /** For the V-5 proof (schedulerProof.ts): the fetcher is in a turn (LOAD, ISSUE or WAIT), and whose. */
  readonly formal: { readonly inTurn: Expr; readonly turnCtx: Expr };
}

/**
 * A deliberate bug for the non-vacuity test of V-5 (docs/formal.md): the prover must find a
 * counterexample. Never used outside test/formal. `v5-keep-turn`: a context that used its quota keeps
 * the fetcher for another turn instead of going to the tail of the queue (no rotation).
 */
export type SchedulerMutation = 'v5-keep-turn';

export function fetcher(
  m: ModuleBuilder,
  cfg: TxConfig,
  lay: TxLayouts,
  s: Scheduler,
  deps: FetcherDeps,
  opts: { mutation?: SchedulerMutation } = {},
): Fetcher {
  const { flags, mems, metaIn, ar, chkFetchSeq } = deps;
  const { bits, queue } = s;
  const st = fsm(m, 'fetch_state', ['IDLE', 'LOAD', 'ISSUE', 'WAIT', 'RESUME'] as const);
  const head = queue.out.data;
  const turnCtx = m.reg('fetch_ctx', UInt(cfg.ctxW), { reset: 0 });
  const c = turnCtx;
  const isActive = m.named('fetch_ctx_active', bits.active.bit(c));
  // WAIT: the context's turn came while its probe is still out. The rotation holds here until the
  // check has seen the probe, so the turn is not given away (T-2: the wire order is the fetch order).
  // A context that went idle meanwhile leaves the rotation; otherwise its state is read again.
  const waitDrop = m.named('fetch_wait_drop', st.is('WAIT').and(isActive.not()));
  const probeOut = bits.probeWait.bit(c);
  const readFree = deps.readHold ? deps.readHold.not() : lit(1, 1);
  const reload = m.named('fetch_reload', st.is('WAIT').and(isActive).and(probeOut.not()).and(readFree));
  // Meanwhile a context at the head of the queue with a probe to issue (just woken, say) takes its
  // turn, a probe, before the held one resumes: a newcomer's first frame does not wait behind the held
  // context's next one. The held context is kept aside (`held`) and its WAIT resumes after that turn.
  const held = m.reg('fetch_held', undefined, { reset: 0 });
  const heldCtx = m.reg('fetch_held_ctx', UInt(cfg.ctxW), { reset: 0 });
  const fresh = bits.probing.bit(head).and(bits.probeWait.bit(head).not());
  const ready = queue.out.valid.and(mems.initBusy.not()).and(readFree);
  const popIdle = st.is('IDLE').and(ready);
  const popCut = m.named('fetch_pop_cut', st.is('WAIT').and(held.not()).and(isActive).and(probeOut).and(ready).and(fresh));
  const pop = m.named('fetch_pop', popIdle.or(popCut));
  queue.out.ready.set(pop);
  m.when(popCut, () => {
    held.set(1);
    heldCtx.set(c);
  });
  const rdEn = pop.or(reload);
  // The read address picked by the state (a pop reads the head: in IDLE, or in WAIT while the held
  // context's probe is out; a reload reads the turn's context), not by the pop decision itself.
  const rdCtx = m.named('fetch_rd_ctx', mux(st.is('IDLE').or(st.is('WAIT').and(probeOut)), head, c));
  // (The register bus reads ring, cpl and exp words on these ports when the fetcher does not: readCtx.)
  const ringRd = readCtx(m, mems.ring, rdEn, rdCtx, 'fetch_ring_rd');
  const fseqRd = mems.fetchSeq.mem.read(rdCtx, { enable: rdEn, name: 'fetch_seq_rd' });
  const cplRd = readCtx(m, mems.cpl, rdEn, rdCtx, 'fetch_cpl_rd');
  const bound = deps.bound;
  const prodRd = bound?.prod.read(rdCtx, { enable: rdEn, name: 'fetch_prod_rd' });
  const expRd = bound && readCtx(m, mems.exp, rdEn, rdCtx, 'fetch_exp_rd');
  // No other context waits for a turn: a turn may then batch up to FETCH_BATCH descriptors whatever
  // TX_QUANTUM is (T-2 compares contexts that are all saturated, which then wait in the queue).
  const alone = m.named('fetch_alone', queue.out.valid.not().and(held.not()).and(s.requeued.valid.not()));
  m.when(pop, () => turnCtx.set(head));
  m.when(rdEn, () => st.goto('LOAD'));
  m.when(waitDrop, () => st.goto('IDLE'));
  setBit(m, bits.queued, pop, head, 0);
  // A RAM read returns the old word when the same word is written in that cycle: a rollback of the
  // context's next-to-fetch seq in the read cycle is kept here and wins over the read.
  const popAdopt = m.reg('fetch_pop_adopt', undefined, { reset: 0 });
  const popAdoptValue = m.reg('fetch_pop_adopt_value', UInt(cfg.iseqW), { reset: 0 });
  // (Used only in LOAD, which always follows a read cycle: set in every cycle, not behind the read's
  // enable, so the pop decision does not run into them; docs/tx-engine.md, Ninth round.)
  popAdopt.set(chkFetchSeq.en.and(chkFetchSeq.ctx.eq(rdCtx)));
  popAdoptValue.set(chkFetchSeq.value);

  const tSeq = m.reg('fetch_seq', UInt(cfg.iseqW), { reset: 0 });
  const tBase = m.reg('fetch_base', UInt(64 - 4), { reset: 0 });
  const tLog2 = m.reg('fetch_log2', UInt(cfg.log2W), { reset: 0 });
  // The in-use counts at or above the ring's size, as a mask set with tLog2: the ring-room tests are
  // an AND and a zero test of flip-flops, not a shift of tLog2 and a compare (the placed worst path
  // at 3dd544c ran from fetch_log2 through that compare into the read request).
  const allSeq = (1n << BigInt(cfg.iseqW)) - 1n;
  const tPastRing = m.reg('fetch_past_ring', UInt(cfg.iseqW), { reset: allSeq });
  const tCpl = m.reg('fetch_cpl', UInt(cfg.iseqW), { reset: 0 });
  // tSeq - tCpl, kept in a register beside them: the ring-room test, the batch size and the shaper's
  // charge start from flip-flops instead of behind a subtract (docs/tx-engine.md, Timing).
  const tInUse = m.reg('fetch_in_use', UInt(cfg.iseqW), { reset: 0 });
  // Cached descriptors from tSeq on (what the next-to-fetch word said, less what the turn took).
  const tCnt = m.reg('fetch_cached', UInt(DCACHE_CNT_W), { reset: 0 });
  // The turn's TX_PROD, expected seq and whether it started alone (with the bound only).
  const tb = bound && {
    prod: m.reg('fetch_prod', UInt(cfg.seqW), { reset: 0 }),
    exp: m.reg('fetch_exp', UInt(cfg.iseqW), { reset: 0 }),
    alone: m.reg('fetch_alone_q', undefined, { reset: 0 }),
  };
  // Wide enough for a turn of a context with a share (shaper.ts) as well as for TX_QUANTUM.
  const qW = Math.max(bitsFor(cfg.quantum), SHARE_QUOTA_W);
  const quota = m.reg('fetch_quota', UInt(qW), { reset: 0 });
  // A probe stays one descriptor: its turn waits for it (WAIT), and a batch there would leave only
  // its own frames to cover that round trip.
  const turnQuota = (base: Expr, aloneNow: Expr): Expr =>
    mux(isProbing, lit(1, qW), bound ? mux(aloneNow.and(base.lt(FETCH_BATCH)), lit(FETCH_BATCH, qW), base) : base);
  const adopt = m.named('fetch_adopt', chkFetchSeq.en.and(chkFetchSeq.ctx.eq(c)));
  const isProbing = m.named('fetch_ctx_probing', bits.probing.bit(c));
  // Whether the turn's context may run, registered from the context the turn has in the next cycle
  // (the popped head, the held context at RESUME, else the same): the turn's decisions then start at a
  // flip-flop instead of behind the per-context flags' select (docs/tx-engine.md, Eighth round). A
  // disable or quiesce reaches the fetcher a cycle later, as it reaches the sequence check
  // (`chk_runs_q`): no bus access can tell that from a write that came a cycle later.
  const turnCtxNext = mux(pop, head, mux(st.is('RESUME'), heldCtx, c));
  const runsQ = m.reg('fetch_ctx_runs_q', undefined, { reset: 0 });
  runsQ.set(mayRun(flags, turnCtxNext));
  const runs = m.named('fetch_ctx_runs', runsQ);
  const inTurn = st.is('LOAD').or(st.is('ISSUE'));
  const drop = m.named('fetch_drop', inTurn.and(isActive.not()));
  // A disabled or quiescing context starts no DMA: it leaves the active set until a doorbell.
  const disable = m.named('fetch_disable', inTurn.and(isActive).and(runs.not()));
  m.when(drop.or(disable), () => st.goto('IDLE'));
  setBit(m, bits.active, disable, c, 0);
  setBit(m, bits.probing, disable, c, 1);
  setBit(m, bits.rearm, disable, c, 0);

  // The descriptor cache (docs/tx-engine.md, *Descriptor cache*): the next-to-fetch word also counts
  // the descriptors from its seq on that an earlier read left in the cache (0 when any other stage
  // wrote the word last: a rollback, a frame's forward move, TX_EXP_SEQ).
  const cacheOn = bound !== undefined && cfg.dcache;
  const rdWordSeq = fseqRd.trunc(cfg.iseqW);
  const rdWordCnt = cacheOn ? fseqRd.bits(cfg.iseqW + DCACHE_CNT_W - 1, cfg.iseqW) : lit(0, DCACHE_CNT_W);
  // Never fetch behind the next seq to complete: those slots are done (a fetch there is stale).
  const storedSeq = mux(adopt, chkFetchSeq.value, mux(popAdopt, popAdoptValue, rdWordSeq));
  const storedInUse = storedSeq.subWrap(cplRd);
  const behind = storedInUse.bit(cfg.iseqW - 1);
  const loadSeq = m.named('fetch_load_seq', mux(behind, cplRd, storedSeq));
  // A probe never takes from the cache (a woken or re-enabled context reads its ring again).
  const loadCnt = mux(any(adopt, popAdopt, behind, isProbing), lit(0, DCACHE_CNT_W), rdWordCnt);
  const load = m.named('fetch_load', st.is('LOAD').and(isActive).and(runs));
  const issue = ar.grant;
  // A turn's take from the descriptor cache (no read): the shaper counts it as a fetch.
  const serveW = m.wire('fetch_serve_w');
  // Shaping (TX_RATE_MAX, TX_RATE_SHARE): decided per turn from state read with the turn's other words.
  const shape = (deps.shaper ?? shaper)(m, cfg, {
    mems,
    rdCtx,
    rdEn,
    load,
    ctx: c,
    loadSeq,
    cpl: cplRd,
    turnInUse: tInUse,
    issue: issue.or(serveW),
  });
  m.when(load, () => {
    tBase.set(cat(lane(ringRd, 1), lane(ringRd, 0).bits(31, 4)));
    const loadLog2 = lane(ringRd, 2).trunc(cfg.log2W);
    tLog2.set(loadLog2);
    tPastRing.set(lit(allSeq, cfg.iseqW).shl(loadLog2));
    tSeq.set(loadSeq);
    tCnt.set(loadCnt);
    tCpl.set(cplRd);
    tInUse.set(mux(behind, lit(0, cfg.iseqW), storedInUse));
    if (tb && prodRd && expRd) {
      tb.prod.set(prodRd);
      tb.exp.set(expRd);
      tb.alone.set(alone);
    }
    quota.set(turnQuota(lit(cfg.quantum, qW), alone));
    st.goto('ISSUE');
  });
  // A context with a share has its quota from the shaper two cycles later (its turn waits them).
  m.when(shape.shareLate, () => quota.set(turnQuota(shape.shareQuota.resize(qW), tb ? tb.alone : alone)));

  // ---- issue: one fetch per cycle while the turn lasts ----
  const issuing = st
    .is('ISSUE')
    .and(isActive)
    .and(runs)
    .and(adopt.not())
    .and(shape.wait ? shape.wait.not() : lit(1, 1));
  // The slot of cpl + ring size still holds a descriptor that has not completed: a fetch there (or
  // beyond) could only miss, so a context that reached it skips its turn (it is ahead of the others).
  // A context whose probe is still out holds the rotation (WAIT) instead of skipping.
  const ringSize = lit(1, cfg.slotW + 1).shl(tLog2);
  const roomFor = (inUse: Expr): Expr => inUse.and(tPastRing).eq(0);
  // The descriptor cache's prefetch step: the turn has used its quota (0 left) and may still read the
  // context's next block, all of it for the cache (see `pfFollows` below).
  const pfPhase = cacheOn ? m.named('fetch_pf_phase', quota.eq(0)) : lit(0, 1);
  // Reads start past the cached descriptors.
  const frontier = cacheOn ? m.named('fetch_frontier', tSeq.addWrap(tCnt.resize(cfg.iseqW))) : tSeq;
  const frontierInUse = cacheOn ? m.named('fetch_frontier_in_use', tInUse.addWrap(tCnt.resize(cfg.iseqW))) : tInUse;
  // A context its cap or share holds back skips its turn like one without room (requeued at the tail).
  const room = m.named('fetch_room', roomFor(tInUse).and(shape.ok));
  const waiting = m.named('fetch_wait', isProbing.and(bits.probeWait.bit(c)));
  // (A turn taken while another is held never waits: it started with no probe out.)
  m.when(issuing.and(waiting).and(held.not()), () => st.goto('WAIT'));
  const skip = m.named('fetch_skip', issuing.and(pfPhase.not()).and(room.not().or(waiting.and(held))));
  const skipped = requeueContext(s, 'fetch_skip', skip, c);
  m.when(skipped, () => st.goto('IDLE'));

  const addr = slotAddr(cfg, tBase, tLog2, frontier);
  const b =
    tb && bound
      ? batchSize(m, cfg, {
          tProd: tb.prod,
          tSeq: frontier,
          inUse: frontierInUse,
          ringSize,
          addr,
          quota,
          // With the cache a read is cut to the quota only for a probe (the rest waits in the cache);
          // without it, unless the context is alone.
          clampToQuota: cacheOn ? isProbing : tb.alone.and(isProbing.not()).not(),
          capped: shape.capped,
          descPop: bound.descPop,
          issue,
        })
      : undefined;
  // The turn takes from the cache first (no read: a cached meta entry), while it holds the next seqs
  // and TX_PROD still posts them; with a cap one at a time, as reads are (the shaper reserves one frame each).
  const sp = tb && cacheOn ? postedFrom(m, cfg, tb.prod, tSeq, 'fetch_serve') : undefined;
  const serveMode = sp ? m.named('fetch_serve_mode', tCnt.ne(0).and(pfPhase.not())) : lit(0, 1);
  const quota4 = clamp4(quota);
  const nServe = sp ? min3(min3(clamp4(tCnt), quota4), sp.nPosted) : lit(1, 3);
  const served = shape.capped ? mux(shape.capped, lit(1, 3), nServe) : nServe;
  // The descriptors of this read (1 without the bound), or those taken from the cache.
  const k = m.named('fetch_k', b ? mux(serveMode, served, b.k) : lit(1, 3));
  // The ones this turn takes: all of a read but for the quota (a context alone takes its whole block:
  // its quota was raised to FETCH_BATCH), none of a prefetch; the rest go to the cache, counted in
  // the fetch word.
  const keep = m.named('fetch_keep', cacheOn ? mux(serveMode, k, mux(pfPhase, lit(0, 3), min3(k, quota4))) : k);
  const cw = DCACHE_CNT_W;
  const cntNext = m.named(
    'fetch_cnt_next',
    cacheOn ? mux(serveMode, tCnt.subWrap(k.resize(cw)), tCnt.addWrap(k.resize(cw)).subWrap(keep.resize(cw))) : lit(0, cw),
  );
  // (A turn of a context alone may overshoot its quota by the last read: reads stay 64-byte aligned.)
  const lastPosted = b ? (sp ? mux(serveMode, takesLastPosted(sp, k), takesLastPosted(b, k)) : takesLastPosted(b, k)) : lit(0, 1);
  // After the turn's quota a read of the next block follows while the cache holds at most the
  // context's threshold (its context number mod 4): the contexts' reads fall in different rounds of
  // the rotation instead of all in the round where their caches run dry (started together, every
  // context would read in the same round, each read giving one frame).
  const thr = (cfg.ctxW >= 2 ? c.trunc(2) : c).resize(cw);
  const pfFollows = cacheOn ? cntNext.le(thr).and(shape.capped ? shape.capped.not() : lit(1, 1)) : lit(0, 1);
  const quotaUsed = quota.le(keep.resize(qW));
  const lastOfTurn = m.named('fetch_last', any(isProbing, pfPhase, lastPosted, quotaUsed.and(pfFollows.not())));
  // The descriptors turns took that the check has not decided yet (fetched or cached) stay at most
  // the descriptor buffer's depth, as without the cache, where every one of them was in that buffer:
  // a turn with a share then runs no further ahead of its charge (frames are charged as they leave).
  const takenW = bitsFor(cfg.descInflight) + 1;
  const taken = m.reg('fetch_taken', UInt(takenW), { reset: 0 });
  const takenPop = bound?.takenPop ?? lit(0, 1);
  // A prefetch that cannot go now (nothing posted beyond, no ring room, no credits) is left for a later turn.
  const pfOk = b ? roomFor(frontierInUse).and(b.posted).and(b.credit) : lit(0, 1);
  const pfEnd = m.named('fetch_pf_end', issuing.and(pfPhase).and(pfOk.not()));
  const pfEnded = requeueContext(s, 'fetch_pf_end', pfEnd, c);
  m.when(pfEnded, () => st.goto('IDLE'));
  const takenRoom = lit(cfg.descInflight, takenW).subWrap(taken).ge(keep.resize(takenW));
  const fetchable = b
    ? mux(pfPhase, pfOk, mux(serveMode, sp ? sp.posted : lit(0, 1), b.posted.and(b.credit)).and(cacheOn ? takenRoom : lit(1, 1)))
    : lit(1, 1);
  // The next-to-fetch port as the fetcher may use it: a held TX_EXP_SEQ write goes first (a flip-flop).
  const fseqFree = deps.hold ? mems.fetchSeq.port.free().and(deps.hold.not()) : mems.fetchSeq.port.free();
  const wantAr = m.named(
    'fetch_want',
    issuing
      .and(room.or(pfPhase))
      .and(waiting.not())
      .and(fetchable)
      .and(metaIn.ready)
      .and(fseqFree)
      .and(lastOfTurn.not().or(s.requeue.free())),
  );
  const serve = m.named('fetch_serve', wantAr.and(serveMode));
  serveW.set(serve);
  ar.valid.set(wantAr.and(serveMode.not()));
  ar.addr.set(descReadAddr(cfg, addr));
  // (On a 512-bit bus a read is one beat, which holds the whole block.)
  ar.len.set(cfg.db < 16 ? lit(1, 8) : cfg.db === 64 ? lit(0, 8) : k.subWrap(1).resize(8));
  const entry = m.named('fetch_entry', issue.or(serve));
  taken.set(taken.addWrap(mux(entry, keep.resize(takenW), lit(0, takenW))).subWrap(mux(takenPop, lit(1, takenW), lit(0, takenW))));
  metaIn.valid.set(entry);
  metaIn.data.set(
    lay.meta.pack({
      ctx: c,
      seq: mux(serveMode, tSeq, frontier),
      probe: isProbing,
      lane: descLane(cfg, addr),
      base: tBase,
      log2: tLog2,
      n: k.subWrap(1).trunc(2),
      take: keep,
      cached: serveMode,
    }),
  );
  // Nothing posted beyond what was fetched (TX_PROD): with nothing of the context in flight either
  // (next to fetch = expected) it goes idle until its next doorbell, or reloads once if one came
  // meanwhile (rearm: its TX_PROD may be newer than the one read); else it skips the turn.
  // (Cached descriptors TX_PROD no longer posts are dropped: the fetch word is written with count 0.)
  const postedNow = sp ? mux(serveMode, sp.posted, b ? b.posted : lit(1, 1)) : b ? b.posted : lit(1, 1);
  const unposted = b
    ? m.named(
        'fetch_unposted',
        issuing.and(pfPhase.not()).and(room).and(waiting.not()).and(postedNow.not()).and(serveMode.not().or(fseqFree)),
      )
    : lit(0, 1);
  const drained = tb ? tSeq.eq(tb.exp) : lit(0, 1);
  const rearmC = bits.rearm.bit(c);
  const goIdle = m.named('fetch_idle', unposted.and(drained).and(rearmC.not()));
  m.when(goIdle, () => st.goto('IDLE'));
  setBit(m, bits.active, goIdle, c, 0);
  setBit(m, bits.probing, goIdle, c, 1);
  const requeueUnposted = requeueContext(s, 'fetch_unposted', unposted.and(goIdle.not()), c);
  setBit(m, bits.rearm, requeueUnposted, c, 0);
  m.when(requeueUnposted, () => st.goto('IDLE'));
  const seqNext = tSeq.addWrap(keep.resize(cfg.iseqW));
  const dropCache = unposted.and(serveMode);
  const fseqWord = (seq: Expr, cnt: Expr): Expr => (cacheOn ? cat(cnt, seq) : seq);
  mems.fetchSeq.port.request('fetch', entry.or(dropCache), {
    addr: c,
    data: mux(dropCache, fseqWord(tSeq, lit(0, cw)), fseqWord(seqNext, cntNext)),
    mask: lit(1, 1),
  });
  m.when(dropCache, () => tCnt.set(0));
  setBit(m, bits.probeWait, issue.and(isProbing), c, 1);
  const keepTurn = opts.mutation === 'v5-keep-turn' ? entry.and(lastOfTurn).and(held.not()) : undefined;
  requeueContext(s, 'fetch', keepTurn ? entry.and(lastOfTurn).and(keepTurn.not()) : entry.and(lastOfTurn), c);
  m.when(st.is('ISSUE').and(adopt), () => {
    tSeq.set(chkFetchSeq.value);
    tInUse.set(chkFetchSeq.value.subWrap(tCpl));
    tCnt.set(0);
  });
  m.when(entry, () => {
    tSeq.set(seqNext);
    tInUse.set(tInUse.addWrap(keep.resize(cfg.iseqW)));
    tCnt.set(cntNext);
    quota.set(quota.subWrap(keep.resize(qW)));
    m.when(lastOfTurn, () => st.goto('IDLE'));
  });
  if (keepTurn) {
    m.when(keepTurn, () => {
      quota.set(lit(cfg.quantum, qW));
      st.goto('ISSUE');
    });
  }
  // The end of a turn taken while another was held: back to the held context's WAIT, through RESUME,
  // which takes the held context back from registers (the turn's end is the fetcher's latest
  // decision; it no longer picks the turn's context and the held flag in the same cycle: a cycle, only
  // after such a turn).
  const turnEnd = m.named('fetch_turn_end', any(drop, disable, skipped, pfEnded, goIdle, requeueUnposted, entry.and(lastOfTurn)));
  m.when(turnEnd.and(held), () => st.goto('RESUME'));
  m.when(st.is('RESUME'), () => {
    st.goto('WAIT');
    turnCtx.set(heldCtx);
    held.set(0);
  });

  // While a turn waits for its probe, the fetcher changes no context bits, so doorbells (even the
  // context's own, which rearm it) pass; a doorbell that wakes it meets waitDrop, which does not requeue.
  // A held context is not in WAIT to meet waitDrop, so its doorbells wait.
  const turnBusy = m.named('fetch_turn_busy', inTurn.or(reload));
  const busyWith = (x: Expr): Expr => turnBusy.and(turnCtx.eq(x));
  return { busyWith, held, heldCtx, formal: { inTurn: inTurn.or(st.is('WAIT')), turnCtx } };
}

interface BatchDeps {
  readonly tProd: Expr;
  readonly tSeq: Expr;
  /** tSeq less the turn's next seq to complete. */
  readonly inUse: Expr;
  readonly ringSize: Expr;
  readonly addr: Expr;
  readonly quota: Expr;
  /** The quota cuts the read short (else a context alone reads its whole block, or the cache keeps the rest). */
  readonly clampToQuota: Expr;
  readonly capped?: Expr;
  readonly descPop: Expr;
  readonly issue: Expr;
}

/** `x` clamped to FETCH_BATCH, as 3 bits. */
function clamp4(x: Expr): Expr {
  return mux(x.ge(FETCH_BATCH), lit(FETCH_BATCH, 3), x.trunc(3));
}

function min3(a: Expr, b: Expr): Expr {
  return mux(a.lt(b), a, b);
}

/**
 * How many descriptors the next read of the turn fetches: at most FETCH_BATCH (on 128- and 512-bit
 * buses; 1 otherwise), and never past TX_PROD, the ring's end, an aligned 64-byte block (so never across 4 KiB),
 * the slot of cpl + ring size, or the turn's quota (unless the context is alone); it is issued once the
 * descriptor buffer has room for all of it (credits returned as the check pops descriptors). With a cap set, one per read: the shaper reserves one frame
 * per fetch.
 */
function batchSize(m: ModuleBuilder, cfg: TxConfig, d: BatchDeps) {
  const { ahead, posted, nPosted } = postedFrom(m, cfg, d.tProd, d.tSeq, 'fetch');
  const usedW = bitsFor(cfg.descBuffer);
  const used = m.reg('fetch_desc_used', UInt(usedW), { reset: 0 });
  const free = lit(cfg.descBuffer, usedW + 1).subWrap(used.resize(usedW + 1));
  const rw = cfg.slotW + 2;
  const ring = d.ringSize.resize(rw);
  const slot = d.tSeq.trunc(rw).and(ring.subWrap(1));
  const inUse = d.inUse.trunc(rw);
  let k = min3(nPosted, clamp4(ring.subWrap(slot)));
  k = min3(k, clamp4(ring.subWrap(inUse)));
  k = mux(d.clampToQuota, min3(k, clamp4(d.quota)), k);
  // Within the read's aligned 64-byte block: 4 beats at 128 bits, the lanes of one beat at 512.
  if (cfg.db === 16 || cfg.db === 64) k = min3(k, lit(4, 3).subWrap(d.addr.bits(5, 4).resize(3)));
  else k = lit(1, 3);
  if (d.capped) k = mux(d.capped, lit(1, 3), k);
  const kk = m.named('fetch_batch', k);
  // A read waits for credits for all of it rather than going out short: with the descriptor buffer
  // full, credits come back one at a time, and short reads would cost a host read slot each.
  // Counted per entry of the fetch stream (a read, or a take from the descriptor cache, `entry` and
  // `n` as the fetcher sets them), returned per descriptor the check is done with.
  // (On a 512-bit bus the buffer holds beats: a read of up to 4 descriptors is one entry.)
  const beats = cfg.db === 64 ? lit(1, 3) : kk;
  const credit = m.named('fetch_credit', free.ge(beats.resize(free.width)));
  const inc = mux(d.issue, beats.resize(usedW), lit(0, usedW));
  used.set(used.addWrap(inc).subWrap(mux(d.descPop, lit(1, usedW), lit(0, usedW))));
  return { k: kk, posted, credit, ahead, nPosted };
}

/** What TX_PROD posts from `seq` on: whether `seq` is posted, and how many (at most FETCH_BATCH). */
function postedFrom(m: ModuleBuilder, cfg: TxConfig, prod: Expr, seq: Expr, name: string) {
  const sw = cfg.seqW;
  // TX_PROD is the last posted seq; a value behind the next seq to fetch (in the SEQ_W window) posts nothing.
  const ahead = m.named(`${name}_prod_ahead`, prod.subWrap(seq.trunc(sw)));
  const posted = m.named(`${name}_posted`, ahead.bit(sw - 1).not());
  const nPosted = mux(ahead.ge(FETCH_BATCH - 1), lit(FETCH_BATCH, 3), ahead.trunc(3).addWrap(1));
  return { ahead, posted, nPosted };
}

/** The entry's `k` descriptors take the last posted one: the turn ends (the next one sees what is posted then). */
function takesLastPosted(b: { ahead: Expr; nPosted: Expr }, k: Expr): Expr {
  return b.ahead.lt(FETCH_BATCH).and(b.nPosted.eq(k));
}

export interface DoorbellDeps {
  readonly doorbell: SlavePorts<ReturnType<typeof ctxEventSpec>>;
  readonly initBusy: Expr;
  /** The sequence check changes context bits in this cycle. */
  readonly checkDeciding: Expr;
  readonly fetcher: Fetcher;
}

/**
 * Doorbells: an inactive context becomes active (probing) and joins the queue; an active one is
 * rearmed. A doorbell waits while the fetcher or the sequence check is changing the same bits, so no
 * update is lost to a same-cycle race (popping the mailbox's queue clears its event bit; a doorbell in
 * that very cycle is queued again by the mailbox, C-3).
 *
 * The fetcher's pushes into the active queue come first. A waking doorbell whose push meets one of
 * them is taken anyway and its push kept in a register (`db_pend`) that pushes in a later cycle (the
 * fetcher pushes at most once per turn); doorbells wait only while it is held. So a doorbell's ready
 * does not wait on the fetcher's read grant, which decides its push (docs/tx-engine.md, Timing).
 */
export interface Doorbells {
  /** A woken context whose push into the active queue is held (db_pend), and which. */
  readonly pend: Expr;
  readonly pendCtx: Expr;
}

export function doorbells(m: ModuleBuilder, s: Scheduler, deps: DoorbellDeps): Doorbells {
  const { doorbell, initBusy, checkDeciding, fetcher: f } = deps;
  const ctx = doorbell.ctx;
  const sameAsTurn = m.named('db_same_as_turn', f.busyWith(ctx).or(f.held.and(f.heldCtx.eq(ctx))));
  const pend = m.reg('db_pend', undefined, { reset: 0 });
  const pendCtx = m.reg('db_pend_ctx', UInt(ctx.width), { reset: 0 });
  doorbell.ready.set(initBusy.not().and(checkDeciding.not()).and(sameAsTurn.not()).and(pend.not()));
  const fire = m.named('db_fire', doorbell.valid.and(doorbell.ready));
  const wasActive = s.bits.active.bit(ctx);
  setBit(m, s.bits.rearm, fire.and(wasActive), ctx, 1);
  const wake = m.named('db_wake', fire.and(wasActive.not()));
  setBit(m, s.bits.active, wake, ctx, 1);
  setBit(m, s.bits.probing, wake, ctx, 1);
  // (While a push is held no doorbell fires, so the held push and a live one never both ask.)
  const pendPushed = pushContext(m, s, 'db_pend', pend, pendCtx);
  const want = m.named('db_want_push', wake.and(queuedOrRequeued(s, ctx).not()));
  const pushed = pushContext(m, s, 'db', want, ctx);
  m.when(want.and(pushed.not()), () => {
    pend.set(1);
    pendCtx.set(ctx);
  }).elseWhen(pendPushed, () => pend.set(0));
  return { pend, pendCtx };
}

/** Drives the queue's input from its push port; call after every pusher has asked. */
export function finishScheduler(s: Scheduler): void {
  const rq = s.requeue.result();
  s.requeued.valid.set(rq.valid);
  s.requeued.ctx.set(rq.values.ctx);
  const { valid, values } = s.push.result();
  s.queue.in.valid.set(valid);
  s.queue.in.data.set(values.ctx);
}
