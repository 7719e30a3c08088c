/**
 * Where an X on an output comes from: the output's combinational fan-in is followed through the DSL
 * design (across instances) to the state that drives it, registers and memories, and the state that is
 * X in a snapshot of every signal (a VCD written at the end of a 4-state run) is followed back through
 * the next-state logic of registers that have a reset (they can only be X if fed X) until it reaches X
 * state without one: a register never loaded since power-up, or a memory word never written. Those
 * are the sources: where a reset (or a reset sweep) would stop the X.
 */
import { readFile } from 'node:fs/promises';
import type { Expr } from '../generator/dsl/expr.js';
import { children } from '../generator/dsl/expr.js';
import type { Memory, ModuleDef, Stmt } from '../generator/dsl/module.js';
import { analysisOf, project } from '../generator/dsl/passes.js';
import {
  type DrivenSignal,
  InPort,
  InstanceInput,
  InstanceOutput,
  MemoryReadData,
  OutPort,
  Reg,
  type Signal,
  Wire,
} from '../generator/dsl/signal.js';
import { formatLoc } from '../generator/dsl/source.js';

/** Every signal of a VCD at its first time step, by hierarchical path (`tb.dut.u_tx.count`), as bit text. */
export async function readSnapshot(file: string): Promise<Map<string, string>> {
  const text = await readFile(file, 'utf8');
  const end = text.indexOf('$enddefinitions');
  if (end < 0) throw new Error(`${file} is not a VCD file: no $enddefinitions`);
  const byId = new Map<string, string[]>();
  const stack: string[] = [];
  const tokens = text.slice(0, end).split(/\s+/).filter(Boolean);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === '$scope') {
      stack.push(tokens[i + 2] as string);
      i += 3;
    } else if (t === '$upscope') {
      stack.pop();
      i += 1;
    } else if (t === '$var') {
      const id = tokens[i + 3] as string;
      const paths = byId.get(id) ?? [];
      paths.push([...stack, tokens[i + 4]].join('.'));
      byId.set(id, paths);
      while (tokens[i] !== '$end') i++;
    }
  }
  const values = new Map<string, string>();
  let steps = 0;
  for (const raw of text.slice(end).split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') && ++steps > 1) break;
    if (!line || line.startsWith('$') || line.startsWith('#')) continue;
    const [value, id] = line[0] === 'b' ? (line.slice(1).split(/\s+/) as [string, string]) : [line[0] as string, line.slice(1)];
    for (const p of byId.get(id) ?? []) values.set(p, value);
  }
  return values;
}

/** A register, a memory read port's data register, or a memory, at an instance path. */
export interface StateElement {
  /** Instance path from the top, e.g. `u_tx.u_packer` ('' for the top). */
  instance: string;
  name: string;
  kind: 'register' | 'memory read' | 'memory';
  /** The module it is declared in. */
  module: string;
  /** Where the TypeScript made it. */
  source: string;
  /** The register's reset value, or null when it has none (memories have none). */
  reset: bigint | null;
  /** For a memory read: the memory it reads. */
  memory?: string;
}

/** An X output and the X state behind it. */
export interface XOrigin {
  output: string;
  /** X state in the output's combinational fan-in. */
  via: StateElement[];
  /** X state without a reset behind it (reached through X registers that have one): where the X starts. */
  sources: StateElement[];
}

interface Frame {
  def: ModuleDef<unknown>;
  /** Instance names from the top. */
  path: string[];
  parent: Frame | null;
}

type Node = { kind: 'signal'; frame: Frame; signal: Signal } | { kind: 'memory'; frame: Frame; memory: Memory };

function instanceText(f: Frame): string {
  return f.path.join('.');
}

/** Drivers by signal, per module: the statements that assign it (projected out of its group) and its read ports. */
interface ModuleIndex {
  drivers: Map<DrivenSignal, Stmt[]>;
  readPorts: Map<Signal, { memory: Memory; refs: Expr[] }>;
  /** An instance output (parent side) -> the instance and the child's port. */
  outputs: Map<Signal, { inst: string; def: ModuleDef<unknown>; port: string }>;
  instances: Map<string, { def: ModuleDef<unknown>; connections: Map<string, Signal> }>;
}

const indexes = new WeakMap<ModuleDef<unknown>, ModuleIndex>();

function indexOf(def: ModuleDef<unknown>): ModuleIndex {
  let ix = indexes.get(def);
  if (ix) return ix;
  const drivers = new Map<DrivenSignal, Stmt[]>();
  for (const g of analysisOf(def).groups) {
    for (const s of g.signals) drivers.set(s, g.signals.length === 1 ? g.stmts : project(g.stmts, (t) => t === s));
  }
  const readPorts = new Map<Signal, { memory: Memory; refs: Expr[] }>();
  for (const m of def.builder.memories) for (const r of m.reads) readPorts.set(r.data, { memory: m, refs: [r.addr, r.enable] });
  const outputs = new Map<Signal, { inst: string; def: ModuleDef<unknown>; port: string }>();
  const instances = new Map<string, { def: ModuleDef<unknown>; connections: Map<string, Signal> }>();
  for (const i of def.builder.instances) {
    instances.set(i.name, { def: i.def, connections: i.connections });
    for (const [port, s] of i.connections) if (s instanceof InstanceOutput) outputs.set(s, { inst: i.name, def: i.def, port });
  }
  ix = { drivers, readPorts, outputs, instances };
  indexes.set(def, ix);
  return ix;
}

/** Every expression a list of statements reads: values, selection indexes, conditions, switch subjects and labels. */
function stmtExprs(stmts: Stmt[], out: Expr[]): Expr[] {
  for (const st of stmts) {
    if (st.kind === 'assign') {
      out.push(st.value);
      if (st.sel && st.sel.kind !== 'slice') out.push(st.sel.index);
    } else if (st.kind === 'when') {
      for (const b of st.branches) {
        out.push(b.cond);
        stmtExprs(b.body, out);
      }
      if (st.otherwise) stmtExprs(st.otherwise, out);
    } else {
      out.push(st.subject);
      for (const c of st.cases) {
        out.push(...c.values);
        stmtExprs(c.body, out);
      }
      if (st.default) stmtExprs(st.default, out);
    }
  }
  return out;
}

/** The signals and memories (asynchronous reads) an expression reads. */
function exprReads(roots: Expr[], frame: Frame, out: Node[]): void {
  const todo = [...roots];
  const seen = new Set<Expr>();
  while (todo.length) {
    const e = todo.pop() as Expr;
    if (seen.has(e)) continue;
    seen.add(e);
    if (e.op.kind === 'ref') out.push({ kind: 'signal', frame, signal: e as Signal });
    else if (e.op.kind === 'memread') {
      const ref = e.op.mem;
      // The expression names the memory by its interface; the module holds the memory itself.
      const memory = frame.def.builder.memories.find((m) => m === ref);
      if (memory) out.push({ kind: 'memory', frame, memory });
    }
    for (const c of children(e.op)) todo.push(c);
  }
}

function childFrame(frame: Frame, inst: string): Frame {
  const i = indexOf(frame.def).instances.get(inst);
  if (!i) throw new Error(`no instance ${inst} in ${frame.def.verilogName}`);
  return { def: i.def, path: [...frame.path, inst], parent: frame };
}

function stateOf(node: Node): StateElement {
  const instance = instanceText(node.frame);
  const module = node.frame.def.verilogName;
  if (node.kind === 'memory') {
    return { instance, name: node.memory.name, kind: 'memory', module, source: formatLoc(node.memory.src), reset: null };
  }
  const s = node.signal;
  const el: StateElement = { instance, name: s.name, kind: 'register', module, source: formatLoc(s.src), reset: s.options.reset ?? null };
  const port = indexOf(node.frame.def).readPorts.get(s);
  return port ? { ...el, kind: 'memory read', memory: port.memory.name } : el;
}

function keyOf(node: Node): string {
  const name = node.kind === 'memory' ? `${node.memory.name}[]` : node.signal.name;
  return [...node.frame.path, name].join('.');
}

/**
 * The state elements in the combinational fan-in of some reads: followed through wires, output ports,
 * submodule inputs and outputs, and up through input ports to the parent; stopping at registers, memory
 * read data, memories read asynchronously, and the top's inputs.
 */
function stateCone(start: Node[]): Node[] {
  const found = new Map<string, Node>();
  const visited = new Set<string>();
  const todo = [...start];
  while (todo.length) {
    const n = todo.pop() as Node;
    const key = keyOf(n);
    if (visited.has(key)) continue;
    visited.add(key);
    if (n.kind === 'memory') {
      found.set(key, n);
      continue;
    }
    const { frame, signal: s } = n;
    if (s instanceof Reg || s instanceof MemoryReadData) {
      found.set(key, n);
    } else if (s instanceof InPort) {
      const parent = frame.parent;
      // The top's inputs are driven by the bench; clock and reset come straight from the top.
      if (!parent || frame.def.builder.clockResetPorts().includes(s)) continue;
      const inst = frame.path[frame.path.length - 1] as string;
      const conn = indexOf(parent.def).instances.get(inst)?.connections.get(s.name);
      if (conn) todo.push({ kind: 'signal', frame: parent, signal: conn });
    } else if (s instanceof InstanceOutput) {
      const o = indexOf(frame.def).outputs.get(s);
      if (!o) continue;
      const child = childFrame(frame, o.inst);
      const port = o.def.builder.ports.find((p) => p.name === o.port);
      if (port) todo.push({ kind: 'signal', frame: child, signal: port });
    } else if (s instanceof Wire || s instanceof OutPort || s instanceof InstanceInput) {
      const stmts = indexOf(frame.def).drivers.get(s);
      if (stmts) {
        const reads: Node[] = [];
        exprReads(stmtExprs(stmts, []), frame, reads);
        todo.push(...reads);
      }
    }
  }
  return [...found.values()];
}

/** What a state element's next value is computed from (a memory: its contents, which are not followed). */
function feeders(n: Node): Node[] {
  if (n.kind === 'memory') return [];
  const ix = indexOf(n.frame.def);
  const reads: Node[] = [];
  const port = ix.readPorts.get(n.signal);
  if (port) {
    exprReads(port.refs, n.frame, reads);
    reads.push({ kind: 'memory', frame: n.frame, memory: port.memory });
  } else {
    const stmts = ix.drivers.get(n.signal as DrivenSignal);
    if (stmts) exprReads(stmtExprs(stmts, []), n.frame, reads);
  }
  const self = keyOf(n);
  return stateCone(reads).filter((f) => keyOf(f) !== self);
}

/**
 * For each X output of `top`, the X state behind it. `snapshot` holds every signal's value (from
 * `readSnapshot`), `prefix` is the top's instance path in it (e.g. `tb_cdna_nic.dut`). A memory's
 * contents are not in the snapshot: a memory counts as X when a read of it is.
 */
export function traceX(top: ModuleDef<unknown>, outputs: string[], snapshot: Map<string, string>, prefix: string): XOrigin[] {
  const root: Frame = { def: top, path: [], parent: null };
  const isX = (n: Node): boolean => {
    if (n.kind === 'memory') return true;
    const v = snapshot.get([prefix, ...n.frame.path, n.signal.name].join('.'));
    return v !== undefined && /[xz]/i.test(v);
  };
  const result: XOrigin[] = [];
  for (const name of outputs) {
    const port = top.builder.ports.find((p) => p.name === name);
    if (!port) throw new Error(`${top.verilogName} has no output ${name}`);
    const via = stateCone([{ kind: 'signal', frame: root, signal: port }]).filter(isX);
    const sources = new Map<string, StateElement>();
    for (const v of via) {
      // Depth-first through X feeders. X state without a reset is a source (never loaded since
      // power-up, or loaded with X: either way it is where a reset would stop it); X state with a reset
      // got it from its feeders.
      const stack: Node[] = [v];
      const seen = new Set<string>();
      while (stack.length) {
        const n = stack.pop() as Node;
        const key = keyOf(n);
        if (seen.has(key)) continue;
        seen.add(key);
        const add = (e: StateElement): void => {
          sources.set(`${e.instance}.${e.name}`, e);
        };
        if (n.kind === 'memory') add(stateOf(n));
        else if (n.signal instanceof MemoryReadData) {
          // X read data with a defined address and enable: never read since power-up, or read a word
          // never written (the snapshot cannot tell which); with an X address, the address is to blame.
          const address = feeders(n).filter((f) => f.kind !== 'memory' && isX(f));
          if (address.length) stack.push(...address);
          else add(stateOf(n));
        } else if (n.signal.options.reset === undefined) add(stateOf(n));
        else stack.push(...feeders(n).filter(isX));
      }
    }
    result.push({ output: name, via: via.map(stateOf), sources: [...sources.values()] });
  }
  return result;
}

/** One line per state element: `u_tx.fetch_ring_rd (memory read, no reset, hdl/nic/txEngine.ts:301)`. */
export function describeState(s: StateElement): string {
  const where = s.instance ? `${s.instance}.${s.name}` : s.name;
  const what =
    s.kind === 'memory'
      ? 'memory, no reset: a word never written'
      : s.kind === 'memory read'
        ? `read data of memory ${s.memory}, no reset: never read since power-up, or a word never written`
        : s.reset === null
          ? 'register, no reset'
          : `register, reset to ${s.reset}`;
  return `${where} (${what}; module ${s.module.replace(/__.*/, '')}, ${s.source})`;
}

/**
 * The X outputs of a reset-and-idle run with where each X comes from, outputs with the same sources
 * grouped (a bus's payload fields usually share theirs).
 */
export function describeXOutputs(
  xPorts: readonly { name: string; first: number; last: number; cycles: number; value: string }[],
  origins: readonly XOrigin[],
): string[] {
  const groups = new Map<string, { outputs: string[]; sources: StateElement[] }>();
  for (const p of xPorts) {
    const o = origins.find((x) => x.output === p.name);
    const sources = o?.sources ?? [];
    const key = sources.map((s) => `${s.instance}.${s.name}`).join('|');
    const g = groups.get(key) ?? { outputs: [], sources };
    g.outputs.push(`${p.name} (X on ${p.cycles} cycles from ${p.first} to ${p.last}, first ${p.value})`);
    groups.set(key, g);
  }
  const lines: string[] = [];
  for (const g of groups.values()) {
    lines.push(...g.outputs.map((o) => `  ${o}`));
    if (g.sources.length === 0) lines.push('    from: no X state found in its fan-in (an X from a top input?)');
    else lines.push(...g.sources.map((s, i) => `    ${i === 0 ? 'from: ' : '      '}${describeState(s)}`));
  }
  return lines;
}
