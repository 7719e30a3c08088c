/**
 * A dynamic read of a register vector written as a chain of `mux(idx.eq(i), r[i], ...)` is emitted as
 * a `case` (a parallel multiplexer, ~log2(n) LUT levels after synthesis), not as nested `?:` (a
 * linear chain of n multiplexers), and still computes what the chain means: the outermost matching
 * arm wins, and an index no arm names reads the innermost else.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { type Expr, emitDesign, lit, mux, UInt, writeDesign } from '../../generator/index.js';
import { compileIcarus } from '../../sim/icarus.js';
import { expectLintClean, scratch } from './design.js';
import { evaluateModule } from './evaluate.js';

const N = 12;
const seed = Number(process.env.SEED ?? 19);

function chainDesign() {
  return scratch((m) => {
    const i = m.input('i', UInt(4));
    const d = Array.from({ length: N }, (_, k) => m.input(`d${k}`, UInt(8)));
    // Element 0 is the fall-back (what selectCtx in hdl/nic/rx/dmaWriter.ts does), 1..N-1 by index.
    let eqChain: Expr = d[0] as Expr;
    for (let k = 1; k < N; k++) eqChain = mux(i.eq(k), d[k] as Expr, eqChain);
    m.output('by_eq', UInt(8)).set(eqChain);
    // The same with != tests, a repeated constant (shadowed by the outer arm) and a constant wider
    // than the index that can never match.
    let neChain: Expr = d[0] as Expr;
    for (let k = 1; k < 6; k++) neChain = mux(i.ne(k), neChain, d[k] as Expr);
    neChain = mux(i.eq(3), d[7] as Expr, neChain);
    neChain = mux(i.eq(lit(20, 5)), d[8] as Expr, neChain);
    m.output('by_ne', UInt(8)).set(neChain);
    // Two arms stay a `?:`.
    m.output('two_way', UInt(8)).set(mux(i.eq(1), d[1] as Expr, mux(i.eq(2), d[2] as Expr, d[0] as Expr)));
  });
}

describe('select chains over a vector', () => {
  it('print as a case in an always block, lint-clean, with the short chain left as ?:', async () => {
    const { def } = chainDesign();
    const text = emitDesign(def).at(-1)?.text ?? '';
    const cases = text.match(/case \(i\)/g) ?? [];
    expect(cases.length).toBe(2);
    // Every arm of the long chain, outermost first, and the fall-back as the default.
    const arms = [...text.matchAll(/4'd(\d+): by_eq_t\d* = d(\d+);/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(arms).toEqual(Array.from({ length: N - 1 }, (_, k) => [N - 1 - k, N - 1 - k]));
    expect(text).toMatch(/default: by_eq_t\d* = d0;/);
    // The repeated 3 appears once (d7 wins), 20 not at all.
    expect(text.match(/4'd3: by_ne_t\d* = d(\d+);/)?.[1]).toBe('7');
    expect(text).not.toMatch(/by_ne_t\d* = d8;/);
    expect(text).toMatch(/assign two_way = \(i == 4'd1\) \? d1 : /);
    expect(text).not.toMatch(/assign by_eq = .*\?/);
    await expectLintClean(def);
  });

  it('simulate in Icarus to what the chain means, for every index', async () => {
    const { def } = chainDesign();
    const dir = await mkdtemp(path.join(tmpdir(), 'dsl-chain-'));
    try {
      await writeDesign(def, dir);
      let x = seed >>> 0 || 1;
      const rand8 = () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return (x >>> 0) & 0xff;
      };
      const vectors = Array.from({ length: 16 * 4 }, (_, v) => ({ i: v % 16, d: Array.from({ length: N }, rand8) }));
      const lines = vectors.map(
        (v) => `    i = 4'd${v.i}; ${v.d.map((x, k) => `d${k} = 8'd${x};`).join(' ')} #1 $display("%0d %0d %0d", by_eq, by_ne, two_way);`,
      );
      const ports = [
        `.i(i)`,
        ...Array.from({ length: N }, (_, k) => `.d${k}(d${k})`),
        '.by_eq(by_eq)',
        '.by_ne(by_ne)',
        '.two_way(two_way)',
      ];
      const bench = [
        'module tb;',
        '  reg [3:0] i;',
        ...Array.from({ length: N }, (_, k) => `  reg [7:0] d${k};`),
        '  wire [7:0] by_eq, by_ne, two_way;',
        `  ${def.verilogName} dut (${ports.join(', ')});`,
        '  initial begin',
        ...lines,
        '    $finish;',
        '  end',
        'endmodule',
      ].join('\n');
      await writeFile(path.join(dir, 'tb.v'), `${bench}\n`);
      const { vvp } = await compileIcarus(dir, { extra: ['tb.v'], root: 'tb' });
      const { stdout } = await promisify(execFile)('vvp', ['-n', vvp], { cwd: dir });
      const got = stdout.split('\n').filter((l) => /^\d+ \d+ \d+$/.test(l));
      expect(got.length).toBe(vectors.length);
      vectors.forEach((v, n) => {
        const inputs = new Map<string, bigint>([['i', BigInt(v.i)], ...v.d.map((x, k) => [`d${k}`, BigInt(x)] as [string, bigint])]);
        const want = evaluateModule(def, inputs);
        expect(got[n], `seed ${seed}, i=${v.i}`).toBe(`${want.get('by_eq')} ${want.get('by_ne')} ${want.get('two_way')}`);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
