/**
 * One line-rate point: K contexts saturate TX (all frames posted before the doorbells), RX (frames
 * arrive back to back at line rate, buffers posted ahead), or both at once, with frames of one size.
 *
 * TX ratio: frames the paced MAC took per cycle in the steady-state window, over line rate (exactly
 *   1.0 for a NIC that always has the next frame ready, since the MAC keeps fractional byte times).
 * RX ratio: the share of offered frames that were delivered, times how well delivery kept pace
 *   (the window's arrival span over that span plus any growth of the last-byte-to-completion lag),
 *   so both drops and a backlog that keeps growing lower it.
 *
 * The steady-state window leaves out warm-up (until every doorbell has been rung and two read
 * latencies have passed, and at least the first fifth of the frames) and the last twentieth.
 */
import { DESCRIPTOR } from '../../hdl/descriptors.js';
import type { NicParams } from '../../hdl/params.js';
import type { PortValue, Simulation } from '../../sim/index.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { lineRateFramesPerCycle, wireBytes, wireCycles } from './ethernetTiming.js';
import { FIRST_SEQ, type HostTiming, macOfCtx, NicRig, PEER_MAC } from './rig.js';

type Ports = { [name: string]: PortValue };

export type Direction = 'tx' | 'rx' | 'both';

export interface LineRatePoint {
  dir: Direction;
  contexts: number;
  size: number;
}

export interface DirectionFigure {
  ratio: number;
  frames: number;
  /** Frames and cycles of the steady-state window the ratio is taken over. */
  windowFrames: number;
  windowCycles: number;
  /** Descriptor reads the direction issued over the run, per frame (1 is one read per descriptor). */
  descReadsPerFrame?: number;
  /** TX: cycles the NIC paused inside a frame. RX: frames not delivered; cycles tready was low. */
  underruns?: number;
  dropped?: number;
  /** RX drops by cause: no valid buffer at the context (RX_NOBUF), frame buffer full (RX_FIFO_DROP). */
  nobuf?: number;
  fifoDrop?: number;
  backpressure?: number;
}

export interface LineRateOutcome {
  /** The figure of the point: the direction's ratio, or the smaller of the two for `both`. */
  ratio: number;
  tx?: DirectionFigure;
  rx?: DirectionFigure;
  cycles: number;
  /** The most read bursts the host had in flight at once (what the NIC asks of the host's tags). */
  peakReads: number;
}

export interface LineRateBudget {
  /** Cycles of steady state to aim for per point. */
  windowCycles: number;
  /** At least this many frames per point. */
  minFrames: number;
  /** At least this many frames per context: two rounds of the round robin. */
  minPerContext: number;
  /**
   * Frames per context wanted so that per-context state turns over (descriptor caches refill, rings
   * move on), as long as the point stays under `turnoverCycles`; with many contexts and long frames
   * the point falls back to `minPerContext`.
   */
  turnoverPerContext: number;
  turnoverCycles: number;
}

export const DEFAULT_BUDGET: LineRateBudget = {
  windowCycles: 3000,
  minFrames: 24,
  minPerContext: 2,
  turnoverPerContext: 12,
  turnoverCycles: 40_000,
};

/** Frames per context for a point: enough for the window after warm-up, and some turnover per context. */
export function framesPerContext(size: number, contexts: number, bytesPerCycle: number, b: LineRateBudget): number {
  const cycles = wireCycles(size, bytesPerCycle);
  const total = Math.max(b.minFrames, Math.ceil((1.35 * b.windowCycles) / cycles));
  const turnover = Math.min(b.turnoverPerContext, Math.floor(b.turnoverCycles / (contexts * cycles)));
  return Math.max(b.minPerContext, Math.ceil(total / contexts), turnover);
}

export async function runLineRate(
  sim: Simulation<Ports>,
  p: NicParams,
  timing: HostTiming,
  point: LineRatePoint,
  budget: LineRateBudget = DEFAULT_BUDGET,
  opts: {
    /** Wire byte times per cycle (RigOptions.wireRate). */
    wireRate?: number;
    /** Sees the rig at the end of the run, before it closes (for diagnosis). */
    inspect?: (rig: NicRig) => Promise<void> | void;
  } = {},
): Promise<LineRateOutcome> {
  const rig = await NicRig.open(sim, p, timing, { watchReads: true, wireRate: opts.wireRate });
  const wireRate = rig.wireRate;
  const ctxs = Array.from({ length: point.contexts }, (_, i) => i);
  const perCtx = framesPerContext(point.size, point.contexts, wireRate, budget);
  const total = perCtx * point.contexts;
  const doTx = point.dir !== 'rx';
  const doRx = point.dir !== 'tx';
  const ringLog2 = Math.max(4, Math.ceil(Math.log2(perCtx + 8)));
  try {
    await rig.enable(ctxs, ringLog2);
    if (doRx) {
      for (const c of ctxs) rig.postRx(c, perCtx + 4);
      await Promise.all(ctxs.map((c) => rig.rxDoorbell(c)));
      // Buffers count as posted once the NIC holds them: its descriptor reads are over, and it has
      // taken what they returned into its caches, which goes at one descriptor per 3 cycles when
      // they belong to one context (docs/performance.md, "Observations").
      await readsSettled(rig, timing.readLatency);
      const descriptors = (rig.descriptorBeats('rx') * p.DMA_W) / 8 / DESCRIPTOR.bytes;
      await rig.tb.cycles(Math.ceil(3 * descriptors));
    }
    if (doTx) for (let r = 0; r < perCtx; r++) for (const c of ctxs) rig.postTx(c, rig.txFrame(c, r, point.size));
    const start = rig.tb.cycle;
    if (doRx) {
      const frames = [];
      for (let k = 0; k < total; k++) {
        const c = ctxs[k % ctxs.length] as number;
        frames.push({ data: testFrame(macOfCtx(c), PEER_MAC, { ctx: c, seq: k }, point.size).data, ctx: c });
      }
      rig.rxMac.schedule(frames);
    }
    if (doTx) await Promise.all(ctxs.map((c) => rig.txDoorbell(c)));
    const doorbellsDone = rig.tb.cycle;
    const rxDelivered = () => ctxs.reduce((n, c) => n + (rig.mem.rxDone.get(c) ?? FIRST_SEQ - 1) - (FIRST_SEQ - 1), 0);
    const expectCycles = total * wireCycles(point.size, wireRate);
    const limit = start + 3 * expectCycles + 20 * timing.readLatency + 20_000;
    let last = -1;
    let still = 0;
    // Run until everything is out (TX) and delivered (RX), or nothing has moved for a while.
    while (rig.tb.cycle < limit) {
      await rig.tb.cycles(200);
      const txLeft = doTx ? total - rig.txMac.frames.length : 0;
      const rxLeft = doRx ? total - rxDelivered() + rig.rxMac.pending : 0;
      if (txLeft <= 0 && rxLeft <= 0) break;
      const progress = rig.txMac.frames.length + rxDelivered() + rig.rxMac.sent.length;
      still = progress === last ? still + 200 : 0;
      last = progress;
      if (still >= 4 * timing.readLatency + 4000 && rig.rxMac.pending === 0) break;
    }
    const steadyFrom = doorbellsDone + 2 * timing.readLatency;
    const out: LineRateOutcome = { ratio: 1, cycles: rig.tb.cycle - start, peakReads: rig.axi.maxReadsSeen };
    if (doTx) out.tx = { ...txFigure(rig, point.size, wireRate, total, steadyFrom), descReadsPerFrame: rig.descriptorReads('tx') / total };
    if (doRx) out.rx = { ...(await rxFigure(rig, ctxs, total, steadyFrom)), descReadsPerFrame: rig.descriptorReads('rx') / total };
    out.ratio = Math.min(out.tx?.ratio ?? 1, out.rx?.ratio ?? 1);
    await opts.inspect?.(rig);
    return out;
  } finally {
    rig.close();
  }
}

/** Waits until no read is in flight and none has been issued for `quiet` cycles. */
async function readsSettled(rig: NicRig, quiet: number): Promise<void> {
  let seen = -1;
  let since = 0;
  for (let n = 0; n < 1000 && since < quiet; n++) {
    await rig.tb.cycles(50);
    const busy = rig.axi.readsInFlight > 0 || rig.reads.length !== seen;
    since = busy ? 0 : since + 50;
    seen = rig.reads.length;
  }
}

function windowOf(total: number, firstSteady: number): [number, number] {
  const k0 = Math.max(firstSteady, Math.floor(total / 5));
  const k1 = total - 1 - Math.floor(total / 20);
  return [Math.min(k0, k1 - 1), k1];
}

function txFigure(rig: NicRig, size: number, bytesPerCycle: number, total: number, steadyFrom: number): DirectionFigure {
  const f = rig.txMac.frames;
  if (f.length < total) {
    // Not every frame came out: the ratio is what did, over the time it was given.
    const span = Math.max(1, rig.tb.cycle - (f[0]?.firstCycle ?? 0));
    return {
      ratio: f.length / span / lineRateFramesPerCycle(size, bytesPerCycle),
      frames: f.length,
      windowFrames: f.length,
      windowCycles: span,
      underruns: rig.txMac.underruns,
    };
  }
  const firstSteady = f.findIndex((x) => x.firstCycle >= steadyFrom);
  const [k0, k1] = windowOf(total, Math.max(0, firstSteady));
  const a = f[k0] as (typeof f)[number];
  const b = f[k1] as (typeof f)[number];
  const bytes = (k1 - k0) * wireBytes(size);
  return {
    ratio: bytes / (b.start - a.start),
    frames: f.length,
    windowFrames: k1 - k0,
    windowCycles: (b.start - a.start) / bytesPerCycle,
    underruns: rig.txMac.underruns,
  };
}

async function rxFigure(rig: NicRig, ctxs: readonly number[], total: number, steadyFrom: number): Promise<DirectionFigure> {
  const sent = rig.rxMac.sent;
  // The k-th frame a context received has seq FIRST_SEQ + k - 1; its completion is the first record
  // write whose done seq reaches it. (With drops the mapping shifts; the drop count says so.)
  const writes = new Map<number, { seq: number; cycle: number }[]>();
  for (const w of rig.mem.doneWrites) {
    if (w.dir !== 'rx') continue;
    const list = writes.get(w.ctx) ?? [];
    list.push(w);
    writes.set(w.ctx, list);
  }
  const ordinal = new Map<number, number>();
  const completion: (number | undefined)[] = [];
  for (const f of sent) {
    const k = ordinal.get(f.ctx) ?? 0;
    ordinal.set(f.ctx, k + 1);
    const seq = FIRST_SEQ + k;
    completion.push(writes.get(f.ctx)?.find((w) => w.seq >= seq)?.cycle);
  }
  let nobuf = 0;
  for (const c of ctxs) nobuf += await rig.ctxReg(c, 'RX_NOBUF');
  const fifoDrop = await rig.globalReg('RX_FIFO_DROP');
  const delivered = completion.filter((x) => x !== undefined).length;
  const firstSteady = sent.findIndex((x) => x.firstCycle >= steadyFrom);
  const [k0, k1] = windowOf(sent.length, Math.max(0, firstSteady));
  let inWindow = 0;
  for (let k = k0; k <= k1; k++) if (completion[k] !== undefined) inWindow++;
  const lag = (k: number): number | undefined => {
    const c = completion[k];
    return c === undefined ? undefined : c - (sent[k] as (typeof sent)[number]).lastCycle;
  };
  const span = (sent[k1]?.lastCycle ?? 0) - (sent[k0]?.lastCycle ?? 0) || 1;
  // The lag at each end of the window: its growth is delivery falling behind arrival.
  let first: number | undefined;
  let lastLag: number | undefined;
  for (let k = k0; k <= k1 && first === undefined; k++) first = lag(k);
  for (let k = k1; k >= k0 && lastLag === undefined; k--) lastLag = lag(k);
  const growth = first !== undefined && lastLag !== undefined ? Math.max(0, lastLag - first) : span;
  return {
    ratio: ((inWindow / (k1 - k0 + 1)) * span) / (span + growth),
    frames: total,
    windowFrames: k1 - k0 + 1,
    windowCycles: span,
    dropped: total - delivered,
    nobuf,
    fifoDrop,
    backpressure: rig.rxMac.backpressure,
  };
}
