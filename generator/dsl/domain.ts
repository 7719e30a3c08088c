/**
 * Clock domains: a clock and a reset, and how the registers of the domain use the reset. Every module
 * has the default domain (`clk`, `rst`: synchronous, active high); `m.domain(name, opts)` declares
 * more. The ports of a domain are added when something needs them (a register, a memory port, a
 * submodule's domain mapped onto it), so a module that has no register has no clock.
 */
import { ElaborationError } from './errors.js';
import { InPort, type SignalOwner } from './signal.js';
import type { SourceLoc } from './source.js';
import { Bool } from './types.js';

/** 'sync': the reset is sampled at the clock edge; 'async': it takes effect at once, and on release at the next edge. */
export type ResetKind = 'sync' | 'async';
/** The reset level that resets. */
export type ResetActive = 'high' | 'low';

export interface DomainOptions {
  /** Default 'sync'. */
  reset?: ResetKind;
  /** Default 'high'. */
  resetActive?: ResetActive;
  /** The clock port's name; default `<name>_clk`. */
  clockPort?: string;
  /** The reset port's name; default `<name>_rst`, or `<name>_rst_n` when active low. */
  resetPort?: string;
}

/** The module side a domain creates its ports on (implemented by ModuleBuilder). */
export interface DomainOwner extends SignalOwner {
  claimName(name: string, loc: SourceLoc): void;
  addClockPort(p: InPort): void;
}

/** The name of every module's implicit domain. */
export const defaultDomainName = 'default';

export class ClockDomain {
  private clkPort: InPort | null = null;
  private rstPort: InPort | null = null;

  constructor(
    readonly owner: DomainOwner,
    readonly name: string,
    readonly reset: ResetKind,
    readonly resetActive: ResetActive,
    readonly clockName: string,
    readonly resetName: string,
    readonly src: SourceLoc,
  ) {}

  get isDefault(): boolean {
    return this.name === defaultDomainName;
  }

  /** The clock port, or null while nothing in the domain needed it. */
  get clk(): InPort | null {
    return this.clkPort;
  }

  /** The reset port, or null while no register of the domain has a reset. */
  get rst(): InPort | null {
    return this.rstPort;
  }

  ensureClock(loc: SourceLoc): InPort {
    this.clkPort ??= this.port(this.clockName, loc);
    return this.clkPort;
  }

  ensureReset(loc: SourceLoc): InPort {
    this.rstPort ??= this.port(this.resetName, loc);
    return this.rstPort;
  }

  private port(name: string, loc: SourceLoc): InPort {
    const p = new InPort(name, 'input', Bool, this.owner, loc);
    this.owner.claimName(name, loc);
    this.owner.addClockPort(p);
    return p;
  }

  /** `clock domain 'wr' of module async_fifo`, for messages. */
  describe(): string {
    return `clock domain '${this.name}' of module ${this.owner.name}`;
  }
}

/** Checks a domain's options and fills in the port names. */
export function domainSettings(
  name: string,
  opts: DomainOptions,
  loc: SourceLoc,
): { reset: ResetKind; resetActive: ResetActive; clockName: string; resetName: string } {
  const reset = opts.reset ?? 'sync';
  const resetActive = opts.resetActive ?? 'high';
  if (reset !== 'sync' && reset !== 'async') {
    throw new ElaborationError(`clock domain '${name}': reset '${String(reset)}' is not 'sync' or 'async'`, loc);
  }
  if (resetActive !== 'high' && resetActive !== 'low') {
    throw new ElaborationError(`clock domain '${name}': resetActive '${String(resetActive)}' is not 'high' or 'low'`, loc);
  }
  const clockName = opts.clockPort ?? `${name}_clk`;
  const resetName = opts.resetPort ?? `${name}_rst${resetActive === 'low' ? '_n' : ''}`;
  return { reset, resetActive, clockName, resetName };
}
