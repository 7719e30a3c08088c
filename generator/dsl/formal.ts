/**
 * Properties beside the design: `assert`, `assume` and `cover` statements and formal-only state
 * (`past`, `ghost` registers). They are not hardware: the emitter writes them inside `ifdef FORMAL`
 * (read by `cdna prove` through yosys) and, for simulation, inside `ifdef VERILATOR` as immediate
 * assertions that Verilator checks when built with `--assert`. Hardware can never read them.
 */
import { children, type Expr } from './expr.js';
import { Signal, type SignalOwner } from './signal.js';
import type { SourceLoc } from './source.js';
import type { HwType } from './types.js';

export type PropertyKind = 'assert' | 'assume' | 'cover';

/** One property, checked in every cycle that is not a reset cycle and in which `enable` holds. */
export interface Property {
  kind: PropertyKind;
  /** A Verilog name for the property's condition wire (unique in its module). */
  name: string;
  /** assert/assume: must hold; cover: must be reachable. */
  cond: Expr;
  /** The enclosing when/switch conditions, and the `past` depth being reached. */
  enable: Expr;
  message: string;
  src: SourceLoc;
}

/**
 * A formal-only register: it takes `next` on every clock edge and `reset` while `rst` is high.
 * `past(x)` is one of these; `ghost(...)` gives one to the user (counters, sticky flags).
 */
export class GhostReg extends Signal {
  /** Set once, right after construction, because `next` may read the register itself. */
  next: Expr | null = null;

  constructor(
    name: string,
    type: HwType,
    owner: SignalOwner,
    src: SourceLoc,
    readonly reset: bigint,
    /** Cycles after reset before its value means anything (a past of depth n: n). */
    readonly lookBack: number,
  ) {
    super(name, 'reg', type, owner, src);
  }
}

/** The deepest `past` an expression reads: the cycles after reset before it may be evaluated. */
export function pastDepth(root: Expr): number {
  let depth = 0;
  const todo: Expr[] = [root];
  const seen = new Set<Expr>();
  while (todo.length) {
    const e = todo.pop() as Expr;
    if (seen.has(e)) continue;
    seen.add(e);
    if (e instanceof GhostReg) depth = Math.max(depth, e.lookBack);
    else for (const c of children(e.op)) todo.push(c);
  }
  return depth;
}

/** The most cycles `past` may look back: the reset-distance counter saturates there. */
export const MAX_PAST = 15;
