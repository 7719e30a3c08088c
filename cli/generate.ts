/** `cdna generate`: writes the Verilog of the NIC, of the library, or of one library block into build/. */
import path from 'node:path';
import type { ModuleDef } from '../generator/index.js';
import { writeDesign } from '../generator/index.js';
import { libraryBlocks } from '../generator/lib/index.js';
import { formatParams, type NicParams, resolveParams } from '../hdl/params.js';
import { buildRoot } from '../sim/paths.js';
import type { GenerateOptions } from './main.js';

export interface Generated {
  dir: string;
  top: string;
  files: string[];
  params?: NicParams;
}

/** Resolves the NIC's parameters from a profile and --param overrides (errors name the parameter and its rule). */
export function nicParamsFrom(opts: Pick<GenerateOptions, 'profile' | 'param'>): NicParams {
  return resolveParams(opts.profile, opts.param ?? {});
}

async function generateNic(opts: GenerateOptions, design: 'nic' | 'nic_gmii'): Promise<Generated[]> {
  const params = nicParamsFrom(opts);
  const dir = opts.out ?? path.join(buildRoot(), 'generated', opts.profile ? `${design}-${opts.profile}` : design);
  const started = performance.now();
  let def: ModuleDef<unknown>;
  if (design === 'nic_gmii') {
    const { cdnaNicGmii } = await import('../hdl/nic/gmiiTop.js');
    def = cdnaNicGmii(params);
  } else {
    const { cdnaNic } = await import('../hdl/nic/top.js');
    def = cdnaNic(params);
  }
  const written = await writeDesign(def, dir);
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`generated ${written.top} (${formatParams(params)}) in ${seconds.toFixed(2)} s\n`);
  const out: Generated = { dir, top: written.top, files: written.files, params };
  if (opts.bundle) {
    const { writeBundle } = await import('./bundle.js');
    await writeBundle(out, params, opts.profile);
  }
  return [out];
}

async function generateLibrary(names: string[], outRoot: string): Promise<Generated[]> {
  const results: Generated[] = [];
  for (const name of names) {
    const build = libraryBlocks[name];
    if (!build) throw new Error(`unknown design '${name}'; known: nic, nic_gmii, lib, ${Object.keys(libraryBlocks).join(', ')}`);
    for (const def of build() as ModuleDef<unknown>[]) {
      const dir = path.join(outRoot, def.verilogName);
      const written = await writeDesign(def, dir);
      results.push({ dir, top: written.top, files: written.files });
    }
  }
  return results;
}

export async function runGenerate(design: string, opts: GenerateOptions): Promise<Generated[]> {
  let results: Generated[];
  if (design === 'nic' || design === 'nic_gmii') results = await generateNic(opts, design);
  else {
    if (opts.profile || Object.keys(opts.param).length) {
      throw new Error(`--profile and --param are NIC parameters; '${design}' is a library design and takes none`);
    }
    const names = design === 'lib' ? Object.keys(libraryBlocks) : [design];
    results = await generateLibrary(names, opts.out ?? path.join(buildRoot(), 'generated', 'lib'));
  }
  for (const r of results) process.stdout.write(`${r.top}: ${path.join(r.dir, 'files.f')} (${r.files.length} files)\n`);
  return results;
}
