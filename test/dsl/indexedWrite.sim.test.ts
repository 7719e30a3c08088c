/**
 * A bit written at a run-time index of a wide register (`r.atIndex(i).set(v)`) is emitted as a loop
 * over a one-hot decode of the index, shared by every write at that index (fewer LUTs than yosys'
 * per-bit compares; docs/fpga.md, "What a context costs"). The decoded form must mean exactly what
 * the plain `r[i] <= v` form meant: several writes in one cycle, the last in source order wins per
 * bit, an index past the end writes nothing. Both forms are simulated side by side in Icarus on
 * random inputs and compared every cycle with each other and with a model of the writes.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { defineModule, emitDesign, UInt } from '../../generator/index.js';
import { buildRoot } from '../../sim/paths.js';
import { withSeed } from '../models/seeded.js';
import { expectLintClean } from './design.js';

const run = promisify(execFile);

const width = 64;

/** Writers in an order where shadowing matters: the same index twice, a whole write between, nesting. */
const indexedWrites = defineModule('indexed_writes', {}, (m) => {
  const en = m.input('en', UInt(8));
  const i0 = m.input('i0', UInt(6));
  const i1 = m.input('i1', UInt(6));
  const i2 = m.input('i2', UInt(6));
  const i3 = m.input('i3', UInt(6));
  const i4 = m.input('i4', UInt(6));
  const d = m.input('d');
  const w = m.input('w', UInt(width));
  const v = m.reg('v', UInt(width), { reset: 0 });
  // 48 bits, so a quarter of the index values address no bit of it.
  const u = m.reg('u', UInt(48), { reset: 0 });
  // Too narrow for a decode: stays `n[i] <= ...`.
  const n = m.reg('n', UInt(8), { reset: 0 });
  m.when(en.bit(0), () => v.atIndex(i0).set(1));
  m.when(en.bit(1), () => v.atIndex(i1).set(0));
  m.when(en.bit(2), () => v.atIndex(i0).set(d));
  m.when(en.bit(3), () => v.set(w));
  m.when(en.bit(4), () => v.at(5).set(1));
  m.when(en.bit(5), () => {
    m.when(en.bit(6), () => v.atIndex(i2).set(1)).otherwise(() => v.atIndex(i3).set(0));
  });
  m.when(en.bit(7), () => v.atIndex(i4).set(1));
  m.when(en.bit(0), () => u.atIndex(i4).set(1));
  m.when(en.bit(7), () => u.atIndex(i0).set(0));
  m.when(en.bit(1), () => n.atIndex(i1.trunc(3)).set(d));
  m.output('q', UInt(width)).set(v);
  m.output('qn', UInt(8)).set(n);
  m.output('qu', UInt(48)).set(u);
  return {};
});

interface Inputs {
  en: number;
  i0: number;
  i1: number;
  i2: number;
  i3: number;
  i4: number;
  d: number;
  w: bigint;
}

/** The registers after one clock edge, writing in source order. */
interface State {
  v: bigint;
  u: bigint;
  n: number;
}

function step(s: State, x: Inputs): State {
  const put = (value: bigint, at: number, bit: number, size = width): bigint =>
    at >= size ? value : bit ? value | (1n << BigInt(at)) : value & ~(1n << BigInt(at));
  const on = (k: number): boolean => ((x.en >> k) & 1) === 1;
  let next = s.v;
  if (on(0)) next = put(next, x.i0, 1);
  if (on(1)) next = put(next, x.i1, 0);
  if (on(2)) next = put(next, x.i0, x.d);
  if (on(3)) next = x.w;
  if (on(4)) next = put(next, 5, 1);
  if (on(5)) next = on(6) ? put(next, x.i2, 1) : put(next, x.i3, 0);
  if (on(7)) next = put(next, x.i4, 1);
  let u = s.u;
  if (on(0)) u = put(u, x.i4, 1, 48);
  if (on(7)) u = put(u, x.i0, 0, 48);
  const at = x.i1 & 7;
  const n = on(1) ? (x.d ? s.n | (1 << at) : s.n & ~(1 << at)) : s.n;
  return { v: next, u, n };
}

describe('writes at a run-time index of a wide register', () => {
  it('go through one shared decode per index and lint clean', async () => {
    const [decoded] = emitDesign(indexedWrites);
    const [plain] = emitDesign(indexedWrites, { decodeIndexedWrites: false });
    const text = decoded?.text ?? '';
    expect(text.match(/wire \[63:0\] i0_onehot64 = /g)?.length).toBe(1);
    expect(text).toContain("wire [5:0] i4_onehot48_hi = 6'd1 << i4[5:3];");
    expect(text).toMatch(/for \(v_j = 0; v_j < 64; v_j = v_j \+ 1\) if \(i0_onehot64\[v_j\]\) v\[v_j\] <= d;/);
    expect(text).not.toMatch(/v\[i\d\] <=/);
    expect(text).toMatch(/n\[i1\[2:0\]\] <= d;/);
    expect(plain?.text).toMatch(/v\[i0\] <= 1'b1;/);
    expect(plain?.text).not.toContain('onehot');
    await expectLintClean(indexedWrites);
  });

  it('mean what the plain form meant (Icarus, both forms side by side, random inputs)', async () => {
    const dir = path.join(buildRoot(), 'test-dsl', 'indexedWrite');
    await mkdir(dir, { recursive: true });
    const [decoded] = emitDesign(indexedWrites);
    const [plain] = emitDesign(indexedWrites, { decodeIndexedWrites: false });
    const old = (plain?.text ?? '').replace('module indexed_writes (', 'module indexed_writes_plain (');
    await withSeed(async (rng) => {
      const cycles = 3000;
      const inputs: Inputs[] = [];
      for (let c = 0; c < cycles; c++) {
        // Indices often collide, so that shadowing between writers is exercised.
        const idx = (): number => (rng.next() < 0.5 ? rng.int(4) : rng.int(64));
        inputs.push({
          en: rng.int(256),
          i0: idx(),
          i1: idx(),
          i2: idx(),
          i3: idx(),
          i4: idx(),
          d: rng.int(2),
          // Rarely a whole write, so that bits accumulate between them.
          w: rng.bits(width),
        });
        const last = inputs[c] as Inputs;
        if (rng.next() < 0.9) last.en &= ~8;
      }
      const expected: State[] = [];
      let state: State = { v: 0n, u: 0n, n: 0 };
      for (const x of inputs) {
        state = step(state, x);
        expected.push(state);
      }
      const drive = inputs
        .map((x, c) => {
          const e = expected[c] as State;
          return [
            `    en = 8'd${x.en}; i0 = 6'd${x.i0}; i1 = 6'd${x.i1}; i2 = 6'd${x.i2}; i3 = 6'd${x.i3}; i4 = 6'd${x.i4}; d = 1'b${x.d}; w = 64'h${x.w.toString(16)};`,
            '    @(posedge clk); #1;',
            `    if (q !== q_plain || qn !== qn_plain || qu !== qu_plain || q !== 64'h${e.v.toString(16)} || qn !== 8'd${e.n} || qu !== 48'h${e.u.toString(16)}) begin`,
            `      $display("MISMATCH cycle ${c}: decoded %h/%h/%h plain %h/%h/%h model ${e.v.toString(16)}/${e.n.toString(16)}/${e.u.toString(16)}", q, qn, qu, q_plain, qn_plain, qu_plain);`,
            '      $finish;',
            '    end',
          ].join('\n');
        })
        .join('\n');
      const bench = `\`timescale 1ns/1ps
module bench;
  reg clk = 0, rst = 1;
  reg [7:0] en = 0;
  reg [5:0] i0 = 0, i1 = 0, i2 = 0, i3 = 0, i4 = 0;
  reg d = 0;
  reg [63:0] w = 0;
  wire [63:0] q, q_plain;
  wire [7:0] qn, qn_plain;
  wire [47:0] qu, qu_plain;
  always #5 clk = ~clk;
  indexed_writes dut (.clk(clk), .rst(rst), .en(en), .i0(i0), .i1(i1), .i2(i2), .i3(i3), .i4(i4), .d(d), .w(w), .q(q), .qn(qn), .qu(qu));
  indexed_writes_plain ref_ (.clk(clk), .rst(rst), .en(en), .i0(i0), .i1(i1), .i2(i2), .i3(i3), .i4(i4), .d(d), .w(w), .q(q_plain), .qn(qn_plain), .qu(qu_plain));
  initial begin
    @(posedge clk); #1; rst = 0;
${drive}
    $display("PASS");
    $finish;
  end
endmodule
`;
      const files = { 'decoded.v': decoded?.text ?? '', 'plain.v': old, 'bench.v': bench };
      for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
      const out = path.join(dir, 'bench.vvp');
      await run('iverilog', ['-g2005', '-o', out, ...Object.keys(files).map((f) => path.join(dir, f))]);
      const { stdout } = await run('vvp', ['-n', out], { maxBuffer: 1 << 24 });
      expect(stdout.trim().split('\n').pop()).toBe('PASS');
    });
  }, 120_000);
});
