/**
 * The reference NIC model behind a tap, for model tests: it logs what the VMM and guests do on the
 * buses, lets tests stage races (a hook after each BAR1 write, STATUS reporting DMA in flight for a
 * while), inject faults (a forged completion record) and play a broken NIC that trusts doorbells.
 */
import { encodeCompletion } from '../../hdl/descriptors.js';
import type { NicParams } from '../../hdl/params.js';
import { type Bar0Reg, bar0Offset, bar1CtxOffset, decodeBar0, decodeBar1, INT_CTRL, STATUS } from '../../hdl/registers/map.js';
import type { DmaMonitor } from '../../testbench/host/dma-monitor.js';
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
  private readonly seq: SeqSpace;

  constructor(
    readonly params: NicParams,
    private readonly monitor: DmaMonitor,
  ) {
    this.ref = new ReferenceNic(params, monitor);
    this.seq = new SeqSpace(params.SEQ_W);
  }

  get wire() {
    return this.ref.wire;
  }

  bar1Write(offset: number, value: number): void {
    this.bar1.set(offset, value >>> 0);
    this.ref.bar1Write(offset, value);
    this.afterBar1Write?.(offset, value);
  }

  bar1Read(offset: number): number {
    this.bar1Reads.push(offset);
    const v = this.bar1Overrides.get(offset) ?? this.ref.bar1Read(offset);
    const loc = decodeBar1(this.params, offset);
    if (loc.region === 'ctx' && loc.reg === 'STATUS' && this.busyPolls > 0) {
      this.busyPolls--;
      return v & ~STATUS.QUIESCED.mask;
    }
    return v;
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

  /** Rings ctx's TX doorbell (unlogged) and lets the NIC send; returns the TX descriptors ctx completed. */
  serveTx(ctx: number): number {
    const before = this.ref.doneSeqs(ctx).tx;
    if (!this.checkSeq) this.trustDoorbell(ctx);
    this.ref.bar0Write(bar0Offset(ctx, 'TX_PROD'), 0);
    this.ref.serveTransmit();
    return this.seq.diff(this.ref.doneSeqs(ctx).tx, before);
  }

  /** A frame from the wire; true when `ctx` got a copy. */
  deliver(ctx: number, frame: Uint8Array): boolean {
    return this.ref.receive(frame).delivered.includes(ctx);
  }

  /** Writes pending unmasked bits to the interrupt ring; true when it raised the interrupt. */
  flushInterrupts(): boolean {
    return this.ref.deliverInterrupts().length > 0;
  }

  /** Writes ctx's completion record as a faulty NIC would (P-13 fault injection). */
  forgeRecord(ctx: number, txDoneSeq: number, rxDoneSeq: number): void {
    const base =
      (BigInt(this.bar1.get(bar1CtxOffset(ctx, 'DONE_BASE_HI')) ?? 0) << 32n) |
      BigInt(this.bar1.get(bar1CtxOffset(ctx, 'DONE_BASE_LO')) ?? 0);
    this.monitor.dmaWrite(base, encodeCompletion({ txDoneSeq, rxDoneSeq }));
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
