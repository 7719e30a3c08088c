/**
 * NIC performance benchmark (issue 7), every figure from the Verilated RTL in cycles except the tool
 * times: line rate at 10 GbE for TX, RX and both, at 1, 8 and 256 contexts and seven frame sizes,
 * with host reads answered 200 cycles late; idle latencies; transmit fairness; area and scheduler
 * pick time against N_CTX; generation and build times. See docs/performance.md.
 *
 * Writes build/bench/results.json and prints a table. Run: npm run bench -- nic
 * Environment:
 *   NIC_BENCH=linerate,linerate32,linerate100g,doorbells,latency,fairness,shaping,rxsingle,scale,area,tools   run only these parts (the JSON then goes
 *                                                          to build/bench/results-partial.json)
 *   NIC_BENCH_WINDOW=3000      steady-state cycles per line-rate point
 *   NIC_BENCH_SIZES=60,1514    NIC_BENCH_CONTEXTS=1,8    NIC_BENCH_DIRS=tx,rx   a smaller grid
 *   NIC_BENCH_OUT=file.json    write the JSON there instead
 *   NIC_BENCH_READ_LATENCY=200 NIC_BENCH_MAX_READS=64   another host (the targets assume the defaults)
 *   NIC_BENCH_TX_QUANTUM=4     the 10g profile with another TX_QUANTUM
 *   NIC_BENCH_CONTEXTS_100G=1,1024   the contexts of the 100g grid (sizes from 64 B of NIC_BENCH_SIZES)
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { deriveParams, type NicParams, profileClockMHz, resolveParams } from '../hdl/params.js';
import { loadModel, type PortValue, type Simulation, simulate } from '../sim/index.js';
import { buildRoot } from '../sim/paths.js';
import { runDoorbellPerFrame } from './nic/doorbellPerFrame.js';
import { linkBytesPerCycle } from './nic/ethernetTiming.js';
import { runFairness } from './nic/fairness.js';
import { rxLastByteToCompletion, txDoorbellToWire } from './nic/latency.js';
import { DEFAULT_BUDGET, type Direction, runLineRate } from './nic/lineRate.js';
import { checkTargets, formatResults, type NicBenchResults, rxLatencyTarget } from './nic/results.js';
import type { HostTiming } from './nic/rig.js';
import { runRxSingleCtx } from './nic/rxSingleCtx.js';
import { doorbellToPick, nicArea } from './nic/scale.js';
import { runShaping } from './nic/shaping.js';
import { coldBuild, elaborateNic, timeGeneration } from './nic/toolTimes.js';

type Ports = { [name: string]: PortValue };

const PROFILE = '10g';
/**
 * Host memory: reads answered 200 cycles late (about 1.3 us at 156.25 MHz, a PCIe round trip) with up
 * to 64 in flight (PCIe tags); writes are posted, so the bridge answers B a few cycles after the data.
 */
const HOST: HostTiming = {
  readLatency: Number(process.env.NIC_BENCH_READ_LATENCY ?? 200),
  writeLatency: 4,
  maxReads: Number(process.env.NIC_BENCH_MAX_READS ?? 64),
  maxWrites: 32,
};
/** The same host with 32 read slots (a PCIe endpoint without extended tags): `linerate_32slots`. */
const HOST_32: HostTiming = { ...HOST, maxReads: 32 };
for (const [k, v] of Object.entries(HOST)) {
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`host ${k} must be a positive integer (got ${v}): check NIC_BENCH_READ_LATENCY / NIC_BENCH_MAX_READS`);
}
const SIZES = [60, 64, 128, 256, 512, 1024, 1514];
const CONTEXTS = [1, 8, 256];
const DIRS: Direction[] = ['tx', 'rx', 'both'];
const FAIRNESS_SIZES = [60, 1514, 128, 512, 64, 1024, 256, 300];
const AREA_N = [32, 256, 1024];
const PICK_N = [32, 1024];
const PARTS = [
  'tools',
  'linerate',
  'linerate32',
  'linerate100g',
  'doorbells',
  'latency',
  'fairness',
  'shaping',
  'rxsingle',
  'scale',
  'area',
] as const;
type Part = (typeof PARTS)[number];

function listEnv(name: string): string[] | undefined {
  const v = process.env[name];
  return v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
}

const only = listEnv('NIC_BENCH');
for (const p of only ?? []) {
  if (!(PARTS as readonly string[]).includes(p)) throw new Error(`NIC_BENCH=${p}: unknown part; parts are ${PARTS.join(', ')}`);
}
const runs = (p: Part) => !only || only.includes(p);
const sizes = listEnv('NIC_BENCH_SIZES')?.map(Number) ?? SIZES;
const contexts = listEnv('NIC_BENCH_CONTEXTS')?.map(Number) ?? CONTEXTS;
const dirs = (listEnv('NIC_BENCH_DIRS') ?? DIRS) as Direction[];
for (const d of dirs) if (!DIRS.includes(d)) throw new Error(`NIC_BENCH_DIRS: unknown direction '${d}'; use ${DIRS.join(', ')}`);
const budget = { ...DEFAULT_BUDGET, windowCycles: Number(process.env.NIC_BENCH_WINDOW ?? DEFAULT_BUDGET.windowCycles) };

const t0 = performance.now();
// TX_QUANTUM of the simulated NIC (the profile's, 1, unless set): batching across turns needs >= 4.
const quantumEnv = process.env.NIC_BENCH_TX_QUANTUM;
const p = resolveParams(PROFILE, quantumEnv === undefined ? {} : { TX_QUANTUM: Number(quantumEnv) });
const dmaBytes = deriveParams(p).dmaBytes;
const results: NicBenchResults = {
  meta: {
    profile: PROFILE,
    txQuantum: p.TX_QUANTUM,
    date: new Date().toISOString(),
    commit: gitCommit(),
    host: HOST,
    bytesPerCycle: p.STREAM_W / 8,
    seconds: 0,
  },
  linerate: {},
  linerate_detail: {},
  targets: [],
};
const log = (s: string) => console.log(s);

/** Sets table[dir][contexts][size], creating the levels on the way. */
function record<T>(
  table: Partial<Record<Direction, Record<string, Record<string, T>>>>,
  dir: Direction,
  k: number,
  size: number,
  v: T,
): void {
  const byCtx = table[dir] ?? {};
  table[dir] = byCtx;
  const bySize = byCtx[String(k)] ?? {};
  byCtx[String(k)] = bySize;
  bySize[String(size)] = v;
}

const errors: string[] = [];

/** Runs one part of the benchmark; a failure is reported and recorded, and the other parts still run. */
async function part(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const msg = `${name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
    console.error(`FAILED ${msg}`);
    errors.push(msg);
  }
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'hdl', 'generator'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+uncommitted hdl/generator changes` : head;
  } catch {
    return 'unknown';
  }
}

// Generation first, in a fresh process, as a user running `cdna generate` would see it.
// The 10g model built cold by the tools part, reused for the simulations (no second build).
const cold10g: { sim?: Simulation<Ports>; discard?: () => Promise<void> } = {};
if (runs('tools'))
  await part('tools', async () => {
    const g = timeGeneration(resolveParams(PROFILE, { N_CTX: 1024 }));
    results.gen = { seconds_1024: g.seconds, verilog_bytes_1024: g.verilogBytes };
    log(`generation at N_CTX=1024: ${g.seconds.toFixed(2)} s (${(g.verilogBytes / 1e6).toFixed(1)} MB of Verilog)`);
    const seconds: Record<string, number> = {};
    for (const prof of ['test', PROFILE]) {
      const b = await coldBuild(prof);
      seconds[prof] = b.seconds;
      log(`cold build of ${prof}: ${b.seconds.toFixed(1)} s`);
      if (prof === PROFILE) {
        cold10g.sim = loadModel<Ports>(b.model);
        cold10g.discard = b.discard;
      } else await b.discard();
    }
    results.build = { seconds };
  });

const needs10g = runs('linerate') || runs('linerate32') || runs('doorbells') || runs('latency') || runs('fairness') || runs('shaping');
const sim10g: Simulation<Ports> | null = cold10g.sim ?? (needs10g ? await simulate<Ports>(elaborateNic(p)) : null);

/** The NIC, contexts and sizes of a grid other than the 10g profile's (default: that one). */
interface GridNic {
  params: NicParams;
  contexts: readonly number[];
  sizes: readonly number[];
  /** Wire byte times per cycle (RigOptions.wireRate). */
  wireRate?: number;
}

/** The line-rate grid on one host into `table` and `detailTable`; `label` prefixes the log lines. */
async function lineRateGrid(
  sim: Simulation<Ports>,
  host: HostTiming,
  label: string,
  table: NicBenchResults['linerate'],
  detailTable: NicBenchResults['linerate_detail'],
  nic: GridNic = { params: p, contexts, sizes },
): Promise<void> {
  for (const dir of dirs) {
    for (const k of nic.contexts) {
      for (const size of nic.sizes) {
        const t = performance.now();
        let r: Awaited<ReturnType<typeof runLineRate>>;
        try {
          r = await runLineRate(sim, nic.params, host, { dir, contexts: k, size }, budget, { wireRate: nic.wireRate });
        } catch (e) {
          errors.push(`${label} ${dir} ${k} ctx ${size} B: ${e instanceof Error ? e.message : String(e)}`);
          console.error(`FAILED ${label} ${dir} ${k} ctx ${size} B: ${e instanceof Error ? e.message : String(e)}`);
          continue;
        }
        const { ratio, ...detail } = r;
        record(table, dir, k, size, ratio);
        record(detailTable, dir, k, size, detail);
        const drops = r.rx?.dropped ? `, ${r.rx.dropped} RX frames dropped` : '';
        log(
          `${label} ${dir} ${k} ctx ${size} B: ${ratio.toFixed(3)}${drops} (${r.cycles} cycles, peak reads ${r.peakReads}, ${((performance.now() - t) / 1000).toFixed(1)} s)`,
        );
      }
    }
  }
}

if (runs('linerate') && sim10g)
  await part('linerate', () => lineRateGrid(sim10g, HOST, 'line rate', results.linerate, results.linerate_detail));

if (runs('linerate32') && sim10g)
  await part('linerate32', async () => {
    results.linerate_32slots = {};
    results.linerate_32slots_detail = {};
    await lineRateGrid(sim10g, HOST_32, 'line rate (32 read slots)', results.linerate_32slots, results.linerate_32slots_detail);
  });

if (runs('doorbells') && sim10g)
  await part('doorbells', async () => {
    const table: NonNullable<NicBenchResults['doorbell_per_frame']> = {};
    results.doorbell_per_frame = table;
    for (const k of [1, 8]) {
      const bySize: Record<string, { ratio: number; desc_reads_per_frame: number }> = {};
      table[String(k)] = bySize;
      for (const size of [60, 1514]) {
        const r = await runDoorbellPerFrame(sim10g, p, HOST, k, size, size < 256 ? 400 : 80);
        bySize[String(size)] = { ratio: r.ratio, desc_reads_per_frame: r.descReadsPerFrame };
        log(`doorbell per frame, ${k} ctx ${size} B: ${r.ratio.toFixed(3)}, ${r.descReadsPerFrame.toFixed(1)} descriptor reads per frame`);
      }
    }
  });

if (runs('latency') && sim10g)
  await part('latency', async () => {
    const tx = await txDoorbellToWire(sim10g, p, HOST);
    const rx = await rxLastByteToCompletion(sim10g, p, HOST, [60, 512, 1514]);
    // The headline RX figure is the size with the least margin to its target.
    const entries = Object.entries(rx.bySize).map(([s, v]) => ({ size: Number(s), v, margin: rxLatencyTarget(Number(s), dmaBytes) - v }));
    const worst = entries.reduce((a, b) => (b.margin < a.margin ? b : a));
    results.latency = {
      tx_doorbell_to_wire: tx.cycles,
      tx_samples: tx.samples,
      rx_last_byte_to_completion: worst.v,
      rx_size: worst.size,
      rx_by_size: Object.fromEntries(entries.map((e) => [String(e.size), e.v])),
    };
    log(`latency: TX doorbell to wire ${tx.cycles} (${tx.samples.join(', ')}); RX last byte to completion ${JSON.stringify(rx.bySize)}`);
  });

if (runs('fairness') && sim10g)
  await part('fairness', async () => {
    const f = await runFairness(sim10g, p, HOST, FAIRNESS_SIZES, 16);
    results.fairness = { max_deviation_frames: f.maxDeviation, contexts: f.contexts, sizes: f.sizes, windows: f.windows, frames: f.frames };
    log(`fairness: ${f.contexts} contexts, max deviation ${f.maxDeviation} frames over ${f.windows} windows`);
  });
if (runs('shaping') && sim10g)
  await part('shaping', async () => {
    const s = await runShaping(sim10g, p, HOST);
    results.shaping = {
      window_cycles: s.windowCycles,
      caps: s.caps.map((c) => ({
        ctx: c.ctx,
        cap_bytes_per_cycle: c.cap,
        bucket_bytes: c.bucket,
        excess_frames: c.excessFrames,
        reached_over_cap: c.reached,
      })),
      uncapped_of_rest: s.uncappedOfRest,
      caps_link_busy: s.capsBusy,
      shares: s.shares.map((x) => ({ ctx: x.ctx, share: x.share, sizes: x.size, want: x.want, got: x.got, error: x.error })),
      share_error: s.shareError,
      shares_link_busy: s.sharesBusy,
    };
    for (const c of s.caps) {
      log(
        `shaping: ctx ${c.ctx} cap ${c.cap} B/cycle (bucket ${c.bucket} B): worst excess ${c.excessFrames.toFixed(3)} frames, reached ${c.reached.toFixed(3)} of the cap`,
      );
    }
    log(`shaping: uncapped context took ${s.uncappedOfRest.toFixed(3)} of the rest, link busy ${s.capsBusy.toFixed(3)}`);
    log(
      `shaping: shares ${s.shares.map((x) => `${x.share}:${x.got.toFixed(3)}/${x.want.toFixed(3)}`).join(', ')}, worst error ${s.shareError.toFixed(3)}`,
    );
  });
sim10g?.close();
await cold10g.discard?.();

if (runs('rxsingle'))
  await part('rxsingle', async () => {
    // One context alone at N_CTX = 1024, where the per-context prefetch is 8 deep (issue 16).
    const pn = resolveParams(PROFILE, { N_CTX: 1024 });
    const sim = await simulate<Ports>(elaborateNic(pn));
    try {
      const r = await runRxSingleCtx(sim, pn, HOST, sizes, budget);
      results.rx_single_ctx_1024 = r;
      for (const [size, f] of Object.entries(r)) {
        log(
          `rx single context at N_CTX=1024, ${size} B: ${f.ratio.toFixed(3)} (${f.nobuf} rx_nobuf, ${f.desc_reads_per_frame.toFixed(3)} reads/frame)`,
        );
      }
    } finally {
      sim.close();
    }
  });

if (runs('linerate100g'))
  await part('linerate100g', async () => {
    // The 100g profile (N_CTX = 1024, 512-bit stream and DMA) at its clock: the MACs take and give
    // 100 Gb/s, about 38.8 byte times per cycle, on a stream that could carry 64 (issue 16).
    const pn = resolveParams('100g');
    const clockMHz = profileClockMHz('100g');
    const wireRate = linkBytesPerCycle(100, clockMHz);
    const sim = await simulate<Ports>(elaborateNic(pn));
    try {
      results.linerate_100g = {};
      results.linerate_100g_detail = {};
      results.linerate_100g_meta = { clock_mhz: clockMHz, link_gbps: 100, wire_bytes_per_cycle: wireRate, n_ctx: pn.N_CTX };
      const sizes100 = sizes.filter((s) => s >= 64);
      const contexts100 = listEnv('NIC_BENCH_CONTEXTS_100G')?.map(Number) ?? [1, pn.N_CTX];
      await lineRateGrid(sim, HOST, 'line rate (100g)', results.linerate_100g, results.linerate_100g_detail, {
        params: pn,
        contexts: contexts100,
        sizes: sizes100,
        wireRate,
      });
    } finally {
      sim.close();
    }
  });

if (runs('scale'))
  await part('scale', async () => {
    const pick: Record<string, number> = {};
    const byCtx: Record<string, Record<string, number>> = {};
    for (const n of PICK_N) {
      const pn = resolveParams(PROFILE, { N_CTX: n });
      const sim = await simulate<Ports>(elaborateNic(pn));
      try {
        const r = await doorbellToPick(sim, pn, HOST);
        pick[String(n)] = r.cycles;
        byCtx[String(n)] = Object.fromEntries(Object.entries(r.byContext).map(([c, v]) => [c, v]));
        log(`doorbell to pick at N_CTX=${n}: ${r.cycles} cycles (${JSON.stringify(r.byContext)})`);
      } finally {
        sim.close();
      }
    }
    results.scale = { pick_cycles: pick, pick_by_context: byCtx };
  });

if (runs('area'))
  await part('area', async () => {
    results.area = {};
    for (const n of AREA_N) {
      const a = await nicArea(elaborateNic(resolveParams(PROFILE, { N_CTX: n })));
      results.area[String(n)] = { ff: a.ff, logic: a.logic, bram_bits: a.bram_bits };
      log(
        `area at N_CTX=${n}: ${a.ff} FF, ${a.logic} logic cells, ${a.bram_bits} RAM bits${a.cached ? ' (cached synthesis)' : ` (yosys ${a.seconds.toFixed(0)} s)`}`,
      );
    }
  });

results.targets = checkTargets(results, dmaBytes);
results.errors = errors;
results.meta.seconds = (performance.now() - t0) / 1000;
const outDir = path.join(buildRoot(), 'bench');
await mkdir(outDir, { recursive: true });
const file = process.env.NIC_BENCH_OUT
  ? path.resolve(process.env.NIC_BENCH_OUT)
  : path.join(outDir, only ? 'results-partial.json' : 'results.json');
await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\n${formatResults(results)}\n\nwrote ${path.relative(process.cwd(), file)} (${results.meta.seconds.toFixed(0)} s)`);
if (errors.length > 0) {
  console.error(`\n${errors.length} part(s) failed:\n${errors.map((e) => `  ${e.split('\n')[0]}`).join('\n')}`);
  process.exitCode = 1;
}
