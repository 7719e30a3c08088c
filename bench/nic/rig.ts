/**
 * The NIC (`cdna_nic`) on a bench of its own: both BARs driven by AXI4-Lite masters, host memory with
 * a fixed read latency behind the DMA port, and paced MACs on both streams. It plays the hypervisor
 * (BAR1 set-up, descriptors with seqs) and the guests (doorbells) with as little testbench work per
 * cycle as possible, since every figure is counted in simulated cycles.
 */
import { DESC_FLAGS } from '../../hdl/descriptors.js';
import { CLIENT_ID_W, DMA_CLIENTS } from '../../hdl/nic/interfaces.js';
import { TX_ID } from '../../hdl/nic/tx/config.js';
import type { NicParams } from '../../hdl/params.js';
import { encodeMacEntry, MacTable, macWords } from '../../hdl/registers/macTable.js';
import {
  type Bar1CtxReg,
  type Bar1GlobalReg,
  bar0Offset,
  bar1CtxOffset,
  bar1GlobalOffset,
  bar1MacTableOffset,
  CTRL,
} from '../../hdl/registers/map.js';
import type { PortValue, Simulation } from '../../sim/index.js';
import { Axi4SlaveMemory, AxiLiteMaster } from '../../testbench/axi/index.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { Testbench } from '../../testbench/runtime/index.js';
import { HostMemory, hostLayout, RX_BUFFER_BYTES } from './hostMemory.js';
import { PacedRxMac, PacedTxMac } from './macModels.js';

type Ports = { [name: string]: PortValue };

/** How the host memory answers DMA. */
export interface HostTiming {
  /** Cycles from a read request to its first data beat. */
  readLatency: number;
  /** Cycles from a write's last data beat to its response. */
  writeLatency: number;
  /** Read and write bursts the host accepts at once (PCIe tags, posted-write credits). */
  maxReads: number;
  maxWrites: number;
}

/** A peer outside the NIC: TX frames go to it, so none is delivered locally. */
export const PEER_MAC = 0x02ee_0000_0001;
export const macOfCtx = (c: number): number => localMac(c);

/** The first descriptor seq of every ring (non-zero, so zeroed memory never matches: P-8). */
export const FIRST_SEQ = 1;

export interface RigOptions {
  /** Watch the DMA read requests (`reads`, `descriptorReads`). */
  watchReads?: boolean;
  /**
   * Wire byte times per cycle of the paced MACs (default STREAM_W / 8: a stream exactly as fast as
   * its wire, as at 10 GbE; `linkBytesPerCycle(100, 322.265625)` for a 100G MAC's 512-bit stream).
   */
  wireRate?: number;
}

export class NicRig {
  readonly tb: Testbench<Ports>;
  readonly mem = new HostMemory();
  readonly axi: Axi4SlaveMemory;
  readonly bar0: AxiLiteMaster;
  readonly bar1: AxiLiteMaster;
  readonly txMac: PacedTxMac;
  readonly rxMac: PacedRxMac;
  /** Wire byte times per cycle the MACs are paced at. */
  readonly wireRate: number;
  /** Cycles at which a BAR0 write was accepted (AW and W both taken). */
  readonly bar0Writes: { addr: number; cycle: number }[] = [];
  /** Read requests on the DMA port: ID, address, beats and cycle. */
  readonly reads: { id: number; addr: number; beats: number; cycle: number }[] = [];
  private readonly nextTxSeq = new Map<number, number>();
  private readonly nextRxSeq = new Map<number, number>();
  private readonly txRingLog2 = new Map<number, number>();
  private readonly rxRingLog2 = new Map<number, number>();
  private readonly table: MacTable;
  private awSeen = false;
  private wSeen = false;

  private constructor(
    readonly sim: Simulation<Ports>,
    readonly p: NicParams,
    timing: HostTiming,
    opts: RigOptions,
  ) {
    this.tb = new Testbench(sim, { stallCycles: 2_000_000 });
    this.mem.cycle = () => this.tb.cycle;
    this.table = new MacTable(p);
    this.axi = new Axi4SlaveMemory(this.tb, 'm_axi', { ...timing, memory: this.mem });
    this.bar0 = new AxiLiteMaster(this.tb, 's_axil_bar0');
    this.bar1 = new AxiLiteMaster(this.tb, 's_axil_bar1');
    this.wireRate = opts.wireRate ?? p.STREAM_W / 8;
    this.txMac = new PacedTxMac(this.tb, 'm_axis_tx', this.wireRate);
    this.rxMac = new PacedRxMac(this.tb, 's_axis_rx', this.wireRate);
    this.tb.onEdge(() => this.watchBar0(), { name: 'bar0 doorbell monitor' });
    if (opts.watchReads) this.tb.onEdge(() => this.watchReads(), { name: 'DMA read monitor' });
  }

  static async open(sim: Simulation<Ports>, p: NicParams, timing: HostTiming, opts: RigOptions = {}): Promise<NicRig> {
    // The simulation may come from an earlier rig with DMA under way: reset the NIC before the new
    // host model watches its ports, or the host would take a stale request (say, a read still
    // presented) during the reset and answer it to the fresh NIC.
    sim.reset();
    const rig = new NicRig(sim, p, timing, opts);
    await rig.tb.reset();
    return rig;
  }

  close(): void {
    this.tb.close();
  }

  private watchBar0(): void {
    const s = this.sim.sampled;
    if (s.s_axil_bar0_awvalid && s.s_axil_bar0_awready) this.awSeen = true;
    if (s.s_axil_bar0_wvalid && s.s_axil_bar0_wready) this.wSeen = true;
    if (this.awSeen && this.wSeen) {
      this.awSeen = false;
      this.wSeen = false;
      this.bar0Writes.push({ addr: Number(s.s_axil_bar0_awaddr), cycle: this.tb.cycle });
    }
  }

  private watchReads(): void {
    const s = this.sim.sampled;
    if (s.m_axi_arvalid && s.m_axi_arready) {
      this.reads.push({ id: Number(s.m_axi_arid), addr: Number(s.m_axi_araddr), beats: Number(s.m_axi_arlen) + 1, cycle: this.tb.cycle });
    }
  }

  /** Descriptor reads issued by an engine so far (needs `watchReads`), and the beats they asked for. */
  descriptorReads(engine: 'tx' | 'rx'): number {
    return this.descriptorBursts(engine).length;
  }

  descriptorBeats(engine: 'tx' | 'rx'): number {
    return this.descriptorBursts(engine).reduce((n, r) => n + r.beats, 0);
  }

  private descriptorBursts(engine: 'tx' | 'rx'): { beats: number }[] {
    const client = DMA_CLIENTS.indexOf(engine);
    // TX reads descriptors with IDs DESC and CONT and payload with PAYLOAD; RX reads only descriptors.
    const isDesc = (id: number) => engine === 'rx' || id === TX_ID.DESC || id === TX_ID.CONT;
    return this.reads.filter((r) => r.id >> CLIENT_ID_W === client && isDesc(r.id & (2 ** CLIENT_ID_W - 1)));
  }

  /** A per-context BAR1 register write, as the hypervisor does it. */
  ctxWrite(c: number, reg: Bar1CtxReg, v: number): Promise<void> {
    return this.bar1.write(bar1CtxOffset(c, reg, this.p), v >>> 0);
  }

  /**
   * Sets up contexts as the hypervisor does (registers while disabled, MAC into the table, then EN
   * with anti-spoofing on). Rings are `2^ringLog2` entries; TX and RX start at FIRST_SEQ.
   */
  async enable(ctxs: readonly number[], ringLog2: number): Promise<void> {
    if (ringLog2 > this.p.MAX_RING_LOG2) {
      throw new Error(`a ring of 2^${ringLog2} entries is over MAX_RING_LOG2=${this.p.MAX_RING_LOG2}: use fewer frames per context`);
    }
    const hi = (a: number) => Math.floor(a / 2 ** 32);
    const writes: Promise<void>[] = [];
    for (const c of ctxs) {
      const mac = macWords(macOfCtx(c));
      const regs: [Bar1CtxReg, number][] = [
        ['MAC_LO', mac.lo],
        ['MAC_HI', mac.hi],
        ['TX_RING_BASE_LO', hostLayout.txRing(c)],
        ['TX_RING_BASE_HI', hi(hostLayout.txRing(c))],
        ['TX_RING_LOG2', ringLog2],
        ['TX_EXP_SEQ', FIRST_SEQ],
        ['RX_RING_BASE_LO', hostLayout.rxRing(c)],
        ['RX_RING_BASE_HI', hi(hostLayout.rxRing(c))],
        ['RX_RING_LOG2', ringLog2],
        ['RX_EXP_SEQ', FIRST_SEQ],
        ['DONE_BASE_LO', hostLayout.done(c)],
        ['DONE_BASE_HI', hi(hostLayout.done(c))],
      ];
      // The AXI4-Lite master queues the writes and issues them in order, back to back.
      for (const [reg, v] of regs) writes.push(this.ctxWrite(c, reg, v));
      for (const w of this.table.insert(macOfCtx(c), c)) {
        const e = encodeMacEntry(w.entry);
        writes.push(this.bar1.write(bar1MacTableOffset(w.way, w.index, 'ENTRY_LO', this.p), e.lo));
        writes.push(this.bar1.write(bar1MacTableOffset(w.way, w.index, 'ENTRY_HI', this.p), e.hi));
      }
      writes.push(this.ctxWrite(c, 'CTRL', CTRL.EN.mask | CTRL.SPOOFCHK.mask));
      this.txRingLog2.set(c, ringLog2);
      this.rxRingLog2.set(c, ringLog2);
      this.nextTxSeq.set(c, FIRST_SEQ);
      this.nextRxSeq.set(c, FIRST_SEQ);
    }
    await Promise.all(writes);
  }

  private slot(ring: (c: number) => number, log2: number | undefined, c: number, seq: number): number {
    if (log2 === undefined) throw new Error(`context ${c} is not enabled on the rig`);
    return ring(c) + (seq % 2 ** log2) * 16;
  }

  private writeDescriptor(slot: number, addr: number, len: number, flags: number, seq: number): void {
    this.mem.writeUint(slot, 8, BigInt(addr));
    this.mem.writeUint(slot + 8, 2, len);
    this.mem.writeUint(slot + 10, 2, flags);
    this.mem.writeUint(slot + 12, 4, seq % 2 ** this.p.SEQ_W);
  }

  /** A test frame from context c to the peer, tagged (c, n). */
  txFrame(c: number, n: number, len: number): Uint8Array {
    return testFrame(PEER_MAC, macOfCtx(c), { ctx: c, seq: n }, len).data;
  }

  /** Puts a frame in a buffer and its descriptor (one, with EOP) in the ring; returns its seq. */
  postTx(c: number, frame: Uint8Array): number {
    const seq = this.nextTxSeq.get(c) ?? FIRST_SEQ;
    const buf = hostLayout.txBuffer(c, seq);
    this.mem.write(buf, frame);
    this.writeDescriptor(this.slot(hostLayout.txRing, this.txRingLog2.get(c), c, seq), buf, frame.length, DESC_FLAGS.EOP, seq);
    this.nextTxSeq.set(c, seq + 1);
    return seq;
  }

  /** Posts `n` empty 2 KiB receive buffers; returns the last seq posted. */
  postRx(c: number, n: number): number {
    let seq = this.nextRxSeq.get(c) ?? FIRST_SEQ;
    const size = 2 ** (this.rxRingLog2.get(c) ?? 0);
    if (seq - FIRST_SEQ + n > size) {
      throw new Error(
        `context ${c}: ${seq - FIRST_SEQ + n} RX buffers do not fit a ring of ${size}; enable the context with a larger ring`,
      );
    }
    for (let i = 0; i < n; i++, seq++) {
      this.writeDescriptor(
        this.slot(hostLayout.rxRing, this.rxRingLog2.get(c), c, seq),
        hostLayout.rxBuffer(c, seq),
        RX_BUFFER_BYTES,
        0,
        seq,
      );
    }
    this.nextRxSeq.set(c, seq);
    return seq - 1;
  }

  /** The guest's doorbells: "descriptors are posted up to here". */
  txDoorbell(c: number): Promise<void> {
    return this.bar0.write(bar0Offset(c, 'TX_PROD', this.p), ((this.nextTxSeq.get(c) ?? FIRST_SEQ) - 1) >>> 0);
  }

  rxDoorbell(c: number): Promise<void> {
    return this.bar0.write(bar0Offset(c, 'RX_PROD', this.p), ((this.nextRxSeq.get(c) ?? FIRST_SEQ) - 1) >>> 0);
  }

  async globalReg(reg: Bar1GlobalReg): Promise<number> {
    return Number(await this.bar1.read(bar1GlobalOffset(reg))) >>> 0;
  }

  /** A per-context BAR1 register (counters). */
  async ctxReg(c: number, reg: Bar1CtxReg): Promise<number> {
    return Number(await this.bar1.read(bar1CtxOffset(c, reg, this.p))) >>> 0;
  }
}
