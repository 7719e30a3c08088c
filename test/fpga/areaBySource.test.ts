import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { areaBySource, formatAreaBySource } from '../../fpga/areaBySource.js';
import { sourceMap } from '../../fpga/levels.js';
import { synthesize } from '../../fpga/synth.js';
import { defineModule, UInt } from '../../generator/index.js';

/** A netlist by hand: two LUTs and a carry cell feeding `x`, a LUT RAM `mem`, a flip-flop `y`, an unnamed LUT. */
function handNetlist(): string {
  const cell = (type: string, outs: Record<string, number>) => ({
    type,
    port_directions: Object.fromEntries(Object.keys(outs).map((p) => [p, 'output'])),
    connections: Object.fromEntries(Object.entries(outs).map(([p, b]) => [p, [b]])),
  });
  return JSON.stringify({
    modules: {
      t: {
        cells: {
          l1: cell('LUT4', { Z: 10 }),
          l2: cell('LUT4', { Z: 11 }),
          c1: cell('CCU2C', { S0: 12 }),
          'u.mem.0.0': cell('TRELLIS_DPR16X4', { DO0: 13 }),
          f1: cell('TRELLIS_FF', { Q: 14 }),
          l3: cell('LUT4', { Z: 15 }),
        },
        netnames: {
          x: { hide_name: 0, bits: [10] },
          x_LUT4_Z_1: { hide_name: 0, bits: [11] },
          x_CCU2C_S0: { hide_name: 0, bits: [12] },
          'u.mem.0.0_DO': { hide_name: 0, bits: [13] },
          y: { hide_name: 0, bits: [14] },
          $abc$1: { hide_name: 1, bits: [15] },
        },
      },
    },
  });
}

describe('area by source line', () => {
  it('counts each cell against the line of the signal it drives, LUT sites as LUT4 + 2 CCU2C + 4 DPR16X4', () => {
    const lines: Record<string, string> = { x: 'a.ts:1', 'u.mem': 'b.ts:2', y: 'a.ts:3' };
    const a = areaBySource(handNetlist(), 't', (n) => lines[n]);
    expect(a.lines.find((r) => r.where === 'a.ts:1')).toMatchObject({ lut4: 2, carry: 1, sites: 4, ff: 0, signals: ['x'] });
    expect(a.lines.find((r) => r.where === 'b.ts:2')).toMatchObject({ lutRam: 1, sites: 4 });
    expect(a.lines.find((r) => r.where === 'a.ts:3')).toMatchObject({ ff: 1, sites: 0 });
    expect(a.lines.find((r) => r.where === '(unnamed)')).toMatchObject({ lut4: 1, sites: 1 });
    expect(a.files.find((r) => r.where === 'a.ts')).toMatchObject({ sites: 4, ff: 1 });
    expect(a.total).toEqual({ sites: 9, ff: 1, unattributed: 1 });
    // Largest first.
    expect(a.lines.map((r) => r.sites)).toEqual([...a.lines.map((r) => r.sites)].sort((p, q) => q - p));
    expect(formatAreaBySource(a).join('\n')).toMatch(/11\.1% of LUT sites without a line/);
  });

  it('puts a synthesized adder and a wide AND on the TypeScript lines that made them', async () => {
    const def = defineModule('area_lines', {}, (m) => {
      const a = m.input('a', UInt(32));
      const b = m.input('b', UInt(32));
      const d = m.input('d', UInt(64));
      const sum = m.reg('sum', UInt(32), { reset: 0 });
      sum.set(a.addWrap(b));
      const allSet = m.reg('all_set', UInt(1), { reset: 0 });
      allSet.set(d.andR());
      m.output('s', UInt(32)).set(sum);
      m.output('o', UInt(1)).set(allSet);
      return {};
    });
    const dir = path.resolve('build/test/fpga/area-lines');
    const s = await synthesize(def, { target: 'ecp5', dir, flatten: true, netlist: true });
    const verilog: Record<string, string> = {};
    for (const f of await readdir(dir)) if (f.endsWith('.v')) verilog[f] = await readFile(path.join(dir, f), 'utf8');
    const a = areaBySource(await readFile(s.netlistFile as string, 'utf8'), s.top, sourceMap(verilog, s.top));
    const adder = a.lines.find((r) => r.carry > 0);
    const and = a.lines.find((r) => r.lut4 >= 16 && r.carry === 0);
    expect(adder?.where).toMatch(/areaBySource\.test\.ts:\d+$/);
    expect(and?.where).toMatch(/areaBySource\.test\.ts:\d+$/);
    expect(adder?.where).not.toBe(and?.where);
    // 32 bits of sum: 16 carry cells (2 bits each), 32 flip-flops on the register's line.
    expect(a.lines.reduce((n, r) => n + r.carry, 0)).toBe(16);
    expect(a.total.ff).toBe(33);
  }, 120_000);
});
