/**
 * The register map as the hover shows it: every register of hdl/registers/map.ts by name, with its
 * BAR and block, offset, access, reset value, lock rule and fields, read from the map itself (for the
 * default parameters; reset values and SEQ widths follow them).
 */
import { pathToFileURL } from 'node:url';
import type { RegisterMap, RegisterSpec } from '../hdl/registers/map.js';

export interface RegisterEntry {
  spec: RegisterSpec;
  /** `BAR0 page of context c`, `BAR1 global registers`, ... */
  block: string;
  /** How its address is formed: `c * 0x1000 + 0x010`. */
  address: string;
}

const hex = (n: number, digits = 1): string => `0x${n.toString(16).padStart(digits, '0')}`;
const bitRange = (lsb: number, width: number): string => (width === 1 ? `[${lsb}]` : `[${lsb + width - 1}:${lsb}]`);

const lockRules: Record<string, string> = {
  'ctx-enabled': "locked while the context's CTRL.EN is set (C-6): a write is ignored and sets STATUS.CFG_ERR",
  'intr-enabled': 'locked while INTR_CTRL.EN is set: a write is ignored and sets GLOBAL_STATUS.CFG_ERR',
};

/** Every register of the map by name. */
export function registerIndex(map: RegisterMap): Map<string, RegisterEntry[]> {
  const index = new Map<string, RegisterEntry[]>();
  const add = (regs: readonly RegisterSpec[], block: string, address: (r: RegisterSpec) => string) => {
    for (const spec of regs) index.set(spec.name, [...(index.get(spec.name) ?? []), { spec, block, address: address(spec) }]);
  };
  const { bar0, bar1 } = map;
  add(bar0.registers, 'BAR0, the page of context c', (r) => `c * ${hex(bar0.pageBytes, 4)} + ${hex(r.offset, 3)}`);
  add(bar1.global.registers, 'BAR1, global registers', (r) => hex(bar1.global.base + r.offset, 5));
  add(
    bar1.macTable.registers,
    'BAR1, MAC lookup table entry i of way w',
    (r) => `${hex(bar1.macTable.base, 5)} + w * ${hex(bar1.macTable.wayStride, 4)} + i * ${bar1.macTable.entryBytes} + ${hex(r.offset)}`,
  );
  add(
    bar1.ctx.registers,
    'BAR1, the block of context c',
    (r) => `${hex(bar1.ctx.base, 5)} + c * ${hex(bar1.ctx.stride, 2)} + ${hex(r.offset, 2)}`,
  );
  return index;
}

/** The hover text (Markdown) of one register. */
export function registerMarkdown(e: RegisterEntry, paramsShown: string): string {
  const r = e.spec;
  const rules = [r.lockedWhen ? lockRules[r.lockedWhen] : 'no lock rule', ...(r.event ? ['a write raises a mailbox event (C-2)'] : [])];
  const fields = r.fields.map(
    (f) => `| ${bitRange(f.lsb, f.width)} | \`${f.name}\` | ${f.access} | ${hex(f.reset)} | ${f.doc.replace(/\|/g, '\\|')} |`,
  );
  return [
    `**${r.name}** (${e.block})`,
    '',
    `offset \`${hex(r.offset, 3)}\` (address \`${e.address}\`) · ${r.access} · reset \`${hex(r.reset, 8)}\``,
    '',
    `${rules.join('; ')}.`,
    '',
    '| bits | field | access | reset | |',
    '|---|---|---|---|---|',
    ...fields,
    '',
    r.doc,
    '',
    `*hdl/registers/map.ts, ${paramsShown}*`,
  ].join('\n');
}

/** The register map, read from hdl/registers/map.ts again after it changes (`reload`). */
export class RegisterSource {
  private index: Promise<{ byName: Map<string, RegisterEntry[]>; params: string }> | null = null;
  private generation = 0;

  constructor(private readonly mapFile: string) {}

  /** Forget the map read so far (hdl/registers/map.ts was saved). */
  reload(): void {
    this.index = null;
    this.generation++;
  }

  private load(): Promise<{ byName: Map<string, RegisterEntry[]>; params: string }> {
    if (!this.index) {
      // A query gives a fresh instance of map.ts after an edit (its imports stay cached).
      const url = `${pathToFileURL(this.mapFile).href}${this.generation ? `?v=${this.generation}` : ''}`;
      this.index = Promise.all([import(url) as Promise<typeof import('../hdl/registers/map.js')>, import('../hdl/params.js')]).then(
        ([m, p]) => ({
          byName: registerIndex(m.registerMap(p.DEFAULT_PARAMS)),
          params: `default parameters: ${p.formatParams(p.DEFAULT_PARAMS)}`,
        }),
      );
      this.index.catch(() => {
        this.index = null;
      });
    }
    return this.index;
  }

  /** The hover text of register `name`, or null if the map has none of that name. */
  async hover(name: string): Promise<string | null> {
    const { byName, params } = await this.load();
    const entries = byName.get(name);
    return entries ? entries.map((e) => registerMarkdown(e, params)).join('\n\n---\n\n') : null;
  }
}
