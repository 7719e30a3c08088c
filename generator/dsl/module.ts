import { createHash } from 'node:crypto';
import { type InstancePorts, isHwType, type MasterPorts, type SlavePorts, type Spec, type WireBundle, walkSpec } from './bundle.js';
import { ClockDomain, type DomainOptions, defaultDomainName, domainSettings } from './domain.js';
import { ElaborationError } from './errors.js';
import { any, Expr, fitsUnsigned, literal, type MemoryRef, mux, type Operand } from './expr.js';
import { fingerprint, firstDifference, rememberFingerprint } from './fingerprint.js';
import { GhostReg, MAX_PAST, type Property, type PropertyKind, pastDepth } from './formal.js';
import { checkModule } from './passes.js';
import {
  type DrivenSignal,
  type Flow,
  InPort,
  InstanceInput,
  InstanceOutput,
  MemoryReadData,
  OutPort,
  Reg,
  type Selection,
  Signal,
  type SignalOwner,
  type SynchronizerStage,
  Wire,
} from './signal.js';
import { captureSource, type SourceLoc } from './source.js';
import { Bool, type HwType, log2Ceil, UInt } from './types.js';
import { DrivenVec } from './vec.js';

/** One `when`/`elseWhen` arm: its condition and the statements under it. */
export interface WhenBranch {
  cond: Expr;
  body: Stmt[];
  src: SourceLoc;
}

/**
 * The statement IR. A when-chain is flat (`if / else if / else`), so a chain of 1000 elseWhens is one
 * statement, not 1000 nested ones.
 */
export type Stmt =
  | {
      kind: 'assign';
      target: DrivenSignal;
      sel: Selection | null;
      value: Expr;
      src: SourceLoc;
      /** A wire's `init`: a declared default, which later assignments may override (no overlap). */
      init?: true;
    }
  | { kind: 'when'; branches: WhenBranch[]; otherwise: Stmt[] | null; src: SourceLoc }
  | { kind: 'switch'; subject: Expr; cases: SwitchCase[]; default: Stmt[] | null; src: SourceLoc };

export type WhenStmt = Extract<Stmt, { kind: 'when' }>;
export type SwitchStmt = Extract<Stmt, { kind: 'switch' }>;

export interface SwitchCase {
  values: Expr[];
  body: Stmt[];
  src: SourceLoc;
}

export type ParamValue = number | string | boolean;
export type Params = Readonly<Record<string, ParamValue>>;

const verilogKeywords = new Set(
  `always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default defparam design
  disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive endspecify endtable endtask event
  for force forever fork function generate genvar highz0 highz1 if ifnone incdir include initial inout input instance
  integer join large liblist library localparam macromodule medium module nand negedge nmos nor noshowcancelled not
  notif0 notif1 or output parameter pmos posedge primitive pull0 pull1 pulldown pullup pulsestyle_onevent
  pulsestyle_ondetect rcmos real realtime reg release repeat rnmos rpmos rtran rtranif0 rtranif1 scalared
  showcancelled signed small specify specparam strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri
  tri0 tri1 triand trior trireg unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor
  bit byte logic int shortint longint interface always_ff always_comb always_latch unique priority`.split(/\s+/),
);

function checkCount(count: number, name: string): void {
  if (!Number.isInteger(count) || count < 1)
    throw new ElaborationError(`Vec '${name}' of ${count} elements: the count must be >= 1`, captureSource());
}

export interface MemoryWritePort {
  addr: Expr;
  data: Expr;
  enable: Expr;
  /** One bit per `granularity` bits of data, or null for whole-word writes. */
  mask: Expr | null;
  granularity: number;
  src: SourceLoc;
  /** The domain whose clock the write happens on. */
  domain: ClockDomain;
}

export interface MemoryReadPort {
  addr: Expr;
  enable: Expr;
  /** Its register is in `data.options.domain`. */
  data: MemoryReadData;
}

/**
 * What a synchronous read of a word returns in the cycle that word is written: `'old'` (the word
 * before the write, as the emitted Verilog simulates; yosys adds bypass flops where the block RAM
 * cannot do this itself, e.g. iCE40) or `'undefined'` (the design never relies on it; the memory is
 * marked `(* no_rw_check *)` and maps to bare block RAM).
 */
export type ReadUnderWrite = 'old' | 'undefined';

export interface MemoryOptions {
  width: number;
  depth: number;
  /** Initial words from address 0; the rest start at zero in synthesis and X in simulation. */
  init?: readonly (number | bigint)[];
  readUnderWrite?: ReadUnderWrite;
  /**
   * Written in one clock domain and read in another (a dual-clock FIFO's RAM). The crossing check
   * then lets reads of other domains see the words: the design must guarantee (as an asynchronous
   * FIFO's Gray-coded pointers do) that no word is read while it may be changing.
   */
  dualClock?: boolean;
  /**
   * Where synthesis puts the words, overriding its own choice (emitted as yosys' `ram_style`): `'block'`
   * maps even a shallow memory with synchronous reads to block RAM, whose output register is then the
   * read port's (yosys otherwise keeps up to about 64 words in LUT RAM plus flip-flops for that register);
   * `'distributed'` keeps it in LUT RAM.
   */
  ramStyle?: RamStyle;
}

export type RamStyle = 'block' | 'distributed';

/**
 * A memory. Synchronous read ports and write ports in one clock domain map to block RAM in yosys;
 * asynchronous reads make it distributed RAM or flip-flops. A synchronous read in the same cycle as a
 * write to the same address returns the old word unless the memory says readUnderWrite: 'undefined'.
 * Writes from several write() calls to one address in one cycle: the last call wins.
 */
export class Memory implements MemoryRef {
  readonly writes: MemoryWritePort[] = [];
  readonly reads: MemoryReadPort[] = [];
  readonly asyncReads: Expr[] = [];
  readonly addrWidth: number;

  constructor(
    readonly owner: ModuleBuilder,
    readonly name: string,
    readonly width: number,
    readonly depth: number,
    readonly init: readonly bigint[] | null,
    readonly src: SourceLoc,
    /** What a synchronous read returns while the same word is written: see MemoryOptions. */
    readonly readUnderWrite: ReadUnderWrite = 'old',
    /** See MemoryOptions.dualClock. */
    readonly dualClock = false,
    /** See MemoryOptions.ramStyle; null: synthesis chooses. */
    readonly ramStyle: RamStyle | null = null,
  ) {
    this.addrWidth = Math.max(1, log2Ceil(depth));
  }

  private address(addr: Operand, loc: SourceLoc): Expr {
    const a = addr instanceof Expr ? addr : literal(addr, UInt(this.addrWidth), loc);
    if (a.width !== this.addrWidth || a.type.signed) {
      throw new ElaborationError(
        `memory '${this.name}' (depth ${this.depth}) takes a ${this.addrWidth}-bit unsigned address, got ${a.width} bits`,
        loc,
      );
    }
    return a;
  }

  /** Writes `data` at `addr` on the clock edge, under the enclosing when/switch conditions. */
  write(addr: Operand, data: Operand, mask?: Expr): void {
    const loc = captureSource();
    const a = this.address(addr, loc);
    const d = data instanceof Expr ? data : literal(data, UInt(this.width), loc);
    if (d.width !== this.width) {
      throw new ElaborationError(`memory '${this.name}' is ${this.width} bits wide, write data is ${d.width} bits`, loc);
    }
    let granularity = this.width;
    if (mask) {
      if (this.width % mask.width !== 0) {
        throw new ElaborationError(`memory '${this.name}': a ${mask.width}-bit mask does not divide ${this.width}-bit words evenly`, loc);
      }
      granularity = this.width / mask.width;
    }
    this.owner.checkBuilding(loc);
    const domain = this.owner.currentDomain;
    domain.ensureClock(loc);
    this.writes.push({ addr: a, data: d, enable: this.owner.pathCondition(loc), mask: mask ?? null, granularity, src: loc, domain });
  }

  /**
   * A synchronous read port: the word at `addr` appears on the returned signal one cycle later. The port
   * reads when `enable` holds and the enclosing conditions hold; otherwise the output keeps its value.
   */
  read(addr: Operand, opts: { enable?: Expr; name?: string; domain?: ClockDomain } = {}): MemoryReadData {
    const loc = captureSource();
    const a = this.address(addr, loc);
    const cond = this.owner.pathCondition(loc);
    let enable = cond;
    if (opts.enable) {
      if (opts.enable.width !== 1)
        throw new ElaborationError(`memory '${this.name}': a read enable must be 1 bit wide, got ${opts.enable.width}`, loc);
      enable = cond.op.kind === 'lit' ? opts.enable : cond.and(opts.enable);
    }
    const name = opts.name ?? `${this.name}_rd${this.reads.length === 0 ? '' : this.reads.length}`;
    const domain = this.owner.domainFor(opts.domain, loc);
    domain.ensureClock(loc);
    const data = this.owner.declare(new MemoryReadData(name, 'memrd', UInt(this.width), this.owner, loc, { domain }));
    this.reads.push({ addr: a, enable, data });
    return data;
  }

  /** A combinational read (distributed RAM or flip-flops, never block RAM). */
  readAsync(addr: Operand): Expr {
    const loc = captureSource();
    const a = this.address(addr, loc);
    const e = new Expr({ kind: 'memread', mem: this, addr: a }, UInt(this.width), loc);
    this.asyncReads.push(e);
    return e;
  }
}

export interface InstanceRecord {
  name: string;
  def: ModuleDef<unknown>;
  /** Parent-side signal for each child port, by the child's port name. */
  connections: Map<string, InstanceInput | InstanceOutput>;
  /** The parent's domain for each of the child's domains that has a clock. */
  domains: Map<ClockDomain, ClockDomain>;
  src: SourceLoc;
}

export interface InstanceOptions {
  /**
   * The domain of this module that drives each of the child's clock domains, by the child's domain
   * name. The child's default domain goes to this module's default domain, and a named one to the
   * domain of the same name here, unless given.
   */
  domains?: Readonly<Record<string, ClockDomain>>;
}

export interface RegOptions {
  reset?: number | bigint | boolean;
  /** The register's clock domain (default: the one `withDomain` selects, else the default domain). */
  domain?: ClockDomain;
  /**
   * Marks a register of a synchronizer: 'first' may sample a signal of another domain (the crossing
   * check allows it), 'stage' is a later flop; both get ASYNC_REG. 'capture' samples a value of another
   * domain that a handshake holds stable. For library synchronizers (generator/lib/cdc.ts).
   */
  synchronizer?: SynchronizerStage;
}

/** A submodule instance; its `io` has the child's ports seen from the parent. */
export interface Instance<IO> {
  readonly name: string;
  readonly io: InstancePorts<IO>;
  /** Every port of the child by its name, including those its io leaves out. */
  readonly ports: ReadonlyMap<string, InstanceInput | InstanceOutput>;
}

type Frame = { stmts: Stmt[]; cond: Expr | null };

/** Builds one module: its ports, signals, statements, memories and instances. */
export class ModuleBuilder implements SignalOwner {
  readonly ports: Signal[] = [];
  readonly signals: Signal[] = [];
  readonly body: Stmt[] = [];
  readonly memories: Memory[] = [];
  readonly instances: InstanceRecord[] = [];
  readonly localNames = new Map<string, SourceLoc>();
  /** assert/assume/cover statements and formal-only registers (formal.ts): not hardware. */
  readonly properties: Property[] = [];
  readonly ghosts: GhostReg[] = [];
  /** Cycles since reset, saturating at MAX_PAST: made by the first `past`. */
  private pastCycles: GhostReg | null = null;
  private pastCount = 0;
  /** The clock domains, the default first. */
  readonly domains: ClockDomain[] = [];
  private defaultD: ClockDomain;
  private current: ClockDomain;
  private frames: Frame[] = [];
  private finished = false;

  constructor(
    readonly name: string,
    readonly params: Params,
  ) {
    this.frames.push({ stmts: this.body, cond: null });
    this.defaultD = new ClockDomain(this, defaultDomainName, 'sync', 'high', 'clk', 'rst', { file: '<implicit>', line: 0, column: 0 });
    this.domains.push(this.defaultD);
    this.current = this.defaultD;
  }

  /** The implicit domain: `clk` and `rst`, synchronous and active high unless configureDefaultDomain says otherwise. */
  get defaultDomain(): ClockDomain {
    return this.defaultD;
  }

  /**
   * Changes how the default domain resets (its ports stay `clk` and `rst`, or `rst_n` when active
   * low). Call it first in the body, before anything uses the domain.
   */
  configureDefaultDomain(opts: Pick<DomainOptions, 'reset' | 'resetActive'>): ClockDomain {
    const loc = captureSource();
    this.checkBuilding(loc);
    const old = this.defaultD;
    const used = this.signals.some((s) => s.options.domain === old) || old.clk || this.instances.length > 0;
    if (used)
      throw new ElaborationError(
        `configureDefaultDomain: the default domain of module ${this.name} is already in use; call it first in the body`,
        loc,
      );
    const s = domainSettings(
      defaultDomainName,
      { ...opts, clockPort: 'clk', resetPort: opts.resetActive === 'low' ? 'rst_n' : 'rst' },
      loc,
    );
    const d = new ClockDomain(this, defaultDomainName, s.reset, s.resetActive, s.clockName, s.resetName, loc);
    this.domains[0] = d;
    this.defaultD = d;
    if (this.current === old) this.current = d;
    return d;
  }

  /** The default domain's clock (`clk`), or null. */
  get clk(): InPort | null {
    return this.defaultDomain.clk;
  }

  /** The default domain's reset (`rst`), or null. */
  get rst(): InPort | null {
    return this.defaultDomain.rst;
  }

  /** Every domain's clock and reset port that exists, domain by domain: the first ports of the module. */
  clockResetPorts(): InPort[] {
    const out: InPort[] = [];
    for (const d of this.domains) {
      if (d.clk) out.push(d.clk);
      if (d.rst) out.push(d.rst);
    }
    return out;
  }

  /** @internal used by ClockDomain. */
  addClockPort(p: InPort): void {
    this.signals.push(p);
  }

  // ---- clock domains (domain.ts) ----

  /**
   * Declares a clock domain: `m.domain('rd', { reset: 'async', resetActive: 'low' })` has the ports
   * `rd_clk` and `rd_rst_n` once something uses them. Registers join it with `{ domain }` or inside
   * `m.withDomain(d, ...)`.
   */
  domain(name: string, opts: DomainOptions = {}): ClockDomain {
    const loc = captureSource();
    this.checkBuilding(loc);
    if (name === defaultDomainName) {
      throw new ElaborationError(
        `'${defaultDomainName}' is the implicit domain (clk, rst): use m.defaultDomain, or pick another name`,
        loc,
      );
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new ElaborationError(`clock domain name '${name}' is not a legal Verilog name (letters, digits and _)`, loc);
    }
    const prev = this.domains.find((d) => d.name === name);
    if (prev) {
      throw new ElaborationError(`clock domain '${name}' is declared twice in module ${this.name}`, loc, [
        { what: 'first declared', loc: prev.src },
      ]);
    }
    const s = domainSettings(name, opts, loc);
    if (s.clockName === s.resetName)
      throw new ElaborationError(`clock domain '${name}': its clock and reset ports are both named '${s.clockName}'`, loc);
    const d = new ClockDomain(this, name, s.reset, s.resetActive, s.clockName, s.resetName, loc);
    this.domains.push(d);
    return d;
  }

  /** The domain `withDomain` selects here (the default domain outside any). */
  get currentDomain(): ClockDomain {
    return this.current;
  }

  /** Runs `body` with `d` as the domain of the registers, memory ports and FSMs it makes. */
  withDomain<T>(d: ClockDomain, body: () => T): T {
    const prev = this.current;
    this.current = this.domainFor(d, captureSource());
    try {
      return body();
    } finally {
      this.current = prev;
    }
  }

  /** @internal `d` checked to be this module's, or the current domain. */
  domainFor(d: ClockDomain | undefined, loc: SourceLoc): ClockDomain {
    if (d === undefined) return this.current;
    if (!(d instanceof ClockDomain) || d.owner !== this) {
      const what = d instanceof ClockDomain ? `${d.describe()}` : String(d);
      throw new ElaborationError(`${what} is not a clock domain of module ${this.name}; use one that m.domain() of this module made`, loc);
    }
    return d;
  }

  // ---- declarations ----

  claimName(name: string, loc: SourceLoc): void {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new ElaborationError(`'${name}' is not a legal Verilog name (letters, digits and _; not starting with a digit)`, loc);
    }
    if (verilogKeywords.has(name)) throw new ElaborationError(`'${name}' is a Verilog keyword; pick another name`, loc);
    const prev = this.localNames.get(name);
    if (prev)
      throw new ElaborationError(`'${name}' is declared twice in module ${this.name}`, loc, [{ what: 'first declared', loc: prev }]);
    this.localNames.set(name, loc);
  }

  declare<T extends Signal>(s: T): T {
    this.checkBuilding(s.src);
    this.claimName(s.name, s.src);
    this.signals.push(s);
    if (s instanceof InPort || s instanceof OutPort) this.ports.push(s);
    return s;
  }

  checkBuilding(loc: SourceLoc): void {
    if (this.finished) throw new ElaborationError(`module ${this.name} is already elaborated; build hardware inside its body`, loc);
    const active = building[building.length - 1];
    if (active !== this) {
      throw new ElaborationError(
        `this builds hardware in module ${this.name} while module ${active?.name ?? '(none)'} is being elaborated; use the builder of the module whose body you are in`,
        loc,
      );
    }
  }

  input(name: string, type: HwType = Bool): InPort {
    return this.declare(new InPort(name, 'input', type, this, captureSource()));
  }

  output(name: string, type: HwType = Bool): OutPort {
    return this.declare(new OutPort(name, 'output', type, this, captureSource()));
  }

  /** A combinational signal; with `init` it takes that value wherever no assignment overrides it. */
  wire(name: string, type: HwType = Bool, opts: { init?: Operand } = {}): Wire {
    const loc = captureSource();
    const w = this.declare(new Wire(name, 'wire', type, this, loc));
    if (opts.init !== undefined) {
      w.set(opts.init);
      const st = this.frame.stmts[this.frame.stmts.length - 1];
      if (st?.kind === 'assign' && st.target === w) st.init = true;
    }
    return w;
  }

  /** A named wire that carries `value`: for readable Verilog and waveforms. */
  named(name: string, value: Expr): Wire {
    const w = this.declare(new Wire(name, 'wire', value.type, this, captureSource()));
    w.set(value);
    return w;
  }

  /**
   * A register on its domain's clock (`clk` by default); with `reset` it takes that value while the
   * domain's reset is active (synchronous on `rst` by default).
   */
  reg(name: string, type: HwType = Bool, opts: RegOptions = {}): Reg {
    const loc = captureSource();
    const domain = this.domainFor(opts.domain, loc);
    let reset: bigint | undefined;
    if (opts.reset !== undefined) {
      const l = literal(opts.reset, type, loc);
      reset = l.op.kind === 'lit' ? l.op.value : undefined;
      domain.ensureReset(loc);
    }
    domain.ensureClock(loc);
    const sync = opts.synchronizer;
    if (sync !== undefined && sync !== 'first' && sync !== 'stage' && sync !== 'capture') {
      throw new ElaborationError(`register '${name}': synchronizer '${String(sync)}' is not 'first', 'stage' or 'capture'`, loc);
    }
    return this.declare(
      new Reg(name, 'reg', type, this, loc, {
        ...(reset === undefined ? {} : { reset }),
        domain,
        ...(sync === undefined ? {} : { synchronizer: sync }),
      }),
    );
  }

  /** `count` registers `<name>_0..`, as a Vec: `v.at(i)`, `v.read(idx)`, `v.write(idx, x)`. */
  regVec(name: string, count: number, type: HwType = Bool, opts: RegOptions = {}): DrivenVec<Reg> {
    checkCount(count, name);
    return new DrivenVec(
      this,
      Array.from({ length: count }, (_, i) => this.reg(`${name}_${i}`, type, opts)),
    );
  }

  /** `count` wires `<name>_0..`, as a Vec. */
  wireVec(name: string, count: number, type: HwType = Bool, opts: { init?: Operand } = {}): DrivenVec<Wire> {
    checkCount(count, name);
    return new DrivenVec(
      this,
      Array.from({ length: count }, (_, i) => this.wire(`${name}_${i}`, type, opts)),
    );
  }

  /** A register whose values are named states (used by the FSM helper). */
  stateReg(name: string, states: readonly string[], reset: number): Reg {
    const loc = captureSource();
    const width = Math.max(1, log2Ceil(states.length));
    const enumNames = new Map<bigint, string>();
    states.forEach((s, i) => {
      enumNames.set(BigInt(i), `${name.toUpperCase()}_${s}`);
    });
    const domain = this.current;
    domain.ensureClock(loc);
    domain.ensureReset(loc);
    const reg = this.declare(new Reg(name, 'reg', UInt(width), this, loc, { reset: BigInt(reset), enumNames, domain }));
    // The localparams share the module's namespace with its signals.
    for (const n of enumNames.values()) this.claimName(n, loc);
    return reg;
  }

  memory(name: string, opts: MemoryOptions): Memory {
    const loc = captureSource();
    const ruw = opts.readUnderWrite ?? 'old';
    if (ruw !== 'old' && ruw !== 'undefined') {
      throw new ElaborationError(`memory '${name}': readUnderWrite '${String(ruw)}' is not 'old' or 'undefined'`, loc);
    }
    if (!Number.isInteger(opts.depth) || opts.depth < 1)
      throw new ElaborationError(`memory '${name}': depth ${opts.depth} must be >= 1`, loc);
    if (!Number.isInteger(opts.width) || opts.width < 1)
      throw new ElaborationError(`memory '${name}': width ${opts.width} must be >= 1`, loc);
    if (opts.ramStyle !== undefined && opts.ramStyle !== 'block' && opts.ramStyle !== 'distributed')
      throw new ElaborationError(`memory '${name}': ramStyle '${String(opts.ramStyle)}' is not 'block' or 'distributed'`, loc);
    let init: bigint[] | null = null;
    if (opts.init) {
      if (opts.init.length > opts.depth) {
        throw new ElaborationError(`memory '${name}': ${opts.init.length} initial words for a depth of ${opts.depth}`, loc);
      }
      init = opts.init.map((v, i) => {
        if (typeof v === 'number' && !Number.isSafeInteger(v)) {
          throw new ElaborationError(`memory '${name}': initial word ${i} (${v}) is not a whole number; use a bigint`, loc);
        }
        const b = BigInt(v);
        if (!fitsUnsigned(b, opts.width))
          throw new ElaborationError(`memory '${name}': initial word ${i} (${b}) does not fit ${opts.width} bits`, loc);
        return b;
      });
    }
    this.checkBuilding(loc);
    this.claimName(name, loc);
    this.current.ensureClock(loc);
    const m = new Memory(this, name, opts.width, opts.depth, init, loc, ruw, opts.dualClock === true, opts.ramStyle ?? null);
    this.memories.push(m);
    return m;
  }

  /** Ports for the master side of a bundle: `m.master('m_axis', axisSpec(...))`. */
  master<S extends Spec>(prefix: string, spec: S): MasterPorts<S> {
    return this.bundlePorts(prefix, spec, 'fwd') as MasterPorts<S>;
  }

  /** Ports for the slave side of a bundle: `m.slave('s_axil', axiLiteSpec(...))`. */
  slave<S extends Spec>(prefix: string, spec: S): SlavePorts<S> {
    return this.bundlePorts(prefix, spec, 'bwd') as SlavePorts<S>;
  }

  private bundlePorts(prefix: string, spec: Spec, side: 'fwd' | 'bwd'): unknown {
    const loc = captureSource();
    return walkSpec(spec, prefix, 'fwd', (name, type, flow) => {
      const out = (flow === 'fwd') === (side === 'fwd');
      const s = out ? new OutPort(name, 'output', type, this, loc, { flow }) : new InPort(name, 'input', type, this, loc, { flow });
      return this.declare(s);
    });
  }

  /** Wires shaped like a bundle, e.g. between two submodules. */
  wires<S extends Spec>(prefix: string, spec: S): WireBundle<S> {
    const loc = captureSource();
    return walkSpec(spec, prefix, 'fwd', (name, type, flow: Flow) =>
      this.declare(new Wire(name, 'wire', type, this, loc, { flow })),
    ) as WireBundle<S>;
  }

  /** The default domain's clock. */
  ensureClock(): InPort {
    return this.defaultDomain.ensureClock(captureSource());
  }

  /** The default domain's reset. */
  ensureReset(): InPort {
    return this.defaultDomain.ensureReset(captureSource());
  }

  /** The parent's domain for each child domain that has a clock (see InstanceOptions.domains). */
  private mapDomains(name: string, def: ModuleDef<unknown>, given: Readonly<Record<string, ClockDomain>>, loc: SourceLoc) {
    const map = new Map<ClockDomain, ClockDomain>();
    const childNames = new Set(def.builder.domains.map((d) => d.name));
    for (const k of Object.keys(given)) {
      if (!childNames.has(k)) {
        throw new ElaborationError(
          `instance '${name}': module ${def.verilogName} has no clock domain '${k}' (its domains: ${[...childNames].join(', ')})`,
          loc,
        );
      }
    }
    for (const cd of def.builder.domains) {
      if (!cd.clk) continue;
      const g = given[cd.name];
      const pd = g ? this.domainFor(g, loc) : cd.isDefault ? this.defaultDomain : this.domains.find((d) => d.name === cd.name);
      if (!pd) {
        throw new ElaborationError(
          `instance '${name}' of ${def.verilogName} needs a clock for its domain '${cd.name}'; pass { domains: { ${cd.name}: <a domain of module ${this.name}> } } or declare m.domain('${cd.name}')`,
          loc,
        );
      }
      pd.ensureClock(loc);
      if (cd.rst) pd.ensureReset(loc);
      map.set(cd, pd);
    }
    return map;
  }

  /** Instantiates a submodule; every input of `inst.io` must then be driven. */
  instance<IO>(name: string, def: ModuleDef<IO>, opts: InstanceOptions = {}): Instance<IO> {
    const loc = captureSource();
    this.checkBuilding(loc);
    this.claimName(name, loc);
    if (def.builder === this) throw new ElaborationError(`module ${this.name} cannot instantiate itself`, loc);
    const domains = this.mapDomains(name, def as ModuleDef<unknown>, opts.domains ?? {}, loc);
    const connections = new Map<string, InstanceInput | InstanceOutput>();
    const parentSide = (p: InPort | OutPort): InstanceInput | InstanceOutput => {
      const known = connections.get(p.name);
      if (known) return known;
      const s =
        p instanceof InPort
          ? new InstanceInput(`${name}_${p.name}`, 'instIn', p.type, this, loc, { flow: p.flow })
          : new InstanceOutput(`${name}_${p.name}`, 'instOut', p.type, this, loc, { flow: p.flow });
      this.declare(s);
      connections.set(p.name, s);
      return s;
    };
    const mapTree = (t: unknown, at: string): unknown => {
      if (t instanceof InPort || t instanceof OutPort) {
        if (t.owner !== def.builder) {
          throw new ElaborationError(`the io of module ${def.verilogName} returns '${t.name}' (at ${at}), a port of another module`, loc);
        }
        return parentSide(t);
      }
      if (t instanceof Signal) {
        throw new ElaborationError(
          `the io of module ${def.verilogName} returns '${t.name}' (at ${at}), a ${t.kind} and not a port; only ports can be seen from outside`,
          loc,
        );
      }
      if (Array.isArray(t)) return t.map((x, i) => mapTree(x, `${at}[${i}]`));
      // Plain records are walked; anything else (numbers, specs) is passed through as it is.
      if (typeof t !== 'object' || t === null || Object.getPrototypeOf(t) !== Object.prototype) return t;
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(t)) out[k] = mapTree((t as Record<string, unknown>)[k], at ? `${at}.${k}` : k);
      return out;
    };
    const io = mapTree(def.io, 'io') as InstancePorts<IO>;
    // Ports the child declared but did not return in its io still need a parent-side signal.
    for (const p of def.builder.ports) if (p instanceof InPort || p instanceof OutPort) parentSide(p);
    this.instances.push({ name, def: def as ModuleDef<unknown>, connections, domains, src: loc });
    return { name, io, ports: connections };
  }

  // ---- statements ----

  private get frame(): Frame {
    return this.frames[this.frames.length - 1] as Frame;
  }

  recordAssign(target: DrivenSignal, sel: Selection | null, value: Expr, loc: SourceLoc): void {
    if (!this.finished && building[building.length - 1] !== this) {
      throw new ElaborationError(`'${target.name}' belongs to module ${this.name}, which is not the module being elaborated here`, loc);
    }
    this.checkBuilding(loc);
    this.frame.stmts.push({ kind: 'assign', target, sel, value, src: loc });
  }

  private inFrame(stmts: Stmt[], cond: Expr | null, body: () => void): void {
    this.frames.push({ stmts, cond });
    try {
      body();
    } finally {
      this.frames.pop();
    }
  }

  /** The conjunction of the enclosing when/switch conditions (for memory ports). */
  pathCondition(loc: SourceLoc): Expr {
    let c: Expr | null = null;
    for (const f of this.frames) if (f.cond) c = c ? c.and(f.cond) : f.cond;
    return c ?? literal(1, Bool, loc);
  }

  private condition(c: Operand, loc: SourceLoc): Expr {
    const e = c instanceof Expr ? c : literal(c, Bool, loc);
    if (e.width !== 1) {
      throw new ElaborationError(`a condition must be 1 bit wide, got ${e.width} bits (use orR() or ne(0))`, loc);
    }
    return e;
  }

  /** `when(c, ...).elseWhen(c2, ...).otherwise(...)`; later assignments win over earlier ones. */
  when(cond: Operand, body: () => void): WhenChain {
    const loc = captureSource();
    this.checkBuilding(loc);
    const c = this.condition(cond, loc);
    const branch: WhenBranch = { cond: c, body: [], src: loc };
    const stmt: WhenStmt = { kind: 'when', branches: [branch], otherwise: null, src: loc };
    const list = this.frame.stmts;
    list.push(stmt);
    this.inFrame(branch.body, c, body);
    return new WhenChain(this, stmt, list, null, c);
  }

  /** Checks that a chain continues right after its statement, at the same nesting level. */
  private checkAdjacent(stmt: Stmt, list: Stmt[], what: string, loc: SourceLoc): void {
    this.checkBuilding(loc);
    if (this.frame.stmts !== list || list[list.length - 1] !== stmt) {
      throw new ElaborationError(`${what} must directly follow its ${stmt.kind} (no statement in between)`, loc, [
        { what: `the ${stmt.kind}`, loc: stmt.src },
      ]);
    }
  }

  /**
   * @internal used by WhenChain: adds an elseWhen (cond) or otherwise (null) arm; `none` says that no
   * earlier arm was taken. Returns the arm's condition.
   */
  addElse(stmt: WhenStmt, list: Stmt[], none: Expr, cond: Operand | null, body: () => void, loc: SourceLoc): Expr {
    const what = cond === null ? 'otherwise' : 'elseWhen';
    this.checkAdjacent(stmt, list, what, loc);
    if (stmt.otherwise) {
      throw new ElaborationError(`${what} after otherwise is never reached`, loc, [{ what: 'the when', loc: stmt.src }]);
    }
    if (cond === null) {
      stmt.otherwise = [];
      this.inFrame(stmt.otherwise, none, body);
      return none;
    }
    const c = this.condition(cond, loc);
    const branch: WhenBranch = { cond: c, body: [], src: loc };
    stmt.branches.push(branch);
    this.inFrame(branch.body, none.and(c), body);
    return c;
  }

  /** `switch(state).is(A, ...).is([B, C], ...).default(...)`. */
  switch(subject: Expr): SwitchChain {
    const loc = captureSource();
    this.checkBuilding(loc);
    const stmt: SwitchStmt = { kind: 'switch', subject, cases: [], default: null, src: loc };
    const list = this.frame.stmts;
    list.push(stmt);
    return new SwitchChain(this, stmt, list);
  }

  /** @internal used by SwitchChain: adds a case (values) or the default (null). */
  addCase(stmt: SwitchStmt, list: Stmt[], seen: Map<bigint, SourceLoc>, values: Operand[] | null, body: () => void, loc: SourceLoc): void {
    this.checkAdjacent(stmt, list, values === null ? 'default' : 'is', loc);
    if (stmt.default) {
      throw new ElaborationError(`a switch ${values === null ? 'default' : 'case'} after default is never reached`, loc, [
        { what: 'the switch', loc: stmt.src },
      ]);
    }
    if (values === null) {
      const taken = stmt.cases.flatMap((c) => c.values.map((v) => stmt.subject.eq(v)));
      const cond = taken.length ? any(...taken).not() : null;
      stmt.default = [];
      this.inFrame(stmt.default, cond, body);
      return;
    }
    if (values.length === 0) throw new ElaborationError('is([]) has no values; a case needs at least one', loc);
    const vals = values.map((v) => {
      const e = v instanceof Expr ? v : literal(v, stmt.subject.type, loc);
      if (e.op.kind !== 'lit') {
        throw new ElaborationError(`switch case values must be constants, got ${e.label()}; use when() to compare signals`, loc);
      }
      if (e.width !== stmt.subject.width || e.type.signed !== stmt.subject.type.signed) {
        throw new ElaborationError(
          `case value ${e.op.value} is ${e.width} bits but the switch subject is ${stmt.subject.width} bits; case values take the subject's type`,
          loc,
        );
      }
      const prev = seen.get(e.op.value);
      if (prev) throw new ElaborationError(`switch case value ${e.op.value} appears twice`, loc, [{ what: 'first case', loc: prev }]);
      seen.set(e.op.value, loc);
      return e;
    });
    const c: SwitchCase = { values: vals, body: [], src: loc };
    stmt.cases.push(c);
    const cond = any(...vals.map((v) => stmt.subject.eq(v)));
    this.inFrame(c.body, cond, body);
  }

  // ---- properties (formal.ts) ----

  private property(kind: PropertyKind, cond: Operand, message: string, opts: { name?: string }, loc: SourceLoc): void {
    this.checkBuilding(loc);
    const c = this.condition(cond, loc);
    if (typeof message !== 'string' || message.length === 0) {
      throw new ElaborationError(`${kind}: give a message that says what must hold`, loc);
    }
    const name = opts.name ?? `f_${kind}_${this.properties.filter((p) => p.kind === kind).length}`;
    this.requireDefaultDomain(kind, loc);
    this.claimName(name, loc);
    // A property is clocked: checked at each rising edge while rst is low, like a register update.
    this.ensureClock();
    this.ensureReset();
    let enable = this.pathCondition(loc);
    const depth = Math.max(pastDepth(c), pastDepth(enable));
    if (depth > 0 && this.pastCycles) {
      const reached = this.pastCycles.ge(depth);
      enable = enable.op.kind === 'lit' ? reached : enable.and(reached);
    }
    this.properties.push({ kind, name, cond: c, enable, message, src: loc });
  }

  /**
   * `cond` holds in every cycle out of reset in which the enclosing when/switch conditions hold.
   * Proven by `cdna prove`; in a Verilator build with `--assert` a failure stops the simulation with
   * `message` and this line. `opts.name` names its condition wire in the Verilog.
   */
  assert(cond: Operand, message: string, opts: { name?: string } = {}): void {
    this.property('assert', cond, message, opts, captureSource());
  }

  /**
   * The prover takes `cond` as given (a constraint on the inputs of the block being proven). In a
   * parent, the assumptions of submodules become assertions (the parent must keep them), and in
   * simulation they are checked like assertions.
   */
  assume(cond: Operand, message: string, opts: { name?: string } = {}): void {
    this.property('assume', cond, message, opts, captureSource());
  }

  /** The prover must find a trace that reaches `cond` (so an assertion does not hold vacuously). */
  cover(cond: Operand, message: string, opts: { name?: string } = {}): void {
    this.property('cover', cond, message, opts, captureSource());
  }

  /**
   * The value `x` had `cycles` clock edges ago (formal-only state). A property that reads it is
   * checked only from the `cycles`-th cycle after reset on, when that value is one of this run's.
   */
  past(x: Expr, cycles = 1): Expr {
    const loc = captureSource();
    this.checkBuilding(loc);
    if (!Number.isInteger(cycles) || cycles < 1 || cycles > MAX_PAST) {
      throw new ElaborationError(`past(_, ${cycles}): look back 1 to ${MAX_PAST} cycles`, loc);
    }
    if (!this.pastCycles) {
      const counter = this.addGhost('f_past_cycles', UInt(4), 0n, 0, loc);
      counter.next = mux(counter.eq(MAX_PAST), counter, counter.addWrap(1));
      this.pastCycles = counter;
    }
    let value = x;
    const base = pastDepth(x);
    for (let i = 1; i <= cycles; i++) {
      const r = this.addGhost(`f_past${this.pastCount++}`, x.type, 0n, base + i, loc);
      r.next = value;
      value = r;
    }
    return value;
  }

  /**
   * A formal-only register (a counter, a sticky flag, a copy of a value taken at some event): it takes
   * `next(itself)` at every clock edge and `reset` while `rst` is high. Only properties and other
   * ghosts may read it.
   */
  ghost(name: string, type: HwType, opts: { reset: number | bigint | boolean; next: (self: Expr) => Operand }): Expr {
    const loc = captureSource();
    this.checkBuilding(loc);
    const l = literal(opts.reset, type, loc);
    const r = this.addGhost(name, type, l.op.kind === 'lit' ? l.op.value : 0n, 0, loc);
    const n = opts.next(r);
    const value = n instanceof Expr ? n : literal(n, type, loc);
    if (value.width !== type.width || value.type.signed !== type.signed) {
      throw new ElaborationError(`ghost '${name}' is ${type.width} bits; its next value is ${value.width} bits`, loc);
    }
    r.next = value;
    return r;
  }

  private requireDefaultDomain(what: string, loc: SourceLoc): void {
    if (!this.current.isDefault) {
      throw new ElaborationError(
        `${what} inside withDomain(${this.current.name}): properties and formal-only state are clocked by the default domain only; move it out of withDomain`,
        loc,
      );
    }
  }

  private addGhost(name: string, type: HwType, reset: bigint, depth: number, loc: SourceLoc): GhostReg {
    this.requireDefaultDomain('past/ghost', loc);
    this.claimName(name, loc);
    this.ensureClock();
    this.ensureReset();
    const r = new GhostReg(name, type, this, loc, reset, depth);
    this.ghosts.push(r);
    return r;
  }

  finish(): void {
    this.finished = true;
  }
}

/** The rest of a when-chain: `.elseWhen(c, f)` and `.otherwise(f)`. */
export class WhenChain {
  constructor(
    private readonly m: ModuleBuilder,
    private readonly stmt: WhenStmt,
    private readonly list: Stmt[],
    /** "None of the arms before the last was taken" (null after the first arm). */
    private readonly noneBefore: Expr | null,
    /** The last arm's condition. */
    private readonly last: Expr,
  ) {}

  /** "No arm so far was taken": the enable of memory ports in the next arm. Built only when needed. */
  private none(): Expr {
    return this.noneBefore ? this.noneBefore.and(this.last.not()) : this.last.not();
  }

  elseWhen(cond: Operand, body: () => void): WhenChain {
    const none = this.none();
    const c = this.m.addElse(this.stmt, this.list, none, cond, body, captureSource());
    return new WhenChain(this.m, this.stmt, this.list, none, c);
  }

  otherwise(body: () => void): void {
    this.m.addElse(this.stmt, this.list, this.none(), null, body, captureSource());
  }
}

/** The cases of a switch: `.is(v, f)`, `.is([v1, v2], f)`, `.default(f)`. */
export class SwitchChain {
  private readonly seen = new Map<bigint, SourceLoc>();

  constructor(
    private readonly m: ModuleBuilder,
    private readonly stmt: SwitchStmt,
    private readonly list: Stmt[],
  ) {}

  is(values: Operand | Operand[], body: () => void): SwitchChain {
    this.m.addCase(this.stmt, this.list, this.seen, Array.isArray(values) ? values : [values], body, captureSource());
    return this;
  }

  default(body: () => void): void {
    this.m.addCase(this.stmt, this.list, this.seen, null, body, captureSource());
  }
}

/** An elaborated module: one per distinct (name, parameters). */
export interface ModuleDef<IO> {
  readonly name: string;
  readonly verilogName: string;
  readonly params: Params;
  readonly io: IO;
  readonly builder: ModuleBuilder;
  readonly src: SourceLoc;
}

/** The modules whose bodies are running, innermost last (a body may define its submodules). */
const building: ModuleBuilder[] = [];

interface Definition {
  def: ModuleDef<unknown>;
  /** The body's source text: a second body under the same name and parameters is a mistake. */
  body: string;
  /** What the body elaborated to (fingerprint.ts): a later call must elaborate to the same. */
  fingerprint: string;
}

const definitions = new Map<string, Definition>();
/** Verilog name -> definition key, so two parameter sets never share a Verilog name. */
const verilogNames = new Map<string, { key: string; src: SourceLoc }>();

function paramsShown(params: Params): string {
  const keys = Object.keys(params).sort();
  return keys.length ? `(${keys.map((k) => `${k}=${String(params[k])}`).join(', ')})` : '(none)';
}

/**
 * The longest module name derived from parameters, counted as Verilator encodes it (each `__` takes
 * 5 characters there, as `___05F`); a longer one is shortened to a hash. Verilator itself replaces
 * names past 127 encoded characters by a hash of its own, which breaks its file-name check and puts
 * unreadable scopes in waveforms.
 */
export const MAX_MODULE_NAME = 120;

/** A name's length as Verilator encodes it. */
export function encodedNameLength(name: string): number {
  return name.length + 4 * (name.match(/__/g)?.length ?? 0);
}

/** A parameter value as it appears in a module name (letters and digits only), or null if it cannot. */
function nameValue(v: ParamValue): string | null {
  const text = typeof v === 'number' ? String(v).replace(/^-/, 'm').replace('.', 'p') : String(v);
  return /^[A-Za-z0-9]+$/.test(text) ? text : null;
}

/**
 * The Verilog name of a module with parameters: `name__KEY_value__KEY_value` with the keys in sorted
 * order (`tx_fifo__DEPTH_16__WIDTH_8`). It parses back: the parameters are the `__`-separated
 * segments after the name, each split at its last `_` (keys never hold `__`, values are letters and
 * digits: a negative number is `m3`, a fraction `1p5`). Where that cannot be kept (a value with other
 * characters, a key with `__`, a name with `__`) or the name would be longer than MAX_MODULE_NAME, it
 * is `name__h` and 8 hex digits of a hash of the parameters; the emitted file's header lists them.
 * MAX_MODULE_NAME is counted as Verilator encodes names (encodedNameLength).
 */
export function moduleName(name: string, params: Params): string {
  const keys = Object.keys(params).sort();
  if (keys.length === 0) return name;
  const parts = keys.map((k) => {
    const v = nameValue(params[k] as ParamValue);
    return v !== null && /^[A-Za-z0-9]+(_[A-Za-z0-9]+)*$/.test(k) ? `${k}_${v}` : null;
  });
  const full = `${name}__${parts.join('__')}`;
  if (!name.includes('__') && parts.every((p) => p !== null) && encodedNameLength(full) <= MAX_MODULE_NAME) return full;
  const hash = createHash('sha256')
    .update(JSON.stringify(keys.map((k) => [k, params[k]])))
    .digest('hex')
    .slice(0, 8);
  return `${name}__h${hash}`;
}

function checkModuleName(name: string, loc: SourceLoc): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new ElaborationError(`module name '${name}' is not a legal Verilog name (letters, digits and _; not starting with a digit)`, loc);
  }
  if (verilogKeywords.has(name)) throw new ElaborationError(`module name '${name}' is a Verilog keyword; pick another name`, loc);
}

/**
 * Defines and elaborates a module. The body declares ports, builds logic and returns the ports it
 * exposes. Passes run at the end (see passes.ts). Everything that changes the hardware must be in
 * `params`: a second call with equal parameters runs the body again and returns the first definition
 * if the hardware is the same (fingerprint.ts), and refuses it, naming the first difference, if not.
 */
export function defineModule<IO>(
  name: string,
  params: Params,
  body: (m: ModuleBuilder) => IO,
  opts: { verilogName?: string } = {},
): ModuleDef<IO> {
  const src = captureSource();
  const key = `${name}|${opts.verilogName ?? ''}|${JSON.stringify(
    Object.keys(params)
      .sort()
      .map((k) => [k, params[k]]),
  )}`;
  const bodyText = body.toString();
  const cached = definitions.get(key);
  if (cached && cached.body !== bodyText) {
    throw new ElaborationError(
      `two different bodies define module '${name}' with the same parameters; give one of them another name`,
      src,
      [{ what: 'the other definition', loc: cached.def.src }],
    );
  }
  let verilogName: string;
  if (cached) verilogName = cached.def.verilogName;
  else {
    checkModuleName(name, src);
    for (const k of Object.keys(params)) {
      const v = params[k];
      if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') {
        throw new ElaborationError(`parameter ${k} of module '${name}' is a ${typeof v}; parameters are numbers, strings or booleans`, src);
      }
    }
    verilogName = opts.verilogName ?? moduleName(name, params);
    checkModuleName(verilogName, src);
    // Derived names must not collide (two parameter sets sanitized to one name). A name given with
    // opts.verilogName (a top such as cdna_nic) may serve several parameter sets in one process, for
    // separate designs; emitDesign still refuses two different modules of one name within a design.
    const taken = opts.verilogName ? undefined : verilogNames.get(verilogName);
    if (taken && taken.key !== key) {
      throw new ElaborationError(
        `module '${name}' with these parameters would be named ${verilogName}, like another definition; pass opts.verilogName`,
        src,
        [{ what: 'the other definition', loc: taken.src }],
      );
    }
  }
  // The body runs at every call, even for a known (name, params): a body that reads a value from its
  // closure instead of from params would otherwise silently get the first call's hardware.
  const builder = new ModuleBuilder(verilogName, params);
  building.push(builder);
  let io: IO;
  try {
    io = body(builder);
  } finally {
    building.pop();
  }
  builder.finish();
  const print = fingerprint(builder, io, src);
  if (cached) {
    if (cached.fingerprint === print) return cached.def as ModuleDef<IO>;
    const diff = firstDifference(cached.def, { builder, io, src });
    throw new ElaborationError(
      `module '${name}' elaborates to different hardware with the same parameters ${paramsShown(params)}: its body depends on a value that is not a parameter (a variable captured by the closure, or mutable state). A module is defined once per (name, params), so every instance would get the first call's hardware; pass the value in params (defineModule('${name}', { ...params, VALUE: v }, ...)) so that each value gets its own module`,
      src,
      [
        { what: 'the first definition', loc: cached.def.src },
        ...(diff
          ? [
              { what: 'the first difference: this call built', loc: diff.second },
              { what: 'where the first definition built', loc: diff.first },
            ]
          : []),
      ],
    );
  }
  const def: ModuleDef<IO> = { name, verilogName, params, io, builder, src };
  checkModule(def as ModuleDef<unknown>);
  rememberFingerprint(def as ModuleDef<unknown>, print);
  definitions.set(key, { def: def as ModuleDef<unknown>, body: bodyText, fingerprint: print });
  verilogNames.set(verilogName, { key, src });
  return def;
}

/** Forgets memoized definitions (tests that re-elaborate after changing a generator use this). */
export function clearDefinitions(): void {
  definitions.clear();
  verilogNames.clear();
}

export { isHwType };
