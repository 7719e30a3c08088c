/**
 * Transmit fairness (T-2): K contexts, each with its own frame size, all saturated (every frame posted
 * before the doorbells). Round robin with TX_QUANTUM = Q gives each context Q frames in every window
 * of K*Q consecutive frames on the wire; the figure is the largest deviation from that over every
 * such window while all K contexts are saturated: after every context has sent its first frame (the
 * doorbells land one by one), up to the first frame after which some context has nothing left.
 */
import type { NicParams } from '../../hdl/params.js';
import type { PortValue, Simulation } from '../../sim/index.js';
import { type HostTiming, NicRig } from './rig.js';

type Ports = { [name: string]: PortValue };

export interface FairnessOutcome {
  maxDeviation: number;
  contexts: number;
  sizes: number[];
  windows: number;
  frames: number;
}

/** The largest |count - Q| of any context in any window of K*Q consecutive frames of `order`. */
export function maxRoundRobinDeviation(
  order: readonly number[],
  ctxs: readonly number[],
  quantum: number,
): { deviation: number; windows: number } {
  const win = ctxs.length * quantum;
  if (order.length < win) return { deviation: Number.NaN, windows: 0 };
  const count = new Map<number, number>(ctxs.map((c) => [c, 0]));
  const bump = (c: number, d: number) => count.set(c, (count.get(c) ?? 0) + d);
  let worst = 0;
  let windows = 0;
  for (let i = 0; i < order.length; i++) {
    bump(order[i] as number, 1);
    if (i >= win) bump(order[i - win] as number, -1);
    if (i < win - 1) continue;
    windows++;
    for (const c of ctxs) worst = Math.max(worst, Math.abs((count.get(c) ?? 0) - quantum));
    // A context outside the set would be a frame nobody posted.
    for (const [c, n] of count) if (!ctxs.includes(c) && n > 0) worst = Math.max(worst, n);
  }
  return { deviation: worst, windows };
}

export async function runFairness(
  sim: Simulation<Ports>,
  p: NicParams,
  timing: HostTiming,
  sizes: readonly number[],
  framesPerContext: number,
): Promise<FairnessOutcome> {
  const ctxs = sizes.map((_, i) => i);
  const rig = await NicRig.open(sim, p, timing);
  try {
    await rig.enable(ctxs, Math.max(4, Math.ceil(Math.log2(framesPerContext + 1))));
    for (let r = 0; r < framesPerContext; r++) for (const c of ctxs) rig.postTx(c, rig.txFrame(c, r, sizes[c] as number));
    await Promise.all(ctxs.map((c) => rig.txDoorbell(c)));
    const total = framesPerContext * ctxs.length;
    await rig.tb.until(() => rig.txMac.frames.length >= total, {
      timeout: 200 * total + 20 * timing.readLatency,
      what: 'the fairness frames',
    });
    const order = rig.txMac.frames.map((f) => f.ctx);
    // Saturated: from the first frame by which every context has sent one, to the first context's last frame.
    const seen = new Set<number>();
    let from = 0;
    while (from < order.length && seen.size < ctxs.length) seen.add(order[from++] as number);
    const sent = new Map<number, number>();
    let to = order.length;
    for (let i = 0; i < order.length; i++) {
      const c = order[i] as number;
      sent.set(c, (sent.get(c) ?? 0) + 1);
      if (sent.get(c) === framesPerContext) {
        to = i + 1;
        break;
      }
    }
    const { deviation, windows } = maxRoundRobinDeviation(order.slice(from, to), ctxs, p.TX_QUANTUM);
    return { maxDeviation: deviation, contexts: ctxs.length, sizes: [...sizes], windows, frames: order.length };
  } finally {
    rig.close();
  }
}
