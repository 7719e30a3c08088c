/**
 * The clock-domain crossing check. Every signal gets the set of clock domains whose registers (or
 * memory read ports) feed it through combinational logic, and the input ports that do; a register of
 * domain B that reads a signal of domain A is an error unless it is the first flop of a synchronizer
 * (`{ synchronizer: 'first' }`, what the library synchronizers use). The same holds for memory ports,
 * for the inputs of submodules (through a summary of which of the child's domains sample each input)
 * and for a memory written in one domain and read in another, unless it is marked `dualClock`.
 *
 * Each module leaves a summary for its parents: which of its domains sample each input port, and which
 * drive each output port. Sets are bit masks over the module's domains and input ports, so the check is
 * linear in the design's size.
 */
import type { ClockDomain } from './domain.js';
import { ElaborationError } from './errors.js';
import { children, type Expr, type MemoryRef } from './expr.js';
import type { Memory, ModuleDef } from './module.js';
import { forEachAssign, type Guards, isComb } from './passes.js';
import { InPort, InstanceInput, InstanceOutput, MemoryReadData, OutPort, Reg, type Signal } from './signal.js';
import type { SourceLoc } from './source.js';

export interface CrossingSummary {
  /** For each input port, the module's domains whose registers sample it (not counting synchronizers). */
  sinks: Map<string, Set<ClockDomain>>;
  /** For each output port, the module's domains whose registers drive it. */
  sources: Map<string, Set<ClockDomain>>;
}

const summaries = new WeakMap<ModuleDef<unknown>, CrossingSummary>();

/** The crossing summary of a checked module. */
export function crossingSummaryOf(def: ModuleDef<unknown>): CrossingSummary {
  const s = summaries.get(def);
  if (!s) throw new Error(`module ${def.verilogName} was not checked`);
  return s;
}

const libraryHint =
  'a signal crosses between clock domains only through a synchronizer: syncBit, pulseSync, handshakeSync, asyncFifo or packetFifo of generator/lib';

/** Calls `onSignal` for every signal and `onMemory` for every memory an expression reads combinationally. */
function readsOf(root: Expr, onSignal: (s: Signal) => void, onMemory: (m: MemoryRef) => void): void {
  const todo: Expr[] = [root];
  while (todo.length) {
    const e = todo.pop() as Expr;
    const op = e.op;
    if (op.kind === 'ref') onSignal(e as Signal);
    else {
      if (op.kind === 'memread') onMemory(op.mem);
      for (const c of children(op)) todo.push(c);
    }
  }
}

/** Runs the crossing check on a module whose other checks passed; `deps` are its combinational dependencies. */
export function checkCrossings(def: ModuleDef<unknown>, deps: Map<Signal, Set<Signal>>): CrossingSummary {
  const b = def.builder;
  const domainBit = new Map<ClockDomain, bigint>(b.domains.map((d, i) => [d, 1n << BigInt(i)]));
  const clockPorts = new Set<Signal>(b.clockResetPorts());
  const inputs = b.ports.filter((p): p is InPort => p instanceof InPort && !clockPorts.has(p));
  const inputBit = new Map<Signal, bigint>(inputs.map((p, i) => [p, 1n << BigInt(b.domains.length + i)]));
  const domainMask = (1n << BigInt(b.domains.length)) - 1n;
  const bitOf = (d: ClockDomain | undefined): bigint => (d ? (domainBit.get(d) ?? 0n) : 0n);

  const memoryBits = (m: MemoryRef): bigint => {
    const mem = m as Memory;
    if (mem.dualClock) return 0n;
    let bits = 0n;
    for (const w of mem.writes ?? []) bits |= bitOf(w.domain);
    return bits;
  };
  // Where a combinational signal reads a memory asynchronously: the domains its words come from.
  const memReads = new Map<Signal, bigint>();
  forEachAssign(b.body, (st) => {
    if (!isComb(st.target)) return;
    readsOf(
      st.value,
      () => {},
      (m) => memReads.set(st.target, (memReads.get(st.target) ?? 0n) | memoryBits(m)),
    );
  });
  const instanceOf = new Map<Signal, { inst: (typeof b.instances)[number]; port: string }>();
  for (const inst of b.instances) for (const [port, s] of inst.connections) instanceOf.set(s, { inst, port });

  /** What a signal brings by itself: its register's domain, an input port, a submodule output's domains. */
  const own = (s: Signal): bigint => {
    if (s instanceof Reg || s instanceof MemoryReadData) return bitOf(s.options.domain ?? b.defaultDomain);
    if (s instanceof InPort) return inputBit.get(s) ?? 0n;
    if (s instanceof InstanceOutput) {
      const at = instanceOf.get(s);
      if (!at) return 0n;
      let bits = 0n;
      for (const cd of crossingSummaryOf(at.inst.def).sources.get(at.port) ?? []) bits |= bitOf(at.inst.domains.get(cd));
      return bits;
    }
    return memReads.get(s) ?? 0n;
  };

  // Sources of every signal: its own, and those of what it reads combinationally (an iterative
  // post-order walk; the loop check has passed, so the graph is acyclic).
  const sources = new Map<Signal, bigint>();
  const sourcesOf = (root: Signal): bigint => {
    const known = sources.get(root);
    if (known !== undefined) return known;
    const stack: { s: Signal; next: Iterator<Signal> }[] = [{ s: root, next: (deps.get(root) ?? new Set<Signal>()).values() }];
    while (stack.length) {
      const top = stack[stack.length - 1] as { s: Signal; next: Iterator<Signal> };
      const step = top.next.next();
      if (!step.done) {
        const d = step.value;
        if (!sources.has(d)) stack.push({ s: d, next: (deps.get(d) ?? new Set<Signal>()).values() });
        continue;
      }
      let bits = own(top.s);
      for (const d of deps.get(top.s) ?? []) bits |= sources.get(d) ?? 0n;
      sources.set(top.s, bits);
      stack.pop();
    }
    return sources.get(root) as bigint;
  };

  /** The signal in the fan-in of `s` that brings domain `d`, for the message. */
  const origin = (s: Signal, d: ClockDomain): Signal => {
    const bit = bitOf(d);
    const seen = new Set<Signal>();
    const todo = [s];
    while (todo.length) {
      const x = todo.pop() as Signal;
      if (seen.has(x)) continue;
      seen.add(x);
      if (own(x) & bit) return x;
      for (const y of deps.get(x) ?? []) if (sourcesOf(y) & bit) todo.push(y);
    }
    return s;
  };
  const describeOrigin = (x: Signal, d: ClockDomain): string => {
    if (x instanceof InstanceOutput) {
      const at = instanceOf.get(x);
      return `'${x.name}', an output of instance '${at?.inst.name ?? '?'}' driven from clock domain '${d.name}'`;
    }
    if (x instanceof MemoryReadData) return `'${x.name}', a memory read port of clock domain '${d.name}'`;
    if (x instanceof Reg) return `register '${x.name}' of clock domain '${d.name}'`;
    return `'${x.name}', which reads a memory written in clock domain '${d.name}'`;
  };

  const sinks = new Map<string, Set<ClockDomain>>(inputs.map((p) => [p.name, new Set()]));
  const domainNamed = (bits: bigint): ClockDomain[] => b.domains.filter((d) => (bitOf(d) & bits) !== 0n);

  /**
   * A reader in domain `d` of the signals `read` (and the memories `mems`): any other domain in their
   * sources is an error at `loc`; input ports in them are sampled in `d`, which the summary records.
   */
  const sample = (d: ClockDomain, reader: string, read: Iterable<Signal>, memBits: bigint, loc: SourceLoc): void => {
    const mine = bitOf(d);
    for (const s of read) {
      const bits = sourcesOf(s);
      const foreign = bits & domainMask & ~mine;
      if (foreign) {
        const other = domainNamed(foreign)[0] as ClockDomain;
        const from = origin(s, other);
        const via =
          from !== s ? ` (through ${describeOrigin(from, other)})` : from instanceof Reg ? '' : ` (${describeOrigin(from, other)})`;
        throw new ElaborationError(
          `clock domain crossing in module ${def.verilogName}: ${reader} of clock domain '${d.name}' reads '${s.name}', which comes from clock domain '${other.name}'${via}; ${libraryHint}`,
          loc,
          [{ what: `'${from.name}' (clock domain '${other.name}') made`, loc: from.src }],
        );
      }
      for (const p of inputs) if (bits & (inputBit.get(p) as bigint)) sinks.get(p.name)?.add(d);
    }
    const foreignMem = memBits & ~mine;
    if (foreignMem) {
      const other = domainNamed(foreignMem)[0] as ClockDomain;
      throw new ElaborationError(
        `clock domain crossing in module ${def.verilogName}: ${reader} of clock domain '${d.name}' reads a memory written in clock domain '${other.name}'; ${libraryHint} (or a memory declared dualClock, when the design guarantees no word is read while it changes)`,
        loc,
      );
    }
  };
  const collect = (exprs: (Expr | null | undefined)[], guards: Guards | null): { read: Set<Signal>; mem: bigint } => {
    const read = new Set<Signal>(guards ? guards.refs() : []);
    let mem = 0n;
    for (const e of exprs) {
      if (e)
        readsOf(
          e,
          (s) => read.add(s),
          (m) => {
            mem |= memoryBits(m);
          },
        );
    }
    return { read, mem };
  };

  forEachAssign(b.body, (st, guards) => {
    const r = st.target;
    if (!(r instanceof Reg) || r.options.synchronizer === 'first' || r.options.synchronizer === 'capture') return;
    const { read, mem } = collect([st.value, st.sel && st.sel.kind !== 'slice' ? st.sel.index : null], guards);
    sample(r.options.domain ?? b.defaultDomain, `register '${r.name}'`, read, mem, st.src);
  });
  for (const m of b.memories) {
    for (const w of m.writes) {
      const { read, mem } = collect([w.addr, w.data, w.enable, w.mask], null);
      sample(w.domain, `a write port of memory '${m.name}'`, read, mem, w.src);
    }
    for (const r of m.reads) {
      const d = r.data.options.domain ?? b.defaultDomain;
      const { read, mem } = collect([r.addr, r.enable], null);
      sample(d, `read port '${r.data.name}' of memory '${m.name}'`, read, mem | memoryBits(m), r.data.src);
    }
  }
  for (const inst of b.instances) {
    const child = crossingSummaryOf(inst.def);
    for (const [port, s] of inst.connections) {
      if (!(s instanceof InstanceInput)) continue;
      for (const cd of child.sinks.get(port) ?? []) {
        const pd = inst.domains.get(cd);
        if (pd)
          sample(
            pd,
            `instance '${inst.name}' (${inst.def.verilogName}, its domain '${cd.name}' samples input '${port}')`,
            [s],
            0n,
            inst.src,
          );
      }
    }
  }
  const outSources = new Map<string, Set<ClockDomain>>();
  for (const p of b.ports) {
    if (!(p instanceof OutPort)) continue;
    const bits = sourcesOf(p) & domainMask;
    if (bits) outSources.set(p.name, new Set(domainNamed(bits)));
  }
  const summary: CrossingSummary = { sinks, sources: outSources };
  summaries.set(def, summary);
  return summary;
}
