/**
 * The checks and analyses that run when a module's body has been elaborated, in order:
 * drivers (every output, wire and submodule input is driven; every register is assigned),
 * grouping (which signals share an always block), latches (every combinational signal is assigned on
 * every path), combinational loops (through submodules too, using their port summaries), and usage
 * (which bits are read, so that the emitter can explain what Verilator would call unused).
 */
import { ElaborationError } from './errors.js';
import type { Expr } from './expr.js';
import { installChecks, type ModuleDef, type Stmt } from './module.js';
import { DrivenSignal, InPort, InstanceInput, InstanceOutput, OutPort, Reg, type Signal, Wire } from './signal.js';

export interface SignalGroup {
  kind: 'comb' | 'seq';
  signals: DrivenSignal[];
  stmts: Stmt[];
}

export interface ModuleAnalysis {
  groups: SignalGroup[];
  /** Bits read of each signal (bit i set = bit i is read). */
  usage: Map<Signal, bigint>;
  /** For each output port name, the input port names it depends on combinationally. */
  combPaths: Map<string, Set<string>>;
}

const analyses = new WeakMap<ModuleDef<unknown>, ModuleAnalysis>();

export function analysisOf(def: ModuleDef<unknown>): ModuleAnalysis {
  const a = analyses.get(def);
  if (!a) throw new Error(`module ${def.verilogName} was not checked`);
  return a;
}

function isComb(s: Signal): boolean {
  return s instanceof Wire || s instanceof OutPort || s instanceof InstanceInput;
}

/** Calls `f` for every signal an expression reads, with the bit range when it is a constant slice. */
export function visitRefs(e: Expr, f: (s: Signal, hi: number, lo: number) => void): void {
  const op = e.op;
  switch (op.kind) {
    case 'lit':
      return;
    case 'ref': {
      const s = e as Signal;
      f(s, s.width - 1, 0);
      return;
    }
    case 'slice':
      if (op.a.op.kind === 'ref') {
        f(op.a as Signal, op.hi, op.lo);
        return;
      }
      visitRefs(op.a, f);
      return;
    case 'not':
    case 'reduce':
    case 'ext':
    case 'cast':
    case 'repeat':
      visitRefs(op.a, f);
      return;
    case 'bin':
      visitRefs(op.a, f);
      visitRefs(op.b, f);
      return;
    case 'index':
    case 'part':
      visitRefs(op.a, f);
      visitRefs(op.index, f);
      return;
    case 'concat':
      for (const p of op.parts) visitRefs(p, f);
      return;
    case 'mux':
      visitRefs(op.cond, f);
      visitRefs(op.ifTrue, f);
      visitRefs(op.ifFalse, f);
      return;
    case 'memread':
      visitRefs(op.addr, f);
      return;
  }
}

function targetsOf(stmts: Stmt[], out: Set<DrivenSignal>): Set<DrivenSignal> {
  for (const st of stmts) {
    if (st.kind === 'assign') out.add(st.target);
    else if (st.kind === 'when') {
      targetsOf(st.ifTrue, out);
      targetsOf(st.ifFalse, out);
    } else {
      for (const c of st.cases) targetsOf(c.body, out);
      if (st.default) targetsOf(st.default, out);
    }
  }
  return out;
}

/** Keeps only the assignments to `keep`, dropping branches that become empty. */
export function project(stmts: Stmt[], keep: (s: DrivenSignal) => boolean): Stmt[] {
  const out: Stmt[] = [];
  for (const st of stmts) {
    if (st.kind === 'assign') {
      if (keep(st.target)) out.push(st);
    } else if (st.kind === 'when') {
      const ifTrue = project(st.ifTrue, keep);
      const els = project(st.ifFalse, keep);
      if (ifTrue.length || els.length) out.push({ ...st, ifTrue, ifFalse: els });
    } else {
      const cases = st.cases.map((c) => ({ values: c.values, body: project(c.body, keep) }));
      const def = st.default ? project(st.default, keep) : null;
      if (cases.some((c) => c.body.length) || def?.length) out.push({ ...st, cases, default: def });
    }
  }
  return out;
}

class UnionFind<T> {
  private parent = new Map<T, T>();
  find(x: T): T {
    let p = this.parent.get(x) ?? x;
    if (p !== x) {
      p = this.find(p);
      this.parent.set(x, p);
    }
    return p;
  }
  union(a: T, b: T): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

function groupSignals(def: ModuleDef<unknown>): SignalGroup[] {
  const b = def.builder;
  const uf = new UnionFind<DrivenSignal>();
  const tops = b.body.map((st) => [...targetsOf([st], new Set())]);
  for (const ts of tops) {
    const comb = ts.filter(isComb);
    const seq = ts.filter((t) => t instanceof Reg);
    for (const list of [comb, seq]) for (let i = 1; i < list.length; i++) uf.union(list[0] as DrivenSignal, list[i] as DrivenSignal);
  }
  const byRoot = new Map<DrivenSignal, DrivenSignal[]>();
  for (const s of b.signals) {
    if (!(s instanceof DrivenSignal)) continue;
    const r = uf.find(s);
    const list = byRoot.get(r) ?? [];
    list.push(s);
    byRoot.set(r, list);
  }
  const groups: SignalGroup[] = [];
  for (const members of byRoot.values()) {
    const set = new Set<DrivenSignal>(members);
    const stmts = project(b.body, (t) => set.has(t));
    if (stmts.length === 0) continue;
    groups.push({ kind: members[0] instanceof Reg ? 'seq' : 'comb', signals: members, stmts });
  }
  return groups;
}

function checkDrivers(def: ModuleDef<unknown>): void {
  const driven = targetsOf(def.builder.body, new Set());
  for (const s of def.builder.signals) {
    if (!(s instanceof DrivenSignal) || driven.has(s)) continue;
    const what = s instanceof OutPort ? 'output' : s instanceof InstanceInput ? 'submodule input' : s instanceof Reg ? 'register' : 'wire';
    throw new ElaborationError(`${what} '${s.name}' of module ${def.verilogName} is never assigned; drive it with .set()`, s.src);
  }
}

/** Whether every path through `stmts` fully assigns `s`, given whether it already was. */
function fullyAssigned(stmts: Stmt[], s: DrivenSignal, before: boolean): boolean {
  let done = before;
  for (const st of stmts) {
    if (st.kind === 'assign') {
      if (st.target !== s) continue;
      if (st.sel === null) done = true;
      else if (!done) {
        throw new ElaborationError(
          `combinational '${s.name}' is assigned in part before it has a value on this path (this would infer a latch); set the whole signal first`,
          st.src,
          [{ what: `'${s.name}' declared`, loc: s.src }],
        );
      }
    } else if (st.kind === 'when') {
      const a = fullyAssigned(st.ifTrue, s, done);
      const b = fullyAssigned(st.ifFalse, s, done);
      done = a && b;
    } else {
      let all = st.cases.every((c) => fullyAssigned(c.body, s, done));
      if (st.default) all = all && fullyAssigned(st.default, s, done);
      else {
        const covered = st.cases.reduce((n, c) => n + c.values.length, 0);
        all = all && st.subject.width < 20 && covered === 2 ** st.subject.width;
      }
      done = done || all;
    }
  }
  return done;
}

function checkLatches(groups: SignalGroup[]): void {
  for (const g of groups) {
    if (g.kind !== 'comb') continue;
    for (const s of g.signals) {
      if (!fullyAssigned(g.stmts, s, false)) {
        throw new ElaborationError(
          `combinational '${s.name}' is not assigned on every path (this would infer a latch); give it a default with .set() before the when, or an otherwise branch`,
          s.src,
        );
      }
    }
  }
}

/** Signals each combinational signal reads: values, enclosing conditions and index expressions. */
function combDependencies(def: ModuleDef<unknown>): Map<Signal, Set<Signal>> {
  const deps = new Map<Signal, Set<Signal>>();
  const add = (t: Signal, e: Expr): void => {
    let set = deps.get(t);
    if (!set) {
      set = new Set();
      deps.set(t, set);
    }
    const into = set;
    visitRefs(e, (s) => into.add(s));
  };
  const walk = (stmts: Stmt[], conds: Expr[]): void => {
    for (const st of stmts) {
      if (st.kind === 'assign') {
        if (!isComb(st.target)) continue;
        add(st.target, st.value);
        for (const c of conds) add(st.target, c);
        if (st.sel && st.sel.kind !== 'slice') add(st.target, st.sel.index);
      } else if (st.kind === 'when') {
        walk(st.ifTrue, [...conds, st.cond]);
        walk(st.ifFalse, [...conds, st.cond]);
      } else {
        for (const c of st.cases) walk(c.body, [...conds, st.subject]);
        if (st.default) walk(st.default, [...conds, st.subject]);
      }
    }
  };
  walk(def.builder.body, []);
  // A submodule's output depends on the inputs its summary names.
  for (const inst of def.builder.instances) {
    const summary = analysisOf(inst.def).combPaths;
    for (const [outName, inNames] of summary) {
      const out = inst.connections.get(outName);
      if (!out) continue;
      const set = new Set<Signal>();
      for (const n of inNames) {
        const i = inst.connections.get(n);
        if (i) set.add(i);
      }
      deps.set(out, set);
    }
  }
  return deps;
}

function checkLoops(def: ModuleDef<unknown>, deps: Map<Signal, Set<Signal>>): void {
  const state = new Map<Signal, 1 | 2>();
  const stack: Signal[] = [];
  const visit = (s: Signal): void => {
    const st = state.get(s);
    if (st === 2) return;
    if (st === 1) {
      const cycle = stack.slice(stack.indexOf(s));
      throw new ElaborationError(
        `combinational loop in module ${def.verilogName}: ${[...cycle, s].map((c) => c.name).join(' -> ')}; break it with a register`,
        s.src,
        cycle.slice(1).map((c) => ({ what: `'${c.name}'`, loc: c.src })),
      );
    }
    state.set(s, 1);
    stack.push(s);
    for (const d of deps.get(s) ?? []) visit(d);
    stack.pop();
    state.set(s, 2);
  };
  for (const s of deps.keys()) visit(s);
}

function combPaths(def: ModuleDef<unknown>, deps: Map<Signal, Set<Signal>>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const p of def.builder.ports) {
    if (!(p instanceof OutPort)) continue;
    const found = new Set<string>();
    const seen = new Set<Signal>();
    const todo: Signal[] = [p];
    while (todo.length) {
      const s = todo.pop() as Signal;
      if (seen.has(s)) continue;
      seen.add(s);
      if (s instanceof InPort) found.add(s.name);
      for (const d of deps.get(s) ?? []) todo.push(d);
    }
    if (found.size) out.set(p.name, found);
  }
  return out;
}

function usage(def: ModuleDef<unknown>): Map<Signal, bigint> {
  const used = new Map<Signal, bigint>();
  const mark = (s: Signal, hi: number, lo: number): void => {
    const bits = ((1n << BigInt(hi - lo + 1)) - 1n) << BigInt(lo);
    used.set(s, (used.get(s) ?? 0n) | bits);
  };
  const expr = (e: Expr): void => visitRefs(e, mark);
  const walk = (stmts: Stmt[]): void => {
    for (const st of stmts) {
      if (st.kind === 'assign') {
        expr(st.value);
        if (st.sel && st.sel.kind !== 'slice') expr(st.sel.index);
      } else if (st.kind === 'when') {
        expr(st.cond);
        walk(st.ifTrue);
        walk(st.ifFalse);
      } else {
        expr(st.subject);
        for (const c of st.cases) walk(c.body);
        if (st.default) walk(st.default);
      }
    }
  };
  walk(def.builder.body);
  const b = def.builder;
  for (const m of b.memories) {
    for (const w of m.writes) {
      expr(w.addr);
      expr(w.data);
      expr(w.enable);
      if (w.mask) expr(w.mask);
    }
    for (const r of m.reads) {
      expr(r.addr);
      expr(r.enable);
    }
  }
  // Clock and reset feed registers and submodules, which the expression walk does not see.
  if (b.clk) mark(b.clk, 0, 0);
  if (b.rst && (b.signals.some((s) => s instanceof Reg && s.options.reset !== undefined) || b.instances.some((i) => i.def.builder.rst))) {
    mark(b.rst, 0, 0);
  }
  // Submodule inputs are read by the submodule.
  for (const inst of b.instances) for (const s of inst.connections.values()) if (s instanceof InstanceInput) mark(s, s.width - 1, 0);
  // Output ports are read by the parent.
  for (const p of b.ports) if (p instanceof OutPort) mark(p, p.width - 1, 0);
  return used;
}

/** Runs every check and stores the analysis for the emitter. */
export function checkModule(def: ModuleDef<unknown>): ModuleAnalysis {
  checkDrivers(def);
  const groups = groupSignals(def);
  checkLatches(groups);
  const deps = combDependencies(def);
  checkLoops(def, deps);
  const analysis: ModuleAnalysis = { groups, usage: usage(def), combPaths: combPaths(def, deps) };
  analyses.set(def, analysis);
  return analysis;
}

installChecks((def) => {
  checkModule(def);
});

export { InstanceOutput };
