/**
 * The reference NIC model behind a tap, for model tests: it logs what the VMM and guests do on the
 * buses, lets tests stage races (a hook after each BAR1 write, STATUS reporting DMA in flight for a
 * while), inject faults (a forged completion record, a completion-record write that fails on the bus,
 * FAULT and INTR_FAULT, impossible trusted done seqs) and play a broken NIC that trusts doorbells.
 *
 * The FAULT semantics of docs/faults.md are played here, in front of the reference model: a context
 * in FAULT has EN held off in the model (so it starts no DMA), STATUS.FAULT, FAULT_VEC and
 * GLOBAL_STATUS read as the NIC's would, W1C clears them, and the trusted done seqs read the model's
 * own done seqs (the NIC's progress, whatever host memory says).
 */
import { encodeCompletion } from '../../hdl/descriptors.js';
import type { NicParams } from '../../hdl/params.js';
import {
  type Bar0Reg,
  bar0Offset,
  bar1CtxOffset,
  bar1GlobalOffset,
  CTRL,
  decodeBar0,
  decodeBar1,
  FAULT_VEC_WORDS,
  GLOBAL_STATUS,
  INT_CTRL,
  STATUS,
} from '../../hdl/registers/map.js';
import type { DmaMonitor, DmaPort } from '../../testbench/host/dma-monitor.js';
import { ReferenceNic } from '../../testbench/refmodel/referenceNic.js';
import type { NicBus } from '../../testbench/vmm/nic-bus.js';
import { SeqSpace } from '../../testbench/vmm/seq.js';

export class TestNic implements NicBus {
  readonly ref: ReferenceNic;
  /** Last value written to each BAR1 offset. */
  readonly bar1 = new Map<number, number>();
  readonly bar1Reads: number[] = [];
  readonly doorbells: { ctx: number; reg: Bar0Reg; value: number }[] = [];
  readonly masked = new Set<number>();
  /** BAR1 offsets that read as these values instead (a NIC generated differently, for example). */
  readonly bar1Overrides = new Map<number, number>();
  /** STATUS reads that still report DMA in flight. */
  busyPolls = 0;
  /** Called after each BAR1 write. */
  afterBar1Write?: (offset: number, value: number) => void;
  /** False plays a broken NIC that takes every TX slot up to the last doorbell, whatever its seq. */
  checkSeq = true;
  /** Called before each BAR1 read (a test stages what the read sees). */
  beforeBar1Read?: (offset: number) => void;
  /** Contexts whose completion-record writes fail on the bus: the write does not land and the context enters FAULT. */
  readonly failRecordWrites = new Set<number>();
  /** Contexts in FAULT. */
  readonly faulted = new Set<number>();
  /** GLOBAL_STATUS.CTX_FAULT and INTR_FAULT. */
  ctxFault = false;
  intrFault = false;
  /** TX_/RX_DONE_TRUSTED reads of a context answered with these instead (a NIC gone wrong, P-13). */
  readonly trustedOverrides = new Map<number, { tx?: number; rx?: number }>();
  private readonly seq: SeqSpace;
  private readonly ctrl = new Map<number, number>();

  constructor(
    readonly params: NicParams,
    private readonly monitor: DmaMonitor,
  ) {
    const port: DmaPort = {
      dmaRead: (addr, len) => monitor.dmaRead(addr, len),
      dmaWrite: (addr, bytes, mask) => {
        const ctx = [...this.failRecordWrites].find((c) => addr >= this.recordAddr(c) && addr < this.recordAddr(c) + 8n);
        if (ctx === undefined) monitor.dmaWrite(addr, bytes, mask);
        else this.enterFault(ctx);
      },
    };
    this.ref = new ReferenceNic(params, port);
    this.seq = new SeqSpace(params.SEQ_W);
  }

  get wire() {
    return this.ref.wire;
  }

  bar1Write(offset: number, value: number): void {
    this.bar1.set(offset, value >>> 0);
    const loc = decodeBar1(this.params, offset);
    if (loc.region === 'ctx' && loc.reg === 'CTRL') {
      this.ctrl.set(loc.ctx, value >>> 0);
      this.ref.bar1Write(offset, this.faulted.has(loc.ctx) ? value & ~CTRL.EN.mask : value);
    } else {
      this.ref.bar1Write(offset, value);
    }
    if (loc.region === 'ctx' && loc.reg === 'STATUS' && value & STATUS.FAULT.mask && this.faulted.delete(loc.ctx)) {
      this.ref.bar1Write(bar1CtxOffset(loc.ctx, 'CTRL', this.params), this.ctrl.get(loc.ctx) ?? 0);
    }
    if (offset === bar1GlobalOffset('GLOBAL_STATUS')) {
      if (value & GLOBAL_STATUS.CTX_FAULT.mask) this.ctxFault = false;
      if (value & GLOBAL_STATUS.INTR_FAULT.mask) this.intrFault = false;
    }
    this.afterBar1Write?.(offset, value);
  }

  bar1Read(offset: number): number {
    this.beforeBar1Read?.(offset);
    this.bar1Reads.push(offset);
    const v = this.bar1Overrides.get(offset) ?? this.faultRead(offset) ?? this.ref.bar1Read(offset);
    const loc = decodeBar1(this.params, offset);
    if (loc.region === 'ctx' && loc.reg === 'STATUS' && this.busyPolls > 0) {
      this.busyPolls--;
      return v & ~STATUS.QUIESCED.mask;
    }
    return v;
  }

  /** Puts ctx in FAULT as a failed write-back would: no more DMA for it, CTX_FAULT set (the NIC raises irq). */
  enterFault(ctx: number): void {
    if (!this.faulted.has(ctx)) {
      this.faulted.add(ctx);
      this.ref.bar1Write(bar1CtxOffset(ctx, 'CTRL', this.params), (this.ctrl.get(ctx) ?? 0) & ~CTRL.EN.mask);
    }
    this.ctxFault = true;
  }

  /** The fault registers, as the NIC answers them; undefined for every other register. */
  private faultRead(offset: number): number | undefined {
    if (offset === bar1GlobalOffset('GLOBAL_STATUS')) {
      return (
        this.ref.bar1Read(offset) |
        (this.ctxFault ? GLOBAL_STATUS.CTX_FAULT.mask : 0) |
        (this.intrFault ? GLOBAL_STATUS.INTR_FAULT.mask : 0)
      );
    }
    const vec = bar1GlobalOffset('FAULT_VEC');
    if (offset >= vec && offset < vec + 4 * FAULT_VEC_WORDS) {
      const w = (offset - vec) / 4;
      return [...this.faulted].filter((c) => c >> 5 === w).reduce((v, c) => (v | (1 << (c & 31))) >>> 0, 0);
    }
    const loc = decodeBar1(this.params, offset);
    if (loc.region !== 'ctx') return undefined;
    if (loc.reg === 'STATUS') return this.ref.bar1Read(offset) | (this.faulted.has(loc.ctx) ? STATUS.FAULT.mask : 0);
    const o = this.trustedOverrides.get(loc.ctx);
    if (loc.reg === 'TX_DONE_TRUSTED') return o?.tx ?? this.ref.doneSeqs(loc.ctx).tx;
    if (loc.reg === 'RX_DONE_TRUSTED') return o?.rx ?? this.ref.doneSeqs(loc.ctx).rx;
    return undefined;
  }

  bar0Write(offset: number, value: number): void {
    const loc = decodeBar0(this.params, offset);
    if (loc?.reg) {
      this.doorbells.push({ ctx: loc.ctx, reg: loc.reg, value });
      if (loc.reg === 'INT_CTRL' && value & INT_CTRL.MASK.mask) this.masked.add(loc.ctx);
      if (loc.reg === 'INT_CTRL' && value & INT_CTRL.UNMASK.mask) this.masked.delete(loc.ctx);
    }
    this.ref.bar0Write(offset, value);
  }

  bar0Read(offset: number): number {
    return this.ref.bar0Read(offset);
  }

  /**
   * Rings ctx's TX doorbell again (unlogged) and lets the NIC send; returns the TX descriptors ctx
   * completed. The NIC reads no descriptor past TX_PROD, so the kick repeats the last TX_PROD the
   * guest wrote, or, with none, posts the widest window from the expected seq (half the seq space).
   */
  serveTx(ctx: number): number {
    const before = this.ref.doneSeqs(ctx).tx;
    if (!this.checkSeq) this.trustDoorbell(ctx);
    const last = this.doorbells.filter((d) => d.ctx === ctx && d.reg === 'TX_PROD').at(-1)?.value;
    const prod = last ?? this.seq.add(this.ref.bar1Read(bar1CtxOffset(ctx, 'TX_EXP_SEQ')), this.seq.modulus / 2 - 1);
    this.ref.bar0Write(bar0Offset(ctx, 'TX_PROD'), prod);
    this.ref.serveTransmit();
    return this.seq.diff(this.ref.doneSeqs(ctx).tx, before);
  }

  /** A frame from the wire; true when `ctx` got a copy. */
  deliver(ctx: number, frame: Uint8Array): boolean {
    return this.ref.receive(frame).delivered.includes(ctx);
  }

  /** Writes pending unmasked bits to the interrupt ring; true when it raised the interrupt. None while INTR_FAULT is set. */
  flushInterrupts(): boolean {
    if (this.intrFault) return false;
    return this.ref.deliverInterrupts().length > 0;
  }

  /** Writes ctx's completion record as a faulty NIC would (P-13 fault injection). */
  forgeRecord(ctx: number, txDoneSeq: number, rxDoneSeq: number): void {
    this.monitor.dmaWrite(this.recordAddr(ctx), encodeCompletion({ txDoneSeq, rxDoneSeq }));
  }

  private recordAddr(ctx: number): bigint {
    return (
      (BigInt(this.bar1.get(bar1CtxOffset(ctx, 'DONE_BASE_HI')) ?? 0) << 32n) |
      BigInt(this.bar1.get(bar1CtxOffset(ctx, 'DONE_BASE_LO')) ?? 0)
    );
  }

  /** The broken NIC's view: every slot from the expected seq up to the last doorbell looks valid. */
  private trustDoorbell(ctx: number): void {
    const prod = this.doorbells.filter((d) => d.ctx === ctx && d.reg === 'TX_PROD').at(-1)?.value;
    if (prod === undefined) return;
    const reg = (r: Parameters<typeof bar1CtxOffset>[1]) => this.ref.bar1Read(bar1CtxOffset(ctx, r));
    const base = (BigInt(reg('TX_RING_BASE_HI')) << 32n) | BigInt(reg('TX_RING_BASE_LO'));
    const size = 2 ** reg('TX_RING_LOG2');
    const seqAt = new Uint8Array(4);
    for (let s = reg('TX_EXP_SEQ'); this.seq.diff(prod, s) < this.seq.modulus / 2; s = this.seq.add(s, 1)) {
      new DataView(seqAt.buffer).setUint32(0, s, true);
      this.monitor.memory.write(base + BigInt((s % size) * 16 + 12), seqAt);
    }
  }
}
