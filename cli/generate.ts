/**
 * `cdna generate`: writes the Verilog of the NIC, of the library, of one library block, or of your own
 * design (`--design file.ts`) into build/, and with `--lint` checks it with `verilator --lint-only -Wall`.
 */
import path from 'node:path';
import type { ModuleDef } from '../generator/index.js';
import { writeDesign } from '../generator/index.js';
import { libraryBlocks } from '../generator/lib/index.js';
import { formatParams, type NicParams, resolveParams } from '../hdl/params.js';
import { buildRoot } from '../sim/paths.js';
import { isDesignFile, loadDesignFile } from './design.js';
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

/** A board top of hdl/boards (docs/boards.md): the DDR placeholders become behavioural registers, vendor ones in ddr-<vendor>/. */
async function generateBoard(opts: GenerateOptions, design: string): Promise<Generated[]> {
  if (opts.bundle) throw new Error(`--bundle writes the NIC's register files for nic and nic_gmii; '${design}' is a board top`);
  const params = nicParamsFrom(opts);
  const dir = opts.out ?? path.join(buildRoot(), 'generated', opts.profile ? `${design}-${opts.profile}` : design);
  const { boardTop, isBoardDesign } = await import('../hdl/boards/tops.js');
  const { writeBoardDesign } = await import('../hdl/boards/ddr.js');
  if (!isBoardDesign(design)) throw new Error(`unknown board design '${design}'`);
  const started = performance.now();
  const written = await writeBoardDesign(boardTop(design, params), dir);
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`generated ${written.top} (${formatParams(params)}) in ${seconds.toFixed(2)} s\n`);
  return [{ dir, top: written.top, files: written.files, params }];
}

const boardNames = ['nic_gmii_clocked', 'nic_rgmii', 'nic_rgmii_axi'];

async function generateLibrary(names: string[], outRoot: string): Promise<Generated[]> {
  const results: Generated[] = [];
  for (const name of names) {
    const build = libraryBlocks[name];
    if (!build) {
      throw new Error(
        `unknown design '${name}'; known: nic, nic_gmii, ${boardNames.join(', ')}, lib, ${Object.keys(libraryBlocks).join(', ')}, or a file of your own (--design path/to/file.ts)`,
      );
    }
    for (const def of build() as ModuleDef<unknown>[]) {
      const dir = path.join(outRoot, def.verilogName);
      const written = await writeDesign(def, dir);
      results.push({ dir, top: written.top, files: written.files });
    }
  }
  return results;
}

/** A design file's export, elaborated and written into `--out` (default build/generated/<module>). */
async function generateFile(file: string, opts: GenerateOptions): Promise<Generated[]> {
  if (opts.profile) throw new Error(`--profile is a NIC parameter profile; for '${file}' pass its parameters with --param NAME=VALUE`);
  if (opts.bundle) throw new Error(`--bundle writes the NIC's register files; '${file}' is not the NIC`);
  const started = performance.now();
  const { def, exportName } = await loadDesignFile(file, { top: opts.top, param: opts.param });
  const dir = opts.out ?? path.join(buildRoot(), 'generated', def.verilogName);
  const written = await writeDesign(def, dir);
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`generated ${written.top} (export '${exportName}' of ${file}) in ${seconds.toFixed(2)} s\n`);
  return [{ dir, top: written.top, files: written.files }];
}

/** `--lint`: each written design through `verilator --lint-only -Wall` (generator/verilog/lint.ts); a finding is an error. */
async function lintGenerated(results: Generated[]): Promise<void> {
  const { lintDirectory } = await import('../generator/verilog/lint.js');
  for (const r of results) {
    await lintDirectory(r.dir, r.top);
    process.stdout.write(`${r.top}: lint clean (verilator --lint-only -Wall)\n`);
  }
}

export async function runGenerate(design: string | undefined, opts: GenerateOptions): Promise<Generated[]> {
  if (design !== undefined && opts.design !== undefined) {
    throw new Error(`give the design once: '${design}' or --design ${opts.design}`);
  }
  const name = design ?? opts.design ?? 'nic';
  if (opts.top !== undefined && !isDesignFile(name)) {
    throw new Error(`--top names an export of a design file (--design path/to/file.ts); '${name}' is a built-in design`);
  }
  let results: Generated[];
  if (isDesignFile(name)) results = await generateFile(name, opts);
  else if (name === 'nic' || name === 'nic_gmii') results = await generateNic(opts, name);
  else if (boardNames.includes(name)) results = await generateBoard(opts, name);
  else {
    if (opts.profile || Object.keys(opts.param).length) {
      throw new Error(`--profile and --param are NIC parameters; '${name}' is a library design and takes none`);
    }
    const names = name === 'lib' ? Object.keys(libraryBlocks) : [name];
    results = await generateLibrary(names, opts.out ?? path.join(buildRoot(), 'generated', 'lib'));
  }
  for (const r of results) process.stdout.write(`${r.top}: ${path.join(r.dir, 'files.f')} (${r.files.length} files)\n`);
  if (opts.lint) await lintGenerated(results);
  return results;
}
