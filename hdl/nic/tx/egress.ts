/**
 * The egress: what happens to each frame once its payload is being read, and the frame streams out.
 *
 * The decision stage takes frames in order with their first 12 bytes (from the packer) and decides,
 * a few frames ahead of the stream:
 * - an oversize frame is not sent (it has no payload in the buffer); ERR, tx_oversize;
 * - with SPOOFCHK[c], a frame whose source MAC (bytes 6..11) is not MAC[c] is dropped; ERR,
 *   tx_spoofed (P-14);
 * - with LOCAL_LOOPBACK, a unicast frame for another local context (the RX engine's MAC table says
 *   which) goes only to the loopback stream; broadcast and multicast go to the wire and the loopback
 *   stream; anything else goes to the wire.
 *
 * The stream stage sends the frame's beats to the wire and/or the loopback stream (a beat moves on
 * when every output it goes to took it), pads a frame under 60 bytes with zero bytes, drops the beats
 * of a dropped frame, and passes every frame to the completion stage when its last byte has left the
 * payload buffer, i.e. when its payload has been read in full. Back-to-back frames have no gap.
 *
 * A frame whose payload read failed (F-1, payloadErrors.ts) never leaves as a good frame: if the
 * failure is known before its first beat is offered, the frame is dropped whole; otherwise it ends
 * with `tuser` (wire) / `terr` (loopback) high on its last beat, so the MAC corrupts its FCS and the
 * RX engine drops it. Either way it completes with ERR and counts in tx_dma_err only (its verdict's
 * sent and spoofed are cleared: a header read with an error decides nothing).
 */
import {
  type AxisSpec,
  axisSpec,
  cat,
  type Expr,
  type InstancePorts,
  lit,
  type MasterPorts,
  type ModuleBuilder,
  mux,
  UInt,
} from '../../../generator/index.js';
import type { SyncFifoIO } from '../../../generator/lib/index.js';
import { type frameSpec, MAC_LOOKUP_LATENCY, type macLookupSpec } from '../interfaces.js';
import type { TxConfig } from './config.js';
import { type ContextMemories, lane } from './contextMemory.js';
import type { TxLayouts } from './layouts.js';
import { HEADER_BYTES, packedLayout } from './packer.js';
import type { PayloadErrors } from './payloadErrors.js';
import type { Flags } from './scheduler.js';

/** The frame stream to the MAC: AXI4-Stream without FCS; `tuser` on the last beat = bad frame, corrupt its FCS. */
export function txWireSpec(streamW: number): AxisSpec<{ dataWidth: number; user: number }> {
  return axisSpec({ dataWidth: streamW, user: 1 });
}

export interface DecisionDeps {
  readonly flags: Flags;
  readonly mems: ContextMemories;
  readonly orderOut: InstancePorts<SyncFifoIO>['out'];
  readonly headerOut: InstancePorts<SyncFifoIO>['out'];
  readonly verdictIn: InstancePorts<SyncFifoIO>['in'];
  readonly lookup: MasterPorts<ReturnType<typeof macLookupSpec>>;
  /** Verdicts waiting in the verdict queue. */
  readonly verdictCount: Expr;
  readonly probeCtx: Expr;
}

/** The 48-bit MAC (first octet in bits 47..40, as in MAC_HI:MAC_LO) of header bytes `at`..`at+5`. */
function macAt(header: Expr, at: number): Expr {
  const octets: Expr[] = [];
  for (let i = 0; i < 6; i++) octets.push(header.bits((at + i) * 8 + 7, (at + i) * 8));
  return cat(...octets);
}

export interface DecisionIO {
  /** A frame of the probed context is in the decision's pipeline (out of the egress queue, not yet a verdict: P-12). */
  readonly probeHit: Expr;
}

/**
 * Pipelined, a frame a cycle: a frame and its header are taken (the MAC lookup asked, MAC[c] read),
 * the source MAC is compared in the next cycle, and the verdict is pushed in the cycle the lookup
 * answers (MAC_LOOKUP_LATENCY). A frame is taken only while the verdict queue has room for it and for
 * every frame ahead of it in the pipeline, so a verdict never waits (the lookup cannot).
 */
export function decision(m: ModuleBuilder, cfg: TxConfig, lay: TxLayouts, deps: DecisionDeps): DecisionIO {
  const { flags, mems, orderOut, headerOut, verdictIn, lookup } = deps;
  if (MAC_LOOKUP_LATENCY !== 2) throw new RangeError(`decision: a 2-stage pipeline for a ${MAC_LOOKUP_LATENCY}-cycle lookup`);
  const fr = lay.frame.unpack(orderOut.data);
  const header = headerOut.data;
  if (header.width !== HEADER_BYTES * 8) throw new RangeError('decision: header width');
  const dst = m.named('dec_dst', macAt(header, 0));
  const src = m.named('dec_src', macAt(header, 6));
  // Stage 1 (the cycle after the take): the frame, its source MAC and the multicast bit; MAC[c] is
  // on the memory's output. Stage 2: the source check's outcome; the lookup answers.
  const v1 = m.reg('dec_v1', undefined, { reset: 0 });
  const v2 = m.reg('dec_v2', undefined, { reset: 0 });
  const f1 = m.reg('dec_f1', UInt(lay.frame.width), { reset: 0 });
  const f2 = m.reg('dec_f2', UInt(lay.frame.width), { reset: 0 });
  const src1 = m.reg('dec_src1', UInt(48), { reset: 0 });
  const mcast1 = m.reg('dec_mcast1', undefined, { reset: 0 });
  const mcast2 = m.reg('dec_mcast2', undefined, { reset: 0 });
  const spoof2 = m.reg('dec_spoof2', undefined, { reset: 0 });
  const inFlight = v1.resize(2).addWrap(v2.resize(2));
  const depthW = deps.verdictCount.width + 1;
  const room = deps.verdictCount.resize(depthW).addWrap(inFlight.resize(depthW)).lt(cfg.verdictDepth);
  const go = m.named('dec_go', orderOut.valid.and(fr.err.or(headerOut.valid)).and(room));
  orderOut.ready.set(go);
  headerOut.ready.set(go.and(fr.err.not()));
  const macRd = mems.mac.mem.read(fr.ctx, { enable: go, name: 'dec_mac_rd' });
  lookup.req_valid.set(cfg.p.LOCAL_LOOPBACK ? go.and(fr.err.not()) : lit(0, 1));
  lookup.req_mac.set(dst);
  v1.set(go);
  m.when(go, () => {
    f1.set(orderOut.data);
    src1.set(src);
    mcast1.set(dst.bit(40));
  });

  const g1 = lay.frame.unpack(f1);
  const myMac = cat(lane(macRd, 1).trunc(16), lane(macRd, 0));
  const spoofed1 = m.named('dec_spoofed', g1.err.not().and(flags.spoofchk.bit(g1.ctx)).and(src1.ne(myMac)));
  v2.set(v1);
  m.when(v1, () => {
    f2.set(f1);
    mcast2.set(mcast1);
    spoof2.set(spoofed1);
  });

  // The lookup answers exactly MAC_LOOKUP_LATENCY cycles after the request: in stage 2.
  const g2 = lay.frame.unpack(f2);
  const c = g2.ctx;
  const hit = lookup.resp_valid.and(lookup.resp_hit);
  const spoofed = spoof2;
  const multicast = mcast2;
  const forOther = hit.and(lookup.resp_ctx.ne(c));
  const loopback = cfg.p.LOCAL_LOOPBACK;
  const toLoop = loopback ? multicast.or(forOther) : lit(0, 1);
  const toWire = loopback ? multicast.or(forOther.not()) : lit(1, 1);
  const sent = g2.err.not().and(spoofed.not());
  const minLen = lit(cfg.minFrame, 16);
  const wireBytes = mux(g2.len.lt(cfg.minFrame), minLen, g2.len);
  m.named('dec_done', v2);
  verdictIn.valid.set(v2);
  verdictIn.data.set(
    lay.verdict.pack({
      ctx: c,
      first: g2.first,
      n: g2.n,
      err: g2.err.or(spoofed),
      noPayload: g2.err,
      drop: spoofed,
      toWire,
      toLoop,
      sent,
      oversize: g2.err,
      spoofed,
      short: g2.len.lt(cfg.minFrame),
      dmaErr: lit(0, cfg.dmaErrW),
      bytes: wireBytes,
      base: g2.base,
      log2: g2.log2,
    }),
  );
  const probeHit = m.named('dec_probe_hit', v1.and(g1.ctx.eq(deps.probeCtx)).or(v2.and(c.eq(deps.probeCtx))));
  return { probeHit };
}

export interface StreamDeps {
  readonly verdictOut: InstancePorts<SyncFifoIO>['out'];
  readonly packedOut: InstancePorts<SyncFifoIO>['out'];
  readonly complIn: InstancePorts<SyncFifoIO>['in'];
  readonly complCount: Expr;
  readonly wire: MasterPorts<ReturnType<typeof txWireSpec>>;
  readonly loop: MasterPorts<ReturnType<typeof frameSpec>>;
  readonly payErr: PayloadErrors;
  readonly probeCtx: Expr;
}

export function frameStream(m: ModuleBuilder, cfg: TxConfig, lay: TxLayouts, deps: StreamDeps): { probeHit: Expr } {
  const { verdictOut, packedOut, complIn, wire, loop, payErr } = deps;
  const sb = cfg.sb;
  const pk = packedLayout(sb).unpack(packedOut.data);
  const cur = m.reg('eg_frame', UInt(lay.verdict.width), { reset: 0 });
  const curValid = m.reg('eg_valid', undefined, { reset: 0 });
  const v = lay.verdict.unpack(cur);
  const pad = m.reg('eg_pad', undefined, { reset: 0 });
  const posW = 7;
  const pos = m.reg('eg_pos', UInt(posW), { reset: 0 });
  const sentW = m.reg('eg_sent_wire', undefined, { reset: 0 });
  const sentL = m.reg('eg_sent_loop', undefined, { reset: 0 });
  // A beat of the frame was offered: from then on it cannot be dropped (AXI4-Stream keeps TVALID).
  const started = m.reg('eg_started', undefined, { reset: 0 });

  const minF = cfg.minFrame;
  const keepOf = (bytes: Expr): Expr =>
    lit((1n << BigInt(sb)) - 1n, sb)
      .shl(bytes)
      .not();
  const withPayload = curValid.and(v.noPayload.not());
  const beatAvail = m.named('eg_beat_avail', withPayload.and(pad.or(packedOut.valid)));
  const posPlusSb = pos.add(sb);
  // Whether padding from `p` ends the frame in this beat, and the beat's bytes then: kept in
  // flip-flops for the current `pos` (worked out for each next value, picked by the beat's end and
  // the frame's), so the beat's `tkeep` does not start at an adder and a compare of `pos`.
  const padOf = (p: Expr) => {
    const ends = p.add(sb).ge(minF);
    return { ends, bytes: mux(ends, lit(minF, posW + 1).subWrap(p.resize(posW + 1)), lit(sb, posW + 1)) };
  };
  const padEndsQ = m.reg('eg_pad_ends', undefined, { reset: sb >= minF ? 1 : 0 });
  const padBytesQ = m.reg('eg_pad_bytes', UInt(posW + 1), { reset: sb >= minF ? minF : sb });
  const padEnds = padEndsQ;
  const padBytes = padBytesQ;
  // The last payload beat ends before minFrame exactly when the frame is short: every beat before it
  // carries sb bytes, so pos + cnt is the frame's length there (pos stops counting only past minFrame).
  // The decision's registered `short` bit keeps an adder and a compare off the beat's path.
  const shortLast = v.short;
  // What this beat is on the wire: its bytes and whether it ends the frame.
  const beatBytes = m.named(
    'eg_beat_bytes',
    mux(pad, padBytes, mux(pk.last.not(), lit(sb, posW + 1), mux(shortLast, padBytes, pk.cnt.resize(posW + 1)))),
  );
  const beatLast = m.named('eg_beat_last', mux(pad.or(pk.last.and(shortLast)), padEnds, pk.last));
  const data = mux(pad, lit(0, sb * 8), pk.data);
  const keep = keepOf(beatBytes);

  // A failed payload read known before the first beat drops the frame whole (F-1).
  const errDrop = m.named('eg_err_drop', withPayload.and(started.not()).and(payErr.known));
  const drop = m.named('eg_drop', v.drop.or(errDrop));
  const bad = m.named('eg_bad', beatLast.and(payErr.failed));
  const sending = beatAvail.and(drop.not());
  const wValid = sending.and(v.toWire).and(sentW.not());
  const lValid = sending.and(v.toLoop).and(sentL.not());
  wire.tvalid.set(wValid);
  // The payload is held at 0 between beats: the packed-beat FIFO's output register has no reset, and
  // a 4-state simulator would show X on the wire after reset (F-7).
  wire.tdata.set(mux(wValid, data, lit(0, sb * 8)));
  wire.tkeep.set(mux(wValid, keep, lit(0, sb)));
  wire.tlast.set(wValid.and(beatLast));
  wire.tuser.set(wValid.and(bad));
  loop.tvalid.set(lValid);
  loop.tdata.set(data);
  loop.tkeep.set(keep);
  loop.tlast.set(beatLast);
  loop.tuser.set(v.ctx);
  loop.terr.set(bad);
  const wDone = v.toWire.not().or(sentW).or(wire.tready);
  const lDone = v.toLoop.not().or(sentL).or(loop.tready);
  const beatDone = m.named('eg_beat_done', beatAvail.and(drop.or(wDone.and(lDone))));
  const posStep = mux(pos.ge(minF), pos, posPlusSb.trunc(posW));
  packedOut.ready.set(beatDone.and(pad.not()));
  const frameEnd = mux(drop, pk.last, beatLast);
  const finish = m.named('eg_finish', curValid.and(v.noPayload).or(beatDone.and(frameEnd)));
  payErr.advance.set(finish.and(withPayload));
  m.when(wValid.or(lValid), () => started.set(1));
  m.when(wValid.and(wire.tready), () => sentW.set(1));
  m.when(lValid.and(loop.tready), () => sentL.set(1));
  m.when(beatDone, () => {
    sentW.set(0);
    sentL.set(0);
    pos.set(posStep);
    m.when(pad.not().and(pk.last).and(frameEnd.not()), () => pad.set(1));
  });
  m.when(finish, () => {
    pad.set(0);
    pos.set(0);
    started.set(0);
  });
  const [padAtZero, padAtStep, padAtPos] = [padOf(lit(0, posW)), padOf(posStep), padOf(pos)];
  padEndsQ.set(mux(finish, padAtZero.ends, mux(beatDone, padAtStep.ends, padAtPos.ends)));
  padBytesQ.set(mux(finish, padAtZero.bytes, mux(beatDone, padAtStep.bytes, padAtPos.bytes)));

  // ---- the next frame loads as this one finishes: no gap between frames ----
  const depth = cfg.complDepth;
  const room = mux(finish, deps.complCount.lt(depth - 1), deps.complCount.lt(depth));
  const load = m.named('eg_load', curValid.not().or(finish).and(verdictOut.valid).and(room));
  verdictOut.ready.set(load);
  m.when(finish, () => curValid.set(0));
  m.when(load, () => {
    cur.set(verdictOut.data);
    curValid.set(1);
  });
  // A frame whose payload read failed completes with ERR, counted as a DMA error only.
  const failed = m.named('eg_failed', withPayload.and(payErr.failed));
  complIn.valid.set(finish);
  complIn.data.set(
    lay.verdict.pack({
      ...v,
      err: v.err.or(failed),
      sent: v.sent.and(failed.not()),
      spoofed: v.spoofed.and(failed.not()),
      dmaErr: mux(failed, payErr.failedBursts, lit(0, cfg.dmaErrW)),
    }),
  );
  const probeHit = m.named('eg_probe_hit', curValid.and(v.ctx.eq(deps.probeCtx)));
  return { probeHit };
}
