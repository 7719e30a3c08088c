/**
 * Wall-clock figures of the tools (the only figures in seconds): generating the NIC's Verilog, and a
 * cold Verilator build of a profile. A cold build gets a unique define, so its cache entry is one
 * nobody has built; Verilator's shared runtime objects are reused, as for every model after the
 * first. The model built cold is returned, so the benchmark simulates on it rather than building twice.
 */
import { rm } from 'node:fs/promises';
import { clearDefinitions, emitDesign, type ModuleDef } from '../../generator/index.js';
import { cdnaNic } from '../../hdl/nic/top.js';
import { type NicParams, resolveParams } from '../../hdl/params.js';
import { type BuiltModel, buildModel, specOf } from '../../sim/index.js';

/**
 * `cdna_nic` for `p`. Every parameter set is named `cdna_nic`, so the definitions of another set are
 * forgotten first (the DSL refuses two modules of one name); a definition already built stays usable.
 */
export function elaborateNic(p: NicParams): ModuleDef<unknown> {
  clearDefinitions();
  return cdnaNic(p);
}

export interface Generated {
  def: ModuleDef<unknown>;
  seconds: number;
  verilogBytes: number;
}

/** Elaborates `cdna_nic` for `p` and emits its Verilog, from a clean definition cache. */
export function timeGeneration(p: NicParams): Generated {
  clearDefinitions();
  const t0 = performance.now();
  const def = cdnaNic(p);
  const texts = emitDesign(def);
  const seconds = (performance.now() - t0) / 1000;
  return { def, seconds, verilogBytes: texts.reduce((n, t) => n + t.text.length, 0) };
}

export interface ColdBuild {
  model: BuiltModel;
  seconds: number;
  /** Removes the model's cache entry (nobody else can use it). */
  discard(): Promise<void>;
}

export async function coldBuild(profile: string): Promise<ColdBuild> {
  const spec = specOf(elaborateNic(resolveParams(profile)));
  const nonce = `${process.pid}${Date.now()}`;
  const t0 = performance.now();
  const model = await buildModel({ ...spec, defines: { ...spec.defines, CDNA_BENCH_NONCE: nonce } });
  const seconds = (performance.now() - t0) / 1000;
  return { model, seconds, discard: () => rm(model.dir, { recursive: true, force: true }) };
}
