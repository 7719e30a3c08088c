/**
 * A guest's driver for its CDNA context: it builds frames in its own pages, enqueues them through
 * the hypercall, rings its doorbells and reads its done seqs through its mailbox page, and handles
 * virtual interrupts NAPI-style (mask, poll until idle, unmask). A completion with ERR frees its
 * buffer and counts an error; an RX buffer is delivered only with DONE and without ERR (F-3). On
 * link down (the VMM recovering the context, F-4) it drops everything in flight; on link up it goes
 * on from the seqs the VMM gives and reposts its RX buffers at the next poll. It reaches the NIC
 * only through its MMU (mailbox page) and the hypervisor's calls.
 */
import { DESC_FLAGS, DESCRIPTOR, decodeDescriptor } from '../../hdl/descriptors.js';
import { BAR0_OFFSETS, type Bar0Reg, INT_CTRL } from '../../hdl/registers/map.js';
import type { MacAddress } from '../ethernet/mac.js';
import { type GuestId, PAGE_SIZE, pageBase } from '../host/memory.js';
import type { GuestMmu } from '../vmm/mmu.js';
import type { RefusalReason } from '../vmm/refusal.js';
import { SeqSpace } from '../vmm/seq.js';
import type {
  ContextConfig,
  EnqueueResult,
  LinkEvent,
  LinkEventHandler,
  RxBuffer,
  TxBuffer,
  VirtualInterruptHandler,
  Vmm,
} from '../vmm/vmm.js';

/** What a guest may ask of its hypervisor. */
export interface Hypervisor {
  enqueueTx(guest: GuestId, ctx: number, bufs: readonly TxBuffer[]): EnqueueResult;
  enqueueRx(guest: GuestId, ctx: number, bufs: readonly RxBuffer[]): EnqueueResult;
  onVirtualInterrupt(guest: GuestId, handler: VirtualInterruptHandler): void;
  onLinkEvent(guest: GuestId, handler: LinkEventHandler): void;
}

/** Where the hypervisor put the context, as it tells the guest at attach time. */
export interface ContextInfo {
  ctx: number;
  mac: MacAddress;
  /** Guest-physical address of the mailbox page. */
  mailbox: bigint;
  /** Read-only rings: the guest reads the RX length written back from them. */
  txRing: { base: bigint; size: number; firstSeq: number };
  rxRing: { base: bigint; size: number; firstSeq: number };
  seqWidth: number;
}

/** What the hypervisor tells a guest about an attached context. */
export function contextInfoOf(vmm: Vmm, ctx: number): ContextInfo {
  const v = vmm.contextOf(ctx);
  if (!v?.tx || !v.rx || v.mac === undefined) throw new Error(`context ${ctx} is not started: attach it first`);
  return {
    ctx,
    mac: v.mac,
    mailbox: vmm.mailboxAddr(ctx),
    txRing: { base: v.tx.base, size: v.tx.size, firstSeq: v.tx.nextSeq },
    rxRing: { base: v.rx.base, size: v.rx.size, firstSeq: v.rx.nextSeq },
    seqWidth: vmm.params.SEQ_W,
  };
}

export interface GuestDriverOptions {
  hypervisor: Hypervisor;
  guest: GuestId;
  mmu: GuestMmu;
  info: ContextInfo;
  /** The guest's own pages, split into buffers. */
  pages: readonly bigint[];
  /** Bytes per buffer (default 2048: two per page, room for a 1518-byte frame). */
  bufferBytes?: number;
  /** Share of buffers used for TX (default half). */
  txShare?: number;
  /** RX buffers kept posted (default: all RX buffers, at most the ring size). */
  rxPosted?: number;
}

export interface ReceivedFrame {
  data: Uint8Array;
  seq: number;
}

export interface DriverStats {
  txFrames: number;
  txBytes: number;
  txCompleted: number;
  /** Descriptors completed with ERR (read at reap time, so exact while the guest reaps before its ring laps). */
  txErrors: number;
  /** TX descriptors in flight at a link down: their buffers freed, whether or not the frame left. */
  txDropped: number;
  rxFrames: number;
  rxBytes: number;
  /** RX buffers completed with ERR or without DONE (F-3): reposted, their contents never delivered. */
  rxErrors: number;
  /** RX buffers posted at a link down: taken back unread. */
  rxDropped: number;
  linkDowns: number;
  linkUps: number;
  interrupts: number;
  polls: number;
  hypercalls: number;
  refused: Partial<Record<RefusalReason, number>>;
  doorbells: number;
}

export type SendResult = { ok: true; seqs: number[] } | { ok: false; reason: RefusalReason | 'no-buffer' | 'link-down'; message: string };

interface InFlight {
  seq: number;
  buffer: bigint;
}

export class GuestDriver {
  readonly guest: GuestId;
  readonly info: ContextInfo;
  readonly stats: DriverStats = {
    txFrames: 0,
    txBytes: 0,
    txCompleted: 0,
    txErrors: 0,
    txDropped: 0,
    rxFrames: 0,
    rxBytes: 0,
    rxErrors: 0,
    rxDropped: 0,
    linkDowns: 0,
    linkUps: 0,
    interrupts: 0,
    polls: 0,
    hypercalls: 0,
    refused: {},
    doorbells: 0,
  };
  /** Frames received, oldest first (also passed to onFrame). */
  readonly received: ReceivedFrame[] = [];
  onFrame?: (f: ReceivedFrame) => void;
  /** A virtual interrupt arrived and poll() has work to do. */
  napiScheduled = false;
  masked = false;
  /** Down while the VMM recovers the context: nothing is sent, posted or taken. */
  linkUp = true;

  private readonly hv: Hypervisor;
  private readonly mmu: GuestMmu;
  private readonly seq: SeqSpace;
  private readonly bufferBytes: number;
  private readonly freeTx: bigint[] = [];
  private readonly freeRx: bigint[] = [];
  private readonly rxPostedTarget: number;
  /** Descriptors enqueued and not yet reaped, oldest first. */
  private readonly txInFlight: InFlight[] = [];
  private readonly rxPosted: InFlight[] = [];
  private txDone: number;
  private rxDone: number;
  /** Counts link events: a done seq read across one belongs to rings that are gone. */
  private epoch = 0;
  /** The last value written to each doorbell since the rings were (re)set, for ringAgain. */
  private readonly lastDoorbell = new Map<Bar0Reg, number>();

  constructor(o: GuestDriverOptions) {
    this.hv = o.hypervisor;
    this.guest = o.guest;
    this.mmu = o.mmu;
    this.info = o.info;
    this.seq = new SeqSpace(o.info.seqWidth);
    this.bufferBytes = o.bufferBytes ?? 2048;
    if (PAGE_SIZE % this.bufferBytes !== 0) throw new Error(`bufferBytes ${this.bufferBytes} must divide the 4096-byte page`);
    const buffers = o.pages.flatMap((pfn) =>
      [...Array(PAGE_SIZE / this.bufferBytes).keys()].map((i) => pageBase(pfn) + BigInt(i * this.bufferBytes)),
    );
    const nTx = Math.round(buffers.length * (o.txShare ?? 0.5));
    this.freeTx.push(...buffers.slice(0, nTx));
    this.freeRx.push(...buffers.slice(nTx));
    this.rxPostedTarget = Math.min(o.rxPosted ?? this.freeRx.length, o.info.rxRing.size, this.freeRx.length);
    this.txDone = this.seq.add(o.info.txRing.firstSeq, -1);
    this.rxDone = this.seq.add(o.info.rxRing.firstSeq, -1);
    this.hv.onVirtualInterrupt(this.guest, (ctxs) => {
      if (!ctxs.includes(this.info.ctx)) return;
      this.stats.interrupts++;
      this.napiScheduled = true;
    });
    this.hv.onLinkEvent(this.guest, (e) => {
      if (e.ctx === this.info.ctx) this.onLink(e);
    });
  }

  /** Attaches `ctx` to the guest through the VMM and returns its driver. */
  static async attach(
    vmm: Vmm,
    guest: GuestId,
    ctx: number,
    config: ContextConfig,
    pages: readonly bigint[],
    options: Partial<GuestDriverOptions> = {},
  ): Promise<GuestDriver> {
    const r = await vmm.attachContext(guest, ctx, config);
    if (!r.ok) throw new Error(`guest ${guest} cannot attach context ${ctx}: ${r.message}`);
    const info = contextInfoOf(vmm, ctx);
    return new GuestDriver({ hypervisor: vmm, guest, mmu: vmm.mmu(guest), info, pages, ...options });
  }

  get freeTxBuffers(): number {
    return this.freeTx.length;
  }

  get txOutstanding(): number {
    return this.txInFlight.length;
  }

  get rxOutstanding(): number {
    return this.rxPosted.length;
  }

  // ---------------------------------------------------------------- transmit

  /**
   * Sends frames with one hypercall and one doorbell. A frame longer than a buffer, or any frame
   * when `fragment` is given, is split over several descriptors (EOP on the last).
   */
  async send(frames: readonly Uint8Array[], options: { fragment?: number } = {}): Promise<SendResult> {
    if (!this.linkUp) return { ok: false, reason: 'link-down', message: `guest ${this.guest}: context ${this.info.ctx} is down` };
    const chunk = Math.min(options.fragment ?? this.bufferBytes, this.bufferBytes);
    const bufs: TxBuffer[] = [];
    const used: bigint[] = [];
    const frameEnds: number[] = [];
    for (const f of frames) {
      for (let at = 0; at < f.length || at === 0; at += chunk) {
        const buf = this.freeTx[used.length];
        if (buf === undefined)
          return { ok: false, reason: 'no-buffer', message: `guest ${this.guest}: no free TX buffer (reap completions first)` };
        const part = f.subarray(at, Math.min(f.length, at + chunk));
        this.mmu.write(buf, part);
        used.push(buf);
        bufs.push({ addr: buf, len: part.length, eop: at + chunk >= f.length });
      }
      frameEnds.push(bufs.length - 1);
    }
    this.stats.hypercalls++;
    const r = this.hv.enqueueTx(this.guest, this.info.ctx, bufs);
    if (!r.ok) {
      this.stats.refused[r.reason] = (this.stats.refused[r.reason] ?? 0) + 1;
      return { ok: false, reason: r.reason, message: r.message };
    }
    this.freeTx.splice(0, used.length);
    r.seqs.forEach((seq, i) => {
      this.txInFlight.push({ seq, buffer: used[i] });
    });
    this.stats.txFrames += frames.length;
    this.stats.txBytes += frames.reduce((n, f) => n + f.length, 0);
    await this.doorbell('TX_PROD', r.lastSeq);
    return { ok: true, seqs: frameEnds.map((i) => r.seqs[i]) };
  }

  /** Frees the buffers of every completed TX descriptor (TX_DONE_SEQ from the mailbox). Returns descriptors reaped. */
  async reapTx(): Promise<number> {
    const epoch = this.epoch;
    const done = await this.mailboxRead('TX_DONE_SEQ');
    if (epoch !== this.epoch || !this.linkUp) return 0;
    const n = this.completedCount(done, this.txDone, this.txInFlight.length);
    for (const d of this.txInFlight.splice(0, n)) {
      const flags = decodeDescriptor(this.mmu.read(this.slotAddr(this.info.txRing, d.seq), DESCRIPTOR.bytes)).flags;
      if (flags & DESC_FLAGS.ERR) this.stats.txErrors++;
      this.freeTx.push(d.buffer);
    }
    this.txDone = this.seq.add(this.txDone, n);
    this.stats.txCompleted += n;
    return n;
  }

  // ---------------------------------------------------------------- receive

  /** Posts free RX buffers up to the target with one hypercall and one doorbell. Returns buffers posted. */
  async postRx(): Promise<number> {
    if (!this.linkUp) return 0;
    const n = Math.min(this.rxPostedTarget - this.rxPosted.length, this.freeRx.length);
    if (n <= 0) return 0;
    const bufs = this.freeRx.slice(0, n).map((addr) => ({ addr, len: this.bufferBytes }));
    this.stats.hypercalls++;
    const r = this.hv.enqueueRx(this.guest, this.info.ctx, bufs);
    if (!r.ok) {
      this.stats.refused[r.reason] = (this.stats.refused[r.reason] ?? 0) + 1;
      return 0;
    }
    this.freeRx.splice(0, n);
    r.seqs.forEach((seq, i) => {
      this.rxPosted.push({ seq, buffer: bufs[i].addr });
    });
    await this.doorbell('RX_PROD', r.lastSeq);
    return n;
  }

  /**
   * Takes up to `budget` completed RX buffers (RX_DONE_SEQ, lengths and flags from the read-only
   * ring). Returns buffers taken: frames delivered, and buffers completed with ERR or without DONE,
   * which are counted and reposted unread (F-3).
   */
  async receive(budget = Number.POSITIVE_INFINITY): Promise<number> {
    const epoch = this.epoch;
    const done = await this.mailboxRead('RX_DONE_SEQ');
    if (epoch !== this.epoch || !this.linkUp) return 0;
    const n = Math.min(budget, this.completedCount(done, this.rxDone, this.rxPosted.length));
    for (const p of this.rxPosted.splice(0, n)) {
      const d = decodeDescriptor(this.mmu.read(this.slotAddr(this.info.rxRing, p.seq), DESCRIPTOR.bytes));
      if ((d.flags & DESC_FLAGS.ERR) !== 0 || (d.flags & DESC_FLAGS.DONE) === 0) {
        this.stats.rxErrors++;
        this.freeRx.push(p.buffer);
        continue;
      }
      const len = Math.min(d.len, this.bufferBytes);
      const f: ReceivedFrame = { data: this.mmu.read(p.buffer, len), seq: p.seq };
      this.received.push(f);
      this.onFrame?.(f);
      this.stats.rxFrames++;
      this.stats.rxBytes += len;
      this.freeRx.push(p.buffer);
    }
    this.rxDone = this.seq.add(this.rxDone, n);
    return n;
  }

  // ---------------------------------------------------------------- interrupts

  async mask(): Promise<void> {
    await this.doorbell('INT_CTRL', INT_CTRL.MASK.mask);
    this.masked = true;
  }

  async unmask(): Promise<void> {
    await this.doorbell('INT_CTRL', INT_CTRL.UNMASK.mask);
    this.masked = false;
  }

  /**
   * NAPI: after a virtual interrupt, mask, reap TX, receive up to `budget` frames and repost
   * buffers; when fewer than `budget` frames were waiting, unmask and leave polling mode (the NIC
   * raises an interrupt on unmask if events are pending, I-7). Returns RX buffers taken.
   */
  async poll(budget = 64): Promise<number> {
    if (!this.napiScheduled) return 0;
    this.stats.polls++;
    if (!this.masked) await this.mask();
    await this.reapTx();
    const rx = await this.receive(budget);
    await this.postRx();
    if (rx < budget) {
      this.napiScheduled = false;
      await this.unmask();
    }
    return rx;
  }

  // ---------------------------------------------------------------- internals

  /**
   * Down: every descriptor in flight is lost to the guest (the VMM completes or cancels them from
   * the NIC's trusted progress and resets the rings), so its buffer is freed and counted. Up: the
   * rings go on from the seqs the VMM gives; the next poll reposts the RX buffers.
   */
  private onLink(e: LinkEvent): void {
    this.epoch++;
    this.lastDoorbell.clear();
    if (e.link === 'down') {
      this.linkUp = false;
      this.stats.linkDowns++;
      this.stats.txDropped += this.txInFlight.length;
      this.stats.rxDropped += this.rxPosted.length;
      for (const d of this.txInFlight.splice(0)) this.freeTx.push(d.buffer);
      for (const p of this.rxPosted.splice(0)) this.freeRx.push(p.buffer);
      return;
    }
    this.linkUp = true;
    this.stats.linkUps++;
    this.txDone = this.seq.add(e.txNextSeq, -1);
    this.rxDone = this.seq.add(e.rxNextSeq, -1);
    this.napiScheduled = true;
  }

  /** How many of `outstanding` descriptors after `last` the done seq `done` covers; 0 for a value out of range. */
  private completedCount(done: number, last: number, outstanding: number): number {
    const n = this.seq.diff(done, last);
    return n <= outstanding ? n : 0;
  }

  private slotAddr(ring: { base: bigint; size: number }, seq: number): bigint {
    return ring.base + BigInt((seq & (ring.size - 1)) * DESCRIPTOR.bytes);
  }

  /**
   * Rings both doorbells again with the last values written, as a driver's watchdog does after an
   * error: a context left idle (a failed descriptor fetch) resumes with what is posted. The NIC reads
   * no descriptor past TX_PROD, so a kick must repeat the last posted sequence number, not write 0.
   */
  async ringAgain(): Promise<void> {
    if (!this.linkUp) return;
    for (const [reg, value] of this.lastDoorbell) await this.doorbell(reg, value);
  }

  private async doorbell(reg: Bar0Reg, value: number): Promise<void> {
    this.stats.doorbells++;
    this.lastDoorbell.set(reg, value >>> 0);
    await this.mmu.mmioWrite(this.info.mailbox + BigInt(BAR0_OFFSETS[reg]), value >>> 0);
  }

  private async mailboxRead(reg: Bar0Reg): Promise<number> {
    return await this.mmu.mmioRead(this.info.mailbox + BigInt(BAR0_OFFSETS[reg]));
  }
}
