/**
 * A guest's view of memory through the page mappings the VMM set up: the only way a well-behaved
 * guest touches memory or its mailbox. Hostile guests bypass it by calling the bus directly (P-10).
 */
import { formatAddr, type GuestId, type HostMemory, pageSpans, pfnOf } from '../host/memory.js';
import type { Bar0Bus } from './nic-bus.js';

export class PageFault extends Error {
  constructor(
    readonly guest: GuestId,
    readonly addr: bigint,
    readonly access: 'read' | 'write',
    why: string,
  ) {
    super(`guest ${guest}: page fault on ${access} at ${formatAddr(addr)}: ${why}`);
    this.name = 'PageFault';
  }
}

export interface MmioWindow {
  /** Physical address of BAR0 (mailbox page of context c at bar0Base + c * 4096). */
  bar0Base: bigint;
  bar0Bytes: number;
  bar0: Bar0Bus;
}

export class GuestMmu {
  constructor(
    readonly guest: GuestId,
    private readonly memory: HostMemory,
    private readonly mmio: MmioWindow,
  ) {}

  read(addr: bigint, len: number): Uint8Array {
    for (const s of pageSpans(addr, len)) this.requireMemory(s.pfn, addr, 'read');
    return this.memory.read(addr, len);
  }

  write(addr: bigint, bytes: Uint8Array): void {
    for (const s of pageSpans(addr, bytes.length)) this.requireMemory(s.pfn, addr, 'write');
    this.memory.write(addr, bytes);
  }

  /** A 32-bit store to a mapped mailbox page, forwarded to the NIC's BAR0. */
  async mmioWrite(addr: bigint, value: number): Promise<void> {
    await this.mmio.bar0.bar0Write(this.bar0Offset(addr, 'write'), value);
  }

  async mmioRead(addr: bigint): Promise<number> {
    return await this.mmio.bar0.bar0Read(this.bar0Offset(addr, 'read'));
  }

  private bar0Offset(addr: bigint, access: 'read' | 'write'): number {
    const rel = addr - this.mmio.bar0Base;
    if (rel < 0n || rel >= BigInt(this.mmio.bar0Bytes) || (addr & 3n) !== 0n) {
      throw new PageFault(this.guest, addr, access, 'not an aligned word of the NIC mailbox window');
    }
    this.require(pfnOf(addr), addr, access);
    return Number(rel);
  }

  private requireMemory(pfn: bigint, addr: bigint, access: 'read' | 'write'): void {
    this.require(pfn, addr, access);
    const type = this.memory.typeOf(pfn);
    if (type === 'mailbox' || type === 'io') throw new PageFault(this.guest, addr, access, `${type} pages take 32-bit MMIO accesses only`);
  }

  private require(pfn: bigint, addr: bigint, access: 'read' | 'write'): void {
    const a = this.memory.accessOf(pfn, this.guest);
    if (a === undefined) throw new PageFault(this.guest, addr, access, 'the page is not mapped into this guest');
    if (access === 'write' && a !== 'rw') throw new PageFault(this.guest, addr, access, 'the page is mapped read-only');
  }
}
