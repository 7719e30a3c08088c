/**
 * Where the logic goes, by the TypeScript line that made it: every mapped cell of a flattened ECP5
 * netlist (Yosys JSON after `synth_ecp5`) counted against the signal it drives, and that signal
 * against the source line the emitted Verilog names for it (`sourceMap`). yosys names the nets it
 * maps after a signal of the logic they were made from (`<signal>_LUT4_Z...`), often the register
 * or output they feed, so a row is where logic ends up rather than every line that made it: a read
 * mux counts for the register it is read into. Cells whose nets kept no usable name are counted
 * under their signal's name or `(unnamed)`; the report says what share had no line.
 */
import { signalOf } from './levels.js';

export interface AreaRow {
  /** `hdl/nic/tx/check.ts:250`, or the signal's name where no line is known. */
  where: string;
  /** The signals counted against this row (at most a few, the largest first). */
  signals: string[];
  lut4: number;
  carry: number;
  lutRam: number;
  ff: number;
  /** LUT4 + 2 x CCU2C + 4 x TRELLIS_DPR16X4, as docs/fpga.md counts them. */
  sites: number;
}

export interface AreaBySource {
  /** By source line, largest first. */
  lines: AreaRow[];
  /** By source file (the part of `where` before the line number). */
  files: AreaRow[];
  /** Totals, and how many LUT sites had no line to go to. */
  total: { sites: number; ff: number; unattributed: number };
}

interface JsonCell {
  type: string;
  port_directions: Record<string, 'input' | 'output' | 'inout'>;
  connections: Record<string, (number | string)[]>;
}

interface JsonModule {
  cells: Record<string, JsonCell>;
  netnames: Record<string, { hide_name: number; bits: (number | string)[] }>;
}

const weights: Record<string, { key: 'lut4' | 'carry' | 'lutRam' | 'ff'; sites: number }> = {
  LUT4: { key: 'lut4', sites: 1 },
  CCU2C: { key: 'carry', sites: 2 },
  TRELLIS_DPR16X4: { key: 'lutRam', sites: 4 },
  TRELLIS_FF: { key: 'ff', sites: 0 },
};

/** The output port whose net names the cell: a LUT's Z, a carry cell's S0, a LUT RAM's DO0, a flip-flop's Q. */
const namingPort: Record<string, string[]> = {
  LUT4: ['Z'],
  CCU2C: ['S0', 'S1', 'COUT'],
  TRELLIS_DPR16X4: ['DO0', 'DO1', 'DO2', 'DO3'],
  TRELLIS_FF: ['Q'],
};

/** Names of each net bit, public names first (a net has several names when yosys merged wires). */
function bitNames(m: JsonModule): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const [name, n] of Object.entries(m.netnames)) {
    n.bits.forEach((b, i) => {
      if (typeof b !== 'number') return;
      const label = n.bits.length === 1 ? name : `${name}[${i}]`;
      const list = out.get(b) ?? [];
      if (n.hide_name) list.push(label);
      else list.unshift(label);
      out.set(b, list);
    });
  }
  return out;
}

function emptyRow(where: string): AreaRow {
  return { where, signals: [], lut4: 0, carry: 0, lutRam: 0, ff: 0, sites: 0 };
}

export function areaBySource(netlistJson: string, top: string, src: (net: string) => string | undefined): AreaBySource {
  const netlist = JSON.parse(netlistJson) as { modules: Record<string, JsonModule> };
  const m = netlist.modules[top];
  if (!m) throw new Error(`areaBySource: no module '${top}' in the netlist; it has ${Object.keys(netlist.modules).join(', ')}`);
  const names = bitNames(m);
  const rows = new Map<string, AreaRow & { bySignal: Map<string, number> }>();
  let unattributed = 0;
  let sites = 0;
  let ff = 0;
  for (const [cellName, cell] of Object.entries(m.cells)) {
    const w = weights[cell.type];
    if (!w) continue;
    // The first name of the cell's outputs that maps to a line; else its first signal name.
    let where: string | undefined;
    let signal: string | undefined;
    for (const port of namingPort[cell.type] ?? []) {
      for (const b of cell.connections[port] ?? []) {
        if (typeof b !== 'number') continue;
        for (const n of names.get(b) ?? []) {
          const s = signalOf(n);
          const plain = s.replace(/~$/, '').replace(/\[\d+\]$/, '');
          if (plain.startsWith('$')) continue;
          signal ??= plain;
          const line = src(plain);
          if (line) {
            where = line;
            signal = plain;
            break;
          }
        }
        if (where) break;
      }
      if (where) break;
    }
    // A LUT RAM's outputs are named after its slice (`u_tx.u_meta_q.mem.0.0_DO`); its cell, after
    // the memory (`u_tx.u_meta_q.mem.0.0`), which the Verilog declares on a line of its own.
    if (!where) {
      const memory = cellName.replace(/(\.\d+)+$/, '');
      const line = src(memory);
      if (line) {
        where = line;
        signal = memory;
      }
    }
    const key = where ?? (signal ? signal : '(unnamed)');
    if (!where) unattributed += w.sites;
    const row = rows.get(key) ?? { ...emptyRow(key), bySignal: new Map<string, number>() };
    row[w.key]++;
    row.sites += w.sites;
    if (signal) row.bySignal.set(signal, (row.bySignal.get(signal) ?? 0) + Math.max(w.sites, 1));
    rows.set(key, row);
    sites += w.sites;
    if (cell.type === 'TRELLIS_FF') ff++;
  }
  const finish = (r: AreaRow & { bySignal?: Map<string, number> }): AreaRow => {
    const { bySignal, ...rest } = r;
    const signals = bySignal
      ? [...bySignal]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([s]) => s)
      : r.signals;
    return { ...rest, signals };
  };
  const order = (a: AreaRow, b: AreaRow): number => b.sites - a.sites || b.ff - a.ff || a.where.localeCompare(b.where);
  const lines = [...rows.values()].map(finish).sort(order);
  const files = new Map<string, AreaRow>();
  for (const r of lines) {
    const file = /^(.*):\d+$/.exec(r.where)?.[1] ?? '(no line)';
    const f = files.get(file) ?? emptyRow(file);
    f.lut4 += r.lut4;
    f.carry += r.carry;
    f.lutRam += r.lutRam;
    f.ff += r.ff;
    f.sites += r.sites;
    files.set(file, f);
  }
  return { lines, files: [...files.values()].sort(order), total: { sites, ff, unattributed } };
}

/** The report's table: the largest rows, as text. */
export function formatAreaBySource(a: AreaBySource, rows = 25): string[] {
  const head = (r: AreaRow): string =>
    `  ${r.where.padEnd(44)} ${String(r.sites).padStart(6)} ${String(r.lut4).padStart(6)} ${String(r.carry).padStart(5)} ${String(r.lutRam).padStart(6)} ${String(r.ff).padStart(6)}`;
  const pct = a.total.sites ? ((100 * a.total.unattributed) / a.total.sites).toFixed(1) : '0';
  const cols = `  ${''.padEnd(44)} ${'sites'.padStart(6)} ${'LUT4'.padStart(6)} ${'carry'.padStart(5)} ${'LUTRAM'.padStart(6)} ${'FF'.padStart(6)}`;
  return [
    `Area by source (flattened netlist; each cell counted against the signal it drives; ${pct}% of LUT sites without a line)`,
    '  by file:',
    cols,
    ...a.files.slice(0, rows).map(head),
    `  by line (the ${rows} largest):`,
    cols,
    ...a.lines.slice(0, rows).map((r) => `${head(r)}  ${r.signals.join(', ')}`),
  ];
}
