/**
 * The whole core, `cdna_nic`, on a bench of its own for the fault and reset tests: both BARs driven by
 * AXI4-Lite masters, host memory behind the DMA port with write faults on chosen addresses
 * (busFaults.ts), the wire on both streams, and monitors of every DMA request and irq. The test plays
 * the hypervisor (BAR1 set-up, descriptors, the interrupt ring) and the guests (doorbells) by hand,
 * without the VMM model, so each step of docs/faults.md can be checked on its own.
 */
import { DESC_FLAGS, decodeIntrEntry, INTR_ENTRY, type IntrEntry } from '../../hdl/descriptors.js';
import { cdnaNic } from '../../hdl/nic/top.js';
import { type NicParams, resolveParams } from '../../hdl/params.js';
import { encodeMacEntry, MacTable, macWords } from '../../hdl/registers/macTable.js';
import {
  type Bar0Reg,
  type Bar1CtxReg,
  type Bar1GlobalReg,
  bar0Offset,
  bar1CtxOffset,
  bar1GlobalOffset,
  bar1MacTableOffset,
  CTRL,
} from '../../hdl/registers/map.js';
import { type PortValue, type Simulation, simulate } from '../../sim/index.js';
import { Axi4SlaveMemory, AxiLiteMaster, AxisSink, AxisSource } from '../../testbench/axi/index.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { Testbench } from '../../testbench/runtime/index.js';
import { type ParamChoice, prepareAll, simulationCache } from './blockBench.js';
import { FaultableMemory, WriteFaults } from './busFaults.js';

type Ports = { [name: string]: PortValue };

/** Where each context's rings, buffers and completion record live (above 4 GiB: the HI words matter). */
export const layout = {
  txRing: (c: number): number => 0x1_0000_0000 + c * 0x1_0000,
  rxRing: (c: number): number => 0x1_8000_0000 + c * 0x1_0000,
  /** 2 KiB buffers: a frame never crosses 4 KiB. Each context's buffers lie in their own 1 MiB. */
  txBuffer: (c: number, seq: number): number => 0x2_0000_0000 + c * 0x10_0000 + (seq % 256) * 0x800,
  rxBuffer: (c: number, seq: number): number => 0x4_0000_0000 + c * 0x10_0000 + (seq % 256) * 0x800,
  done: (c: number): number => 0x6_0000_0000 + c * 0x10,
  intrRing: 0x7_0000_0000,
};
export const RX_BUFFER_BYTES = 0x800;
/** A peer on the wire: frames to it are never delivered locally. */
export const PEER_MAC = 0x02ee_0000_0001;
export const macOf = (c: number): number => localMac(c);
/** Every ring starts at this seq (non-zero: zeroed memory never matches, P-8). */
export const FIRST_SEQ = 1;

/** Every address a context's DMA may touch: its rings, its buffers and its completion record. */
export function ctxRanges(c: number): [number, number][] {
  return [
    [layout.txRing(c), layout.txRing(c) + 0x1_0000],
    [layout.rxRing(c), layout.rxRing(c) + 0x1_0000],
    [layout.txBuffer(c, 0), layout.txBuffer(c, 0) + 0x10_0000],
    [layout.rxBuffer(c, 0), layout.rxBuffer(c, 0) + 0x10_0000],
    [layout.done(c), layout.done(c) + 8],
  ];
}

export interface DmaRequest {
  dir: 'read' | 'write';
  addr: number;
  id: number;
  beats: number;
  cycle: number;
}

const sims = simulationCache((p: NicParams) => simulate<Ports>(cdnaNic(p)));
let open: TopBench | null = null;

export function closeOpenTopBench(): void {
  open?.close();
}

export function closeTopSims(): Promise<void> {
  return sims.closeAll();
}

export class TopBench {
  readonly tb: Testbench<Ports>;
  readonly mem = new FaultableMemory();
  readonly axi: Axi4SlaveMemory;
  readonly faults: WriteFaults;
  readonly bar0: AxiLiteMaster;
  readonly bar1: AxiLiteMaster;
  readonly wire: AxisSink;
  readonly mac: AxisSource;
  readonly dma: DmaRequest[] = [];
  readonly irqs: number[] = [];
  readonly table: MacTable;
  /** Next seq the "hypervisor" stamps, per context and direction. */
  readonly nextTx = new Map<number, number>();
  readonly nextRx = new Map<number, number>();
  private readonly ringLog2 = new Map<number, number>();
  /** The hypervisor's view of the interrupt ring. */
  intr = { size: 1, tail: 0, expectedSeq: 0 };

  private constructor(
    readonly sim: Simulation<Ports>,
    readonly p: NicParams,
  ) {
    this.tb = new Testbench(sim, { stallCycles: 500_000 });
    this.table = new MacTable(p);
    this.axi = new Axi4SlaveMemory(this.tb, 'm_axi', { memory: this.mem, readLatency: 8, writeLatency: 8 });
    this.faults = new WriteFaults(this.tb, sim);
    this.mem.faults = this.faults;
    this.bar0 = new AxiLiteMaster(this.tb, 's_axil_bar0');
    this.bar1 = new AxiLiteMaster(this.tb, 's_axil_bar1');
    this.wire = new AxisSink(this.tb, 'm_axis_tx');
    this.mac = new AxisSource(this.tb, 's_axis_rx');
    this.tb.onEdge(() => this.watch(), { name: 'top bench monitors' });
  }

  /** Builds the NICs for these parameter choices ahead of the tests (beforeAll with BUILD_TIMEOUT). */
  static prepare(...choices: ParamChoice[]): Promise<void> {
    return prepareAll(choices, (p) => sims.get(p));
  }

  static async create(profile = 'test', params: Record<string, number | boolean | string> = {}): Promise<TopBench> {
    const p = resolveParams(profile, params);
    const sim = await sims.get(p);
    closeOpenTopBench();
    // A previous bench may have left DMA under way: reset before the new host model watches the ports.
    sim.reset();
    const b = new TopBench(sim, p);
    open = b;
    await b.tb.reset();
    return b;
  }

  close(): void {
    this.tb.close();
    if (open === this) open = null;
  }

  private watch(): void {
    const s = this.sim.sampled;
    const cycle = this.tb.cycle;
    if (s.m_axi_arvalid && s.m_axi_arready)
      this.dma.push({ dir: 'read', addr: Number(s.m_axi_araddr), id: Number(s.m_axi_arid), beats: Number(s.m_axi_arlen) + 1, cycle });
    if (s.m_axi_awvalid && s.m_axi_awready)
      this.dma.push({ dir: 'write', addr: Number(s.m_axi_awaddr), id: Number(s.m_axi_awid), beats: Number(s.m_axi_awlen) + 1, cycle });
    if (s.irq) this.irqs.push(cycle);
  }

  /** DMA requests into any of `ranges` from cycle `from` on. */
  dmaIn(ranges: [number, number][], from = 0): DmaRequest[] {
    return this.dma.filter((r) => r.cycle >= from && ranges.some(([lo, hi]) => r.addr >= lo && r.addr < hi));
  }

  // ---- registers ----

  async ctxReg(c: number, reg: Bar1CtxReg): Promise<number> {
    return Number(await this.bar1.read(bar1CtxOffset(c, reg, this.p))) >>> 0;
  }

  setCtx(c: number, reg: Bar1CtxReg, v: number): Promise<void> {
    return this.bar1.write(bar1CtxOffset(c, reg, this.p), v >>> 0);
  }

  async globalReg(reg: Bar1GlobalReg): Promise<number> {
    return Number(await this.bar1.read(bar1GlobalOffset(reg))) >>> 0;
  }

  setGlobal(reg: Bar1GlobalReg, v: number): Promise<void> {
    return this.bar1.write(bar1GlobalOffset(reg), v >>> 0);
  }

  async bar0Reg(c: number, reg: Bar0Reg): Promise<number> {
    return Number(await this.bar0.read(bar0Offset(c, reg, this.p))) >>> 0;
  }

  // ---- the hypervisor's set-up ----

  /** Sets a context up while disabled (rings of 2^ringLog2, seqs from `first`, MAC in the table), then enables it. */
  async enable(c: number, opts: { ringLog2?: number; first?: number; mcast?: boolean } = {}): Promise<void> {
    const log2 = opts.ringLog2 ?? this.p.MAX_RING_LOG2;
    const first = opts.first ?? FIRST_SEQ;
    const hi = (a: number) => Math.floor(a / 2 ** 32);
    const mac = macWords(macOf(c));
    const regs: [Bar1CtxReg, number][] = [
      ['MAC_LO', mac.lo],
      ['MAC_HI', mac.hi],
      ['TX_RING_BASE_LO', layout.txRing(c) % 2 ** 32],
      ['TX_RING_BASE_HI', hi(layout.txRing(c))],
      ['TX_RING_LOG2', log2],
      ['TX_EXP_SEQ', first],
      ['RX_RING_BASE_LO', layout.rxRing(c) % 2 ** 32],
      ['RX_RING_BASE_HI', hi(layout.rxRing(c))],
      ['RX_RING_LOG2', log2],
      ['RX_EXP_SEQ', first],
      ['DONE_BASE_LO', layout.done(c) % 2 ** 32],
      ['DONE_BASE_HI', hi(layout.done(c))],
    ];
    for (const [reg, v] of regs) await this.setCtx(c, reg, v);
    if (!this.table.lookup(macOf(c))) {
      for (const w of this.table.insert(macOf(c), c)) {
        const e = encodeMacEntry(w.entry);
        await this.bar1.write(bar1MacTableOffset(w.way, w.index, 'ENTRY_LO', this.p), e.lo);
        await this.bar1.write(bar1MacTableOffset(w.way, w.index, 'ENTRY_HI', this.p), e.hi);
      }
    }
    this.ringLog2.set(c, log2);
    this.nextTx.set(c, first);
    this.nextRx.set(c, first);
    await this.setCtx(c, 'CTRL', CTRL.EN.mask | CTRL.SPOOFCHK.mask | (opts.mcast ? CTRL.MCAST_EN.mask : 0));
  }

  /** Zeroes a context's rings (the hypervisor's re-initialization: no stale descriptor may match). */
  zeroRings(c: number): void {
    const bytes = 16 * 2 ** (this.ringLog2.get(c) ?? 0);
    this.mem.write(layout.txRing(c), new Uint8Array(bytes));
    this.mem.write(layout.rxRing(c), new Uint8Array(bytes));
  }

  /** Sets the interrupt ring up (disabled while its registers change) and enables it unless told not to. */
  async intrRing(opts: { log2?: number; seqInit?: number; events?: number; cycles?: number; enable?: boolean } = {}): Promise<void> {
    const log2 = opts.log2 ?? 3;
    this.intr = { size: 2 ** log2, tail: 0, expectedSeq: opts.seqInit ?? 0x100 };
    await this.setGlobal('INTR_CTRL', 0);
    await this.setGlobal('INTR_RING_BASE_LO', layout.intrRing % 2 ** 32);
    await this.setGlobal('INTR_RING_BASE_HI', Math.floor(layout.intrRing / 2 ** 32));
    await this.setGlobal('INTR_RING_LOG2', log2);
    await this.setGlobal('INTR_SEQ_INIT', this.intr.expectedSeq);
    await this.setGlobal('COALESCE_EVENTS', opts.events ?? 1);
    await this.setGlobal('COALESCE_CYCLES', opts.cycles ?? 0);
    if (opts.enable ?? true) await this.setGlobal('INTR_CTRL', 1);
  }

  /** The handler's walk of the interrupt ring (spec section 8); returns the entries found. */
  async harvest(): Promise<IntrEntry[]> {
    const found: IntrEntry[] = [];
    const take = (): void => {
      for (;;) {
        const e = decodeIntrEntry(this.mem.read(layout.intrRing + (this.intr.tail % this.intr.size) * INTR_ENTRY.bytes, INTR_ENTRY.bytes));
        if (e.seq !== this.intr.expectedSeq) return;
        found.push(e);
        this.intr.tail++;
        this.intr.expectedSeq = (this.intr.expectedSeq + 1) >>> 0;
      }
    };
    take();
    await this.setGlobal('INTR_RING_TAIL', this.intr.tail >>> 0);
    take();
    return found;
  }

  // ---- descriptors and doorbells ----

  private slot(ring: (c: number) => number, c: number, seq: number): number {
    const log2 = this.ringLog2.get(c);
    if (log2 === undefined) throw new Error(`context ${c} was not set up on the bench: call enable(${c}) first`);
    return ring(c) + (seq % 2 ** log2) * 16;
  }

  private descriptor(slot: number, addr: number, len: number, flags: number, seq: number): void {
    this.mem.writeUint(slot, 8, BigInt(addr));
    this.mem.writeUint(slot + 8, 2, len);
    this.mem.writeUint(slot + 10, 2, flags);
    this.mem.writeUint(slot + 12, 4, seq % 2 ** this.p.SEQ_W);
  }

  /** A frame from context c to `dst` (default: the peer on the wire), tagged (c, n). */
  frame(c: number, n: number, dst = PEER_MAC, len = 80): Uint8Array {
    return testFrame(dst, macOf(c), { ctx: c, seq: n }, len).data;
  }

  /** One frame in one descriptor (EOP) in c's TX ring; returns its seq. */
  postTx(c: number, frame: Uint8Array): number {
    const seq = this.nextTx.get(c) ?? FIRST_SEQ;
    const buf = layout.txBuffer(c, seq);
    this.mem.write(buf, frame);
    this.descriptor(this.slot(layout.txRing, c, seq), buf, frame.length, DESC_FLAGS.EOP, seq);
    this.nextTx.set(c, seq + 1);
    return seq;
  }

  /** `n` empty receive buffers in c's RX ring; returns the last seq posted. */
  postRx(c: number, n: number): number {
    let seq = this.nextRx.get(c) ?? FIRST_SEQ;
    for (let i = 0; i < n; i++, seq++) {
      this.descriptor(this.slot(layout.rxRing, c, seq), layout.rxBuffer(c, seq), RX_BUFFER_BYTES, 0, seq);
    }
    this.nextRx.set(c, seq);
    return seq - 1;
  }

  txDoorbell(c: number): Promise<void> {
    return this.bar0.write(bar0Offset(c, 'TX_PROD', this.p), ((this.nextTx.get(c) ?? FIRST_SEQ) - 1) >>> 0);
  }

  rxDoorbell(c: number): Promise<void> {
    return this.bar0.write(bar0Offset(c, 'RX_PROD', this.p), ((this.nextRx.get(c) ?? FIRST_SEQ) - 1) >>> 0);
  }

  /** The completion record of c as host memory holds it. */
  record(c: number): { tx: number; rx: number } {
    return { tx: Number(this.mem.readUint(layout.done(c), 4)), rx: Number(this.mem.readUint(layout.done(c) + 4, 4)) };
  }

  /** Frames taken off the wire so far (drains the sink's queue into `sent`). */
  readonly sent: Uint8Array[] = [];
  drainWire(): Uint8Array[] {
    for (let f = this.wire.tryReceive(); f; f = this.wire.tryReceive()) this.sent.push(f.data);
    return this.sent;
  }

  /** Waits until `n` frames have left on the wire in total. */
  async waitWire(n: number, timeout = 20_000): Promise<void> {
    await this.tb.until(() => this.drainWire().length >= n, { timeout, what: `${n} frame(s) on the wire` });
  }

  /** Runs until no DMA request has been seen for `quiet` cycles and none is in flight. */
  async settle(quiet = 300, timeout = 50_000): Promise<void> {
    const start = this.tb.cycle;
    await this.tb.until(
      () => {
        const last = this.dma.at(-1)?.cycle ?? 0;
        return this.tb.cycle - last >= quiet && this.axi.readsInFlight === 0 && this.tb.cycle - start >= quiet;
      },
      { timeout, what: 'the DMA port to go quiet' },
    );
  }
}
