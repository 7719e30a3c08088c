/**
 * The DMA monitor: the NIC's only way into host memory. Every access is checked, byte by byte,
 * against the regions the VMM has granted (buffers it validated and still pins, rings, completion
 * records, the interrupt ring). A byte outside them, or accessed in a direction its grant does not
 * allow, is recorded as a violation; any violation fails the test. The access itself still happens,
 * so the test sees what the NIC really did.
 */
import { checkRange, formatAddr, formatOwner, type HostMemory, type Owner, type PageType, pageBase, pageSpans } from './memory.js';

export type DmaDirection = 'read' | 'write';
export type GrantAccess = 'read' | 'write' | 'read-write';

/** What an AXI slave transactor or the reference model calls for each NIC memory access. */
export interface DmaPort {
  dmaRead(addr: bigint, len: number): Uint8Array;
  /** With `byteMask` (AXI `wstrb`, one entry per byte), only bytes whose entry is true are written and checked. */
  dmaWrite(addr: bigint, bytes: Uint8Array, byteMask?: ArrayLike<boolean>): void;
}

export interface DmaGrant {
  readonly id: number;
  readonly addr: bigint;
  readonly len: number;
  readonly access: GrantAccess;
  /** Why the NIC may touch it, e.g. "ctx 2 TX buffer seq 5". */
  readonly purpose: string;
}

export interface ByteRange {
  addr: bigint;
  len: number;
}

export interface DmaViolation {
  /** Ordinal of the access among all NIC accesses (1 = the first). */
  readonly access: number;
  readonly direction: DmaDirection;
  /** The whole access. */
  readonly addr: bigint;
  readonly len: number;
  /** The offending bytes (inside one page). */
  readonly bytes: readonly ByteRange[];
  readonly pfn: bigint;
  readonly owner: Owner;
  readonly type: PageType;
  readonly message: string;
}

export interface DmaAccess {
  readonly access: number;
  readonly direction: DmaDirection;
  readonly addr: bigint;
  /** Bytes read, or bytes written (masked-out bytes as given by the caller). */
  readonly data: Uint8Array;
  readonly byteMask?: readonly boolean[];
}

export interface DmaMonitorOptions {
  /** Keep every access in `log` (for scoreboards comparing RTL and model DMA writes). */
  log?: boolean;
  /**
   * Bytes of the NIC's DMA data bus (default 1: byte-exact). AXI4 reads have no strobes, so a master
   * reads whole bus words: a read byte is allowed when a byte of its aligned word is granted for
   * reading. A word never crosses a page, so this never reaches into another page or owner.
   */
  readGranule?: number;
}

function allows(access: GrantAccess, dir: DmaDirection): boolean {
  return access === 'read-write' || access === dir;
}

export class DmaMonitor implements DmaPort {
  readonly violations: DmaViolation[] = [];
  readonly log: DmaAccess[] = [];
  private readonly byId = new Map<number, DmaGrant>();
  private readonly byPage = new Map<bigint, Set<DmaGrant>>();
  private nextId = 1;
  private count = 0;
  private readonly keepLog: boolean;
  private readonly readGranule: number;
  private readonly listeners: ((a: DmaAccess) => void)[] = [];

  constructor(
    readonly memory: HostMemory,
    options: DmaMonitorOptions = {},
  ) {
    this.keepLog = options.log ?? false;
    this.readGranule = options.readGranule ?? 1;
    const g = this.readGranule;
    if (!Number.isInteger(g) || g < 1 || g > 4096 || (g & (g - 1)) !== 0) {
      throw new Error(`DMA monitor readGranule ${g} must be a power of two from 1 to 4096 (the DMA bus width in bytes)`);
    }
  }

  /** Number of NIC accesses so far. */
  get accesses(): number {
    return this.count;
  }

  /** Allows the NIC to access [addr, addr+len) in the given direction until revoked. Returns the grant id. */
  grant(addr: bigint, len: number, access: GrantAccess, purpose: string): number {
    checkRange(addr, len, `DMA grant '${purpose}'`);
    if (len === 0) throw new Error(`DMA grant '${purpose}' has length 0: a grant must cover at least one byte`);
    const g: DmaGrant = { id: this.nextId++, addr, len, access, purpose };
    this.byId.set(g.id, g);
    for (const s of pageSpans(addr, len)) {
      let set = this.byPage.get(s.pfn);
      if (!set) {
        set = new Set();
        this.byPage.set(s.pfn, set);
      }
      set.add(g);
    }
    return g.id;
  }

  revoke(id: number): void {
    const g = this.byId.get(id);
    if (!g) throw new Error(`DMA grant ${id} is not active (revoked twice, or never granted)`);
    this.byId.delete(id);
    for (const s of pageSpans(g.addr, g.len)) {
      const set = this.byPage.get(s.pfn);
      set?.delete(g);
      if (set?.size === 0) this.byPage.delete(s.pfn);
    }
  }

  grants(): DmaGrant[] {
    return [...this.byId.values()];
  }

  /** Calls `fn` after every NIC access (the scoreboard's tap). */
  onAccess(fn: (a: DmaAccess) => void): void {
    this.listeners.push(fn);
  }

  dmaRead(addr: bigint, len: number): Uint8Array {
    checkRange(addr, len, 'DMA read');
    const n = ++this.count;
    this.check(n, 'read', addr, len);
    const data = this.memory.read(addr, len);
    this.record({ access: n, direction: 'read', addr, data });
    return data;
  }

  dmaWrite(addr: bigint, bytes: Uint8Array, byteMask?: ArrayLike<boolean>): void {
    checkRange(addr, bytes.length, 'DMA write');
    const n = ++this.count;
    this.check(n, 'write', addr, bytes.length, byteMask);
    this.memory.write(addr, bytes, byteMask);
    this.record({ access: n, direction: 'write', addr, data: bytes.slice(), byteMask: byteMask ? Array.from(byteMask) : undefined });
  }

  /** Throws an error listing every violation (the first 20 in full). */
  assertClean(): void {
    if (this.violations.length === 0) return;
    const shown = this.violations.slice(0, 20).map((v) => `  ${v.message}`);
    const more = this.violations.length > 20 ? [`  ... and ${this.violations.length - 20} more`] : [];
    throw new Error(`DMA monitor: ${this.violations.length} access(es) outside what the VMM granted:\n${[...shown, ...more].join('\n')}`);
  }

  /** Removes and returns the recorded violations (for tests that provoke them on purpose). */
  takeViolations(): DmaViolation[] {
    return this.violations.splice(0);
  }

  private record(a: DmaAccess): void {
    if (this.keepLog) this.log.push(a);
    for (const fn of this.listeners) fn(a);
  }

  private check(n: number, dir: DmaDirection, addr: bigint, len: number, mask?: ArrayLike<boolean>): void {
    // Reads are judged on whole aligned bus words (see readGranule); writes byte by byte.
    const word = dir === 'read' ? this.readGranule : 1;
    for (const s of pageSpans(addr, len)) {
      const wordLo = s.offset - (s.offset % word);
      const wordHi = Math.min(4096, Math.ceil((s.offset + s.len) / word) * word);
      const words = new Uint8Array(wordHi - wordLo);
      const wordStart = pageBase(s.pfn) + BigInt(wordLo);
      for (const g of this.byPage.get(s.pfn) ?? []) {
        if (!allows(g.access, dir)) continue;
        const lo = Math.max(0, Number(g.addr - wordStart));
        const hi = Math.min(words.length, Number(g.addr + BigInt(g.len) - wordStart));
        if (lo < hi) words.fill(1, lo, hi);
      }
      if (word > 1) {
        for (let w = 0; w < words.length; w += word) if (words.subarray(w, w + word).includes(1)) words.fill(1, w, w + word);
      }
      const covered = words.subarray(s.offset - wordLo, s.offset - wordLo + s.len);
      const start = pageBase(s.pfn) + BigInt(s.offset);
      const bad: ByteRange[] = [];
      for (let i = 0; i < s.len; i++) {
        if (covered[i] || (mask && !mask[s.at + i])) continue;
        const last = bad[bad.length - 1];
        const a = start + BigInt(i);
        if (last && last.addr + BigInt(last.len) === a) last.len++;
        else bad.push({ addr: a, len: 1 });
      }
      if (bad.length > 0) this.flag(n, dir, addr, len, s.pfn, bad);
    }
  }

  private flag(n: number, dir: DmaDirection, addr: bigint, len: number, pfn: bigint, bytes: ByteRange[]): void {
    const info = this.memory.info(pfn);
    const ranges = bytes.map((b) => `${formatAddr(b.addr)}+${b.len}`).join(', ');
    const others = [...(this.byPage.get(pfn) ?? [])].filter((g) => !allows(g.access, dir)).map((g) => g.purpose);
    const why = others.length > 0 ? ` (granted only for ${others.map((p) => `'${p}'`).join(', ')} in another direction)` : '';
    const message =
      `access #${n}: DMA ${dir} of ${len} byte(s) at ${formatAddr(addr)} touches ungranted bytes ${ranges} ` +
      `in page ${formatAddr(pageBase(pfn))} (${info.type}, owned by ${formatOwner(info.owner)})${why}`;
    this.violations.push({ access: n, direction: dir, addr, len, bytes, pfn, owner: info.owner, type: info.type, message });
  }
}
