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

export class WriteLog {
  private values = new Map<number, number[]>();

  constructor(private readonly ignored: (addr: number) => boolean = () => false) {}

  record(e: DmaWriteEvent): void {
    const base = Number(e.addr);
    for (let i = 0; i < e.bytes.length; i++) {
      if (e.mask && !e.mask[i]) continue;
      const addr = base + i;
      if (this.ignored(addr)) continue;
      // A value equal to the byte's previous one changes nothing, wherever it was recorded.
      const list = this.values.get(addr);
      const prev = list ? list[list.length - 1] : e.before[i];
      if (e.bytes[i] === prev) continue;
      if (list) list.push(e.bytes[i]);
      else this.values.set(addr, [e.bytes[i]]);
    }
  }

  get size(): number {
    return this.values.size;
  }

  /** The window's writes; the log starts a new window. */
  take(): Map<number, number[]> {
    const v = this.values;
    this.values = new Map();
    return v;
  }
}

function show(vs: number[] | undefined): string {
  return vs === undefined ? '-' : vs.map((v) => v.toString(16).padStart(2, '0')).join('>');
}

/** Addresses whose histories differ, merged into ranges of neighbouring bytes. */
export function diffWrites(rtl: Map<number, number[]>, model: Map<number, number[]>): ByteRangeDiff[] {
  const addrs = new Set<number>([...rtl.keys(), ...model.keys()]);
  const bad = [...addrs]
    .filter((a) => {
      const r = rtl.get(a);
      const m = model.get(a);
      return r === undefined || m === undefined || r.length !== m.length || r.some((v, i) => v !== m[i]);
    })
    .sort((a, b) => a - b);
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
