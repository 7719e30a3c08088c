/**
 * A loaded model: port views over its memory, the clock, reset and waveforms.
 *
 * Timing rules (see docs/testbench.md):
 * - `tick()` runs one clock cycle: clock low and evaluate (combinational logic settles with the inputs
 *   written since the last edge), copy every port into `sampled`, clock high and evaluate (registers
 *   take their inputs; combinational logic settles again).
 * - After `tick()`, `ports` shows the state after the edge; `sampled` shows what the edge sampled.
 * - Writes to inputs go straight into the model and are seen by the next edge. Combinational outputs
 *   follow them only at the next `tick()` or `settle()`.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BuiltModel } from './build.js';
import type { TraceFormat } from './glue.js';
import { type InputLog, inputLogger } from './input-log.js';
import { loadNative, type NativeInstance, type NativeModel } from './native.js';
import { type AccessorFactories, accessorFactories, type PortInput, type PortValue, type PortValues, viewsOf } from './port-class.js';
import { type PortInfo, portBytes } from './ports.js';
import { defaultWavesPath } from './waves.js';

/** A port by name, for code that is given port names at run time (transactors, monitors). */
export interface Port {
  readonly name: string;
  readonly dir: PortInfo['dir'];
  readonly width: number;
  /** The current value (number up to 32 bits, bigint beyond). */
  get(): PortValue;
  set(v: PortInput): void;
  /** The value at the last rising edge. */
  sampled(): PortValue;
  /** A live view of the port's 32-bit words (word 0 = bits 31:0), or null for ports stored in 8 or 16 bits. */
  readonly words: Uint32Array | null;
  /** The same over the sample buffer. */
  readonly sampledWords: Uint32Array | null;
}

/** Sampled port bytes `Simulation.runQuiet` watches (from `Simulation.sampleWatch`). */
export interface SampleWatch {
  readonly names: readonly string[];
  /** Byte offsets in the sample buffer. */
  readonly offsets: Int32Array;
}

export interface ResetOptions {
  /** The reset port. Default: the first of rst, reset, rst_n, reset_n, resetn, aresetn, ARESETn that exists. */
  port?: string;
  /** Default: true for names ending in _n, _b, resetn or rstn. */
  activeLow?: boolean;
  /** Cycles to hold reset (default 2). */
  cycles?: number;
}

export const resetNames = ['rst', 'reset', 'rst_n', 'reset_n', 'resetn', 'aresetn', 'ARESETn'];

/** Randomized X initialization of an instance (needs a model built with `xInit`). */
export interface XInitOptions {
  /** Seed of the initial values, 1 .. 2^31-1 (Verilator takes 0 as "pick one at random"). */
  seed: number;
}

export interface LoadOptions {
  /**
   * Give every variable without a reset (registers, memories) and every X the design assigns a
   * random value drawn from this seed when the instance is created, as a 4-state simulator's X
   * could resolve. Without it they start at 0.
   */
  xInit?: XInitOptions;
}

/** Whether a reset port's name says it is active low. */
export function activeLowName(name: string): boolean {
  return /(_n|_b|resetn|rstn)$/i.test(name);
}

const openSims = new Set<{ close(): void }>();
let exitHook = false;
function closeAtExit(sim: { close(): void }): void {
  openSims.add(sim);
  if (!exitHook) {
    exitHook = true;
    // FST writes its hierarchy on close: an unclosed file would not open.
    process.on('exit', () => {
      for (const s of openSims) s.close();
    });
  }
}

const closedNative: NativeInstance = new Proxy({} as NativeInstance, {
  get(_t, prop) {
    if (prop === 'destroy') return () => {};
    return () => {
      throw new Error('this simulation was closed; create a new one with simulate()');
    };
  },
});

/** Waveform control for one simulation. */
export class Waves {
  private current: string | null = null;
  constructor(
    private readonly sim: { readonly top: string },
    private readonly native: () => NativeInstance,
    readonly format: TraceFormat,
  ) {}

  /** The file being written, or null. */
  get file(): string | null {
    return this.current;
  }

  /** Starts writing every signal of the hierarchy to `file` (default build/waves/<top>.<fst|vcd>). */
  start(file?: string): string {
    if (this.format === 'none') {
      throw new Error(
        `${this.sim.top} was built without waveform support: pass { waves: true } (or trace: 'fst') to simulate(), or set CDNA_WAVES=fst`,
      );
    }
    const target = path.resolve(file ?? defaultWavesPath(this.sim.top, this.format));
    const ext = path.extname(target).slice(1).toLowerCase();
    if (ext !== this.format)
      throw new Error(`${this.sim.top} was built for ${this.format} waveforms; '${target}' asks for ${ext || 'no format'}`);
    mkdirSync(path.dirname(target), { recursive: true });
    if (!this.native().traceOpen(target)) throw new Error(`could not open ${target} for waveforms`);
    this.current = target;
    if (process.env.CDNA_QUIET !== '1')
      process.stderr.write(`sim: ${this.sim.top}: waveforms in ${path.relative(process.cwd(), target)}\n`);
    return target;
  }

  /** Finishes the file (FST files only open after this, or after close()). */
  stop(): void {
    if (this.current === null) return;
    this.native().traceClose();
    this.current = null;
  }

  flush(): void {
    if (this.current !== null) this.native().traceFlush();
  }
}

export class Simulation<P extends object = PortValues> {
  readonly top: string;
  /** Ports by name: read outputs and inputs, write inputs. Numbers up to 32 bits, bigints beyond. */
  readonly ports: P;
  /** Port values at the last rising edge (what the registers sampled). Read only. */
  readonly sampled: Readonly<P>;
  /** Live 32-bit word views of ports stored in 32-bit words or wider (word 0 = bits 31:0). */
  readonly words: Readonly<Record<string, Uint32Array>>;
  /** The same over the sample buffer. */
  readonly sampledWords: Readonly<Record<string, Uint32Array>>;
  readonly portList: readonly PortInfo[];
  readonly clock: string | null;
  readonly model: BuiltModel;
  readonly waves: Waves;
  /** Rising edges since the model was created. */
  cycle = 0;
  /**
   * Called after every rising edge when set (the testbench runtime installs its scheduler here).
   * While null, `tick(n)` runs n cycles in one native call.
   */
  afterEdge: (() => void) | null = null;

  private native: NativeInstance;
  private inputLog: InputLog | null = null;
  private readonly closeHooks = new Set<() => void>();
  private readonly byName: Map<string, PortInfo>;
  private readonly handleFns: ReturnType<AccessorFactories['handles']>;
  private readonly handles = new Map<string, Port>();
  /** Byte view of the sample buffer, for `runQuiet`'s watch. */
  private sample8: Uint8Array;
  /** Whether the last `runQuiet` stopped at an edge where a watched port was nonzero. */
  woke = false;
  /** Cycles `runQuiet` has run since the model was created (how much of a run was quiet). */
  quietCycles = 0;

  /** The X seed this instance was created with, or null (initial values 0). */
  readonly xSeed: number | null;

  constructor(model: BuiltModel, native: NativeModel, accessors?: AccessorFactories, opts: LoadOptions = {}) {
    const info = native.info();
    this.model = model;
    this.top = info.top;
    this.clock = info.clock;
    this.portList = info.ports;
    this.byName = new Map(info.ports.map((p) => [p.name, p]));
    this.xSeed = opts.xInit?.seed ?? null;
    // Verilator's randReset 2: every initial value random, drawn from the seed.
    this.native = this.xSeed === null ? native.create() : native.create(2, this.xSeed);
    const mem = viewsOf(this.native.memory);
    const sample = viewsOf(this.native.sample);
    this.sample8 = new Uint8Array(this.native.sample);
    const f = accessors ?? accessorFactories(info.top, info.ports);
    this.ports = f.ports(mem) as P;
    this.sampled = f.sampled(sample) as P;
    this.handleFns = f.handles(mem, sample);
    const words: Record<string, Uint32Array> = {};
    const sampledWords: Record<string, Uint32Array> = {};
    for (const p of info.ports) {
      if (p.storage === 4 || p.storage === 8 || p.storage === 0) {
        words[p.name] = new Uint32Array(this.native.memory, p.offset, p.words);
        sampledWords[p.name] = new Uint32Array(this.native.sample, p.sampleOffset, p.words);
      }
    }
    this.words = words;
    this.sampledWords = sampledWords;
    this.waves = new Waves(this, () => this.native, info.trace);
    closeAtExit(this);
  }

  /** Runs `n` clock cycles (see the timing rules above). */
  tick(n = 1): void {
    if (n !== 1 && (!Number.isInteger(n) || n < 0)) throw new RangeError(`tick(${n}): the cycle count must be a whole number >= 0`);
    if (this.afterEdge === null) {
      if (n === 1) this.native.step();
      else this.tickMany(n);
      this.cycle += n;
      return;
    }
    const hook = this.afterEdge;
    for (let i = 0; i < n; i++) {
      this.native.step();
      this.cycle++;
      hook();
      if (this.afterEdge !== hook) {
        this.tick(n - i - 1);
        return;
      }
    }
  }

  private tickMany(n: number): void {
    if (this.clock === null && n > 0) throw new Error(`${this.top} has no clock (clock: null): use settle() to evaluate it`);
    while (n > 0) {
      const k = Math.min(n, 0xffffffff);
      this.native.tick(k);
      n -= k;
    }
  }

  /**
   * The sampled bytes of `names` (outputs or inputs), for `runQuiet`: an edge at which any of them is
   * nonzero wakes the caller.
   */
  sampleWatch(names: readonly string[]): SampleWatch {
    const offsets: number[] = [];
    for (const name of new Set(names)) {
      const p = this.byName.get(name);
      if (!p) throw new Error(`${this.top} has no port '${name}' to watch`);
      const bytes = portBytes(p);
      for (let b = 0; b < bytes; b++) offsets.push(p.sampleOffset + b);
    }
    return { names: [...new Set(names)], offsets: Int32Array.from(offsets) };
  }

  /** Whether any watched byte was sampled nonzero at the last edge. */
  sampledAny(watch: SampleWatch): boolean {
    const s8 = this.sample8;
    const offs = watch.offsets;
    for (let j = 0; j < offs.length; j++) if (s8[offs[j]] !== 0) return true;
    return false;
  }

  /**
   * Runs up to `n` cycles without the edge hook, stopping after the first edge at which a watched
   * port's sample is nonzero. Returns the cycles run; `woke` tells whether the last of them hit a
   * watched port (its edge's hook has not run: the caller runs it). Quiet stretches of a testbench
   * (every transactor idle, nothing due) cost one native step each instead of every callback.
   */
  runQuiet(n: number, watch: SampleWatch): number {
    if (this.clock === null) throw new Error(`${this.top} has no clock (clock: null): use settle() to evaluate it`);
    const s8 = this.sample8;
    const offs = watch.offsets;
    const native = this.native;
    for (let i = 1; i <= n; i++) {
      native.step();
      this.cycle++;
      for (let j = 0; j < offs.length; j++) {
        if (s8[offs[j]] !== 0) {
          this.woke = true;
          this.quietCycles += i;
          return i;
        }
      }
    }
    this.woke = false;
    this.quietCycles += n;
    return n;
  }

  /**
   * Logs the inputs of every evaluation from now until the log's `stop()`, for replaying the run
   * without the testbench (sim/input-log.ts). One log at a time.
   */
  logInputs(): InputLog {
    if (this.native === closedNative) throw new Error('this simulation was closed; create a new one with simulate()');
    if (this.inputLog !== null) throw new Error(`${this.top}: an input log is already running; stop() it first`);
    const { wrapped, log } = inputLogger(this.native, this.portList, this.clock, (original) => {
      if (this.native === wrapped) this.native = original;
      this.inputLog = null;
    });
    this.native = wrapped;
    this.inputLog = log;
    return log;
  }

  /** Evaluates without a clock edge, so combinational outputs follow inputs written since the last edge. */
  settle(): void {
    this.native.eval();
  }

  /** Holds reset for a few cycles, then releases it (the release is seen by the next edge). */
  reset(opts: ResetOptions = {}): void {
    const name = opts.port ?? resetNames.find((n) => this.byName.get(n)?.dir === 'input');
    if (!name) {
      throw new Error(`${this.top} has no reset port named ${resetNames.join(', ')}; pass reset({ port: '<name>' })`);
    }
    const port = this.port(name);
    if (port.dir !== 'input') throw new Error(`reset: ${this.top}.${name} is not an input`);
    const activeLow = opts.activeLow ?? activeLowName(name);
    const cycles = opts.cycles ?? 2;
    port.set(activeLow ? 0 : 1);
    this.tick(cycles);
    port.set(activeLow ? 1 : 0);
  }

  /** The port called `name`, with typed accessors; throws with the list of ports if there is none. */
  port(name: string): Port {
    const known = this.handles.get(name);
    if (known) return known;
    const p = this.byName.get(name);
    const fns = this.handleFns[name];
    if (!p || !fns) {
      throw new Error(`${this.top} has no port '${name}'; its ports are: ${this.portList.map((q) => q.name).join(', ')}`);
    }
    const handle: Port = {
      name,
      dir: p.dir,
      width: p.width,
      get: fns.get,
      set: fns.set,
      sampled: fns.sampled,
      words: this.words[name] ?? null,
      sampledWords: this.sampledWords[name] ?? null,
    };
    this.handles.set(name, handle);
    return handle;
  }

  /** True when the model has a port called `name`. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Every port's current value, for logging and snapshots. */
  peekAll(): Record<string, PortValue> {
    const out: Record<string, PortValue> = {};
    for (const p of this.portList) out[p.name] = this.handleFns[p.name].get();
    return out;
  }

  /** Simulation time in picoseconds (10 ns per cycle in waveforms). */
  get time(): bigint {
    return this.native.time();
  }

  /** True once the design executed $finish. */
  get finished(): boolean {
    return this.native.gotFinish();
  }

  /**
   * Calls `fn` once when the simulation is closed, before the model is freed (a testbench ends its
   * waits there, so nothing of it runs on a freed model). Returns a function that removes the hook.
   */
  onClose(fn: () => void): () => void {
    this.closeHooks.add(fn);
    return () => this.closeHooks.delete(fn);
  }

  /** Finishes waveforms, runs final blocks and frees the model. Further use throws. */
  close(): void {
    if (this.native === closedNative) return;
    const hooks = [...this.closeHooks];
    this.closeHooks.clear();
    let hookError: unknown = null;
    for (const fn of hooks) {
      try {
        fn();
      } catch (e) {
        hookError ??= e;
      }
    }
    this.afterEdge = null;
    this.waves.stop();
    const n = this.native;
    this.native = closedNative;
    n.destroy(n);
    openSims.delete(this);
    if (hookError !== null) throw hookError;
  }
}

const loaded = new Map<string, { native: NativeModel; accessors: AccessorFactories }>();

/** Refuses a seed Verilator would not take as given (0 means "random" to it; it keeps 31 bits). */
export function checkXSeed(x: XInitOptions): void {
  if (!Number.isInteger(x.seed) || x.seed < 1 || x.seed > 0x7fffffff) {
    throw new RangeError(`xInit seed ${x.seed}: a seed is a whole number from 1 to 2^31-1`);
  }
}

/** Loads a built model and creates a fresh instance of it (instances share the generated port classes). */
export function loadModel<P extends object = PortValues>(model: BuiltModel, opts: LoadOptions = {}): Simulation<P> {
  if (opts.xInit) {
    checkXSeed(opts.xInit);
    if (!model.xInit) {
      throw new Error(
        `${model.top} was built without randomized X initialization: build it with { xInit: true } (simulate() does so for xInit)`,
      );
    }
  }
  let entry = loaded.get(model.nodePath);
  if (!entry) {
    const native = loadNative(model.nodePath);
    const info = native.info();
    entry = { native, accessors: accessorFactories(info.top, info.ports) };
    loaded.set(model.nodePath, entry);
  }
  return new Simulation<P>(model, entry.native, entry.accessors, opts);
}
