/**
 * The hypervisor's copy of the NIC's receive MAC table (two-way cuckoo hash in BAR1): it places and
 * removes entries and says which BAR1 words to write. The NIC only looks entries up.
 */

import type { MacTableGeometry } from '../../hdl/registers/map.js';
import { crc32 } from '../ethernet/crc32.js';
import { type MacAddress, macToBytes } from '../ethernet/mac.js';

/**
 * Index of `mac` in `way`: bits of the CRC-32 of its six bytes, the low bits for way 0 and the bits
 * from 16 up for way 1, so the two ways hash independently (a cheap XOR network in hardware).
 * The RTL's lookup must compute the same function.
 */
export function macTableIndex(way: number, mac: MacAddress, g: MacTableGeometry): number {
  if (g.indexBits > 16) throw new Error(`MAC table index of ${g.indexBits} bits: at most 16 come from each half of the CRC`);
  const h = crc32(macToBytes(mac));
  return Math.floor(h / 2 ** (16 * way)) % 2 ** g.indexBits;
}

export interface MacTableSlot {
  way: number;
  index: number;
}

export interface MacTableEntry {
  mac: MacAddress;
  ctx: number;
}

/** One entry to (re)write: `entry` undefined means invalidate. */
export interface MacTableWrite extends MacTableSlot {
  entry: MacTableEntry | undefined;
}

export type MacHash = (way: number, mac: MacAddress, g: MacTableGeometry) => number;

export class MacTable {
  private readonly slots: (MacTableEntry | undefined)[][];
  private readonly where = new Map<MacAddress, MacTableSlot>();

  constructor(
    readonly geometry: MacTableGeometry,
    private readonly hash: MacHash = macTableIndex,
    /** Evictions tried before giving up on an insertion. */
    private readonly maxKicks = 64,
  ) {
    this.slots = Array.from({ length: geometry.ways }, () => new Array<MacTableEntry | undefined>(geometry.entriesPerWay));
  }

  lookup(mac: MacAddress): number | undefined {
    const s = this.where.get(mac);
    return s ? this.slots[s.way][s.index]?.ctx : undefined;
  }

  /** Places `mac -> ctx`; returns the entries to write, or undefined (table unchanged) when it is too full. */
  insert(mac: MacAddress, ctx: number): MacTableWrite[] | undefined {
    if (this.where.has(mac)) throw new Error(`MAC ${mac.toString(16)} is already in the table (context ${this.lookup(mac)})`);
    const saved = this.slots.map((w) => w.slice());
    const savedWhere = new Map(this.where);
    const touched = new Map<string, MacTableSlot>();
    let cur: MacTableEntry = { mac, ctx };
    let way = 0;
    for (let kick = 0; kick <= this.maxKicks; kick++) {
      for (let w = 0; w < this.geometry.ways; w++) {
        const index = this.hash(w, cur.mac, this.geometry);
        if (!this.slots[w][index]) {
          this.put(w, index, cur, touched);
          return this.writesFor(touched);
        }
      }
      // Every candidate is full: evict from one way, alternating, and re-place the victim.
      const index = this.hash(way, cur.mac, this.geometry);
      const victim = this.slots[way][index]!;
      this.put(way, index, cur, touched);
      cur = victim;
      way = (way + 1) % this.geometry.ways;
    }
    for (let w = 0; w < saved.length; w++) this.slots[w] = saved[w];
    this.where.clear();
    for (const [k, v] of savedWhere) this.where.set(k, v);
    return undefined;
  }

  /** Removes `mac`; returns the entry to invalidate, or undefined when it was absent. */
  remove(mac: MacAddress): MacTableWrite | undefined {
    const s = this.where.get(mac);
    if (!s) return undefined;
    this.slots[s.way][s.index] = undefined;
    this.where.delete(mac);
    return { ...s, entry: undefined };
  }

  private put(way: number, index: number, e: MacTableEntry, touched: Map<string, MacTableSlot>): void {
    this.slots[way][index] = e;
    this.where.set(e.mac, { way, index });
    touched.set(`${way}:${index}`, { way, index });
  }

  /**
   * Writes for every touched slot in reverse order of placement: each evicted entry lands in its new
   * slot before its old slot is overwritten, so a lookup never misses it.
   */
  private writesFor(touched: Map<string, MacTableSlot>): MacTableWrite[] {
    return [...touched.values()].reverse().map((s) => ({ ...s, entry: this.slots[s.way][s.index] }));
  }
}
