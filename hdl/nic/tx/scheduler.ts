/**
 * The transmit scheduler (spec section 6, "Scheduling"): a round-robin over the contexts that have
 * work, in constant time for any N_CTX (Corundum's way): a queue of context numbers plus bits per
 * context, no scan.
 *
 * Per context (flip-flop vectors, bit c = context c):
 * - `active`: the context may have descriptors; it is in the queue or in the fetcher's turn.
 * - `probing`: its next fetch is a probe: one descriptor fetch, after which the context skips its
 *   turns (keeping its place in the round-robin) until the sequence check has seen that descriptor
 *   (`probeWait`). A context that a doorbell wakes, or whose ring ran dry, probes, so a doorbell for
 *   an empty (or zeroed, P-8) ring costs one descriptor read. Once a probe matched, the context
 *   fetches speculatively: each turn issues TX_QUANTUM fetches and requeues it at the tail, so
 *   fetches of several frames are in flight.
 * - `rearm`: a doorbell arrived while the context was active. When its ring then looks dry (a seq
 *   mismatch), the context probes once more instead of going idle, because the descriptor the
 *   doorbell announced may have been written after the mismatching read: no doorbell is lost.
 * - `queued`: the context is in the queue (so each context is in it at most once; depth N_CTX).
 *
 * The fetcher takes a context from the queue, reads its ring registers and next-to-fetch seq (one
 * block RAM read), and issues its fetches; a disabled or quiescing context is dropped (it starts no
 * DMA) and waits for a doorbell after it is enabled again.
 */
import {
  bitsFor,
  cat,
  type Expr,
  fsm,
  type InPort,
  type InstancePorts,
  lit,
  type ModuleBuilder,
  mux,
  type Reg,
  type SlavePorts,
  UInt,
} from '../../../generator/index.js';
import { type SyncFifoIO, syncFifo } from '../../../generator/lib/index.js';
import type { ctxEventSpec } from '../interfaces.js';
import type { TxConfig } from './config.js';
import { type ContextMemories, lane } from './contextMemory.js';
import type { ReadRequest } from './dmaRead.js';
import { descReadAddr, slotAddr, type TxLayouts } from './layouts.js';
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
  /** Pushes into the queue: the fetcher's requeues first, then doorbells. */
  readonly push: SharedPort<'ctx'>;
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
  return { bits, queue, push: new SharedPort(m, 'act_push', ['ctx']) };
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
  /** The sequence check writing a context's next-to-fetch seq in this cycle (a rollback). */
  readonly chkFetchSeq: { en: Expr; ctx: Expr; value: Expr };
}

export interface Fetcher {
  /** The context the fetcher is busy with (popped this cycle, or in its turn), for doorbell gating. */
  readonly busy: Expr;
  readonly busyCtx: Expr;
}

export function fetcher(m: ModuleBuilder, cfg: TxConfig, lay: TxLayouts, s: Scheduler, deps: FetcherDeps): Fetcher {
  const { flags, mems, metaIn, ar, chkFetchSeq } = deps;
  const { bits, queue } = s;
  const st = fsm(m, 'fetch_state', ['IDLE', 'LOAD', 'ISSUE'] as const);
  const head = queue.out.data;
  const pop = m.named('fetch_pop', st.is('IDLE').and(queue.out.valid).and(mems.initBusy.not()));
  queue.out.ready.set(pop);
  const turnCtx = m.reg('fetch_ctx', UInt(cfg.ctxW), { reset: 0 });
  const ringRd = mems.ring.mem.read(head, { enable: pop, name: 'fetch_ring_rd' });
  const fseqRd = mems.fetchSeq.mem.read(head, { enable: pop, name: 'fetch_seq_rd' });
  const cplRd = mems.cpl.mem.read(head, { enable: pop, name: 'fetch_cpl_rd' });
  m.when(pop, () => {
    turnCtx.set(head);
    st.goto('LOAD');
  });
  setBit(m, bits.queued, pop, head, 0);
  // A RAM read returns the old word when the same word is written in that cycle: a rollback of the
  // popped context's next-to-fetch seq in the pop cycle is kept here and wins over the read.
  const popAdopt = m.reg('fetch_pop_adopt', undefined, { reset: 0 });
  const popAdoptValue = m.reg('fetch_pop_adopt_value', UInt(cfg.iseqW), { reset: 0 });
  popAdopt.set(pop.and(chkFetchSeq.en).and(chkFetchSeq.ctx.eq(head)));
  m.when(pop, () => popAdoptValue.set(chkFetchSeq.value));

  const c = turnCtx;
  const tSeq = m.reg('fetch_seq', UInt(cfg.iseqW), { reset: 0 });
  const tBase = m.reg('fetch_base', UInt(64 - 4), { reset: 0 });
  const tLog2 = m.reg('fetch_log2', UInt(cfg.log2W), { reset: 0 });
  const tCpl = m.reg('fetch_cpl', UInt(cfg.iseqW), { reset: 0 });
  const qW = bitsFor(cfg.quantum);
  const quota = m.reg('fetch_quota', UInt(qW), { reset: 0 });
  const adopt = m.named('fetch_adopt', chkFetchSeq.en.and(chkFetchSeq.ctx.eq(c)));
  const isActive = m.named('fetch_ctx_active', bits.active.bit(c));
  const isProbing = m.named('fetch_ctx_probing', bits.probing.bit(c));
  const runs = m.named('fetch_ctx_runs', mayRun(flags, c));
  const inTurn = st.is('LOAD').or(st.is('ISSUE'));
  const drop = m.named('fetch_drop', inTurn.and(isActive.not()));
  // A disabled or quiescing context starts no DMA: it leaves the active set until a doorbell.
  const disable = m.named('fetch_disable', inTurn.and(isActive).and(runs.not()));
  m.when(drop.or(disable), () => st.goto('IDLE'));
  setBit(m, bits.active, disable, c, 0);
  setBit(m, bits.probing, disable, c, 1);
  setBit(m, bits.rearm, disable, c, 0);

  // Never fetch behind the next seq to complete: those slots are done (a fetch there is stale).
  const storedSeq = mux(adopt, chkFetchSeq.value, mux(popAdopt, popAdoptValue, fseqRd));
  const behind = storedSeq.subWrap(cplRd).bit(cfg.iseqW - 1);
  const loadSeq = m.named('fetch_load_seq', mux(behind, cplRd, storedSeq));
  m.when(st.is('LOAD').and(isActive).and(runs), () => {
    tBase.set(cat(lane(ringRd, 1), lane(ringRd, 0).bits(31, 4)));
    tLog2.set(lane(ringRd, 2).trunc(cfg.log2W));
    tSeq.set(loadSeq);
    tCpl.set(cplRd);
    quota.set(mux(isProbing, lit(1, qW), lit(cfg.quantum, qW)));
    st.goto('ISSUE');
  });

  // ---- issue: one fetch per cycle while the turn lasts ----
  const issuing = st.is('ISSUE').and(isActive).and(runs).and(adopt.not());
  // The slot of cpl + ring size still holds a descriptor that has not completed: a fetch there (or
  // beyond) could only miss. A context that reached it, or whose probe is still out, skips its turn.
  const ringSize = lit(1, cfg.slotW + 1).shl(tLog2);
  const room = m.named('fetch_room', tSeq.subWrap(tCpl).lt(ringSize));
  const waiting = m.named('fetch_wait', isProbing.and(bits.probeWait.bit(c)));
  const skip = m.named('fetch_skip', issuing.and(room.not().or(waiting)));
  m.when(pushContext(m, s, 'fetch_skip', skip, c), () => st.goto('IDLE'));

  const lastOfTurn = m.named('fetch_last', isProbing.or(quota.eq(1)));
  const addr = slotAddr(cfg, tBase, tLog2, tSeq);
  const wantAr = m.named(
    'fetch_want',
    issuing.and(room).and(waiting.not()).and(metaIn.ready).and(mems.fetchSeq.port.free()).and(lastOfTurn.not().or(s.push.free())),
  );
  ar.valid.set(wantAr);
  ar.addr.set(descReadAddr(cfg, addr));
  ar.len.set(cfg.db < 16 ? 1 : 0);
  const issue = ar.grant;
  metaIn.valid.set(issue);
  metaIn.data.set(lay.meta.pack({ ctx: c, seq: tSeq, probe: isProbing, lane: addr.bit(4), base: tBase, log2: tLog2 }));
  const seqNext = tSeq.addWrap(1);
  mems.fetchSeq.port.request('fetch', issue, { addr: c, data: seqNext, mask: lit(1, 1) });
  setBit(m, bits.probeWait, issue.and(isProbing), c, 1);
  pushContext(m, s, 'fetch', issue.and(lastOfTurn), c);
  m.when(st.is('ISSUE').and(adopt), () => tSeq.set(chkFetchSeq.value));
  m.when(issue, () => {
    tSeq.set(seqNext);
    quota.set(quota.subWrap(1));
    m.when(lastOfTurn, () => st.goto('IDLE'));
  });

  const busy = m.named('fetch_busy', pop.or(inTurn));
  const busyCtx = m.named('fetch_busy_ctx', mux(pop, head, turnCtx));
  return { busy, busyCtx };
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
 */
export function doorbells(m: ModuleBuilder, s: Scheduler, deps: DoorbellDeps): void {
  const { doorbell, initBusy, checkDeciding, fetcher: f } = deps;
  const ctx = doorbell.ctx;
  const sameAsTurn = f.busy.and(f.busyCtx.eq(ctx));
  doorbell.ready.set(initBusy.not().and(checkDeciding.not()).and(sameAsTurn.not()).and(s.push.free()));
  const fire = m.named('db_fire', doorbell.valid.and(doorbell.ready));
  const wasActive = s.bits.active.bit(ctx);
  setBit(m, s.bits.rearm, fire.and(wasActive), ctx, 1);
  const wake = m.named('db_wake', fire.and(wasActive.not()));
  setBit(m, s.bits.active, wake, ctx, 1);
  setBit(m, s.bits.probing, wake, ctx, 1);
  pushContext(m, s, 'db', wake.and(s.bits.queued.bit(ctx).not()), ctx);
}

/** Drives the queue's input from its push port; call after every pusher has asked. */
export function finishScheduler(s: Scheduler): void {
  const { valid, values } = s.push.result();
  s.queue.in.valid.set(valid);
  s.queue.in.data.set(values.ctx);
}
