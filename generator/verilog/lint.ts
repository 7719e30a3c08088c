/**
 * Verilator lint of a generated design: writes it under build/lint/<module>/ and runs
 * `verilator --lint-only -Wall`. Every warning is a finding; the emitter waives only what it explains.
 */
import path from 'node:path';
import { execa } from 'execa';
import { buildRoot } from '../../sim/paths.js';
import type { ModuleDef } from '../dsl/module.js';
import { writeDesign } from './write.js';

export interface LintOptions {
  /** Where to write the design (default build/lint/<module>). */
  dir?: string;
  /** The Verilator executable (default `verilator` on the PATH). */
  verilator?: string;
  /** Return the findings instead of throwing when there are any. */
  allowWarnings?: boolean;
  /**
   * Extra Verilator flags: `['-DFORMAL']` lints the properties as the prover reads them, `['--assert']`
   * as a simulation with assertions checks them (docs/formal.md).
   */
  flags?: string[];
}

export interface LintResult {
  top: string;
  dir: string;
  /** One entry per Verilator message (`%Warning-...` or `%Error...`), with its continuation lines. */
  warnings: string[];
  /** Everything Verilator printed. */
  output: string;
}

/** Lint findings; the message lists them so a failing test shows what to fix. */
export class LintError extends Error {
  constructor(readonly result: LintResult) {
    super(
      `verilator --lint-only -Wall on ${result.top} (${result.dir}) reported ${result.warnings.length} finding(s):\n${result.warnings.join('\n')}`,
    );
    this.name = 'LintError';
  }
}

/** Splits Verilator's output into messages: a line starting with `%` begins one, indented lines continue it. */
export function parseVerilatorMessages(output: string): string[] {
  const messages: string[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith('%')) {
      // The closing "Exiting due to N warning(s)" line is a summary, not a finding.
      if (/^%Error: Exiting due to/.test(line)) continue;
      messages.push(line);
    } else if (messages.length > 0 && line.trim() !== '') {
      messages[messages.length - 1] += `\n${line}`;
    }
  }
  return messages;
}

/** Lints `def` and its submodules; throws a LintError listing the findings unless `allowWarnings`. */
export async function lintDesign(def: ModuleDef<unknown>, opts: LintOptions = {}): Promise<LintResult> {
  const dir = opts.dir ?? path.join(buildRoot(), 'lint', def.verilogName);
  const written = await writeDesign(def, dir);
  return lintDirectory(dir, written.top, opts);
}

/**
 * Lints the Verilog listed in `<dir>/files.f` with `top` as the top module: the step after writeDesign,
 * also usable on hand-written Verilog.
 */
export async function lintDirectory(dir: string, top: string, opts: Omit<LintOptions, 'dir'> = {}): Promise<LintResult> {
  const verilator = opts.verilator ?? 'verilator';
  const run = await execa(verilator, ['--lint-only', '-Wall', ...(opts.flags ?? []), '-f', 'files.f', '--top-module', top], {
    cwd: dir,
    reject: false,
    all: true,
  });
  if ((run as { code?: string }).code === 'ENOENT') {
    throw new Error(
      `lint: '${verilator}' was not found. Install Verilator (Debian/Ubuntu, as root: apt-get install -y verilator) or put it on the PATH`,
    );
  }
  const output = run.all ?? '';
  const warnings = parseVerilatorMessages(output);
  if (run.exitCode !== 0 && warnings.length === 0) {
    throw new Error(`lint: ${verilator} exited with code ${run.exitCode} on ${top} and printed:\n${output}`);
  }
  const result: LintResult = { top, dir, warnings, output };
  if (warnings.length > 0 && !opts.allowWarnings) throw new LintError(result);
  return result;
}
