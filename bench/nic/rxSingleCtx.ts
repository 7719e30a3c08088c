/**
 * One context receiving alone on a NIC with N_CTX = 1024 (issue 16): there the per-context RX
 * prefetch depth is 8 (`hdl/nic/rx/config.ts`, to bound block RAM), and a context can take at most
 * its depth of frames per descriptor round trip, so short frames fall far below line rate. The key
 * `rx_single_ctx_1024.<size>` is the RX line-rate ratio of that context (the line-rate point of
 * `lineRate.ts`, direction rx, one context), with its drops and descriptor reads per frame: what a
 * descriptor cache shared by the receiving contexts would move.
 */
import type { NicParams } from '../../hdl/params.js';
import type { PortValue, Simulation } from '../../sim/index.js';
import { DEFAULT_BUDGET, type LineRateBudget, runLineRate } from './lineRate.js';
import type { HostTiming } from './rig.js';

type Ports = { [name: string]: PortValue };

export interface RxSingleCtxFigure {
  ratio: number;
  /** Frames not delivered, and those of them dropped for want of a buffer (RX_NOBUF). */
  dropped: number;
  nobuf: number;
  desc_reads_per_frame: number;
}

/** The RX ratio of context 0 alone at each frame size, on the model `sim` of parameters `p`. */
export async function runRxSingleCtx(
  sim: Simulation<Ports>,
  p: NicParams,
  host: HostTiming,
  sizes: readonly number[],
  budget: LineRateBudget = DEFAULT_BUDGET,
): Promise<Record<string, RxSingleCtxFigure>> {
  const out: Record<string, RxSingleCtxFigure> = {};
  for (const size of sizes) {
    const r = await runLineRate(sim, p, host, { dir: 'rx', contexts: 1, size }, budget);
    out[String(size)] = {
      ratio: r.ratio,
      dropped: r.rx?.dropped ?? 0,
      nobuf: r.rx?.nobuf ?? 0,
      desc_reads_per_frame: r.rx?.descReadsPerFrame ?? 0,
    };
  }
  return out;
}
