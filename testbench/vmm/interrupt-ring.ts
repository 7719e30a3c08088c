/**
 * The hypervisor's reader of the NIC's interrupt ring: entries are new while their seq is the
 * expected one, so the ring never needs clearing and wraparound is safe (spec section 8, I-2).
 */
import { decodeIntrEntry, encodeIntrEntry, INTR_ENTRY, type IntrEntry } from '../../hdl/descriptors.js';
import type { HostMemory } from '../host/memory.js';
import { SeqSpace } from './seq.js';

const SEQ32 = new SeqSpace(32);

export class InterruptRing {
  readonly size: number;
  /** Free-running count of entries consumed (the INTR_RING_TAIL value). */
  tail = 0;
  /** Seq of the next entry. */
  expected: number;

  constructor(
    private readonly memory: HostMemory,
    readonly base: bigint,
    readonly log2: number,
    seqInit: number,
  ) {
    this.size = 2 ** log2;
    this.expected = SEQ32.check(seqInit, 'INTR_SEQ_INIT');
  }

  get bytes(): number {
    return this.size * INTR_ENTRY.bytes;
  }

  /**
   * Follows the NIC after a re-arm (INTR_SEQ_INIT written, which resets its head and tail to 0): the
   * next entry goes to slot 0 with seq `seqInit`. Every slot is stamped with the seq of the lap
   * before the one it will be expected in, since a write that failed may have left the expected seq
   * in some slot (and zeroed memory holds seq 0, which may be expected after a wrap).
   */
  restart(seqInit: number): void {
    this.expected = SEQ32.check(seqInit, 'INTR_SEQ_INIT');
    this.tail = 0;
    for (let k = 0; k < this.size; k++) {
      const stale = encodeIntrEntry({ vec: 0n, seq: SEQ32.add(this.expected, k - this.size), group: 0 });
      this.memory.write(this.base + BigInt(k * INTR_ENTRY.bytes), stale);
    }
  }

  /** The entry at the tail if it is new (its seq is the expected one); consumes it. `onRead` counts the read. */
  take(onRead: () => void): IntrEntry | undefined {
    onRead();
    const slot = this.tail % this.size;
    const e = decodeIntrEntry(this.memory.read(this.base + BigInt(slot * INTR_ENTRY.bytes), INTR_ENTRY.bytes));
    if (e.seq !== this.expected) return undefined;
    this.expected = SEQ32.add(this.expected, 1);
    this.tail = SEQ32.add(this.tail, 1);
    return e;
  }
}
