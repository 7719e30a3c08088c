/**
 * DMA protection strategies as VMM variants, after "Protection Strategies for Direct Access to
 * Virtualized I/O Devices" (Willmann, Rixner, Cox; USENIX ATC 2008). CDNA's own strategy is the
 * VMM with `protection` on: checks, pins, and the NIC's sequence-number check on every descriptor.
 * The IOMMU strategies run on the VMM with `protection` off (no checks, no pins: the IOMMU is what
 * stops a device's stray DMA) and watch every buffer the VMM issues and releases
 * (`Vmm.dmaObservers`), keeping an IOMMU table per guest and counting its work:
 *
 * - `single-use`: map each buffer when it is issued, unmap it (and invalidate the IOTLB) when the
 *   NIC is done with it; one hypercall each way.
 * - `shared`: one mapping per page, reference-counted; map on 0 -> 1, unmap and invalidate on 1 -> 0;
 *   still a hypercall per issue and per release (the count lives in the hypervisor).
 * - `persistent`: map a page the first time a buffer in it is issued, never unmap it; a hypercall
 *   only for that first map.
 * - `direct`: every page of the guest mapped when the guest gets them (`guestPages`): no per-packet
 *   work, and no protection of a guest's pages from its own device context.
 *
 * `permits` is the IOMMU's answer for one DMA of a guest's context: every page it spans mapped in
 * that guest's table. The hypervisor maps only pages the guest owns, so cross-guest DMA is refused
 * under every strategy; what differs is a guest's own pages that no live descriptor names.
 */
import type { GuestId, HostMemory } from '../host/memory.js';
import { pfnOf } from '../host/memory.js';
import type { Direction } from './descriptor-ring.js';

export interface IssuedBuffer {
  guest: GuestId;
  ctx: number;
  dir: Direction;
  pfn: bigint;
  addr: bigint;
  len: number;
}

export interface ReleasedBuffer {
  pfn: bigint;
  addr: bigint;
  len: number;
}

/** Told by the VMM of each buffer put into a ring and each buffer the NIC finished (or a recovery cancelled). */
export interface DmaMappingObserver {
  issued(b: IssuedBuffer): void;
  released(b: ReleasedBuffer): void;
}

export const STRATEGY_NAMES = ['cdna', 'single-use', 'shared', 'persistent', 'direct'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];
export type IommuStrategyName = Exclude<StrategyName, 'cdna'>;
export const IOMMU_STRATEGIES: readonly IommuStrategyName[] = ['single-use', 'shared', 'persistent', 'direct'];

/** The IOMMU strategies' work, in the shape of operations.ts (one unit per operation). */
export const IOMMU_KINDS = ['iommuMap', 'iommuUnmap', 'iotlbInvalidate', 'hypercall'] as const;
export type IommuKind = (typeof IOMMU_KINDS)[number];
export type IommuCounts = Record<IommuKind, number>;

export function zeroIommuCounts(): IommuCounts {
  return { iommuMap: 0, iommuUnmap: 0, iotlbInvalidate: 0, hypercall: 0 };
}

export function iommuCountsSince(before: IommuCounts, after: IommuCounts): IommuCounts {
  return Object.fromEntries(IOMMU_KINDS.map((k) => [k, after[k] - before[k]])) as IommuCounts;
}

export function totalIommu(c: IommuCounts): number {
  return IOMMU_KINDS.reduce((n, k) => n + c[k], 0);
}

export class IommuStrategy implements DmaMappingObserver {
  private readonly c = zeroIommuCounts();
  /** Per guest: page -> mappings (a reference count for `shared`, 1 otherwise). */
  private readonly tables = new Map<GuestId, Map<bigint, number>>();
  /** The guest of each page a live buffer was issued from (releases name only the page). */
  private readonly ownerOfIssued = new Map<bigint, GuestId>();
  /** Refused map hypercalls: a page the guest does not own. */
  refusedMaps = 0;

  constructor(
    readonly name: IommuStrategyName,
    private readonly memory: HostMemory,
  ) {}

  get counts(): IommuCounts {
    return { ...this.c };
  }

  /** The guest got these pages: `direct` maps them all now (one hypercall), the others do nothing. */
  guestPages(guest: GuestId, pfns: readonly bigint[]): void {
    if (this.name !== 'direct') return;
    this.c.hypercall++;
    for (const pfn of pfns) this.map(guest, pfn);
  }

  issued(b: IssuedBuffer): void {
    for (const pfn of pagesOf(b.addr, b.len)) this.issuePage(b.guest, pfn);
  }

  released(b: ReleasedBuffer): void {
    for (const pfn of pagesOf(b.addr, b.len)) this.releasePage(pfn);
  }

  /** Whether the IOMMU lets guest `guest`'s context reach every byte of [addr, addr + len). */
  permits(guest: GuestId, addr: bigint, len: number): boolean {
    const t = this.tables.get(guest);
    return pagesOf(addr, len).every((pfn) => (t?.get(pfn) ?? 0) > 0);
  }

  private issuePage(guest: GuestId, pfn: bigint): void {
    if (this.name === 'direct') return;
    const t = this.table(guest);
    const mapped = t.get(pfn) ?? 0;
    if (this.name === 'persistent' && mapped > 0) return;
    this.c.hypercall++;
    // The hypervisor validates the map: only the guest's own pages enter its table.
    if (this.memory.ownerOf(pfn) !== guest) {
      this.refusedMaps++;
      return;
    }
    this.ownerOfIssued.set(pfn, guest);
    if (this.name === 'shared' && mapped > 0) t.set(pfn, mapped + 1);
    else if (this.name === 'single-use') {
      this.c.iommuMap++;
      t.set(pfn, mapped + 1);
    } else this.map(guest, pfn);
  }

  private releasePage(pfn: bigint): void {
    if (this.name === 'direct' || this.name === 'persistent') return;
    const guest = this.ownerOfIssued.get(pfn);
    if (guest === undefined) return;
    const t = this.table(guest);
    const mapped = t.get(pfn) ?? 0;
    if (mapped === 0) return;
    this.c.hypercall++;
    if (this.name === 'shared' && mapped > 1) {
      t.set(pfn, mapped - 1);
      return;
    }
    this.c.iommuUnmap++;
    this.c.iotlbInvalidate++;
    if (mapped > 1) t.set(pfn, mapped - 1);
    else {
      t.delete(pfn);
      this.ownerOfIssued.delete(pfn);
    }
  }

  private map(guest: GuestId, pfn: bigint): void {
    this.c.iommuMap++;
    this.table(guest).set(pfn, 1);
  }

  private table(guest: GuestId): Map<bigint, number> {
    let t = this.tables.get(guest);
    if (!t) {
      t = new Map();
      this.tables.set(guest, t);
    }
    return t;
  }
}

function pagesOf(addr: bigint, len: number): bigint[] {
  const first = pfnOf(addr);
  const last = pfnOf(addr + BigInt(Math.max(len, 1) - 1));
  const out: bigint[] = [];
  for (let p = first; p <= last; p++) out.push(p);
  return out;
}

/** One IOMMU strategy of each kind, each observing the same VMM. */
export function allIommuStrategies(memory: HostMemory): IommuStrategy[] {
  return IOMMU_STRATEGIES.map((n) => new IommuStrategy(n, memory));
}
