/**
 * The DMA writes of one NIC over a window, byte by byte: for each address, the values written, in
 * order. Writes that leave a byte as it was are left out, so two NICs that cut the same result into
 * different bursts and strobes (a one-byte flags write against a two-byte one) compare equal, while
 * any byte written with a different value, at a different place or in a different order does not.
 */
import type { DmaWriteEvent } from './dma-tap.js';

export interface ByteRangeDiff {
  addr: bigint;
  len: number;
  rtl: string;
  model: string;
}

/** One byte's values over a window: a single value (the usual case) or, once written again, the list. */
export type ByteHistory = number | number[];

export class WriteLog {
  private values = new Map<number, ByteHistory>();

  /** `ignored`: addresses [lo, hi) left out (the interrupt ring). */
  constructor(private readonly ignored: { lo: number; hi: number } | null = null) {}

  record(e: DmaWriteEvent): void {
    const base = Number(e.addr);
    const n = e.bytes.length;
    const lo = this.ignored?.lo ?? 0;
    const hi = this.ignored?.hi ?? 0;
    const skip = base < hi && base + n > lo;
    const values = this.values;
    for (let i = 0; i < n; i++) {
      if (e.mask && !e.mask[i]) continue;
      const addr = base + i;
      if (skip && addr >= lo && addr < hi) continue;
      const v = e.bytes[i];
      // A value equal to the byte's previous one changes nothing, wherever it was recorded.
      const h = values.get(addr);
      if (h === undefined) {
        if (v !== e.before[i]) values.set(addr, v);
      } else if (typeof h === 'number') {
        if (v !== h) values.set(addr, [h, v]);
      } else if (v !== h[h.length - 1]) h.push(v);
    }
  }

  get size(): number {
    return this.values.size;
  }

  /** The window's writes; the log starts a new window. */
  take(): Map<number, ByteHistory> {
    const v = this.values;
    this.values = new Map();
    return v;
  }
}

function sameHistory(r: ByteHistory | undefined, m: ByteHistory | undefined): boolean {
  if (r === undefined || m === undefined) return false;
  if (typeof r === 'number' || typeof m === 'number') return r === m;
  return r.length === m.length && r.every((v, i) => v === m[i]);
}

function show(h: ByteHistory | undefined): string {
  if (h === undefined) return '-';
  return (typeof h === 'number' ? [h] : h).map((v) => v.toString(16).padStart(2, '0')).join('>');
}

/** Addresses whose histories differ, merged into ranges of neighbouring bytes. */
export function diffWrites(rtl: Map<number, ByteHistory>, model: Map<number, ByteHistory>): ByteRangeDiff[] {
  const bad: number[] = [];
  for (const [a, r] of rtl) if (!sameHistory(r, model.get(a))) bad.push(a);
  for (const a of model.keys()) if (!rtl.has(a)) bad.push(a);
  bad.sort((a, b) => a - b);
  const out: ByteRangeDiff[] = [];
  for (const a of bad) {
    const last = out[out.length - 1];
    const r = show(rtl.get(a));
    const m = show(model.get(a));
    if (last && Number(last.addr) + last.len === a && last.len < 16) {
      last.len++;
      last.rtl += ` ${r}`;
      last.model += ` ${m}`;
    } else out.push({ addr: BigInt(a), len: 1, rtl: r, model: m });
  }
  return out;
}
