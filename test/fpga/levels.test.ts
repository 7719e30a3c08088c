import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lutLevels, signalOf } from '../../fpga/levels.js';
import { synthesize, synthesizeSources } from '../../fpga/synth.js';
import { defineModule, UInt } from '../../generator/index.js';

/** A netlist by hand: FF a -> LUT4 -> CCU2C (entered at A0) -> CCU2C (by CIN) -> PFUMX -> LUT4 -> FF b. */
function handNetlist(): string {
  const ff = (d: number, q: number) => ({
    type: 'TRELLIS_FF',
    port_directions: { CLK: 'input', DI: 'input', CE: 'input', LSR: 'input', Q: 'output' },
    connections: { CLK: [2], DI: [d], CE: ['1'], LSR: ['0'], Q: [q] },
  });
  const lut = (a: number, z: number) => ({
    type: 'LUT4',
    port_directions: { A: 'input', B: 'input', C: 'input', D: 'input', Z: 'output' },
    connections: { A: [a], B: ['0'], C: ['0'], D: ['0'], Z: [z] },
  });
  const ccu = (a0: number, cin: number | string, cout: number, s0: number) => ({
    type: 'CCU2C',
    port_directions: { A0: 'input', CIN: 'input', COUT: 'output', S0: 'output' },
    connections: { A0: [a0], CIN: [cin], COUT: [cout], S0: [s0] },
  });
  return JSON.stringify({
    modules: {
      t: {
        ports: { clk: { direction: 'input', bits: [2] } },
        cells: {
          fa: ff(99, 10),
          l1: lut(10, 11),
          c1: ccu(11, '0', 12, 13),
          c2: ccu(13, 12, 14, 15),
          mx: {
            type: 'PFUMX',
            port_directions: { ALUT: 'input', BLUT: 'input', C0: 'input', Z: 'output' },
            connections: { ALUT: [14], BLUT: [10], C0: [10], Z: [16] },
          },
          l2: lut(16, 17),
          fb: ff(17, 18),
          fc: ff(10, 99),
        },
        netnames: {
          clk: { hide_name: 0, bits: [2] },
          a: { hide_name: 0, bits: [10] },
          sum: { hide_name: 0, bits: [11, 13] },
          b: { hide_name: 0, bits: [18] },
          b_TRELLIS_FF_Q_DI: { hide_name: 0, bits: [17] },
          c: { hide_name: 0, bits: [99] },
        },
      },
    },
  });
}

describe('LUT levels', () => {
  it('count LUTs and carry entries, not carry propagation or slice muxes, and name the path', () => {
    const r = lutLevels(handNetlist(), 't', (net) => (net === 'a' ? 'x.ts:1' : undefined));
    // l1 (1) + c1 entered at A0 (1) + c2 entered at A0 from c1's S0 (1) + PFUMX (0) + l2 (1).
    expect(r.byClock).toHaveLength(1);
    expect(r.byClock[0]?.levels).toBe(4);
    expect(r.byClock[0]?.clock).toBe('clk');
    expect(r.byClock[0]?.steps[0]).toMatchObject({ net: 'a', level: 0, src: 'x.ts:1' });
    expect(r.byClock[0]?.steps.at(-1)?.net).toBe('b');
    expect(signalOf('b_TRELLIS_FF_Q_DI')).toBe('b~');
    expect(r.loops).toBe(0);
    // The work list: b's path (4 levels) is deeper than 3 and listed once; c (0 levels) is not.
    const over3 = lutLevels(handNetlist(), 't', undefined, 3);
    expect(over3.overLevels).toBe(3);
    expect(over3.over.map((p) => [p.levels, p.steps.at(-1)?.net])).toEqual([[4, 'b']]);
    expect(lutLevels(handNetlist(), 't', undefined, 4).over).toEqual([]);
  });

  it('find the known depth of a synthesized 64-input AND between registers: three LUT4 levels', async () => {
    const def = defineModule('levels_and64', {}, (m) => {
      const d = m.input('d', UInt(64));
      const r = m.reg('r', UInt(64), { reset: 0 });
      r.set(d);
      const all = m.reg('all_set', UInt(1), { reset: 0 });
      all.set(r.andR());
      m.output('o', UInt(1)).set(all);
      return {};
    });
    const dir = path.resolve('build/test/fpga/levels-and64');
    const s = await synthesize(def, { target: 'ecp5', dir, flatten: true, netlist: true });
    const r = lutLevels(await readFile(s.netlistFile as string, 'utf8'), s.top);
    const clk = r.byClock.find((p) => p.clock === 'clk');
    // 64 inputs, 4 per LUT: 16, 4, 1 LUTs; the reset adds no level (TRELLIS_FF has its own LSR).
    expect(clk?.levels).toBe(3);
    expect(clk?.steps[0]?.net).toMatch(/^r\[\d+\]$/);
    // The register drives the output port too, so its net may carry either name.
    expect(['all_set', 'o']).toContain(clk?.steps.at(-1)?.net);
  }, 120_000);

  it('read a repeated yosys run back from the cache by content', async () => {
    // A fresh comment makes the first run a miss; the second, with the same text, must be a hit.
    const nonce = `${process.pid}-${Date.now()}`;
    const src = {
      'c.v': `// ${nonce}\nmodule c(input wire clk, input wire d, output reg q);\n  always @(posedge clk) q <= ~d;\nendmodule\n`,
    };
    const dir = path.resolve('build/test/fpga/cache');
    const seen: string[][] = [[], []];
    for (const i of [0, 1]) {
      await synthesizeSources('c', src, { target: 'ecp5', dir, onLog: (l) => seen[i]?.push(l) });
    }
    expect(seen[0]?.some((l) => /cached result/.test(l))).toBe(false);
    expect(seen[1]).toEqual(['0. Executing cached result (pass).']);
  }, 120_000);
});
