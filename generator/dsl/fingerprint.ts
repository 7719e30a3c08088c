/**
 * A structural fingerprint of an elaborated module: what its hardware is, without where it was written.
 * It covers the ports and signals (names, kinds, types, resets, state names), every statement with its
 * expressions and literal values, memories and their ports, instances (by their children's
 * fingerprints) and connections, properties and ghosts, and the shape of the io record. Two
 * elaborations with equal fingerprints emit the same Verilog (up to the source-line comments).
 *
 * `defineModule` uses it to refuse a body whose hardware depends on something outside `params` (a
 * value captured in a closure): see module.ts. The walk is iterative and linear in the module's size.
 */
import { createHash, type Hash } from 'node:crypto';
import { children, type Expr } from './expr.js';
import type { ModuleBuilder, ModuleDef, Stmt } from './module.js';
import { Signal } from './signal.js';
import type { SourceLoc } from './source.js';

const fingerprints = new WeakMap<ModuleDef<unknown>, string>();

/** The fingerprint recorded for a definition (computed when it was defined). */
export function fingerprintOf(def: ModuleDef<unknown>): string {
  const known = fingerprints.get(def);
  if (known) return known;
  const f = fingerprint(def.builder, def.io, def.src);
  fingerprints.set(def, f);
  return f;
}

export function rememberFingerprint(def: ModuleDef<unknown>, f: string): void {
  fingerprints.set(def, f);
}

class Walker {
  private readonly h: Hash = createHash('sha256');
  private readonly signalIds = new Map<Signal, number>();
  private readonly exprIds = new Map<Expr, number>();
  private readonly memIds = new Map<unknown, number>();

  constructor(
    private readonly b: ModuleBuilder,
    /** The defineModule call: the place of lines that no node of their own locates. */
    private readonly where: SourceLoc,
    /** When given, every line is also kept with the place that built it (to explain a difference). */
    private readonly lines: { text: string; loc: SourceLoc }[] | null = null,
  ) {}

  private put(text: string, loc: SourceLoc): void {
    this.h.update(text);
    this.h.update('\n');
    this.lines?.push({ text, loc });
  }

  private signal(s: Signal): string {
    const id = this.signalIds.get(s);
    // A signal of another module (an error the passes report) or not declared: named, not numbered.
    return id === undefined ? `?${s.owner.name}.${s.name}` : `s${id}`;
  }

  /** Numbers every node under `root` once (children first) and returns the root's number. */
  expr(root: Expr): number {
    const done = this.exprIds.get(root);
    if (done !== undefined) return done;
    const stack: Expr[] = [root];
    while (stack.length) {
      const e = stack[stack.length - 1] as Expr;
      if (this.exprIds.has(e)) {
        stack.pop();
        continue;
      }
      const kids = e.op.kind === 'ref' ? [] : children(e.op);
      let pending = false;
      for (const c of kids) {
        if (!this.exprIds.has(c)) {
          stack.push(c);
          pending = true;
        }
      }
      if (pending) continue;
      stack.pop();
      const id = this.exprIds.size;
      this.exprIds.set(e, id);
      this.put(`e${id} ${this.node(e, kids)}`, e.src);
    }
    return this.exprIds.get(root) as number;
  }

  private node(e: Expr, kids: Expr[]): string {
    const op = e.op;
    const type = `${e.type.signed ? 's' : 'u'}${e.width}`;
    const args = kids.map((c) => `e${this.exprIds.get(c)}`).join(',');
    switch (op.kind) {
      case 'lit':
        return `lit ${type} ${op.value}${op.name ? ` ${op.name}` : ''}`;
      case 'ref':
        return `ref ${type} ${e instanceof Signal ? this.signal(e) : '?'}`;
      case 'bin':
      case 'reduce':
        return `${op.kind}.${op.op} ${type} ${args}`;
      case 'slice':
        return `slice ${type} ${args} ${op.hi}:${op.lo}`;
      case 'part':
        return `part ${type} ${args} ${op.size}`;
      case 'repeat':
        return `repeat ${type} ${args} ${op.count}`;
      case 'memread':
        return `memread ${type} m${this.memIds.get(op.mem) ?? `?${op.mem.name}`} ${args}`;
      default:
        return `${op.kind} ${type} ${args}`;
    }
  }

  private stmts(list: Stmt[], depth: number): void {
    for (const st of list) {
      if (st.kind === 'assign') {
        const sel = st.sel;
        const where =
          sel === null
            ? ''
            : sel.kind === 'slice'
              ? ` [${sel.hi}:${sel.lo}]`
              : sel.kind === 'index'
                ? ` [e${this.expr(sel.index)}]`
                : ` [e${this.expr(sel.index)} +: ${sel.size}]`;
        this.put(`${depth} set ${this.signal(st.target)}${where} = e${this.expr(st.value)}`, st.src);
      } else if (st.kind === 'when') {
        for (const br of st.branches) {
          this.put(`${depth} when e${this.expr(br.cond)}`, br.src);
          this.stmts(br.body, depth + 1);
        }
        if (st.otherwise) {
          this.put(`${depth} otherwise`, st.src);
          this.stmts(st.otherwise, depth + 1);
        }
        this.put(`${depth} end`, st.src);
      } else {
        this.put(`${depth} switch e${this.expr(st.subject)}`, st.src);
        for (const c of st.cases) {
          this.put(`${depth} is ${c.values.map((v) => `e${this.expr(v)}`).join(',')}`, c.src);
          this.stmts(c.body, depth + 1);
        }
        if (st.default) {
          this.put(`${depth} default`, st.src);
          this.stmts(st.default, depth + 1);
        }
        this.put(`${depth} end`, st.src);
      }
    }
  }

  private io(root: unknown): void {
    const todo: [string, unknown][] = [['io', root]];
    while (todo.length) {
      const [at, t] = todo.pop() as [string, unknown];
      if (t instanceof Signal) this.put(`io ${at} ${this.signal(t)}`, t.src);
      else if (Array.isArray(t)) for (const [i, x] of t.entries()) todo.push([`${at}[${i}]`, x]);
      else if (typeof t === 'object' && t !== null && Object.getPrototypeOf(t) === Object.prototype) {
        for (const k of Object.keys(t)) todo.push([`${at}.${k}`, (t as Record<string, unknown>)[k]]);
      } else if (typeof t !== 'object' || t === null) this.put(`io ${at} ${typeof t} ${String(t)}`, this.where);
      else this.put(`io ${at} ${(t as object).constructor?.name ?? 'object'}`, this.where);
    }
  }

  run(io: unknown): string {
    const b = this.b;
    this.put(`module ${b.name} ${JSON.stringify(Object.keys(b.params).sort())}`, this.where);
    b.signals.forEach((s, i) => {
      this.signalIds.set(s, i);
      const o = s.options;
      const states = o.enumNames ? [...o.enumNames].map(([v, n]) => `${v}=${n}`).join(',') : '';
      this.put(`s${i} ${s.kind} ${s.name} ${s.type.signed ? 's' : 'u'}${s.width} ${o.reset ?? '-'} ${o.flow ?? 'fwd'} ${states}`, s.src);
    });
    this.put(`ports ${b.ports.map((p) => this.signal(p)).join(',')}`, this.where);
    b.ghosts.forEach((g, i) => {
      this.signalIds.set(g, b.signals.length + i);
      this.put(`ghost s${b.signals.length + i} ${g.name} ${g.type.signed ? 's' : 'u'}${g.width} ${g.reset} ${g.lookBack}`, g.src);
    });
    b.memories.forEach((m, i) => {
      this.memIds.set(m, i);
      this.put(`m${i} ${m.name} ${m.width}x${m.depth} ${m.readUnderWrite} ${m.ramStyle ?? '-'} ${m.init ? m.init.join(',') : '-'}`, m.src);
    });
    this.stmts(b.body, 0);
    b.memories.forEach((m, i) => {
      for (const w of m.writes) {
        const mask = w.mask ? `e${this.expr(w.mask)}` : '-';
        this.put(`m${i} write e${this.expr(w.addr)} e${this.expr(w.data)} e${this.expr(w.enable)} ${mask} ${w.granularity}`, w.src);
      }
      for (const r of m.reads) this.put(`m${i} read e${this.expr(r.addr)} e${this.expr(r.enable)} ${this.signal(r.data)}`, r.data.src);
      for (const r of m.asyncReads) this.put(`m${i} readAsync e${this.expr(r)}`, r.src);
    });
    for (const inst of b.instances) {
      const conns = [...inst.connections].map(([port, s]) => `${port}=${this.signal(s)}`).join(',');
      this.put(`inst ${inst.name} ${inst.def.verilogName} ${fingerprintOf(inst.def)} ${conns}`, inst.src);
    }
    for (const g of b.ghosts) if (g.next) this.put(`ghost ${this.signal(g)} next e${this.expr(g.next)}`, g.src);
    for (const p of b.properties) {
      this.put(`${p.kind} ${p.name} e${this.expr(p.cond)} e${this.expr(p.enable)} ${JSON.stringify(p.message)}`, p.src);
    }
    this.io(io);
    return this.h.digest('hex');
  }
}

/** The fingerprint of a builder's hardware and the io record its body returned. */
export function fingerprint(b: ModuleBuilder, io: unknown, where: SourceLoc): string {
  return new Walker(b, where).run(io);
}

/**
 * Where two elaborations of one module first differ: the line that built the differing node in each
 * (null if they do not differ). Used only to explain an error, so it may take its time.
 */
export function firstDifference(
  a: { builder: ModuleBuilder; io: unknown; src: SourceLoc },
  b: { builder: ModuleBuilder; io: unknown; src: SourceLoc },
): { first: SourceLoc; second: SourceLoc } | null {
  const la: { text: string; loc: SourceLoc }[] = [];
  const lb: { text: string; loc: SourceLoc }[] = [];
  new Walker(a.builder, a.src, la).run(a.io);
  new Walker(b.builder, b.src, lb).run(b.io);
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    const x = la[i];
    const y = lb[i];
    if (x?.text !== y?.text) return { first: x?.loc ?? a.src, second: y?.loc ?? b.src };
  }
  return null;
}
