/**
 * The per-buffer checks of the enqueue hypercall (spec section 10, checks 2 to 4). Each returns
 * the refusal, or undefined when the buffer passes; `tick` counts one operation per check made.
 */
import { formatAddr, formatOwner, type GuestId, type HostMemory, PAGE_SIZE, pageOffset, pageSpans } from '../host/memory.js';
import type { Direction } from './descriptor-ring.js';
import { type Refusal, refuse } from './refusal.js';

export interface BufferRequest {
  addr: bigint;
  len: number;
}

const ADDR_LIMIT = 1n << 64n;
/** The descriptor's 16-bit `len` field. */
export const MAX_DESC_LEN = 0xffff;
const NIC_MAY_NOT_WRITE = new Set(['page-table', 'ring', 'mailbox']);

export function checkBuffer(
  memory: HostMemory,
  guest: GuestId,
  dir: Direction,
  buf: BufferRequest,
  index: number,
  tick: () => void,
): Refusal | undefined {
  const where = `buffer ${index} (${formatAddr(buf.addr)}+${buf.len})`;
  // 3 (its first half): without a sane range, ownership cannot even be looked up.
  tick();
  if (!Number.isInteger(buf.len) || buf.len <= 0) return refuse('bad-bounds', `${where}: length must be at least 1`, index);
  if (buf.len > MAX_DESC_LEN) return refuse('bad-bounds', `${where}: a descriptor holds at most ${MAX_DESC_LEN} bytes`, index);
  if (buf.addr < 0n || buf.addr + BigInt(buf.len) > ADDR_LIMIT) {
    return refuse('bad-bounds', `${where}: the range overflows the 64-bit address space`, index);
  }
  // 2: every byte in a page the caller owns (P-1).
  tick();
  for (const s of pageSpans(buf.addr, buf.len)) {
    const owner = memory.ownerOf(s.pfn);
    if (owner !== guest) {
      return refuse(
        'foreign-page',
        `${where}: page ${formatAddr(s.pfn << 12n)} belongs to ${formatOwner(owner)}, not guest ${guest}`,
        index,
      );
    }
  }
  // 3: one page only (P-2), so one pin covers the whole buffer.
  tick();
  if (pageOffset(buf.addr) + buf.len > PAGE_SIZE) return refuse('bad-bounds', `${where}: the buffer crosses a 4 KiB page boundary`, index);
  // 4: the NIC writes RX buffers, so they must be ordinary pages the guest may write (P-3).
  if (dir === 'rx') {
    tick();
    const pfn = buf.addr >> 12n;
    const type = memory.typeOf(pfn);
    if (NIC_MAY_NOT_WRITE.has(type)) return refuse('not-writable', `${where}: the NIC may not write into a ${type} page`, index);
    if (memory.accessOf(pfn, guest) !== 'rw')
      return refuse('not-writable', `${where}: the page is not mapped writable into guest ${guest}`, index);
  }
  return undefined;
}
