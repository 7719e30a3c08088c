import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clearDefinitions, type Expr, emitDesign, lit, type ModuleDef, SInt, select, UInt, writeDesign } from '../../generator/index.js';
import { compileIcarus } from '../../sim/icarus.js';
import { cellCounts, expectLintClean, inferredLatch, scratch, synthIce40 } from './design.js';
import * as designs from './designs.js';
import * as expected from './expected.js';
import { marker, shown } from './where.js';

/** The top module's text with source lines of designs.ts replaced by N (they move when that file is edited). */
function topText(def: ModuleDef<unknown>): string {
  const top = emitDesign(def).at(-1);
  return (top?.text ?? '').replace(/designs\.ts:\d+/g, 'designs.ts:N');
}

describe('emitted text of small designs', () => {
  const cases: [string, () => ModuleDef<unknown>, string][] = [
    ['a counter: a register group with reset, continuous assigns', () => designs.counter(8), expected.counter],
    ['a case statement with a mux, and a named intermediate', designs.alu, expected.alu],
    ['a block RAM with a byte mask and a synchronous read', () => designs.byteRam('undefined'), expected.byteRam],
    ['an FSM with localparams', designs.handshake, expected.fsm],
    ['instances with their connections', designs.counterPair, expected.instances],
    ['a stream stage: a register with reset and one without', designs.stage, expected.stage],
    ['a pipeline wired with connect()', designs.pipe, expected.pipe],
  ];
  for (const [name, build, text] of cases) {
    it(name, async () => {
      const def = build();
      expect(topText(def)).toBe(text);
      await expectLintClean(def);
    });
  }

  it('name the source line of every declaration and instance', () => {
    const at = marker();
    const inst = marker();
    const { def } = scratch((m) => {
      const a = m.input('a', UInt(4));
      at.next();
      const r = m.reg('r', UInt(4), { reset: 0 });
      r.set(a);
      inst.next();
      const u = m.instance('u', designs.counter(4));
      u.io.en.set(r.orR());
      m.output('o', UInt(4)).set(u.io.count);
    });
    const text = emitDesign(def).at(-1)?.text ?? '';
    expect(text).toContain(`  reg  [3:0] r;  // ${shown(at.where ?? { file: '', line: 0 })}\n`);
    expect(text).toContain(`  counter__WIDTH_4 u (  // ${shown(inst.where ?? { file: '', line: 0 })}\n`);
  });
});

describe('operators', () => {
  it('print signed arithmetic with explicit sign extension', async () => {
    const { def } = scratch((m) => {
      const a = m.input('a', SInt(8));
      const b = m.input('b', SInt(8));
      m.output('sum', SInt(9)).set(a.add(b));
      m.output('lt', UInt(1)).set(a.trunc(4).lt(b.trunc(4)));
      m.output('shifted', SInt(12)).set(a.shl(4));
      m.output('halved', SInt(8)).set(a.shr(1));
      m.output('neg', SInt(9)).set(a.neg());
      m.output('minus3', SInt(10)).set(a.add(-3).add(b.addWrap(1)));
    });
    const text = emitDesign(def)[0]?.text ?? '';
    expect(text).toContain('assign sum = $signed({a[7], a}) + $signed({b[7], b});');
    // A part select is unsigned in Verilog: a signed slice must say so, or `<` compares unsigned.
    expect(text).toContain('assign lt = $signed(a[3:0]) < $signed(b[3:0]);');
    expect(text).toContain("assign shifted = $signed({a, 4'd0});");
    expect(text).toContain('assign halved = $signed({a[7], a[7:1]});');
    expect(text).toContain('assign neg = -$signed({a[7], a});');
    expect(text).toContain("wire signed [8:0] minus3_t = $signed({a[7], a}) + (-9'sd3);");
    await expectLintClean(def);
  });

  it('put the operand of a unary operator in parentheses when it starts with another one (Icarus, F-7)', async () => {
    const { def } = scratch((m) => {
      const x = m.input('x', UInt(4));
      m.output('nn', UInt(4)).set(x.not().not());
      m.output('and_not', UInt(1)).set(x.not().andR());
      m.output('or_not', UInt(1)).set(x.not().orR());
      m.output('xor_not', UInt(1)).set(x.not().xorR());
      m.output('not_and', UInt(1)).set(x.andR().not());
      m.output('mixed', UInt(4)).set(x.and(x.not().not()));
    });
    const text = emitDesign(def)[0]?.text ?? '';
    // `~~x` and `&~x` are legal Verilog-2005 that Icarus rejects; `^~x` is the XNOR reduction.
    expect(text).toContain('assign nn = ~(~x);');
    expect(text).toContain('assign and_not = &(~x);');
    expect(text).toContain('assign or_not = |(~x);');
    expect(text).toContain('assign xor_not = ^(~x);');
    expect(text).toContain('assign not_and = ~(&x);');
    expect(text).toContain('assign mixed = x & ~(~x);');
    expect(text).not.toMatch(/[~&|^-][~&|^]\w/);
    await expectLintClean(def);
    const dir = await mkdtemp(path.join(tmpdir(), 'dsl-emit-'));
    try {
      await writeDesign(def, dir);
      await compileIcarus(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('print part selects Verilator accepts without a WIDTH warning', async () => {
    const { def } = scratch((m) => {
      const x = m.input('x', UInt(9));
      const w = m.input('w', UInt(32));
      const i = m.input('i', UInt(2));
      const j = m.input('j', UInt(3));
      m.output('third', UInt(3)).set(x.part(i, 3));
      m.output('lane', UInt(8)).set(w.part(i, 8));
      m.output('one', UInt(1)).set(x.bit(j));
      m.output('pick', UInt(8)).set(select(i, [w.bits(7, 0), w.bits(15, 8), w.bits(23, 16)]));
      m.output('top', UInt(4)).set(x.add(1).bits(8, 5));
    });
    const text = emitDesign(def)[0]?.text ?? '';
    expect(text).toContain("assign third = x[{2'd0, i} * 4'd3 +: 3];");
    expect(text).toContain("assign lane = w[{i, 3'd0} +: 8];");
    expect(text).toContain("assign one = x[{1'b0, j}];");
    await expectLintClean(def);
  });

  it('split a switch between a register and a wire, keeping each case statement complete', async () => {
    const { def } = scratch((m) => {
      const i = m.input('i', UInt(2));
      const w = m.output('w', UInt(2));
      const r = m.reg('r', UInt(2), { reset: 0 });
      w.set(0);
      m.switch(i)
        .is(0, () => w.set(1))
        .is(1, () => r.set(1))
        .is(2, () => w.set(2))
        .is(3, () => r.set(3));
      m.output('q', UInt(2)).set(r);
    });
    const text = emitDesign(def)[0]?.text ?? '';
    // Each block keeps the arms that assign its signals; the others fall to an empty default.
    expect(text.match(/default: ;/g)).toHaveLength(2);
    await expectLintClean(def);
  });

  it('print literals sized, and extend them in place', async () => {
    const { def } = scratch((m) => {
      m.output('a', UInt(8)).set(lit(3, 4).resize(8));
      m.output('b', SInt(8)).set(lit(-2, 4, true).resize(8));
      m.output('c', UInt(40)).set(lit(0xabcdef1234n, 40));
      m.output('d', UInt(1)).set(true);
      m.output('e', UInt(4)).set(lit(0xa5, 8).bits(7, 4));
    });
    const text = emitDesign(def)[0]?.text ?? '';
    expect(text).toContain("assign a = 8'd3;");
    expect(text).toContain("assign b = -8'sd2;");
    expect(text).toContain("assign c = 40'habcdef1234;");
    expect(text).toContain("assign d = 1'b1;");
    expect(text).toContain("assign e = 4'd10;");
    await expectLintClean(def);
  });

  it('name every 32nd level of a deep expression instead of nesting without bound', async () => {
    const { def } = scratch((m) => {
      const sel = m.input('sel', UInt(12));
      const d = m.input('d', UInt(8));
      let acc: Expr = d;
      for (let i = 0; i < 3000; i++) acc = acc.xor(sel.eq(i).repeat(8));
      m.output('o', UInt(8)).set(acc);
    });
    const text = emitDesign(def)[0]?.text ?? '';
    // The chain's nodes are 4..3003 levels deep; every one at a multiple of 32 gets a name.
    expect(text.match(/wire \[7:0\] o_t\d* = /g)?.length).toBe(Math.floor(3003 / 32));
    await expectLintClean(def);
  });
});

describe('determinism and modules', () => {
  it('emit byte-identical text for the same design elaborated twice', () => {
    const first = emitDesign(designs.pipe()).map((e) => e.text);
    clearDefinitions();
    const second = emitDesign(designs.pipe()).map((e) => e.text);
    expect(second).toEqual(first);
  });

  it('write one file per distinct module, children first, and leave unchanged files alone', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dsl-emit-'));
    try {
      const written = await writeDesign(designs.counterPair(), dir);
      expect(written.files.map((f) => path.basename(f))).toEqual(['counter__WIDTH_8.v', 'counter_pair.v']);
      expect(await readFile(written.fileList, 'utf8')).toBe('counter__WIDTH_8.v\ncounter_pair.v\n');
      const before = await stat(written.files[0] as string);
      const listBefore = await stat(written.fileList);
      await new Promise((r) => setTimeout(r, 20));
      await writeDesign(designs.counterPair(), dir);
      expect((await stat(written.files[0] as string)).mtimeMs).toBe(before.mtimeMs);
      expect((await stat(written.fileList)).mtimeMs).toBe(listBefore.mtimeMs);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('synthesis', () => {
  it('map the byte-masked RAM to iCE40 block RAM with no latch', async () => {
    const log = await synthIce40(designs.byteRam('undefined'));
    const cells = cellCounts(log);
    expect(cells.get('SB_RAM40_4K')).toBe(2);
    expect(inferredLatch(log)).toBe(false);
    // Nothing but the RAM and a little address glue: no flops emulating a read-under-write rule.
    expect([...cells.keys()].filter((c) => c.startsWith('SB_DFF'))).toEqual([]);
  });

  it('keep the old word on a read-under-write when asked, with bypass logic', async () => {
    const log = await synthIce40(designs.byteRam('old'));
    expect(cellCounts(log).get('SB_RAM40_4K')).toBe(2);
    expect(log).toMatch(/emulate_read_first/);
    expect(inferredLatch(log)).toBe(false);
  });

  it('synthesize the FSM, the case block and the pipeline with no latch', async () => {
    for (const def of [designs.handshake(), designs.pipe(), designs.alu()]) {
      const log = await synthIce40(def);
      expect(inferredLatch(log)).toBe(false);
      expect(cellCounts(log).get('SB_LUT4')).toBeGreaterThan(0);
    }
  });
});
