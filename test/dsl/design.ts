/** Shared set-up for the DSL tests: throwaway modules, Verilator lint and yosys synthesis of a design. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { cachedYosys } from '../../fpga/yosys.js';
import { defineModule, emitDesign, type ModuleBuilder, type ModuleDef } from '../../generator/index.js';
import { lintDesign } from '../../generator/verilog/lint.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let serial = 0;

/** Elaborates `body` in a fresh module (a new name each call, so the definition cache never interferes). */
export function scratch<T>(body: (m: ModuleBuilder) => T): { def: ModuleDef<unknown>; result: T } {
  let result: T | undefined;
  const def = defineModule(`scratch${serial++}`, {}, (m) => {
    result = body(m);
    return {};
  });
  return { def, result: result as T };
}

/** The test file that called into this module (test files run in parallel; each gets its own directory). */
function callingTestFile(): string {
  const m = /([\w.-]+)\.test\.ts/.exec(new Error().stack ?? '');
  return m ? (m[1] as string) : 'other';
}

/**
 * Lints a design with `verilator --lint-only -Wall` under build/test-dsl/<test file>/<module>; any
 * warning fails the test.
 */
export async function expectLintClean(def: ModuleDef<unknown>): Promise<void> {
  const dir = path.join(projectRoot, 'build', 'test-dsl', callingTestFile(), def.verilogName);
  const result = await lintDesign(def, { dir });
  expect(result.warnings).toEqual([]);
}

/** The cells of the last `stat` in a yosys log, by type. */
export function cellCounts(log: string): Map<string, number> {
  const at = log.lastIndexOf('Number of cells');
  const counts = new Map<string, number>();
  if (at < 0) return counts;
  for (const line of log.slice(at).split('\n').slice(1)) {
    const m = /^\s+(\S+)\s+(\d+)$/.exec(line);
    if (!m) break;
    counts.set(m[1] as string, Number(m[2]));
  }
  return counts;
}

/** Whether yosys reported a latch (it also prints "No latch inferred ..." lines, which are fine). */
export function inferredLatch(log: string): boolean {
  return /^Latch inferred/m.test(log);
}

/** Synthesizes a design for iCE40 with yosys (or reads the run back from build/synth-cache) and returns its log. */
export async function synthIce40(def: ModuleDef<unknown>): Promise<string> {
  const modules = emitDesign(def);
  const inputs: Record<string, string> = {};
  for (const m of modules) inputs[m.fileName] = m.text;
  const files = modules.map((m) => m.fileName).join(' ');
  const run = await cachedYosys(`read_verilog ${files}; synth_ice40 -top ${def.verilogName}; stat`, inputs, {
    cache: 'synth-cache',
    outputs: [],
  });
  return run.log;
}
