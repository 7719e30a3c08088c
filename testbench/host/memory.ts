/**
 * Host physical memory: a sparse 64-bit address space of 4 KiB pages. Each page has an owner
 * (a guest, the hypervisor, or nobody), a type, and the guests it is mapped into with their access.
 * Page contents are allocated on first write; unwritten bytes read as zero.
 */

export const PAGE_SHIFT = 12n;
export const PAGE_SIZE = 4096;
const PAGE_SIZE_N = 4096n;
const ADDR_LIMIT = 1n << 64n;
/** Below this, an address plus a length below 2^53 stays inside the 64-bit space. */
const ADDR_NO_OVERFLOW = 1n << 63n;
/** The largest address a Number holds exactly. */
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export type GuestId = number;
export type Owner = GuestId | 'hypervisor' | null;
export type PageType = 'normal' | 'page-table' | 'ring' | 'mailbox' | 'hypervisor' | 'io';
export type Access = 'ro' | 'rw';

export interface PageInfo {
  readonly pfn: bigint;
  readonly owner: Owner;
  readonly type: PageType;
  /** Guests this page is mapped into, with their access. */
  readonly mappings: ReadonlyMap<GuestId, Access>;
}

interface Page {
  owner: Owner;
  type: PageType;
  mappings: Map<GuestId, Access>;
  data: Uint8Array | null;
}

export function pfnOf(addr: bigint): bigint {
  return addr >> PAGE_SHIFT;
}

export function pageBase(pfn: bigint): bigint {
  return pfn << PAGE_SHIFT;
}

export function pageOffset(addr: bigint): number {
  // Below 2^53 the address itself is an exact Number: no bigint arithmetic (each result is a new bigint).
  return addr >= 0n && addr <= MAX_SAFE ? Number(addr) % PAGE_SIZE : Number(addr & (PAGE_SIZE_N - 1n));
}

/** The page number of an address as a Number (exact: a 64-bit address's page number is below 2^52). */
export function pfnNumberOf(addr: bigint): number {
  return addr <= MAX_SAFE ? Math.floor(Number(addr) / PAGE_SIZE) : Number(addr >> PAGE_SHIFT);
}

export function formatAddr(addr: bigint): string {
  return `0x${addr.toString(16).padStart(9, '0')}`;
}

export function formatOwner(owner: Owner): string {
  if (owner === null) return 'nobody';
  return owner === 'hypervisor' ? 'the hypervisor' : `guest ${owner}`;
}

/** Checks that [addr, addr+len) is inside the 64-bit address space. */
export function checkRange(addr: bigint, len: number, what: string): void {
  if (addr < 0n || addr >= ADDR_LIMIT) throw new Error(`${what}: address ${addr} is outside the 64-bit address space`);
  if (!Number.isInteger(len) || len < 0) throw new Error(`${what}: length ${len} must be a non-negative integer`);
  // (The sum only for addresses in the top half or huge lengths: no bigint is made for the others.)
  if ((addr >= ADDR_NO_OVERFLOW || len > Number.MAX_SAFE_INTEGER) && addr + BigInt(len) > ADDR_LIMIT)
    throw new Error(`${what}: ${formatAddr(addr)} + ${len} runs past the top of the 64-bit address space`);
}

/** Splits [addr, addr+len) at page boundaries: (pfn, offset in page, length, offset in the range). */
export function* pageSpans(addr: bigint, len: number): Generator<{ pfn: bigint; offset: number; len: number; at: number }> {
  let at = 0;
  while (at < len) {
    const a = addr + BigInt(at);
    const offset = pageOffset(a);
    const n = Math.min(len - at, PAGE_SIZE - offset);
    yield { pfn: pfnOf(a), offset, len: n, at };
    at += n;
  }
}

/** A page number given as either type (a Number one is exact: page numbers are below 2^52). */
export type Pfn = bigint | number;

const noMappings: ReadonlyMap<GuestId, Access> = new Map();

/** Page numbers may be given as bigints or as Numbers (see `Pfn`). */
export class HostMemory {
  /** By page number as a Number (below 2^52, so exact): bigint keys hash slowly. */
  private readonly pages = new Map<number, Page>();
  /** Pages written or cleared since the last takeChanges(), while tracked. */
  private changed: Set<number> | null = null;

  private page(pfn: number): Page {
    let p = this.pages.get(pfn);
    if (!p) {
      p = { owner: null, type: 'normal', mappings: new Map(), data: null };
      this.pages.set(pfn, p);
    }
    return p;
  }

  /** Metadata of a page (an untouched page is owned by nobody, normal, unmapped). */
  info(pfn: bigint): PageInfo {
    const p = this.pages.get(Number(pfn));
    return { pfn, owner: p?.owner ?? null, type: p?.type ?? 'normal', mappings: new Map(p?.mappings ?? []) };
  }

  ownerOf(pfn: Pfn): Owner {
    return this.pages.get(Number(pfn))?.owner ?? null;
  }

  typeOf(pfn: Pfn): PageType {
    return this.pages.get(Number(pfn))?.type ?? 'normal';
  }

  /** Sets owner and type; mappings are left as they are (callers unmap on a change of owner). */
  setPage(pfn: bigint, owner: Owner, type: PageType): void {
    const p = this.page(Number(pfn));
    p.owner = owner;
    p.type = type;
  }

  map(pfn: bigint, guest: GuestId, access: Access): void {
    this.page(Number(pfn)).mappings.set(guest, access);
  }

  unmap(pfn: bigint, guest: GuestId): void {
    this.pages.get(Number(pfn))?.mappings.delete(guest);
  }

  unmapAll(pfn: bigint): void {
    this.pages.get(Number(pfn))?.mappings.clear();
  }

  /** The access `guest` has to the page, or undefined when it is not mapped into it. */
  accessOf(pfn: Pfn, guest: GuestId): Access | undefined {
    return this.pages.get(Number(pfn))?.mappings.get(guest);
  }

  /**
   * Starts recording which pages are written or cleared (a scoreboard compares only those);
   * takeChanges() hands them over and starts a new record.
   */
  trackChanges(): void {
    this.changed ??= new Set();
  }

  /** The pages written or cleared since tracking started or the last call. */
  takeChanges(): Set<bigint> {
    const out = new Set<bigint>();
    for (const pfn of this.changed ?? []) out.add(BigInt(pfn));
    if (this.changed) this.changed.clear();
    return out;
  }

  /** A page's bytes, live (no copy; read only), or null for a page never written since its last clear (all zeros). */
  pageData(pfn: Pfn): Uint8Array | null {
    return this.pages.get(Number(pfn))?.data ?? null;
  }

  /** Pages that are owned by someone or mapped anywhere. */
  *knownPages(): Generator<PageInfo> {
    for (const pfn of this.pages.keys()) yield this.info(BigInt(pfn));
  }

  /**
   * Calls `fn` for each page mapped into some guest, with its live mappings (read only, no copy: for
   * checks that run after every VMM call and must not copy, or even visit as entries, every page;
   * nor make an object or a bigint page number per page).
   */
  forEachMapped(fn: (owner: Owner, type: PageType, mappings: ReadonlyMap<GuestId, Access>, pfn: number) => void): void {
    this.pages.forEach((p, pfn) => {
      if (p.mappings.size > 0) fn(p.owner, p.type, p.mappings, pfn);
    });
  }

  /** The guests a page is mapped into, live (read only, no copy). */
  mappingsOf(pfn: Pfn): ReadonlyMap<GuestId, Access> {
    return this.pages.get(Number(pfn))?.mappings ?? noMappings;
  }

  read(addr: bigint, len: number): Uint8Array {
    checkRange(addr, len, 'host memory read');
    const offset = pageOffset(addr);
    // One page (every DMA beat, every descriptor): one copy.
    if (offset + len <= PAGE_SIZE) {
      const data = this.pages.get(pfnNumberOf(addr))?.data;
      return data ? data.slice(offset, offset + len) : new Uint8Array(len);
    }
    const out = new Uint8Array(len);
    this.readInto(addr, out);
    return out;
  }

  /** Copies the `out.length` bytes at `addr` into `out` (no allocation: for callers with a buffer to reuse). */
  readInto(addr: bigint, out: Uint8Array): void {
    const len = out.length;
    checkRange(addr, len, 'host memory read');
    let pfn = pfnNumberOf(addr);
    let offset = pageOffset(addr);
    for (let at = 0; at < len; pfn++, offset = 0) {
      const n = Math.min(len - at, PAGE_SIZE - offset);
      const data = this.pages.get(pfn)?.data;
      if (!data) out.fill(0, at, at + n);
      // A beat's few bytes by hand: a subarray for set() would cost more than the copy.
      else if (n <= 16) for (let i = 0; i < n; i++) out[at + i] = data[offset + i];
      else out.set(data.subarray(offset, offset + n), at);
      at += n;
    }
  }

  /** Writes `bytes` at `addr`; with `byteMask`, only bytes whose mask entry is true are written (AXI `wstrb`). */
  write(addr: bigint, bytes: Uint8Array, byteMask?: ArrayLike<boolean>): void {
    checkRange(addr, bytes.length, 'host memory write');
    if (byteMask && byteMask.length !== bytes.length) {
      throw new Error(`host memory write: byte mask has ${byteMask.length} entries for ${bytes.length} bytes`);
    }
    let pfn = pfnNumberOf(addr);
    let offset = pageOffset(addr);
    for (let at = 0; at < bytes.length; pfn++, offset = 0) {
      const n = Math.min(bytes.length - at, PAGE_SIZE - offset);
      this.changed?.add(pfn);
      const p = this.page(pfn);
      if (!p.data) p.data = new Uint8Array(PAGE_SIZE);
      if (!byteMask) p.data.set(n === bytes.length ? bytes : bytes.subarray(at, at + n), offset);
      else for (let i = 0; i < n; i++) if (byteMask[at + i]) p.data[offset + i] = bytes[at + i];
      at += n;
    }
  }

  /** Zeroes a whole page (on allocation and on hand-over, so no data leaks between owners). */
  clearPage(pfn: bigint): void {
    const p = this.pages.get(Number(pfn));
    if (p?.data) this.changed?.add(Number(pfn));
    if (p) p.data = null;
  }

  readU32(addr: bigint): number {
    const b = this.read(addr, 4);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }

  writeU32(addr: bigint, value: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, true);
    this.write(addr, b);
  }

  readU64(addr: bigint): bigint {
    return new DataView(this.read(addr, 8).buffer).getBigUint64(0, true);
  }

  writeU64(addr: bigint, value: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
    this.write(addr, b);
  }
}
