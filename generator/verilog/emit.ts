/**
 * The Verilog-2005 emitter: one file per distinct module, names from the source, sized literals, one
 * always block per register group, localparams for named states. Output is deterministic.
 *
 * Every expression is printed so that its Verilog self-determined width and signedness equal the
 * DSL type: operands are extended explicitly (`{1'b0, a}`, `$signed({a[7], a})`), part selects of
 * signed values are wrapped in `$signed()`, and nothing relies on Verilog's context-dependent sizing.
 */
import type { ClockDomain } from '../dsl/domain.js';
import { ElaborationError } from '../dsl/errors.js';
import { children, type Expr, fitsUnsigned } from '../dsl/expr.js';
import type { InstanceRecord, Memory, ModuleDef, Stmt, WhenStmt } from '../dsl/module.js';
import { analysisOf, describeBits, type ModuleAnalysis, project, type SignalGroup } from '../dsl/passes.js';
import { type DrivenSignal, InPort, InstanceOutput, MemoryReadData, OutPort, Reg, type Selection, type Signal } from '../dsl/signal.js';
import { formatLoc } from '../dsl/source.js';

export interface EmitOptions {
  /**
   * Write a bit at a run-time index of a wide register through a shared one-hot decode (the
   * default), or as `r[i] <= v` (the form before; kept to check the two against each other).
   */
  decodeIndexedWrites?: boolean;
}

export interface EmittedModule {
  name: string;
  fileName: string;
  text: string;
}

/** Subexpressions this many levels deep get a name, so text and recursion stay bounded. */
const maxInlineDepth = 32;

function range(width: number): string {
  return width === 1 ? '' : `[${width - 1}:0] `;
}

function bitsOf(value: bigint, width: number): bigint {
  const mask = (1n << BigInt(width)) - 1n;
  return value & mask;
}

/** A sized literal: 1'b1, 8'd5, 64'h1f, 8'sd5, -8'sd3 (negative signed values keep their sign). */
export function litText(value: bigint, width: number, signed: boolean): string {
  if (signed) {
    const mag = value < 0n ? -value : value;
    const body = width <= 32 ? `${width}'sd${mag.toString(10)}` : `${width}'sh${mag.toString(16)}`;
    return value < 0n ? `-${body}` : body;
  }
  const v = bitsOf(value, width);
  if (width === 1) return `1'b${v.toString()}`;
  return width <= 32 ? `${width}'d${v.toString(10)}` : `${width}'h${v.toString(16)}`;
}

/** Reads bits hi..lo of a literal's two's-complement pattern. */
function litBits(value: bigint, hi: number, lo: number): bigint {
  return bitsOf(value >> BigInt(lo), hi - lo + 1);
}

/** An emitted line and the TypeScript line of the statement it prints, if it prints one. */
interface Line {
  text: string;
  loc: string | null;
}

const plain = (text: string): Line => ({ text, loc: null });

/**
 * A block's text with its source lines: one comment on its first line when every statement in it
 * comes from one place, else a comment on each statement's line.
 */
function located(lines: Line[]): string[] {
  const locs = new Set<string>();
  for (const l of lines) if (l.loc) locs.add(l.loc);
  if (locs.size <= 1) {
    const [only] = locs;
    return lines.map((l, i) => (i === 0 && only ? `${l.text}  // ${only}` : l.text));
  }
  return lines.map((l) => (l.loc ? `${l.text}  // ${l.loc}` : l.text));
}

/** `always @(posedge clk)`, with the reset's edge for an asynchronous reset. */
function alwaysHead(d: ClockDomain, withReset: boolean): string {
  const clk = d.clk?.name ?? d.clockName;
  if (!withReset || d.reset === 'sync') return `  always @(posedge ${clk}) begin`;
  return `  always @(posedge ${clk} or ${d.resetActive === 'high' ? 'posedge' : 'negedge'} ${d.resetName}) begin`;
}

/** The condition under which a domain's reset is active. */
function resetCond(d: ClockDomain): string {
  return d.resetActive === 'high' ? d.resetName : `!${d.resetName}`;
}

/**
 * A chain of two-way selects that each compare one subject with a constant,
 * `s == 3 ? d : s == 2 ? c : s == 1 ? b : a` (what a dynamic read of a register vector built with
 * `mux(idx.eq(i), r[i], ...)` becomes). Printed as nested `?:`, synthesis keeps it as a linear chain
 * of multiplexers, one level per element; as a `case` it becomes a parallel multiplexer whose depth
 * grows with log2 of the element count.
 */
interface SelectChain {
  subject: Expr;
  /** Constant -> value, outermost first (the first arm of a value wins, as in the chain). */
  arms: { value: bigint; expr: Expr }[];
  /** What the chain gives when no constant matches (the innermost else). */
  otherwise: Expr;
}

/** Chains with fewer arms than this stay `?:`: a 2- or 3-way select is as shallow either way. */
const minChainArms = 3;

/** A key that is equal for structurally equal simple subjects (signals and their bit slices), else null. */
function subjectKey(e: Expr): string | null {
  const op = e.op;
  if (op.kind === 'ref') return `r:${(e as Signal).name}`;
  if (op.kind === 'slice') {
    const k = subjectKey(op.a);
    return k === null ? null : `s:${op.hi}:${op.lo}:${k}`;
  }
  if (op.kind === 'ext') {
    const k = subjectKey(op.a);
    return k === null ? null : `e:${e.width}:${k}`;
  }
  return null;
}

/** The (subject, constant) of an unsigned `subject == constant` or `subject != constant` test, else null. */
function constantTest(cond: Expr): { subject: Expr; value: bigint; negated: boolean } | null {
  const op = cond.op;
  if (op.kind !== 'bin' || (op.op !== 'eq' && op.op !== 'ne')) return null;
  const negated = op.op === 'ne';
  if (op.a.type.signed) return null;
  if (op.b.op.kind === 'lit' && op.a.op.kind !== 'lit') return { subject: op.a, value: op.b.op.value, negated };
  if (op.a.op.kind === 'lit' && op.b.op.kind !== 'lit') return { subject: op.b, value: op.a.op.value, negated };
  return null;
}

/**
 * A single-bit write at a run-time index into a register at least this wide goes through a shared
 * one-hot decode (see decodedWrite). Measured with synth_ecp5 on a vector with 7 writers: at 32 bits
 * it takes 416 -> 323 LUT sites, at 256 3,166 -> 1,881; at 16 bits it is no better (214 -> 230).
 */
const minDecodedWidth = 32;

function log2Ceil(n: number): number {
  let bits = 0;
  while (2 ** bits < n) bits++;
  return bits;
}

class ModuleEmitter {
  private readonly decls: string[] = [];
  /** Where temporaries are declared: `decls`, or the formal section while that is written. */
  private declSink: string[] = this.decls;
  /** Continuous assignments and blocks, in order; a block is separated from its neighbours by a blank line. */
  private readonly body: { block: boolean; lines: string[] }[] = [];
  private readonly temps = new Map<Expr, string>();
  private readonly tempCount = new Map<string, number>();
  private readonly usedNames: Set<string>;
  private readonly usedParams = new Set<string>();
  private readonly combRegs = new Set<Signal>();
  private readonly shallow = new Set<Expr>();
  /** Select chains found so far (null: e is a mux that does not start one). */
  private readonly chains = new Map<Expr, SelectChain | null>();
  private readonly a: ModuleAnalysis;
  /** One-hot decodes of run-time indices, by index text and vector width, shared by every writer. */
  private readonly decodes = new Map<string, string>();
  /** The loop variable of each register written through a decode. */
  private readonly loopVars = new Map<DrivenSignal, string>();
  /** What temporaries are named after: the signal the expression feeds. */
  private tempBase = 'expr';

  constructor(
    private readonly def: ModuleDef<unknown>,
    private readonly options: EmitOptions = {},
  ) {
    this.a = analysisOf(def);
    this.usedNames = new Set(def.builder.localNames.keys());
  }

  // ---- expressions ----

  private freshName(base: string): string {
    let n = this.tempCount.get(base) ?? 0;
    let name = n === 0 ? `${base}_t` : `${base}_t${n}`;
    while (this.usedNames.has(name)) name = `${base}_t${++n}`;
    this.tempCount.set(base, n + 1);
    this.usedNames.add(name);
    return name;
  }

  private temp(e: Expr, partial = false): string {
    const known = this.temps.get(e);
    if (known) return known;
    const name = this.freshName(this.tempBase);
    const value = this.expr(e, true);
    const decl = `  wire ${e.type.signed ? 'signed ' : ''}${range(e.width)}${name} = ${value};`;
    if (partial) {
      // Verilog-2005 cannot slice an expression, so the whole value gets a name and only a part is read.
      this.declSink.push(
        '  // verilator lint_off UNUSEDSIGNAL',
        `${decl}  // only some bits are read`,
        '  // verilator lint_on UNUSEDSIGNAL',
      );
    } else this.declSink.push(decl);
    this.temps.set(e, name);
    return name;
  }

  /** A name for e: itself when it is a signal, else a temporary wire named after what it feeds. */
  private named(e: Expr, partial = false): string {
    if (e.op.kind === 'ref') return (e as Signal).name;
    return this.temp(e, partial);
  }

  /**
   * Names every maxInlineDepth-th level of a deep expression (a long mux chain), bottom-up and
   * without recursion, so that printing it later never nests deeper than maxInlineDepth.
   */
  private flatten(root: Expr): void {
    if (root.depth <= maxInlineDepth || this.shallow.has(root)) return;
    const order: Expr[] = [];
    const todo: Expr[] = [root];
    while (todo.length) {
      const e = todo.pop() as Expr;
      if (this.shallow.has(e) || e.depth < maxInlineDepth) continue;
      this.shallow.add(e);
      order.push(e);
      const chain = this.chainOf(e);
      // A chain prints as one case block, so only its parts are named, never its inner links.
      if (chain) todo.push(chain.subject, chain.otherwise, ...chain.arms.map((a) => a.expr));
      else for (const c of children(e.op)) todo.push(c);
    }
    // Children come after their parents in `order`; name them first.
    for (let i = order.length - 1; i >= 0; i--) {
      const e = order[i] as Expr;
      if (e.depth % maxInlineDepth === 0 && e.op.kind !== 'ref' && e.op.kind !== 'lit') this.temp(e);
    }
  }

  /**
   * The select chain that starts at e (see SelectChain), or null. A link another expression names
   * (a temporary) ends the chain there and becomes its `otherwise`.
   */
  private chainOf(e: Expr): SelectChain | null {
    if (e.op.kind !== 'mux') return null;
    const known = this.chains.get(e);
    if (known !== undefined) return known;
    const first = constantTest(e.op.cond);
    const key = first ? subjectKey(first.subject) : null;
    const arms: { value: bigint; expr: Expr }[] = [];
    const seen = new Set<bigint>();
    let at: Expr = e;
    while (first && at.op.kind === 'mux' && (at === e || !this.temps.has(at))) {
      const t = constantTest(at.op.cond);
      if (!t || (t.subject !== first.subject && (key === null || subjectKey(t.subject) !== key))) break;
      const taken = t.negated ? at.op.ifFalse : at.op.ifTrue;
      // A value the subject cannot hold never matches; a repeated one is shadowed by the first.
      if (fitsUnsigned(t.value, first.subject.width) && !seen.has(t.value)) {
        seen.add(t.value);
        arms.push({ value: t.value, expr: taken });
      }
      at = t.negated ? at.op.ifTrue : at.op.ifFalse;
    }
    const chain = first && arms.length >= minChainArms ? { subject: first.subject, arms, otherwise: at } : null;
    this.chains.set(e, chain);
    return chain;
  }

  /** A select chain as a `case` in its own `always @(*)` block, driving a temporary `reg`. */
  private chainTemp(e: Expr, chain: SelectChain): string {
    const name = this.freshName(this.tempBase);
    this.temps.set(e, name);
    this.declSink.push(`  reg  ${e.type.signed ? 'signed ' : ''}${range(e.width)}${name};`);
    const w = chain.subject.width;
    const lines = [`  always @(*) begin  // ${formatLoc(e.src)}`, `    case (${this.value(chain.subject)})`];
    for (const a of chain.arms) lines.push(`      ${litText(a.value, w, false)}: ${name} = ${this.value(a.expr)};`);
    lines.push(`      default: ${name} = ${this.value(chain.otherwise)};`, '    endcase', '  end');
    this.body.push({ block: true, lines });
    return name;
  }

  /** Prints a value at the top of a statement or declaration. */
  value(e: Expr): string {
    this.flatten(e);
    return this.expr(e, true);
  }

  /** The text of e's top bit when it can be read off a signal without a temporary, else null. */
  private topBit(e: Expr): string | null {
    const op = e.op;
    if (op.kind === 'ref') return e.width === 1 ? (e as Signal).name : `${(e as Signal).name}[${e.width - 1}]`;
    if (op.kind === 'slice' && op.a.op.kind === 'ref') {
      const base = op.a as Signal;
      return base.width === 1 ? base.name : `${base.name}[${op.hi}]`;
    }
    // A sign extension keeps the sign bit; a cast keeps every bit.
    if ((op.kind === 'ext' && e.type.signed) || op.kind === 'cast') return this.topBit(op.a);
    return null;
  }

  /** A signed value as (sign bit, bits) texts, naming it with a temporary only when its sign bit cannot be read off. */
  private signParts(e: Expr): { msb: string; bits: string } {
    const msb = this.topBit(e);
    if (msb !== null) return { msb, bits: e.op.kind === 'slice' ? this.select(e.op.a, e.op) : this.expr(e, true) };
    const n = this.named(e);
    return { msb: e.width === 1 ? n : `${n}[${e.width - 1}]`, bits: n };
  }

  /** e extended to `width` bits: zero-extended if unsigned, sign-extended if signed. */
  private extend(e: Expr, width: number, top = false): string {
    const k = width - e.width;
    if (k === 0) return this.expr(e, top);
    if (e.op.kind === 'lit') {
      const text = litText(e.op.value, width, e.type.signed);
      return text.startsWith('-') && !top ? `(${text})` : text;
    }
    if (e.type.signed) {
      const { msb, bits } = this.signParts(e);
      const fill = k === 1 ? msb : `{${k}{${msb}}}`;
      return `$signed({${fill}, ${bits}})`;
    }
    return `{${k === 1 ? "1'b0" : `${k}'d0`}, ${this.expr(e, true)}}`;
  }

  /** An index zero-extended to exactly the bits that address `count` positions. */
  private indexText(index: Expr, count: number): string {
    return this.extend(index, Math.max(log2Ceil(count), index.width));
  }

  private select(base: Expr, sel: Selection): string {
    if (sel.kind === 'slice') {
      if (base.op.kind === 'lit') return litText(litBits(base.op.value, sel.hi, sel.lo), sel.hi - sel.lo + 1, false);
      const n = this.named(base, sel.hi - sel.lo + 1 < base.width);
      if (base.width === 1) return n;
      return sel.hi === sel.lo ? `${n}[${sel.hi}]` : `${n}[${sel.hi}:${sel.lo}]`;
    }
    const n = this.named(base);
    if (base.width === 1) return n;
    if (sel.kind === 'index') return `${n}[${this.indexText(sel.index, base.width)}]`;
    const count = base.width / sel.size;
    const idx = this.indexText(sel.index, count);
    if (sel.size === 1) return `${n}[${idx}]`;
    const shift = Math.log2(sel.size);
    // A power-of-two group size is a shift; others multiply by a constant, both sized to address
    // every bit of the base (what Verilator expects of a part-select start).
    const w = Math.max(log2Ceil(base.width), sel.index.width);
    const start = Number.isInteger(shift)
      ? `{${idx}, ${shift}'d0}`
      : `${this.extend(sel.index, w)} * ${litText(BigInt(sel.size), w, false)}`;
    return `${n}[${start} +: ${sel.size}]`;
  }

  /**
   * The operand of a unary operator. Another unary operator right after it gets parentheses: `~~x`
   * and `&~x` are legal Verilog-2005 but Icarus rejects them, and `^~x` would even read as the XNOR
   * reduction (a different value for even widths), so these print as `~(~x)`, `&(~x)`, `^(~x)`.
   */
  private unaryOperand(e: Expr): string {
    const text = this.expr(e);
    return /^[~!&|^+-]/.test(text) ? `(${text})` : text;
  }

  expr(e: Expr, top = false): string {
    const named = this.temps.get(e);
    if (named) return named;
    const wrap = (s: string): string => (top ? s : `(${s})`);
    const op = e.op;
    switch (op.kind) {
      case 'lit': {
        if (op.name) {
          this.usedParams.add(op.name);
          return op.name;
        }
        const text = litText(op.value, e.width, e.type.signed);
        return text.startsWith('-') ? wrap(text) : text;
      }
      case 'ref':
        return (e as Signal).name;
      case 'not':
        return `~${this.unaryOperand(op.a)}`;
      case 'neg':
        // The operand is widened first so that -(-128) is +128, not -128 again.
        if (op.a.type.signed) return wrap(`-${this.extend(op.a, e.width)}`);
        return wrap(`-$signed(${this.extend(op.a, e.width)})`);
      case 'reduce': {
        if (op.a.width === 1) return this.expr(op.a, top);
        const sym = op.op === 'and' ? '&' : op.op === 'or' ? '|' : '^';
        return wrap(`${sym}${this.unaryOperand(op.a)}`);
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
        const compare = op.op === 'eq' || op.op === 'ne' || op.op === 'lt' || op.op === 'le' || op.op === 'gt' || op.op === 'ge';
        const w = compare ? Math.max(op.a.width, op.b.width) : e.width;
        return wrap(`${this.extend(op.a, w)} ${sym} ${this.extend(op.b, w)}`);
      }
      case 'slice':
      case 'index':
      case 'part': {
        const text = this.select(op.a, op);
        // A part select is unsigned in Verilog; a signed slice (trunc of an SInt) says so.
        return e.type.signed ? `$signed(${text})` : text;
      }
      case 'concat': {
        const text = `{${op.parts.map((p) => this.expr(p, true)).join(', ')}}`;
        return e.type.signed ? `$signed(${text})` : text;
      }
      case 'repeat':
        return `{${op.count}{${this.expr(op.a, true)}}}`;
      case 'mux': {
        // The formal section is emitted twice under `ifdef`s; a block of its own would sit outside them.
        const chain = this.declSink === this.decls ? this.chainOf(e) : null;
        if (chain) return this.chainTemp(e, chain);
        return wrap(`${this.expr(op.cond)} ? ${this.expr(op.ifTrue)} : ${this.expr(op.ifFalse)}`);
      }
      case 'ext':
        return this.extend(op.a, e.width, top);
      case 'cast':
        return e.type.signed ? `$signed(${this.expr(op.a, true)})` : `$unsigned(${this.expr(op.a, true)})`;
      case 'memread':
        return `${op.mem.name}[${this.expr(op.addr, true)}]`;
    }
  }

  // ---- statements ----

  /** base, or base_2, base_3, ... if that name is taken. */
  private uniqueName(base: string): string {
    let name = base;
    for (let n = 2; this.usedNames.has(name); n++) name = `${base}_${n}`;
    this.usedNames.add(name);
    return name;
  }

  /**
   * The one-hot decode of `index` over `width` positions, declared once per index and width: bit k
   * is set when index == k. It is built from two half decodes (`hi` of the upper index bits, `lo` of
   * the lower), so each bit is one AND of two shared wires; yosys would otherwise compare the whole
   * index per bit and per writer. An index past the end sets no bit (the shift gives zero).
   */
  private decode(index: Expr, width: number): string {
    const indexName = this.named(index);
    const key = `${indexName}/${width}`;
    const known = this.decodes.get(key);
    if (known) return known;
    const bits = index.width;
    const loBits = Math.ceil(log2Ceil(width) / 2);
    const group = 2 ** loBits;
    const groups = Math.ceil(width / group);
    const name = this.uniqueName(`${indexName}_onehot${width}`);
    const hi = this.uniqueName(`${name}_hi`);
    const lo = this.uniqueName(`${name}_lo`);
    const parts: string[] = [];
    for (let k = groups - 1; k >= 0; k--) {
      const w = Math.min(group, width - k * group);
      const hiBit = groups === 1 ? hi : `${hi}[${k}]`;
      parts.push(`{${w}{${hiBit}}} & ${w === group ? lo : `${lo}[${w - 1}:0]`}`);
    }
    this.decls.push(
      `  wire ${range(groups)}${hi} = ${litText(1n, groups, false)} << ${indexName}[${bits - 1}:${loBits}];`,
      `  wire ${range(group)}${lo} = ${litText(1n, group, false)} << ${indexName}[${loBits - 1}:0];`,
      `  wire ${range(width)}${name} = {${parts.join(', ')}};`,
    );
    this.decodes.set(key, name);
    return name;
  }

  /**
   * `target[index] <= value` as a loop over the bits of target, each written when its bit of the
   * index's one-hot decode is set. Every write keeps its own statement, so the last one in source
   * order still wins per bit. Only for clocked blocks of the module body (a for loop in
   * `always @(*)` would read as a latch of its variable), a wide enough register and an index that
   * addresses all of it; null otherwise.
   */
  private decodedWrite(target: DrivenSignal, sel: Selection | null, value: string, op: '=' | '<='): string | null {
    if (this.options.decodeIndexedWrites === false) return null;
    if (op !== '<=' || !sel || sel.kind !== 'index' || this.declSink !== this.decls) return null;
    const width = target.width;
    if (width < minDecodedWidth || sel.index.op.kind === 'lit' || sel.index.width < log2Ceil(width)) return null;
    const onehot = this.decode(sel.index, width);
    let j = this.loopVars.get(target);
    if (!j) {
      j = this.uniqueName(`${target.name}_j`);
      this.loopVars.set(target, j);
      this.decls.push(`  integer ${j};`);
    }
    return `for (${j} = 0; ${j} < ${width}; ${j} = ${j} + 1) if (${onehot}[${j}]) ${target.name}[${j}] ${op} ${value};`;
  }

  private lhs(target: DrivenSignal, sel: Selection | null): string {
    return sel ? this.select(target, sel) : target.name;
  }

  private block(head: string, stmts: Stmt[], indent: string, op: '=' | '<='): Line[] {
    return [plain(`${indent}${head} begin`), ...this.stmts(stmts, `${indent}  `, op)];
  }

  private stmts(stmts: Stmt[], indent: string, op: '=' | '<='): Line[] {
    const out: Line[] = [];
    for (const st of stmts) {
      if (st.kind === 'assign') {
        const base = this.tempBase;
        this.tempBase = st.target.name;
        const value = this.value(st.value);
        const text = this.decodedWrite(st.target, st.sel, value, op) ?? `${this.lhs(st.target, st.sel)} ${op} ${value};`;
        out.push({ text: `${indent}${text}`, loc: formatLoc(st.src) });
        this.tempBase = base;
      } else if (st.kind === 'when') {
        out.push(...this.ifChain(st, indent, op));
      } else {
        const dropEmpty = !st.default?.length;
        out.push(plain(`${indent}case (${this.value(st.subject)})`));
        const arm = `${indent}  `;
        for (const c of st.cases) {
          if (dropEmpty && c.body.length === 0) continue;
          out.push(...this.block(`${c.values.map((v) => this.value(v)).join(', ')}:`, c.body, arm, op), plain(`${arm}end`));
        }
        // Values of arms left out (empty after projection) fall to the default, which must then exist.
        const covered = st.cases.reduce((n, c) => n + (dropEmpty && c.body.length === 0 ? 0 : c.values.length), 0);
        if (st.default?.length) out.push(...this.block('default:', st.default, arm, op), plain(`${arm}end`));
        else if (st.subject.width >= 31 || covered < 2 ** st.subject.width) out.push(plain(`${arm}default: ;`));
        out.push(plain(`${indent}endcase`));
      }
    }
    return out;
  }

  private ifChain(st: WhenStmt, indent: string, op: '=' | '<='): Line[] {
    const out: Line[] = [];
    const only = st.branches[0];
    if (st.branches.length === 1 && only && only.body.length === 0 && st.otherwise) {
      out.push(...this.block(`if (!(${this.value(only.cond)}))`, st.otherwise, indent, op), plain(`${indent}end`));
      return out;
    }
    st.branches.forEach((b, i) => {
      const head = `${i === 0 ? '' : 'end else '}if (${this.value(b.cond)})`;
      out.push(...this.block(head, b.body, indent, op));
    });
    if (st.otherwise) out.push(...this.block('end else', st.otherwise, indent, op));
    out.push(plain(`${indent}end`));
    return out;
  }

  private comb(g: SignalGroup): void {
    this.tempBase = `${(g.signals[0] as Signal).name}_cond`;
    const simple = g.stmts.every((s) => s.kind === 'assign' && s.sel === null);
    const once = new Set(g.stmts.map((s) => (s.kind === 'assign' ? s.target : null)));
    if (simple && once.size === g.stmts.length) {
      for (const st of g.stmts) {
        if (st.kind !== 'assign') continue;
        this.tempBase = st.target.name;
        this.body.push({ block: false, lines: [`  assign ${st.target.name} = ${this.value(st.value)};  // ${formatLoc(st.src)}`] });
      }
      return;
    }
    for (const s of g.signals) this.combRegs.add(s);
    this.body.push({ block: true, lines: located([plain('  always @(*) begin'), ...this.stmts(g.stmts, '    ', '='), plain('  end')]) });
  }

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
    const domain = this.domainOf(regs[0] as Signal);
    this.tempBase = `${(regs[0] as Signal).name}_cond`;
    if (withReset.length) {
      const set = new Set<DrivenSignal>(withReset);
      // A reset value comes from the register's declaration.
      const lines: Line[] = [plain(alwaysHead(domain, true)), plain(`    if (${resetCond(domain)}) begin`)];
      for (const r of withReset) lines.push({ text: `      ${r.name} <= ${this.resetValue(r)};`, loc: formatLoc(r.src) });
      lines.push(
        plain('    end else begin'),
        ...this.stmts(
          project(g.stmts, (t) => set.has(t)),
          '      ',
          '<=',
        ),
        plain('    end'),
        plain('  end'),
      );
      this.body.push({ block: true, lines: located(lines) });
    }
    if (without.length) {
      const set = new Set<DrivenSignal>(without);
      const lines = [
        plain(alwaysHead(domain, false)),
        ...this.stmts(
          project(g.stmts, (t) => set.has(t)),
          '    ',
          '<=',
        ),
        plain('  end'),
      ];
      this.body.push({ block: true, lines: located(lines) });
    }
  }

  private domainOf(s: Signal): ClockDomain {
    return s.options.domain ?? this.def.builder.defaultDomain;
  }

  private isTrue(e: Expr): boolean {
    return e.op.kind === 'lit' && e.op.value === 1n;
  }

  private memory(m: Memory): void {
    // All write ports of a domain in one block, in the order of the write() calls, so the last one wins.
    const domains = [...new Set(m.writes.map((w) => w.domain))];
    for (const d of domains) this.memoryWrites(m, d);
    for (const r of m.reads) {
      this.tempBase = r.data.name;
      const guard = this.isTrue(r.enable) ? '' : `if (${this.value(r.enable)}) `;
      this.body.push({
        block: true,
        lines: located([
          plain(alwaysHead(this.domainOf(r.data), false)),
          { text: `    ${guard}${r.data.name} <= ${m.name}[${this.value(r.addr)}];`, loc: formatLoc(r.data.src) },
          plain('  end'),
        ]),
      });
    }
    if (m.init) {
      const lines = [`  // Initial contents of ${m.name} (block RAM initialisation in synthesis).`, '  initial begin'];
      m.init.forEach((v, i) => {
        lines.push(`    ${m.name}[${i}] = ${litText(v, m.width, false)};`);
      });
      lines.push('  end');
      this.body.push({ block: true, lines });
    }
  }

  private memoryWrites(m: Memory, d: ClockDomain): void {
    const writes: Line[] = [];
    for (const w of m.writes) {
      if (w.domain !== d) continue;
      this.tempBase = `${m.name}_wr`;
      const addr = this.value(w.addr);
      const guarded = !this.isTrue(w.enable);
      const inner = guarded ? '      ' : '    ';
      const loc = formatLoc(w.src);
      if (guarded) writes.push(plain(`    if (${this.value(w.enable)}) begin`));
      if (!w.mask) {
        writes.push({ text: `${inner}${m.name}[${addr}] <= ${this.value(w.data)};`, loc });
      } else {
        const data = this.named(w.data);
        const mask = this.named(w.mask);
        const lanes = w.mask.width;
        const g = w.granularity;
        const bits = (hi: number, lo: number, width: number): string => (width === 1 ? '' : hi === lo ? `[${hi}]` : `[${hi}:${lo}]`);
        for (let i = 0; i < lanes; i++) {
          const bit = lanes === 1 ? mask : `${mask}[${i}]`;
          const hi = (i + 1) * g - 1;
          const lo = i * g;
          const part = g === m.width ? '' : bits(hi, lo, m.width);
          writes.push({ text: `${inner}if (${bit}) ${m.name}[${addr}]${part} <= ${data}${bits(hi, lo, w.data.width)};`, loc });
        }
      }
      if (guarded) writes.push(plain('    end'));
    }
    if (writes.length) {
      this.body.push({ block: true, lines: located([plain(alwaysHead(d, false)), ...writes, plain('  end')]) });
    }
  }

  private instance(inst: InstanceRecord): void {
    const child = inst.def.builder;
    const conns: string[] = [];
    for (const cd of child.domains) {
      const pd = inst.domains.get(cd);
      if (!cd.clk || !pd) continue;
      conns.push(`.${cd.clockName}(${pd.clockName})`);
      // A reset of the other polarity is inverted on the way in.
      if (cd.rst) conns.push(`.${cd.resetName}(${cd.resetActive === pd.resetActive ? '' : '~'}${pd.resetName})`);
    }
    for (const p of child.ports) {
      const s = inst.connections.get(p.name);
      if (s) conns.push(`.${p.name}(${s.name})`);
    }
    const lines = [`  ${inst.def.verilogName} ${inst.name} (  // ${formatLoc(inst.src)}`];
    conns.forEach((c, i) => {
      lines.push(`    ${c}${i === conns.length - 1 ? '' : ','}`);
    });
    lines.push('  );');
    this.body.push({ block: true, lines });
  }

  /**
   * The properties and formal-only registers, twice: for yosys (`ifdef FORMAL`: immediate assertions
   * in `always @*`, checked in every step of the proof) and for Verilator (`elsif VERILATOR`: the same
   * checks at each rising edge, active in builds with `--assert`, whose failure names the TypeScript
   * line). Icarus and synthesis see neither. Each property's condition is a named wire that already
   * holds outside reset and its enable, so `cdna prove` can find it by name in a counterexample.
   */
  private formalSection(): string[] {
    const b = this.def.builder;
    if (b.properties.length === 0 && b.ghosts.length === 0) return [];
    const decls: string[] = [];
    const logic: string[] = [];
    this.declSink = decls;
    const paren = (e: Expr): string => `(${this.value(e)})`;
    for (const g of b.ghosts) {
      decls.push(`  reg  ${g.type.signed ? 'signed ' : ''}${range(g.width)}${g.name};  // ${formatLoc(g.src)}`);
      this.tempBase = g.name;
      const next = this.value(g.next as Expr);
      logic.push(
        '  always @(posedge clk) begin',
        `    if (rst) ${g.name} <= ${litText(g.reset, g.width, g.type.signed)};`,
        `    else ${g.name} <= ${next};`,
        '  end',
      );
    }
    for (const p of b.properties) {
      this.tempBase = p.name;
      const en = this.isTrue(p.enable) ? null : paren(p.enable);
      const cond = paren(p.cond);
      const value = p.kind === 'cover' ? `~rst${en ? ` & ${en}` : ''} & ${cond}` : `rst${en ? ` | ~${en}` : ''} | ${cond}`;
      // (* keep *): the prover reads the wire by name (a cover's, once its cell is gone).
      decls.push(`  KEEP wire ${p.name} = ${value};  // ${p.kind}, ${formatLoc(p.src)}: ${p.message.replace(/\s+/g, ' ')}`);
    }
    this.declSink = this.decls;
    const checked = b.properties.filter((p) => p.kind !== 'cover');
    const quote = (t: string): string => t.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%');
    const shared = (keep: string): string[] => [
      '  // verilator lint_off UNUSEDSIGNAL',
      '  // (read only by the properties below, some of which a configuration may not check)',
      ...decls.map((d) => d.replace(/^ {2}KEEP /, keep)),
      '  // verilator lint_on UNUSEDSIGNAL',
      ...logic,
    ];
    const formal = b.properties.length ? ['  always @* begin', ...b.properties.map((p) => `    ${p.kind} (${p.name});`), '  end'] : [];
    const sim = checked.length
      ? [
          '  always @(posedge clk) begin',
          ...checked.map(
            (p) => `    ${p.kind} (${p.name}) else $error("${quote(`${p.kind} ${p.name} failed: ${p.message} (${formatLoc(p.src)})`)}");`,
          ),
          '  end',
        ]
      : [];
    return [
      '',
      '  // Properties (docs/formal.md): proven by `cdna prove`; checked in Verilator builds with --assert.',
      '`ifdef FORMAL',
      ...shared('  (* keep *) '),
      ...formal,
      '`elsif VERILATOR',
      ...shared('  '),
      ...sim,
      '`endif',
    ];
  }

  /** The body's lines: blocks apart, runs of `assign` together. */
  private bodyLines(): string[] {
    const out: string[] = [];
    let prevBlock: boolean | null = null;
    for (const item of this.body) {
      if (prevBlock !== null && (item.block || prevBlock)) out.push('');
      out.push(...item.lines);
      prevBlock = item.block;
    }
    return out;
  }

  private unusedNote(s: Signal): string | null {
    if (s instanceof OutPort) return null;
    const used = this.a.usage.get(s) ?? 0n;
    const all = (1n << BigInt(s.width)) - 1n;
    if (used === all) return null;
    const unused = all & ~used;
    const bits = used === 0n ? 'it is' : `bits ${describeBits(unused, s.width)} are`;
    if (s instanceof InPort) return `${bits} part of the interface but not read in this configuration`;
    if (s instanceof InstanceOutput) return `${bits} an output of the submodule that this module does not need`;
    if (s instanceof MemoryReadData) return `${bits} read data this configuration does not use`;
    return `${bits} kept for waveforms and debug but not read in this configuration`;
  }

  /** A declaration, with a waiver and its reason when Verilator would call the signal (partly) unused. */
  private waived(decl: string, comment: string | null, s: Signal, indent: string): string[] {
    const note = this.unusedNote(s);
    if (!note) return [comment ? `${decl}  // ${comment}` : decl];
    const text = `${decl}  // ${comment ? `${comment}; ` : ''}${note}`;
    return [`${indent}// verilator lint_off UNUSEDSIGNAL`, text, `${indent}// verilator lint_on UNUSEDSIGNAL`];
  }

  emit(): EmittedModule {
    const b = this.def.builder;
    const groups = this.a.groups;
    for (const g of groups) if (g.kind === 'comb') this.comb(g);
    for (const g of groups) if (g.kind === 'seq') this.seq(g);
    for (const m of b.memories) this.memory(m);
    for (const i of b.instances) this.instance(i);
    const formal = this.formalSection();

    const sign = (s: Signal): string => (s.type.signed ? 'signed ' : '');
    // Ports: clock and reset first, then in declaration order.
    const portList: Signal[] = [...b.clockResetPorts(), ...b.ports];
    const portLines: string[] = [];
    portList.forEach((p, i) => {
      const comma = i === portList.length - 1 ? '' : ',';
      const dir = p instanceof InPort ? 'input  wire' : this.combRegs.has(p) ? 'output reg ' : 'output wire';
      portLines.push(...this.waived(`    ${dir} ${sign(p)}${range(p.width)}${p.name}${comma}`, null, p, '    '));
    });

    const declLines: string[] = [];
    for (const s of b.signals) {
      if (s instanceof InPort || s instanceof OutPort) continue;
      const kind = s instanceof Reg || s instanceof MemoryReadData || this.combRegs.has(s) ? 'reg ' : 'wire';
      // Synthesis keeps a synchronizer's flops together, with nothing between them (Vivado's ASYNC_REG).
      if (s.options.synchronizer === 'first' || s.options.synchronizer === 'stage') declLines.push('  (* ASYNC_REG = "TRUE" *)');
      declLines.push(...this.waived(`  ${kind} ${sign(s)}${range(s.width)}${s.name};`, formatLoc(s.src), s, '  '));
    }
    for (const m of b.memories) {
      const unread = m.reads.length === 0 && m.asyncReads.length === 0;
      if (unread) declLines.push('  // verilator lint_off UNUSEDSIGNAL');
      // Tells yosys that no read relies on a word written in the same cycle: no bypass logic.
      if (m.readUnderWrite === 'undefined' && m.reads.length > 0) declLines.push('  (* no_rw_check *)');
      if (m.ramStyle) declLines.push(`  (* ram_style = "${m.ramStyle}" *)`);
      declLines.push(
        `  reg  ${range(m.width)}${m.name} [0:${m.depth - 1}];  // ${formatLoc(m.src)}${unread ? '; written, never read in this configuration' : ''}`,
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
      ...(this.body.length ? ['', ...this.bodyLines()] : []),
      ...formal,
      '',
      'endmodule',
      '',
    ];
    return { name: this.def.verilogName, fileName: `${this.def.verilogName}.v`, text: lines.join('\n') };
  }
}

/** Emits a design: the top and every distinct submodule, children before parents, in a stable order. */
export function emitDesign(top: ModuleDef<unknown>, options: EmitOptions = {}): EmittedModule[] {
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
  return order.map((d) => new ModuleEmitter(d, options).emit());
}
