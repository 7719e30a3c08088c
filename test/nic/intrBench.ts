/**
 * A bench around the interrupt engine alone: host memory behind the AXI4 slave transactor, the
 * register bus driven as the BAR1 block would, completion pulses from "TX" and "RX", INT_CTRL writes,
 * a hypervisor that reads the ring the way spec section 8 says, and monitors of every AXI transfer,
 * snapshot, irq and the pending and mask vectors. For bus faults, chosen entry writes can be answered
 * with an error (`faults`), and the bench plays the BAR1 block's part: GLOBAL_STATUS.INTR_FAULT set
 * by the engine's `m_fault` and cleared by `clearIntrFault()`, fault-interrupt requests by `faultIrq()`.
 */
import { decodeIntrEntry, INTR_ENTRY, type IntrEntry } from '../../hdl/descriptors.js';
import { intrEngine } from '../../hdl/nic/intrEngine.js';
import { type NicParams, resolveParams } from '../../hdl/params.js';
import { type Bar1GlobalReg, bar1GlobalOffset } from '../../hdl/registers/map.js';
import { type PortValue, type Simulation, simulate } from '../../sim/index.js';
import { Axi4SlaveMemory, type Axi4SlaveMemoryOptions } from '../../testbench/axi/index.js';
import { Testbench } from '../../testbench/runtime/index.js';
import { type ParamChoice, prepareAll, RegBusDriver, simulationCache } from './blockBench.js';
import { FaultableMemory, WriteFaults } from './busFaults.js';

type Ports = { [name: string]: PortValue };

/** Where the tests put the interrupt ring: above 4 GiB, so the upper address half matters. */
export const RING_BASE = 0x1_2345_6000;

export interface Aw {
  addr: number;
  len: number;
  size: number;
  cycle: number;
}

export interface WBeat {
  data: bigint;
  strb: bigint;
  last: boolean;
  cycle: number;
}

/** An entry as the hypervisor found it, with when it found it. */
export interface HarvestedEntry extends IntrEntry {
  slot: number;
  /** Entries counted from the last INTR_SEQ_INIT write. */
  index: number;
  /** irq pulses seen before the handler run that found it. */
  irqsBefore: number;
}

export interface RingConfig {
  base?: number;
  log2?: number;
  seqInit?: number;
  events?: number;
  cycles?: number;
  enable?: boolean;
}

const sims = simulationCache((p: NicParams) => simulate<Ports>(intrEngine(p)));
const simFor = (p: NicParams): Promise<Simulation<Ports>> => sims.get(p);

let open: IntrBench | null = null;

/** Closes the bench a failed test left open (call from afterEach). */
export function closeOpenBench(): void {
  open?.close();
}

export function closeSims(): Promise<void> {
  return sims.closeAll();
}

export interface IntrBenchOptions {
  profile?: string;
  params?: Record<string, number | boolean | string>;
  memory?: Omit<Axi4SlaveMemoryOptions, 'memory'>;
}

export class IntrBench {
  readonly tb: Testbench<Ports>;
  readonly mem = new FaultableMemory();
  readonly axi: Axi4SlaveMemory;
  readonly faults: WriteFaults;
  /** Cycles of the engine's `m_fault` pulses. */
  readonly faultPulses: number[] = [];
  /** GLOBAL_STATUS.INTR_FAULT as the BAR1 block would hold it (driven to `s_intr_fault`). */
  intrFault = false;
  private faultIrqAt: number[] = [];
  readonly aw: Aw[] = [];
  readonly w: WBeat[] = [];
  readonly b: number[] = [];
  readonly irqs: number[] = [];
  readonly snaps: number[] = [];
  /** Completion pulses as the engine sampled them. */
  readonly events: { ctx: number; cycle: number; dir: 'tx' | 'rx' }[] = [];
  /** INT_CTRL transfers as the engine took them. */
  readonly ctrl: { ctx: number; mask: boolean; unmask: boolean; cycle: number }[] = [];
  /** pend_vec and mask_vec sampled at each edge. */
  readonly vectors: { cycle: number; pend: bigint; mask: bigint }[] = [];
  /** The hypervisor's view of the ring. */
  tail = 0;
  expectedSeq = 0;
  size = 1;
  base = RING_BASE;
  readonly harvested: HarvestedEntry[] = [];
  /** (cycle, value) of each INTR_RING_TAIL write, as the engine took it. */
  readonly tailWrites: { cycle: number; value: number }[] = [];
  private pulses: { tx: number[][]; rx: number[][] } = { tx: [], rx: [] };
  private ctrlQueue: { ctx: number; mask: boolean; unmask: boolean }[] = [];
  private readonly reg: RegBusDriver;

  private constructor(
    readonly sim: Simulation<Ports>,
    readonly p: NicParams,
    opts: IntrBenchOptions,
  ) {
    this.tb = new Testbench(sim, { stallCycles: 200_000 });
    this.reg = new RegBusDriver(this.tb, sim);
    this.axi = new Axi4SlaveMemory(this.tb, 'm_axi', { ...opts.memory, memory: this.mem });
    this.faults = new WriteFaults(this.tb, sim);
    this.mem.faults = this.faults;
    const P = sim.ports;
    P.s_fault_irq = 0;
    P.s_intr_fault = 0;
    for (const s of ['wr_valid', 'wr_addr', 'wr_data', 'rd_valid', 'rd_addr']) P[`s_reg_${s}`] = 0;
    for (const s of ['valid', 'ctx', 'mask', 'unmask']) P[`s_int_ctrl_${s}`] = 0;
    for (const d of ['tx', 'rx']) {
      P[`s_${d}_intr_valid`] = 0;
      P[`s_${d}_intr_ctx`] = 0;
    }
    this.tb.onEdge(() => this.watch(), { name: 'intr bench monitors' });
  }

  /** Builds the engines for these parameter choices ahead of the tests (beforeAll with BUILD_TIMEOUT). */
  static prepare(...choices: ParamChoice[]): Promise<void> {
    return prepareAll(choices, simFor);
  }

  static async create(opts: IntrBenchOptions = {}): Promise<IntrBench> {
    const p = resolveParams(opts.profile ?? 'test', opts.params ?? {});
    const sim = await simFor(p);
    closeOpenBench();
    const bench = new IntrBench(sim, p, opts);
    open = bench;
    await bench.tb.reset();
    await bench.tb.rising();
    bench.forget();
    return bench;
  }

  close(): void {
    this.tb.close();
    if (open === this) open = null;
  }

  private forget(): void {
    for (const list of [this.aw, this.w, this.b, this.irqs, this.snaps, this.events, this.ctrl, this.vectors, this.faultPulses])
      list.length = 0;
  }

  private big(name: string): bigint {
    return BigInt(this.sim.sampled[name] as number | bigint);
  }

  private watch(): void {
    const s = this.sim.sampled;
    const P = this.sim.ports;
    const cycle = this.tb.cycle;
    if (s.m_axi_awvalid && s.m_axi_awready)
      this.aw.push({ addr: Number(s.m_axi_awaddr), len: Number(s.m_axi_awlen) + 1, size: Number(s.m_axi_awsize), cycle });
    if (s.m_axi_wvalid && s.m_axi_wready)
      this.w.push({ data: this.big('m_axi_wdata'), strb: this.big('m_axi_wstrb'), last: s.m_axi_wlast === 1, cycle });
    if (s.m_axi_bvalid && s.m_axi_bready) this.b.push(cycle);
    if (s.irq) this.irqs.push(cycle);
    if (s.snap_pulse) this.snaps.push(cycle);
    if (s.s_tx_intr_valid) this.events.push({ ctx: Number(s.s_tx_intr_ctx), cycle, dir: 'tx' });
    if (s.s_rx_intr_valid) this.events.push({ ctx: Number(s.s_rx_intr_ctx), cycle, dir: 'rx' });
    if (s.s_int_ctrl_valid && s.s_int_ctrl_ready)
      this.ctrl.push({ ctx: Number(s.s_int_ctrl_ctx), mask: s.s_int_ctrl_mask === 1, unmask: s.s_int_ctrl_unmask === 1, cycle });
    if (s.s_reg_wr_valid && s.s_reg_wr_ready && Number(s.s_reg_wr_addr) === bar1GlobalOffset('INTR_RING_TAIL'))
      this.tailWrites.push({ cycle, value: Number(s.s_reg_wr_data) });
    this.vectors.push({ cycle, pend: this.big('pend_vec'), mask: this.big('mask_vec') });
    if (s.m_fault) {
      this.faultPulses.push(cycle);
      this.intrFault = true;
    }
    P.s_intr_fault = this.intrFault ? 1 : 0;
    const req = this.faultIrqAt[0] === 0;
    this.faultIrqAt = this.faultIrqAt.filter((d) => d > 0).map((d) => d - 1);
    P.s_fault_irq = req ? 1 : 0;
    // Drive the next cycle's pulses and INT_CTRL transfer.
    for (const d of ['tx', 'rx'] as const) {
      const due = this.pulses[d].shift();
      const ctx = due?.shift();
      if (due && due.length > 0) this.pulses[d].unshift(due);
      P[`s_${d}_intr_valid`] = ctx === undefined ? 0 : 1;
      P[`s_${d}_intr_ctx`] = ctx ?? 0;
    }
    if (s.s_int_ctrl_valid && s.s_int_ctrl_ready) this.ctrlQueue.shift();
    const c = this.ctrlQueue[0];
    P.s_int_ctrl_valid = c ? 1 : 0;
    P.s_int_ctrl_ctx = c?.ctx ?? 0;
    P.s_int_ctrl_mask = c?.mask ? 1 : 0;
    P.s_int_ctrl_unmask = c?.unmask ? 1 : 0;
  }

  /**
   * Completion pulses: `schedule[i]` lists the contexts pulsed `i` cycles from the next edge on this
   * direction's port (one per cycle; several in one entry go out on consecutive cycles).
   */
  pulse(dir: 'tx' | 'rx', ...ctxs: number[]): void {
    for (const c of ctxs) this.pulses[dir].push([c]);
  }

  /** Pulses `ctx` on `dir` exactly `delay` cycles from the next edge (0 = the next edge). */
  pulseAt(dir: 'tx' | 'rx', ctx: number, delay: number): void {
    const q = this.pulses[dir];
    while (q.length <= delay) q.push([]);
    (q[delay] as number[]).push(ctx);
  }

  /** Completion pulses scheduled and not yet sent. */
  pulsesPending(): number {
    return [...this.pulses.tx, ...this.pulses.rx].reduce((n, slot) => n + slot.length, 0);
  }

  /** A fault-interrupt request from the BAR1 block, `delay` cycles from the next edge. */
  faultIrq(delay = 0): void {
    this.faultIrqAt.push(delay);
    this.faultIrqAt.sort((a, b) => a - b);
  }

  /** The hypervisor's write of 1 to GLOBAL_STATUS.INTR_FAULT (the engine sees it from the next edge). */
  clearIntrFault(): void {
    this.intrFault = false;
  }

  intCtrl(ctx: number, f: { mask?: boolean; unmask?: boolean }): void {
    this.ctrlQueue.push({ ctx, mask: f.mask ?? false, unmask: f.unmask ?? false });
  }

  // ---- register bus ----

  regWrite(reg: Bar1GlobalReg, data: number): Promise<void> {
    return this.reg.write(bar1GlobalOffset(reg), data);
  }

  regRead(addr: Bar1GlobalReg | number): Promise<number> {
    return this.reg.read(typeof addr === 'number' ? addr : bar1GlobalOffset(addr));
  }

  /** Sets the ring up as the hypervisor does (engine off while the locked registers change), then enables it. */
  async configure(c: RingConfig = {}): Promise<void> {
    this.base = c.base ?? RING_BASE;
    const log2 = c.log2 ?? 3;
    this.size = 2 ** log2;
    this.expectedSeq = c.seqInit ?? 0x100;
    this.tail = 0;
    await this.regWrite('INTR_CTRL', 0);
    await this.regWrite('INTR_RING_BASE_LO', this.base % 2 ** 32);
    await this.regWrite('INTR_RING_BASE_HI', Math.floor(this.base / 2 ** 32));
    await this.regWrite('INTR_RING_LOG2', log2);
    await this.regWrite('INTR_SEQ_INIT', this.expectedSeq);
    await this.regWrite('COALESCE_EVENTS', c.events ?? 1);
    await this.regWrite('COALESCE_CYCLES', c.cycles ?? 0);
    if (c.enable ?? true) await this.regWrite('INTR_CTRL', 1);
  }

  /** The ring entry in slot `slot`, as memory holds it now. */
  entryAt(slot: number): IntrEntry {
    return decodeIntrEntry(this.mem.read(this.base + slot * INTR_ENTRY.bytes, INTR_ENTRY.bytes));
  }

  /**
   * The hypervisor's handler: take entries while their seq is the expected one, then publish the tail
   * and look once more (spec section 8). Returns the entries of this run.
   */
  async handle(opts: { publish?: boolean } = {}): Promise<HarvestedEntry[]> {
    const found: HarvestedEntry[] = [];
    const irqsBefore = this.irqs.length;
    const take = () => {
      for (;;) {
        const slot = this.tail % this.size;
        const e = this.entryAt(slot);
        if (e.seq !== this.expectedSeq) return;
        found.push({ ...e, slot, index: this.tail, irqsBefore });
        this.tail++;
        this.expectedSeq = (this.expectedSeq + 1) >>> 0;
      }
    };
    take();
    if (opts.publish ?? true) {
      await this.regWrite('INTR_RING_TAIL', this.tail >>> 0);
      take();
    }
    this.harvested.push(...found);
    return found;
  }

  /** Waits until `n` irq pulses have been seen (or fails after `limit` cycles). */
  async waitIrqs(n: number, limit = 2000): Promise<void> {
    await this.tb.until(() => this.irqs.length >= n, { timeout: limit, what: `${n} irq pulse(s)` });
  }

  /** The vectors as sampled at edge `cycle` (i.e. the register values after edge cycle - 1). */
  vectorsAt(cycle: number): { pend: bigint; mask: bigint } {
    const v = this.vectors.find((x) => x.cycle === cycle);
    if (!v) throw new Error(`no sample of the vectors at cycle ${cycle}`);
    return v;
  }
}

/** The contexts of a set of entries, as one bit vector. */
export function contextsOf(entries: readonly IntrEntry[]): bigint {
  let v = 0n;
  for (const e of entries) v |= e.vec << BigInt(64 * e.group);
  return v;
}

export const bitsOf = (...ctxs: number[]): bigint => ctxs.reduce((v, c) => v | (1n << BigInt(c)), 0n);
