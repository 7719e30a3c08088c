import { ElaborationError } from './errors.js';
import { captureSource, type SourceLoc } from './source.js';
import type { HwType } from './types.js';

/** What may stand where a value is expected: an expression, or a JS literal sized by its context. */
export type Operand = Expr | number | bigint | boolean;

export type BinaryOp = 'add' | 'sub' | 'mul' | 'and' | 'or' | 'xor' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'shl' | 'shr';

/** The node kinds of the expression IR; the emitter and the passes switch over these. */
export type ExprOp =
  | { kind: 'lit'; value: bigint; name?: string }
  | { kind: 'ref' }
  | { kind: 'not'; a: Expr }
  | { kind: 'neg'; a: Expr }
  | { kind: 'bin'; op: BinaryOp; a: Expr; b: Expr }
  | { kind: 'reduce'; op: 'and' | 'or' | 'xor'; a: Expr }
  | { kind: 'slice'; a: Expr; hi: number; lo: number }
  | { kind: 'index'; a: Expr; index: Expr }
  | { kind: 'part'; a: Expr; index: Expr; size: number }
  | { kind: 'concat'; parts: Expr[] }
  | { kind: 'repeat'; a: Expr; count: number }
  | { kind: 'mux'; cond: Expr; ifTrue: Expr; ifFalse: Expr }
  | { kind: 'ext'; a: Expr }
  | { kind: 'cast'; a: Expr }
  | { kind: 'memread'; mem: MemoryRef; addr: Expr };

/** What an asynchronous memory read points at; the memory itself lives in module.ts. */
export interface MemoryRef {
  readonly name: string;
  readonly width: number;
  readonly depth: number;
}

function maxValue(width: number): bigint {
  return (1n << BigInt(width)) - 1n;
}

export function fitsUnsigned(value: bigint, width: number): boolean {
  return value >= 0n && value <= maxValue(width);
}

function fitsSigned(value: bigint, width: number): boolean {
  const half = 1n << BigInt(width - 1);
  return value >= -half && value < half;
}

/** Width of the smallest unsigned vector that holds `value` (at least 1). */
export function minWidth(value: bigint): number {
  let w = 1;
  while (value > maxValue(w)) w++;
  return w;
}

function jsValue(v: number | bigint | boolean, loc: SourceLoc): bigint {
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'number' && !Number.isSafeInteger(v)) {
    throw new ElaborationError(`literal ${v} is not a whole number in JavaScript's safe range; use a bigint`, loc);
  }
  return BigInt(v);
}

/** Makes a literal of an exact type, refusing a value that does not fit. */
export function literal(value: number | bigint | boolean, type: HwType, loc: SourceLoc = captureSource()): Expr {
  if (!Number.isInteger(type.width) || type.width < 1) {
    throw new ElaborationError(`a literal of width ${type.width}: a width must be a whole number >= 1`, loc);
  }
  const v = jsValue(value, loc);
  const ok = type.signed ? fitsSigned(v, type.width) : fitsUnsigned(v, type.width);
  if (!ok) {
    const kind = type.signed ? 'SInt' : 'UInt';
    throw new ElaborationError(`literal ${v} does not fit in ${kind}(${type.width})`, loc);
  }
  return new Expr({ kind: 'lit', value: v }, type, loc);
}

function describe(e: Expr): string {
  const kind = e.type.signed ? 'SInt' : 'UInt';
  return `${e.label()} (${kind}(${e.type.width}))`;
}

/** The operand expressions of a node, in a fixed order (passes and the emitter walk them). */
export function children(op: ExprOp): Expr[] {
  switch (op.kind) {
    case 'lit':
    case 'ref':
      return [];
    case 'not':
    case 'neg':
    case 'reduce':
    case 'slice':
    case 'repeat':
    case 'ext':
    case 'cast':
      return [op.a];
    case 'bin':
      return [op.a, op.b];
    case 'index':
    case 'part':
      return [op.a, op.index];
    case 'concat':
      return op.parts;
    case 'mux':
      return [op.cond, op.ifTrue, op.ifFalse];
    case 'memread':
      return [op.addr];
  }
}

/** A hardware expression. Every node records the TypeScript line that built it. */
export class Expr {
  /** Longest path to a leaf; the emitter names deep subexpressions so nothing recurses without bound. */
  readonly depth: number;

  constructor(
    readonly op: ExprOp,
    readonly type: HwType,
    readonly src: SourceLoc,
  ) {
    let d = 0;
    for (const c of children(op)) if (c.depth > d) d = c.depth;
    this.depth = d + 1;
  }

  get width(): number {
    return this.type.width;
  }

  /** A short human name for messages. */
  label(): string {
    if (this.op.kind === 'lit') return `literal ${this.op.value}`;
    return `${this.op.kind === 'bin' ? this.op.op : this.op.kind} expression`;
  }

  /** Turns an operand into an expression; a JS literal takes `like`'s type and must fit it. */
  protected operand(v: Operand, like: HwType, loc: SourceLoc): Expr {
    return v instanceof Expr ? v : literal(v, like, loc);
  }

  private sameSign(b: Expr, what: string, loc: SourceLoc): void {
    if (this.type.signed !== b.type.signed) {
      throw new ElaborationError(
        `${what} mixes signed and unsigned operands: ${describe(this)} and ${describe(b)}; convert one with asSInt()/asUInt()`,
        loc,
      );
    }
  }

  private sameWidth(b: Expr, what: string, loc: SourceLoc): void {
    if (this.width !== b.width) {
      throw new ElaborationError(
        `${what} needs operands of equal width, got ${describe(this)} and ${describe(b)}; make one match with resize() or trunc()`,
        loc,
      );
    }
  }

  private growBin(op: BinaryOp, v: Operand, extra: (wa: number, wb: number) => number): Expr {
    const loc = captureSource();
    const b = this.operand(v, this.type, loc);
    this.sameSign(b, op, loc);
    const width = extra(this.width, b.width);
    return new Expr({ kind: 'bin', op, a: this, b }, { width, signed: this.type.signed }, loc);
  }

  /** a + b, one bit wider than the wider operand: no carry is lost. */
  add(v: Operand): Expr {
    return this.growBin('add', v, (a, b) => Math.max(a, b) + 1);
  }

  /** a - b, one bit wider than the wider operand (the top bit is the borrow for unsigned). */
  sub(v: Operand): Expr {
    return this.growBin('sub', v, (a, b) => Math.max(a, b) + 1);
  }

  /** a + b modulo 2^width: the operands must have equal widths, the result has that width. */
  addWrap(v: Operand): Expr {
    const loc = captureSource();
    const b = this.operand(v, this.type, loc);
    this.sameWidth(b, 'addWrap', loc);
    this.sameSign(b, 'addWrap', loc);
    return new Expr({ kind: 'bin', op: 'add', a: this, b }, this.type, loc);
  }

  /** a - b modulo 2^width: the operands must have equal widths, the result has that width. */
  subWrap(v: Operand): Expr {
    const loc = captureSource();
    const b = this.operand(v, this.type, loc);
    this.sameWidth(b, 'subWrap', loc);
    this.sameSign(b, 'subWrap', loc);
    return new Expr({ kind: 'bin', op: 'sub', a: this, b }, this.type, loc);
  }

  /** a * b, as wide as both widths added. */
  mul(v: Operand): Expr {
    return this.growBin('mul', v, (a, b) => a + b);
  }

  private bitwise(op: 'and' | 'or' | 'xor', v: Operand): Expr {
    const loc = captureSource();
    const b = this.operand(v, this.type, loc);
    this.sameWidth(b, op, loc);
    this.sameSign(b, op, loc);
    return new Expr({ kind: 'bin', op, a: this, b }, this.type, loc);
  }

  and(v: Operand): Expr {
    return this.bitwise('and', v);
  }
  or(v: Operand): Expr {
    return this.bitwise('or', v);
  }
  xor(v: Operand): Expr {
    return this.bitwise('xor', v);
  }

  /** Bitwise complement, same type. */
  not(): Expr {
    return new Expr({ kind: 'not', a: this }, this.type, captureSource());
  }

  /** Two's complement negation: -a as an SInt one bit wider than a (so -(-128) still fits). */
  neg(): Expr {
    return new Expr({ kind: 'neg', a: this }, { width: this.width + 1, signed: true }, captureSource());
  }

  private compare(op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge', v: Operand): Expr {
    const loc = captureSource();
    let b: Expr;
    if (v instanceof Expr) b = v;
    else {
      // A literal compared with a narrower signal can never be equal: that is a bug, so it must fit.
      b = literal(v, this.type, loc);
    }
    this.sameSign(b, op, loc);
    return new Expr({ kind: 'bin', op, a: this, b }, { width: 1, signed: false }, loc);
  }

  /** Comparisons zero- (or sign-) extend the narrower operand, which loses nothing; the result is a Bool. */
  eq(v: Operand): Expr {
    return this.compare('eq', v);
  }
  ne(v: Operand): Expr {
    return this.compare('ne', v);
  }
  lt(v: Operand): Expr {
    return this.compare('lt', v);
  }
  le(v: Operand): Expr {
    return this.compare('le', v);
  }
  gt(v: Operand): Expr {
    return this.compare('gt', v);
  }
  ge(v: Operand): Expr {
    return this.compare('ge', v);
  }

  /**
   * Shift left. By a constant n the result grows by n bits (nothing is lost). By a signal the result keeps
   * this width: bits shifted past the top are dropped, which is what a barrel shifter does.
   */
  shl(by: number | Expr): Expr {
    const loc = captureSource();
    if (typeof by === 'number') {
      if (!Number.isInteger(by) || by < 0) throw new ElaborationError(`shl(${by}): a shift must be a whole number >= 0`, loc);
      if (by === 0) return this;
      return new Expr(
        { kind: 'concat', parts: [this, literal(0, { width: by, signed: false }, loc)] },
        { width: this.width + by, signed: this.type.signed },
        loc,
      );
    }
    if (by.type.signed) throw new ElaborationError('shl: the shift amount must be unsigned', loc);
    return new Expr({ kind: 'bin', op: 'shl', a: this, b: by }, this.type, loc);
  }

  /** Shift right (arithmetic for SInt); the result keeps this width. */
  shr(by: number | Expr): Expr {
    const loc = captureSource();
    if (typeof by === 'number') {
      if (!Number.isInteger(by) || by < 0) throw new ElaborationError(`shr(${by}): a shift must be a whole number >= 0`, loc);
      if (by === 0) return this;
      if (by >= this.width) {
        throw new ElaborationError(`shr(${by}) of a ${this.width}-bit value shifts out every bit`, loc);
      }
      const kept = new Expr(
        { kind: 'slice', a: this, hi: this.width - 1, lo: by },
        { width: this.width - by, signed: this.type.signed },
        loc,
      );
      return new Expr({ kind: 'ext', a: kept }, this.type, loc);
    }
    if (by.type.signed) throw new ElaborationError('shr: the shift amount must be unsigned', loc);
    return new Expr({ kind: 'bin', op: 'shr', a: this, b: by }, this.type, loc);
  }

  private reduce(op: 'and' | 'or' | 'xor'): Expr {
    return new Expr({ kind: 'reduce', op, a: this }, { width: 1, signed: false }, captureSource());
  }
  /** AND of all bits. */
  andR(): Expr {
    return this.reduce('and');
  }
  /** OR of all bits: "any bit set". */
  orR(): Expr {
    return this.reduce('or');
  }
  /** XOR of all bits: parity. */
  xorR(): Expr {
    return this.reduce('xor');
  }

  /** Bits hi..lo (inclusive), unsigned. */
  bits(hi: number, lo: number): Expr {
    const loc = captureSource();
    checkSlice(this, hi, lo, loc);
    return new Expr({ kind: 'slice', a: this, hi, lo }, { width: hi - lo + 1, signed: false }, loc);
  }

  /** One bit: at a constant position, or at a position given by a signal (zero-extended index). */
  bit(i: number | Expr): Expr {
    const loc = captureSource();
    if (typeof i === 'number') {
      checkSlice(this, i, i, loc);
      return new Expr({ kind: 'slice', a: this, hi: i, lo: i }, { width: 1, signed: false }, loc);
    }
    checkIndex(this, i, this.width, loc);
    return new Expr({ kind: 'index', a: this, index: i }, { width: 1, signed: false }, loc);
  }

  /** The `index`-th group of `size` bits: `a[index*size +: size]`, e.g. byte lane i of a data word. */
  part(index: Expr, size: number): Expr {
    const loc = captureSource();
    if (!Number.isInteger(size) || size < 1 || this.width % size !== 0) {
      throw new ElaborationError(`part(_, ${size}): the group size must divide the width ${this.width}`, loc);
    }
    checkIndex(this, index, this.width / size, loc);
    return new Expr({ kind: 'part', a: this, index, size }, { width: size, signed: false }, loc);
  }

  /** The low n bits: an explicit truncation. */
  trunc(n: number): Expr {
    const loc = captureSource();
    if (!Number.isInteger(n) || n < 1 || n > this.width) {
      throw new ElaborationError(`trunc(${n}) of ${describe(this)}: the new width must be from 1 to ${this.width}`, loc);
    }
    if (n === this.width) return this;
    return new Expr({ kind: 'slice', a: this, hi: n - 1, lo: 0 }, { width: n, signed: this.type.signed }, loc);
  }

  /** Zero-extends (sign-extends for SInt) to n bits; narrowing is refused, use trunc(). */
  resize(n: number): Expr {
    const loc = captureSource();
    if (!Number.isInteger(n) || n < this.width) {
      throw new ElaborationError(`resize(${n}) of ${describe(this)} would drop bits; use trunc(${n}) to say so`, loc);
    }
    if (n === this.width) return this;
    return new Expr({ kind: 'ext', a: this }, { width: n, signed: this.type.signed }, loc);
  }

  asSInt(): Expr {
    if (this.type.signed) return this;
    return new Expr({ kind: 'cast', a: this }, { width: this.width, signed: true }, captureSource());
  }

  asUInt(): Expr {
    if (!this.type.signed) return this;
    return new Expr({ kind: 'cast', a: this }, { width: this.width, signed: false }, captureSource());
  }

  /** This value repeated n times. */
  repeat(n: number): Expr {
    const loc = captureSource();
    if (!Number.isInteger(n) || n < 1) throw new ElaborationError(`repeat(${n}): the count must be a whole number >= 1`, loc);
    if (n === 1) return this;
    return new Expr({ kind: 'repeat', a: this, count: n }, { width: this.width * n, signed: false }, loc);
  }
}

function checkSlice(e: Expr, hi: number, lo: number, loc: SourceLoc): void {
  if (!Number.isInteger(hi) || !Number.isInteger(lo) || lo < 0 || hi < lo || hi >= e.width) {
    throw new ElaborationError(`bits ${hi}..${lo} are out of range for ${describe(e)}`, loc);
  }
}

function checkIndex(e: Expr, index: Expr, count: number, loc: SourceLoc): void {
  if (index.type.signed) throw new ElaborationError('an index must be unsigned', loc);
  let needed = 0;
  while (1 << needed < count) needed++;
  if (index.width > Math.max(1, needed)) {
    throw new ElaborationError(
      `index ${describe(index)} is wider than the ${Math.max(1, needed)} bits that select among ${count} positions of ${describe(e)}; trunc() it`,
      loc,
    );
  }
}

/** Concatenation, most significant part first, like Verilog's `{a, b}`. */
export function cat(...parts: Expr[]): Expr {
  const loc = captureSource();
  if (parts.length === 0) throw new ElaborationError('cat() needs at least one part', loc);
  if (parts.length === 1) return parts[0] as Expr;
  const width = parts.reduce((w, p) => w + p.width, 0);
  return new Expr({ kind: 'concat', parts }, { width, signed: false }, loc);
}

/** cond ? a : b. The branches must have the same type; a JS literal takes the other branch's type. */
export function mux(cond: Operand, a: Operand, b: Operand): Expr {
  const loc = captureSource();
  const c = cond instanceof Expr ? cond : literal(cond, { width: 1, signed: false }, loc);
  if (c.width !== 1) throw new ElaborationError(`mux condition must be 1 bit wide, got ${describe(c)}`, loc);
  let x: Expr;
  let y: Expr;
  if (a instanceof Expr) {
    x = a;
    y = b instanceof Expr ? b : literal(b, a.type, loc);
  } else if (b instanceof Expr) {
    y = b;
    x = literal(a, b.type, loc);
  } else {
    throw new ElaborationError('mux of two JS literals has no width; make one a sized literal with lit()', loc);
  }
  if (x.width !== y.width || x.type.signed !== y.type.signed) {
    throw new ElaborationError(`mux branches differ: ${describe(x)} and ${describe(y)}; resize() or trunc() one`, loc);
  }
  return new Expr({ kind: 'mux', cond: c, ifTrue: x, ifFalse: y }, x.type, loc);
}

/** A sized literal: `lit(5, 8)` is 8'd5. */
export function lit(value: number | bigint | boolean, width: number, signed = false): Expr {
  return literal(value, { width, signed }, captureSource());
}

/**
 * Selects `options[index]`: the options are packed into one vector and the index picks a part of it
 * (`packed[index*w +: w]`), which synthesis turns into a mux tree. All options must share a type; an
 * index past the last option reads an undefined value.
 */
export function select(index: Expr, options: Expr[]): Expr {
  const loc = captureSource();
  if (options.length === 0) throw new ElaborationError('select() needs at least one option', loc);
  const first = options[0] as Expr;
  for (const o of options) {
    if (o.width !== first.width || o.type.signed !== first.type.signed) {
      throw new ElaborationError(`select options differ in type: ${describe(first)} and ${describe(o)}`, loc);
    }
  }
  checkIndex(first, index, options.length, loc);
  if (options.length === 1) return first;
  const w = first.width;
  const packed = new Expr({ kind: 'concat', parts: [...options].reverse() }, { width: w * options.length, signed: false }, loc);
  const picked = new Expr({ kind: 'part', a: packed, index, size: w }, { width: w, signed: false }, loc);
  return first.type.signed ? new Expr({ kind: 'cast', a: picked }, first.type, loc) : picked;
}

/** Combines many operands pairwise as a balanced tree, so 1024 terms nest 10 deep, not 1024. */
function balanced(items: Expr[], op: 'and' | 'or', loc: SourceLoc): Expr {
  let level = items;
  while (level.length > 1) {
    const next: Expr[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      const a = level[i] as Expr;
      const b = level[i + 1] as Expr;
      if (a.width !== b.width || a.type.signed !== b.type.signed) {
        throw new ElaborationError(
          `${op === 'and' ? 'all' : 'any'}() needs operands of one type, got ${describe(a)} and ${describe(b)}`,
          loc,
        );
      }
      next.push(new Expr({ kind: 'bin', op, a, b }, a.type, loc));
    }
    if (level.length % 2) next.push(level[level.length - 1] as Expr);
    level = next;
  }
  return level[0] as Expr;
}

/** AND of many conditions (true when empty), as a balanced tree. */
export function all(...conds: Expr[]): Expr {
  const loc = captureSource();
  if (conds.length === 0) return literal(1, { width: 1, signed: false }, loc);
  return balanced(conds, 'and', loc);
}

/** OR of many conditions (false when empty), as a balanced tree. */
export function any(...conds: Expr[]): Expr {
  const loc = captureSource();
  if (conds.length === 0) return literal(0, { width: 1, signed: false }, loc);
  return balanced(conds, 'or', loc);
}
