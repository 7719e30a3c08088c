/**
 * The objects every model links: Verilator's runtime (verilated.cpp and friends) and the Node shim.
 * They do not depend on the design, so they are compiled once per toolchain and shared by all models.
 * Also the precompiled verilated.h that a model's C++ files include first (precompiledHeader).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec.js';
import type { TraceFormat } from './glue.js';
import { produceOnce } from './lock.js';
import { addonApiIncludeDir, nativeDir, nodeIncludeDir, simCacheDir } from './paths.js';
import { sweepStaleBuilds } from './stale-builds.js';
import type { Toolchain } from './toolchain.js';

/** Flags Verilator's own makefile uses for its runtime, plus what a shared object needs. */
export function verilatorCxxFlags(tc: Toolchain, trace: TraceFormat): string[] {
  const inc = path.join(tc.verilatorRoot, 'include');
  return [
    '-std=gnu++17',
    '-fPIC',
    '-fno-semantic-interposition',
    '-faligned-new',
    '-fcf-protection=none',
    '-Wno-bool-operation',
    '-Wno-sign-compare',
    '-Wno-uninitialized',
    '-Wno-unused-but-set-variable',
    '-Wno-unused-parameter',
    '-Wno-unused-variable',
    '-Wno-shadow',
    `-I${inc}`,
    `-I${path.join(inc, 'vltstd')}`,
    '-DVM_COVERAGE=0',
    '-DVM_SC=0',
    `-DVM_TRACE=${trace === 'none' ? 0 : 1}`,
    `-DVM_TRACE_FST=${trace === 'fst' ? 1 : 0}`,
    `-DVM_TRACE_VCD=${trace === 'vcd' ? 1 : 0}`,
  ];
}

interface ObjectRecipe {
  name: string;
  source: string;
  flags: string[];
}

async function nativeSourceKey(): Promise<string> {
  const h = createHash('sha256');
  for (const f of ['shim.cpp', 'cdna_model.h']) h.update(await readFile(path.join(nativeDir, f)));
  return h.digest('hex');
}

let shimKey: Promise<string> | null = null;
/** Changes whenever the shim or the ABI header changes; part of every model's cache key. */
export function shimVersion(): Promise<string> {
  shimKey ??= nativeSourceKey();
  return shimKey;
}

function recipes(tc: Toolchain, trace: TraceFormat): ObjectRecipe[] {
  const inc = path.join(tc.verilatorRoot, 'include');
  const base = verilatorCxxFlags(tc, 'none');
  const list: ObjectRecipe[] = [
    { name: 'verilated.o', source: path.join(inc, 'verilated.cpp'), flags: [...base, '-O2'] },
    { name: 'verilated_threads.o', source: path.join(inc, 'verilated_threads.cpp'), flags: [...base, '-O2'] },
    {
      name: 'shim.o',
      source: path.join(nativeDir, 'shim.cpp'),
      flags: [
        '-std=gnu++17',
        '-O2',
        '-fPIC',
        '-fno-semantic-interposition',
        `-I${nodeIncludeDir()}`,
        `-I${addonApiIncludeDir()}`,
        `-I${nativeDir}`,
      ],
    },
  ];
  if (trace === 'vcd')
    list.push({
      name: 'verilated_vcd_c.o',
      source: path.join(inc, 'verilated_vcd_c.cpp'),
      flags: [...verilatorCxxFlags(tc, 'vcd'), '-O2'],
    });
  if (trace === 'fst')
    list.push({
      name: 'verilated_fst_c.o',
      source: path.join(inc, 'verilated_fst_c.cpp'),
      flags: [...verilatorCxxFlags(tc, 'fst'), '-O2'],
    });
  return list;
}

/** The cache directory of what is compiled once per toolchain. */
async function runtimeDir(tc: Toolchain): Promise<string> {
  const key = createHash('sha256')
    .update(JSON.stringify([tc.verilatorVersion, tc.verilatorRoot, tc.cxx, tc.cxxVersion, await shimVersion(), process.versions.napi]))
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(simCacheDir(), 'runtime', key);
  await mkdir(dir, { recursive: true });
  await sweepStaleBuilds(dir);
  return dir;
}

/** The optimization levels a model's C++ is compiled at (verilated.mk's OPT_FAST, OPT_SLOW; '' is none). */
export type CxxLevel = '' | '-O1' | '-O2' | '-O3';

/**
 * verilated.h precompiled at `level` (with the flags of verilatorCxxFlags(tc, 'none')), as the header
 * to pass with `-include`: parsing verilated.h is most of the C++ time of a small model (about 0.6 of
 * the 0.9 CPU-s of its one file) and a large one parses it once per file. g++ takes the .gch next to
 * it only when the flags that matter match (otherwise it reads the header as text: slower, same
 * objects); the level must be the compile's own (g++ 12 crashed on an -O1 header in an -O3 compile),
 * so each level has its own.
 */
export async function precompiledHeader(tc: Toolchain, level: CxxLevel): Promise<string> {
  const dir = path.join(await runtimeDir(tc), `pch${level || '-O0'}`);
  await produceOnce(dir, `${dir}.lock`, async (tmp) => {
    await mkdir(tmp, { recursive: true });
    const header = path.join(tmp, 'vl_pch.h');
    await writeFile(header, '#include "verilated.h"\n');
    const flags = [...verilatorCxxFlags(tc, 'none'), ...(level ? [level] : [])];
    await run(
      `precompiling verilated.h${level ? ` at ${level}` : ''}`,
      tc.cxx,
      [...flags, '-x', 'c++-header', header, '-o', `${header}.gch`],
      tmp,
    );
  });
  return path.join(dir, 'vl_pch.h');
}

export interface RuntimeObjects {
  objects: string[];
  libs: string[];
}

/** Compiles (once, shared across processes) and returns the runtime objects a model with `trace` links. */
export async function runtimeObjects(tc: Toolchain, trace: TraceFormat, onCompile?: (name: string) => void): Promise<RuntimeObjects> {
  const dir = await runtimeDir(tc);
  const objects: string[] = [];
  for (const r of recipes(tc, trace)) {
    const target = path.join(dir, r.name);
    await produceOnce(target, `${target}.lock`, async (tmp) => {
      onCompile?.(r.name);
      await run(`compiling ${r.name}`, tc.cxx, [...r.flags, '-c', r.source, '-o', tmp], dir);
    });
    objects.push(target);
  }
  return { objects, libs: trace === 'fst' ? ['-lz'] : [] };
}
