/**
 * The system scoreboard: RTL against the reference model on the same stimulus.
 *
 * The order in which the RTL's round-robin serves contexts depends on timing (when each doorbell
 * landed, DMA latency), so the model follows it: each TX completion the RTL writes into a
 * completion record makes the model send that context's next frame. Everything else the model
 * predicts on its own and the scoreboard checks, window by window (a window ends when the system
 * has gone quiet):
 * - the frames on the wire, in global order, byte for byte (so per-context order too);
 * - every DMA write, byte by byte, in order per address (payloads, descriptor write-backs,
 *   completion records), and the resulting memory image, except the interrupt ring;
 * - expected and done seqs of every context, through BAR1 and BAR0;
 * - the counters (not the seq-miss counters, which count probes whose number depends on doorbell
 *   timing, nor the interrupt counters, which depend on coalescing);
 * - interrupts: every context with a completion has its bit delivered at least once (while masked
 *   it is owed until unmasked), and no bit is delivered without a completion.
 *
 * Under bus faults (testbench/system/README.md has the whole list): both NICs see the same faults;
 * the model follows the RTL's failed completion writes as well as its good ones; TX_DMA_ERR and
 * RX_DMA_ERR are compared with the bursts the RTL's bus failed, not with the model; counts that
 * timing decides once a payload read failed are compared as ranges; and a context in FAULT is left
 * out of the comparison for the window it faulted in and the next (its registers, memory, frames and
 * interrupts), then compared again from the state the RTL left (counter offsets, memory copied over).
 */

import { DESCRIPTOR, decodeDescriptor } from '../../hdl/descriptors.js';
import type { NicParams } from '../../hdl/params.js';
import { macFromBytes } from '../../hdl/registers/macTable.js';
import {
  type Bar1CtxReg,
  type Bar1GlobalReg,
  bar0Offset,
  bar1CtxOffset,
  bar1FaultVecOffset,
  bar1GlobalOffset,
  GLOBAL_STATUS,
  STATUS,
} from '../../hdl/registers/map.js';
import { crc32 } from '../ethernet/crc32.js';
import { readTag } from '../ethernet/frame.js';
import type { GrantRegion } from '../host/dma-monitor.js';
import type { RegionSource } from '../host/fault-injector.js';
import { type HostMemory, PAGE_SIZE, pfnNumberOf } from '../host/memory.js';
import type { ReferenceNic } from '../refmodel/referenceNic.js';
import type { InterruptRun } from '../vmm/vmm.js';
import { type BusErrorTally, dmaErrBounds } from './bus-errors.js';
import type { DifferentialBus, RtlBus } from './buses.js';
import type { DmaFailureEvent, DmaWriteEvent } from './dma-tap.js';
import type { WireSide } from './wire.js';
import { diffWrites, WriteLog } from './write-log.js';

export interface Mismatch {
  window: number;
  cycle: number;
  what: string;
  detail: string;
}

/** Sequence registers compared per context (exactly). */
const CTX_SEQS: readonly Bar1CtxReg[] = ['TX_EXP_SEQ', 'RX_EXP_SEQ', 'TX_DONE_TRUSTED', 'RX_DONE_TRUSTED'];
/** Counters compared per context (up to an offset left by a FAULT window). */
const CTX_COMPARED: readonly Bar1CtxReg[] = [
  'TX_FRAMES',
  'TX_BYTES_LO',
  'TX_BYTES_HI',
  'TX_OVERSIZE',
  'TX_SPOOFED',
  'RX_FRAMES',
  'RX_BYTES_LO',
  'RX_BYTES_HI',
  'RX_NOBUF',
  'RX_BUF_TOO_SMALL',
];
const GLOBAL_COMPARED: readonly Bar1GlobalReg[] = ['RX_NOMATCH', 'RX_FCS_ERR', 'RX_RUNT', 'RX_OVERSIZE', 'RX_FIFO_DROP'];

export interface ScoreboardDeps {
  params: NicParams;
  model: ReferenceNic;
  rtl: RtlBus;
  bus: DifferentialBus;
  wire: WireSide;
  /** The RTL's host memory and the model's mirror of it. */
  memory: HostMemory;
  mirror: HostMemory;
  /** Where the completion records are (8 bytes per context from here). */
  recordsBase: bigint;
  /** The interrupt ring: timing decides its contents, so it is compared by the bits it carries. */
  intrRing: { addr: bigint; len: number };
  /** Contexts whose registers each window compares (those in use); `checkWindow({ all: true })` compares all. */
  contexts(): readonly number[];
  /** The interrupt coalescing the driver domain set (COALESCE_EVENTS, COALESCE_CYCLES). */
  coalesce: { events: number; cycles: number };
  /** Names the region an address is in, for messages. */
  describe(addr: bigint): string;
  /** The context an address belongs to (its rings, record or guest pages), if any. */
  contextOfAddr(addr: bigint): number | undefined;
  /** What granted regions are (the DMA monitor), to follow the RTL's failed accesses. */
  regions: RegionSource;
  /** The bursts the RTL's bus failed, per context: what its DMA_ERR counters must show. */
  busErrors: BusErrorTally;
  cycle(): number;
}

interface PendingMismatch {
  m: Mismatch;
  /** The context it is about: dropped when that context turns out undetermined (FAULT) in the window. */
  ctx?: number;
}

/** The RX ring among some regions, if any. */
function rxRingOf(regions: readonly GrantRegion[]): GrantRegion | undefined {
  for (const r of regions) if (r.kind === 'rx-ring') return r;
  return undefined;
}

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

/** Byte-wise equality of two arrays, compared natively. */
function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** A frame's identity for per-context sequences: its tag when it has one, else its length and CRC. */
export function frameId(data: Uint8Array): string {
  const t = readTag(data);
  return t ? `ctx${t.ctx}#${t.seq}/${data.length}` : `len${data.length}/crc${crc32(data).toString(16)}`;
}

export class Scoreboard {
  readonly mismatches: Mismatch[] = [];
  /** Windows checked so far. */
  windows = 0;
  /** TX frames the model served following the RTL, per context. */
  readonly followed: number[];
  /** Frames the model delivered into each context's buffers, in order (frame ids). */
  readonly modelDelivered: string[][];
  /** Interrupt bits delivered to the VMM per context. */
  readonly bitsDelivered: number[];
  /** Keep every frame sent on the wire (for a pcap); off, compared frames are dropped. */
  keepWire = true;
  /** Frames the RTL sent on the wire so far. */
  wireFrames = 0;
  wireBytes = 0;

  private readonly rtlLog: WriteLog;
  private readonly modelLog: WriteLog;
  private wireIndex = 0;
  private modelCompletions = new Set<number>();
  private owed = new Set<number>();
  private delivered = new Set<number>();
  /** Contexts whose bit may come once more without a new completion (see compareInterrupts). */
  private readonly lateBits = new Set<number>();
  private readonly n: number;
  /** Mismatches found during the window, kept until its end decides which contexts were determined. */
  private pending: PendingMismatch[] = [];
  /** Last window in which each context was seen in FAULT (by the model or the RTL). */
  private readonly faultSeen = new Map<number, number>();
  private modelFaults = 0;
  private rtlFaulted = new Set<number>();
  /** RTL minus model, per counter, left by windows whose outcome timing decided (`ctx/REG` or `REG`). */
  private readonly offsets = new Map<string, number>();
  /**
   * The seq the RTL's last good fetch of each RX ring slot found, by slot address as a Number (exact:
   * the RTL's addresses reach the tap from the AXI memory, which holds them as Numbers).
   */
  private readonly rxFetched = new Map<number, { seq: number; grant: number }>();
  /** The completion records' bytes [lo, hi) as Numbers, to pass over other writes without bigint arithmetic. */
  private readonly recordsLo: number;
  private readonly recordsHi: number;
  /** A descriptor read from the RTL's memory (one at a time, read at once). */
  private readonly slotBytes = new Uint8Array(DESCRIPTOR.bytes);
  /** Contexts that were ever in FAULT (their deliveries are checked for integrity only). */
  readonly everFaulted = new Set<number>();
  /** Contexts left out of the last window's comparison (in FAULT then or the window before). */
  undetermined = new Set<number>();
  /** Frames the RTL ended with tuser high (its MAC corrupts them), so far. */
  corruptedFrames = 0;
  /** Pages whose images differed at the last window's end (compared again at the next). */
  private imageDiffers = new Set<bigint>();

  constructor(private readonly d: ScoreboardDeps) {
    this.n = d.params.N_CTX;
    // Past 2^53 (never, with the VMM's page pool) every write is looked at the exact way.
    const exact = d.recordsBase + BigInt(this.n * 8) <= BigInt(Number.MAX_SAFE_INTEGER);
    this.recordsLo = exact ? Number(d.recordsBase) : Number.NEGATIVE_INFINITY;
    this.recordsHi = exact ? this.recordsLo + this.n * 8 : Number.POSITIVE_INFINITY;
    const lo = Number(d.intrRing.addr);
    const ignored = { lo, hi: lo + d.intrRing.len };
    this.rtlLog = new WriteLog(ignored);
    this.modelLog = new WriteLog(ignored);
    this.followed = Array(this.n).fill(0);
    this.modelDelivered = Array.from({ length: this.n }, () => []);
    this.bitsDelivered = Array(this.n).fill(0);
    d.memory.trackChanges();
    d.mirror.trackChanges();
  }

  get clean(): boolean {
    return this.mismatches.length === 0;
  }

  private flag(what: string, detail: string, ctx?: number): void {
    this.pending.push({ m: { window: this.windows, cycle: this.d.cycle(), what, detail }, ctx });
  }

  /** The context whose completion record holds `addr`, and the offset in it, or undefined. */
  private recordOf(addr: bigint): { ctx: number; offset: number } | undefined {
    const rel = addr - this.d.recordsBase;
    if (rel < 0n || rel >= BigInt(this.n * 8)) return undefined;
    return { ctx: Number(rel / 8n), offset: Number(rel % 8n) };
  }

  /**
   * Whether a write may touch the completion records (most do not). A Number of an address past 2^53
   * rounds, but stays past 2^53 and so past the records.
   */
  private nearRecords(e: DmaWriteEvent): boolean {
    const a = Number(e.addr);
    return a + e.bytes.length > this.recordsLo && a < this.recordsHi;
  }

  /** Whole 32-bit halves of completion records a write covers: [ctx, 'tx' | 'rx', value]. */
  private recordHalves(e: DmaWriteEvent): { ctx: number; dir: 'tx' | 'rx'; value: number }[] {
    const out: { ctx: number; dir: 'tx' | 'rx'; value: number }[] = [];
    const rel = e.addr - this.d.recordsBase;
    if (rel + BigInt(e.bytes.length) <= 0n || rel >= BigInt(this.n * 8)) return out;
    for (let i = 0; i + 4 <= e.bytes.length; i++) {
      const r = this.recordOf(e.addr + BigInt(i));
      if (!r || (r.offset !== 0 && r.offset !== 4)) continue;
      if (e.mask && ![0, 1, 2, 3].every((k) => e.mask?.[i + k])) continue;
      const value = (e.bytes[i] | (e.bytes[i + 1] << 8) | (e.bytes[i + 2] << 16) | (e.bytes[i + 3] << 24)) >>> 0;
      out.push({ ctx: r.ctx, dir: r.offset === 0 ? 'tx' : 'rx', value });
    }
    return out;
  }

  /** Every DMA write of the RTL (from its tap), as it happens. */
  onRtlWrite(e: DmaWriteEvent): void {
    this.rtlLog.record(e);
    if (!this.nearRecords(e)) return;
    for (const h of this.recordHalves(e)) if (h.dir === 'tx') this.follow(h.ctx, h.value);
  }

  /**
   * Every access the RTL's bus failed. A failed TX write-back or record still means the RTL completed
   * a frame: the model follows (and fails the same write, entering FAULT with it). A failed descriptor
   * fetch idles the context in the RTL: the model learns it, since which fetches the RTL made (ahead,
   * again after a doorbell) is timing.
   */
  onRtlFailure(e: DmaFailureEvent): void {
    for (const r of this.d.regions.regionsAt(e.addr, e.len, e.direction)) {
      if (r.ctx === null) continue;
      if (e.direction === 'read') {
        if (r.kind === 'rx-ring') {
          // A beat wider than a descriptor fails every slot it holds; the model stops at the first
          // the RTL still wanted (slots it had fetched or that are not posted place a lap later).
          const ringEnd = r.addr + BigInt(r.len);
          for (let a = e.addr; a < e.addr + BigInt(e.len); a += BigInt(DESCRIPTOR.bytes)) {
            if (a >= r.addr && a < ringEnd) this.d.model.noteRxFetchFault(r.ctx, this.fetchedSeq(r, a));
          }
        }
        if (r.kind === 'tx-ring') this.d.model.noteTxFetchFault(r.ctx);
        continue;
      }
      const txRecord = r.kind === 'record' && e.addr - r.addr < 4n;
      if (r.kind === 'tx-ring' || txRecord) this.follow(r.ctx);
    }
  }

  /**
   * A read of the RTL: the seqs its RX fetches found, per ring slot (the beat with a descriptor's
   * bytes 8..15 carries its seq), so that a later failed fetch of a slot can be placed.
   */
  onRtlRead(addr: bigint, data: Uint8Array): void {
    if (data.length < 8 || this.d.memory.typeOf(pfnNumberOf(addr)) !== 'ring') return;
    // In Numbers (exact: see rxFetched).
    const a = Number(addr);
    const end = a + data.length;
    // Every slot whose bytes 8..15 the read carries: one per 64-bit beat, up to four per 512-bit one.
    for (let slot = Math.floor((a + 7) / 16) * 16; slot + 16 <= end; slot += 16) {
      const r = rxRingOf(this.d.regions.regionsAt(BigInt(slot + 8), 8, 'read'));
      if (!r || r.ctx === null) continue;
      const at = slot + 8 - a + 4;
      const seq = (data[at] | (data[at + 1] << 8) | (data[at + 2] << 16) | (data[at + 3] << 24)) >>> 0;
      // With the buffer's grant: seqs come round again (SEQ_W bits), a posted buffer's grant does not.
      this.rxFetched.set(slot, { seq, grant: this.postedBuffer(r.ctx, BigInt(slot), seq)?.grant ?? -1 });
    }
  }

  /** The granted RX buffer of descriptor `seq` at ring slot `slot` (posted and not yet released), if any. */
  private postedBuffer(ctx: number, slot: bigint, seq: number): GrantRegion | undefined {
    this.d.memory.readInto(slot, this.slotBytes);
    const d = decodeDescriptor(this.slotBytes);
    if (d.seq !== seq) return undefined;
    const buffers = this.d.regions.regionsAt(d.addr, 1, 'write');
    for (const r of buffers) if (r.kind === 'rx-buffer' && r.ctx === ctx && r.seq === seq) return r;
    return undefined;
  }

  /**
   * The seq the RTL's failed RX fetch at `addr` was for. The slot holds the VMM's last descriptor
   * there: the fetch was for it if it is posted (its buffer granted) and the RTL has not fetched it
   * yet, else for the one a ring later (the RTL prefetches a slot again as soon as it took the
   * descriptor, before the write-back; a slot stamped at setup holds the lap before).
   */
  private fetchedSeq(ring: GrantRegion, addr: bigint): number {
    const slot = ring.addr + ((addr - ring.addr) / BigInt(DESCRIPTOR.bytes)) * BigInt(DESCRIPTOR.bytes);
    const d = decodeDescriptor(this.d.memory.read(slot, DESCRIPTOR.bytes));
    const posted = ring.ctx === null ? undefined : this.postedBuffer(ring.ctx, slot, d.seq);
    const last = this.rxFetched.get(Number(slot));
    const fetched = posted !== undefined && last?.seq === d.seq && last.grant === posted.grant;
    return posted && !fetched ? d.seq : d.seq + ring.len / DESCRIPTOR.bytes;
  }

  /** The RTL completed a TX frame of `ctx` (its record or write-back, good or failed): the model sends its next. */
  private follow(ctx: number, doneSeq?: number): void {
    const model = this.d.model;
    // In FAULT the model writes nothing more; what the RTL still completes is not compared (README).
    if (model.inFault(ctx)) return;
    // A context quiescing may still complete what the RTL had taken (P-12): the model follows.
    const sent = model.transmitOne(ctx, this.d.bus.draining.has(ctx));
    if (sent === null) {
      const seq = doneSeq === undefined ? '' : ` (done seq ${doneSeq})`;
      this.flag('tx-order', `the RTL completed a TX frame of context ${ctx}${seq} that the model finds no valid descriptor for`, ctx);
      return;
    }
    this.followed[ctx]++;
    const seq = model.doneSeqs(ctx).tx;
    if (doneSeq !== undefined && seq !== doneSeq && !model.inFault(ctx)) {
      this.flag('tx-done-seq', `context ${ctx}: the RTL wrote TX done seq ${doneSeq}, the model ${seq}`, ctx);
    }
  }

  /** Every DMA write of the model (from its tap). */
  onModelWrite(e: DmaWriteEvent): void {
    this.modelLog.record(e);
    if (!this.nearRecords(e)) return;
    for (const h of this.recordHalves(e)) this.modelCompletions.add(h.ctx);
  }

  /** One run of the VMM's interrupt handler on the RTL's ring. */
  noteInterruptRun(run: InterruptRun): void {
    for (const c of run.faulted) this.rtlFaulted.add(c);
    for (const c of run.contexts) {
      this.delivered.add(c);
      if (c < this.n) this.bitsDelivered[c]++;
    }
  }

  /**
   * Ends a window: the system is quiet. Reads the RTL's registers (through BAR0/BAR1, not counted as
   * the VMM's work) and compares everything listed at the top. Returns the window's mismatches.
   */
  async checkWindow(opts: { all?: boolean } = {}): Promise<Mismatch[]> {
    const first = this.mismatches.length;
    const { model, rtl } = this.d;
    for (const w of model.dmaWrites) {
      if (w.kind === 'rx-payload' && w.ctx !== null && !w.failed) this.modelDelivered[w.ctx].push(frameId(w.bytes));
    }
    model.dmaWrites.splice(0);
    const undetermined = await this.faultedContexts();
    this.undetermined = undetermined;
    const failedTx = model.failedTx.splice(0);
    // Frames the model could still send would mean the RTL dropped a doorbell or a descriptor.
    const before = [...Array(this.n).keys()].map((c) => model.doneSeqs(c).tx);
    model.serveTransmit();
    model.closeDoorbellWindow();
    for (let c = 0; c < this.n; c++) {
      const after = model.doneSeqs(c).tx;
      if (after !== before[c])
        this.flag('tx-missing', `context ${c}: the model still completes TX up to seq ${after}, the RTL stopped at ${before[c]}`, c);
    }

    this.compareWire(undetermined, failedTx.filter((f) => f.wire).length);
    for (const diff of diffWrites(this.rtlLog.take(), this.modelLog.take())) {
      this.flag(
        'dma-write',
        `${diff.len} byte(s) at 0x${diff.addr.toString(16)} (${this.d.describe(diff.addr)}): RTL wrote ${diff.rtl}, model ${diff.model}`,
        this.d.contextOfAddr(diff.addr),
      );
    }
    this.compareImages(undetermined);

    const contexts = opts.all ? [...Array(this.n).keys()] : this.d.contexts();
    for (const c of contexts) {
      const off = (reg: Bar1CtxReg) => bar1CtxOffset(c, reg, this.d.params);
      const skip = undetermined.has(c);
      if (!skip) {
        for (const reg of CTX_SEQS) {
          const r = await rtl.bar1Read(off(reg));
          const m = model.bar1Read(off(reg)) >>> 0;
          if (r !== m) this.flag('register', `context ${c} ${reg}: RTL ${r}, model ${m}`);
        }
        const status = (await rtl.bar1Read(off('STATUS'))) & STATUS.FAULT.mask;
        if (status !== (model.bar1Read(off('STATUS')) & STATUS.FAULT.mask)) {
          this.flag('register', `context ${c} STATUS.FAULT: RTL ${status ? 1 : 0}, model ${status ? 0 : 1}`);
        }
      }
      for (const reg of CTX_COMPARED) {
        const r = await rtl.bar1Read(off(reg));
        const m = model.bar1Read(off(reg)) >>> 0;
        // A payload read that failed may have been checked for its source MAC or not (timing).
        const slack = reg === 'TX_SPOOFED' ? failedTx.filter((f) => f.ctx === c).length : 0;
        this.compareCounter(`${c}/${reg}`, `context ${c} ${reg}`, r, m, skip ? null : [0, slack]);
      }
      // Bursts the bus failed, whatever the model did (even in FAULT): every one counted but stale fetches.
      for (const [reg, tally] of [
        ['TX_DMA_ERR', this.d.busErrors.tx],
        ['RX_DMA_ERR', this.d.busErrors.rx],
      ] as const) {
        const r = await rtl.bar1Read(off(reg));
        const [lo, hi] = dmaErrBounds(tally.get(c));
        if (r < lo || r > hi) {
          const fetches = hi - lo === 0 ? '' : ` (${hi - lo} of them descriptor fetches, which may have been stale)`;
          this.flag('register', `context ${c} ${reg}: RTL ${r}, the bus failed ${hi} burst(s) of it${fetches}`);
        }
      }
      if (skip) continue;
      for (const reg of ['TX_DONE_SEQ', 'RX_DONE_SEQ'] as const) {
        const o = bar0Offset(c, reg, this.d.params);
        const r = await rtl.bar0Read(o);
        const m = model.bar0Read(o) >>> 0;
        if (r !== m) this.flag('done-seq', `context ${c} ${reg}: RTL ${r}, model ${m}`);
      }
    }
    const localFailed = failedTx.filter((f) => f.local).length;
    for (const reg of GLOBAL_COMPARED) {
      const o = bar1GlobalOffset(reg);
      const r = await rtl.bar1Read(o);
      const m = model.bar1Read(o) >>> 0;
      // A failed TX frame's loopback copy reaches the RX path (RX_FCS_ERR) only if it had started (timing);
      // frames for a context entering FAULT are dropped or not depending on when it did.
      const range: [number, number] | null =
        reg === 'RX_NOMATCH' && undetermined.size > 0 ? null : reg === 'RX_FCS_ERR' ? [-localFailed, 0] : [0, 0];
      this.compareCounter(reg, reg, r, m, range);
    }
    if (undetermined.size === 0) {
      const bits = GLOBAL_STATUS.CTX_FAULT.mask | GLOBAL_STATUS.INTR_FAULT.mask;
      const r = (await rtl.bar1Read(bar1GlobalOffset('GLOBAL_STATUS'))) & bits;
      const m = model.bar1Read(bar1GlobalOffset('GLOBAL_STATUS')) & bits;
      // The model writes no interrupt entries in the system, so only the RTL can have INTR_FAULT.
      if ((r & GLOBAL_STATUS.CTX_FAULT.mask) !== (m & GLOBAL_STATUS.CTX_FAULT.mask)) {
        this.flag('register', `GLOBAL_STATUS.CTX_FAULT: RTL ${r & 2 ? 1 : 0}, model ${m & 2 ? 1 : 0}`);
      }
      if (r & GLOBAL_STATUS.INTR_FAULT.mask)
        this.flag('register', 'GLOBAL_STATUS.INTR_FAULT still set at the end of a window (the VMM re-arms the ring)');
    }
    this.compareInterrupts(undetermined);
    for (const p of this.pending) if (p.ctx === undefined || !undetermined.has(p.ctx)) this.mismatches.push(p.m);
    this.pending = [];
    this.windows++;
    return this.mismatches.slice(first);
  }

  /**
   * Contexts left out of this window: seen in FAULT by the model (it entered FAULT, or is in it) or by
   * the RTL (the VMM found it in FAULT_VEC, or FAULT_VEC shows it now), in this window or the one
   * before. Where one NIC faulted and the other did not, that is itself a mismatch.
   */
  private async faultedContexts(): Promise<Set<number>> {
    const { model, rtl } = this.d;
    const byModel = new Set<number>(model.faultEntries.slice(this.modelFaults).map((f) => f.ctx));
    this.modelFaults = model.faultEntries.length;
    const byRtl = new Set<number>(this.rtlFaulted);
    this.rtlFaulted = new Set();
    for (let w = 0; w < Math.ceil(this.n / 32); w++) {
      const bits = await rtl.bar1Read(bar1FaultVecOffset(w));
      for (let b = 0; b < 32; b++) if ((bits >>> b) & 1) byRtl.add(32 * w + b);
    }
    for (let c = 0; c < this.n; c++) if (model.inFault(c)) byModel.add(c);
    for (const c of new Set([...byModel, ...byRtl])) {
      const recent = (this.faultSeen.get(c) ?? Number.NEGATIVE_INFINITY) >= this.windows - 1;
      if (byModel.has(c) !== byRtl.has(c) && !recent) {
        this.flag(
          'fault',
          `context ${c} entered FAULT in the ${byModel.has(c) ? 'model' : 'RTL'} only (${byModel.has(c) ? 'the RTL' : 'the model'} saw no failed write-back or record)`,
        );
      }
      this.faultSeen.set(c, this.windows);
      this.everFaulted.add(c);
    }
    const out = new Set<number>();
    for (const [c, w] of this.faultSeen) if (w >= this.windows - 1) out.add(c);
    return out;
  }

  /**
   * RTL counter `r` against the model's `m`, up to the offset earlier windows left; `range`: how far
   * RTL - model may move in this window (null: anything, an undetermined window). The offset follows
   * the RTL, so later windows compare from the state it left.
   */
  private compareCounter(key: string, name: string, r: number, m: number, range: readonly [number, number] | null): void {
    const offset = this.offsets.get(key) ?? 0;
    const moved = ((r - m) | 0) - offset;
    if (range && (moved < range[0] || moved > range[1])) {
      const ofs = offset === 0 ? '' : ` (+${offset} from windows with faults)`;
      const allowed = range[0] === range[1] ? '' : ` (timing allows ${range[0]}..${range[1]} here)`;
      this.flag('register', `${name}: RTL ${r}, model ${m}${ofs}${allowed}`);
    }
    if (moved !== 0 && (range === null || range[0] !== range[1])) this.offsets.set(key, offset + moved);
  }

  /**
   * The wire in global order, byte for byte. Frames the RTL ended with tuser high are not delivered
   * (at most one per failed TX payload read that would have gone to the wire); frames of contexts
   * left out of the window are left out on both sides (the RTL's by their source MAC: SPOOFCHK).
   */
  private compareWire(undetermined: ReadonlySet<number>, failedToWire: number): void {
    const model = this.d.model;
    const macs = new Set([...undetermined].map((c) => model.macOf(c)));
    let corrupted = 0;
    const rtlFrames = this.d.wire.sent.slice(this.wireIndex).filter((f) => {
      if (f.corrupted) corrupted++;
      if (f.corrupted || undetermined.size === 0) return !f.corrupted;
      // By source MAC, or by the sender in the test tag: a committed frame may leave unchecked while
      // the VMM's recovery has CTRL without SPOOFCHK (see README).
      const tag = readTag(f.data);
      return !((f.data.length >= 12 && macs.has(macFromBytes(f.data, 6))) || (tag !== undefined && undetermined.has(tag.ctx)));
    });
    const modelFrames = model.wire.filter((w) => !undetermined.has(w.ctx));
    this.corruptedFrames += corrupted;
    if (corrupted > failedToWire && undetermined.size === 0) {
      this.flag(
        'wire',
        `the RTL sent ${corrupted} frame(s) with tuser high, but only ${failedToWire} TX payload read(s) failed for the wire`,
      );
    }
    const n = Math.max(rtlFrames.length, modelFrames.length);
    for (let i = 0; i < n; i++) {
      const r = rtlFrames[i]?.data;
      const m = modelFrames[i]?.bytes;
      const k = this.wireFrames + i;
      if (!r) this.flag('wire', `wire frame ${k}: the model sent ${frameId(m as Uint8Array)}, the RTL nothing`);
      else if (!m) this.flag('wire', `wire frame ${k}: the RTL sent ${frameId(r)}, the model nothing`);
      else if (r.length !== m.length || r.some((b, j) => b !== m[j])) {
        const at = r.findIndex((b, j) => b !== m[j]);
        this.flag('wire', `wire frame ${k}: RTL ${frameId(r)} differs from model ${frameId(m)} (first at byte ${at})`);
      }
    }
    for (const f of this.d.wire.sent.slice(this.wireIndex)) {
      if (f.corrupted) continue;
      this.wireFrames++;
      this.wireBytes += f.data.length;
    }
    model.wire.splice(0);
    if (this.keepWire) this.wireIndex = this.d.wire.sent.length;
    else {
      this.d.wire.sent.splice(0);
      this.wireIndex = 0;
    }
  }

  /**
   * The memory images, but the interrupt ring. Bytes of contexts left out of the window are copied
   * from the RTL's memory into the model's, so later windows compare from what the RTL left.
   *
   * Only pages that can differ are compared: those written or cleared in either memory since the
   * last window (both memories record them), and those that still differed after it. Every other
   * page was equal then and neither side changed it, so it is equal now: the check is the same as a
   * comparison of the whole images (the first window compares every page).
   */
  private compareImages(undetermined: ReadonlySet<number>): void {
    const { memory, mirror } = this.d;
    const lo = this.d.intrRing.addr;
    const hi = lo + BigInt(this.d.intrRing.len);
    const pfns = new Set<bigint>(this.imageDiffers);
    for (const pfn of memory.takeChanges()) pfns.add(pfn);
    for (const pfn of mirror.takeChanges()) pfns.add(pfn);
    if (this.windows === 0) {
      for (const p of memory.knownPages()) pfns.add(p.pfn);
      for (const p of mirror.knownPages()) pfns.add(p.pfn);
    }
    this.imageDiffers = new Set();
    let reported = 0;
    for (const pfn of pfns) {
      const base = pfn << 12n;
      if (base >= lo && base < hi) continue;
      const a = memory.pageData(pfn) ?? ZERO_PAGE;
      const b = mirror.pageData(pfn) ?? ZERO_PAGE;
      if (a === b || bytesEqual(a, b)) continue;
      let differs = false;
      for (let at = 0; at < PAGE_SIZE; at++) {
        if (a[at] === b[at]) continue;
        const addr = base + BigInt(at);
        const ctx = undetermined.size > 0 ? this.d.contextOfAddr(addr) : undefined;
        if (ctx !== undefined && undetermined.has(ctx)) {
          mirror.write(addr, a.subarray(at, at + 1));
          continue;
        }
        differs = true;
        if (reported++ < 8) {
          this.flag('memory', `0x${addr.toString(16)} (${this.d.describe(addr)}): RTL memory holds ${a[at]}, the model's ${b[at]}`);
        }
        // One report per page is enough when nothing needs copying.
        if (undetermined.size === 0) break;
      }
      if (differs) this.imageDiffers.add(pfn);
    }
    // What the mirror recorded since the takeChanges() above is the copies just made, which left those
    // bytes equal: pages still differing elsewhere are in imageDiffers.
    mirror.takeChanges();
  }

  private compareInterrupts(undetermined: ReadonlySet<number>): void {
    // A context in FAULT writes nothing more (no record, so no completion the model can see), while
    // the RTL may still set its bit for frames it had committed: left out, and one such bit may still
    // come later (held while the guest had it masked, or by coalescing).
    for (const c of undetermined) {
      this.owed.delete(c);
      this.modelCompletions.delete(c);
      this.delivered.delete(c);
      this.lateBits.add(c);
    }
    const due = new Set([...this.owed, ...this.modelCompletions]);
    for (const c of this.delivered) {
      if (c >= this.n || due.has(c)) continue;
      // A context delivered in a window where it also completed may have completed again after the
      // snapshot: that bit comes in a later entry.
      if (this.lateBits.delete(c)) continue;
      this.flag('interrupt', `the RTL delivered the bit of context ${c}, which had no completion`);
    }
    for (const c of due) if (this.delivered.has(c)) this.lateBits.add(c);
    // With no time limit (COALESCE_CYCLES 0) and more than one event to wait for, pending bits may
    // wait for later completions: they stay owed, like those of masked contexts.
    const mayWait = this.d.coalesce.cycles === 0 && this.d.coalesce.events > 1;
    const owed = new Set<number>();
    for (const c of due) {
      if (this.delivered.has(c)) continue;
      if (this.d.bus.masked.has(c) || mayWait) owed.add(c);
      else this.flag('interrupt', `context ${c} completed work but its interrupt bit was never delivered`);
    }
    this.owed = owed;
    this.delivered = new Set();
    this.modelCompletions = new Set();
  }
}
