/** The one-call entry point: a DSL module or Verilog files in, a running simulation out. */
import { emitDesign, type ModuleDef } from '../generator/index.js';
import { type BuildSpec, buildModel, type VerilogText } from './build.js';
import type { PortValues } from './port-class.js';
import { checkXSeed, loadModel, type Simulation, type XInitOptions } from './simulation.js';
import { planWaves, type WavesOption } from './waves.js';

export interface SimulateOptions extends Omit<BuildSpec, 'top' | 'files' | 'verilogDir' | 'sources' | 'xInit'> {
  /**
   * Randomized X initialization (F-7): the model is built with `--x-initial unique --x-assign unique`
   * (a separate cache entry) and this instance's initial values are drawn from the seed.
   */
  xInit?: XInitOptions;
  /**
   * Waveforms for this simulation: true (FST under build/waves/), 'fst', 'vcd', or a file path.
   * CDNA_WAVES=fst|vcd turns them on for every simulation of a run.
   */
  waves?: WavesOption;
  /** The waveform file's base name under build/waves/ (default: the top's name and the process id). */
  name?: string;
}

/** Verilog files (or a directory from `writeDesign`) and the top module's name. */
export interface VerilogDesign {
  top: string;
  files?: string[];
  verilogDir?: string;
  sources?: VerilogText[];
}

export type Design = ModuleDef<unknown> | VerilogDesign;

function isModuleDef(d: Design): d is ModuleDef<unknown> {
  return typeof (d as ModuleDef<unknown>).verilogName === 'string' && 'builder' in d;
}

const emitted = new WeakMap<object, VerilogText[]>();

/** The Verilog of a DSL module, emitted once per definition. */
export function verilogOf(def: ModuleDef<unknown>): VerilogText[] {
  let texts = emitted.get(def);
  if (!texts) {
    texts = emitDesign(def).map((m) => ({ name: m.fileName, text: m.text }));
    emitted.set(def, texts);
  }
  return texts;
}

/** The build spec for a design (DSL modules are emitted into the model's build directory). */
export function specOf(design: Design, opts: Omit<SimulateOptions, 'waves' | 'name' | 'xInit'> & { xInit?: boolean } = {}): BuildSpec {
  if (isModuleDef(design)) return { ...opts, top: design.verilogName, sources: verilogOf(design) };
  if (!design || typeof design.top !== 'string') {
    throw new TypeError('simulate(design): pass a DSL module (from defineModule) or { top, files | verilogDir | sources }');
  }
  return { ...opts, top: design.top, files: design.files, verilogDir: design.verilogDir, sources: design.sources };
}

/**
 * Builds (or finds in the cache) and loads a design, ready to poke and tick.
 *
 *   const sim = await simulate(counter(8));
 *   sim.reset();
 *   sim.ports.en = 1;
 *   sim.tick(10);
 *   expect(sim.ports.count).toBe(10);
 */
export async function simulate<P extends object = PortValues>(design: Design, opts: SimulateOptions = {}): Promise<Simulation<P>> {
  const { waves, name, xInit, ...build } = opts;
  // Before a build that may take minutes.
  if (xInit) checkXSeed(xInit);
  const top = isModuleDef(design) ? design.verilogName : design.top;
  const plan = planWaves(waves, build.trace, name ?? top, name !== undefined);
  const model = await buildModel(specOf(design, { ...build, trace: plan.format, xInit: xInit !== undefined }));
  const sim = loadModel<P>(model, { xInit });
  if (plan.file) sim.waves.start(plan.file);
  return sim;
}
