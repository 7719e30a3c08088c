/**
 * Which frames' payload reads failed (F-1), known as early as the R channel tells, so that the stream
 * can drop a failed frame before its first beat instead of waiting for the whole frame
 * (store-and-forward would cost line rate).
 *
 * Payload bursts (one AXI ID) return in the order they were issued, and frames leave the stream in
 * that order too. So the R side counts frames: a queue of one bit per burst in flight (does it end its
 * frame?) tells which beat ends a frame, and the frame's error bit (an error response on any of its
 * beats) goes into a small ring (LUT RAM), one entry per frame whose reads are complete and which has
 * not left the stream, with its count of failed bursts (TX_DMA_ERR counts bursts) beside it.
 * The stream's current frame is the oldest one with payload that has not left, so:
 * - when the ring holds a frame (`complete`), that is the current frame and its bit is final;
 * - otherwise the R side is reading the current frame right now, and the errors seen so far are its.
 * An error response is thus known to the stream before any byte of that beat could reach it.
 */
import { cat, type Expr, lit, log2Ceil, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
import { syncFifo } from '../../../generator/lib/index.js';
import type { TxConfig } from './config.js';
import type { PayloadBeat } from './dmaRead.js';

export interface PayloadErrorDeps {
  readonly beat: PayloadBeat;
  /** A payload burst is issued in this cycle, and whether it is its frame's last. */
  readonly issued: Expr;
  readonly eof: Expr;
}

export interface PayloadErrors {
  /** Some payload beat of the stream's current frame failed (as far as its reads have returned). */
  readonly known: Expr;
  /**
   * The current frame failed: for use on its last beat, when all its reads have returned (if they had
   * not, it counts as failed, so a frame is never passed as good on a guess).
   */
  readonly failed: Expr;
  /** How many of the current frame's bursts failed (read with `failed`, on its last beat). */
  readonly failedBursts: Expr;
  /** Set by the stream: a frame with payload leaves in this cycle. */
  readonly advance: ReturnType<ModuleBuilder['wire']>;
}

export function payloadErrors(m: ModuleBuilder, cfg: TxConfig, deps: PayloadErrorDeps): PayloadErrors {
  const { beat } = deps;
  // Frames whose reads may all have returned before they left the stream: those the issuer holds
  // (1), the egress queue (orderDepth), the decision's pipeline and the verdict queue (together at
  // most verdictDepth: egress.ts) and the stream's current one. The ring holds more, so its indexes
  // never catch up with each other.
  const ringSize = 2 ** log2Ceil(cfg.orderDepth + cfg.verdictDepth + 3);
  const idxW = log2Ceil(ringSize);

  // Bursts in flight never outnumber the packer's burst queue (both are pushed on issue, this one is
  // popped first), so this queue always has room.
  const eofQ = m.instance('u_pay_eof_q', syncFifo({ width: 1, depth: cfg.burstDepth, storage: 'flops' })).io;
  eofQ.in.valid.set(deps.issued);
  eofQ.in.data.set(deps.eof);
  const burstEnd = m.named('pe_burst_end', beat.valid.and(beat.last));
  eofQ.out.ready.set(burstEnd);
  const frameEnd = m.named('pe_frame_end', burstEnd.and(eofQ.out.data));

  const seen = m.reg('pe_seen', undefined, { reset: 0 });
  // Failed bursts of the frame so far: the bursts before this one, and whether this one failed yet.
  const burstSeen = m.reg('pe_burst_seen', undefined, { reset: 0 });
  const count = m.reg('pe_count', UInt(cfg.dmaErrW), { reset: 0 });
  const burstFailed = burstSeen.or(beat.err);
  const countNow = m.named('pe_count_now', count.addWrap(burstFailed.resize(cfg.dmaErrW)));
  m.when(beat.valid, () => burstSeen.set(mux(burstEnd, 0, burstFailed)));
  m.when(burstEnd, () => count.set(mux(frameEnd, lit(0, cfg.dmaErrW), countNow)));
  // Each frame's {count of failed bursts, error bit}, in LUT RAM (a ring of flip-flops indexed at run
  // time costs a decoder and a multiplexer per bit). Written before it is read (a frame's entry is
  // read only once `complete`), so no reset is needed.
  const ring = m.memory('pe_ring', { width: cfg.dmaErrW + 1, depth: ringSize });
  const rIdx = m.reg('pe_r_idx', UInt(idxW), { reset: 0 });
  const sIdx = m.reg('pe_s_idx', UInt(idxW), { reset: 0 });
  const frameErr = seen.or(beat.err);
  const seenNext = mux(beat.valid, mux(frameEnd, lit(0, 1), frameErr), seen);
  seen.set(seenNext);
  m.when(frameEnd, () => {
    ring.write(rIdx, cat(countNow, frameErr));
    rIdx.set(rIdx.addWrap(1));
  });
  const advance = m.wire('pe_advance');
  m.when(advance, () => sIdx.set(sIdx.addWrap(1)));

  const head = ring.readAsync(sIdx);
  const headErr = m.named('pe_head_err', head.bit(0));
  // `failed` is a flip-flop: its next value worked out for both outcomes of the stream's advance,
  // from the ring's words at sIdx and sIdx + 1 (a second read) and the write of this cycle, and picked
  // by the advance. The stream's last-beat error flag then starts at a flip-flop, not at the ring's
  // read and the index compare (docs/tx-engine.md, Ninth round). Reset: the ring is empty, so failed.
  const sNext = sIdx.addWrap(1);
  const rNext = rIdx.addWrap(1);
  const headNextErr = ring.readAsync(sNext).bit(0);
  const failedQ = m.reg('pe_failed_q', undefined, { reset: 1 });
  // After this cycle's write: does the ring hold a frame at `s`, and its error bit (`errAt` read now).
  const after = (s: Expr, errAt: Expr) => ({
    complete: mux(frameEnd, rNext.ne(s), rIdx.ne(s)),
    err: mux(frameEnd.and(rIdx.eq(s)), frameErr, errAt),
  });
  const atNext = after(sNext, headNextErr);
  const atNow = after(sIdx, headErr);
  const failedOf = (a: ReturnType<typeof after>): Expr => a.complete.not().or(a.err);
  failedQ.set(mux(advance, failedOf(atNext), failedOf(atNow)));
  // `known` (mux(complete, head error, seen)) is a flip-flop the same way, so the stream's drop
  // decision starts at a flip-flop rather than at the ring's read (docs/tx-engine.md, Tenth round).
  const knownOf = (a: ReturnType<typeof after>): Expr => mux(a.complete, a.err, seenNext);
  const knownQ = m.reg('pe_known_q', undefined, { reset: 0 });
  knownQ.set(mux(advance, knownOf(atNext), knownOf(atNow)));
  return {
    known: m.named('pe_known', knownQ),
    failed: m.named('pe_failed', failedQ),
    failedBursts: m.named('pe_failed_bursts', head.bits(cfg.dmaErrW, 1)),
    advance,
  };
}
