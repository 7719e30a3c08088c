/**
 * Host memory for the benchmark: where each context's rings, buffers and completion record live, and
 * a sparse memory that notices completion-record writes (the cycle each done seq reached memory).
 */
import { SparseMemory } from '../../testbench/axi/index.js';

const BUFFERS_PER_CTX = 4096 * 0x800;

/** Addresses above 4 GiB, as a host with a 64-bit bus would hand out. One region per purpose. */
export const hostLayout = {
  txRing: (c: number): number => 0x1_0000_0000 + c * 0x1_0000,
  rxRing: (c: number): number => 0x1_8000_0000 + c * 0x1_0000,
  /**
   * 2 KiB buffers, 2 KiB aligned: a frame of up to 1514 bytes never crosses a 4 KiB page. 8 MiB per
   * context, so 1024 contexts' buffers fill 8 GiB and end where the next region starts.
   */
  txBuffer: (c: number, slot: number): number => 0x2_0000_0000 + c * BUFFERS_PER_CTX + (slot % 4096) * 0x800,
  rxBuffer: (c: number, slot: number): number => 0x4_0000_0000 + c * BUFFERS_PER_CTX + (slot % 4096) * 0x800,
  done: (c: number): number => DONE_BASE + c * DONE_STRIDE,
};
export const RX_BUFFER_BYTES = 0x800;
const DONE_BASE = 0x6_0000_0000;
const DONE_STRIDE = 0x10;
const DONE_END = DONE_BASE + 1024 * DONE_STRIDE;

export interface DoneWrite {
  ctx: number;
  dir: 'tx' | 'rx';
  seq: number;
  cycle: number;
}

export class HostMemory extends SparseMemory {
  /** Completion-record updates, in the order they reached memory. */
  readonly doneWrites: DoneWrite[] = [];
  /** The latest done seq of each direction, per context. */
  readonly txDone = new Map<number, number>();
  readonly rxDone = new Map<number, number>();
  cycle: () => number = () => 0;

  override writeByte(addr: number, value: number): void {
    super.writeByte(addr, value);
    if (addr < DONE_BASE || addr >= DONE_END) return;
    const off = (addr - DONE_BASE) % DONE_STRIDE;
    // The top byte of a 4-byte done seq completes it (lanes are written low to high).
    if (off !== 3 && off !== 7) return;
    const ctx = Math.floor((addr - DONE_BASE) / DONE_STRIDE);
    const dir = off === 3 ? 'tx' : 'rx';
    const seq = Number(this.readUint(addr - 3, 4));
    (dir === 'tx' ? this.txDone : this.rxDone).set(ctx, seq);
    this.doneWrites.push({ ctx, dir, seq, cycle: this.cycle() });
  }
}
