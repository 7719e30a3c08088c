import type { ClockDomain } from './domain.js';
import { ElaborationError } from './errors.js';
import { Expr, literal, type Operand } from './expr.js';
import { captureSource, type SourceLoc } from './source.js';
import type { HwType } from './types.js';

/**
 * How a signal is made: ports of this module, wires and registers, outputs of memory read ports, and
 * the two sides of a submodule's ports as seen from its parent.
 */
export type SignalKind = 'input' | 'output' | 'wire' | 'reg' | 'memrd' | 'instIn' | 'instOut';

/** Which way a bundle field flows relative to the bundle's master side. */
export type Flow = 'fwd' | 'bwd';

/** Part of a signal that an assignment drives; null in a statement means the whole signal. */
export type Selection =
  | { kind: 'slice'; hi: number; lo: number }
  | { kind: 'index'; index: Expr }
  | { kind: 'part'; index: Expr; size: number };

/** The module side a signal reports its assignments to (implemented by ModuleBuilder). */
export interface SignalOwner {
  readonly name: string;
  recordAssign(target: DrivenSignal, sel: Selection | null, value: Expr, loc: SourceLoc): void;
}

export interface SignalOptions {
  reset?: bigint;
  /** Names of the values a state register takes; emitted as localparams. */
  enumNames?: Map<bigint, string>;
  flow?: Flow;
  /** The clock domain of a register or of a memory read port's data register. */
  domain?: ClockDomain;
  /** A register of a synchronizer, or one that captures a value held stable for it: see SynchronizerStage. */
  synchronizer?: SynchronizerStage;
}

/**
 * 'first': the first flop of a synchronizer, which may sample a signal of another clock domain (a
 * legal crossing point for the crossing check); 'stage': a later flop of the chain. Both are emitted
 * with ASYNC_REG. 'capture': a register that samples a value of another domain which a handshake
 * holds stable while it is sampled (the crossing check allows it; no ASYNC_REG).
 */
export type SynchronizerStage = 'first' | 'stage' | 'capture';

/** A named signal of a module; readable as an expression. */
export class Signal extends Expr {
  constructor(
    readonly name: string,
    readonly kind: SignalKind,
    type: HwType,
    readonly owner: SignalOwner,
    src: SourceLoc,
    readonly options: SignalOptions = {},
  ) {
    super({ kind: 'ref' }, type, src);
  }

  override label(): string {
    return `'${this.name}'`;
  }

  get flow(): Flow {
    return this.options.flow ?? 'fwd';
  }
}

/** A signal this module drives: an output port, a wire, a register, or a submodule's input. */
export class DrivenSignal extends Signal {
  /** Drives the whole signal; widths must match exactly (a JS literal takes this signal's type). */
  set(v: Operand): void {
    const loc = captureSource();
    const value = v instanceof Expr ? v : literal(v, this.type, loc);
    checkAssign(this.name, this.type, value, loc);
    this.owner.recordAssign(this, null, value, loc);
  }

  /** An assignable slice: `x.at(hi, lo).set(v)` drives bits hi..lo only. */
  at(hi: number, lo: number = hi): SignalPart {
    const loc = captureSource();
    if (!Number.isInteger(hi) || !Number.isInteger(lo) || lo < 0 || hi < lo || hi >= this.width) {
      throw new ElaborationError(`bits ${hi}..${lo} are out of range for '${this.name}' (${this.width} bits)`, loc);
    }
    return new SignalPart(this, { kind: 'slice', hi, lo }, hi - lo + 1, loc);
  }

  /** An assignable bit at a position given by a signal: `pending.atIndex(ctx).set(1)`. */
  atIndex(index: Expr): SignalPart {
    const loc = captureSource();
    checkIndexWidth(this, index, this.width, loc);
    return new SignalPart(this, { kind: 'index', index }, 1, loc);
  }

  /** The assignable `index`-th group of `size` bits. */
  atPart(index: Expr, size: number): SignalPart {
    const loc = captureSource();
    if (!Number.isInteger(size) || size < 1 || this.width % size !== 0) {
      throw new ElaborationError(`atPart(_, ${size}): the group size must divide the width ${this.width} of '${this.name}'`, loc);
    }
    checkIndexWidth(this, index, this.width / size, loc);
    return new SignalPart(this, { kind: 'part', index, size }, size, loc);
  }
}

function checkIndexWidth(s: Signal, index: Expr, count: number, loc: SourceLoc): void {
  let needed = 0;
  while (1 << needed < count) needed++;
  if (index.type.signed || index.width > Math.max(1, needed)) {
    throw new ElaborationError(
      `index of '${s.name}' must be unsigned and at most ${Math.max(1, needed)} bits wide, got ${index.width}`,
      loc,
    );
  }
}

function checkAssign(name: string, type: HwType, value: Expr, loc: SourceLoc): void {
  if (value.width !== type.width) {
    const how = value.width > type.width ? `trunc(${type.width})` : `resize(${type.width})`;
    throw new ElaborationError(
      `cannot assign a ${value.width}-bit value to '${name}' (${type.width} bits); say ${how} if that is meant`,
      loc,
    );
  }
  if (value.type.signed !== type.signed) {
    throw new ElaborationError(
      `cannot assign a ${value.type.signed ? 'signed' : 'unsigned'} value to ${type.signed ? 'signed' : 'unsigned'} '${name}'; use asSInt()/asUInt()`,
      loc,
    );
  }
}

/** Part of a driven signal, to assign. */
export class SignalPart {
  constructor(
    readonly signal: DrivenSignal,
    readonly sel: Selection,
    readonly width: number,
    readonly src: SourceLoc,
  ) {}

  set(v: Operand): void {
    const loc = captureSource();
    const type = { width: this.width, signed: false };
    const value = v instanceof Expr ? v : literal(v, type, loc);
    checkAssign(`${this.signal.name} part`, type, value, loc);
    this.signal.owner.recordAssign(this.signal, this.sel, value, loc);
  }
}

export class InPort extends Signal {
  readonly dir = 'in' as const;
}
export class OutPort extends DrivenSignal {
  readonly dir = 'out' as const;
}
export class Wire extends DrivenSignal {}
export class Reg extends DrivenSignal {}
/** A submodule's input as its parent sees it: the parent drives it. */
export class InstanceInput extends DrivenSignal {}
/** A submodule's output as its parent sees it: the parent reads it. */
export class InstanceOutput extends Signal {}
/** The registered output of a synchronous memory read port. */
export class MemoryReadData extends Signal {}
