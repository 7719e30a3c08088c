/** AXI4 burst rules (ARM IHI 0022, A3.4): legality and the address/byte lanes of each beat. */

export const BURST_FIXED = 0;
export const BURST_INCR = 1;
export const BURST_WRAP = 2;

export interface Burst {
  id: number;
  addr: number;
  /** AxLEN: beats - 1. */
  len: number;
  /** AxSIZE: log2 of bytes per beat. */
  size: number;
  burst: number;
}

/** The first broken rule of a burst request on a bus of `dataBytes` bytes, or null. */
export function burstViolation(b: Burst, dataBytes: number): string | null {
  const beats = b.len + 1;
  const bytes = 1 << b.size;
  if (bytes > dataBytes) return `AxSIZE ${b.size} (${bytes} bytes) is wider than the ${dataBytes}-byte data bus`;
  if (b.burst === 3) return 'AxBURST 0b11 is reserved';
  if (b.burst === BURST_FIXED && beats > 16) return `a FIXED burst of ${beats} beats (at most 16)`;
  if (b.burst === BURST_WRAP) {
    if (![2, 4, 8, 16].includes(beats)) return `a WRAP burst of ${beats} beats (must be 2, 4, 8 or 16)`;
    if (b.addr % bytes !== 0) return `a WRAP burst at 0x${b.addr.toString(16)} is not aligned to its ${bytes}-byte transfers`;
  }
  if (b.burst === BURST_INCR) {
    const aligned = b.addr - (b.addr % bytes);
    const lastByte = aligned + beats * bytes - 1;
    if (Math.floor(b.addr / 4096) !== Math.floor(lastByte / 4096)) {
      return `an INCR burst from 0x${b.addr.toString(16)} to 0x${lastByte.toString(16)} crosses a 4 KiB boundary`;
    }
  }
  return null;
}

/** Address and active byte lanes [lo, hi] of beat `n` (0-based) of a burst. */
export function beatLanes(b: Burst, n: number, dataBytes: number): { addr: number; lo: number; hi: number } {
  const bytes = 1 << b.size;
  const aligned = b.addr - (b.addr % bytes);
  let addr: number;
  if (b.burst === BURST_FIXED) addr = b.addr;
  else if (n === 0) addr = b.addr;
  else {
    addr = aligned + n * bytes;
    if (b.burst === BURST_WRAP) {
      const total = bytes * (b.len + 1);
      const boundary = b.addr - (b.addr % total);
      addr = boundary + ((addr - boundary) % total);
    }
  }
  const beatBase = addr - (addr % dataBytes);
  const lo = addr - beatBase;
  const hi = addr - (addr % bytes) + bytes - 1 - beatBase;
  return { addr: beatBase, lo, hi };
}
