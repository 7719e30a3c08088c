/**
 * The reference model of the CDNA NIC: the spec's behaviour at transaction level, with the same
 * register semantics as the RTL (hdl/registers/map.ts) and the same host-memory formats
 * (hdl/descriptors.ts). It is fed the same stimulus as the RTL — register writes, doorbells, frames
 * from the wire — and reports what the RTL must do: frames on the wire in order, DMA writes, counters,
 * done seqs and interrupt bits. The scoreboard (scoreboard.ts) compares the two.
 *
 * Time is abstract here: the harness calls `serveTransmit()` to let the NIC send what it can, and
 * `receive()` for each frame from the wire. Interrupt coalescing is timing, so the model keeps only
 * what is invariant: which context bits are pending, and entries written when the harness asks.
 *
 * Bus faults (docs/faults.md): with `faults` (a side of testbench/host/fault-injector.ts), every DMA
 * access asks which of its 64-byte lines fail, as the RTL's bus does, and the model answers as the NIC
 * must: a failed descriptor fetch idles the context (TX_DMA_ERR / RX_DMA_ERR, not a seq miss); a failed
 * TX payload read completes the frame with DONE | ERR, unsent; a failed RX payload write completes the
 * descriptor with ERR and without DONE, length 0; a failed write-back or completion record puts the
 * context in FAULT (stopped as if quiescing, STATUS.FAULT, FAULT_VEC, GLOBAL_STATUS.CTX_FAULT, an irq);
 * a failed interrupt entry sets GLOBAL_STATUS.INTR_FAULT and keeps the pending bits.
 */
import { DESC_FLAGS, DESCRIPTOR, decodeDescriptor, encodeIntrEntry, INTR_ENTRY } from '../../hdl/descriptors.js';
import { deriveParams, type NicParams } from '../../hdl/params.js';
import { BROADCAST_MAC, decodeMacEntry, isMulticastMac, macFromBytes, macHash } from '../../hdl/registers/macTable.js';
import {
  BAR0_OFFSETS,
  BAR0_PAGE_SHIFT,
  BAR1_CTX_BASE,
  BAR1_CTX_OFFSETS,
  BAR1_CTX_SHIFT,
  BAR1_GLOBAL_OFFSETS,
  BAR1_MAC_TABLE_BASE,
  type Bar1CtxReg,
  type Bar1GlobalReg,
  bar1CtxRegisters,
  bar1FaultVecOffset,
  bar1GlobalRegisters,
  CTRL,
  FAULT_VEC_WORDS,
  GLOBAL_STATUS,
  getField,
  INT_CTRL,
  MAC_TABLE_WAY_STRIDE,
  MAX_INTR_RING_LOG2,
  macTableGeometry,
  type RegisterSpec,
  STATUS,
  TX_RATE_SHARE,
} from '../../hdl/registers/map.js';

import type { DmaPort } from '../host/dma-monitor.js';
import type { FailedSpan, FaultSide } from '../host/fault-injector.js';

export type { DmaPort };

/** A DMA write the NIC made, for the scoreboard. */
export interface DmaWriteRecord {
  ctx: number | null;
  kind: 'tx-desc' | 'rx-desc' | 'rx-payload' | 'completion' | 'intr-entry';
  addr: bigint;
  bytes: Uint8Array;
  /** Some line of it failed on the bus (its bytes were not written). */
  failed?: boolean;
}

export interface ReferenceNicOptions {
  /** Bus faults on the model's DMA (the model's side of the same FaultInjector as the RTL's bus). */
  faults?: FaultSide;
  /**
   * RX descriptor fetches never fail on the model's own bus: their faults come from the RTL's
   * (`noteRxFetchFault`). The RTL prefetches RX descriptors, maybe before a rule was switched on,
   * while the model reads them when a frame arrives (the system harness sets it).
   */
  rxFetchFaultsFromRtl?: boolean;
}

/** A TX frame whose payload read failed: not sent (or spoiled on its way), completed with DONE | ERR. */
export interface FailedTxFrame {
  ctx: number;
  /** Where it would have gone, decided on what the failed read returned (zeros for failed lines). */
  wire: boolean;
  local: boolean;
}

/** Why a context entered FAULT. */
export interface FaultEntry {
  ctx: number;
  dir: 'tx' | 'rx';
  what: 'writeback' | 'record';
  addr: bigint;
}

/**
 * How the RTL cuts payload transfers into bursts (tx/payload.ts: aligned 256-byte windows; the RX
 * engine: at 4 KiB and 256 beats, so one burst for any buffer inside a page): DMA_ERR counts one per
 * failed burst.
 */
export const TX_PAYLOAD_BURST_BYTES = 256;

/** Flags of an RX descriptor whose payload write failed (docs/faults.md: ERR, not DONE, nothing else). */
export const RX_FAILED_FLAGS = DESC_FLAGS.ERR;

export interface WireFrame {
  ctx: number;
  bytes: Uint8Array;
}

export type RxDropReason = 'fcs' | 'runt' | 'oversize' | 'nomatch' | 'nobuf' | 'too-small' | 'disabled' | 'dma-error';

export interface RxOutcome {
  delivered: number[];
  dropped: { ctx: number | null; reason: RxDropReason }[];
}

const CTX_COUNTERS = [
  'TX_FRAMES',
  'TX_SEQ_MISS',
  'TX_OVERSIZE',
  'TX_SPOOFED',
  'TX_DMA_ERR',
  'RX_FRAMES',
  'RX_SEQ_MISS',
  'RX_NOBUF',
  'RX_BUF_TOO_SMALL',
  'RX_DMA_ERR',
] as const;
type CtxCounter = (typeof CTX_COUNTERS)[number];
const GLOBAL_COUNTERS = ['RX_NOMATCH', 'RX_FCS_ERR', 'RX_RUNT', 'RX_OVERSIZE', 'RX_FIFO_DROP', 'INTR_ENTRIES', 'INTR_IRQS'] as const;
type GlobalCounter = (typeof GLOBAL_COUNTERS)[number];

interface ContextState {
  regs: Map<Bar1CtxReg, number>;
  counters: Record<CtxCounter, number>;
  txBytes: bigint;
  rxBytes: bigint;
  cfgErr: boolean;
  txExp: number;
  rxExp: number;
  txDone: number;
  rxDone: number;
  masked: boolean;
  /** STATUS.FAULT: a write-back or completion record failed; the context is stopped as if quiescing. */
  fault: boolean;
  /** A failed RX descriptor fetch left RX idle at this seq until the next RX doorbell. */
  rxStallSeq: number | null;
}

const NO_FAILURES: readonly FailedSpan[] = Object.freeze([]);

/** A context register by its offset within the context's block. */
const CTX_REG_AT: ReadonlyMap<number, Bar1CtxReg> = new Map(
  (Object.keys(BAR1_CTX_OFFSETS) as Bar1CtxReg[]).map((r) => [BAR1_CTX_OFFSETS[r], r] as const),
);

const TWO32 = 2 ** 32;

export class ReferenceNic {
  /** The context registers' specs by name (access, locking). */
  private readonly ctxSpecs: ReadonlyMap<Bar1CtxReg, RegisterSpec<Bar1CtxReg>>;
  readonly dmaWrites: DmaWriteRecord[] = [];
  readonly wire: WireFrame[] = [];
  /** TX frames whose payload read failed, oldest first (the scoreboard takes them per window). */
  readonly failedTx: FailedTxFrame[] = [];
  /** Contexts that entered FAULT, oldest first. */
  readonly faultEntries: FaultEntry[] = [];
  /** Interrupt requests raised (one per `deliverInterrupts` that wrote at least one entry, one per fault). */
  irqs = 0;
  /** A fault interrupt is owed to the hypervisor (FAULT or INTR_FAULT raised); `takeFaultIrq` clears it. */
  faultIrq = false;
  private readonly ctxs: ContextState[];
  private readonly globals = new Map<Bar1GlobalReg, number>();
  private readonly globalCounters: Record<GlobalCounter, number>;
  private globalCfgErr = false;
  private readonly macTable: { lo: number; hi: number }[][];
  private readonly seqMask: number;
  private readonly maxFrame: number;
  /** Contexts with TX work, in round-robin order; a context is in it at most once. */
  private readonly txActive: number[] = [];
  /**
   * The last TX_PROD written per context, as the RTL keeps it (a RAM the reset does not clear): the
   * NIC never fetches a TX descriptor past it, so running out of posted descriptors is not a miss.
   */
  private readonly txProd = new Map<number, number>();
  /**
   * Every TX_PROD value context c held since `closeDoorbellWindow()` (the last quiet point). The RTL
   * reads descriptors at a time the model does not see, then completes them later; a TX_PROD written
   * in between (a rogue write lowers it, P-10) does not undo a fetch the value before allowed. So a
   * frame the RTL completed is checked against every value held in the window, the model's own
   * sending (`serveTransmit`, at a quiet point) against the last one.
   */
  private readonly txProdHeld = new Map<number, number[]>();
  private pend = 0n;
  private intrHead = 0;
  private intrSeq = 0;
  private ctxFault = false;
  private intrFault = false;
  private readonly faults: FaultSide | null;
  private readonly rxFetchFaultsFromRtl: boolean;

  constructor(
    readonly params: NicParams,
    private readonly mem: DmaPort,
    options: ReferenceNicOptions = {},
  ) {
    this.faults = options.faults ?? null;
    this.rxFetchFaultsFromRtl = options.rxFetchFaultsFromRtl ?? false;
    const d = deriveParams(params);
    this.seqMask = d.seqMask;
    this.maxFrame = d.maxFrameBytes;
    const ctxRegs = bar1CtxRegisters(params);
    this.ctxSpecs = new Map(ctxRegs.map((r) => [r.name, r]));
    this.ctxs = Array.from({ length: params.N_CTX }, () => ({
      regs: new Map(ctxRegs.map((r) => [r.name, r.reset])),
      counters: Object.fromEntries(CTX_COUNTERS.map((c) => [c, 0])) as Record<CtxCounter, number>,
      txBytes: 0n,
      rxBytes: 0n,
      cfgErr: false,
      txExp: ctxRegs.find((r) => r.name === 'TX_EXP_SEQ')?.reset ?? 1,
      rxExp: ctxRegs.find((r) => r.name === 'RX_EXP_SEQ')?.reset ?? 1,
      txDone: 0,
      rxDone: 0,
      masked: false,
      fault: false,
      rxStallSeq: null,
    }));
    for (const c of this.ctxs) {
      c.txDone = (c.txExp - 1) & this.seqMask;
      c.rxDone = (c.rxExp - 1) & this.seqMask;
    }
    for (const r of bar1GlobalRegisters(params)) this.globals.set(r.name, r.reset);
    this.globalCounters = Object.fromEntries(GLOBAL_COUNTERS.map((c) => [c, 0])) as Record<GlobalCounter, number>;
    const g = macTableGeometry(params);
    this.macTable = Array.from({ length: g.ways }, () => Array.from({ length: g.entriesPerWay }, () => ({ lo: 0, hi: 0 })));
  }

  // ---------------------------------------------------------------- registers

  private ctrl(c: number): number {
    return this.ctxs[c]?.regs.get('CTRL') ?? 0;
  }
  private flag(c: number, f: { lsb: number; width: number; mask: number }): boolean {
    return getField(this.ctrl(c), f as Parameters<typeof getField>[1]) === 1;
  }
  enabled(c: number): boolean {
    return this.flag(c, CTRL.EN) && !this.flag(c, CTRL.QUIESCE) && !(this.ctxs[c]?.fault ?? false);
  }

  /** STATUS.FAULT of context c. */
  inFault(c: number): boolean {
    return this.ctxs[c]?.fault ?? false;
  }

  bar0Write(offset: number, value: number): void {
    const c = offset >>> BAR0_PAGE_SHIFT;
    const word = offset & ((1 << BAR0_PAGE_SHIFT) - 1);
    const ctx = this.ctxs[c];
    if (!ctx) return;
    if (word === BAR0_OFFSETS.TX_PROD) {
      const held = this.txProdHeld.get(c);
      if (held) held.push(value & this.seqMask);
      else this.txProdHeld.set(c, [this.txProd.get(c) ?? 0, value & this.seqMask]);
      this.txProd.set(c, value & this.seqMask);
      if (!this.txActive.includes(c)) this.txActive.push(c);
    } else if (word === BAR0_OFFSETS.RX_PROD) {
      // A doorbell restarts an RX prefetch that a failed fetch stopped.
      ctx.rxStallSeq = null;
    } else if (word === BAR0_OFFSETS.INT_CTRL) {
      if (getField(value, INT_CTRL.MASK)) ctx.masked = true;
      if (getField(value, INT_CTRL.UNMASK)) ctx.masked = false;
    }
    // RX_PROD is otherwise only a hint: receive() looks at the ring itself.
  }

  bar0Read(offset: number): number {
    const ctx = this.ctxs[offset >>> BAR0_PAGE_SHIFT];
    const word = offset & ((1 << BAR0_PAGE_SHIFT) - 1);
    if (!ctx) return 0;
    if (word === BAR0_OFFSETS.TX_DONE_SEQ) return ctx.txDone;
    if (word === BAR0_OFFSETS.RX_DONE_SEQ) return ctx.rxDone;
    return 0;
  }

  private ctxReg(offset: number): { c: number; reg: Bar1CtxReg } | null {
    if (offset < BAR1_CTX_BASE) return null;
    const c = (offset - BAR1_CTX_BASE) >>> BAR1_CTX_SHIFT;
    const within = (offset - BAR1_CTX_BASE) & ((1 << BAR1_CTX_SHIFT) - 1);
    if (c >= this.params.N_CTX) return null;
    const reg = CTX_REG_AT.get(within);
    return reg ? { c, reg } : null;
  }

  bar1Write(offset: number, value: number): void {
    const v = value >>> 0;
    const cr = this.ctxReg(offset);
    if (cr) {
      const ctx = this.ctxs[cr.c] as ContextState;
      const spec = this.ctxSpecs.get(cr.reg);
      if (!spec || spec.access === 'RO') return;
      const locked = spec.lockedWhen === 'ctx-enabled' && this.flag(cr.c, CTRL.EN);
      const badLog2 = (cr.reg === 'TX_RING_LOG2' || cr.reg === 'RX_RING_LOG2') && (v & 0x1f) > this.params.MAX_RING_LOG2;
      if (locked || badLog2) {
        ctx.cfgErr = true;
        return;
      }
      if (cr.reg === 'STATUS') {
        if (getField(v, STATUS.CFG_ERR)) ctx.cfgErr = false;
        if (getField(v, STATUS.FAULT)) ctx.fault = false;
        return;
      }
      ctx.regs.set(cr.reg, v);
      if (cr.reg === 'TX_EXP_SEQ') {
        ctx.txExp = v & this.seqMask;
        ctx.txDone = (ctx.txExp - 1) & this.seqMask;
      } else if (cr.reg === 'RX_EXP_SEQ') {
        ctx.rxExp = v & this.seqMask;
        ctx.rxDone = (ctx.rxExp - 1) & this.seqMask;
      }
      return;
    }
    if (offset >= BAR1_MAC_TABLE_BASE && offset < BAR1_CTX_BASE) {
      const rel = offset - BAR1_MAC_TABLE_BASE;
      const way = Math.floor(rel / MAC_TABLE_WAY_STRIDE);
      const index = (rel % MAC_TABLE_WAY_STRIDE) >>> 3;
      const slot = this.macTable[way]?.[index];
      if (!slot) return;
      if (rel & 4) slot.hi = v;
      else slot.lo = v;
      return;
    }
    const reg = (Object.keys(BAR1_GLOBAL_OFFSETS) as Bar1GlobalReg[]).find((r) => BAR1_GLOBAL_OFFSETS[r] === offset);
    if (!reg) return;
    const spec = bar1GlobalRegisters(this.params).find((r) => r.name === reg);
    if (!spec || spec.access === 'RO') return;
    const intrOn = ((this.globals.get('INTR_CTRL') ?? 0) & 1) === 1;
    if ((spec.lockedWhen === 'intr-enabled' && intrOn) || (reg === 'INTR_RING_LOG2' && (v & 0x1f) > MAX_INTR_RING_LOG2)) {
      this.globalCfgErr = true;
      return;
    }
    if (reg === 'GLOBAL_STATUS') {
      if (getField(v, GLOBAL_STATUS.CFG_ERR)) this.globalCfgErr = false;
      if (getField(v, GLOBAL_STATUS.CTX_FAULT)) this.ctxFault = false;
      if (getField(v, GLOBAL_STATUS.INTR_FAULT)) this.intrFault = false;
      return;
    }
    this.globals.set(reg, v);
    if (reg === 'INTR_SEQ_INIT') {
      // Writing the initial seq restarts the ring: head and tail count from 0 again (docs/registers.md).
      this.intrSeq = v;
      this.intrHead = 0;
      this.globals.set('INTR_RING_TAIL', 0);
    }
  }

  bar1Read(offset: number): number {
    const cr = this.ctxReg(offset);
    if (cr) {
      const ctx = this.ctxs[cr.c] as ContextState;
      switch (cr.reg) {
        case 'STATUS':
          return (
            (this.flag(cr.c, CTRL.QUIESCE) ? STATUS.QUIESCED.mask : 0) |
            (ctx.cfgErr ? STATUS.CFG_ERR.mask : 0) |
            (ctx.fault ? STATUS.FAULT.mask : 0)
          );
        case 'TX_DONE_TRUSTED':
          return ctx.txDone;
        case 'RX_DONE_TRUSTED':
          return ctx.rxDone;
        case 'TX_EXP_SEQ':
          return ctx.txExp;
        case 'RX_EXP_SEQ':
          return ctx.rxExp;
        case 'TX_BYTES_LO':
          return Number(ctx.txBytes % BigInt(TWO32));
        case 'TX_BYTES_HI':
          return Number((ctx.txBytes >> 32n) % BigInt(TWO32));
        case 'RX_BYTES_LO':
          return Number(ctx.rxBytes % BigInt(TWO32));
        case 'RX_BYTES_HI':
          return Number((ctx.rxBytes >> 32n) % BigInt(TWO32));
        case 'TX_RATE_SHARE':
          // The NIC keeps the weight's field only (TX_RATE_MAX keeps all 32 bits). Shaping changes when
          // frames leave, not which: the model's frames and counters need nothing else.
          return getField(ctx.regs.get(cr.reg) ?? 0, TX_RATE_SHARE.SHARE);
        default:
          if ((CTX_COUNTERS as readonly string[]).includes(cr.reg)) return ctx.counters[cr.reg as CtxCounter] >>> 0;
          return (ctx.regs.get(cr.reg) ?? 0) >>> 0;
      }
    }
    const fv = (offset - bar1FaultVecOffset(0)) / 4;
    if (Number.isInteger(fv) && fv >= 0 && fv < FAULT_VEC_WORDS) return this.faultVecWord(fv);
    const reg = (Object.keys(BAR1_GLOBAL_OFFSETS) as Bar1GlobalReg[]).find((r) => BAR1_GLOBAL_OFFSETS[r] === offset);
    if (!reg) return 0;
    if ((GLOBAL_COUNTERS as readonly string[]).includes(reg)) return this.globalCounters[reg as GlobalCounter] >>> 0;
    if (reg === 'GLOBAL_STATUS') {
      return (
        (this.globalCfgErr ? GLOBAL_STATUS.CFG_ERR.mask : 0) |
        (this.ctxFault ? GLOBAL_STATUS.CTX_FAULT.mask : 0) |
        (this.intrFault ? GLOBAL_STATUS.INTR_FAULT.mask : 0)
      );
    }
    if (reg === 'INTR_RING_HEAD') return this.intrHead;
    return (this.globals.get(reg) ?? 0) >>> 0;
  }

  /** Word i of FAULT_VEC: bit c % 32 of word c / 32 is STATUS.FAULT of context c. */
  private faultVecWord(i: number): number {
    let w = 0;
    for (let b = 0; b < 32; b++) if (this.ctxs[32 * i + b]?.fault) w |= 1 << b;
    return w >>> 0;
  }

  // ---------------------------------------------------------------- state the scoreboard reads

  counter(c: number, name: CtxCounter): number {
    return (this.ctxs[c] as ContextState).counters[name];
  }
  globalCounter(name: GlobalCounter): number {
    return this.globalCounters[name];
  }
  doneSeqs(c: number): { tx: number; rx: number } {
    const s = this.ctxs[c] as ContextState;
    return { tx: s.txDone, rx: s.rxDone };
  }
  pendingVector(): bigint {
    return this.pend;
  }
  /** True once per fault interrupt raised since the last call (a FAULT or INTR_FAULT, no ring entry). */
  takeFaultIrq(): boolean {
    const f = this.faultIrq;
    this.faultIrq = false;
    return f;
  }

  /**
   * The RTL's RX prefetch of context c failed for descriptor `seq` (seen on its bus): its RX idles
   * at that seq until an RX doorbell, as the model's own failed fetch would make it.
   */
  noteRxFetchFault(c: number, seq: number): void {
    const s = this.ctxs[c];
    if (!s) return;
    const ahead = (seq - s.rxExp) & this.seqMask;
    // Several fetches may be in flight and fail: the prefetch stopped at the first of them.
    if (s.rxStallSeq !== null && ((s.rxStallSeq - s.rxExp) & this.seqMask) <= ahead) return;
    s.rxStallSeq = seq & this.seqMask;
  }

  /** The RTL's TX descriptor fetch of context c failed (seen on its bus): c idles until its next doorbell. */
  noteTxFetchFault(c: number): void {
    const i = this.txActive.indexOf(c);
    if (i >= 0) this.txActive.splice(i, 1);
  }

  private addr64(c: number, lo: Bar1CtxReg, hi: Bar1CtxReg): bigint {
    const s = this.ctxs[c] as ContextState;
    return (BigInt(s.regs.get(hi) ?? 0) << 32n) | BigInt((s.regs.get(lo) ?? 0) >>> 0);
  }

  /** The lines of an access the bus fails (none without faults). */
  private failures(addr: bigint, len: number, dir: 'read' | 'write'): readonly FailedSpan[] {
    return this.faults ? this.faults.failures(addr, len, dir) : NO_FAILURES;
  }

  /** A DMA read; null when a line of it failed (the data is discarded). */
  private read(addr: bigint, len: number): Uint8Array | null {
    if (this.failures(addr, len, 'read').length > 0) return null;
    return this.mem.dmaRead(addr, len);
  }

  /**
   * A DMA write; the bytes of failed lines are not written (the other lines are, as the bus writes a
   * burst's good beats). Returns false when a line failed.
   */
  private write(ctx: number | null, kind: DmaWriteRecord['kind'], addr: bigint, bytes: Uint8Array): boolean {
    const failed = this.failures(addr, bytes.length, 'write');
    if (failed.length === 0) {
      this.mem.dmaWrite(addr, bytes);
      this.dmaWrites.push({ ctx, kind, addr, bytes });
      return true;
    }
    const mask: boolean[] = Array(bytes.length).fill(true);
    for (const f of failed) mask.fill(false, f.lo, f.hi);
    if (mask.includes(true)) this.mem.dmaWrite(addr, bytes, mask);
    this.dmaWrites.push({ ctx, kind, addr, bytes, failed: true });
    return false;
  }

  /** Context c enters FAULT: stopped as if quiescing, the hypervisor told by a fault interrupt. */
  private enterFault(c: number, dir: 'tx' | 'rx', what: FaultEntry['what'], addr: bigint): void {
    const s = this.ctxs[c] as ContextState;
    s.counters[dir === 'tx' ? 'TX_DMA_ERR' : 'RX_DMA_ERR']++;
    if (s.fault) return;
    s.fault = true;
    this.ctxFault = true;
    this.faultEntries.push({ ctx: c, dir, what, addr });
    this.raiseFaultIrq();
  }

  private raiseFaultIrq(): void {
    this.faultIrq = true;
    this.irqs++;
    this.globalCounters.INTR_IRQS++;
  }

  private ring(c: number, dir: 'TX' | 'RX'): { base: bigint; size: number } {
    const s = this.ctxs[c] as ContextState;
    const base = this.addr64(c, `${dir}_RING_BASE_LO`, `${dir}_RING_BASE_HI`) & ~0xfn;
    return { base, size: 2 ** ((s.regs.get(`${dir}_RING_LOG2`) ?? 0) & 0x1f) };
  }

  private descAddr(c: number, dir: 'TX' | 'RX', seq: number): bigint {
    const r = this.ring(c, dir);
    return r.base + BigInt((seq % r.size) * DESCRIPTOR.bytes);
  }

  /** The write-back of a descriptor; false when it failed on the bus. */
  private writeFlags(c: number, kind: 'tx-desc' | 'rx-desc', descAt: bigint, len: number | null, flags: number): boolean {
    // Bytes 8..11 (len, flags) for RX; only the flags (10..11) for TX, which does not change len.
    if (len === null) {
      const b = new Uint8Array(2);
      new DataView(b.buffer).setUint16(0, flags, true);
      return this.write(c, kind, descAt + BigInt(DESCRIPTOR.fields.flags.offset), b);
    }
    const b = new Uint8Array(4);
    const v = new DataView(b.buffer);
    v.setUint16(0, len, true);
    v.setUint16(2, flags, true);
    return this.write(c, kind, descAt + BigInt(DESCRIPTOR.fields.len.offset), b);
  }

  /**
   * The completion record and the interrupt bit, after a frame's write-backs. In FAULT the NIC writes
   * nothing more to host memory (docs/faults.md): the done seq advances, nothing else happens.
   */
  private completion(c: number, dir: 'tx' | 'rx'): void {
    const s = this.ctxs[c] as ContextState;
    if (s.fault) return;
    const base = this.addr64(c, 'DONE_BASE_LO', 'DONE_BASE_HI') & ~0x7n;
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, dir === 'tx' ? s.txDone : s.rxDone, true);
    const at = base + (dir === 'tx' ? 0n : 4n);
    if (!this.write(c, 'completion', at, b)) {
      this.enterFault(c, dir, 'record', at);
      return;
    }
    this.pend |= 1n << BigInt(c);
  }

  // ---------------------------------------------------------------- transmit

  private lookup(mac: number): number | undefined {
    const g = macTableGeometry(this.params);
    for (let way = 0; way < g.ways; way++) {
      const slot = this.macTable[way]?.[macHash(mac, way, g.indexBits)];
      if (!slot) continue;
      const e = decodeMacEntry(slot.lo, slot.hi);
      if (e.valid && e.mac === mac) return e.ctx;
    }
    return undefined;
  }

  /** Serves the TX round-robin until no context has a valid descriptor; returns the frames sent. */
  serveTransmit(): WireFrame[] {
    const sent: WireFrame[] = [];
    while (this.txActive.length) {
      const c = this.txActive.shift() as number;
      let keep = true;
      for (let q = 0; q < this.params.TX_QUANTUM && keep; q++) keep = this.sendOne(c, sent);
      if (keep) this.txActive.push(c);
    }
    return sent;
  }

  /**
   * One frame of context c now, whatever the round-robin order: the system scoreboard calls it in
   * the order the RTL's scheduler chose (seen in the RTL's completion writes), since that order
   * depends on timing. Returns the frames put on the wire (none for a local delivery or a frame not
   * sent), or null when c has no valid descriptor. `committed`: the NIC had taken the frame before
   * its context began to quiesce, so it completes although the context no longer runs (P-12).
   */
  transmitOne(c: number, committed = false): WireFrame[] | null {
    const sent: WireFrame[] = [];
    return this.sendOne(c, sent, committed, true) ? sent : null;
  }

  /** A quiet point (nothing in flight in the NIC): from now on only the last TX_PROD counts as held. */
  closeDoorbellWindow(): void {
    this.txProdHeld.clear();
  }

  /** Whether TX_PROD shows seq posted for c: the last value, or with `anyHeld` any value held in the window. */
  private txPosted(c: number, seq: number, anyHeld: boolean): boolean {
    // Posted when seq is at or behind TX_PROD in the SEQ_W window (TX_PROD - seq below half of it).
    const covers = (prod: number) => ((prod - seq) & ((this.seqMask + 1) / 2)) === 0;
    if (covers(this.txProd.get(c) ?? 0)) return true;
    return anyHeld && (this.txProdHeld.get(c) ?? []).some(covers);
  }

  /** One frame of context c; false when c has no valid descriptor (it goes idle). */
  private sendOne(c: number, sent: WireFrame[], committed = false, anyHeld = false): boolean {
    const s = this.ctxs[c] as ContextState;
    if (!committed && !this.enabled(c)) return false;
    const descs: { at: bigint; len: number; addr: bigint }[] = [];
    let seq = s.txExp;
    for (;;) {
      // Not posted (TX_PROD is behind seq in the SEQ_W window): no read, no miss; c idles.
      if (!this.txPosted(c, seq, anyHeld)) return false;
      const at = this.descAddr(c, 'TX', seq);
      const raw = this.read(at, DESCRIPTOR.bytes);
      if (raw === null) {
        // F-2: a DMA error, not a seq miss; the context idles until its next doorbell.
        s.counters.TX_DMA_ERR++;
        return false;
      }
      const d = decodeDescriptor(raw);
      if (d.seq !== seq || descs.length >= this.ring(c, 'TX').size) {
        s.counters.TX_SEQ_MISS++;
        return false;
      }
      descs.push({ at, len: d.len, addr: d.addr });
      seq = (seq + 1) & this.seqMask;
      if (d.flags & DESC_FLAGS.EOP) break;
    }
    const total = descs.reduce((n, d) => n + d.len, 0);
    let err = false;
    let frame: Uint8Array | null = null;
    if (total > this.maxFrame) {
      s.counters.TX_OVERSIZE++;
      err = true;
    } else {
      frame = new Uint8Array(Math.max(60, total));
      let at = 0;
      let failedBursts = 0;
      for (const d of descs) {
        const failed = this.failures(d.addr, d.len, 'read');
        if (failed.length === 0) frame.set(this.mem.dmaRead(d.addr, d.len), at);
        else {
          // What the NIC got: zeros for the failed lines; one DMA error per failed burst.
          frame.set(this.mem.dmaRead(d.addr, d.len), at);
          for (const f of failed) frame.fill(0, at + f.lo, at + f.hi);
          failedBursts += new Set(failed.map((f) => f.line / BigInt(TX_PAYLOAD_BURST_BYTES))).size;
        }
        at += d.len;
      }
      if (failedBursts > 0) {
        // F-1: never a good frame; its descriptors complete with DONE | ERR. A loopback copy is
        // dropped by the receive path as a bad-FCS frame.
        s.counters.TX_DMA_ERR += failedBursts;
        const route = this.routeOf(c, frame);
        this.failedTx.push({ ctx: c, wire: route.wire, local: route.local });
        if (route.local) this.globalCounters.RX_FCS_ERR++;
        err = true;
        frame = null;
      }
    }
    if (frame) {
      const spoofed = this.flag(c, CTRL.SPOOFCHK) && (total < 12 || macFromBytes(frame, 6) !== this.ctxMac(c));
      if (spoofed) {
        s.counters.TX_SPOOFED++;
        err = true;
        frame = null;
      }
    }
    if (frame) {
      s.counters.TX_FRAMES++;
      // Bytes on the wire, padding included (docs/registers.md).
      s.txBytes += BigInt(frame.length);
      this.route(c, frame, sent);
    }
    for (const d of descs) {
      if (s.fault) break;
      const flags = DESC_FLAGS.DONE | (err ? DESC_FLAGS.ERR : 0) | (d === descs[descs.length - 1] ? DESC_FLAGS.EOP : 0);
      if (!this.writeFlags(c, 'tx-desc', d.at, null, flags)) this.enterFault(c, 'tx', 'writeback', d.at);
    }
    s.txExp = seq;
    s.txDone = (seq - 1) & this.seqMask;
    this.completion(c, 'tx');
    return true;
  }

  /** MAC_HI:MAC_LO of context c (the source MAC its frames must carry with SPOOFCHK). */
  macOf(c: number): number {
    return this.ctxMac(c);
  }

  private ctxMac(c: number): number {
    const s = this.ctxs[c] as ContextState;
    return ((s.regs.get('MAC_HI') ?? 0) & 0xffff) * TWO32 + ((s.regs.get('MAC_LO') ?? 0) >>> 0);
  }

  /** Where a frame of context c would go: the wire, a local context (or several), or both. */
  private routeOf(c: number, frame: Uint8Array): { wire: boolean; local: boolean } {
    const dst = macFromBytes(frame, 0);
    if (!this.params.LOCAL_LOOPBACK) return { wire: true, local: false };
    if (isMulticastMac(dst)) return { wire: true, local: true };
    const target = this.lookup(dst);
    const local = target !== undefined && target !== c && this.enabled(target);
    return { wire: !local, local };
  }

  /** Wire and/or local delivery of a frame sent by context c. */
  private route(c: number, frame: Uint8Array, sent: WireFrame[]): void {
    const dst = macFromBytes(frame, 0);
    const local = this.params.LOCAL_LOOPBACK;
    if (local && !isMulticastMac(dst)) {
      const target = this.lookup(dst);
      if (target !== undefined && target !== c && this.enabled(target)) {
        this.deliver(target, frame);
        return;
      }
    }
    sent.push({ ctx: c, bytes: frame });
    this.wire.push({ ctx: c, bytes: frame });
    if (local && isMulticastMac(dst)) this.replicate(frame, dst, c);
  }

  // ---------------------------------------------------------------- receive

  /** A frame from the wire (without FCS); `badFcs` is the MAC's verdict on the last beat. */
  receive(frame: Uint8Array, badFcs = false): RxOutcome {
    const out: RxOutcome = { delivered: [], dropped: [] };
    const drop = (reason: RxDropReason, counter: GlobalCounter): RxOutcome => {
      this.globalCounters[counter]++;
      out.dropped.push({ ctx: null, reason });
      return out;
    };
    if (badFcs) return drop('fcs', 'RX_FCS_ERR');
    if (frame.length < 60) return drop('runt', 'RX_RUNT');
    if (frame.length > this.maxFrame) return drop('oversize', 'RX_OVERSIZE');
    const dst = macFromBytes(frame, 0);
    if (!isMulticastMac(dst)) {
      const target = this.lookup(dst);
      if (target === undefined || !this.enabled(target)) return drop('nomatch', 'RX_NOMATCH');
      this.deliverInto(target, frame, out);
      return out;
    }
    this.replicate(frame, dst, null, out);
    return out;
  }

  private replicate(frame: Uint8Array, dst: number, except: number | null, out: RxOutcome = { delivered: [], dropped: [] }): void {
    for (let t = 0; t < this.params.N_CTX; t++) {
      if (t === except || !this.enabled(t)) continue;
      if (dst !== BROADCAST_MAC && !this.flag(t, CTRL.MCAST_EN)) continue;
      this.deliverInto(t, frame, out);
    }
  }

  private deliver(c: number, frame: Uint8Array): void {
    this.deliverInto(c, frame, { delivered: [], dropped: [] });
  }

  private deliverInto(c: number, frame: Uint8Array, out: RxOutcome): void {
    const s = this.ctxs[c] as ContextState;
    const nobuf = () => {
      s.counters.RX_NOBUF++;
      out.dropped.push({ ctx: c, reason: 'nobuf' });
    };
    if (s.rxStallSeq === s.rxExp) {
      nobuf();
      return;
    }
    const at = this.descAddr(c, 'RX', s.rxExp);
    const raw = this.rxFetchFaultsFromRtl ? this.mem.dmaRead(at, DESCRIPTOR.bytes) : this.read(at, DESCRIPTOR.bytes);
    if (raw === null) {
      // F-2: the prefetch failed; RX idles until the next doorbell and the frame finds no buffer.
      s.counters.RX_DMA_ERR++;
      s.rxStallSeq = s.rxExp;
      nobuf();
      return;
    }
    const d = decodeDescriptor(raw);
    if (d.seq !== s.rxExp) {
      nobuf();
      return;
    }
    if (frame.length > d.len) {
      s.counters.RX_BUF_TOO_SMALL++;
      out.dropped.push({ ctx: c, reason: 'too-small' });
      return;
    }
    const ok = this.write(c, 'rx-payload', d.addr, frame);
    if (!ok) {
      // F-3: ERR without DONE, length 0; the done seq advances and the guest drops the buffer.
      s.counters.RX_DMA_ERR++;
      out.dropped.push({ ctx: c, reason: 'dma-error' });
    }
    if (!this.writeFlags(c, 'rx-desc', at, ok ? frame.length : 0, ok ? DESC_FLAGS.DONE | DESC_FLAGS.EOP : RX_FAILED_FLAGS)) {
      this.enterFault(c, 'rx', 'writeback', at);
    }
    s.rxDone = s.rxExp;
    s.rxExp = (s.rxExp + 1) & this.seqMask;
    if (ok) {
      s.counters.RX_FRAMES++;
      s.rxBytes += BigInt(frame.length);
      out.delivered.push(c);
    }
    this.completion(c, 'rx');
  }

  // ---------------------------------------------------------------- interrupts

  /**
   * Snapshots the unmasked pending bits and writes one ring entry per non-empty group of 64, if the
   * ring is enabled and has room; masked bits stay pending. Returns the contexts delivered.
   */
  deliverInterrupts(): number[] {
    // While INTR_FAULT is set no entry is written; the bits wait (docs/faults.md).
    if (((this.globals.get('INTR_CTRL') ?? 0) & 1) === 0 || this.intrFault) return [];
    let unmasked = 0n;
    for (let c = 0; c < this.params.N_CTX; c++) if (!(this.ctxs[c] as ContextState).masked) unmasked |= 1n << BigInt(c);
    const snap = this.pend & unmasked;
    if (snap === 0n) return [];
    const size = 2 ** ((this.globals.get('INTR_RING_LOG2') ?? 0) & 0x1f);
    const tail = this.globals.get('INTR_RING_TAIL') ?? 0;
    const groups: number[] = [];
    for (let g = 0; g * 64 < this.params.N_CTX; g++) if ((snap >> BigInt(g * 64)) & 0xffff_ffff_ffff_ffffn) groups.push(g);
    const used = (this.intrHead - tail) >>> 0;
    if (used + groups.length > size) return [];
    const base = (BigInt(this.globals.get('INTR_RING_BASE_HI') ?? 0) << 32n) | BigInt((this.globals.get('INTR_RING_BASE_LO') ?? 0) & ~0xf);
    for (const g of groups) {
      const vec = (snap >> BigInt(g * 64)) & 0xffff_ffff_ffff_ffffn;
      const bytes = encodeIntrEntry({ vec, seq: this.intrSeq >>> 0, group: g });
      const ok = this.write(null, 'intr-entry', base + BigInt((this.intrHead % size) * INTR_ENTRY.bytes), bytes);
      // INTR_RING_HEAD counts entries issued, a failed one included; INTR_ENTRIES only those that landed.
      this.intrSeq = (this.intrSeq + 1) >>> 0;
      this.intrHead = (this.intrHead + 1) >>> 0;
      if (!ok) {
        // The whole snapshot stays pending (ORed back: nothing lost); the hypervisor re-arms the ring.
        this.intrFault = true;
        this.raiseFaultIrq();
        return [];
      }
      this.globalCounters.INTR_ENTRIES++;
    }
    this.pend &= ~snap;
    this.irqs++;
    this.globalCounters.INTR_IRQS++;
    const out: number[] = [];
    for (let c = 0; c < this.params.N_CTX; c++) if ((snap >> BigInt(c)) & 1n) out.push(c);
    return out;
  }
}
