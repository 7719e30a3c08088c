/**
 * What the benchmarks that race a Verilated model against a pure C++ loop share: compiling that loop
 * against a model's build (its static library and Verilator's runtime objects, without the Node
 * shim), and the median of per-round figures.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BuiltModel } from '../sim/index.js';
import { buildRoot } from '../sim/paths.js';
import { runtimeObjects } from '../sim/runtime-objects.js';
import { toolchain } from '../sim/toolchain.js';

export const run = promisify(execFile);
export const benchDir = path.join(buildRoot(), 'bench');

/** Writes `source` to build/bench/<name>/harness.cpp, compiles it with -O3 against `model`; returns the executable. */
export async function compileHarness(model: BuiltModel, name: string, source: string): Promise<string> {
  const tc = await toolchain();
  const rt = await runtimeObjects(tc, 'none');
  const dir = path.join(benchDir, name);
  await mkdir(dir, { recursive: true });
  const src = path.join(dir, 'harness.cpp');
  const exe = path.join(dir, 'harness');
  await writeFile(src, source);
  const inc = path.join(tc.verilatorRoot, 'include');
  const obj = path.join(model.dir, 'obj');
  await run(tc.cxx, [
    '-std=gnu++17',
    '-O3',
    `-I${obj}`,
    `-I${inc}`,
    `-I${path.join(inc, 'vltstd')}`,
    '-DVM_TRACE=0',
    '-faligned-new',
    src,
    path.join(obj, 'Vmodel__ALL.a'),
    ...rt.objects.filter((o) => !o.endsWith('shim.o')),
    '-pthread',
    '-latomic',
    '-o',
    exe,
  ]);
  return exe;
}

export function median(xs: number[]): number {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}
