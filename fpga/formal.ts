/**
 * The formal flow behind `cdna prove`: a design's properties (assert/assume/cover, generator/dsl/
 * formal.ts) proven with yosys' `sat` (from npm, no system install): temporal induction for
 * unbounded proofs, bounded model checking to a stated depth where induction does not close, and a
 * bounded search for each cover. A failure comes back with the properties that failed (their
 * TypeScript lines) and a counterexample trace as VCD.
 *
 * The model of time: step 1 is a reset cycle (`rst` = 1), later steps have any inputs the design's
 * top-level `assume`s allow (`rst` included, so a proof also covers resets in the middle of a run).
 * Registers without a reset value start at any value. Assumptions of submodules are turned into
 * assertions (a block's environment must keep them), so only the top's assumptions constrain the proof.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModuleDef, PropertyKind } from '../generator/index.js';
import { emitDesign, formatLoc } from '../generator/index.js';
import { buildRoot } from '../sim/paths.js';
import { driverRevision, type SmtVerdict, smtBmc, smtCover, smtInduction, z3Version } from './smtBmc.js';
import { cachedYosys, yosysVersion } from './yosys.js';

/**
 * Who solves: yosys' `sat` (WebAssembly, MiniSat, always there) or z3 (native, fpga/smtBmc.ts, on
 * the netlist yosys writes as SMT2), with the same steps, obligations and results. z3 is 2 to 7
 * times faster on the NIC's proofs (docs/testbench.md, Proofs).
 */
export type ProofEngine = 'yosys' | 'z3';

/** CDNA_PROOF_ENGINE=yosys|z3, else z3 when it is on the PATH, else yosys. */
export function proofEngine(): ProofEngine {
  const env = process.env.CDNA_PROOF_ENGINE;
  if (env === 'yosys') return 'yosys';
  if (env === 'z3') {
    if (!z3Version) throw new Error('CDNA_PROOF_ENGINE=z3 but no z3 on the PATH (scripts/setup.sh installs it)');
    return 'z3';
  }
  if (env !== undefined && env !== '') throw new Error(`CDNA_PROOF_ENGINE=${env}: expected yosys or z3`);
  return z3Version ? 'z3' : 'yosys';
}

/** One property of the design as the flattened netlist names it. */
export interface PropertyInfo {
  /** Its condition wire after flattening: `f_assert_0`, `u_sched.no_skip`. */
  wire: string;
  kind: PropertyKind;
  message: string;
  /** The TypeScript line that wrote it. */
  loc: string;
}

export type ProofMode = { kind: 'induction'; maxSteps: number } | { kind: 'bmc'; depth: number };

export interface ProofResult {
  /** proven: by induction, for every run; bounded: no failure within `depth` cycles after reset. */
  status: 'proven' | 'bounded' | 'failed';
  /** Induction: the induction length that closed (or the base-case depth reached); bmc: the bound. */
  depth: number;
  seconds: number;
  /** The assertions that do not hold at the failing step of the counterexample. */
  failed: PropertyInfo[];
  /** Where the counterexample (VCD, one time unit a cycle) was written, for a failure. */
  trace?: string;
  log: string;
  /** The verdict was read from build/formal-cache (the same proof ran on the same Verilog before). */
  cached: boolean;
}

export interface CoverResult {
  reached: boolean;
  /** The first cycle (1 = the reset cycle) in which the cover holds. */
  step?: number;
  seconds: number;
  trace?: string;
  log: string;
  cached: boolean;
}

export interface FormalOptions {
  /** Directory for traces (created on demand); default build/formal (under the build dir: sim/paths.ts buildRoot). */
  outDir?: string;
  /** A base name for trace files. */
  name?: string;
  /** Sees each line of yosys' log as it comes (progress on long proofs). */
  onLine?: (line: string) => void;
  /** The solver; default proofEngine(). */
  engine?: ProofEngine;
}

/** Every property of a design, with the names they get when the hierarchy is flattened. */
export function propertiesOf(top: ModuleDef<unknown>): PropertyInfo[] {
  const out: PropertyInfo[] = [];
  const walk = (def: ModuleDef<unknown>, prefix: string): void => {
    for (const p of def.builder.properties) {
      out.push({ wire: `${prefix}${p.name}`, kind: p.kind, message: p.message, loc: formatLoc(p.src) });
    }
    for (const i of def.builder.instances) walk(i.def, `${prefix}${i.name}.`);
  };
  walk(top, '');
  return out;
}

/** The yosys commands that turn the emitted Verilog into a flat netlist `sat` can take. */
function prepScript(top: ModuleDef<unknown>, files: string[], keep: 'asserts' | 'covers'): string {
  const subs = [...new Set(emitDesign(top).map((m) => m.name))].filter((n) => n !== top.verilogName);
  return [
    `read_verilog -formal -sv ${files.join(' ')}`,
    `hierarchy -top ${top.verilogName}`,
    'proc',
    // A submodule's assumptions are obligations of its parent.
    ...(subs.length ? [`chformal -assume2assert ${subs.join(' ')}`] : []),
    'flatten',
    'opt_clean',
    'chformal -lower',
    // sat proves wires, not $cover cells: a cover search proves its wire stays 0 and wants the counterexample.
    keep === 'asserts' ? 'chformal -cover -remove' : 'chformal -assert -cover -remove',
    // sat takes plain flip-flops and no memories: small memories become flops here.
    'memory',
    'opt -fast',
    'dffunmap',
    'async2sync',
  ].join('\n');
}

/**
 * One sat run, reused from build/formal-cache when the same script ran on the same Verilog before (a
 * proof's verdict depends on nothing else), so a re-run of unchanged proofs takes seconds.
 */
function runProof(script: string, inputs: Record<string, string>, opts: FormalOptions) {
  return cachedYosys(script, inputs, { cache: 'formal-cache', outputs: ['trace.vcd'], ...(opts.onLine ? { onLine: opts.onLine } : {}) });
}

function designInputs(top: ModuleDef<unknown>): { inputs: Record<string, string>; files: string[] } {
  const inputs: Record<string, string> = {};
  const files: string[] = [];
  for (const m of emitDesign(top)) {
    inputs[m.fileName] = m.text;
    files.push(m.fileName);
  }
  return { inputs, files };
}

/** A VCD as sat writes it: each variable's values by time step. */
export function parseVcd(text: string): Map<string, Map<number, string>> {
  const ids = new Map<string, string>();
  const values = new Map<string, Map<number, string>>();
  let time = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const v = /^\$var\s+\S+\s+\d+\s+(\S+)\s+(\S+)/.exec(line);
    if (v) {
      const name = (v[2] as string).replace(/^\\/, '');
      ids.set(v[1] as string, name);
      values.set(name, new Map());
      continue;
    }
    if (line.startsWith('#')) {
      time = Number(line.slice(1));
      continue;
    }
    const scalar = /^([01xz])(\S+)$/.exec(line);
    const vector = /^b([01xz]+)\s+(\S+)$/.exec(line);
    const m = vector ?? scalar;
    if (!m) continue;
    const name = ids.get(m[2] as string);
    if (name !== undefined) values.get(name)?.set(time, m[1] as string);
  }
  return values;
}

async function saveTrace(files: Record<string, string>, opts: FormalOptions, suffix: string): Promise<string | undefined> {
  const vcd = files['trace.vcd'];
  if (vcd === undefined) return undefined;
  const dir = opts.outDir ?? path.join(buildRoot(), 'formal');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${opts.name ?? 'proof'}${suffix}.vcd`);
  await writeFile(file, vcd);
  return file;
}

/** The assertions whose wire is 0 at some step of the trace (the step the solver made fail). */
function failedIn(vcd: string | undefined, props: PropertyInfo[]): PropertyInfo[] {
  if (vcd === undefined) return [];
  const values = parseVcd(vcd);
  return props.filter((p) => p.kind !== 'cover' && [...(values.get(p.wire)?.values() ?? [])].some((v) => v === '0'));
}

/**
 * Proves every assertion of `top` (its submodules' included) under the top's assumptions: by
 * temporal induction up to `maxSteps` (proven, or bounded to the base case reached), or by bounded
 * model checking to `depth` cycles after reset.
 */
export async function proveDesign(top: ModuleDef<unknown>, mode: ProofMode, opts: FormalOptions = {}): Promise<ProofResult> {
  if ((opts.engine ?? proofEngine()) === 'z3') return proveWithZ3(top, mode, opts);
  const started = performance.now();
  const { inputs, files } = designInputs(top);
  const props = propertiesOf(top);
  const common = `-prove-asserts -set-assumes -set-at 1 rst 1 -show-public -dump_vcd trace.vcd ${top.verilogName}`;
  const sat =
    mode.kind === 'induction'
      ? `sat -tempinduct -seq 1 -maxsteps ${mode.maxSteps} ${common}`
      : // Step 1 is the reset cycle; steps 2..depth+1 are the cycles after it.
        `sat -seq ${mode.depth + 1} ${common}`;
  const run = await runProof(`${prepScript(top, files, 'asserts')}\n${sat}`, inputs, opts);
  const seconds = (performance.now() - started) / 1000;
  const log = run.log;
  const { cached } = run;
  const base = mode.kind === 'induction' ? mode.maxSteps : mode.depth;
  const failedModel = /model found for base case: FAIL!|SAT proof finished - model found: FAIL!/.test(log);
  if (failedModel) {
    const trace = await saveTrace(run.files, opts, '.cex');
    const steps = [...log.matchAll(/\[base case (\d+)\]/g)].map((m) => Number(m[1]));
    return {
      status: 'failed',
      depth: mode.kind === 'induction' ? Math.max(0, ...steps) : base,
      seconds,
      failed: failedIn(run.files['trace.vcd'], props),
      ...(trace ? { trace } : {}),
      log,
      cached,
    };
  }
  if (mode.kind === 'induction') {
    if (/Induction step proven: SUCCESS!/.test(log)) {
      const lengths = [...log.matchAll(/Trying induction with length (\d+)/g)].map((m) => Number(m[1]));
      return { status: 'proven', depth: Math.max(1, ...lengths), seconds, failed: [], log, cached };
    }
    return { status: 'bounded', depth: mode.maxSteps, seconds, failed: [], log, cached };
  }
  if (/SAT proof finished - no model found: SUCCESS!/.test(log))
    return { status: 'bounded', depth: base, seconds, failed: [], log, cached };
  throw new Error(`yosys sat gave no verdict for ${top.verilogName}; the end of its log:\n${log.split('\n').slice(-20).join('\n')}`);
}

/**
 * Searches for a run of at most `depth` cycles after reset, under the top's assumptions, in which
 * the cover `wire` (a name from propertiesOf) holds.
 */
export async function reachCover(top: ModuleDef<unknown>, wire: string, depth: number, opts: FormalOptions = {}): Promise<CoverResult> {
  if ((opts.engine ?? proofEngine()) === 'z3') return coverWithZ3(top, wire, depth, opts);
  const started = performance.now();
  const { inputs, files } = designInputs(top);
  const sat = `sat -seq ${depth + 1} -set-assumes -set-at 1 rst 1 -prove ${wire} 0 -show-public -dump_vcd trace.vcd ${top.verilogName}`;
  const run = await runProof(`${prepScript(top, files, 'covers')}\n${sat}`, inputs, opts);
  const seconds = (performance.now() - started) / 1000;
  if (/SAT proof finished - no model found: SUCCESS!/.test(run.log)) return { reached: false, seconds, log: run.log, cached: run.cached };
  if (!/SAT proof finished - model found: FAIL!/.test(run.log)) {
    throw new Error(`yosys sat gave no verdict for cover ${wire}; the end of its log:\n${run.log.split('\n').slice(-20).join('\n')}`);
  }
  return reached(run.files['trace.vcd'], wire, seconds, run.log, run.cached, opts);
}

async function reached(
  vcd: string | undefined,
  wire: string,
  seconds: number,
  log: string,
  cached: boolean,
  opts: FormalOptions,
): Promise<CoverResult> {
  const hits = [...(vcd ? (parseVcd(vcd).get(wire) ?? new Map<number, string>()) : new Map<number, string>())]
    .filter(([, v]) => v === '1')
    .map(([t]) => t);
  const files: Record<string, string> = vcd === undefined ? {} : { 'trace.vcd': vcd };
  const trace = await saveTrace(files, { ...opts, name: `${opts.name ?? 'cover'}.${wire.replace(/[^A-Za-z0-9_]/g, '_')}` }, '');
  return {
    reached: true,
    ...(hits.length ? { step: Math.min(...hits) } : {}),
    seconds,
    ...(trace ? { trace } : {}),
    log,
    cached,
  };
}

type Z3Query = { kind: 'induction'; maxSteps: number } | { kind: 'bmc'; depth: number } | { kind: 'cover'; wire: string; depth: number };

/**
 * One z3 proof: yosys prepares the netlist as for sat and writes it as SMT2 (cached like a sat run),
 * fpga/smtBmc.ts checks it. The verdict is kept by content under build/formal-cache/z3-* (z3's and
 * yosys' versions, the query, the script and the Verilog), like sat's.
 */
async function runZ3(top: ModuleDef<unknown>, keep: 'asserts' | 'covers', query: Z3Query, opts: FormalOptions) {
  const { inputs, files } = designInputs(top);
  const script = prepScript(top, files, keep);
  const h = createHash('sha256');
  h.update(`${z3Version}\n${driverRevision}\n${yosysVersion}\n${JSON.stringify(query)}\n${script}\n`);
  for (const name of Object.keys(inputs).sort()) h.update(`${name}\n${inputs[name]}\n`);
  const dir = path.join(buildRoot(), 'formal-cache', `z3-${h.digest('hex').slice(0, 32)}`);
  const useCache = process.env.CDNA_YOSYS_CACHE !== '0';
  if (useCache) {
    try {
      const log = await readFile(path.join(dir, 'z3.log'), 'utf8');
      const verdict = JSON.parse(await readFile(path.join(dir, 'verdict.json'), 'utf8')) as SmtVerdict;
      opts.onLine?.('0. Executing cached result (pass).');
      return { verdict, log, cached: true };
    } catch {
      // Not cached yet.
    }
  }
  const prep = await cachedYosys(`${script}\nwrite_smt2 -wires model.smt2`, inputs, { cache: 'formal-cache', outputs: ['model.smt2'] });
  const smt2 = prep.files['model.smt2'];
  if (smt2 === undefined) throw new Error(`yosys wrote no SMT2 for ${top.verilogName}`);
  const lines: string[] = [];
  const log = (line: string): void => {
    lines.push(line);
    opts.onLine?.(line);
  };
  log(`z3 (${z3Version}) on ${top.verilogName}: ${JSON.stringify(query)}`);
  const verdict =
    query.kind === 'bmc'
      ? await smtBmc(smt2, query.depth, log)
      : query.kind === 'induction'
        ? await smtInduction(smt2, query.maxSteps, log)
        : await smtCover(smt2, query.wire, query.depth, log);
  const text = `${prep.log}\n${lines.join('\n')}\n`;
  if (useCache) {
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'z3.log'), text);
    // The verdict last: its presence marks a complete entry.
    await writeFile(path.join(dir, 'verdict.json'), JSON.stringify(verdict));
  }
  return { verdict, log: text, cached: false };
}

async function proveWithZ3(top: ModuleDef<unknown>, mode: ProofMode, opts: FormalOptions): Promise<ProofResult> {
  const started = performance.now();
  const { verdict, log, cached } = await runZ3(top, 'asserts', mode, opts);
  const seconds = (performance.now() - started) / 1000;
  if (verdict.status === 'failed') {
    const trace = await saveTrace(verdict.vcd === undefined ? {} : { 'trace.vcd': verdict.vcd }, opts, '.cex');
    return {
      status: 'failed',
      depth: verdict.depth,
      seconds,
      failed: failedIn(verdict.vcd, propertiesOf(top)),
      ...(trace ? { trace } : {}),
      log,
      cached,
    };
  }
  if (verdict.status !== 'proven' && verdict.status !== 'bounded') throw new Error(`z3 gave ${verdict.status} for a proof`);
  return { status: verdict.status, depth: verdict.depth, seconds, failed: [], log, cached };
}

async function coverWithZ3(top: ModuleDef<unknown>, wire: string, depth: number, opts: FormalOptions): Promise<CoverResult> {
  const started = performance.now();
  // The proof's netlist (and its cached SMT2): its cover wires are kept, and the cover query does not
  // assert its assertions, which is what sat's cover netlist (asserts removed) means.
  const { verdict, log, cached } = await runZ3(top, 'asserts', { kind: 'cover', wire, depth }, opts);
  const seconds = (performance.now() - started) / 1000;
  if (verdict.status === 'unreached') return { reached: false, seconds, log, cached };
  return reached(verdict.vcd, wire, seconds, log, cached, opts);
}
