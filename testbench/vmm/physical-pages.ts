/**
 * The hypervisor's physical page frames: allocation, ownership, references (pins), free, balloon
 * and transfer. A pinned page may be read and written by its owner but cannot change hands (P-4).
 * Pages the NIC reaches outside guest buffers (rings, completion records, the interrupt ring) are
 * held for as long as the NIC may use them, and cannot change hands either (issue 12).
 */
import { type Access, formatAddr, formatOwner, type HostMemory, type Owner, type PageType, pageBase } from '../host/memory.js';
import { type Outcome, refuse } from './refusal.js';

export interface PhysicalPagesOptions {
  /** First frame the hypervisor hands out (default 0x100: the low 1 MiB stays unused). */
  firstPfn?: bigint;
  /** Number of frames in the pool (default 65536: 256 MiB). */
  pageCount?: number;
}

/** The access a guest gets to a page it owns, by type: guests may read but not write their page tables. */
function ownerAccess(type: PageType): Access {
  return type === 'normal' ? 'rw' : 'ro';
}

export class PhysicalPages {
  readonly firstPfn: bigint;
  readonly pageCount: number;
  private readonly free = new Set<bigint>();
  private readonly refs = new Map<bigint, number>();
  /** Frames the NIC may reach by DMA outside any guest buffer, with what they are. */
  private readonly held = new Map<bigint, string>();
  private cursor: bigint;

  constructor(
    readonly memory: HostMemory,
    options: PhysicalPagesOptions = {},
  ) {
    this.firstPfn = options.firstPfn ?? 0x100n;
    this.pageCount = options.pageCount ?? 65536;
    if (!Number.isInteger(this.pageCount) || this.pageCount < 1) throw new Error(`pageCount ${this.pageCount} must be a positive integer`);
    for (let i = 0n; i < BigInt(this.pageCount); i++) this.free.add(this.firstPfn + i);
    this.cursor = this.firstPfn;
  }

  get freeCount(): number {
    return this.free.size;
  }

  inPool(pfn: bigint): boolean {
    return pfn >= this.firstPfn && pfn < this.firstPfn + BigInt(this.pageCount);
  }

  /** Allocates `count` contiguous zeroed frames to `owner`; a guest owner gets them mapped by type. */
  allocate(owner: Exclude<Owner, null>, type: PageType, count = 1): Outcome<{ pfns: bigint[] }> {
    const start = this.findRun(count);
    if (start === undefined) return refuse('out-of-memory', `no run of ${count} free page(s) left in the pool of ${this.pageCount}`);
    const pfns: bigint[] = [];
    for (let i = 0n; i < BigInt(count); i++) {
      const pfn = start + i;
      this.free.delete(pfn);
      this.memory.clearPage(pfn);
      this.memory.unmapAll(pfn);
      this.memory.setPage(pfn, owner, type);
      if (owner !== 'hypervisor') this.memory.map(pfn, owner, ownerAccess(type));
      pfns.push(pfn);
    }
    this.cursor = start + BigInt(count);
    return { ok: true, pfns };
  }

  /** Returns a frame to the pool. Refused while pinned, or when `by` is given and does not own it. */
  release(pfn: bigint, by?: Owner): Outcome {
    const problem = this.changeProblem(pfn, by, 'freed');
    if (problem) return problem;
    this.memory.unmapAll(pfn);
    this.memory.clearPage(pfn);
    this.memory.setPage(pfn, null, 'normal');
    this.free.add(pfn);
    return { ok: true };
  }

  /** Gives a frame to another owner, zeroed and mapped by type (page flipping / balloon hand-over). */
  transfer(pfn: bigint, from: Exclude<Owner, null>, to: Exclude<Owner, null>, type: PageType = 'normal'): Outcome {
    const problem = this.changeProblem(pfn, from, 'given away');
    if (problem) return problem;
    this.memory.unmapAll(pfn);
    this.memory.clearPage(pfn);
    this.memory.setPage(pfn, to, type);
    if (to !== 'hypervisor') this.memory.map(pfn, to, ownerAccess(type));
    return { ok: true };
  }

  pin(pfn: bigint): void {
    this.refs.set(pfn, (this.refs.get(pfn) ?? 0) + 1);
  }

  unpin(pfn: bigint): void {
    const n = this.refs.get(pfn) ?? 0;
    if (n === 0) throw new Error(`unpin of page ${formatAddr(pageBase(pfn))} which holds no reference: the VMM's accounting is broken`);
    if (n === 1) this.refs.delete(pfn);
    else this.refs.set(pfn, n - 1);
  }

  pins(pfn: bigint): number {
    return this.refs.get(pfn) ?? 0;
  }

  /** Marks a frame as one the NIC may use by DMA (`what` names it in refusals) until `unhold`. */
  hold(pfn: bigint, what: string): void {
    const h = this.held.get(pfn);
    if (h !== undefined) throw new Error(`page ${formatAddr(pageBase(pfn))} is already held as ${h}: the VMM's accounting is broken`);
    this.held.set(pfn, what);
  }

  unhold(pfn: bigint): void {
    if (!this.held.delete(pfn)) throw new Error(`page ${formatAddr(pageBase(pfn))} is not held: the VMM's accounting is broken`);
  }

  /** What the NIC uses the frame for, if it may reach it by DMA outside guest buffers. */
  heldAs(pfn: bigint): string | undefined {
    return this.held.get(pfn);
  }

  /** Every held frame and what it is. */
  heldPages(): Map<bigint, string> {
    return new Map(this.held);
  }

  /** Every pinned frame and its reference count. */
  pinned(): Map<bigint, number> {
    return new Map(this.refs);
  }

  /** The same, live and read only (for checks after every VMM call: no copy). */
  pinnedView(): ReadonlyMap<bigint, number> {
    return this.refs;
  }

  /** `heldPages()`, live and read only. */
  heldView(): ReadonlyMap<bigint, string> {
    return this.held;
  }

  private changeProblem(pfn: bigint, by: Owner | undefined, verb: string): Outcome | undefined {
    const where = `page ${formatAddr(pageBase(pfn))}`;
    if (!this.inPool(pfn) || this.free.has(pfn)) return refuse('not-page-owner', `${where} is not allocated, so it cannot be ${verb}`);
    const owner = this.memory.ownerOf(pfn);
    if (by !== undefined && owner !== by)
      return refuse('not-page-owner', `${where} is owned by ${formatOwner(owner)}, not ${formatOwner(by)}`);
    const n = this.pins(pfn);
    if (n > 0) return refuse('page-pinned', `${where} holds ${n} DMA reference(s) and cannot be ${verb} until the NIC is done with it`);
    const held = this.held.get(pfn);
    if (held !== undefined)
      return refuse('page-in-use', `${where} is ${held}: the NIC may reach it by DMA, so it cannot be ${verb} while that is in use`);
    return undefined;
  }

  private findRun(count: number): bigint | undefined {
    if (!Number.isInteger(count) || count < 1) throw new Error(`page count ${count} must be a positive integer`);
    const end = this.firstPfn + BigInt(this.pageCount);
    // Next-fit from the cursor, then from the start: recently freed frames are not reused at once,
    // which keeps stale-pointer bugs visible for longer.
    for (const [from, to] of [
      [this.cursor, end],
      [this.firstPfn, end],
    ] as const) {
      let run = 0;
      for (let p = from; p < to; p++) {
        run = this.free.has(p) ? run + 1 : 0;
        if (run === count) return p - BigInt(count) + 1n;
      }
    }
    return undefined;
  }
}
