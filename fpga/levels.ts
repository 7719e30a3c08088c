/**
 * Timing without a vendor tool: the longest register-to-register path of a mapped ECP5 netlist
 * (Yosys JSON after `synth_ecp5`), counted in LUT levels, per clock domain and per block, with the
 * signal names along it and the TypeScript line each name comes from.
 *
 * What counts as a level: a LUT4; entering a carry chain (CCU2C) at a data input; the read port of
 * a LUT RAM (TRELLIS_DPR16X4, RAD to DO). Free: the slice's wide-function muxes (PFUMX, L6MUX21, a
 * few hundred ps) and carry propagation (CIN to COUT/S). Paths start at flip-flop outputs, block RAM
 * outputs and the module's inputs, and end at flip-flop, block RAM and LUT-RAM-write inputs and the
 * module's outputs.
 */

export interface PathStep {
  /** The net's name (`u_rx.tail_ctx[1]`), or `$n<bit>` for a net with no name left. */
  net: string;
  /** Levels from the path's start up to this net. */
  level: number;
  /** The cell that drives the net (LUT4, CCU2C, ...; `input`/`FF` at the start). */
  via: string;
  /** The TypeScript line the name comes from, when the emitted Verilog says. */
  src?: string;
}

export interface LevelPath {
  levels: number;
  /** The clock of the end point (its flip-flop's or RAM's clock net), or `(output)` for a module output. */
  clock: string;
  /** The block the end point is in: the first instance name of its path, or `(top)`. */
  block: string;
  steps: PathStep[];
}

export interface LevelReport {
  /** The longest path ending in each clock domain (and at outputs). */
  byClock: LevelPath[];
  /** The longest path ending in each block. */
  byBlock: LevelPath[];
  /** Combinational loops broken to finish the count (none in a good design). */
  loops: number;
  /** Every end signal (a register, a RAM input, an output) reached by a path deeper than `over`, deepest first: the work list. */
  over: LevelPath[];
  /** The depth `over` lists paths beyond (the target: 8 LUT levels unless asked otherwise). */
  overLevels: number;
}

interface JsonCell {
  type: string;
  port_directions: Record<string, 'input' | 'output' | 'inout'>;
  connections: Record<string, (number | string)[]>;
}

interface JsonModule {
  ports: Record<string, { direction: string; bits: (number | string)[] }>;
  cells: Record<string, JsonCell>;
  netnames: Record<string, { hide_name: number; bits: (number | string)[] }>;
}

/** Cells whose outputs start a path and whose inputs end one, with the input naming their clock. */
const sequential: Record<string, string> = { TRELLIS_FF: 'CLK', DP16KD: 'CLKA', PDPW16KD: 'CLKW' };

/** For a combinational cell output, the inputs it depends on and the levels it adds from each. */
function arcs(cell: JsonCell, out: string): { port: string; weight: number }[] {
  const ins = Object.keys(cell.port_directions).filter((p) => cell.port_directions[p] === 'input');
  switch (cell.type) {
    case 'LUT4':
      return ins.map((port) => ({ port, weight: 1 }));
    case 'CCU2C':
      return ins.map((port) => ({ port, weight: port === 'CIN' ? 0 : 1 }));
    case 'TRELLIS_DPR16X4':
      return out.startsWith('DO') ? ins.filter((p) => p.startsWith('RAD')).map((port) => ({ port, weight: 1 })) : [];
    case 'PFUMX':
    case 'L6MUX21':
      return ins.map((port) => ({ port, weight: 0 }));
    default:
      // Anything else (a cell this count does not know) is taken as one level from every input.
      return ins.map((port) => ({ port, weight: 1 }));
  }
}

/** The input ports of a cell that end a path (all inputs of sequential cells, the write side of LUT RAM). */
function sinkPorts(cell: JsonCell): string[] {
  const ins = Object.keys(cell.port_directions).filter((p) => cell.port_directions[p] === 'input');
  if (cell.type in sequential) return ins.filter((p) => !/^CLK/.test(p));
  if (cell.type === 'TRELLIS_DPR16X4') return ins.filter((p) => /^(DI|WAD|WRE)/.test(p));
  return [];
}

function clockOf(cell: JsonCell, names: Map<number, string>): string {
  const port = cell.type === 'TRELLIS_DPR16X4' ? 'WCK' : (sequential[cell.type] ?? 'CLK');
  const bit = cell.connections[port]?.[0];
  return typeof bit === 'number' ? (names.get(bit) ?? `$n${bit}`) : 'const';
}

/** yosys' autoname makes `<signal>_LUT4_Z_D...` names for nets it maps; the signal is the part before. */
const autonamed = /_(LUT4|CCU2C|PFUMX|L6MUX21|TRELLIS_[A-Z0-9]+|DP16KD)_.*$/;

/** The signal a net name stands for: itself, or the signal an autoname was made from (marked `~`). */
export function signalOf(net: string): string {
  const m = autonamed.exec(net);
  return m ? `${net.slice(0, m.index)}~` : net;
}

/** Best name of each net bit: a public name over a generated one, then one autoname did not make, then the shortest. */
function netNames(m: JsonModule): Map<number, string> {
  const best = new Map<number, { name: string; hidden: number }>();
  for (const [name, n] of Object.entries(m.netnames)) {
    n.bits.forEach((b, i) => {
      if (typeof b !== 'number') return;
      const label = n.bits.length === 1 ? name : `${name}[${i}]`;
      const prev = best.get(b);
      const rank = n.hide_name * 2 + (autonamed.test(name) ? 1 : 0);
      if (!prev || rank < prev.hidden || (rank === prev.hidden && label.length < prev.name.length)) {
        best.set(b, { name: label, hidden: rank });
      }
    });
  }
  return new Map([...best].map(([b, v]) => [b, v.name]));
}

/** Where each signal comes from in TypeScript, from the `// file:line` comments of emitted Verilog. */
export function sourceMap(verilog: Record<string, string>, top: string): (net: string) => string | undefined {
  const decls = new Map<string, Map<string, string>>();
  const insts = new Map<string, Map<string, string>>();
  for (const text of Object.values(verilog)) {
    const mod = /^module (\w+)/m.exec(text)?.[1];
    if (!mod) continue;
    const d = new Map<string, string>();
    const i = new Map<string, string>();
    for (const line of text.split('\n')) {
      const loc = /\/\/ (\S+:\d+)/.exec(line)?.[1];
      if (!loc) continue;
      const assign = /^\s*assign (\w+)/.exec(line);
      const decl = /^\s*(?:output |input )?(?:reg|wire)\s+(?:signed\s+)?(?:\[\d+:\d+\]\s+)?(\w+)/.exec(line);
      const inst = /^\s*(\w+) (\w+) \($/.exec(line.replace(/\s*\/\/.*$/, ''));
      // A statement's line says more than a declaration's.
      if (assign) d.set(assign[1] as string, loc);
      else if (decl && !d.has(decl[1] as string)) d.set(decl[1] as string, loc);
      else if (inst) i.set(inst[2] as string, inst[1] as string);
    }
    decls.set(mod, d);
    insts.set(mod, i);
  }
  return (net) => {
    const parts = net.replace(/\[\d+\]$/, '').split('.');
    let mod = top;
    for (const p of parts.slice(0, -1)) {
      const next = insts.get(mod)?.get(p);
      if (!next) return undefined;
      mod = next;
    }
    const last = parts.at(-1) as string;
    return decls.get(mod)?.get(last) ?? decls.get(mod)?.get(last.replace(/_t\d*$/, ''));
  };
}

/**
 * Counts the LUT levels of module `top` of a Yosys JSON netlist; `src` maps names to TypeScript lines.
 * `over` (default 8, what 125 MHz needs on an ECP5): paths deeper than this are listed, one per end signal.
 */
export function lutLevels(netlistJson: string, top: string, src?: (net: string) => string | undefined, over = 8): LevelReport {
  const netlist = JSON.parse(netlistJson) as { modules: Record<string, JsonModule> };
  const m = netlist.modules[top];
  if (!m) throw new Error(`lutLevels: no module '${top}' in the netlist; it has ${Object.keys(netlist.modules).join(', ')}`);
  const names = netNames(m);
  const name = (b: number): string => names.get(b) ?? `$n${b}`;
  // Each bit's driver: a combinational cell output, or a start point (level 0).
  const driver = new Map<number, { cell: JsonCell; port: string } | 'start'>();
  for (const p of Object.values(m.ports))
    if (p.direction === 'input') for (const b of p.bits) if (typeof b === 'number') driver.set(b, 'start');
  for (const cell of Object.values(m.cells)) {
    for (const [port, dir] of Object.entries(cell.port_directions)) {
      if (dir !== 'output') continue;
      for (const b of cell.connections[port] ?? []) {
        if (typeof b !== 'number') continue;
        driver.set(b, cell.type in sequential ? 'start' : { cell, port });
      }
    }
  }
  const level = new Map<number, number>();
  const pred = new Map<number, number>();
  let loops = 0;
  const onStack = new Set<number>();
  // Iterative depth-first evaluation: carry chains and mux chains are thousands of cells deep.
  const evaluate = (root: number): number => {
    const stack: number[] = [root];
    while (stack.length) {
      const b = stack[stack.length - 1] as number;
      if (level.has(b)) {
        stack.pop();
        continue;
      }
      const d = driver.get(b);
      if (!d || d === 'start') {
        level.set(b, 0);
        stack.pop();
        continue;
      }
      const deps = arcs(d.cell, d.port);
      const pending = deps.flatMap(({ port }) =>
        (d.cell.connections[port] ?? []).filter((x): x is number => typeof x === 'number' && !level.has(x)),
      );
      const fresh = pending.filter((x) => !onStack.has(x));
      if (pending.length > fresh.length) loops++;
      if (fresh.length && !onStack.has(b)) {
        onStack.add(b);
        stack.push(...fresh);
        continue;
      }
      let best = 0;
      let from: number | undefined;
      for (const { port, weight } of deps) {
        for (const x of d.cell.connections[port] ?? []) {
          if (typeof x !== 'number') continue;
          const l = (level.get(x) ?? 0) + weight;
          if (l > best || from === undefined) {
            best = Math.max(best, l);
            from = x;
          }
        }
      }
      level.set(b, best);
      if (from !== undefined) pred.set(b, from);
      onStack.delete(b);
      stack.pop();
    }
    return level.get(root) ?? 0;
  };
  const pathTo = (b: number): PathStep[] => {
    const steps: PathStep[] = [];
    for (let at: number | undefined = b; at !== undefined; at = pred.get(at)) {
      const d = driver.get(at);
      const net = signalOf(name(at));
      const s = src?.(net.replace(/~$/, ''));
      steps.push({ net, level: level.get(at) ?? 0, via: !d || d === 'start' ? 'start' : d.cell.type, ...(s ? { src: s } : {}) });
      if (steps.length > 10_000) break;
    }
    return steps.reverse();
  };
  const blockOf = (endName: string): string => (endName.includes('.') ? (endName.split('.')[0] as string) : '(top)');
  const pathEnding = (bit: number, levels: number, clock: string, endName: string): LevelPath => {
    const steps = pathTo(bit);
    steps.push({ net: endName, level: levels, via: 'end' });
    return { levels, clock, block: blockOf(endName), steps };
  };
  const byClock = new Map<string, LevelPath>();
  const byBlock = new Map<string, LevelPath>();
  // The deepest bit ending in each end signal (its bits and their cells merge into one entry).
  const byEnd = new Map<string, { levels: number; bit: number; clock: string; endName: string }>();
  const consider = (bit: number, clock: string, endName: string): void => {
    const l = evaluate(bit);
    if (l > over) {
      const sig = signalOf(endName)
        .replace(/~$/, '')
        .replace(/\[\d+\]$/, '');
      const seen = byEnd.get(sig);
      if (!seen || l > seen.levels) byEnd.set(sig, { levels: l, bit, clock, endName });
    }
    const block = blockOf(endName);
    const better = (p: LevelPath | undefined) => !p || l > p.levels;
    if (!better(byClock.get(clock)) && !better(byBlock.get(block))) return;
    const path = pathEnding(bit, l, clock, endName);
    if (better(byClock.get(clock))) byClock.set(clock, path);
    if (better(byBlock.get(block))) byBlock.set(block, { ...path, block });
  };
  for (const cell of Object.values(m.cells)) {
    const ports = sinkPorts(cell);
    if (!ports.length) continue;
    const clock = clockOf(cell, names);
    const q = cell.connections.Q?.[0];
    for (const port of ports) {
      for (const b of cell.connections[port] ?? []) {
        if (typeof b !== 'number') continue;
        // A flip-flop's end point is the register it loads; a RAM's, its input net.
        const endName = typeof q === 'number' ? name(q) : name(b);
        consider(b, clock, endName);
      }
    }
  }
  for (const [pname, p] of Object.entries(m.ports)) {
    if (p.direction !== 'output') continue;
    for (const b of p.bits) if (typeof b === 'number') consider(b, '(output)', pname);
  }
  const sorted = (x: Map<string, LevelPath>) => [...x.values()].sort((a, b) => b.levels - a.levels);
  const overPaths = [...byEnd.values()]
    .sort((a, b) => b.levels - a.levels || a.endName.localeCompare(b.endName))
    .map(({ levels, bit, clock, endName }) => pathEnding(bit, levels, clock, endName));
  return { byClock: sorted(byClock), byBlock: sorted(byBlock), loops, over: overPaths, overLevels: over };
}

/** One path as lines for the report: each net with its level and source line, at most `max` of them. */
export function formatPath(p: LevelPath, max = 12): string[] {
  // One line per signal: consecutive nets of one signal (its bits, the cells autoname named after it) merge.
  const named = p.steps.filter((s, i) => i === 0 || i === p.steps.length - 1 || (!s.net.startsWith('$') && s.net !== p.steps[i + 1]?.net));
  const shown = named.length > max ? [...named.slice(0, max / 2), null, ...named.slice(-max / 2)] : named;
  return shown.map((s) => (s ? `      ${String(s.level).padStart(3)}  ${s.net}${s.src ? `  (${s.src})` : ''}` : '      ...'));
}
