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
 */

import type { NicParams } from '../../hdl/params.js';
import { type Bar1CtxReg, type Bar1GlobalReg, bar0Offset, bar1CtxOffset, bar1GlobalOffset } from '../../hdl/registers/map.js';
import { crc32 } from '../ethernet/crc32.js';
import { readTag } from '../ethernet/frame.js';
import type { HostMemory } from '../host/memory.js';
import type { ReferenceNic } from '../refmodel/referenceNic.js';
import type { InterruptRun } from '../vmm/vmm.js';
import type { DifferentialBus, RtlBus } from './buses.js';
import type { DmaWriteEvent } from './dma-tap.js';
import type { WireSide } from './wire.js';
import { diffWrites, WriteLog } from './write-log.js';

export interface Mismatch {
  window: number;
  cycle: number;
  what: string;
  detail: string;
}

/** Registers compared per context. */
const CTX_COMPARED: readonly Bar1CtxReg[] = [
  'TX_EXP_SEQ',
  'RX_EXP_SEQ',
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
  cycle(): number;
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

  constructor(private readonly d: ScoreboardDeps) {
    this.n = d.params.N_CTX;
    const lo = Number(d.intrRing.addr);
    const hi = lo + d.intrRing.len;
    const ignored = (a: number) => a >= lo && a < hi;
    this.rtlLog = new WriteLog(ignored);
    this.modelLog = new WriteLog(ignored);
    this.followed = Array(this.n).fill(0);
    this.modelDelivered = Array.from({ length: this.n }, () => []);
    this.bitsDelivered = Array(this.n).fill(0);
  }

  get clean(): boolean {
    return this.mismatches.length === 0;
  }

  private flag(what: string, detail: string): void {
    this.mismatches.push({ window: this.windows, cycle: this.d.cycle(), what, detail });
  }

  /** The context whose completion record holds `addr`, and the offset in it, or undefined. */
  private recordOf(addr: bigint): { ctx: number; offset: number } | undefined {
    const rel = addr - this.d.recordsBase;
    if (rel < 0n || rel >= BigInt(this.n * 8)) return undefined;
    return { ctx: Number(rel / 8n), offset: Number(rel % 8n) };
  }

  /** Whole 32-bit halves of completion records a write covers: [ctx, 'tx' | 'rx', value]. */
  private recordHalves(e: DmaWriteEvent): { ctx: number; dir: 'tx' | 'rx'; value: number }[] {
    const out: { ctx: number; dir: 'tx' | 'rx'; value: number }[] = [];
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
    for (const h of this.recordHalves(e)) {
      if (h.dir !== 'tx') continue;
      // A context quiescing may still complete what the RTL had taken (P-12): the model follows.
      const sent = this.d.model.transmitOne(h.ctx, this.d.bus.draining.has(h.ctx));
      if (sent === null) {
        this.flag(
          'tx-order',
          `the RTL completed a TX frame of context ${h.ctx} (done seq ${h.value}) that the model finds no valid descriptor for`,
        );
        continue;
      }
      this.followed[h.ctx]++;
      const seq = this.d.model.doneSeqs(h.ctx).tx;
      if (seq !== h.value) this.flag('tx-done-seq', `context ${h.ctx}: the RTL wrote TX done seq ${h.value}, the model ${seq}`);
    }
  }

  /** Every DMA write of the model (from its tap). */
  onModelWrite(e: DmaWriteEvent): void {
    this.modelLog.record(e);
    for (const h of this.recordHalves(e)) this.modelCompletions.add(h.ctx);
  }

  /** One run of the VMM's interrupt handler on the RTL's ring. */
  noteInterruptRun(run: InterruptRun): void {
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
    for (const w of model.dmaWrites) if (w.kind === 'rx-payload' && w.ctx !== null) this.modelDelivered[w.ctx].push(frameId(w.bytes));
    model.dmaWrites.splice(0);
    // Frames the model could still send would mean the RTL dropped a doorbell or a descriptor.
    const before = [...Array(this.n).keys()].map((c) => model.doneSeqs(c).tx);
    model.serveTransmit();
    for (let c = 0; c < this.n; c++) {
      const after = model.doneSeqs(c).tx;
      if (after !== before[c])
        this.flag('tx-missing', `context ${c}: the model still completes TX up to seq ${after}, the RTL stopped at ${before[c]}`);
    }

    this.compareWire();
    for (const diff of diffWrites(this.rtlLog.take(), this.modelLog.take())) {
      this.flag(
        'dma-write',
        `${diff.len} byte(s) at 0x${diff.addr.toString(16)} (${this.d.describe(diff.addr)}): RTL wrote ${diff.rtl}, model ${diff.model}`,
      );
    }
    this.compareImages();

    const contexts = opts.all ? [...Array(this.n).keys()] : this.d.contexts();
    for (const c of contexts) {
      for (const reg of CTX_COMPARED) {
        const off = bar1CtxOffset(c, reg, this.d.params);
        const r = await rtl.bar1Read(off);
        const m = model.bar1Read(off) >>> 0;
        if (r !== m) this.flag('register', `context ${c} ${reg}: RTL ${r}, model ${m}`);
      }
      for (const reg of ['TX_DONE_SEQ', 'RX_DONE_SEQ'] as const) {
        const off = bar0Offset(c, reg, this.d.params);
        const r = await rtl.bar0Read(off);
        const m = model.bar0Read(off) >>> 0;
        if (r !== m) this.flag('done-seq', `context ${c} ${reg}: RTL ${r}, model ${m}`);
      }
    }
    for (const reg of GLOBAL_COMPARED) {
      const off = bar1GlobalOffset(reg);
      const r = await rtl.bar1Read(off);
      const m = model.bar1Read(off) >>> 0;
      if (r !== m) this.flag('register', `${reg}: RTL ${r}, model ${m}`);
    }
    this.compareInterrupts();
    this.windows++;
    return this.mismatches.slice(first);
  }

  private compareWire(): void {
    const rtlFrames = this.d.wire.sent;
    const modelFrames = this.d.model.wire;
    const n = Math.max(rtlFrames.length - this.wireIndex, modelFrames.length);
    for (let i = 0; i < n; i++) {
      const r = rtlFrames[this.wireIndex + i]?.data;
      const m = modelFrames[i]?.bytes;
      const k = this.wireIndex + i;
      if (!r) this.flag('wire', `wire frame ${k}: the model sent ${frameId(m as Uint8Array)}, the RTL nothing`);
      else if (!m) this.flag('wire', `wire frame ${k}: the RTL sent ${frameId(r)}, the model nothing`);
      else if (r.length !== m.length || r.some((b, j) => b !== m[j])) {
        const at = r.findIndex((b, j) => b !== m[j]);
        this.flag('wire', `wire frame ${k}: RTL ${frameId(r)} differs from model ${frameId(m)} (first at byte ${at})`);
      }
    }
    for (const f of rtlFrames.slice(this.wireIndex)) {
      this.wireFrames++;
      this.wireBytes += f.data.length;
    }
    modelFrames.splice(0);
    if (this.keepWire) this.wireIndex = rtlFrames.length;
    else {
      rtlFrames.splice(0);
      this.wireIndex = 0;
    }
  }

  private compareImages(): void {
    const lo = this.d.intrRing.addr;
    const hi = lo + BigInt(this.d.intrRing.len);
    const pfns = new Set<bigint>();
    for (const p of this.d.memory.knownPages()) pfns.add(p.pfn);
    for (const p of this.d.mirror.knownPages()) pfns.add(p.pfn);
    let reported = 0;
    for (const pfn of pfns) {
      const base = pfn << 12n;
      if (base >= lo && base < hi) continue;
      const a = this.d.memory.read(base, 4096);
      const b = this.d.mirror.read(base, 4096);
      const at = a.findIndex((v, i) => v !== b[i]);
      if (at < 0) continue;
      if (reported++ < 8) {
        const addr = base + BigInt(at);
        this.flag('memory', `0x${addr.toString(16)} (${this.d.describe(addr)}): RTL memory holds ${a[at]}, the model's ${b[at]}`);
      }
    }
  }

  private compareInterrupts(): void {
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
