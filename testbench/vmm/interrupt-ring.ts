/**
 * The hypervisor's reader of the NIC's interrupt ring: entries are new while their seq is the
 * expected one, so the ring never needs clearing and wraparound is safe (spec section 8, I-2).
 */
import { decodeIntrEntry, INTR_ENTRY, type IntrEntry } from '../../hdl/descriptors.js';
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
