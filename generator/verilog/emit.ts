/**
 * The Verilog-2005 emitter: one file per distinct module, names from the source, sized literals, one
 * always block per register group, localparams for named states. Output is deterministic.
 */
import { ElaborationError } from '../dsl/errors.js';
import type { Expr } from '../dsl/expr.js';
import type { Memory, ModuleDef, Stmt } from '../dsl/module.js';
import { analysisOf, type ModuleAnalysis, project, type SignalGroup } from '../dsl/passes.js';
import {
  type DrivenSignal,
  InPort,
  InstanceInput,
  InstanceOutput,
  MemoryReadData,
  OutPort,
  Reg,
  type Selection,
  type Signal,
} from '../dsl/signal.js';
import { formatLoc } from '../dsl/source.js';

export interface EmittedModule {
  name: string;
  fileName: string;
  text: string;
}

function range(width: number): string {
  return width === 1 ? '' : `[${width - 1}:0] `;
}

function litText(value: bigint, width: number, signed: boolean): string {
  let v = value;
  if (v < 0n) v = (1n << BigInt(width)) + v;
  const body = width <= 32 ? `${width}'d${v.toString(10)}` : `${width}'h${v.toString(16)}`;
  return signed ? `$signed(${body})` : body;
}

function describeBits(mask: bigint, width: number): string {
  const parts: string[] = [];
  let i = 0;
  while (i < width) {
    if ((mask >> BigInt(i)) & 1n) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < width && !((mask >> BigInt(j + 1)) & 1n)) j++;
    parts.push(i === j ? `${i}` : `${j}:${i}`);
    i = j + 1;
  }
  return parts.reverse().join(', ');
}

class ModuleEmitter {
  private readonly decls: string[] = [];
  private readonly body: string[] = [];
  private readonly temps = new Map<Expr, string>();
  private readonly usedNames: Set<string>;
  private readonly usedParams = new Set<string>();
  private readonly a: ModuleAnalysis;
  private tempBase = 'expr';

  constructor(private readonly def: ModuleDef<unknown>) {
    this.a = analysisOf(def);
    this.usedNames = new Set(def.builder.localNames.keys());
  }

  // ---- expressions ----

  private temp(e: Expr, partial = false): string {
    const known = this.temps.get(e);
    if (known) return known;
    let n = 0;
    let name = `${this.tempBase}_t`;
    while (this.usedNames.has(name)) name = `${this.tempBase}_t${++n}`;
    this.usedNames.add(name);
    const value = this.expr(e, true);
    const decl = `  wire ${e.type.signed ? 'signed ' : ''}${range(e.width)}${name} = ${value};`;
    if (partial) {
      // Verilog-2005 cannot slice an expression, so the whole value gets a name and only a part is read.
      this.decls.push('  // verilator lint_off UNUSEDSIGNAL', `${decl}  // only some bits are read`, '  // verilator lint_on UNUSEDSIGNAL');
    } else this.decls.push(decl);
    this.temps.set(e, name);
    return name;
  }

  /** A name for e: itself when it is a signal, else a temporary wire named after what it feeds. */
  private named(e: Expr, partial = false): string {
    if (e.op.kind === 'ref') return (e as Signal).name;
    return this.temp(e, partial);
  }

  private extend(e: Expr, width: number): string {
    const inner = this.expr(e, false);
    const k = width - e.width;
    if (k === 0) return inner;
    if (e.type.signed) {
      const n = this.named(e);
      const msb = e.width === 1 ? n : `${n}[${e.width - 1}]`;
      return `$signed({{${k}{${msb}}}, ${n}})`;
    }
    return k === 1 ? `{1'b0, ${inner}}` : `{${k}'d0, ${inner}}`;
  }

  private select(base: Expr, sel: Selection | { kind: 'slice'; hi: number; lo: number }): string {
    const n = this.named(base, true);
    if (sel.kind === 'slice') {
      if (base.width === 1) return n;
      return sel.hi === sel.lo ? `${n}[${sel.hi}]` : `${n}[${sel.hi}:${sel.lo}]`;
    }
    if (base.width === 1) return n;
    if (sel.kind === 'index') return `${n}[${this.indexText(sel.index, base.width)}]`;
    const count = base.width / sel.size;
    const idx = this.indexText(sel.index, count);
    const shift = Math.log2(sel.size);
    const start = Number.isInteger(shift) ? (shift === 0 ? idx : `{${idx}, ${shift}'d0}`) : `${idx} * ${sel.size}`;
    return `${n}[${start} +: ${sel.size}]`;
  }

  /** An index zero-extended to exactly the bits that address `count` positions. */
  private indexText(index: Expr, count: number): string {
    let needed = 0;
    while (1 << needed < count) needed++;
    return this.extend(index, Math.max(needed, index.width));
  }

  expr(e: Expr, top = false): string {
    const wrap = (s: string): string => (top ? s : `(${s})`);
    const op = e.op;
    switch (op.kind) {
      case 'lit':
        if (op.name) {
          this.usedParams.add(op.name);
          return op.name;
        }
        return litText(op.value, e.width, e.type.signed);
      case 'ref':
        return (e as Signal).name;
      case 'not':
        return `~${this.expr(op.a)}`;
      case 'reduce': {
        const sym = op.op === 'and' ? '&' : op.op === 'or' ? '|' : '^';
        if (op.a.width === 1) return this.expr(op.a, top);
        return wrap(`${sym}${this.expr(op.a)}`);
      }
      case 'bin': {
        const sym = {
          add: '+',
          sub: '-',
          mul: '*',
          and: '&',
          or: '|',
          xor: '^',
          eq: '==',
          ne: '!=',
          lt: '<',
          le: '<=',
          gt: '>',
          ge: '>=',
          shl: '<<',
          shr: e.type.signed ? '>>>' : '>>',
        }[op.op];
        if (op.op === 'shl' || op.op === 'shr') return wrap(`${this.expr(op.a)} ${sym} ${this.expr(op.b)}`);
        const w = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'].includes(op.op) ? Math.max(op.a.width, op.b.width) : e.width;
        return wrap(`${this.extend(op.a, w)} ${sym} ${this.extend(op.b, w)}`);
      }
      case 'slice':
        return this.select(op.a, op);
      case 'index':
        return this.select(op.a, op);
      case 'part':
        return this.select(op.a, op);
      case 'concat':
        return `{${op.parts.map((p) => this.expr(p, true)).join(', ')}}`;
      case 'repeat':
        return `{${op.count}{${this.expr(op.a, true)}}}`;
      case 'mux':
        return wrap(`${this.expr(op.cond)} ? ${this.expr(op.ifTrue)} : ${this.expr(op.ifFalse)}`);
      case 'ext':
        return this.extend(op.a, e.width);
      case 'cast':
        return e.type.signed ? `$signed(${this.expr(op.a, true)})` : `$unsigned(${this.expr(op.a, true)})`;
      case 'memread':
        return `${op.mem.name}[${this.expr(op.addr, true)}]`;
    }
  }

  // ---- statements ----

  private lhs(target: DrivenSignal, sel: Selection | null): string {
    return sel ? this.select(target, sel) : target.name;
  }

  private stmts(stmts: Stmt[], indent: string, op: '=' | '<='): string[] {
    const out: string[] = [];
    for (const st of stmts) {
      if (st.kind === 'assign') {
        this.tempBase = st.target.name;
        out.push(`${indent}${this.lhs(st.target, st.sel)} ${op} ${this.expr(st.value, true)};`);
      } else if (st.kind === 'when') {
        this.tempBase = 'cond';
        out.push(...this.ifChain(st, indent, op, ''));
      } else {
        this.tempBase = 'case';
        out.push(`${indent}case (${this.expr(st.subject, true)})`);
        for (const c of st.cases) {
          out.push(`${indent}  ${c.values.map((v) => this.expr(v, true)).join(', ')}: begin`);
          out.push(...this.stmts(c.body, `${indent}    `, op));
          out.push(`${indent}  end`);
        }
        if (st.default?.length) {
          out.push(`${indent}  default: begin`);
          out.push(...this.stmts(st.default, `${indent}    `, op));
          out.push(`${indent}  end`);
        } else {
          out.push(`${indent}  default: begin`);
          out.push(`${indent}    // other values keep what was assigned before this case`);
          out.push(`${indent}  end`);
        }
        out.push(`${indent}endcase`);
      }
    }
    return out;
  }

  private ifChain(st: Extract<Stmt, { kind: 'when' }>, indent: string, op: '=' | '<=', lead: string): string[] {
    const out: string[] = [];
    const cond = this.expr(st.cond, true);
    if (st.ifTrue.length === 0) {
      out.push(`${indent}${lead}if (!(${cond})) begin`);
      out.push(...this.stmts(st.ifFalse, `${indent}  `, op));
      out.push(`${indent}end`);
      return out;
    }
    out.push(`${indent}${lead}if (${cond}) begin`);
    out.push(...this.stmts(st.ifTrue, `${indent}  `, op));
    if (st.ifFalse.length === 1 && st.ifFalse[0]?.kind === 'when') {
      const chained = this.ifChain(st.ifFalse[0], indent, op, 'end else ');
      chained[0] = chained[0]?.replace(`${indent}end else `, `${indent}end else `) ?? '';
      out.push(...chained);
      return out;
    }
    if (st.ifFalse.length) {
      out.push(`${indent}end else begin`);
      out.push(...this.stmts(st.ifFalse, `${indent}  `, op));
    }
    out.push(`${indent}end`);
    return out;
  }

  private comb(g: SignalGroup): void {
    const simple = g.stmts.every((s) => s.kind === 'assign' && s.sel === null);
    const once = new Set(g.stmts.map((s) => (s.kind === 'assign' ? s.target : null)));
    if (simple && once.size === g.stmts.length) {
      for (const st of g.stmts) {
        if (st.kind !== 'assign') continue;
        this.tempBase = st.target.name;
        this.body.push(`  assign ${st.target.name} = ${this.expr(st.value, true)};`);
      }
      return;
    }
    for (const s of g.signals) this.combRegs.add(s);
    this.body.push('', '  always @(*) begin');
    this.body.push(...this.stmts(g.stmts, '    ', '='));
    this.body.push('  end');
  }

  private readonly combRegs = new Set<Signal>();

  private resetValue(r: Reg): string {
    const v = r.options.reset as bigint;
    const name = r.options.enumNames?.get(v);
    if (name) {
      this.usedParams.add(name);
      return name;
    }
    return litText(v, r.width, r.type.signed);
  }

  private seq(g: SignalGroup): void {
    const regs = g.signals as Reg[];
    const withReset = regs.filter((r) => r.options.reset !== undefined);
    const without = regs.filter((r) => r.options.reset === undefined);
    if (withReset.length) {
      const set = new Set<DrivenSignal>(withReset);
      this.body.push('', '  always @(posedge clk) begin');
      this.body.push('    if (rst) begin');
      for (const r of withReset) this.body.push(`      ${r.name} <= ${this.resetValue(r)};`);
      this.body.push('    end else begin');
      this.body.push(
        ...this.stmts(
          project(g.stmts, (t) => set.has(t)),
          '      ',
          '<=',
        ),
      );
      this.body.push('    end');
      this.body.push('  end');
    }
    if (without.length) {
      const set = new Set<DrivenSignal>(without);
      this.body.push('', '  always @(posedge clk) begin');
      this.body.push(
        ...this.stmts(
          project(g.stmts, (t) => set.has(t)),
          '    ',
          '<=',
        ),
      );
      this.body.push('  end');
    }
  }

  private memory(m: Memory): void {
    for (const w of m.writes) {
      this.tempBase = `${m.name}_wr`;
      const addr = this.expr(w.addr, true);
      const en = this.expr(w.enable, true);
      this.body.push('', '  always @(posedge clk) begin');
      const guard = en === "1'd1" ? '' : `if (${en}) `;
      if (!w.mask) {
        this.body.push(`    ${guard}${m.name}[${addr}] <= ${this.expr(w.data, true)};`);
      } else {
        const data = this.named(w.data);
        const mask = this.named(w.mask);
        const lanes = w.mask.width;
        for (let i = 0; i < lanes; i++) {
          const bit = lanes === 1 ? mask : `${mask}[${i}]`;
          const g = w.granularity;
          this.body.push(
            `    if (${en === "1'd1" ? '' : `${en} && `}${bit}) ${m.name}[${addr}][${(i + 1) * g - 1}:${i * g}] <= ${data}[${(i + 1) * g - 1}:${i * g}];`,
          );
        }
      }
      this.body.push('  end');
    }
    for (const r of m.reads) {
      this.tempBase = r.data.name;
      const en = this.expr(r.enable, true);
      this.body.push('', '  always @(posedge clk) begin');
      this.body.push(`    ${en === "1'd1" ? '' : `if (${en}) `}${r.data.name} <= ${m.name}[${this.expr(r.addr, true)}];`);
      this.body.push('  end');
    }
    if (m.init) {
      this.body.push('', '  // Initial contents (block RAM initialisation in synthesis).');
      this.body.push('  initial begin');
      m.init.forEach((v, i) => {
        this.body.push(`    ${m.name}[${i}] = ${litText(v, m.width, false)};`);
      });
      this.body.push('  end');
    }
  }

  private instance(inst: ModuleDef<unknown>['builder']['instances'][number]): void {
    const child = inst.def.builder;
    const conns: string[] = [];
    if (child.clk) conns.push('.clk(clk)');
    if (child.rst) conns.push('.rst(rst)');
    for (const p of child.ports) {
      const s = inst.connections.get(p.name);
      if (s) conns.push(`.${p.name}(${s.name})`);
    }
    this.body.push('', `  ${inst.def.verilogName} ${inst.name} (  // ${formatLoc(inst.src)}`);
    this.body.push(conns.map((c) => `    ${c}`).join(',\n'));
    this.body.push('  );');
  }

  private unusedNote(s: Signal): string | null {
    if (s instanceof OutPort) return null;
    const used = this.a.usage.get(s) ?? 0n;
    const all = (1n << BigInt(s.width)) - 1n;
    if (used === all) return null;
    const bits = used === 0n ? 'it is' : `bits ${describeBits(used, s.width)} are`;
    if (s instanceof InPort) return `${bits} part of the interface but not read in this configuration`;
    if (s instanceof InstanceOutput) return `${bits} an output of the submodule that this module does not need`;
    if (s instanceof MemoryReadData) return `${bits} read data this configuration does not use`;
    return `${bits} kept for waveforms and debug but not read in this configuration`;
  }

  private waived(decl: string, s: Signal, indent: string): string[] {
    const note = this.unusedNote(s);
    if (!note) return [decl];
    return [`${indent}// verilator lint_off UNUSEDSIGNAL`, `${decl}  // ${note}`, `${indent}// verilator lint_on UNUSEDSIGNAL`];
  }

  emit(): EmittedModule {
    const b = this.def.builder;
    const groups = this.a.groups;
    for (const g of groups) if (g.kind === 'comb') this.comb(g);
    for (const g of groups) if (g.kind === 'seq') this.seq(g);
    for (const m of b.memories) this.memory(m);
    for (const i of b.instances) this.instance(i);

    const sign = (s: Signal): string => (s.type.signed ? 'signed ' : '');
    const loc = (s: Signal): string => `// ${formatLoc(s.src)}`;
    // Ports: clock and reset first, then in declaration order.
    const portList: Signal[] = [];
    if (b.clk) portList.push(b.clk);
    if (b.rst) portList.push(b.rst);
    portList.push(...b.ports);
    const portLines: string[] = [];
    portList.forEach((p, i) => {
      const comma = i === portList.length - 1 ? '' : ',';
      const dir = p instanceof InPort ? 'input  wire' : this.combRegs.has(p) ? 'output reg ' : 'output wire';
      portLines.push(...this.waived(`    ${dir} ${sign(p)}${range(p.width)}${p.name}${comma}`, p, '    '));
    });

    const declLines: string[] = [];
    for (const s of b.signals) {
      if (s instanceof InPort || s instanceof OutPort) continue;
      const kind = s instanceof Reg || s instanceof MemoryReadData || this.combRegs.has(s) ? 'reg ' : 'wire';
      declLines.push(...this.waived(`  ${kind} ${sign(s)}${range(s.width)}${s.name};  ${loc(s)}`, s, '  '));
    }
    for (const m of b.memories) {
      const unread = m.reads.length === 0 && m.asyncReads.length === 0;
      if (unread) declLines.push('  // verilator lint_off UNUSEDSIGNAL');
      declLines.push(
        `  reg [${m.width - 1}:0] ${m.name} [0:${m.depth - 1}];  // ${formatLoc(m.src)}${unread ? ' (written, never read here)' : ''}`,
      );
      if (unread) declLines.push('  // verilator lint_on UNUSEDSIGNAL');
    }

    const params: string[] = [];
    for (const s of b.signals) {
      const names = s.options.enumNames;
      if (!names) continue;
      for (const [v, n] of names) {
        const line = `  localparam ${range(s.width)}${n} = ${litText(v, s.width, false)};`;
        if (this.usedParams.has(n)) params.push(line);
        else
          params.push(
            '  // verilator lint_off UNUSEDPARAM',
            `${line}  // a state no transition names`,
            '  // verilator lint_on UNUSEDPARAM',
          );
      }
    }

    const paramText = Object.keys(this.def.params)
      .sort()
      .map((k) => `${k}=${String(this.def.params[k])}`)
      .join(' ');
    const lines = [
      `// ${this.def.verilogName}: generated by cdna-nic from ${formatLoc(this.def.src)}; do not edit.`,
      ...(paramText ? [`// Parameters: ${paramText}`] : []),
      '',
      `module ${this.def.verilogName} (`,
      ...portLines,
      ');',
      ...(params.length ? ['', ...params] : []),
      ...(declLines.length || this.decls.length ? ['', ...declLines, ...this.decls] : []),
      ...(this.body.length ? ['', ...this.body] : []),
      '',
      'endmodule',
      '',
    ];
    return { name: this.def.verilogName, fileName: `${this.def.verilogName}.v`, text: lines.join('\n') };
  }
}

/** Emits a design: the top and every distinct submodule, children before parents, in a stable order. */
export function emitDesign(top: ModuleDef<unknown>): EmittedModule[] {
  const order: ModuleDef<unknown>[] = [];
  const byName = new Map<string, ModuleDef<unknown>>();
  const visit = (d: ModuleDef<unknown>): void => {
    const prev = byName.get(d.verilogName);
    if (prev) {
      if (prev !== d) {
        throw new ElaborationError(`two different modules would both be named ${d.verilogName}`, d.src, [
          { what: 'the other one', loc: prev.src },
        ]);
      }
      return;
    }
    byName.set(d.verilogName, d);
    for (const i of d.builder.instances) visit(i.def);
    order.push(d);
  };
  visit(top);
  return order.map((d) => new ModuleEmitter(d).emit());
}

export { InstanceInput };
