/**
 * A deliberately small stand-in for the NIC, for model tests only: a BAR1 register file, BAR0
 * doorbells, and just enough of the data path (seq-checked descriptor fetch, payload DMA through
 * the DMA monitor, completion records, interrupt entries) to exercise the VMM and guest models.
 * It is not the reference model: no scheduling, coalescing, MAC lookup or counters.
 */
import { DESC_FLAGS, DESCRIPTOR, decodeDescriptor, encodeCompletion, encodeIntrEntry, INTR_ENTRY } from '../../hdl/descriptors.js';
import type { NicParams } from '../../hdl/params.js';
import {
  type Bar1CtxReg,
  type Bar1GlobalReg,
  bar1CtxOffset,
  bar1GlobalOffset,
  bar1GlobalRegisters,
  CTRL,
  decodeBar0,
  decodeBar1,
  INT_CTRL,
  STATUS,
} from '../../hdl/registers/map.js';
import type { DmaPort } from '../../testbench/host/dma-monitor.js';
import type { NicBus } from '../../testbench/vmm/nic-bus.js';
import { SeqSpace } from '../../testbench/vmm/seq.js';

export interface WireFrame {
  ctx: number;
  data: Uint8Array;
}

interface Engine {
  exp: number;
  done: number;
}

const SEQ32 = new SeqSpace(32);

export class TinyNic implements NicBus {
  readonly bar1 = new Map<number, number>();
  readonly doorbells: { ctx: number; reg: string; value: number }[] = [];
  readonly wire: WireFrame[] = [];
  readonly rxDropped: { ctx: number; reason: 'nobuf' | 'too-small' }[] = [];
  /** Contexts with an event not yet written to the interrupt ring. */
  readonly pending = new Set<number>();
  readonly masked = new Set<number>();
  /** False makes it a broken NIC that trusts TX doorbells instead of seqs (to show the DMA monitor catches it). */
  checkSeq = true;
  private readonly txProd = new Map<number, number>();
  /** STATUS reads that still report DMA in flight after QUIESCE is set. */
  busyPolls = 0;
  /** Extra BAR1 accesses answered, for tests of what the VMM reads. */
  readonly bar1Reads: number[] = [];
  private readonly seq: SeqSpace;
  private readonly tx = new Map<number, Engine>();
  private readonly rx = new Map<number, Engine>();
  private intrHead = 0;
  private intrSeq = 0;

  constructor(
    readonly params: NicParams,
    private readonly dma: DmaPort,
  ) {
    this.seq = new SeqSpace(params.SEQ_W);
    for (const r of bar1GlobalRegisters(params)) this.bar1.set(bar1GlobalOffset(r.name), r.reset);
  }

  // ---------------------------------------------------------------- bus

  /** Called after each BAR1 write (to stage races in tests). */
  afterBar1Write?: (offset: number, value: number) => void;

  bar1Write(offset: number, value: number): void {
    this.applyBar1Write(offset, value);
    this.afterBar1Write?.(offset, value);
  }

  private applyBar1Write(offset: number, value: number): void {
    const loc = decodeBar1(this.params, offset);
    if (loc.region === 'ctx' && loc.reg) {
      const locked = !['CTRL', 'STATUS'].includes(loc.reg);
      if (locked && this.ctxReg(loc.ctx, 'CTRL') & CTRL.EN.mask) {
        this.bar1.set(bar1CtxOffset(loc.ctx, 'STATUS'), this.ctxReg(loc.ctx, 'STATUS') | STATUS.CFG_ERR.mask);
        return;
      }
      if (loc.reg === 'TX_EXP_SEQ') this.tx.set(loc.ctx, { exp: value, done: this.seq.add(value, -1) });
      if (loc.reg === 'RX_EXP_SEQ') this.rx.set(loc.ctx, { exp: value, done: this.seq.add(value, -1) });
    }
    if (loc.region === 'global' && loc.reg === 'INTR_SEQ_INIT') {
      this.intrSeq = value;
      this.intrHead = 0;
    }
    this.bar1.set(offset, value >>> 0);
  }

  bar1Read(offset: number): number {
    this.bar1Reads.push(offset);
    const loc = decodeBar1(this.params, offset);
    if (loc.region === 'ctx' && loc.reg === 'STATUS') {
      const ctrl = this.ctxReg(loc.ctx, 'CTRL');
      const quiet = (ctrl & CTRL.QUIESCE.mask) !== 0 && (ctrl & CTRL.EN.mask) === 0 && this.busyPolls-- <= 0;
      return (this.bar1.get(offset) ?? 0) | (quiet ? STATUS.QUIESCED.mask : 0);
    }
    return this.bar1.get(offset) ?? 0;
  }

  bar0Write(offset: number, value: number): void {
    const loc = decodeBar0(this.params, offset);
    if (!loc?.reg) return;
    this.doorbells.push({ ctx: loc.ctx, reg: loc.reg, value });
    if (loc.reg === 'TX_PROD') this.txProd.set(loc.ctx, value);
    if (loc.reg === 'INT_CTRL') {
      if (value & INT_CTRL.MASK.mask) this.masked.add(loc.ctx);
      if (value & INT_CTRL.UNMASK.mask) this.masked.delete(loc.ctx);
    }
  }

  bar0Read(offset: number): number {
    const loc = decodeBar0(this.params, offset);
    if (loc?.reg === 'TX_DONE_SEQ') return this.tx.get(loc.ctx)?.done ?? 0;
    if (loc?.reg === 'RX_DONE_SEQ') return this.rx.get(loc.ctx)?.done ?? 0;
    return 0;
  }

  // ---------------------------------------------------------------- data path

  /** Sends every frame context `ctx` has valid descriptors for; returns how many. */
  serveTx(ctx: number): number {
    const e = this.tx.get(ctx);
    if (!e || !this.enabled(ctx)) return 0;
    let frames = 0;
    let parts: Uint8Array[] = [];
    let slots: { addr: bigint; flags: number }[] = [];
    for (;;) {
      const slot = this.slotAddr(ctx, 'TX', e.exp);
      const d = decodeDescriptor(this.dma.dmaRead(slot, DESCRIPTOR.bytes));
      // The broken NIC takes every slot up to the doorbell's value, whatever its seq.
      const upToDoorbell = this.seq.diff(this.txProd.get(ctx) ?? e.done, e.exp) < this.seq.modulus / 2;
      if (this.checkSeq ? d.seq !== e.exp : !upToDoorbell) break;
      parts.push(this.dma.dmaRead(d.addr, d.len));
      slots.push({ addr: slot, flags: d.flags });
      e.exp = this.seq.add(e.exp, 1);
      if ((d.flags & DESC_FLAGS.EOP) === 0) continue;
      const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        data.set(p, at);
        at += p.length;
      }
      this.wire.push({ ctx, data });
      for (const s of slots) {
        const f = s.flags | DESC_FLAGS.DONE;
        this.dma.dmaWrite(s.addr + 10n, Uint8Array.of(f & 0xff, f >> 8));
      }
      e.done = this.seq.add(e.exp, -1);
      this.writeRecord(ctx);
      this.pending.add(ctx);
      frames++;
      parts = [];
      slots = [];
    }
    return frames;
  }

  /** Writes `data` into ctx's next valid RX buffer; false when dropped. */
  deliver(ctx: number, data: Uint8Array): boolean {
    const e = this.rx.get(ctx);
    if (!e || !this.enabled(ctx)) return false;
    const slot = this.slotAddr(ctx, 'RX', e.exp);
    const d = decodeDescriptor(this.dma.dmaRead(slot, DESCRIPTOR.bytes));
    if (d.seq !== e.exp) {
      this.rxDropped.push({ ctx, reason: 'nobuf' });
      return false;
    }
    if (data.length > d.len) {
      this.rxDropped.push({ ctx, reason: 'too-small' });
      return false;
    }
    this.dma.dmaWrite(d.addr, data);
    const back = new Uint8Array(4);
    new DataView(back.buffer).setUint16(0, data.length, true);
    new DataView(back.buffer).setUint16(2, DESC_FLAGS.DONE | DESC_FLAGS.EOP, true);
    this.dma.dmaWrite(slot + 8n, back);
    e.exp = this.seq.add(e.exp, 1);
    e.done = this.seq.add(e.exp, -1);
    this.writeRecord(ctx);
    this.pending.add(ctx);
    return true;
  }

  /** Writes the completion record as a faulty NIC would (P-13 fault injection). */
  forgeRecord(ctx: number, txDoneSeq: number, rxDoneSeq: number): void {
    this.dma.dmaWrite(this.doneBase(ctx), encodeCompletion({ txDoneSeq, rxDoneSeq }));
  }

  /** Writes pending unmasked bits as interrupt entries (one per group); returns true when it raised the interrupt. */
  flushInterrupts(): boolean {
    const ctxs = [...this.pending].filter((c) => !this.masked.has(c));
    if (ctxs.length === 0) return false;
    const size = 2 ** this.global('INTR_RING_LOG2');
    const tail = this.global('INTR_RING_TAIL');
    const groups = new Map<number, bigint>();
    for (const c of ctxs) groups.set(c >> 6, (groups.get(c >> 6) ?? 0n) | (1n << BigInt(c & 63)));
    if (SEQ32.diff(this.intrHead, tail) + groups.size > size) return false;
    const base = (BigInt(this.global('INTR_RING_BASE_HI')) << 32n) | BigInt(this.global('INTR_RING_BASE_LO'));
    for (const [group, vec] of groups) {
      const slot = base + BigInt((this.intrHead % size) * INTR_ENTRY.bytes);
      this.dma.dmaWrite(slot, encodeIntrEntry({ vec, seq: this.intrSeq, group }));
      this.intrSeq = SEQ32.add(this.intrSeq, 1);
      this.intrHead = SEQ32.add(this.intrHead, 1);
    }
    for (const c of ctxs) this.pending.delete(c);
    return true;
  }

  txExp(ctx: number): number | undefined {
    return this.tx.get(ctx)?.exp;
  }

  // ---------------------------------------------------------------- internals

  private enabled(ctx: number): boolean {
    return (this.ctxReg(ctx, 'CTRL') & CTRL.EN.mask) !== 0;
  }

  private global(reg: Bar1GlobalReg): number {
    return this.bar1.get(bar1GlobalOffset(reg)) ?? 0;
  }

  private ctxReg(ctx: number, reg: Bar1CtxReg): number {
    return this.bar1.get(bar1CtxOffset(ctx, reg)) ?? 0;
  }

  private slotAddr(ctx: number, dir: 'TX' | 'RX', seq: number): bigint {
    const base = (BigInt(this.ctxReg(ctx, `${dir}_RING_BASE_HI`)) << 32n) | BigInt(this.ctxReg(ctx, `${dir}_RING_BASE_LO`));
    const size = 2 ** this.ctxReg(ctx, `${dir}_RING_LOG2`);
    return base + BigInt((seq % size) * DESCRIPTOR.bytes);
  }

  private doneBase(ctx: number): bigint {
    return (BigInt(this.ctxReg(ctx, 'DONE_BASE_HI')) << 32n) | BigInt(this.ctxReg(ctx, 'DONE_BASE_LO'));
  }

  private writeRecord(ctx: number): void {
    const rec = encodeCompletion({ txDoneSeq: this.tx.get(ctx)?.done ?? 0, rxDoneSeq: this.rx.get(ctx)?.done ?? 0 });
    this.dma.dmaWrite(this.doneBase(ctx), rec);
  }
}
