/**
 * Host memory with a twin for the reference model. Everything the host side writes (the VMM, the
 * guests, page hand-overs) lands in both; what the RTL writes by DMA (inside `asNic`) lands only
 * here, and the reference model does its own DMA into the twin. Both NICs so see the same host,
 * and their results can be compared byte for byte.
 */
import { type GuestId, HostMemory, type Owner, type PageType } from '../host/memory.js';

export class MirroredHostMemory extends HostMemory {
  /** The reference model's copy of host memory. */
  readonly mirror = new HostMemory();
  private nicDepth = 0;

  /** Runs `fn` as the RTL's DMA: its writes do not reach the mirror. */
  asNic<T>(fn: () => T): T {
    this.nicDepth++;
    try {
      return fn();
    } finally {
      this.nicDepth--;
    }
  }

  override write(addr: bigint, bytes: Uint8Array, byteMask?: ArrayLike<boolean>): void {
    super.write(addr, bytes, byteMask);
    if (this.nicDepth === 0) this.mirror.write(addr, bytes, byteMask);
  }

  override clearPage(pfn: bigint): void {
    super.clearPage(pfn);
    this.mirror.clearPage(pfn);
  }

  override setPage(pfn: bigint, owner: Owner, type: PageType): void {
    super.setPage(pfn, owner, type);
    this.mirror.setPage(pfn, owner, type);
  }

  override map(pfn: bigint, guest: GuestId, access: 'ro' | 'rw'): void {
    super.map(pfn, guest, access);
    this.mirror.map(pfn, guest, access);
  }

  override unmap(pfn: bigint, guest: GuestId): void {
    super.unmap(pfn, guest);
    this.mirror.unmap(pfn, guest);
  }

  override unmapAll(pfn: bigint): void {
    super.unmapAll(pfn);
    this.mirror.unmapAll(pfn);
  }
}
