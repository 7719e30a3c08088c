/**
 * The native proof engine: a flat netlist as yosys' `write_smt2 -wires` writes it, unrolled here step
 * by step and checked with z3 (`z3 -in`, a system install) the way yosys' `sat` checks it
 * (fpga/formal.ts): the same steps, the same assumptions, the same proof obligations, and a
 * counterexample as a VCD with the flattened public names.
 *
 * Why an unroller of its own: yosys' SMT2 defines every internal signal as a function of the state
 * (`(define-fun |top#12| ((state |top_s|)) ...)`), and z3 4.8 expands those macros as trees, losing
 * the netlist's sharing (the V-5 scheduler's transition relation did not finish parsing in 15 minutes).
 * Here each step gets its own constants (`|top#12@3|`, declared, with an equation over the step's
 * registers and inputs), which keeps the sharing and makes the problem plain bit-vectors (QF_BV),
 * which z3 bit-blasts (tactic `qfbv`).
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';

interface Declared {
  /** `|top#3|`: a register or an input of the state. */
  name: string;
  sort: string;
}

interface Defined {
  /** `|top#4|`, `|top_n fetch_ctx|`, `|top_a|`: a function of the state. */
  name: string;
  sort: string;
  body: string;
}

/** A public wire of the flattened design (`yosys-smt2-wire`), for the trace. */
export interface SmtWire {
  name: string;
  width: number;
}

/** The transition system of a `write_smt2` file. */
export interface SmtModel {
  top: string;
  declared: Declared[];
  defined: Defined[];
  /** The body of `|top_t|`, over `state` and `next_state`. */
  transition: string;
  wires: SmtWire[];
  /** The state's flip-flops (the witness entries of type reg), for the induction's distinct states. */
  registers: string[];
}

/** Splits SMT-LIB text into its top-level expressions, comments dropped, `|quoted|` symbols kept whole. */
function statements(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  let inPipe = false;
  let inComment = false;
  for (const c of text) {
    if (inComment) {
      if (c === '\n') inComment = false;
      continue;
    }
    if (inPipe) {
      cur += c;
      if (c === '|') inPipe = false;
      continue;
    }
    if (c === ';') {
      inComment = true;
      continue;
    }
    if (c === '|') inPipe = true;
    if (c === '(') depth++;
    if (depth > 0) cur += c === '\n' ? ' ' : c;
    if (c === ')' && --depth === 0) {
      out.push(cur);
      cur = '';
    }
  }
  return out;
}

export function parseSmt2(text: string): SmtModel {
  const top = /^; yosys-smt2-topmod (\S+)/m.exec(text)?.[1];
  if (!top) throw new Error('write_smt2 output without a top module');
  const wires = [...text.matchAll(/^; yosys-smt2-wire (\S+) (\d+)$/gm)]
    // Public names only, as sat's -show-public: internal ones start with `$`.
    .filter((m) => !(m[1] as string).startsWith('$'))
    .map((m) => ({ name: m[1] as string, width: Number(m[2]) }));
  const registers: string[] = [];
  for (const m of text.matchAll(/^; yosys-smt2-witness (\{.*\})$/gm)) {
    const w = JSON.parse(m[1] as string) as { type: string; smtname: number | string };
    if (w.type === 'reg' && typeof w.smtname === 'number') registers.push(`|${top}#${w.smtname}|`);
  }
  const declared: Declared[] = [];
  const defined: Defined[] = [];
  let transition: string | undefined;
  const stateArg = `\\(state \\|${top.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_s\\|\\)`;
  const defRe = new RegExp(
    `^\\(define-fun (\\|[^|]*\\|) \\(${stateArg}( \\(next_state \\|[^|]*\\|\\))?\\) (Bool|\\(_ BitVec \\d+\\)) (.*)\\)$`,
  );
  const declRe = /^\(declare-fun (\|[^|]*\|) \(\|[^|]*\|\) (Bool|\(_ BitVec \d+\))\)$/;
  for (const s of statements(text)) {
    const d = defRe.exec(s);
    if (d) {
      if (d[2]) transition = d[4] as string;
      else defined.push({ name: d[1] as string, sort: d[3] as string, body: d[4] as string });
      continue;
    }
    const decl = declRe.exec(s);
    if (decl) declared.push({ name: decl[1] as string, sort: decl[2] as string });
    else if (!/^\(declare-sort /.test(s)) throw new Error(`write_smt2 statement the unroller does not know: ${s.slice(0, 200)}`);
  }
  if (transition === undefined) throw new Error('write_smt2 output without a transition relation');
  return { top, declared, defined, transition, wires, registers };
}

/** `|name|` at step k: `|name@k|`. */
const at = (name: string, k: number): string => `${name.slice(0, -1)}@${k}|`;

/** A state function's body with `state` at step k and `next_state` at step k2. */
function instantiate(body: string, k: number, k2 = k + 1): string {
  return body.replace(/\((\|[^|]*\|) (state|next_state)\)/g, (_, name: string, v: string) => at(name, v === 'state' ? k : k2));
}

/** Step k's registers, inputs and signals (SMT-LIB commands): each signal a constant of the step. */
function stepCommands(m: SmtModel, k: number): string {
  return [
    ...m.declared.map((d) => `(declare-fun ${at(d.name, k)} () ${d.sort})`),
    // A declared constant and an equation, not a 0-ary define-fun: z3 4.8 re-simplifies a definition's
    // body at each use (rx_write_proof's 7 steps took 131 s to read that way, 5 s like this).
    ...m.defined.map((d) => `(declare-fun ${at(d.name, k)} () ${d.sort})\n(assert (= ${at(d.name, k)} ${instantiate(d.body, k)}))`),
  ].join('\n');
}

/** One z3 process, spoken to over its stdin and stdout (SMT-LIB 2). */
class Z3 {
  private readonly proc: ChildProcessWithoutNullStreams;
  private buf = '';
  private readonly waiting: Array<{ resolve: (s: string) => void; reject: (e: Error) => void }> = [];
  private failure: Error | undefined;
  private stderr = '';

  constructor() {
    this.proc = spawn('z3', ['-in'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d: string) => {
      this.buf += d;
      this.drain();
    });
    this.proc.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    const fail = (e: Error): void => {
      this.failure = e;
      for (const w of this.waiting.splice(0)) w.reject(e);
    };
    this.proc.on('error', fail);
    this.proc.on('exit', (code) => fail(new Error(`z3 exited (code ${code}): ${this.stderr.slice(-500)}`)));
    this.proc.stdin.on('error', () => {
      // Reported by the exit handler.
    });
    this.send('(set-option :produce-models true)');
    this.send('(set-logic QF_BV)');
  }

  /** Hands each complete answer (an atom line or a balanced expression) to the oldest waiter. */
  private drain(): void {
    for (;;) {
      const text = this.buf.replace(/^\s+/, '');
      if (!text) {
        this.buf = '';
        return;
      }
      let end = -1;
      if (text[0] === '(') {
        let depth = 0;
        let inPipe = false;
        for (let i = 0; i < text.length; i++) {
          const c = text[i];
          if (inPipe) {
            if (c === '|') inPipe = false;
          } else if (c === '|') inPipe = true;
          else if (c === '(') depth++;
          else if (c === ')' && --depth === 0) {
            end = i + 1;
            break;
          }
        }
      } else {
        const nl = text.indexOf('\n');
        end = nl;
      }
      if (end < 0) {
        this.buf = text;
        return;
      }
      const answer = text.slice(0, end).trim();
      this.buf = text.slice(end);
      const w = this.waiting.shift();
      const err = answer.startsWith('(error') ? new Error(`z3: ${answer}`) : undefined;
      if (!w) {
        if (err) this.failure = err;
        continue;
      }
      if (err) w.reject(err);
      else w.resolve(answer);
    }
  }

  send(cmd: string): void {
    this.proc.stdin.write(`${cmd}\n`);
  }

  private ask(cmd: string): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    const p = new Promise<string>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.send(cmd);
    return p;
  }

  /** sat: a model exists; unsat: none. */
  async check(): Promise<boolean> {
    const r = await this.ask('(check-sat-using qfbv)');
    if (r === 'sat') return true;
    if (r === 'unsat') return false;
    throw new Error(`z3 answered ${r}${this.stderr ? `: ${this.stderr.slice(-500)}` : ''}`);
  }

  /** The model's value of each term, as a binary string (MSB first). */
  async values(terms: string[]): Promise<string[]> {
    if (!terms.length) return [];
    const r = await this.ask(`(get-value (${terms.join(' ')}))`);
    const vals = [...r.matchAll(/(#b[01]+|#x[0-9a-fA-F]+|true|false)\)/g)].map((m) => m[1] as string);
    if (vals.length !== terms.length) throw new Error(`z3 gave ${vals.length} values for ${terms.length} terms`);
    return vals.map((v) => {
      if (v === 'true') return '1';
      if (v === 'false') return '0';
      if (v.startsWith('#b')) return v.slice(2);
      return [...v.slice(2)].map((h) => Number.parseInt(h, 16).toString(2).padStart(4, '0')).join('');
    });
  }

  close(): void {
    this.proc.stdin.end();
    this.proc.kill();
  }
}

/** Part of the verdict cache's key: bump when the encoding or a query's meaning changes. */
export const driverRevision = 'smtBmc 3';

/** The z3 on the PATH, or undefined (no native engine here). */
export const z3Version = ((): string | undefined => {
  try {
    const r = spawnSync('z3', ['--version'], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
})();

/** The assertions on step k of a run: its signals, the top's assumptions and the hierarchy. */
class Unrolling {
  steps = 0;
  constructor(
    readonly z3: Z3,
    readonly m: SmtModel,
    /** Step 1 is a reset cycle from the design's initial values (a run from reset), or any state. */
    readonly fromReset: boolean,
  ) {}

  ref(fn: string, k: number): string {
    return `|${this.m.top}_${fn}@${k}|`;
  }

  /** Unrolls to step k: each new step with its assumptions and its transition from the last. */
  extend(k: number): void {
    for (let s = this.steps + 1; s <= k; s++) {
      this.z3.send(stepCommands(this.m, s));
      this.z3.send(`(assert ${this.ref('u', s)})`);
      this.z3.send(`(assert ${this.ref('h', s)})`);
      if (s > 1) {
        this.z3.send(`(assert ${instantiate(this.m.transition, s - 1, s)})`);
      }
      if (this.fromReset) {
        if (s === 1) {
          this.z3.send(`(assert ${this.ref('i', 1)})`);
          this.z3.send(`(assert ${this.ref('n rst', 1)})`);
        }
        this.z3.send(s === 1 ? `(assert ${this.ref('is', 1)})` : `(assert (not ${this.ref('is', s)}))`);
      }
    }
    this.steps = Math.max(this.steps, k);
  }

  /** The state of step i is not that of step j (sat's force_unique_state). */
  distinct(i: number, j: number): void {
    if (!this.m.registers.length) return;
    const eqs = this.m.registers.map((r) => `(= ${at(r, i)} ${at(r, j)})`);
    this.z3.send(`(assert (not (and ${eqs.join(' ')})))`);
  }

  /** The public wires' values in steps 1..n of the model, as a VCD (time k = step k, like sat's). */
  async trace(n: number): Promise<string> {
    const w = this.m.wires;
    const ids = w.map((_, i) => vcdId(i));
    const out = ['$timescale 1ns $end', `$scope module ${this.m.top} $end`];
    for (const [i, x] of w.entries()) out.push(`$var wire ${x.width} ${ids[i]} ${x.name} $end`);
    out.push('$upscope $end', '$enddefinitions $end');
    for (let k = 1; k <= n; k++) {
      const vals = await this.z3.values(w.map((x) => this.ref(`n ${x.name}`, k)));
      out.push(`#${k}`);
      for (const [i, v] of vals.entries()) out.push((w[i] as SmtWire).width === 1 ? `${v}${ids[i]}` : `b${v} ${ids[i]}`);
    }
    return `${out.join('\n')}\n`;
  }
}

/** Short VCD identifiers from printable ASCII. */
function vcdId(i: number): string {
  let s = '';
  do {
    s += String.fromCharCode(33 + (i % 94));
    i = Math.floor(i / 94);
  } while (i > 0);
  return s;
}

export interface SmtVerdict {
  /** proven (induction closed), bounded (no failure found within the bound), failed, or for a cover reached / not. */
  status: 'proven' | 'bounded' | 'failed' | 'reached' | 'unreached';
  /** As sat's log gives it: the induction length, the base case that failed, or the bound. */
  depth: number;
  /** A counterexample or a cover's run, VCD. */
  vcd?: string;
}

/** Logs what the engine does, in lines like sat's so progress displays can count solver calls. */
type Log = (line: string) => void;

/**
 * BMC as `sat -seq depth+1 -prove-asserts -set-assumes -set-at 1 rst 1`: steps 1..depth+1, step 1 a
 * reset cycle, every assertion checked in every step (one query, as sat asks it).
 */
export async function smtBmc(smt2: string, depth: number, log: Log): Promise<SmtVerdict> {
  const m = parseSmt2(smt2);
  const z3 = new Z3();
  try {
    const u = new Unrolling(z3, m, true);
    const n = depth + 1;
    u.extend(n);
    const bad = Array.from({ length: n }, (_, i) => `(not ${u.ref('a', i + 1)})`);
    z3.send(`(assert (or ${bad.join(' ')}))`);
    log(`Solving problem: bmc of ${n} steps..`);
    if (!(await z3.check())) {
      log('SAT proof finished - no model found: SUCCESS!');
      return { status: 'bounded', depth };
    }
    log('SAT proof finished - model found: FAIL!');
    return { status: 'failed', depth, vcd: await u.trace(n) };
  } finally {
    z3.close();
  }
}

/**
 * Temporal induction as `sat -tempinduct -seq 1 -maxsteps maxSteps` (same flags as BMC): the base
 * case is a run from reset whose step 1 is not checked (`-seq 1`) and whose steps 2..L+1 are, the
 * induction step L+1 states from any state (no reset, no initial values) with the assertions
 * holding in the first L; for L = 1..maxSteps, base case first, each proven obligation kept as a
 * fact, states of a length above 1 kept distinct, as sat does.
 */
export async function smtInduction(smt2: string, maxSteps: number, log: Log): Promise<SmtVerdict> {
  const m = parseSmt2(smt2);
  const baseZ3 = new Z3();
  const stepZ3 = new Z3();
  try {
    const base = new Unrolling(baseZ3, m, true);
    const step = new Unrolling(stepZ3, m, false);
    base.extend(1);
    step.extend(1);
    stepZ3.send(`(assert ${step.ref('a', 1)})`);
    for (let len = 1; len <= maxSteps; len++) {
      log(`** Trying induction with length ${len} **`);
      const k = len + 1;
      base.extend(k);
      if (len > 1) for (let i = 2; i < k; i++) base.distinct(i, k);
      baseZ3.send('(push 1)');
      baseZ3.send(`(assert (not ${base.ref('a', k)}))`);
      log(`[base case ${len}] Solving problem..`);
      if (await baseZ3.check()) {
        log('SAT temporal induction proof finished - model found for base case: FAIL!');
        return { status: 'failed', depth: len, vcd: await base.trace(k) };
      }
      baseZ3.send('(pop 1)');
      baseZ3.send(`(assert ${base.ref('a', k)})`);
      log(`Base case for induction length ${len} proven.`);
      step.extend(k);
      if (len > 1) for (let i = 1; i < k; i++) step.distinct(i, k);
      stepZ3.send('(push 1)');
      stepZ3.send(`(assert (not ${step.ref('a', k)}))`);
      log(`[induction step ${len}] Solving problem..`);
      if (!(await stepZ3.check())) {
        log('Induction step proven: SUCCESS!');
        return { status: 'proven', depth: len };
      }
      stepZ3.send('(pop 1)');
      stepZ3.send(`(assert ${step.ref('a', k)})`);
      log('Induction step failed. Incrementing induction length.');
    }
    log('Reached maximum number of time steps -> proof failed.');
    return { status: 'bounded', depth: maxSteps };
  } finally {
    baseZ3.close();
    stepZ3.close();
  }
}

/**
 * A cover as `sat -seq depth+1 -set-assumes -set-at 1 rst 1 -prove wire 0`: a run of steps
 * 1..depth+1 in which `wire` is 1 in some step. The run returned reaches it in the earliest step
 * any run can (asked again with a shorter window until none is found), so the step reported does not
 * depend on which model the solver happens to find.
 */
export async function smtCover(smt2: string, wire: string, depth: number, log: Log): Promise<SmtVerdict> {
  const m = parseSmt2(smt2);
  if (!m.wires.some((w) => w.name === wire)) throw new Error(`no wire ${wire} in ${m.top}`);
  const z3 = new Z3();
  try {
    const u = new Unrolling(z3, m, true);
    const n = depth + 1;
    u.extend(n);
    const hit = Array.from({ length: n }, (_, i) => u.ref(`n ${wire}`, i + 1));
    let found: { step: number; vcd: string } | undefined;
    for (let window = n; window > 0; window = found.step - 1) {
      z3.send('(push 1)');
      z3.send(`(assert (or ${hit.slice(0, window).join(' ')}))`);
      log(`Solving problem: cover ${wire} within ${window} steps..`);
      const sat = await z3.check();
      if (sat) {
        const first = (await z3.values(hit)).indexOf('1') + 1;
        found = { step: first, vcd: await u.trace(n) };
      }
      z3.send('(pop 1)');
      if (!sat || found === undefined) break;
    }
    if (!found) {
      log('SAT proof finished - no model found: SUCCESS!');
      return { status: 'unreached', depth };
    }
    log(`SAT proof finished - model found: FAIL! (first reached in step ${found.step})`);
    return { status: 'reached', depth, vcd: found.vcd };
  } finally {
    z3.close();
  }
}
