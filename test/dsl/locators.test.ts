/**
 * Source locators: every statement the emitter writes (each `assign`, each assignment in an always
 * block, memory ports) carries the TypeScript line that made it, and a combinational loop error names
 * the assignments that close the loop, not only the declarations.
 */
import { describe, expect, it } from 'vitest';
import { defineModule, emitDesign, UInt } from '../../generator/index.js';
import { expectLintClean, scratch } from './design.js';
import { expectError, marker, shown, type Where } from './where.js';

const text = (def: Parameters<typeof emitDesign>[0]): string => emitDesign(def).at(-1)?.text ?? '';
const loc = (w: Where | null): string => shown(w ?? { file: '', line: 0 });

describe('every emitted statement names its TypeScript line', () => {
  it('an assign, and each assignment of an always block built on several lines', async () => {
    const set = marker();
    const dflt = marker();
    const arm = marker();
    const rst = marker();
    const inc = marker();
    const { def } = scratch((m) => {
      const a = m.input('a', UInt(4));
      const c = m.input('c');
      set.next();
      m.output('o', UInt(4)).set(a);
      const y = m.output('y', UInt(4));
      dflt.next();
      y.set(0);
      m.when(c, () => {
        arm.next();
        y.set(a);
      });
      rst.next();
      const r = m.reg('r', UInt(4), { reset: 0 });
      m.when(c, () => {
        inc.next();
        r.set(r.addWrap(1));
      });
      m.output('q', UInt(4)).set(r);
    });
    const t = text(def);
    expect(t).toContain(`  assign o = a;  // ${loc(set.where)}\n`);
    expect(t).toContain(
      `  always @(*) begin\n    y = 4'd0;  // ${loc(dflt.where)}\n    if (c) begin\n      y = a;  // ${loc(arm.where)}\n`,
    );
    expect(t).toContain(`      r <= 4'd0;  // ${loc(rst.where)}\n`);
    expect(t).toContain(`        r <= r + 4'd1;  // ${loc(inc.where)}\n`);
    await expectLintClean(def);
  });

  it('one comment on the block when all its statements come from one line', async () => {
    const at = marker();
    const { def } = scratch((m) => {
      const c = m.input('c');
      const y = m.output('y', UInt(2));
      at.next();
      m.when(c, () => y.set(1)).otherwise(() => y.set(2));
    });
    const t = text(def);
    expect(t).toContain(
      `  always @(*) begin  // ${loc(at.where)}\n    if (c) begin\n      y = 2'd1;\n    end else begin\n      y = 2'd2;\n`,
    );
    await expectLintClean(def);
  });

  it('memory write and read ports', async () => {
    const wr = marker();
    const rd = marker();
    const { def } = scratch((m) => {
      const we = m.input('we');
      const addr = m.input('addr', UInt(4));
      const d = m.input('d', UInt(8));
      const ram = m.memory('ram', { width: 8, depth: 16 });
      wr.next();
      m.when(we, () => ram.write(addr, d));
      rd.next();
      m.output('q', UInt(8)).set(ram.read(addr));
    });
    const t = text(def);
    expect(t).toContain(`  always @(posedge clk) begin  // ${loc(wr.where)}\n    if (we) begin\n      ram[addr] <= d;\n`);
    expect(t).toContain(`  always @(posedge clk) begin  // ${loc(rd.where)}\n    ram_rd <= ram[addr];\n`);
    await expectLintClean(def);
  });
});

describe('a combinational loop error names the assignments that close it', () => {
  it('through values', () => {
    const decl = marker();
    const first = marker();
    const second = marker();
    const e = expectError(
      () =>
        scratch((m) => {
          const a = m.input('a', UInt(4));
          decl.next();
          const x = m.wire('x', UInt(4));
          const y = m.wire('y', UInt(4));
          first.next();
          x.set(y.xor(a));
          second.next();
          y.set(x);
          m.output('o', UInt(4)).set(y);
        }),
      decl,
      /^combinational loop in module scratch\d+: (x <- y <- x|y <- x <- y); break it with a register$/,
      [first, second],
    );
    expect(e.message).toContain(`'x' reads 'y' in the value of the assignment at ${loc(first.where)}`);
    expect(e.message).toContain(`'y' reads 'x' in the value of the assignment at ${loc(second.where)}`);
  });

  it('through a condition', () => {
    const at = marker();
    const cond = marker();
    const e = expectError(
      () =>
        scratch((m) => {
          at.next();
          const w = m.wire('w', UInt(1), { init: 0 });
          cond.next();
          m.when(w.not(), () => w.set(1));
          m.output('o').set(w);
        }),
      at,
      /^combinational loop in module scratch\d+: w <- w/,
    );
    expect(e.message).toContain(`'w' reads 'w' in a condition enclosing the assignment at ${loc(cond.where)}`);
  });

  it('through a submodule', () => {
    const passThrough = defineModule('loc_pass', {}, (m) => {
      const i = m.input('i', UInt(4));
      const o = m.output('o', UInt(4));
      o.set(i);
      return { i, o };
    });
    const at = marker();
    const back = marker();
    const e = expectError(
      () =>
        scratch((m) => {
          at.next();
          const u = m.instance('u', passThrough);
          back.next();
          u.io.i.set(u.io.o);
        }),
      at,
      /^combinational loop in module scratch\d+: u_(i|o) <- u_(o|i) <- u_(i|o)/,
    );
    expect(e.message).toContain(`'u_i' reads 'u_o' in the value of the assignment at ${loc(back.where)}`);
    expect(e.message).toContain(`'u_o' depends on 'u_i' through submodule u (loc_pass) at ${loc(at.where)}`);
  });
});
