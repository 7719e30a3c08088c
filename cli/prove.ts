/**
 * `cdna prove [property...]`: proves the NIC's properties (fpga/proofs.ts) with z3 or yosys' sat
 * (fpga/formal.ts proofEngine: CDNA_PROOF_ENGINE or `engine`, else z3 when installed), checks
 * that each cover is reached, and prints each property with proven / bounded to k / failed, the time,
 * and for a failure the TypeScript lines of the failing assertions and the counterexample's VCD.
 */
import path from 'node:path';
import { type FormalOptions, type ProofEngine, proofEngine, proveDesign, reachCover } from '../fpga/formal.js';
import { coversOf, PROOFS, type ProofSpec, proofParams } from '../fpga/proofs.js';
import { resolveParams } from '../hdl/params.js';
import { buildRoot } from '../sim/paths.js';

export interface ProveOptions {
  profile?: string;
  param: Record<string, string>;
  /** Override the proof's bound (BMC depth, or the induction's most steps). */
  depth?: string;
  /** Also check that the broken variant fails. */
  broken?: boolean;
  out?: string;
  /** yosys or z3; default proofEngine(). */
  engine?: string;
}

function engineOf(name: string | undefined): ProofEngine {
  if (name === undefined) return proofEngine();
  if (name !== 'yosys' && name !== 'z3') throw new Error(`--engine ${name}: expected yosys or z3`);
  return name;
}

/** A run's time, or that its verdict came from build/formal-cache (the same proof on the same Verilog). */
function took(r: { seconds: number; cached: boolean }): string {
  return r.cached ? 'from build/formal-cache' : `${r.seconds.toFixed(1)} s`;
}

function pick(names: string[]): ProofSpec[] {
  if (names.length === 0) return [...PROOFS];
  // A property may be proven in parts, on several blocks: its id names them all.
  return names.flatMap((n) => {
    const specs = PROOFS.filter((s) => s.id.toLowerCase() === n.toLowerCase() || s.name === n);
    if (!specs.length) throw new Error(`no property '${n}'; known: ${PROOFS.map((s) => `${s.id} (${s.name})`).join(', ')}`);
    return specs;
  });
}

export async function runProve(names: string[], opts: ProveOptions): Promise<void> {
  const params = opts.profile || Object.keys(opts.param).length ? resolveParams(opts.profile ?? 'test', opts.param) : proofParams();
  const outDir = opts.out ?? path.join(buildRoot(), 'formal');
  const engine = engineOf(opts.engine);
  const common: FormalOptions = { outDir, engine };
  process.stdout.write(`engine: ${engine === 'z3' ? 'z3 (native)' : 'yosys sat (WebAssembly)'}\n`);
  let ok = true;
  let total = 0;
  for (const spec of pick(names)) {
    const def = spec.build(params, false);
    const bound = opts.depth === undefined ? undefined : Number(opts.depth);
    const mode =
      bound === undefined ? spec.mode : spec.mode.kind === 'induction' ? { ...spec.mode, maxSteps: bound } : { ...spec.mode, depth: bound };
    process.stdout.write(`${spec.id} ${spec.title}\n  ${def.verilogName}: ${mode.kind === 'induction' ? 'induction' : 'bounded check'}...`);
    let last = 0;
    const r = await proveDesign(def, mode, {
      ...common,
      name: spec.name,
      onLine: (line) => {
        // Progress on long proofs: one dot per solver call, at most one a second.
        if (/Solving problem/.test(line) && performance.now() - last > 1000) {
          last = performance.now();
          process.stdout.write('.');
        }
      },
    });
    total += r.seconds;
    const verdict =
      r.status === 'proven' ? `proven (induction length ${r.depth})` : r.status === 'bounded' ? `bounded to depth ${r.depth}` : 'FAILED';
    process.stdout.write(` ${verdict}, ${took(r)}\n`);
    if (r.status === 'failed') {
      ok = false;
      for (const f of r.failed) process.stdout.write(`  failed: ${f.message} (${f.loc})\n`);
      if (r.trace) process.stdout.write(`  counterexample: ${r.trace} (open with GTKWave or Surfer)\n`);
    }
    for (const wire of coversOf(spec, def)) {
      const c = await reachCover(def, wire, spec.coverDepth, { ...common, name: spec.name });
      total += c.seconds;
      process.stdout.write(
        `  cover ${wire}: ${c.reached ? `reached in cycle ${c.step ?? '?'}` : `NOT reached within ${spec.coverDepth} cycles`}, ${took(c)}\n`,
      );
      if (!c.reached) ok = false;
    }
    if (opts.broken) {
      const b = await proveDesign(
        spec.build(params, true),
        { kind: 'bmc', depth: spec.brokenDepth },
        { ...common, name: `${spec.name}.broken` },
      );
      total += b.seconds;
      const caught = b.status === 'failed';
      process.stdout.write(
        `  broken variant (${spec.broken}): ${caught ? `counterexample found (${b.failed.map((f) => f.loc).join(', ')})` : 'NOT caught'}, ${took(b)}\n`,
      );
      if (!caught) ok = false;
    }
  }
  process.stdout.write(`total ${total.toFixed(1)} s: ${ok ? 'all properties hold as stated' : 'FAILURES above'}\n`);
  if (!ok) process.exitCode = 1;
}
