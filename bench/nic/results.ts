/**
 * The benchmark's results: the JSON written to build/bench/results.json (keys as issue 7 names them),
 * the targets each figure is held to, and the table printed at the end of a run.
 */
import type { Direction, LineRateOutcome } from './lineRate.js';
import type { RxSingleCtxFigure } from './rxSingleCtx.js';

export const LINE_RATE_TARGET = 0.99;
export const FAIRNESS_TARGET = 1;
/** S-1: a capped context never more than one maximum frame over cap * time + bucket. */
export const SHAPING_EXCESS_TARGET = 1;
/** S-2: backlogged contexts within 5% of their weighted share. */
export const SHAPING_SHARE_TARGET = 0.05;
export const GEN_SECONDS_TARGET = 2;
export const FF_GROWTH_TARGET = 4;

export interface NicBenchResults {
  meta: {
    profile: string;
    /** TX_QUANTUM of the simulated NIC (NIC_BENCH_TX_QUANTUM, else the profile's). */
    txQuantum?: number;
    date: string;
    commit: string;
    host: { readLatency: number; writeLatency: number; maxReads: number; maxWrites: number };
    bytesPerCycle: number;
    seconds: number;
  };
  /** linerate.<dir>.<contexts>.<size> = ratio. */
  linerate: Partial<Record<Direction, Record<string, Record<string, number>>>>;
  /** The per-direction figures behind each ratio (window, drops, underruns), same keys. */
  linerate_detail: Partial<Record<Direction, Record<string, Record<string, Omit<LineRateOutcome, 'ratio'>>>>>;
  /** The same grid on a host with 32 read slots (10g profile), same keys. */
  linerate_32slots?: NicBenchResults['linerate'];
  linerate_32slots_detail?: NicBenchResults['linerate_detail'];
  /** The 100g profile at 100 Gb/s and its clock, host with 64 read slots: linerate_100g.<dir>.<contexts>.<size>. */
  linerate_100g?: NicBenchResults['linerate'];
  linerate_100g_detail?: NicBenchResults['linerate_detail'];
  linerate_100g_meta?: { clock_mhz: number; link_gbps: number; wire_bytes_per_cycle: number; n_ctx: number };
  /** TX with one doorbell per frame: doorbell_per_frame.<contexts>.<size>. */
  doorbell_per_frame?: Record<string, Record<string, { ratio: number; desc_reads_per_frame: number }>>;
  latency?: {
    tx_doorbell_to_wire: number;
    tx_samples: number[];
    /** The frame size whose latency is closest to (or furthest over) its target. */
    rx_last_byte_to_completion: number;
    rx_size: number;
    rx_by_size: Record<string, number>;
  };
  fairness?: { max_deviation_frames: number; contexts: number; sizes: number[]; windows: number; frames: number };
  /** Per-context shaping (bench/nic/shaping.ts): caps (S-1: within one frame) and shares (S-2: within 5%). */
  shaping?: {
    window_cycles: number;
    caps: { ctx: number; cap_bytes_per_cycle: number; bucket_bytes: number; excess_frames: number; reached_over_cap: number }[];
    uncapped_of_rest: number;
    caps_link_busy: number;
    shares: { ctx: number; share: number; sizes: string; want: number; got: number; error: number }[];
    share_error: number;
    shares_link_busy: number;
  };
  area?: Record<string, { ff: number; logic: number; bram_bits: number }>;
  scale?: { pick_cycles: Record<string, number>; pick_by_context: Record<string, Record<string, number>> };
  /** rx_single_ctx_1024.<size>: one context receiving alone at N_CTX = 1024, 10g profile (bench/nic/rxSingleCtx.ts). */
  rx_single_ctx_1024?: Record<string, RxSingleCtxFigure>;
  gen?: { seconds_1024: number; verilog_bytes_1024: number };
  build?: { seconds: Record<string, number> };
  targets: TargetCheck[];
  /** Parts or points that failed (the run goes on without them). */
  errors?: string[];
}

export interface TargetCheck {
  name: string;
  value: string;
  target: string;
  met: boolean;
}

/** The RX latency target of a frame: 40 cycles plus the DMA beats the frame takes. */
export function rxLatencyTarget(size: number, dmaBytes: number): number {
  return 40 + Math.ceil(size / dmaBytes);
}

export function txLatencyTarget(readLatency: number): number {
  return 2 * readLatency + 40;
}

/** The line-rate grids a run holds, by label: the 64-slot host, 32 read slots, the 100g profile. */
function lineRateGrids(r: NicBenchResults): [string, NicBenchResults['linerate']][] {
  const grids: [string, NicBenchResults['linerate'] | undefined][] = [
    ['line rate', r.linerate],
    ['32 read slots', r.linerate_32slots],
    ['100g', r.linerate_100g],
  ];
  return grids.filter((g): g is [string, NicBenchResults['linerate']] => g[1] !== undefined);
}

/** Checks every figure present against its target. */
export function checkTargets(r: NicBenchResults, dmaBytes: number): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const [label, grid] of lineRateGrids(r)) {
    for (const [dir, byCtx] of Object.entries(grid)) {
      for (const [ctx, bySize] of Object.entries(byCtx ?? {})) {
        const entries = Object.entries(bySize);
        const worst = entries.reduce((a, b) => (b[1] < a[1] ? b : a), entries[0] ?? ['-', Number.NaN]);
        out.push({
          name: `line rate${label === 'line rate' ? '' : ` (${label})`} ${dir}, ${ctx} ctx (worst size)`,
          value: `${worst[1].toFixed(3)} @ ${worst[0]} B`,
          target: `>= ${LINE_RATE_TARGET}`,
          met: worst[1] >= LINE_RATE_TARGET,
        });
      }
    }
  }
  const dropped: string[] = [];
  for (const [dir, byCtx] of Object.entries(r.linerate_detail)) {
    for (const [ctx, bySize] of Object.entries(byCtx ?? {})) {
      for (const [size, d] of Object.entries(bySize)) if (d.rx?.dropped) dropped.push(`${dir}/${ctx}/${size} B: ${d.rx.dropped}`);
    }
  }
  if (Object.keys(r.linerate_detail).some((d) => d !== 'tx')) {
    out.push({
      name: 'no RX frame dropped (buffers posted)',
      value: dropped.length === 0 ? '0 dropped' : dropped.join(', '),
      target: '0 dropped',
      met: dropped.length === 0,
    });
  }
  if (r.latency) {
    const t = txLatencyTarget(r.meta.host.readLatency);
    out.push({
      name: 'TX doorbell to wire',
      value: `${r.latency.tx_doorbell_to_wire}`,
      target: `<= ${t}`,
      met: r.latency.tx_doorbell_to_wire <= t,
    });
    for (const [size, v] of Object.entries(r.latency.rx_by_size)) {
      const rt = rxLatencyTarget(Number(size), dmaBytes);
      out.push({ name: `RX last byte to completion, ${size} B`, value: `${v}`, target: `<= ${rt}`, met: v <= rt });
    }
  }
  if (r.fairness) {
    const v = r.fairness.max_deviation_frames;
    out.push({ name: 'fairness (max deviation, frames)', value: `${v}`, target: `<= ${FAIRNESS_TARGET}`, met: v <= FAIRNESS_TARGET });
  }
  if (r.shaping) {
    for (const c of r.shaping.caps) {
      out.push({
        name: `shaping: ctx ${c.ctx} over its cap (frames)`,
        value: c.excess_frames.toFixed(3),
        target: `<= ${SHAPING_EXCESS_TARGET}`,
        met: c.excess_frames <= SHAPING_EXCESS_TARGET,
      });
    }
    const e = r.shaping.share_error;
    out.push({
      name: 'shaping: worst share error',
      value: e.toFixed(3),
      target: `<= ${SHAPING_SHARE_TARGET}`,
      met: e <= SHAPING_SHARE_TARGET,
    });
  }
  const a32 = r.area?.['32'];
  const a1024 = r.area?.['1024'];
  if (a32 && a1024) {
    const g = a1024.ff / a32.ff;
    out.push({ name: 'flip-flops 1024 / 32', value: g.toFixed(2), target: `<= ${FF_GROWTH_TARGET}`, met: g <= FF_GROWTH_TARGET });
  }
  const pick = r.scale?.pick_cycles;
  if (pick?.['32'] !== undefined && pick['1024'] !== undefined) {
    out.push({
      name: 'pick cycles 32 vs 1024',
      value: `${pick['32']} / ${pick['1024']}`,
      target: 'equal',
      met: pick['32'] === pick['1024'],
    });
  }
  if (r.gen) {
    const s = r.gen.seconds_1024;
    out.push({
      name: 'generation at N_CTX=1024',
      value: `${s.toFixed(2)} s`,
      target: `< ${GEN_SECONDS_TARGET} s`,
      met: s < GEN_SECONDS_TARGET,
    });
  }
  return out;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => pad(c, widths[i] ?? 0)).join('  ')).join('\n');
}

/** The printed report: line-rate grid, then the other figures, then the targets. */
export function formatResults(r: NicBenchResults): string {
  const parts: string[] = [];
  for (const [label, grid] of lineRateGrids(r)) {
    const sizes = new Set<string>();
    for (const byCtx of Object.values(grid))
      for (const bySize of Object.values(byCtx ?? {})) for (const s of Object.keys(bySize)) sizes.add(s);
    const sizeList = [...sizes].sort((a, b) => Number(a) - Number(b));
    if (sizeList.length === 0) continue;
    const rows = [[label, 'ctx', ...sizeList.map((s) => `${s} B`)]];
    for (const [dir, byCtx] of Object.entries(grid)) {
      for (const [ctx, bySize] of Object.entries(byCtx ?? {})) {
        rows.push([dir, ctx, ...sizeList.map((s) => (bySize[s] === undefined ? '-' : (bySize[s] as number).toFixed(3)))]);
      }
    }
    parts.push(table(rows));
  }
  const figures: string[][] = [['figure', 'value']];
  if (r.latency) {
    figures.push(['latency.tx_doorbell_to_wire', `${r.latency.tx_doorbell_to_wire} cycles`]);
    for (const [s, v] of Object.entries(r.latency.rx_by_size)) figures.push([`latency.rx_last_byte_to_completion (${s} B)`, `${v} cycles`]);
  }
  for (const [k, bySize] of Object.entries(r.doorbell_per_frame ?? {})) {
    for (const [size, d] of Object.entries(bySize)) {
      figures.push([
        `doorbell_per_frame.${k}.${size}`,
        `${d.ratio.toFixed(3)}, ${d.desc_reads_per_frame.toFixed(1)} descriptor reads/frame`,
      ]);
    }
  }
  for (const c of r.shaping?.caps ?? []) {
    figures.push([
      `shaping.caps.ctx${c.ctx}`,
      `cap ${c.cap_bytes_per_cycle} B/cycle, bucket ${c.bucket_bytes} B: excess ${c.excess_frames.toFixed(3)} frames, reached ${c.reached_over_cap.toFixed(3)}`,
    ]);
  }
  if (r.shaping) {
    figures.push([
      'shaping.uncapped_of_rest',
      `${r.shaping.uncapped_of_rest.toFixed(3)} (link busy ${r.shaping.caps_link_busy.toFixed(3)})`,
    ]);
    for (const x of r.shaping.shares) {
      figures.push([`shaping.shares.ctx${x.ctx}`, `share ${x.share} (${x.sizes}): got ${x.got.toFixed(3)}, want ${x.want.toFixed(3)}`]);
    }
    figures.push(['shaping.share_error', `${r.shaping.share_error.toFixed(3)} (link busy ${r.shaping.shares_link_busy.toFixed(3)})`]);
  }
  if (r.fairness) figures.push(['fairness.max_deviation_frames', `${r.fairness.max_deviation_frames} (${r.fairness.windows} windows)`]);
  for (const [n, a] of Object.entries(r.area ?? {})) figures.push([`area.${n}`, `${a.ff} FF, ${a.logic} logic, ${a.bram_bits} RAM bits`]);
  for (const [n, v] of Object.entries(r.scale?.pick_cycles ?? {})) figures.push([`scale.pick_cycles.${n}`, `${v} cycles`]);
  for (const [size, f] of Object.entries(r.rx_single_ctx_1024 ?? {})) {
    figures.push([
      `rx_single_ctx_1024.${size}`,
      `${f.ratio.toFixed(3)}, ${f.nobuf} rx_nobuf, ${f.desc_reads_per_frame.toFixed(3)} descriptor reads/frame`,
    ]);
  }
  if (r.gen) figures.push(['gen.seconds_1024', `${r.gen.seconds_1024.toFixed(2)} s`]);
  for (const [prof, s] of Object.entries(r.build?.seconds ?? {})) figures.push([`build.seconds.${prof}`, `${s.toFixed(1)} s`]);
  if (figures.length > 1) parts.push(table(figures));
  if (r.targets.length > 0) {
    parts.push(table([['target', 'value', 'wanted', ''], ...r.targets.map((t) => [t.name, t.value, t.target, t.met ? 'met' : 'MISSED'])]));
  }
  return parts.join('\n\n');
}
