/**
 * A reference interpreter for the DSL's expression IR, written from the width rules in docs/dsl.md:
 * it gives the value an expression must have, as a two's-complement bit pattern, so that simulations
 * of the emitted Verilog can be checked against it. `null` is an undefined value (an index past the
 * end of a vector).
 */
import { analysisOf, type Expr, InPort, type ModuleDef, type Signal, type Stmt } from '../../generator/index.js';

const mask = (w: number): bigint => (1n << BigInt(w)) - 1n;

/** The bit pattern read as the number it means under the expression's signedness. */
function num(e: Expr, bits: bigint): bigint {
  if (!e.type.signed) return bits;
  return bits >> BigInt(e.width - 1) ? bits - (1n << BigInt(e.width)) : bits;
}

/** The value of `root`, reading signals through `read`. */
export function evaluate(root: Expr, read: (s: Signal) => bigint | null): bigint | null {
  const memo = new Map<Expr, bigint | null>();
  const ev = (e: Expr): bigint | null => {
    const known = memo.get(e);
    if (known !== undefined) return known;
    const v = compute(e);
    memo.set(e, v);
    return v;
  };
  const compute = (e: Expr): bigint | null => {
    const w = e.width;
    const toWidth = (v: bigint): bigint => v & mask(w);
    const op = e.op;
    switch (op.kind) {
      case 'lit':
        return toWidth(op.value);
      case 'ref': {
        const v = read(e as Signal);
        return v === null ? null : toWidth(v);
      }
      case 'memread':
        throw new Error('memories are not interpreted');
    }
    if (op.kind === 'mux') {
      const c = ev(op.cond);
      if (c === null) return null;
      return c ? ev(op.ifTrue) : ev(op.ifFalse);
    }
    if (op.kind === 'concat') {
      let acc = 0n;
      for (const p of op.parts) {
        const v = ev(p);
        if (v === null) return null;
        acc = (acc << BigInt(p.width)) | v;
      }
      return acc;
    }
    const a = ev(op.a);
    if (a === null) return null;
    switch (op.kind) {
      case 'not':
        return toWidth(~a);
      case 'neg':
        return toWidth(-num(op.a, a));
      case 'reduce': {
        if (op.op === 'and') return a === mask(op.a.width) ? 1n : 0n;
        if (op.op === 'or') return a !== 0n ? 1n : 0n;
        let p = 0n;
        for (let x = a; x; x >>= 1n) p ^= x & 1n;
        return p;
      }
      case 'slice':
        return (a >> BigInt(op.lo)) & mask(op.hi - op.lo + 1);
      case 'repeat': {
        let acc = 0n;
        for (let i = 0; i < op.count; i++) acc = (acc << BigInt(op.a.width)) | a;
        return acc;
      }
      case 'ext':
        return toWidth(num(op.a, a));
      case 'cast':
        return a;
      case 'index': {
        const i = ev(op.index);
        if (i === null || i >= BigInt(op.a.width)) return null;
        return (a >> i) & 1n;
      }
      case 'part': {
        const i = ev(op.index);
        if (i === null || (i + 1n) * BigInt(op.size) > BigInt(op.a.width)) return null;
        return (a >> (i * BigInt(op.size))) & mask(op.size);
      }
      case 'bin': {
        const b = ev(op.b);
        if (b === null) return null;
        const x = num(op.a, a);
        const y = num(op.b, b);
        switch (op.op) {
          case 'add':
            return toWidth(x + y);
          case 'sub':
            return toWidth(x - y);
          case 'mul':
            return toWidth(x * y);
          case 'and':
            return a & b;
          case 'or':
            return a | b;
          case 'xor':
            return a ^ b;
          case 'eq':
            return x === y ? 1n : 0n;
          case 'ne':
            return x !== y ? 1n : 0n;
          case 'lt':
            return x < y ? 1n : 0n;
          case 'le':
            return x <= y ? 1n : 0n;
          case 'gt':
            return x > y ? 1n : 0n;
          case 'ge':
            return x >= y ? 1n : 0n;
          case 'shl':
            return toWidth(a << b);
          case 'shr':
            return toWidth(x >> b);
        }
      }
    }
    throw new Error(`cannot evaluate a ${(op as { kind: string }).kind} node`);
  };
  return ev(root);
}

/**
 * The value of every combinational signal of a module without registers, given its inputs: each
 * signal runs the statements of its always block in order, the last assignment winning per bit, and
 * reads other signals' final values (continuous semantics).
 */
export function evaluateModule(def: ModuleDef<unknown>, inputs: ReadonlyMap<string, bigint>): Map<string, bigint | null> {
  const groups = analysisOf(def).groups;
  const values = new Map<Signal, bigint | null>();
  const read = (s: Signal): bigint | null => {
    if (s instanceof InPort) {
      const v = inputs.get(s.name);
      if (v === undefined) throw new Error(`no value for input '${s.name}'`);
      return v;
    }
    if (values.has(s)) return values.get(s) as bigint | null;
    const g = groups.find((x) => x.signals.includes(s as never));
    if (g?.kind !== 'comb') throw new Error(`'${s.name}' is not combinational`);
    const v = run(g.stmts, s, null);
    values.set(s, v);
    return v;
  };
  const run = (stmts: Stmt[], s: Signal, start: bigint | null): bigint | null => {
    let v = start;
    for (const st of stmts) {
      if (st.kind === 'assign') {
        if (st.target !== s) continue;
        const x = evaluate(st.value, read);
        if (st.sel === null) v = x;
        else if (v === null || x === null) v = null;
        else {
          let lo: bigint;
          let size: bigint;
          if (st.sel.kind === 'slice') {
            lo = BigInt(st.sel.lo);
            size = BigInt(st.sel.hi - st.sel.lo + 1);
          } else {
            const i = evaluate(st.sel.index, read);
            if (i === null) return null;
            size = st.sel.kind === 'index' ? 1n : BigInt(st.sel.size);
            lo = i * size;
            if (lo + size > BigInt(s.width)) continue;
          }
          const m = ((1n << size) - 1n) << lo;
          v = (v & ~m) | ((x << lo) & m);
        }
      } else if (st.kind === 'when') {
        let taken = false;
        for (const b of st.branches) {
          const c = evaluate(b.cond, read);
          if (c === null) return null;
          if (c) {
            v = run(b.body, s, v);
            taken = true;
            break;
          }
        }
        if (!taken && st.otherwise) v = run(st.otherwise, s, v);
      } else {
        const subject = evaluate(st.subject, read);
        if (subject === null) return null;
        const hit = st.cases.find((c) => c.values.some((x) => evaluate(x, read) === subject));
        if (hit) v = run(hit.body, s, v);
        else if (st.default) v = run(st.default, s, v);
      }
    }
    return v;
  };
  const out = new Map<string, bigint | null>();
  for (const p of def.builder.ports) if (!(p instanceof InPort)) out.set(p.name, read(p));
  return out;
}
