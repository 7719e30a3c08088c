/**
 * Synthesis of a generated design with Yosys, for a generic gate library or an FPGA family, with the
 * resulting resource figures (flip-flops, LUTs, block RAM, DSPs; per module and for the whole design).
 * A latch anywhere in the design is an error: the DSL refuses them, so one here is a bug to report.
 */
import { fork } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModuleDef } from '../generator/dsl/module.js';
import { writeDesign } from '../generator/verilog/write.js';
import { buildRoot } from '../sim/paths.js';
import { cachedYosys } from './yosys.js';

/** What to synthesize for: Yosys' generic gates, or the Lattice iCE40 / ECP5 or Xilinx 7-series families. */
export type SynthTarget = 'generic' | 'ice40' | 'ecp5' | 'xc7';

export const synthTargets: readonly SynthTarget[] = ['generic', 'ice40', 'ecp5', 'xc7'];

export interface SynthOptions {
  target?: SynthTarget;
  /** Where to write the Verilog, the Yosys log and the statistics (default build/synth/<target>/<module>). */
  dir?: string;
  /** Return latches in the result instead of throwing. */
  allowLatches?: boolean;
  /**
   * Flatten before mapping (the default for the FPGA targets: the figures a device needs, with
   * optimization across block boundaries), or keep the hierarchy (the default for `generic`) to get
   * figures per block.
   */
  flatten?: boolean;
  /** Also write the mapped netlist as Yosys JSON (`netlist.json`, what nextpnr reads). */
  netlist?: boolean;
  /** Sees each line of the Yosys log as it is printed (progress displays). */
  onLog?: (line: string) => void;
  /**
   * Generic target only: leave memories as memory cells instead of mapping them to flip-flops and
   * multiplexers (a design with hundreds of kilobits of RAM would otherwise become that many flip-flops).
   */
  keepMemories?: boolean;
  /** Run yosys in a worker process, so that several runs can go on at once. */
  inWorker?: boolean;
}

/** Resource figures of one module (or, for `design`, of the whole hierarchy below the top). */
export interface CellStats {
  /** All cells, submodule instances excluded. */
  cells: number;
  flipFlops: number;
  /** Combinational cells: LUTs, carry and mux primitives, or generic gates. */
  logicCells: number;
  /** LUTs proper (0 for the generic target, which maps to gates). */
  luts: number;
  carryCells: number;
  bramCells: number;
  /** Capacity of the block RAM primitives used. */
  bramBits: number;
  /** Distributed (LUT) RAM primitives. */
  lutRamCells: number;
  dsps: number;
  latches: number;
  /** Memories left unmapped (generic target with `keepMemories`). */
  memoryCells: number;
  /** Cell counts by Yosys cell type. */
  byType: Record<string, number>;
}

export interface SynthResult {
  top: string;
  target: SynthTarget;
  /** The whole design: the top with its submodules counted as often as they are instantiated. */
  design: CellStats;
  /** Each module left after synthesis, its own cells only (a flattened run leaves only the top). */
  modules: Record<string, CellStats>;
  /** Each module with everything below it, submodules counted as often as they are instantiated. */
  subtrees: Record<string, CellStats>;
  /** For each module, its submodules and how many instances of each it has. */
  children: Record<string, Record<string, number>>;
  /** Bits of the memories the design declares (what block RAM has to hold); 0 for hand-written sources. */
  memoryBits: number;
  /** Latch cells and Yosys' "Latch inferred" lines; empty for a good design. */
  latches: string[];
  /** Yosys' warnings. */
  warnings: string[];
  dir: string;
  logFile: string;
  /** The mapped netlist (Yosys JSON) when `netlist` was asked for. */
  netlistFile?: string;
}

/** Synthesis found something the design must not have (a latch); the message names it. */
export class SynthesisError extends Error {
  constructor(
    message: string,
    readonly result: SynthResult,
  ) {
    super(message);
    this.name = 'SynthesisError';
  }
}

/** The Yosys synthesis command of each target; `flatten` overrides the target's own default. */
function synthCommand(target: SynthTarget, top: string, flatten: boolean | undefined, keepMemories = false): string {
  switch (target) {
    case 'generic':
      // `synth` up to its fine stage, then its fine stage without memory_map.
      if (keepMemories)
        return `synth ${flatten ? '-flatten ' : ''}-top ${top} -run begin:fine\nopt -fast -full\ntechmap\nopt -fast\nabc -fast\nopt -fast`;
      return `synth ${flatten ? '-flatten ' : ''}-top ${top}`;
    case 'ice40':
      return `synth_ice40 ${flatten === false ? '-noflatten ' : ''}-top ${top}`;
    case 'ecp5':
      return `synth_ecp5 ${flatten === false ? '-noflatten ' : ''}-top ${top}`;
    case 'xc7':
      return `synth_xilinx -family xc7 ${flatten === false ? '' : '-flatten '}-top ${top}`;
  }
}

type Kind = 'ff' | 'lut' | 'carry' | 'logic' | 'bram' | 'lutram' | 'dsp' | 'latch' | 'memory' | 'other';

const bramCapacity: Record<string, number> = {
  SB_RAM40_4K: 4096,
  DP16KD: 18432,
  PDPW16KD: 18432,
  RAMB18E1: 18432,
  RAMB36E1: 36864,
};

/** Sorts a cell type into a resource kind. Generic types start with `$`; the rest are vendor primitives. */
export function cellKind(type: string): Kind {
  if (/^\$_?(dlatch|adlatch|dlatchsr)|^\$_DLATCH|^\$_SR_|^\$sr$|^LD[CP]E$|^LDCPE$/i.test(type)) return 'latch';
  if (
    /^\$_(S?DFF|DFFE|SDFFE|SDFFCE|ALDFF|DFFSR|DFFSRE|ALDFFE)/.test(type) ||
    /^\$(a?s?dff|dffe|sdffe|sdffce|adffe|aldff|dffsr)/.test(type)
  ) {
    return 'ff';
  }
  if (/^SB_DFF|^TRELLIS_FF$|^FD[RSCP]E$|^FDRE_1$|^FD$/.test(type)) return 'ff';
  if (type in bramCapacity) return 'bram';
  if (/^(SB_LUT4|LUT4|LUT[1-6])$/.test(type)) return 'lut';
  if (/^(SB_CARRY|CCU2C|CARRY4|CARRY8)$/.test(type)) return 'carry';
  if (/^(RAM\d+[MSX]|RAM\d+X\d+[SD]|TRELLIS_DPR16X4|TRELLIS_RAM16X2|RAM(32|64|128|256)X1[SD])/.test(type)) return 'lutram';
  if (/^(SB_MAC16|MULT18X18D|ALU54B|DSP48E1)$/.test(type)) return 'dsp';
  if (/^(MUXF[78]|PFUMX|L6MUX21)$/.test(type)) return 'logic';
  if (/^\$mem(_v2)?$/.test(type)) return 'memory';
  // Hierarchy records left by flatten, not hardware.
  if (type === '$scopeinfo') return 'other';
  if (/^\$_/.test(type)) return 'logic';
  if (/^\$/.test(type)) return 'logic';
  return 'other';
}

/** Figures of a design with no cells (the start of a sum, or a base for test figures). */
export function emptyStats(): CellStats {
  return {
    cells: 0,
    flipFlops: 0,
    logicCells: 0,
    luts: 0,
    carryCells: 0,
    bramCells: 0,
    bramBits: 0,
    lutRamCells: 0,
    dsps: 0,
    latches: 0,
    memoryCells: 0,
    byType: {},
  };
}

function addCells(s: CellStats, type: string, count: number): void {
  s.byType[type] = (s.byType[type] ?? 0) + count;
  s.cells += count;
  switch (cellKind(type)) {
    case 'ff':
      s.flipFlops += count;
      break;
    case 'lut':
      s.luts += count;
      s.logicCells += count;
      break;
    case 'carry':
      s.carryCells += count;
      s.logicCells += count;
      break;
    case 'logic':
      s.logicCells += count;
      break;
    case 'bram':
      s.bramCells += count;
      s.bramBits += count * (bramCapacity[type] ?? 0);
      break;
    case 'lutram':
      s.lutRamCells += count;
      break;
    case 'dsp':
      s.dsps += count;
      break;
    case 'latch':
      s.latches += count;
      break;
    case 'memory':
      s.memoryCells += count;
      break;
    case 'other':
      break;
  }
}

function merge(into: CellStats, from: CellStats): void {
  for (const [type, n] of Object.entries(from.byType)) addCells(into, type, n);
}

interface StatJson {
  modules: Record<string, { num_cells_by_type?: Record<string, number> }>;
}

const yosysName = (name: string): string => (name.startsWith('\\') ? name.slice(1) : name);

/** What `stat -json` says: each module's own cells, its subtree's, its submodules, and the design total below `top`. */
export interface ParsedStat {
  modules: Record<string, CellStats>;
  subtrees: Record<string, CellStats>;
  children: Record<string, Record<string, number>>;
  design: CellStats;
}

/** Reads `stat -json` output into per-module figures and the design total below `top`. */
export function parseStat(json: string, top: string): ParsedStat {
  const stat = JSON.parse(json) as StatJson;
  const raw = new Map<string, Record<string, number>>();
  for (const [name, m] of Object.entries(stat.modules)) raw.set(yosysName(name), m.num_cells_by_type ?? {});
  const modules: Record<string, CellStats> = {};
  for (const [name, types] of raw) {
    const s = emptyStats();
    for (const [type, n] of Object.entries(types)) if (!raw.has(yosysName(type))) addCells(s, type, n);
    modules[name] = s;
  }
  const totals = new Map<string, CellStats>();
  const total = (name: string): CellStats => {
    const known = totals.get(name);
    if (known) return known;
    const s = emptyStats();
    merge(s, modules[name] ?? emptyStats());
    for (const [type, n] of Object.entries(raw.get(name) ?? {})) {
      const child = yosysName(type);
      if (raw.has(child)) for (let i = 0; i < n; i++) merge(s, total(child));
    }
    totals.set(name, s);
    return s;
  };
  const subtrees: Record<string, CellStats> = {};
  const children: Record<string, Record<string, number>> = {};
  for (const [name, types] of raw) {
    subtrees[name] = total(name);
    const kids: Record<string, number> = {};
    for (const [type, n] of Object.entries(types)) if (raw.has(yosysName(type))) kids[yosysName(type)] = n;
    children[name] = kids;
  }
  return { modules, subtrees, children, design: total(top) };
}

function designMemoryBits(def: ModuleDef<unknown>): number {
  let bits = 0;
  for (const m of def.builder.memories) bits += m.width * m.depth;
  for (const i of def.builder.instances) bits += designMemoryBits(i.def);
  return bits;
}

/** Synthesizes `def` with Yosys and returns its resource figures; throws a SynthesisError on a latch. */
export async function synthesize(def: ModuleDef<unknown>, opts: SynthOptions = {}): Promise<SynthResult> {
  const target = checkTarget(opts.target);
  const dir = opts.dir ?? path.join(buildRoot(), 'synth', target, def.verilogName);
  const written = await writeDesign(def, dir);
  const sources: Record<string, string> = {};
  for (const f of written.files) sources[path.basename(f)] = await readFile(f, 'utf8');
  const result = opts.inWorker
    ? await synthesizeInWorker(written.top, sources, { ...opts, target, dir })
    : await synthesizeSources(written.top, sources, { ...opts, target, dir });
  result.memoryBits = designMemoryBits(def);
  return result;
}

/** synthesizeSources in a worker process (fpga/synthWorker.ts, run through tsx). */
function synthesizeInWorker(top: string, sources: Record<string, string>, opts: SynthOptions): Promise<SynthResult> {
  const { onLog, inWorker: _, ...rest } = opts;
  const worker = fileURLToPath(new URL('./synthWorker.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = fork(worker, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let done = false;
    child.on('message', (m: { log?: string; result?: SynthResult; error?: string }) => {
      if (m.log !== undefined) onLog?.(m.log);
      else if (m.result) {
        done = true;
        resolve(m.result);
        child.kill();
      } else if (m.error !== undefined) {
        done = true;
        reject(new Error(m.error));
        child.kill();
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!done) reject(new Error(`the synthesis worker for ${top} exited with code ${code} before it finished`));
    });
    child.send({ top, sources, opts: rest });
  });
}

function checkTarget(target: SynthTarget | undefined): SynthTarget {
  const t = target ?? 'generic';
  if (!synthTargets.includes(t)) throw new Error(`synthesize: unknown target '${t}'; use one of ${synthTargets.join(', ')}`);
  return t;
}

/**
 * Synthesizes Verilog sources (file name -> text) with `top` as the top module. `synthesize` uses it for
 * generated designs; it also takes hand-written Verilog, e.g. a vendor wrapper.
 */
export async function synthesizeSources(top: string, sources: Record<string, string>, opts: SynthOptions = {}): Promise<SynthResult> {
  const target = checkTarget(opts.target);
  const dir = opts.dir ?? path.join(buildRoot(), 'synth', target, top);
  await mkdir(dir, { recursive: true });
  const script = [
    `read_verilog ${Object.keys(sources).join(' ')}`,
    `hierarchy -check -top ${top}`,
    synthCommand(target, top, opts.flatten, opts.keepMemories),
    'check',
    'tee -q -o stat.json stat -json',
    'stat',
    ...(opts.netlist ? ['write_json netlist.json'] : []),
  ].join('\n');
  const run = await cachedYosys(script, sources, {
    cache: 'synth-cache',
    outputs: ['stat.json', ...(opts.netlist ? ['netlist.json'] : [])],
    ...(opts.onLog ? { onLine: opts.onLog } : {}),
  });
  const logFile = path.join(dir, 'yosys.log');
  await writeFile(logFile, run.log);
  const statJson = run.files['stat.json'];
  if (!statJson) throw new Error(`synthesize: yosys wrote no statistics for ${top}; see ${logFile}`);
  await writeFile(path.join(dir, 'stat.json'), statJson);
  const { modules, subtrees, children, design } = parseStat(statJson, top);
  let netlistFile: string | undefined;
  if (opts.netlist) {
    const netlist = run.files['netlist.json'];
    if (!netlist) throw new Error(`synthesize: yosys wrote no netlist for ${top}; see ${logFile}`);
    netlistFile = path.join(dir, 'netlist.json');
    await writeFile(netlistFile, netlist);
  }

  const latches: string[] = [];
  for (const line of run.log.split('\n')) if (/^\s*Latch inferred for signal/.test(line)) latches.push(line.trim());
  for (const [name, s] of Object.entries(modules)) {
    for (const [type, n] of Object.entries(s.byType)) if (cellKind(type) === 'latch') latches.push(`${n} ${type} cell(s) in ${name}`);
  }
  const warnings = run.log
    .split('\n')
    .filter((l) => /^Warning:/.test(l))
    .map((l) => l.trim());
  const result: SynthResult = {
    top,
    target,
    design,
    modules,
    subtrees,
    children,
    memoryBits: 0,
    latches,
    warnings: [...new Set(warnings)],
    dir,
    logFile,
    ...(netlistFile ? { netlistFile } : {}),
  };
  if (latches.length > 0 && !opts.allowLatches) {
    throw new SynthesisError(`synthesis of ${top} (${target}) found latches; see ${logFile}:\n${latches.join('\n')}`, result);
  }
  return result;
}

/** A one-line summary of the figures, for logs and the CLI. */
export function formatStats(s: CellStats): string {
  const parts = [`${s.flipFlops} FF`, `${s.logicCells} logic (${s.luts} LUT, ${s.carryCells} carry)`];
  if (s.bramCells) parts.push(`${s.bramCells} BRAM (${s.bramBits} bits)`);
  if (s.lutRamCells) parts.push(`${s.lutRamCells} LUTRAM`);
  if (s.dsps) parts.push(`${s.dsps} DSP`);
  if (s.latches) parts.push(`${s.latches} LATCH`);
  return parts.join(', ');
}
