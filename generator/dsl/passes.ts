/**
 * The checks and analyses that run when a module's body has been elaborated, in order:
 * drivers (every output, wire and submodule input is driven; every register bit is assigned; every
 * memory is written or initialised), combinational dependencies and loops (through submodules too,
 * using their port summaries), grouping (which signals share an always block), latches (every
 * combinational signal is assigned on every path), clock-domain crossings (cdc.ts), and usage (which
 * bits are read, so that the emitter can explain what Verilator would call unused). Every pass is
 * linear in the design's size.
 */
import { checkCrossings } from './cdc.js';
import { ElaborationError } from './errors.js';
import { children, type Expr } from './expr.js';
import { GhostReg } from './formal.js';
import type { ModuleDef, Stmt } from './module.js';
import { DrivenSignal, InPort, InstanceInput, OutPort, Reg, type Signal, Wire } from './signal.js';
import { formatLoc, type SourceLoc } from './source.js';

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

/** Signals driven combinationally (assigned with `=` in always @(*), or by `assign`). */
export function isComb(s: Signal): boolean {
  return s instanceof Wire || s instanceof OutPort || s instanceof InstanceInput;
}

function ones(width: number): bigint {
  return (1n << BigInt(width)) - 1n;
}

function bitsMask(hi: number, lo: number): bigint {
  return ones(hi - lo + 1) << BigInt(lo);
}

/** `7:4, 1` for the bits set in mask. */
export function describeBits(mask: bigint, width: number): string {
  const parts: string[] = [];
  let i = 0;
  while (i < width) {
    if (!((mask >> BigInt(i)) & 1n)) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < width && (mask >> BigInt(j + 1)) & 1n) j++;
    parts.push(i === j ? `${i}` : `${j}:${i}`);
    i = j + 1;
  }
  return parts.reverse().join(', ');
}

/**
 * Calls `f` for every signal an expression reads, with the bit range when it is a constant slice.
 * Iterative: a user's chain of 10,000 muxes must not overflow the stack.
 */
export function visitRefs(root: Expr, f: (s: Signal, hi: number, lo: number) => void): void {
  const todo: Expr[] = [root];
  while (todo.length) {
    const e = todo.pop() as Expr;
    const op = e.op;
    if (op.kind === 'ref') {
      f(e as Signal, e.width - 1, 0);
    } else if (op.kind === 'slice' && op.a.op.kind === 'ref') {
      f(op.a as Signal, op.hi, op.lo);
    } else {
      for (const c of children(op)) todo.push(c);
    }
  }
}

function targetsOf(stmts: Stmt[], out: Set<DrivenSignal>): Set<DrivenSignal> {
  for (const st of stmts) {
    if (st.kind === 'assign') out.add(st.target);
    else if (st.kind === 'when') {
      for (const b of st.branches) targetsOf(b.body, out);
      if (st.otherwise) targetsOf(st.otherwise, out);
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
      const branches = st.branches.map((b) => ({ ...b, body: project(b.body, keep) }));
      const otherwise = st.otherwise ? project(st.otherwise, keep) : null;
      // Trailing empty arms are dropped; an empty arm before a used one stays (it takes priority).
      while (branches.length && (branches[branches.length - 1]?.body.length ?? 0) === 0 && !otherwise?.length) branches.pop();
      if (branches.length === 0) continue;
      out.push({ ...st, branches, otherwise: otherwise?.length ? otherwise : null });
    } else {
      const cases = st.cases.map((c) => ({ ...c, body: project(c.body, keep) }));
      const def = st.default ? project(st.default, keep) : null;
      if (cases.some((c) => c.body.length) || def?.length) out.push({ ...st, cases, default: def });
    }
  }
  return out;
}

/**
 * The conditions that guard a statement: its arm's condition, the conditions of earlier arms of the
 * same when (an arm is taken only when they are false), and everything enclosing. The signals they
 * read are collected once per arm, so a chain of 1000 elseWhens costs 1000 steps, not 1000^2/2.
 */
export class Guards {
  private cached: Set<Signal> | null = null;
  constructor(
    private readonly parent: Guards | null,
    private readonly conds: Expr[],
  ) {}

  refs(): Set<Signal> {
    if (!this.cached) {
      const set = new Set<Signal>(this.parent ? this.parent.refs() : []);
      for (const c of this.conds) visitRefs(c, (s) => set.add(s));
      this.cached = set;
    }
    return this.cached;
  }
}

/** Walks every assignment with the guards that enclose it. */
export function forEachAssign(
  stmts: Stmt[],
  f: (st: Extract<Stmt, { kind: 'assign' }>, guards: Guards | null) => void,
  guards: Guards | null = null,
): void {
  for (const st of stmts) {
    if (st.kind === 'assign') f(st, guards);
    else if (st.kind === 'when') {
      let arm = guards;
      for (const b of st.branches) {
        arm = new Guards(arm, [b.cond]);
        forEachAssign(b.body, f, arm);
      }
      if (st.otherwise) forEachAssign(st.otherwise, f, arm);
    } else {
      const inner = new Guards(guards, [st.subject]);
      for (const c of st.cases) forEachAssign(c.body, f, inner);
      if (st.default) forEachAssign(st.default, f, inner);
    }
  }
}

// ---- drivers ----

function checkDrivers(def: ModuleDef<unknown>): void {
  const b = def.builder;
  const driven = targetsOf(b.body, new Set());
  for (const s of b.signals) {
    if (!(s instanceof DrivenSignal) || driven.has(s)) continue;
    if (s instanceof InstanceInput) {
      const inst = b.instances.find((i) => [...i.connections.values()].includes(s));
      const port = inst ? [...inst.connections].find(([, v]) => v === s)?.[0] : undefined;
      throw new ElaborationError(
        `input '${port ?? s.name}' of submodule '${inst?.name ?? '?'}' (${inst?.def.verilogName ?? '?'}) is never driven; set ${s.name} or connect() it`,
        s.src,
      );
    }
    const what = s instanceof OutPort ? 'output' : s instanceof Reg ? 'register' : 'wire';
    throw new ElaborationError(`${what} '${s.name}' of module ${def.verilogName} is never assigned; drive it with .set()`, s.src);
  }
  // A register bit that nothing assigns and no reset sets holds X forever.
  const assigned = new Map<DrivenSignal, bigint>();
  forEachAssign(b.body, (st) => {
    if (!(st.target instanceof Reg)) return;
    const bits = st.sel?.kind === 'slice' ? bitsMask(st.sel.hi, st.sel.lo) : ones(st.target.width);
    assigned.set(st.target, (assigned.get(st.target) ?? 0n) | bits);
  });
  for (const [r, bits] of assigned) {
    if (r.options.reset !== undefined || bits === ones(r.width)) continue;
    throw new ElaborationError(
      `bits ${describeBits(ones(r.width) & ~bits, r.width)} of register '${r.name}' are never assigned and it has no reset; assign them or make the register narrower`,
      r.src,
    );
  }
  for (const m of b.memories) {
    if (m.writes.length === 0 && !m.init) {
      throw new ElaborationError(`memory '${m.name}' is never written and has no initial contents; write() it or give it init`, m.src);
    }
  }
}

// ---- overlaps ----

type AssignStmt = Extract<Stmt, { kind: 'assign' }>;

/** The bits an assignment drives, or null when a signal chooses them (atIndex, atPart). */
function constantBits(st: AssignStmt): bigint | null {
  if (st.sel === null) return ones(st.target.width);
  return st.sel.kind === 'slice' ? bitsMask(st.sel.hi, st.sel.lo) : null;
}

/**
 * Refuses an assignment that later assignments in the same statement list (the module's top level,
 * one when arm, one switch case) override entirely: with the last assignment winning it has no
 * effect, which is a mistake (two drivers written where one was meant), not a style. Assignments in
 * a nested when/switch are conditional and never count, so a default before a conditional override
 * stays legal, and so does a full value refined by a later slice. A wire's `init` is a declared
 * default and may be overridden anywhere. Each list is walked once, backwards,
 * keeping the union of the constant bits assigned after the current statement.
 */
function checkOverlaps(def: ModuleDef<unknown>): void {
  const todo: Stmt[][] = [def.builder.body];
  while (todo.length) {
    const list = todo.pop() as Stmt[];
    const later = new Map<DrivenSignal, bigint>();
    for (let i = list.length - 1; i >= 0; i--) {
      const st = list[i] as Stmt;
      if (st.kind === 'when') {
        for (const b of st.branches) todo.push(b.body);
        if (st.otherwise) todo.push(st.otherwise);
        continue;
      }
      if (st.kind === 'switch') {
        for (const c of st.cases) todo.push(c.body);
        if (st.default) todo.push(st.default);
        continue;
      }
      const covered = later.get(st.target) ?? 0n;
      const bits = constantBits(st);
      const full = ones(st.target.width);
      const dead = bits === null ? covered === full : (bits & ~covered) === 0n;
      if (dead && !st.init) overlapError(def, list, i, bits ?? full);
      if (bits !== null) later.set(st.target, covered | bits);
    }
  }
}

/** The error for list[dead], whose `bits` the assignments after it override: it names all of them. */
function overlapError(def: ModuleDef<unknown>, list: Stmt[], dead: number, bits: bigint): never {
  const first = list[dead] as AssignStmt;
  const s = first.target;
  let left = bits;
  const overriding: AssignStmt[] = [];
  for (let j = dead + 1; j < list.length && left !== 0n; j++) {
    const st = list[j] as Stmt;
    if (st.kind !== 'assign' || st.target !== s) continue;
    const b = constantBits(st);
    if (b === null || (b & left) === 0n) continue;
    overriding.push(st);
    left &= ~b;
  }
  const last = overriding[overriding.length - 1] as AssignStmt;
  const what = bits === ones(s.width) ? `'${s.name}'` : `bits ${describeBits(bits, s.width)} of '${s.name}'`;
  const by = overriding.length === 1 ? 'this assignment overrides' : `this assignment and ${overriding.length - 1} before it override`;
  throw new ElaborationError(
    `assignment overlap in module ${def.verilogName}: ${by} every bit of ${what} that the assignment at ${formatLoc(first.src)} drives, in the same scope, so that one has no effect; remove one of them, or put the override in a when() if the first is meant as a default`,
    last.src,
    [
      { what: 'the overridden assignment', loc: first.src },
      ...overriding.slice(0, -1).map((o) => ({ what: 'also overriding it', loc: o.src })),
    ],
  );
}

// ---- combinational dependencies, loops, port summaries ----

/** Signals each combinational signal reads: values, enclosing conditions and index expressions. */
function combDependencies(def: ModuleDef<unknown>): Map<Signal, Set<Signal>> {
  const deps = new Map<Signal, Set<Signal>>();
  const into = (t: Signal): Set<Signal> => {
    let set = deps.get(t);
    if (!set) {
      set = new Set();
      deps.set(t, set);
    }
    return set;
  };
  forEachAssign(def.builder.body, (st, guards) => {
    if (!isComb(st.target)) return;
    const set = into(st.target);
    const add = (s: Signal): void => {
      set.add(s);
    };
    visitRefs(st.value, add);
    if (guards) for (const g of guards.refs()) set.add(g);
    if (st.sel && st.sel.kind !== 'slice') visitRefs(st.sel.index, add);
  });
  // A submodule's output depends on the inputs its summary names.
  for (const inst of def.builder.instances) {
    const summary = analysisOf(inst.def).combPaths;
    for (const [outName, inNames] of summary) {
      const out = inst.connections.get(outName);
      if (!out) continue;
      const set = into(out);
      for (const n of inNames) {
        const i = inst.connections.get(n);
        if (i) set.add(i);
      }
    }
  }
  return deps;
}

/** Where `reader` reads `read` combinationally (for a loop error): an assignment, or an instance. */
function loopEdge(def: ModuleDef<unknown>, reader: Signal, read: Signal): { what: string; loc: SourceLoc } {
  let found: { what: string; loc: SourceLoc } | null = null;
  const reads = (e: Expr): boolean => {
    let hit = false;
    visitRefs(e, (s) => {
      if (s === read) hit = true;
    });
    return hit;
  };
  forEachAssign(def.builder.body, (st, guards) => {
    if (found || st.target !== reader) return;
    const how = reads(st.value)
      ? 'in the value of'
      : st.sel && st.sel.kind !== 'slice' && reads(st.sel.index)
        ? 'in the index of'
        : guards?.refs().has(read)
          ? 'in a condition enclosing'
          : null;
    if (how) found = { what: `'${reader.name}' reads '${read.name}' ${how} the assignment`, loc: st.src };
  });
  if (found) return found;
  const inst = def.builder.instances.find((i) => [...i.connections.values()].includes(reader as InstanceInput));
  return {
    what: `'${reader.name}' depends on '${read.name}' through submodule ${inst ? `${inst.name} (${inst.def.verilogName})` : '?'}`,
    loc: inst?.src ?? reader.src,
  };
}

/**
 * One depth-first walk over the dependency graph: finds a combinational loop (an error) and computes,
 * for every signal, the set of input ports it depends on (as a bit set over the module's inputs).
 */
function checkLoopsAndPaths(def: ModuleDef<unknown>, deps: Map<Signal, Set<Signal>>): Map<string, Set<string>> {
  const inputs = def.builder.ports.filter((p): p is InPort => p instanceof InPort);
  const inputBit = new Map<Signal, bigint>(inputs.map((p, i) => [p, 1n << BigInt(i)]));
  const reach = new Map<Signal, bigint>();
  const onStack = new Set<Signal>();
  type Frame = { s: Signal; next: Iterator<Signal> };
  for (const root of deps.keys()) {
    if (reach.has(root)) continue;
    const stack: Frame[] = [{ s: root, next: (deps.get(root) ?? new Set<Signal>()).values() }];
    onStack.add(root);
    while (stack.length) {
      const top = stack[stack.length - 1] as Frame;
      const step = top.next.next();
      if (!step.done) {
        const d = step.value;
        if (reach.has(d)) continue;
        if (onStack.has(d)) {
          const from = stack.findIndex((f) => f.s === d);
          const cycle = stack.slice(from).map((f) => f.s);
          const closing = cycle.map((reader, i) => loopEdge(def, reader, cycle[i + 1] ?? d));
          throw new ElaborationError(
            `combinational loop in module ${def.verilogName}: ${[...cycle, d].map((c) => c.name).join(' <- ')}; break it with a register`,
            d.src,
            [...closing, ...cycle.slice(1).map((c) => ({ what: `'${c.name}' declared`, loc: c.src }))],
          );
        }
        const ds = deps.get(d);
        if (!ds) {
          reach.set(d, inputBit.get(d) ?? 0n);
          continue;
        }
        onStack.add(d);
        stack.push({ s: d, next: ds.values() });
        continue;
      }
      let bits = inputBit.get(top.s) ?? 0n;
      for (const d of deps.get(top.s) ?? []) bits |= reach.get(d) ?? 0n;
      reach.set(top.s, bits);
      onStack.delete(top.s);
      stack.pop();
    }
  }
  const paths = new Map<string, Set<string>>();
  for (const p of def.builder.ports) {
    if (!(p instanceof OutPort)) continue;
    const bits = reach.get(p) ?? 0n;
    if (bits === 0n) continue;
    paths.set(p.name, new Set(inputs.filter((_, i) => (bits >> BigInt(i)) & 1n).map((i) => i.name)));
  }
  return paths;
}

// ---- grouping ----

class UnionFind<T> {
  private parent = new Map<T, T>();
  find(x: T): T {
    let root = x;
    for (let p = this.parent.get(root); p !== undefined && p !== root; p = this.parent.get(root)) root = p;
    // Path compression, iteratively.
    for (let y = x; y !== root; ) {
      const next = this.parent.get(y) as T;
      this.parent.set(y, root);
      y = next;
    }
    return root;
  }
  union(a: T, b: T): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

/**
 * Signals assigned in one top-level statement share an always block (registers and combinational
 * signals apart). A combinational signal that another member of its block reads gets a block of its
 * own: inside one always @(*) a read would see the value assigned so far, not the final one.
 */
function groupSignals(def: ModuleDef<unknown>, deps: Map<Signal, Set<Signal>>): SignalGroup[] {
  const b = def.builder;
  const uf = new UnionFind<DrivenSignal>();
  // The first target of each kind of a statement: the combinational one, and one register per clock
  // domain (registers of different domains never share an always block).
  const firstTargets: DrivenSignal[][] = [];
  for (const st of b.body) {
    const ts = targetsOf([st], new Set());
    let comb: DrivenSignal | null = null;
    const seq = new Map<unknown, DrivenSignal>();
    for (const t of ts) {
      if (t instanceof Reg) {
        const first = seq.get(t.options.domain);
        if (first) uf.union(first, t);
        else seq.set(t.options.domain, t);
      } else if (comb) uf.union(comb, t);
      else comb = t;
    }
    firstTargets.push([...(comb ? [comb] : []), ...seq.values()]);
  }
  const stmtsOf = new Map<DrivenSignal, Stmt[]>();
  b.body.forEach((st, i) => {
    for (const t of firstTargets[i] as DrivenSignal[]) {
      const root = uf.find(t);
      const list = stmtsOf.get(root) ?? [];
      list.push(st);
      stmtsOf.set(root, list);
    }
  });
  const members = new Map<DrivenSignal, DrivenSignal[]>();
  for (const s of b.signals) {
    if (!(s instanceof DrivenSignal)) continue;
    const r = uf.find(s);
    if (!stmtsOf.has(r)) continue;
    const list = members.get(r) ?? [];
    list.push(s);
    members.set(r, list);
  }
  const groups: SignalGroup[] = [];
  for (const [root, sigs] of members) {
    const top = stmtsOf.get(root) as Stmt[];
    const kind = sigs[0] instanceof Reg ? 'seq' : 'comb';
    if (kind === 'seq' || sigs.length === 1) {
      const set = new Set<DrivenSignal>(sigs);
      groups.push({ kind, signals: sigs, stmts: project(top, (t) => set.has(t)) });
      continue;
    }
    const set = new Set<DrivenSignal>(sigs);
    const readInside = new Set<DrivenSignal>();
    for (const s of sigs) for (const d of deps.get(s) ?? []) if (d !== s && set.has(d as DrivenSignal)) readInside.add(d as DrivenSignal);
    const rest = sigs.filter((s) => !readInside.has(s));
    const restSet = new Set(rest);
    for (const s of sigs) {
      if (readInside.has(s)) groups.push({ kind, signals: [s], stmts: project(top, (t) => t === s) });
      else if (s === rest[0]) groups.push({ kind, signals: rest, stmts: project(top, (t) => restSet.has(t)) });
    }
  }
  return groups;
}

// ---- latches ----

type Cover = Map<DrivenSignal, bigint>;

/**
 * Which bits of each signal every path through `stmts` assigns, starting from `cover`. A dynamic
 * partial assignment (`atIndex`, `atPart`) to a signal that has no full value yet is refused: the
 * bits it does not hit would hold their old value.
 */
function coverOf(stmts: Stmt[], cover: Cover, lostAt: Map<DrivenSignal, SourceLoc>): Cover {
  for (const st of stmts) {
    if (st.kind === 'assign') {
      const s = st.target;
      const full = ones(s.width);
      if (st.sel === null) cover.set(s, full);
      else if (st.sel.kind === 'slice') cover.set(s, (cover.get(s) ?? 0n) | bitsMask(st.sel.hi, st.sel.lo));
      else if ((cover.get(s) ?? 0n) !== full) {
        throw new ElaborationError(
          `combinational '${s.name}' is assigned by a dynamic index before it has a full value on this path (the other bits would infer a latch); set the whole signal first`,
          st.src,
          [{ what: `'${s.name}' declared`, loc: s.src }],
        );
      }
      continue;
    }
    const arms: Stmt[][] = [];
    let exhaustive: boolean;
    if (st.kind === 'when') {
      for (const b of st.branches) arms.push(b.body);
      if (st.otherwise) arms.push(st.otherwise);
      exhaustive = st.otherwise !== null;
    } else {
      for (const c of st.cases) arms.push(c.body);
      if (st.default) arms.push(st.default);
      const covered = st.cases.reduce((n, c) => n + c.values.length, 0);
      exhaustive = st.default !== null || (st.subject.width < 31 && covered === 2 ** st.subject.width);
    }
    const results = arms.map((a) => coverOf(a, new Map(cover), lostAt));
    if (!exhaustive) results.push(cover);
    const merged: Cover = new Map();
    const keys = new Set<DrivenSignal>();
    for (const r of results) for (const k of r.keys()) keys.add(k);
    for (const k of keys) {
      let bits = ones(k.width);
      let best = 0n;
      for (const r of results) {
        const v = r.get(k) ?? 0n;
        bits &= v;
        best |= v;
      }
      if (bits !== best && !lostAt.has(k)) lostAt.set(k, st.src);
      if (bits !== 0n) merged.set(k, bits);
    }
    cover = merged;
  }
  return cover;
}

function checkLatches(groups: SignalGroup[]): void {
  for (const g of groups) {
    if (g.kind !== 'comb') continue;
    const lostAt = new Map<DrivenSignal, SourceLoc>();
    const cover = coverOf(g.stmts, new Map(), lostAt);
    for (const s of g.signals) {
      const full = ones(s.width);
      const bits = cover.get(s) ?? 0n;
      if (bits === full) continue;
      const what =
        bits === 0n ? `combinational '${s.name}' is` : `bits ${describeBits(full & ~bits, s.width)} of combinational '${s.name}' are`;
      const lost = lostAt.get(s);
      throw new ElaborationError(
        `${what} not assigned on every path (this would infer a latch); give it a default with .set() before the when (or an init), or add an otherwise/default branch`,
        s.src,
        lost ? [{ what: 'a path through this when/switch leaves it unassigned', loc: lost }] : [],
      );
    }
  }
}

// ---- usage ----

/**
 * Which bits of each signal are read. The same walk refuses an expression that reads a signal or a
 * memory of another module: Verilog could not name it.
 */
function usage(def: ModuleDef<unknown>): Map<Signal, bigint> {
  const b = def.builder;
  const used = new Map<Signal, bigint>();
  const mark = (s: Signal, hi: number, lo: number): void => {
    used.set(s, (used.get(s) ?? 0n) | bitsMask(hi, lo));
  };
  const foreign = (what: string, owner: string, loc: SourceLoc): never => {
    throw new ElaborationError(
      `module ${def.verilogName} reads ${what} of module ${owner}; a module sees only its own signals and the ports of its instances (m.instance(...).io)`,
      loc,
    );
  };
  const ghostRead = (g: GhostReg, loc: SourceLoc): never => {
    throw new ElaborationError(
      `hardware reads '${g.name}', formal-only state (past/ghost) made at ${formatLoc(g.src)}; only assert/assume/cover and ghosts may read it`,
      loc,
    );
  };
  const expr = (root: Expr, loc: SourceLoc): void => {
    const todo: Expr[] = [root];
    while (todo.length) {
      const e = todo.pop() as Expr;
      const op = e.op;
      if (op.kind === 'ref') {
        const s = e as Signal;
        if (s.owner !== b) foreign(`'${s.name}'`, s.owner.name, loc);
        if (s instanceof GhostReg) ghostRead(s, loc);
        mark(s, e.width - 1, 0);
      } else if (op.kind === 'slice' && op.a.op.kind === 'ref') {
        const s = op.a as Signal;
        if (s.owner !== b) foreign(`'${s.name}'`, s.owner.name, loc);
        mark(s, op.hi, op.lo);
      } else {
        if (op.kind === 'memread' && !b.memories.includes(op.mem as never)) foreign(`memory '${op.mem.name}'`, 'another module', loc);
        for (const c of children(op)) todo.push(c);
      }
    }
  };
  // A when/switch that assigns nothing is no hardware (it may hold only properties, under a
  // condition that reads a past value): its conditions are not read.
  const assigns = new Map<Stmt, boolean>();
  const hasAssign = (st: Stmt): boolean => {
    if (st.kind === 'assign') return true;
    let known = assigns.get(st);
    if (known === undefined) {
      const arms =
        st.kind === 'when' ? [...st.branches.map((x) => x.body), st.otherwise ?? []] : [...st.cases.map((c) => c.body), st.default ?? []];
      known = arms.some((arm) => arm.some(hasAssign));
      assigns.set(st, known);
    }
    return known;
  };
  const walk = (stmts: Stmt[]): void => {
    for (const st of stmts) {
      if (!hasAssign(st)) continue;
      if (st.kind === 'assign') {
        expr(st.value, st.src);
        if (st.sel && st.sel.kind !== 'slice') expr(st.sel.index, st.src);
      } else if (st.kind === 'when') {
        for (const br of st.branches) {
          expr(br.cond, br.src);
          walk(br.body);
        }
        if (st.otherwise) walk(st.otherwise);
      } else {
        expr(st.subject, st.src);
        for (const c of st.cases) walk(c.body);
        if (st.default) walk(st.default);
      }
    }
  };
  walk(b.body);
  for (const m of b.memories) {
    for (const w of m.writes) {
      expr(w.addr, w.src);
      expr(w.data, w.src);
      expr(w.enable, w.src);
      if (w.mask) expr(w.mask, w.src);
    }
    for (const r of m.reads) {
      expr(r.addr, r.data.src);
      expr(r.enable, r.data.src);
    }
  }
  // Clock and reset feed registers and submodules, which the expression walk does not see.
  const resetUsed = new Set<unknown>();
  for (const s of b.signals) if (s instanceof Reg && s.options.reset !== undefined) resetUsed.add(s.options.domain);
  for (const i of b.instances) for (const [cd, pd] of i.domains) if (cd.rst) resetUsed.add(pd);
  for (const d of b.domains) {
    if (d.clk) mark(d.clk, 0, 0);
    if (d.rst && resetUsed.has(d)) mark(d.rst, 0, 0);
  }
  // Submodule inputs are read by the submodule.
  for (const inst of b.instances) for (const s of inst.connections.values()) if (s instanceof InstanceInput) mark(s, s.width - 1, 0);
  // Output ports are read by the parent.
  for (const p of b.ports) if (p instanceof OutPort) mark(p, p.width - 1, 0);
  return used;
}

/**
 * Properties and ghosts may read any signal of their module (ghosts included) but nothing of another
 * module. Their reads are not usage: the hardware is the same with or without them, so the emitter's
 * lint waivers must not depend on them.
 */
function checkFormal(def: ModuleDef<unknown>): void {
  const b = def.builder;
  const check = (root: Expr, loc: SourceLoc): void => {
    visitRefs(root, (s) => {
      if (s.owner !== b) {
        throw new ElaborationError(
          `a property of module ${def.verilogName} reads '${s.name}' of module ${s.owner.name}; a module sees only its own signals and the ports of its instances`,
          loc,
        );
      }
    });
  };
  for (const p of b.properties) {
    check(p.cond, p.src);
    check(p.enable, p.src);
  }
  for (const g of b.ghosts) if (g.next) check(g.next, g.src);
}

/** Runs every check and stores the analysis for the emitter. */
export function checkModule(def: ModuleDef<unknown>): ModuleAnalysis {
  checkDrivers(def);
  checkOverlaps(def);
  const deps = combDependencies(def);
  const combPaths = checkLoopsAndPaths(def, deps);
  const groups = groupSignals(def, deps);
  checkLatches(groups);
  checkFormal(def);
  checkCrossings(def, deps);
  const analysis: ModuleAnalysis = { groups, usage: usage(def), combPaths };
  analyses.set(def, analysis);
  return analysis;
}
