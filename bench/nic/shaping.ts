/**
 * Per-context transmit shaping on the whole NIC (spec section 13; docs/tx-engine.md, Shaping), as a
 * figure rather than a pass/fail test (test/nic/txShaping.test.ts has the S-1..S-5 tests):
 *
 * - caps: three backlogged contexts, two capped with TX_RATE_MAX (one with a deep bucket, one with
 *   the shallowest), one uncapped; per capped context the worst excess over `cap * time + bucket`
 *   in any window on the wire, in maximum frames (S-1 allows one), and the rate it reached over its
 *   cap; the uncapped context's share of the rest (work-conserving apart from the caps);
 * - shares: three backlogged contexts with TX_RATE_SHARE 1, 2 and 3 and different frame sizes; per
 *   context the bytes it got over a window against its weight's share (S-2 allows 5%).
 *
 * The guest side keeps every ring full: every 32 cycles it reposts what the NIC completed (the TX done
 * seqs of the completion records) and rings the doorbell.
 */
import type { NicParams } from '../../hdl/params.js';
import { setField, TX_BURST_UNIT, TX_RATE_MAX, TX_RATE_PERIOD_LOG2 } from '../../hdl/registers/map.js';
import type { PortValue, Simulation } from '../../sim/index.js';
import type { WireFrame } from './macModels.js';
import { FIRST_SEQ, type HostTiming, NicRig } from './rig.js';

type Ports = { [name: string]: PortValue };

const MAX_FRAME = 1514;
const RING_LOG2 = 10;

/** TX_RATE_MAX for `bytesPerCycle` with a bucket of `burstBytes` (rounded to the register's units). */
export function rateMaxWord(bytesPerCycle: number, burstBytes: number): number {
  const rate = Math.round(bytesPerCycle * 2 ** TX_RATE_PERIOD_LOG2);
  return setField(setField(0, TX_RATE_MAX.RATE, rate), TX_RATE_MAX.BURST, Math.round(burstBytes / TX_BURST_UNIT));
}

/** What worstExcess needs of a frame on the wire: its first and last beat. */
export interface TimedFrame {
  firstCycle: number;
  lastCycle: number;
}

/**
 * The largest excess of `frames` (one context's, in wire order) over `rate * window + depth` for any
 * window from a frame's first beat to a later frame's last beat (O(n^2); n is a few hundred).
 */
export function worstExcess<F extends TimedFrame>(frames: readonly F[], bytesOf: (f: F) => number, rate: number, depth: number): number {
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < frames.length; i++) {
    let bytes = 0;
    const from = (frames[i] as F).firstCycle;
    for (let j = i; j < frames.length; j++) {
      const f = frames[j] as F;
      bytes += bytesOf(f);
      worst = Math.max(worst, bytes - rate * (f.lastCycle - from + 1) - depth);
    }
  }
  return worst;
}

export interface CapFigure {
  ctx: number;
  /** The cap, bytes per cycle, and its bucket in bytes (never below one maximum frame). */
  cap: number;
  bucket: number;
  /** Worst excess over cap * time + bucket, in maximum frames (S-1: at most 1). */
  excessFrames: number;
  /** Bytes per cycle reached over the window, over the cap. */
  reached: number;
}

export interface ShapingOutcome {
  caps: CapFigure[];
  /** The uncapped context's bytes over the link's bytes left by the capped ones. */
  uncappedOfRest: number;
  /** Link busy (wire time of the frames, with FCS, preamble and gap, over the window) with the caps on. */
  capsBusy: number;
  shares: { ctx: number; share: number; size: string; want: number; got: number; error: number }[];
  /** The largest |got / want - 1| of the share run (S-2: at most 0.05). */
  shareError: number;
  sharesBusy: number;
  windowCycles: number;
}

type Sizer = (i: number) => number;

/** Keeps the rings of `ctxs` full for `cycles` with frames of `size(ctx)(i)`. */
async function feed(rig: NicRig, ctxs: readonly number[], size: (c: number) => Sizer, cycles: number): Promise<void> {
  const posted = new Map<number, number>(ctxs.map((c) => [c, 0]));
  const ring = 2 ** RING_LOG2;
  const end = rig.tb.cycle + cycles;
  while (rig.tb.cycle < end) {
    const bells: Promise<void>[] = [];
    for (const c of ctxs) {
      const done = rig.mem.txDone.get(c) ?? FIRST_SEQ - 1;
      let n = posted.get(c) ?? 0;
      const before = n;
      // Descriptors in the ring: posted ones not yet completed (seqs from FIRST_SEQ; the done seq wraps at SEQ_W bits).
      const inRing = () => (n - (done - (FIRST_SEQ - 1))) & (2 ** rig.p.SEQ_W - 1);
      while (inRing() < ring - 1) {
        rig.postTx(c, rig.txFrame(c, n, size(c)(n)));
        n++;
      }
      posted.set(c, n);
      if (n !== before) bells.push(rig.txDoorbell(c));
    }
    await Promise.all(bells);
    await rig.tb.cycles(32);
  }
}

async function shapedRun(
  sim: Simulation<Ports>,
  p: NicParams,
  timing: HostTiming,
  regs: { ctx: number; rateMax?: number; share?: number }[],
  size: (c: number) => Sizer,
  warm: number,
  window: number,
): Promise<{ frames: WireFrame[]; t0: number }> {
  const rig = await NicRig.open(sim, p, timing);
  try {
    const ctxs = regs.map((r) => r.ctx);
    await rig.enable(ctxs, RING_LOG2);
    for (const r of regs) {
      if (r.rateMax !== undefined) await rig.ctxWrite(r.ctx, 'TX_RATE_MAX', r.rateMax);
      if (r.share !== undefined) await rig.ctxWrite(r.ctx, 'TX_RATE_SHARE', r.share);
    }
    await feed(rig, ctxs, size, warm + window + 2000);
    const t0 = (rig.txMac.frames[0]?.firstCycle ?? 0) + warm;
    return { frames: rig.txMac.frames.filter((f) => f.firstCycle >= t0 && f.lastCycle < t0 + window), t0 };
  } finally {
    rig.close();
  }
}

const bytesOf = (fs: readonly WireFrame[]): number => fs.reduce((n, f) => n + f.bytes, 0);
/**
 * Cycles of wire time of frames: each frame's bytes (padded to 60) plus FCS, preamble and the
 * inter-frame gap (24 byte times), at the stream's bytes per cycle.
 */
const wireCyclesOf = (fs: readonly WireFrame[], bytesPerBeat: number): number =>
  fs.reduce((n, f) => n + (Math.max(f.bytes, 60) + 24) / bytesPerBeat, 0);

export async function runShaping(sim: Simulation<Ports>, p: NicParams, timing: HostTiming, window = 100_000): Promise<ShapingOutcome> {
  const bytesPerBeat = p.STREAM_W / 8;
  const warm = 10_000;
  // ---- caps ----
  const capped = [
    { ctx: 0, cap: bytesPerBeat * 0.25, bucket: 256 * 1024 },
    { ctx: 1, cap: bytesPerBeat * 0.1, bucket: 0 },
  ];
  const mixed: Sizer = (i) => [60, 1514, 300, 1000, 128][i % 5] as number;
  const caps = await shapedRun(
    sim,
    p,
    timing,
    [...capped.map((c) => ({ ctx: c.ctx, rateMax: rateMaxWord(c.cap, c.bucket) })), { ctx: 2 }],
    () => mixed,
    warm,
    window,
  );
  const capFigures: CapFigure[] = capped.map((c) => {
    const mine = caps.frames.filter((f) => f.ctx === c.ctx);
    const depth = Math.max(c.bucket, MAX_FRAME);
    return {
      ctx: c.ctx,
      cap: c.cap,
      bucket: depth,
      excessFrames:
        Math.max(
          0,
          worstExcess(mine, (f) => f.bytes, c.cap, depth),
        ) / MAX_FRAME,
      reached: bytesOf(mine) / window / c.cap,
    };
  });
  const rest = window * bytesPerBeat - capped.reduce((n, c) => n + bytesOf(caps.frames.filter((f) => f.ctx === c.ctx)), 0);
  const uncappedOfRest = bytesOf(caps.frames.filter((f) => f.ctx === 2)) / rest;
  // ---- shares ----
  const shareSpec = [
    { ctx: 0, share: 1, size: '1514 B', sizer: (() => 1514) as Sizer },
    { ctx: 1, share: 2, size: '64 B', sizer: (() => 64) as Sizer },
    { ctx: 2, share: 3, size: '64/1514/512 B', sizer: ((i) => [64, 1514, 512][i % 3] as number) as Sizer },
  ];
  const shares = await shapedRun(
    sim,
    p,
    timing,
    shareSpec.map((s) => ({ ctx: s.ctx, share: s.share })),
    (c) => (shareSpec[c] as (typeof shareSpec)[number]).sizer,
    warm,
    window,
  );
  const weight = shareSpec.reduce((n, s) => n + s.share, 0);
  const total = bytesOf(shares.frames);
  const shareFigures = shareSpec.map((s) => {
    const want = s.share / weight;
    const got = bytesOf(shares.frames.filter((f) => f.ctx === s.ctx)) / Math.max(total, 1);
    return { ctx: s.ctx, share: s.share, size: s.size, want, got, error: Math.abs(got / want - 1) };
  });
  return {
    caps: capFigures,
    uncappedOfRest,
    capsBusy: wireCyclesOf(caps.frames, bytesPerBeat) / window,
    shares: shareFigures,
    shareError: Math.max(...shareFigures.map((s) => s.error)),
    sharesBusy: wireCyclesOf(shares.frames, bytesPerBeat) / window,
    windowCycles: window,
  };
}
