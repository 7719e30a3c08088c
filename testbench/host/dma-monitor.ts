/**
 * The DMA monitor: the NIC's only way into host memory. Every access is checked, byte by byte,
 * against the regions the VMM has granted (buffers it validated and still pins, rings, completion
 * records, the interrupt ring). A byte outside them, or accessed in a direction its grant does not
 * allow, is recorded as a violation; any violation fails the test. The access itself still happens,
 * so the test sees what the NIC really did.
 *
 * Under bus faults (fault-injector.ts) it also checks that no failed transfer is reported to a guest
 * as a success: a descriptor written back with DONE and without ERR whose payload transfer failed,
 * or a TX frame built from a failed read that leaves on the wire as a good frame.
 */
import { DESC_FLAGS, DESCRIPTOR, decodeDescriptor } from '../../hdl/descriptors.js';
import { readTag } from '../ethernet/frame.js';
import {
  checkRange,
  formatAddr,
  formatOwner,
  type HostMemory,
  type Owner,
  PAGE_SIZE,
  type PageType,
  pageBase,
  pageOffset,
  pageSpans,
  pfnNumberOf,
} from './memory.js';

export type DmaDirection = 'read' | 'write';
export type GrantAccess = 'read' | 'write' | 'read-write';

/** What an AXI slave transactor or the reference model calls for each NIC memory access. */
export interface DmaPort {
  dmaRead(addr: bigint, len: number): Uint8Array;
  /** With `byteMask` (AXI `wstrb`, one entry per byte), only bytes whose entry is true are written and checked. */
  dmaWrite(addr: bigint, bytes: Uint8Array, byteMask?: ArrayLike<boolean>): void;
  /**
   * An access the bus answered with an error (an injected fault): nothing was read or written. The
   * monitor still checks it against the grants (the NIC did issue it) and remembers the failure.
   */
  dmaFailed?(direction: DmaDirection, addr: bigint, len: number, byteMask?: ArrayLike<boolean>): void;
}

/** What a grant is for, parsed from the VMM's purposes ("ctx 2 TX buffer seq 5", "ctx 2 RX ring", ...). */
export type RegionKind = 'tx-ring' | 'rx-ring' | 'record' | 'intr-ring' | 'tx-buffer' | 'rx-buffer';

export interface GrantRegion {
  readonly kind: RegionKind;
  /** The context it belongs to (null for the interrupt ring). */
  readonly ctx: number | null;
  /** Buffers: the seq of the descriptor it was granted for. */
  readonly seq?: number;
  readonly addr: bigint;
  readonly len: number;
  readonly grant: number;
}

const PURPOSE = /^ctx (\d+) (?:(TX|RX) (ring|buffer seq (\d+))|(completion record))$/;

/** The region a grant covers, from its purpose; undefined for purposes the VMM model does not use. */
export function grantRegion(g: DmaGrant): GrantRegion | undefined {
  const base = { addr: g.addr, len: g.len, grant: g.id };
  if (g.purpose === 'interrupt ring') return { ...base, kind: 'intr-ring', ctx: null };
  const m = PURPOSE.exec(g.purpose);
  if (!m) return undefined;
  const ctx = Number(m[1]);
  if (m[5]) return { ...base, kind: 'record', ctx };
  const dir = m[2] === 'TX' ? 'tx' : 'rx';
  if (m[3] === 'ring') return { ...base, kind: `${dir}-ring`, ctx };
  return { ...base, kind: `${dir}-buffer`, ctx, seq: Number(m[4]) };
}

/** A failed transfer reported to a guest as a success (a DONE without ERR, or a good frame on the wire). */
export interface FalseSuccess {
  readonly ctx: number;
  readonly direction: 'tx' | 'rx';
  /** Seqs of the descriptors of the frame. */
  readonly seqs: readonly number[];
  /** Where the transfer failed. */
  readonly failedAt: bigint;
  readonly how: 'done-without-err' | 'good-frame-on-wire';
  readonly message: string;
}

/** A TX frame whose payload read failed: what it held and which bytes the bus answered with an error. */
interface FailedTxFrame {
  ctx: number;
  seqs: number[];
  original: Uint8Array;
  /** [start, end) in frame bytes the bus did not deliver. */
  holes: [number, number][];
  failedAt: bigint;
  reported: boolean;
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

/**
 * The bytes a write with `mask` (AXI `wstrb` per byte) really writes, first to last strobed byte,
 * with their mask; null when it writes none. A narrow write on a wide bus (a completion record's
 * half on a 128-bit path) carries lanes of the neighbour's bytes, which it must not be taken for.
 */
export function writtenSpan(
  addr: bigint,
  len: number,
  mask: readonly boolean[],
): { addr: bigint; len: number; mask: readonly boolean[] } | null {
  let first = 0;
  let last = len;
  while (first < last && !mask[first]) first++;
  while (last > first && !mask[last - 1]) last--;
  return first < last ? { addr: addr + BigInt(first), len: last - first, mask: mask.slice(first, last) } : null;
}

/**
 * A grant's part of one page: its bytes [lo, hi) in the page. Every access is judged page by page in
 * Numbers (offsets below 4096, page numbers below 2^52: exact), with no bigint made per access; two
 * ranges overlap if and only if their parts do in any page both reach.
 */
interface PageGrant {
  readonly grant: DmaGrant;
  readonly region: GrantRegion | undefined;
  readonly lo: number;
  readonly hi: number;
}

/** A revoked grant's part of one page, with what it was for. */
interface RetiredPart {
  readonly region: GrantRegion;
  readonly access: GrantAccess;
  readonly lo: number;
  readonly hi: number;
}

/**
 * Calls `fn` for each page [addr, addr+len) reaches, with its bytes [lo, hi) there; a zero-length
 * range visits its own page, with lo = hi (grants are never empty; an access may be).
 */
function forEachPagePart(addr: bigint, len: number, fn: (pfn: number, lo: number, hi: number) => void): void {
  let pfn = pfnNumberOf(addr);
  let lo = pageOffset(addr);
  for (let left = len; ; pfn++, lo = 0) {
    const hi = Math.min(PAGE_SIZE, lo + left);
    fn(pfn, lo, hi);
    left -= hi - lo;
    if (left <= 0) return;
  }
}

function allows(access: GrantAccess, dir: DmaDirection): boolean {
  return access === 'read-write' || access === dir;
}

function bufferKey(ctx: number, kind: RegionKind, seq: number): string {
  return `${ctx}/${kind}/${seq}`;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** What a NIC that ignored the error would send: the frame with the failed bytes zeroed, padded to 60. */
function poisoned(f: FailedTxFrame): Uint8Array {
  const out = new Uint8Array(Math.max(60, f.original.length));
  out.set(f.original);
  for (const [lo, hi] of f.holes) out.fill(0, lo, hi);
  return out;
}

export class DmaMonitor implements DmaPort {
  readonly violations: DmaViolation[] = [];
  readonly log: DmaAccess[] = [];
  private readonly byId = new Map<number, DmaGrant>();
  /** Live grants' parts per page number, in grant order. */
  private readonly byPage = new Map<number, PageGrant[]>();
  private nextId = 1;
  private count = 0;
  private readonly keepLog: boolean;
  private readonly readGranule: number;
  private readonly listeners: ((a: DmaAccess) => void)[] = [];
  /** Failed transfers reported as successes (see the top of this file). */
  readonly falseSuccesses: FalseSuccess[] = [];
  /** Accesses the bus failed (injected faults), reads and writes. */
  failedAccesses = 0;
  private readonly regions = new Map<number, GrantRegion>();
  /** Regions of revoked grants per page number, newest last, until a new grant covers their bytes. */
  private readonly retired = new Map<number, RetiredPart[]>();
  /** `ctx/dir/seq` of a buffer grant -> the grant's region. */
  private readonly bufferBySeq = new Map<string, GrantRegion>();
  /** Buffer grants with a failed payload transfer. */
  private readonly failedBuffers = new Map<number, bigint>();
  /** TX frames with a failed payload read, newest last (bounded). */
  private readonly failedTxFrames: FailedTxFrame[] = [];

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
    const r = grantRegion(g);
    forEachPagePart(addr, len, (pfn, lo, hi) => {
      const old = this.retired.get(pfn);
      if (!old) return;
      const kept = old.filter((x) => x.lo >= hi || x.hi <= lo);
      if (kept.length > 0) this.retired.set(pfn, kept);
      else this.retired.delete(pfn);
    });
    if (r) {
      this.regions.set(g.id, r);
      if (r.seq !== undefined) this.bufferBySeq.set(bufferKey(r.ctx ?? -1, r.kind, r.seq), r);
    }
    forEachPagePart(addr, len, (pfn, lo, hi) => {
      const part: PageGrant = { grant: g, region: r, lo, hi };
      const list = this.byPage.get(pfn);
      if (list) list.push(part);
      else this.byPage.set(pfn, [part]);
    });
    return g.id;
  }

  revoke(id: number): void {
    const g = this.byId.get(id);
    if (!g) throw new Error(`DMA grant ${id} is not active (revoked twice, or never granted)`);
    this.byId.delete(id);
    const r = this.regions.get(id);
    if (r) {
      this.regions.delete(id);
      if (r.seq !== undefined) {
        const k = bufferKey(r.ctx ?? -1, r.kind, r.seq);
        if (this.bufferBySeq.get(k) === r) this.bufferBySeq.delete(k);
      }
    }
    this.failedBuffers.delete(id);
    forEachPagePart(g.addr, g.len, (pfn, lo, hi) => {
      if (r) {
        const list = this.retired.get(pfn) ?? [];
        list.push({ region: r, access: g.access, lo, hi });
        if (list.length > 64) list.shift();
        this.retired.set(pfn, list);
      }
      const parts = this.byPage.get(pfn);
      if (!parts) return;
      const i = parts.findIndex((p) => p.grant === g);
      if (i >= 0) parts.splice(i, 1);
      if (parts.length === 0) this.byPage.delete(pfn);
    });
  }

  grants(): DmaGrant[] {
    return [...this.byId.values()];
  }

  /** The page numbers some live grant covers (each once; live, read only: for checks after every VMM call). */
  grantedPages(): Iterable<number> {
    return this.byPage.keys();
  }

  /**
   * The granted regions overlapping [addr, addr+len) whose grant allows `direction` (every
   * direction when omitted): what the fault injector classifies transfers by. With `recent`, when no
   * grant covers those bytes, the regions of the last revoked grants that did (a buffer whose
   * completion the VMM already took is still that context's buffer for an access that comes late,
   * as the reference model's local deliveries do).
   */
  regionsAt(addr: bigint, len: number, direction?: DmaDirection, options?: { recent?: boolean }): GrantRegion[] {
    const out: GrantRegion[] = [];
    forEachPagePart(addr, len, (pfn, lo, hi) => {
      const parts = this.byPage.get(pfn);
      if (parts === undefined) return;
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i];
        if (direction && !allows(p.grant.access, direction)) continue;
        if (p.lo >= hi || p.hi <= lo) continue;
        if (p.region && !out.includes(p.region)) out.push(p.region);
      }
    });
    if (out.length > 0 || !options?.recent) return out;
    forEachPagePart(addr, len, (pfn, lo, hi) => {
      const list = this.retired.get(pfn);
      if (list === undefined) return;
      for (let i = list.length - 1; i >= 0; i--) {
        const x = list[i];
        if (direction && !allows(x.access, direction)) continue;
        if (x.lo >= hi || x.hi <= lo || out.includes(x.region)) continue;
        out.push(x.region);
      }
    });
    return out;
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
    if (this.keepLog || this.listeners.length > 0) this.record({ access: n, direction: 'read', addr, data });
    return data;
  }

  dmaWrite(addr: bigint, bytes: Uint8Array, byteMask?: ArrayLike<boolean>): void {
    checkRange(addr, bytes.length, 'DMA write');
    const n = ++this.count;
    this.check(n, 'write', addr, bytes.length, byteMask);
    this.memory.write(addr, bytes, byteMask);
    if (this.keepLog || this.listeners.length > 0) {
      this.record({ access: n, direction: 'write', addr, data: bytes.slice(), byteMask: byteMask ? Array.from(byteMask) : undefined });
    }
    if (this.failedBuffers.size > 0) this.checkWriteBack(addr, bytes.length);
  }

  dmaFailed(direction: DmaDirection, addr: bigint, len: number, byteMask?: ArrayLike<boolean>): void {
    checkRange(addr, len, `failed DMA ${direction}`);
    const n = ++this.count;
    this.failedAccesses++;
    this.check(n, direction, addr, len, byteMask);
    for (const r of this.regionsAt(addr, len, direction)) {
      if (r.kind !== 'tx-buffer' && r.kind !== 'rx-buffer') continue;
      if (!this.failedBuffers.has(r.grant)) this.failedBuffers.set(r.grant, addr);
      if (r.kind === 'tx-buffer' && r.ctx !== null && r.seq !== undefined) this.noteFailedTxRead(r, addr, len);
    }
  }

  /**
   * A frame the NIC put on the wire; `corrupted`: it ended with `tuser` high, so the MAC spoils its
   * FCS and no receiver takes it. A good frame built from a failed payload read is a false success.
   */
  checkWireFrame(data: Uint8Array, corrupted = false): void {
    if (corrupted || this.failedTxFrames.length === 0) return;
    const tag = readTag(data);
    for (const f of this.failedTxFrames) {
      if (f.reported) continue;
      const orig = readTag(f.original);
      const sameTag = tag !== undefined && orig !== undefined && tag.ctx === orig.ctx && tag.seq === orig.seq;
      if (!sameTag && !equalBytes(data, poisoned(f))) continue;
      f.reported = true;
      this.falseSuccesses.push({
        ctx: f.ctx,
        direction: 'tx',
        seqs: f.seqs,
        failedAt: f.failedAt,
        how: 'good-frame-on-wire',
        message:
          `ctx ${f.ctx} TX frame (descriptor seq ${f.seqs.join(', ')}) whose payload read at ${formatAddr(f.failedAt)} failed ` +
          `left on the wire as a good frame (${data.length} bytes, tuser low)`,
      });
    }
  }

  /** Throws an error listing every violation and false success (the first 20 in full). */
  assertClean(): void {
    const bad = this.violations.length + this.falseSuccesses.length;
    if (bad === 0) return;
    const all = [...this.violations.map((v) => v.message), ...this.falseSuccesses.map((f) => `false success: ${f.message}`)];
    const shown = all.slice(0, 20).map((m) => `  ${m}`);
    const more = all.length > 20 ? [`  ... and ${all.length - 20} more`] : [];
    const what = [
      this.violations.length ? `${this.violations.length} access(es) outside what the VMM granted` : '',
      this.falseSuccesses.length ? `${this.falseSuccesses.length} failed transfer(s) reported as success` : '',
    ].filter((x) => x !== '');
    throw new Error(`DMA monitor: ${what.join(', ')}:\n${[...shown, ...more].join('\n')}`);
  }

  /** Removes and returns the recorded false successes (for tests that provoke them on purpose). */
  takeFalseSuccesses(): FalseSuccess[] {
    return this.falseSuccesses.splice(0);
  }

  /** The descriptor ring slot of context `ctx` a write at `addr` falls in, with the ring's region. */
  private ringSlot(addr: bigint, len: number): { ring: GrantRegion; slot: bigint } | undefined {
    for (const r of this.regionsAt(addr, len, 'write')) {
      if (r.kind !== 'tx-ring' && r.kind !== 'rx-ring') continue;
      const slot = r.addr + ((addr - r.addr) / BigInt(DESCRIPTOR.bytes)) * BigInt(DESCRIPTOR.bytes);
      return { ring: r, slot };
    }
    return undefined;
  }

  /** The seqs of the frame holding the descriptor at `slot` (walks the ring by EOP flags, both ways). */
  private frameSeqs(ring: GrantRegion, slot: bigint): number[] {
    const size = BigInt(Math.max(1, Math.floor(ring.len / DESCRIPTOR.bytes)));
    const at = (i: bigint) => ring.addr + (((i % size) + size) % size) * BigInt(DESCRIPTOR.bytes);
    const idx = (slot - ring.addr) / BigInt(DESCRIPTOR.bytes);
    const read = (i: bigint) => decodeDescriptor(this.memory.read(at(i), DESCRIPTOR.bytes));
    const here = read(idx);
    if (ring.kind === 'rx-ring') return [here.seq];
    // Neighbours belong to the frame only when their seqs run on and the VMM granted their buffers
    // (a stale lap's, a stamped or a zeroed slot's do not).
    const issued = (seq: number) => this.bufferBySeq.has(bufferKey(ring.ctx ?? -1, 'tx-buffer', seq));
    const follows = (a: number, b: number) => (b === a + 1 || (b === 0 && a !== 0)) && issued(a) && issued(b);
    let first = idx;
    let seq = here.seq;
    for (let k = 1n; k < size; k++) {
      const d = read(idx - k);
      if (d.flags & DESC_FLAGS.EOP || !follows(d.seq, seq)) break;
      first = idx - k;
      seq = d.seq;
    }
    const seqs: number[] = [];
    for (let i = first; i < first + size; i++) {
      const d = read(i);
      if (seqs.length > 0 && !follows(seqs[seqs.length - 1], d.seq)) break;
      seqs.push(d.seq);
      if (d.flags & DESC_FLAGS.EOP) break;
    }
    return seqs;
  }

  /** A write into a ring: a DONE without ERR over a descriptor whose payload transfer failed is a false success. */
  private checkWriteBack(addr: bigint, len: number): void {
    const hit = this.ringSlot(addr, len);
    if (!hit || hit.ring.ctx === null) return;
    const d = decodeDescriptor(this.memory.read(hit.slot, DESCRIPTOR.bytes));
    if ((d.flags & DESC_FLAGS.DONE) === 0 || (d.flags & DESC_FLAGS.ERR) !== 0) return;
    const ctx = hit.ring.ctx;
    const dir = hit.ring.kind === 'tx-ring' ? 'tx' : 'rx';
    const seqs = this.frameSeqs(hit.ring, hit.slot);
    for (const seq of seqs) {
      const b = this.bufferBySeq.get(bufferKey(ctx, `${dir}-buffer`, seq));
      const failedAt = b ? this.failedBuffers.get(b.grant) : undefined;
      if (!b || failedAt === undefined) continue;
      this.failedBuffers.delete(b.grant);
      this.falseSuccesses.push({
        ctx,
        direction: dir,
        seqs,
        failedAt,
        how: 'done-without-err',
        message:
          `ctx ${ctx} ${dir.toUpperCase()} descriptor seq ${d.seq} (slot ${formatAddr(hit.slot)}) written back with DONE and ` +
          `without ERR although the payload ${dir === 'tx' ? 'read' : 'write'} of seq ${seq} at ${formatAddr(failedAt)} failed`,
      });
      return;
    }
  }

  /** Remembers what the frame of a failed TX buffer read held, and which of its bytes the bus failed. */
  private noteFailedTxRead(buffer: GrantRegion, addr: bigint, len: number): void {
    const ring = [...this.regions.values()].find((r) => r.kind === 'tx-ring' && r.ctx === buffer.ctx);
    const ctx = buffer.ctx as number;
    const seq = buffer.seq as number;
    let f = this.failedTxFrames.find((x) => x.ctx === ctx && x.seqs.includes(seq));
    if (!f) {
      let seqs = [seq];
      if (ring) {
        const size = Math.max(1, Math.floor(ring.len / DESCRIPTOR.bytes));
        seqs = this.frameSeqs(ring, ring.addr + BigInt((seq % size) * DESCRIPTOR.bytes));
      }
      const parts = seqs.map((s) => this.bufferBySeq.get(bufferKey(ctx, 'tx-buffer', s)));
      const original = new Uint8Array(parts.reduce((n, p) => n + (p?.len ?? 0), 0));
      let at = 0;
      for (const p of parts) {
        if (!p) continue;
        original.set(this.memory.read(p.addr, p.len), at);
        at += p.len;
      }
      f = { ctx, seqs, original, holes: [], failedAt: addr, reported: false };
      this.failedTxFrames.push(f);
      if (this.failedTxFrames.length > 64) this.failedTxFrames.shift();
    }
    // The failed beat's bytes, in frame coordinates.
    let offset = 0;
    for (const s of f.seqs) {
      const p = this.bufferBySeq.get(bufferKey(ctx, 'tx-buffer', s));
      if (!p) continue;
      const lo = addr > p.addr ? addr : p.addr;
      const end = addr + BigInt(len);
      const pend = p.addr + BigInt(p.len);
      const hi = end < pend ? end : pend;
      if (lo < hi) f.holes.push([offset + Number(lo - p.addr), offset + Number(hi - p.addr)]);
      offset += p.len;
    }
  }

  /** Removes and returns the recorded violations (for tests that provoke them on purpose). */
  takeViolations(): DmaViolation[] {
    return this.violations.splice(0);
  }

  private record(a: DmaAccess): void {
    if (this.keepLog) this.log.push(a);
    for (const fn of this.listeners) fn(a);
  }

  /** True when one grant allowing `dir` holds all of [addr, addr+len) (the usual case: nothing to judge byte by byte). */
  private coveredByOne(dir: DmaDirection, addr: bigint, len: number): boolean {
    if (len === 0) return true;
    const lo = pageOffset(addr);
    const hi = lo + len;
    if (hi > PAGE_SIZE) return false;
    const parts = this.byPage.get(pfnNumberOf(addr));
    if (!parts) return false;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (allows(p.grant.access, dir) && p.lo <= lo && p.hi >= hi) return true;
    }
    return false;
  }

  private check(n: number, dir: DmaDirection, addr: bigint, len: number, mask?: ArrayLike<boolean>): void {
    // A granted byte is allowed whatever its word and mask: one grant over the whole access clears it.
    if (this.coveredByOne(dir, addr, len)) return;
    // Reads are judged on whole aligned bus words (see readGranule); writes byte by byte.
    const word = dir === 'read' ? this.readGranule : 1;
    for (const s of pageSpans(addr, len)) {
      const wordLo = s.offset - (s.offset % word);
      const wordHi = Math.min(4096, Math.ceil((s.offset + s.len) / word) * word);
      const words = new Uint8Array(wordHi - wordLo);
      for (const p of this.byPage.get(Number(s.pfn)) ?? []) {
        if (!allows(p.grant.access, dir)) continue;
        const lo = Math.max(0, p.lo - wordLo);
        const hi = Math.min(words.length, p.hi - wordLo);
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
    const others = (this.byPage.get(Number(pfn)) ?? []).filter((p) => !allows(p.grant.access, dir)).map((p) => p.grant.purpose);
    const why = others.length > 0 ? ` (granted only for ${others.map((p) => `'${p}'`).join(', ')} in another direction)` : '';
    const message =
      `access #${n}: DMA ${dir} of ${len} byte(s) at ${formatAddr(addr)} touches ungranted bytes ${ranges} ` +
      `in page ${formatAddr(pageBase(pfn))} (${info.type}, owned by ${formatOwner(info.owner)})${why}`;
    this.violations.push({ access: n, direction: dir, addr, len, bytes, pfn, owner: info.owner, type: info.type, message });
  }
}
