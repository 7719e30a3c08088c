/**
 * Verilator lint of a generated design: writes it under build/lint/<module>/ and runs
 * `verilator --lint-only -Wall`. Every warning is a finding; the emitter waives only what it explains.
 * Results are cached by content (build/lint-cache: Verilator's version, the flags, the top and every
 * file's text), so a warm test run lints only what changed; CDNA_LINT_CACHE=0 turns the cache off.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
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
  const args = ['--lint-only', '-Wall', ...(opts.flags ?? []), '-f', 'files.f', '--top-module', top];
  const cacheFile = await lintCacheFile(dir, verilator, args);
  const cached = cacheFile ? await readCached(cacheFile) : null;
  let output: string;
  if (cached !== null) output = cached;
  else {
    const run = await execa(verilator, args, { cwd: dir, reject: false, all: true });
    if ((run as { code?: string }).code === 'ENOENT') {
      throw new Error(
        `lint: '${verilator}' was not found. Install Verilator (Debian/Ubuntu, as root: apt-get install -y verilator) or put it on the PATH`,
      );
    }
    output = run.all ?? '';
    if (run.exitCode !== 0 && parseVerilatorMessages(output).length === 0) {
      throw new Error(`lint: ${verilator} exited with code ${run.exitCode} on ${top} and printed:\n${output}`);
    }
    if (cacheFile) await writeCached(cacheFile, output);
  }
  const warnings = parseVerilatorMessages(output);
  const result: LintResult = { top, dir, warnings, output };
  if (warnings.length > 0 && !opts.allowWarnings) throw new LintError(result);
  return result;
}

const versions = new Map<string, Promise<string | null>>();

/** `verilator --version`, once per executable and process; null when it does not run. */
function verilatorVersion(verilator: string): Promise<string | null> {
  let v = versions.get(verilator);
  if (v === undefined) {
    v = execa(verilator, ['--version'], { reject: false }).then((r) => (r.exitCode === 0 ? r.stdout.trim() : null));
    versions.set(verilator, v);
  }
  return v;
}

/**
 * The cache entry for this lint, or null when it cannot be keyed by content: the cache is off, the
 * Verilator does not run (the lint itself then says why), files.f holds options, or a file includes
 * another (which the key would not cover).
 */
async function lintCacheFile(dir: string, verilator: string, args: readonly string[]): Promise<string | null> {
  if (process.env.CDNA_LINT_CACHE === '0') return null;
  const version = await verilatorVersion(verilator);
  if (version === null) return null;
  let list: string;
  try {
    list = await readFile(path.join(dir, 'files.f'), 'utf8');
  } catch {
    return null;
  }
  const files = list
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (files.some((f) => f.startsWith('-') || f.startsWith('+'))) return null;
  const h = createHash('sha256');
  h.update(`${version}\n${args.join(' ')}\n`);
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(path.resolve(dir, f), 'utf8');
    } catch {
      return null;
    }
    if (text.includes('`include')) return null;
    h.update(`${f}\n${text.length}\n${text}`);
  }
  return path.join(buildRoot(), 'lint-cache', `${h.digest('hex').slice(0, 32)}.txt`);
}

async function readCached(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}

/** Written to a temporary name and renamed, so a parallel run never reads half an entry. */
async function writeCached(file: string, output: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, output);
  await rename(tmp, file);
}
