/**
 * The VMM's side of one descriptor ring (TX or RX of one context): the next sequence number, the last
 * trusted done seq, and the shadow table (seq -> pinned page) from which references are released.
 */
import type { SeqSpace } from './seq.js';

export type Direction = 'tx' | 'rx';

export interface ShadowEntry {
  readonly seq: number;
  readonly pfn: bigint;
  readonly addr: bigint;
  readonly len: number;
  /** Whether the page holds a reference for this entry (not with protection off). */
  readonly pinned: boolean;
  /** The DMA-monitor grant covering the buffer, if any. */
  readonly grant: number | undefined;
}

/** A done seq the NIC reported that cannot be right: behind the last one, or past what was issued (P-13). */
export interface DoneSeqFault {
  readonly ctx: number;
  readonly dir: Direction;
  readonly kind: 'backwards' | 'past-next-seq' | 'out-of-range';
  readonly reported: number;
  readonly lastDone: number;
  readonly nextSeq: number;
  readonly message: string;
}

export class DescriptorRing {
  readonly size: number;
  nextSeq: number;
  /** Last sequence number known complete from the trusted completion record. */
  lastDone: number;
  /** TX only: bytes of the frame being built (descriptors since the last EOP). */
  openFrameBytes = 0;
  private readonly shadow: (ShadowEntry | undefined)[];
  private lastFaultValue: number | undefined;

  constructor(
    readonly ctx: number,
    readonly dir: Direction,
    readonly base: bigint,
    readonly log2: number,
    readonly seq: SeqSpace,
    initialSeq: number,
  ) {
    this.size = 2 ** log2;
    this.nextSeq = seq.check(initialSeq, `${dir.toUpperCase()} initial sequence number`);
    this.lastDone = seq.add(initialSeq, -1);
    this.shadow = new Array(this.size);
  }

  /** Descriptors issued and not yet completed. */
  get outstanding(): number {
    return this.seq.diff(this.nextSeq, this.seq.add(this.lastDone, 1));
  }

  get free(): number {
    return this.size - this.outstanding;
  }

  slotOf(seq: number): number {
    return seq & (this.size - 1);
  }

  slotAddr(seq: number): bigint {
    return this.base + BigInt(this.slotOf(seq) * 16);
  }

  /** Records an issued descriptor and advances next_seq. */
  issue(entry: Omit<ShadowEntry, 'seq'>): ShadowEntry {
    const e: ShadowEntry = { ...entry, seq: this.nextSeq };
    const slot = this.slotOf(e.seq);
    if (this.shadow[slot])
      throw new Error(`ctx ${this.ctx} ${this.dir}: slot ${slot} still holds seq ${this.shadow[slot]?.seq}: ring accounting broken`);
    this.shadow[slot] = e;
    this.nextSeq = this.seq.add(this.nextSeq, 1);
    return e;
  }

  /**
   * Applies a done seq read from the trusted completion record: returns the entries it completes
   * (now removed from the shadow table), or a fault when the value is impossible (P-13).
   * A fault is reported once per distinct bad value; nothing is released for it.
   */
  complete(reported: number): ShadowEntry[] | DoneSeqFault | undefined {
    const fault = this.check(reported, 'completion record');
    if (fault) {
      if (this.lastFaultValue === reported) return undefined;
      this.lastFaultValue = reported;
      return fault;
    }
    return this.takeThrough(reported);
  }

  /**
   * Recovery of a quiesced context from the NIC's trusted done seq (BAR1, F-4): the entries it
   * covers completed; every entry past it is cancelled, since the NIC never finished it and, the
   * context being quiesced, never will. An impossible trusted value (P-13) completes nothing and
   * is always reported; the outstanding entries are cancelled all the same, and nothing beyond what
   * was issued is ever touched. The ring is then empty; `restart` sets where it goes on.
   */
  recover(trusted: number): { completed: ShadowEntry[]; cancelled: ShadowEntry[]; fault?: DoneSeqFault } {
    const fault = this.check(trusted, 'trusted done seq (BAR1)');
    const completed = fault ? [] : this.takeThrough(trusted);
    const cancelled = this.drain();
    return fault ? { completed, cancelled, fault } : { completed, cancelled };
  }

  /** Starts the empty ring again at `seq` (the NIC's new expected seq); the frame being built is dropped. */
  restart(seq: number): void {
    if (this.outstanding !== 0) throw new Error(`ctx ${this.ctx} ${this.dir}: restart with ${this.outstanding} entries outstanding`);
    this.nextSeq = this.seq.check(seq, `${this.dir.toUpperCase()} restart sequence number`);
    this.lastDone = this.seq.add(seq, -1);
    this.openFrameBytes = 0;
    this.lastFaultValue = undefined;
  }

  /** The fault a reported done seq is, if it cannot be right (P-13). */
  private check(d: number, source: string): DoneSeqFault | undefined {
    const delta = this.seq.diff(d, this.lastDone);
    if (d === this.lastDone || (d <= this.seq.mask && delta <= this.outstanding)) return undefined;
    const kind = d > this.seq.mask ? 'out-of-range' : delta > this.seq.modulus / 2 ? 'backwards' : 'past-next-seq';
    const what = {
      'out-of-range': `wider than SEQ_W=${this.seq.width}`,
      backwards: 'behind what was completed',
      'past-next-seq': 'past what was issued',
    };
    const message =
      `ctx ${this.ctx} ${this.dir}: the NIC reported done seq ${d} in its ${source}, ${what[kind]} ` +
      `(last done ${this.lastDone}, next seq ${this.nextSeq}); nothing released for it`;
    return { ctx: this.ctx, dir: this.dir, kind, reported: d, lastDone: this.lastDone, nextSeq: this.nextSeq, message };
  }

  private takeThrough(d: number): ShadowEntry[] {
    const delta = this.seq.diff(d, this.lastDone);
    const done: ShadowEntry[] = [];
    for (let i = 0; i < delta; i++) done.push(this.take(this.seq.add(this.lastDone, 1 + i)));
    this.lastDone = d;
    return done;
  }

  /** Every outstanding entry, removed (teardown after quiesce). */
  drain(): ShadowEntry[] {
    const out: ShadowEntry[] = [];
    for (let i = 0; i < this.outstanding; i++) out.push(this.take(this.seq.add(this.lastDone, 1 + i)));
    this.lastDone = this.seq.add(this.nextSeq, -1);
    return out;
  }

  /** Outstanding entries, oldest first (for reports and tests). */
  entries(): ShadowEntry[] {
    const out: ShadowEntry[] = [];
    for (let i = 0; i < this.outstanding; i++) {
      const e = this.shadow[this.slotOf(this.seq.add(this.lastDone, 1 + i))];
      if (e) out.push(e);
    }
    return out;
  }

  private take(seq: number): ShadowEntry {
    const slot = this.slotOf(seq);
    const e = this.shadow[slot];
    if (!e || e.seq !== seq)
      throw new Error(`ctx ${this.ctx} ${this.dir}: no shadow entry for seq ${seq} in slot ${slot}: ring accounting broken`);
    this.shadow[slot] = undefined;
    return e;
  }
}
