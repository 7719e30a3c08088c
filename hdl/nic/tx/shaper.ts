/**
 * Per-context transmit shaping (spec section 13, S-1..S-5; docs/tx-engine.md, Shaping): a token-bucket
 * cap (TX_RATE_MAX) and a deficit round-robin share (TX_RATE_SHARE), decided by the fetcher at each
 * turn, in constant time for any N_CTX.
 *
 * Frames leave in fetch order, so shaping has to act where descriptors are fetched, before their
 * lengths are known. Both mechanisms therefore compare against what the context has actually sent
 * (the low word of TX_BYTES, counted as each frame leaves) and keep their state as absolute byte counts
 * relative to it, in block RAM written only by the fetcher (once per turn): nothing has to be charged
 * or refunded when a frame leaves, and the state of a context that is not visited does not change.
 *
 * - Cap: `allowed` grows by RATE bytes per 2^10 cycles since the last refill (one multiply, the elapsed
 *   time clamped to 2^24 cycles), at most the bucket depth above `sent`. A fetch is issued only while
 *   tokens exceed one maximum frame per descriptor not yet completed (next-to-fetch - next-to-complete,
 *   both read for the turn anyway), so everything fetched fits the bucket but the last frame: a capped
 *   context sends at most RATE * time + depth + one maximum frame over any window (S-1).
 * - Share: each turn adds SHARE * 64 bytes to the deficit (credit - sent, at most 2^18). The turn then
 *   charges each descriptor fetched and not yet completed at the context's frame size (estimated as a
 *   power of two); with what is left positive the context fetches left / estimate + 1 descriptors (at
 *   most 32), else it skips its turn. Real lengths replace the estimates as frames leave, so a turn may
 *   overshoot; the overshoot is taken back by later turns and the long-run bytes follow the credits,
 *   which grow by the weights (S-2). A backlogged context keeps its deficit across turns it cannot use.
 *
 * With both registers 0 the turn is exactly the unshaped one (`ok` is 1 and the quota is TX_QUANTUM).
 */
import { any, cat, type Expr, lit, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
import { TX_BURST_UNIT, TX_RATE_MAX, TX_RATE_SHARE, TX_SHARE_UNIT } from '../../registers/map.js';
import type { TxConfig } from './config.js';
import { type ContextMemories, counterLayout, lane, readCtx, SHAPE_FRAC, shapeStateLayout } from './contextMemory.js';

/** Elapsed cycles used by one refill are clamped here (a longer idle refills no more: conservative). */
const ELAPSED_W = 24;
/** The most a deficit may grow, in bytes: above what a backlogged context can have in flight. */
export const SHARE_DEFICIT_MAX = 2 ** 18;
/** The most descriptors a turn with a share may fetch (the descriptor buffer's depth). */
export const SHARE_TURN_MAX = 32;
/** Width of the fetcher's quota when shares are possible. */
export const SHARE_QUOTA_W = 6;
const HEADROOM_W = 40;

export interface ShaperDeps {
  readonly mems: ContextMemories;
  /** The fetcher's RAM read for a turn: context and enable (pop or reload). */
  readonly rdCtx: Expr;
  readonly rdEn: Expr;
  /** The LOAD cycle of a turn that will issue: the context, its next seq to fetch and to complete. */
  readonly load: Expr;
  readonly ctx: Expr;
  readonly loadSeq: Expr;
  readonly cpl: Expr;
  /** The turn's next seq to fetch less its next seq to complete, from the cycle after LOAD (fetch_in_use). */
  readonly turnInUse: Expr;
  /** A fetch was issued in this cycle (for the turn's context). */
  readonly issue: Expr;
}

export interface Shaper {
  /** The turn's context may issue a fetch now. */
  readonly ok: Expr;
  /** Two cycles after LOAD of a context with a share: the turn's quota it gives (SHARE_QUOTA_W bits) is valid. */
  readonly shareLate: Expr;
  readonly shareQuota: Expr;
  /** The turn's context has a cap (TX_RATE_MAX): the fetcher then reads one descriptor per read. */
  readonly capped?: Expr;
  /** After LOAD, two cycles for a context with a share, three for a capped one: `ok` is not known yet, the turn neither issues nor skips. */
  readonly wait?: Expr;
}

/** Sign-extends a two's-complement value to n bits. */
function sext(x: Expr, n: number): Expr {
  return n === x.width ? x : cat(x.bit(x.width - 1).repeat(n - x.width), x);
}

/** A two's-complement value is > 0. */
function positive(x: Expr): Expr {
  return x
    .bit(x.width - 1)
    .not()
    .and(x.orR());
}

export function shaper(m: ModuleBuilder, cfg: TxConfig, deps: ShaperDeps): Shaper {
  const { mems } = deps;
  const maxFrame = cfg.maxFrame;
  const now = m.reg('shape_now', UInt(32), { reset: 0 });
  now.set(now.addWrap(1));

  const cfgRd = readCtx(m, mems.shapeCfg, deps.rdEn, deps.rdCtx, 'fetch_shape_cfg_rd');
  const stRd = mems.shape.mem.read(deps.rdCtx, { enable: deps.rdEn, name: 'fetch_shape_rd' });
  const cntRd = mems.counters.mem.read(deps.rdCtx, { enable: deps.rdEn, name: 'fetch_sent_rd' });
  const rateWord = lane(cfgRd, 0);
  const rate = m.named('shape_rate', rateWord.bits(TX_RATE_MAX.RATE.lsb + TX_RATE_MAX.RATE.width - 1, TX_RATE_MAX.RATE.lsb));
  const burstUnits = rateWord.bits(TX_RATE_MAX.BURST.lsb + TX_RATE_MAX.BURST.width - 1, TX_RATE_MAX.BURST.lsb);
  const share = m.named('shape_share', lane(cfgRd, 1).trunc(TX_RATE_SHARE.SHARE.width));
  const state = shapeStateLayout.unpack(stRd);
  // The RAM may return the counter row of a frame still being counted: that frame has not completed,
  // so it is still reserved below as a descriptor in flight (the check stays conservative).
  const cnt = counterLayout.unpack(cntRd);
  const sent = cnt.bytesLo;

  // ---- cap: refill the bucket, then reserve one maximum frame per descriptor not yet completed ----
  // The refill is spread over the two cycles after LOAD, from the RAM words the turn read (they hold:
  // the fetcher reads again only at its next pop or reload, and a turn waits these cycles) and from
  // what LOAD registered of the settings word (whose port the register bus may use meanwhile): the
  // cycle after LOAD (`loadQ`) multiplies rate by elapsed time from flip-flops into a register, the
  // next (`loadQ2`) adds, compares and writes the state back (docs/tx-engine.md, Timing).
  const loadQ = m.reg('shape_load_q', undefined, { reset: 0 });
  loadQ.set(deps.load);
  const loadQ2 = m.reg('shape_load_q2', undefined, { reset: 0 });
  loadQ2.set(loadQ);
  const rateQ = m.reg('shape_rate_q', UInt(rate.width), { reset: 0 });
  const burstQ = m.reg('shape_burst_q', UInt(burstUnits.width), { reset: 0 });
  const elQ = m.reg('shape_elapsed_q', UInt(ELAPSED_W), { reset: 0 });
  const sentFx = cat(sent, lit(0, SHAPE_FRAC));
  const fxW = sentFx.width;
  const sumW = fxW + 4;
  const tokFx = state.allowed.subWrap(sentFx);
  const elapsed = now.subWrap(state.last);
  const el = mux(elapsed.bits(31, ELAPSED_W).orR(), lit(2 ** ELAPSED_W - 1, ELAPSED_W), elapsed.trunc(ELAPSED_W));
  const incQ = m.reg('shape_inc_q', UInt(rate.width + ELAPSED_W), { reset: 0 });
  m.when(loadQ, () => incQ.set(rateQ.mul(elQ)));
  const inc = incQ;
  const burstBytes = burstQ.shl(Math.log2(TX_BURST_UNIT));
  const depthBytes = mux(burstBytes.lt(maxFrame), lit(maxFrame, burstBytes.width), burstBytes);
  const depthFx = cat(depthBytes, lit(0, SHAPE_FRAC)).resize(sumW);
  // The tokens (allowed - sent) are registered at LOAD and their distances to the bucket's depth and
  // floor the cycle after (`loadQ`): at `loadQ2` the refill's sum and its two compares (sum > depth,
  // sum < floor, as inc > depth - tokens and inc < floor - tokens) are each one carry chain from
  // flip-flops, not three chains in series behind the RAM read (docs/tx-engine.md, Ninth round).
  // (sumW holds tokens + inc: tokens are within +-2^(fxW-1), inc below 2^(sumW-2).)
  if (inc.width > sumW - 2) throw new RangeError('shaper: the refill does not fit the sum');
  const thrW = sumW + 1;
  const tokQ = m.reg('shape_tok_q', UInt(sumW), { reset: 0 });
  const overThrQ = m.reg('shape_over_thr_q', UInt(thrW), { reset: 0 });
  const underThrQ = m.reg('shape_under_thr_q', UInt(thrW), { reset: 0 });
  const floorFx = lit(2 ** sumW - maxFrame * 2 ** SHAPE_FRAC, sumW);
  m.when(deps.load, () => tokQ.set(sext(tokFx, sumW)));
  m.when(loadQ, () => {
    overThrQ.set(depthFx.resize(thrW).subWrap(sext(tokQ, thrW)));
    underThrQ.set(sext(floorFx, thrW).subWrap(sext(tokQ, thrW)));
  });
  const incT = inc.resize(thrW + 1);
  const sum = tokQ.addWrap(inc.resize(sumW));
  // sum > depth is depth - tokens - inc < 0, sum < floor is inc - (floor - tokens) < 0: the sign of a
  // subtract each (a carry chain; thrW + 1 bits hold either difference).
  const over = m.named(
    'shape_over',
    sext(overThrQ, thrW + 1)
      .subWrap(incT)
      .bit(thrW),
  );
  const under = m.named('shape_under', incT.subWrap(sext(underThrQ, thrW + 1)).bit(thrW));
  const capped = m.named('shape_capped', rate.orR());
  const capOn = m.reg('shape_cap_on', undefined, { reset: 0 });
  // Without a cap the bucket is kept full, so a cap set later starts with its whole depth.
  // Under a cap tokens never fall below -(one maximum frame) (a fetch needs them positive); deeper
  // debts come only from frames fetched before the cap was set or lowered, which it does not charge.
  const full = capOn.not().or(over);
  const tokNew = m.named('shape_tokens', mux(full, depthFx, mux(under, floorFx, sum)));
  // allowed = sent + tokens, each candidate added beside the compares rather than after the pick.
  const allowedNew = m.named(
    'shape_allowed',
    mux(
      full,
      sentFx.addWrap(depthFx.trunc(fxW)),
      mux(under, sentFx.addWrap(floorFx.trunc(fxW)), state.allowed.addWrap(inc.resize(fxW + 4).trunc(fxW))),
    ),
  );
  const tokBytes = tokNew.bits(sumW - 1, SHAPE_FRAC);
  // At most a ring's worth: the fetcher never runs more than the ring size ahead of completion.
  // The reservation is taken three cycles after LOAD, from the turn's registers and the refilled
  // tokens (a capped context's turn waits those cycles, `wait`).
  const inflight = deps.turnInUse.trunc(cfg.slotW + 1);
  // (Registered: the turn's seqs hold from the cycle after LOAD, so the product is there at pend3,
  // and the multiply does not run into the headroom's subtract.)
  const reserved = m.reg('shape_reserved', UInt(HEADROOM_W), { reset: 0 });
  reserved.set(inflight.mul(lit(maxFrame, 11)).resize(HEADROOM_W));
  const headroom = m.reg('shape_headroom', UInt(HEADROOM_W), { reset: 0 });
  const tokens = m.reg('shape_tok_bytes', UInt(HEADROOM_W), { reset: 0 });
  const pend = m.reg('shape_pend', undefined, { reset: 0 });
  const pend2 = m.reg('shape_pend2', undefined, { reset: 0 });
  const pend3 = m.reg('shape_pend3', undefined, { reset: 0 });

  // ---- share: deficit round-robin against the bytes sent ----
  const dW = 34;
  const deficit = state.credit.subWrap(sent);
  const quantum = cat(share, lit(0, Math.log2(TX_SHARE_UNIT))).resize(dW);
  const dSum = sext(deficit, dW).addWrap(quantum);
  const dOver = dSum
    .bit(dW - 1)
    .not()
    .and(dSum.gt(lit(SHARE_DEFICIT_MAX, dW)));
  const dNew = mux(dOver, lit(SHARE_DEFICIT_MAX, dW), dSum);
  const shareOn = m.named('shape_share_on', share.orR());
  // The frame size estimate (a power of two, 64..2048 bytes) follows the bytes per frame sent since the
  // last turn: a turn then fetches deficit / estimate + 1 frames, between one and two times what the
  // deficit pays for, so a deficit never runs away (the long-run bytes follow the credits).
  const dFrames = cnt.frames.trunc(16).subWrap(state.frames);
  const dBytes = sent.subWrap(state.sent);
  // Up when dBytes >= dFrames << (est + 7), down when dBytes < dFrames << (est + 6): each constant
  // shift compared at once (no shifter between the two subtracts and the compare), the one of the
  // state's estimate picked after (docs/tx-engine.md, Ninth round). dBytes >= dFrames * 2^k is
  // dBytes / 2^k (rounded down) >= dFrames, a compare of the top bits. (dFrames << 13 fits 32 bits.)
  const atLeast = (k: number): Expr => dBytes.bits(31, k).ge(dFrames);
  const ge = Array.from({ length: 14 }, (_, k) => (k >= 7 ? atLeast(k) : lit(0, 1)));
  const pickByEst = (f: (e: number) => Expr): Expr => {
    let v = f(7);
    for (let e = 6; e >= 0; e--) v = mux(state.est.eq(e), f(e), v);
    return v;
  };
  const estUp = dFrames.orR().and(pickByEst((e) => (e < 5 ? (ge[e + 7] as Expr) : lit(0, 1))));
  const estDown = dFrames.orR().and(pickByEst((e) => (e > 0 ? (ge[e + 6] as Expr).not() : lit(0, 1))));
  const est = m.named('shape_est', mux(estUp, state.est.addWrap(lit(1, 3)), mux(estDown, state.est.subWrap(lit(1, 3)), state.est)));
  // LOAD registers the new deficit and estimate; the turn's charge and quota follow in the next cycle
  // (a context with a share waits it, `wait`), and the state is written back then with the refill.
  const dNewQ = m.reg('shape_deficit_q', UInt(dW), { reset: 0 });
  const estQ = m.reg('shape_est_q', UInt(3), { reset: 0 });
  const shareOnQ = m.reg('shape_share_on_q', undefined, { reset: 0 });
  const sharePend = m.reg('shape_share_pend', undefined, { reset: 0 });
  sharePend.set(deps.load.and(shareOn));
  // Without a share the credit follows what was sent, so a share set later starts from a zero deficit.
  const creditNew = mux(shareOnQ, sent.addWrap(dNewQ.trunc(32)), sent);
  // The turn decides on the deficit less the descriptors already fetched and not yet completed, each
  // charged at the estimate: charging only what was sent let a context fetch a frame on every turn
  // until its first frames left, then skip for as long (bursts of 20 to 40 frames of 1514 bytes on a
  // host that reads 200 cycles late, docs/tx-engine.md, Shaping). Once sent, a frame is charged its
  // real length instead, so estimation errors do not last. The credit itself (against what was sent)
  // is kept as it was: a backlogged context whose descriptors are late keeps accruing, it forfeits nothing.
  // (`inflight` is the turn's next seq to fetch less its next to complete, as registered at LOAD.)
  const estShift = estQ.resize(4).addWrap(lit(6, 4));
  const charge = inflight.resize(dW).shl(estShift).trunc(dW);
  // Registered the cycle after LOAD, the test and the quota taken from it in the next (a context with
  // a share waits both cycles): the charge's shift and subtract are not in one path with them.
  const dAhead = m.reg('shape_share_ahead', UInt(dW), { reset: 0 });
  const sharePend2 = m.reg('shape_share_pend2', undefined, { reset: 0 });
  sharePend2.set(sharePend);
  m.when(sharePend, () => dAhead.set(dNewQ.subWrap(charge)));
  const turns = dAhead.trunc(19).shr(estShift).add(1);
  const shareQuota = m.named(
    'shape_share_quota',
    mux(turns.gt(SHARE_TURN_MAX), lit(SHARE_TURN_MAX, SHARE_QUOTA_W), turns.trunc(SHARE_QUOTA_W)),
  );
  const shareOk = m.reg('shape_share_ok', undefined, { reset: 1 });

  pend.set(deps.load.and(capped));
  pend2.set(pend);
  pend3.set(pend2);
  m.when(loadQ2, () => tokens.set(sext(tokBytes, HEADROOM_W)));
  m.when(deps.load, () => {
    rateQ.set(rate);
    burstQ.set(burstUnits);
    elQ.set(el);
    dNewQ.set(dNew);
    estQ.set(est);
    shareOnQ.set(shareOn);
    capOn.set(capped);
    shareOk.set(shareOn.not());
  });
  // (positive(dAhead) also says dAhead is below 2^18, as dNew is: the quota's truncation holds.)
  m.when(sharePend2, () => shareOk.set(positive(dAhead)));
  const afterPend = tokens.subWrap(reserved);
  const afterIssue = headroom.subWrap(lit(maxFrame, HEADROOM_W));
  m.when(pend3, () => headroom.set(afterPend));
  m.when(deps.issue, () => headroom.set(afterIssue));
  // Whether headroom is positive, kept beside it (each candidate's sign and zero test from
  // registers; the fetch grant picks), so the turn's `ok` does not start with a 40-bit compare.
  const headroomPos = m.reg('shape_headroom_pos', undefined, { reset: 0 });
  m.when(pend3, () => headroomPos.set(positive(afterPend)));
  m.when(deps.issue, () => headroomPos.set(positive(afterIssue)));
  // A capped turn writes its state back two cycles after LOAD (it waits three, so the turn's context
  // and RAM words still hold); any other turn the cycle after, as its turn may end then and the next
  // one load another context. Without a cap the bucket is full, which needs no product. (`last` is
  // LOAD's cycle, so the next refill's elapsed time is exact.)
  const writeBack = m.named('shape_write_back', mux(capOn, loadQ2, loadQ));
  mems.shape.port.request('fetch', writeBack, {
    addr: deps.ctx,
    data: shapeStateLayout.pack({
      allowed: allowedNew,
      last: now.subWrap(mux(capOn, lit(2, 32), lit(1, 32))),
      credit: creditNew,
      sent,
      frames: cnt.frames.trunc(16),
      est: estQ,
    }),
    mask: lit(1, 1),
  });
  // any(pend, pend2, pend3, sharePend, sharePend2) as one flip-flop, set from their next values: the
  // turn's issue and skip start at it, not at a five-input OR (docs/tx-engine.md, Ninth round).
  const waitQ = m.reg('shape_wait_q', undefined, { reset: 0 });
  waitQ.set(any(deps.load.and(capped.or(shareOn)), pend, pend2, sharePend));
  const ok = m.named('shape_ok', capOn.not().or(headroomPos).and(shareOk));
  return {
    ok,
    shareLate: sharePend2,
    shareQuota,
    capped: capOn,
    wait: m.named('shape_wait', waitQ),
  };
}
