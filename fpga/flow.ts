/**
 * The synthesis flow behind `cdna synth`: a flattened Yosys run for the design's totals (what a device
 * needs), a run that keeps the hierarchy for the figures per block, and for iCE40 a place and route of
 * the design inside a pin harness for the achieved clock.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModuleDef } from '../generator/index.js';
import { type AreaBySource, areaBySource } from './areaBySource.js';
import { type Harness, type HarnessInfo, synthHarness } from './harness.js';
import { type LevelReport, lutLevels, sourceMap } from './levels.js';
import { type Ice40Device, ice40Devices, type PnrResult, placeAndRouteIce40 } from './nextpnr.js';
import { type Ecp5Device, type Ecp5PnrResult, findNextpnrEcp5, nextpnrEcp5Missing, placeAndRouteEcp5 } from './nextpnrEcp5.js';
import { type CellStats, type SynthResult, type SynthTarget, synthesize } from './synth.js';

/** Reports what the flow is doing: a phase starts, or something happens inside it. */
export interface FlowProgress {
  phase(name: string): void;
  detail(text: string): void;
}

export interface FlowOptions {
  target: SynthTarget;
  /** Output directory (the report, logs and netlists go here). */
  dir: string;
  /** The clock the design must run at, MHz (checked by place and route on iCE40). */
  freqMHz: number;
  /** Keep a second, hierarchical run for figures per block (default true). */
  breakdown?: boolean;
  /** Place and route (iCE40 only; default true there). */
  pnr?: boolean;
  device?: Ice40Device;
  /** ECP5 place and route (when nextpnr-ecp5 is on the PATH): the part, default LFE5UM5G-25F. */
  ecp5Device?: Ecp5Device;
  seed?: number;
  progress?: FlowProgress;
}

/** One block of the hierarchy: a module, how many instances of it its parent has, and its subtree's figures. */
export interface BlockRow {
  depth: number;
  module: string;
  instances: number;
  /** Figures of one instance with everything below it. */
  stats: CellStats;
}

export interface FlowResult {
  top: string;
  target: SynthTarget;
  /** The whole design, flattened and optimized across blocks. */
  total: CellStats;
  /** Per block, from the run that kept the hierarchy (no optimization across block boundaries). */
  blocks: BlockRow[];
  /** The hierarchical run's total, for comparison with `total`. */
  hierarchicalTotal?: CellStats;
  memoryBits: number;
  warnings: number;
  pnr?: PnrResult & {
    harness: HarnessInfo;
    /** Harness and core after synthesis (absent when place and route was skipped). */
    harnessTotal?: CellStats;
    /** Place and route was not attempted: the synthesis figures alone show the design cannot fit. */
    skipped?: boolean;
  };
  /** ECP5 place and route, or why there was none (`missing`: the tool is not installed). */
  ecp5Pnr?: Ecp5PnrResult | { missing: string };
  /** ECP5: the longest paths in LUT levels, per clock and per block, from the flattened netlist. */
  levels?: LevelReport;
  /** ECP5: where the LUT sites and flip-flops go, by the TypeScript line that made them (flattened netlist). */
  areaBySource?: AreaBySource;
  /** Seconds per phase. */
  timings: Record<string, number>;
  dir: string;
}

/** Rows of the hierarchy below `top`, depth first, children in name order. */
export function blockRows(r: SynthResult, top: string): BlockRow[] {
  const rows: BlockRow[] = [];
  const visit = (name: string, depth: number, instances: number): void => {
    const stats = r.subtrees[name];
    if (!stats) return;
    rows.push({ depth, module: name, instances, stats });
    const kids = r.children[name] ?? {};
    for (const child of Object.keys(kids).sort()) visit(child, depth + 1, kids[child] as number);
  };
  visit(top, 0, 1);
  return rows;
}

/** Lines of Yosys and nextpnr logs that mark progress worth showing. */
function yosysDetail(line: string): string | null {
  const m = /^\d+(?:\.\d+)*\. Executing (.+?)(?: pass)?[.(]/.exec(line);
  return m ? (m[1] as string) : null;
}

function nextpnrDetail(line: string): string | null {
  if (/^Info: Packing/.test(line)) return 'packing';
  if (/^Info: Running main analytical placer|^Info: Running simulated annealing placer|^Info: Placed /.test(line)) return 'placing';
  if (/^Info: Routing|^Info: Router2|^Info: Running router/.test(line)) return 'routing';
  const iter = /^Info:\s+(\d+)\s*\|\s*\d+\s+\d+\s*\|\s*(\d+)\s+\d+\s*\|/.exec(line);
  if (iter) return `routing: ${iter[2]} arcs left`;
  return null;
}

/**
 * A place and route that cannot succeed, decided from the synthesis figures: every iCE40 logic cell
 * holds one LUT and one flip-flop, so the design needs at least as many cells as it has of either
 * (the harness' flip-flops included), and one SB_RAM40_4K per block RAM. Null when it may fit.
 */
export function ice40Misfit(s: CellStats, h: HarnessInfo, device: Ice40Device, freqMHz: number): PnrResult | null {
  const dev = ice40Devices[device];
  const cells = Math.max(s.luts, s.flipFlops + h.harnessFlipFlops);
  if (cells <= dev.logicCells && s.bramCells <= dev.bram4k) return null;
  return {
    device,
    package: dev.package,
    requestedMHz: freqMHz,
    fits: false,
    error: `needs at least ${cells} logic cells (${s.luts} LUTs; ${s.flipFlops} + ${h.harnessFlipFlops} harness flip-flops) and ${s.bramCells} block RAMs; the ${device} has ${dev.logicCells} and ${dev.bram4k}`,
    clocks: [],
    utilization: {
      ICESTORM_LC: { used: cells, available: dev.logicCells },
      ICESTORM_RAM: { used: s.bramCells, available: dev.bram4k },
    },
    seconds: 0,
    logFile: '',
  };
}

/** LUT levels and area by source line of a flattened netlist, with source lines from the Verilog written beside it. */
async function netlistFigures(netlistFile: string, top: string): Promise<{ levels: LevelReport; areaBySource: AreaBySource }> {
  const netlist = await readFile(netlistFile, 'utf8');
  const src = sourceMap(await verilogBeside(netlistFile), top);
  return { levels: lutLevels(netlist, top, src), areaBySource: areaBySource(netlist, top, src) };
}

/** The emitted Verilog written next to a netlist (synthesize writes both into one directory). */
async function verilogBeside(netlistFile: string): Promise<Record<string, string>> {
  const dir = path.dirname(netlistFile);
  const verilog: Record<string, string> = {};
  for (const f of await readdir(dir)) if (f.endsWith('.v')) verilog[f] = await readFile(path.join(dir, f), 'utf8');
  return verilog;
}

export async function runFlow(core: ModuleDef<unknown>, opts: FlowOptions): Promise<FlowResult> {
  const timings: Record<string, number> = {};
  const progress = opts.progress;
  await mkdir(opts.dir, { recursive: true });
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    progress?.phase(name);
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[name] = (performance.now() - t0) / 1000;
    }
  };
  const onLog = (line: string): void => {
    const d = yosysDetail(line);
    if (d) progress?.detail(d);
  };

  const keepMemories = opts.target === 'generic';
  const breakdown = opts.breakdown ?? true;
  // With a per-block run, both runs go to worker processes (yosys blocks the thread it runs on): two
  // cores, about half the time.
  const flatRun = timed(`yosys ${opts.target} (flattened)`, () =>
    synthesize(core, {
      target: opts.target,
      dir: path.join(opts.dir, 'flat'),
      flatten: true,
      keepMemories,
      onLog,
      netlist: opts.target === 'ecp5',
      inWorker: breakdown,
    }),
  );
  const hierRun = breakdown
    ? timed(`yosys ${opts.target} (per block)`, () =>
        synthesize(core, { target: opts.target, dir: path.join(opts.dir, 'blocks'), flatten: false, keepMemories, inWorker: true }),
      )
    : null;
  const [flat, hier] = await Promise.all([flatRun, hierRun]);
  const figures = flat.netlistFile ? await netlistFigures(flat.netlistFile, flat.top) : undefined;
  let blocks: BlockRow[] = [];
  let hierarchicalTotal: CellStats | undefined;
  let warnings = flat.warnings.length;
  if (hier) {
    blocks = blockRows(hier, hier.top);
    hierarchicalTotal = hier.design;
    warnings = Math.max(warnings, hier.warnings.length);
  } else {
    blocks = [{ depth: 0, module: flat.top, instances: 1, stats: flat.design }];
  }

  const result: FlowResult = {
    top: flat.top,
    target: opts.target,
    total: flat.design,
    blocks,
    ...(hierarchicalTotal ? { hierarchicalTotal } : {}),
    memoryBits: flat.memoryBits,
    warnings,
    ...(figures ? figures : {}),
    timings,
    dir: opts.dir,
  };

  if (opts.target === 'ecp5' && (opts.pnr ?? true) && flat.netlistFile) {
    const netlistFile = flat.netlistFile;
    if (!findNextpnrEcp5()) result.ecp5Pnr = { missing: nextpnrEcp5Missing };
    else {
      const verilog = await verilogBeside(netlistFile);
      result.ecp5Pnr = await timed('nextpnr-ecp5 (place and route)', () =>
        placeAndRouteEcp5(netlistFile, {
          device: opts.ecp5Device ?? 'um5g-25k',
          freqMHz: opts.freqMHz,
          seed: opts.seed,
          dir: path.dirname(netlistFile),
          src: sourceMap(verilog, flat.top),
          onLog: (line) => {
            const d = nextpnrDetail(line);
            if (d) progress?.detail(d);
          },
        }),
      );
    }
  }
  if (opts.target === 'ice40' && (opts.pnr ?? true)) {
    const harness: Harness = synthHarness(core);
    const skip = ice40Misfit(flat.design, harness.info, opts.device ?? 'hx8k', opts.freqMHz);
    if (skip) {
      result.pnr = { ...skip, harness: harness.info, skipped: true };
      return result;
    }
    const hs = await timed('yosys ice40 (pin harness)', () =>
      synthesize(harness.def, { target: 'ice40', dir: path.join(opts.dir, 'harness'), flatten: true, netlist: true, onLog }),
    );
    const netlist = await readFile(hs.netlistFile as string, 'utf8');
    const pnr = await timed('nextpnr-ice40 (place and route)', () =>
      placeAndRouteIce40(netlist, {
        device: opts.device,
        freqMHz: opts.freqMHz,
        seed: opts.seed,
        dir: path.join(opts.dir, 'harness'),
        onLog: (line) => {
          const d = nextpnrDetail(line);
          if (d) progress?.detail(d);
        },
      }),
    );
    result.pnr = { ...pnr, harness: harness.info, harnessTotal: hs.design };
  }
  return result;
}
