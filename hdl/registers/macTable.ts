/**
 * The receive MAC lookup table: its hash functions and a model of the table that the hypervisor (VMM
 * model) uses to place entries. The RTL hash (macHashRtl.ts) is built from the same tap lists, so the
 * hypervisor and the hardware always agree on where a MAC lives.
 *
 * Why this design: the spec asks for a lookup that scales to 1024 contexts without a CAM of flops. A
 * two-choice (cuckoo) table does it with one block-RAM read per way per frame, in a fixed number of
 * cycles: the RX path reads slot h0(mac) of way 0 and slot h1(mac) of way 1 at once and compares both.
 * All the search for a free slot happens in software, when the hypervisor inserts a MAC, and moves are
 * ordered so that every MAC stays findable throughout. With 4 slots per context (25% load) insertion
 * practically never fails.
 *
 * The hashes are XOR folds (cheap: one XOR tree per index bit). Way 0 folds the 48-bit MAC into
 * `indexBits`-bit chunks; way 1 also rotates chunk i by i bits, so two MACs colliding in way 0 rarely
 * collide in way 1. MACs that differ only within one chunk (sequentially assigned MACs) never collide
 * in either way.
 *
 * MAC numbering: a MAC aa:bb:cc:dd:ee:ff is the 48-bit number 0xaabbccddeeff (first octet on the wire
 * is the most significant), so MAC_HI holds 0xaabb and MAC_LO 0xccddeeff.
 */
import type { NicParams } from '../params.js';
import { MAC_TABLE_HI, type MacTableGeometry, macTableGeometry } from './map.js';

export const MAC_BITS = 48;
const TWO32 = 2 ** 32;

/**
 * For each index bit j of way `way`, the MAC bits XORed into it. Way 0: MAC bit i feeds index bit
 * i mod k. Way 1: MAC bit i (in chunk c = floor(i/k)) feeds index bit (i + c) mod k.
 */
export function macHashTaps(indexBits: number, way: number): number[][] {
  if (!Number.isInteger(indexBits) || indexBits < 1 || indexBits > MAC_BITS)
    throw new RangeError(`indexBits ${indexBits} must be 1..${MAC_BITS}`);
  if (way !== 0 && way !== 1) throw new RangeError(`MAC table way ${way}: ways are 0 and 1`);
  const taps: number[][] = Array.from({ length: indexBits }, () => []);
  for (let i = 0; i < MAC_BITS; i++) {
    const chunk = Math.floor(i / indexBits);
    const j = (i + (way === 1 ? chunk : 0)) % indexBits;
    taps[j].push(i);
  }
  return taps;
}

function checkMac(mac: number): void {
  if (!Number.isInteger(mac) || mac < 0 || mac >= 2 ** MAC_BITS) throw new RangeError(`MAC ${mac} is not a 48-bit value`);
}

function parity32(x: number): number {
  x ^= x >>> 16;
  x ^= x >>> 8;
  x ^= x >>> 4;
  x ^= x >>> 2;
  x ^= x >>> 1;
  return x & 1;
}

/** Per index bit, the taps as masks over the MAC's low 32 and high 16 bits (cached: lookups are hot in the models). */
const tapMasks = new Map<string, { lo: number; hi: number }[]>();
function masksFor(indexBits: number, way: number): { lo: number; hi: number }[] {
  const key = `${indexBits}/${way}`;
  let masks = tapMasks.get(key);
  if (!masks) {
    masks = macHashTaps(indexBits, way).map((taps) => ({
      lo: taps.filter((i) => i < 32).reduce((m, i) => (m | (1 << i)) >>> 0, 0),
      hi: taps.filter((i) => i >= 32).reduce((m, i) => (m | (1 << (i - 32))) >>> 0, 0),
    }));
    tapMasks.set(key, masks);
  }
  return masks;
}

/** The slot of `mac` in `way` for a table with 2^indexBits entries per way. */
export function macHash(mac: number, way: number, indexBits: number): number {
  checkMac(mac);
  const lo = (mac % TWO32) >>> 0;
  const hi = Math.floor(mac / TWO32);
  let h = 0;
  masksFor(indexBits, way).forEach((m, j) => {
    h |= (parity32(lo & m.lo) ^ parity32(hi & m.hi)) << j;
  });
  return h >>> 0;
}

/** `aa:bb:cc:dd:ee:ff` (or with `-`) to the 48-bit number 0xaabbccddeeff. */
export function parseMac(text: string): number {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text.trim());
  if (!m) throw new RangeError(`'${text}' is not a MAC address (write it as aa:bb:cc:dd:ee:ff)`);
  return m.slice(1).reduce((acc, h) => acc * 256 + Number.parseInt(h, 16), 0);
}

export function formatMac(mac: number): string {
  checkMac(mac);
  const out: string[] = [];
  for (let i = 5; i >= 0; i--) out.push((Math.floor(mac / 2 ** (8 * i)) % 256).toString(16).padStart(2, '0'));
  return out.join(':');
}

/** The MAC at `offset` in a frame (destination at 0, source at 6), as a 48-bit number. */
export function macFromBytes(bytes: Uint8Array, offset = 0): number {
  if (offset + 6 > bytes.length) throw new RangeError(`a MAC needs 6 bytes at offset ${offset}, the buffer has ${bytes.length}`);
  let mac = 0;
  for (let i = 0; i < 6; i++) mac = mac * 256 + bytes[offset + i];
  return mac;
}

/** MAC_LO / MAC_HI register values (also ENTRY_LO and the MAC field of ENTRY_HI). */
export function macWords(mac: number): { lo: number; hi: number } {
  checkMac(mac);
  return { lo: (mac % TWO32) >>> 0, hi: Math.floor(mac / TWO32) };
}

export function isMulticastMac(mac: number): boolean {
  checkMac(mac);
  return Math.floor(mac / 2 ** 40) % 2 === 1;
}

export const BROADCAST_MAC = 2 ** MAC_BITS - 1;

export interface MacTableEntry {
  readonly valid: boolean;
  readonly ctx: number;
  readonly mac: number;
}

export const EMPTY_ENTRY: MacTableEntry = Object.freeze({ valid: false, ctx: 0, mac: 0 });

/** ENTRY_LO / ENTRY_HI words of an entry. */
export function encodeMacEntry(e: MacTableEntry): { lo: number; hi: number } {
  const { lo, hi } = macWords(e.mac);
  if (!Number.isInteger(e.ctx) || e.ctx < 0 || e.ctx >= 2 ** MAC_TABLE_HI.CTX.width)
    throw new RangeError(`context ${e.ctx} does not fit the CTX field`);
  return { lo, hi: (hi | (e.ctx << MAC_TABLE_HI.CTX.lsb) | (e.valid ? MAC_TABLE_HI.VALID.mask : 0)) >>> 0 };
}

export function decodeMacEntry(lo: number, hi: number): MacTableEntry {
  const macHi = hi & MAC_TABLE_HI.MAC.mask;
  return {
    valid: (hi & MAC_TABLE_HI.VALID.mask) !== 0,
    ctx: (hi >>> MAC_TABLE_HI.CTX.lsb) & (2 ** MAC_TABLE_HI.CTX.width - 1),
    mac: macHi * TWO32 + (lo >>> 0),
  };
}

/** One entry write the hypervisor makes: ENTRY_LO, then ENTRY_HI (which commits both). */
export interface MacTableWrite {
  readonly way: number;
  readonly index: number;
  readonly entry: MacTableEntry;
}

/** A MAC could not be placed, or was placed twice. */
export class MacTableError extends Error {
  override name = 'MacTableError';
}

/**
 * The hypervisor's copy of the table. `insert` and `remove` return the entry writes to perform, in
 * order; applying them one at a time keeps every present MAC findable (a moved MAC is briefly in both
 * of its slots, with the same context, which the RX path resolves to way 0).
 */
export class MacTable {
  readonly geometry: MacTableGeometry;
  private readonly slots: MacTableEntry[][];

  constructor(readonly params: NicParams) {
    this.geometry = macTableGeometry(params);
    this.slots = Array.from({ length: this.geometry.ways }, () => Array.from({ length: this.geometry.entriesPerWay }, () => EMPTY_ENTRY));
  }

  slotOf(mac: number, way: number): number {
    return macHash(mac, way, this.geometry.indexBits);
  }

  entry(way: number, index: number): MacTableEntry {
    return this.slots[way][index];
  }

  /** The context of `mac`, as the RX path finds it (way 0 first), or undefined. */
  lookup(mac: number): number | undefined {
    for (let way = 0; way < this.geometry.ways; way++) {
      const e = this.slots[way][this.slotOf(mac, way)];
      if (e.valid && e.mac === mac) return e.ctx;
    }
    return undefined;
  }

  private checkCtx(ctx: number): void {
    if (!Number.isInteger(ctx) || ctx < 0 || ctx >= this.params.N_CTX) {
      throw new RangeError(`context ${ctx} does not exist: contexts are 0..${this.params.N_CTX - 1}`);
    }
  }

  /**
   * Places `mac` for `ctx`. Re-inserting a MAC for the same context changes nothing; a MAC already held
   * by another context, broadcast or multicast MACs are refused (they are matched by CTRL, not the table).
   */
  insert(mac: number, ctx: number): MacTableWrite[] {
    checkMac(mac);
    this.checkCtx(ctx);
    if (isMulticastMac(mac)) throw new MacTableError(`${formatMac(mac)} is a multicast/broadcast MAC; only unicast MACs go in the table`);
    const owner = this.lookup(mac);
    if (owner === ctx) return [];
    if (owner !== undefined) throw new MacTableError(`${formatMac(mac)} already belongs to context ${owner}`);
    const path = this.findPath(mac);
    if (!path)
      throw new MacTableError(
        `no free slot for ${formatMac(mac)}: remove unused MACs, the table holds ${this.geometry.entriesPerWay * this.geometry.ways} entries`,
      );
    // path[0] is the new MAC's slot; each later slot receives the entry evicted from the slot before it.
    const writes: MacTableWrite[] = [];
    for (let k = path.length - 1; k >= 1; k--) {
      const from = path[k - 1];
      writes.push(this.applyWrite({ way: path[k].way, index: path[k].index, entry: this.slots[from.way][from.index] }));
    }
    writes.push(this.applyWrite({ way: path[0].way, index: path[0].index, entry: { valid: true, ctx, mac } }));
    return writes;
  }

  /** Removes `mac`; returns the writes (none when it was not present). */
  remove(mac: number): MacTableWrite[] {
    checkMac(mac);
    const writes: MacTableWrite[] = [];
    for (let way = 0; way < this.geometry.ways; way++) {
      const index = this.slotOf(mac, way);
      const e = this.slots[way][index];
      if (e.valid && e.mac === mac) writes.push(this.applyWrite({ way, index, entry: EMPTY_ENTRY }));
    }
    return writes;
  }

  /** Removes every MAC of `ctx` (teardown, P-12). */
  removeContext(ctx: number): MacTableWrite[] {
    const macs = new Set<number>();
    for (const way of this.slots) for (const e of way) if (e.valid && e.ctx === ctx) macs.add(e.mac);
    return [...macs].flatMap((mac) => this.remove(mac));
  }

  /** Every valid entry, with its slot. */
  entries(): MacTableWrite[] {
    const out: MacTableWrite[] = [];
    this.slots.forEach((way, w) => {
      way.forEach((entry, index) => {
        if (entry.valid) out.push({ way: w, index, entry });
      });
    });
    return out;
  }

  /** Applies one entry write (as the hardware would on the ENTRY_HI commit); returns it. */
  applyWrite(w: MacTableWrite): MacTableWrite {
    if (
      !Number.isInteger(w.way) ||
      w.way < 0 ||
      w.way >= this.geometry.ways ||
      !Number.isInteger(w.index) ||
      w.index < 0 ||
      w.index >= this.geometry.entriesPerWay
    ) {
      throw new RangeError(`MAC table slot ${w.way}.${w.index} does not exist`);
    }
    this.slots[w.way][w.index] = w.entry;
    return w;
  }

  /**
   * Breadth-first search for the shortest chain of moves that frees a slot for `mac`: a list of slots
   * where the first takes the new MAC and each next one takes the entry evicted from the previous.
   */
  private findPath(mac: number): { way: number; index: number }[] | null {
    type Node = { way: number; index: number; prev: Node | null };
    const seen = new Set<string>();
    const queue: Node[] = [];
    for (let way = 0; way < this.geometry.ways; way++) {
      const n: Node = { way, index: this.slotOf(mac, way), prev: null };
      seen.add(`${n.way}:${n.index}`);
      queue.push(n);
    }
    for (let head = 0; head < queue.length; head++) {
      const n = queue[head];
      const e = this.slots[n.way][n.index];
      if (!e.valid) {
        const path: { way: number; index: number }[] = [];
        for (let x: Node | null = n; x; x = x.prev) path.unshift({ way: x.way, index: x.index });
        return path;
      }
      for (let way = 0; way < this.geometry.ways; way++) {
        if (way === n.way) continue;
        const next: Node = { way, index: this.slotOf(e.mac, way), prev: n };
        const key = `${next.way}:${next.index}`;
        if (!seen.has(key)) {
          seen.add(key);
          queue.push(next);
        }
      }
    }
    return null;
  }
}
