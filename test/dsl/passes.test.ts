import { describe, expect, it } from 'vitest';
import { analysisOf, Bool, defineModule, emitDesign, type ModuleBuilder, UInt } from '../../generator/index.js';
import { expectLintClean, scratch } from './design.js';
import { expectError, type Marker, marker } from './where.js';

function refuses(build: (m: ModuleBuilder, at: Marker, also: Marker) => void, text: string | RegExp, withRelated = false): void {
  const at = marker();
  const also = marker();
  expectError(() => scratch((m) => build(m, at, also)), at, text, withRelated ? [also] : []);
}

describe('latches', () => {
  it('refuse a combinational signal not assigned on every path, pointing at the when', () => {
    refuses(
      (m, at, also) => {
        const c = m.input('c');
        at.next();
        const o = m.output('o', UInt(4));
        also.next();
        m.when(c, () => o.set(1));
      },
      "combinational 'o' is not assigned on every path (this would infer a latch); give it a default with .set() before the when (or an init), or add an otherwise/default branch",
      true,
    );
  });

  it('refuse a missing arm in an elseWhen chain', () => {
    refuses((m, at) => {
      const c = m.input('c');
      const d = m.input('d');
      at.next();
      const w = m.wire('w', UInt(2));
      m.when(c, () => w.set(1)).elseWhen(d, () => w.set(2));
      m.output('o', UInt(2)).set(w);
    }, "combinational 'w' is not assigned on every path");
  });

  it('refuse a switch without default that does not cover every value', () => {
    refuses((m, at) => {
      const s = m.input('s', UInt(2));
      at.next();
      const o = m.output('o', UInt(2));
      m.switch(s)
        .is(0, () => o.set(1))
        .is([1, 2], () => o.set(2));
    }, "combinational 'o' is not assigned on every path");
  });

  it('accept a switch that covers every value without default', () => {
    const { def } = scratch((m) => {
      const s = m.input('s', UInt(2));
      const o = m.output('o', UInt(2));
      m.switch(s)
        .is(0, () => o.set(1))
        .is([1, 2, 3], () => o.set(2));
    });
    expect(analysisOf(def).groups).toHaveLength(1);
  });

  it('refuse a dynamic partial assignment before a default', () => {
    refuses((m, at) => {
      const i = m.input('i', UInt(3));
      const w = m.wire('w', UInt(8));
      at.next();
      w.atIndex(i).set(1);
      m.output('o', UInt(8)).set(w);
    }, "combinational 'w' is assigned by a dynamic index before it has a full value on this path (the other bits would infer a latch); set the whole signal first");
  });

  it('accept slices that together assign every bit, and refuse the bits left out', () => {
    scratch((m) => {
      const a = m.input('a', UInt(4));
      const o = m.output('o', UInt(8));
      o.at(3, 0).set(a);
      o.at(7, 4).set(a.not());
    });
    refuses((m, at) => {
      const a = m.input('a', UInt(4));
      const c = m.input('c');
      at.next();
      const o = m.output('o', UInt(8));
      o.at(3, 0).set(a);
      m.when(c, () => o.at(7, 4).set(a));
    }, "bits 7:4 of combinational 'o' are not assigned on every path");
  });

  it('accept a default before the when, and an init', () => {
    const { def } = scratch((m) => {
      const c = m.input('c');
      const i = m.input('i', UInt(3));
      const o = m.output('o', UInt(8));
      o.set(0);
      m.when(c, () => o.atIndex(i).set(1));
      const w = m.wire('w', Bool, { init: 0 });
      m.when(c, () => w.set(1));
      m.output('p').set(w);
    });
    expect(analysisOf(def).groups.map((g) => g.kind)).toEqual(['comb', 'comb', 'comb']);
  });
});

describe('combinational loops', () => {
  it('refuse a loop inside a module', () => {
    refuses((m, at) => {
      const a = m.input('a', UInt(4));
      at.next();
      const x = m.wire('x', UInt(4));
      const y = m.wire('y', UInt(4));
      x.set(y.xor(a));
      y.set(x);
      m.output('o', UInt(4)).set(y);
    }, /^combinational loop in module scratch\d+: (x <- y <- x|y <- x <- y); break it with a register$/);
  });

  it('refuse a loop through a condition', () => {
    refuses((m, at) => {
      at.next();
      const w = m.wire('w', Bool, { init: 0 });
      m.when(w.not(), () => w.set(1));
      m.output('o').set(w);
    }, /^combinational loop in module scratch\d+: w <- w/);
  });

  const passThrough = defineModule('passThrough', {}, (m) => {
    const i = m.input('i', UInt(4));
    const o = m.output('o', UInt(4));
    o.set(i.not());
    return { i, o };
  });
  const registered = defineModule('registered', {}, (m) => {
    const i = m.input('i', UInt(4));
    const o = m.output('o', UInt(4));
    const r = m.reg('r', UInt(4), { reset: 0 });
    r.set(i);
    o.set(r);
    return { i, o };
  });

  it('summarise which inputs each output depends on', () => {
    expect(analysisOf(passThrough).combPaths).toEqual(new Map([['o', new Set(['i'])]]));
    expect(analysisOf(registered).combPaths).toEqual(new Map());
  });

  it('refuse a loop through a submodule', () => {
    refuses((m, at) => {
      at.next();
      const u = m.instance('u', passThrough);
      u.io.i.set(u.io.o);
    }, /^combinational loop in module scratch\d+: u_(i|o) <- u_(o|i) <- u_(i|o)/);
  });

  it('accept feedback through a registered submodule', () => {
    const { def } = scratch((m) => {
      const u = m.instance('u', registered);
      u.io.i.set(u.io.o.addWrap(1));
      m.output('o', UInt(4)).set(u.io.o);
    });
    expect(analysisOf(def).combPaths.size).toBe(0);
  });
});

describe('grouping', () => {
  it('put signals assigned by one statement in one always block', async () => {
    const { def } = scratch((m) => {
      const s = m.input('s', UInt(2));
      const a = m.output('a', UInt(2));
      const b = m.output('b', UInt(2));
      const r = m.reg('r', UInt(2), { reset: 0 });
      const q = m.reg('q', UInt(2));
      m.switch(s)
        .is(0, () => {
          a.set(1);
          b.set(2);
          r.set(s);
        })
        .default(() => {
          a.set(0);
          b.set(s);
          q.set(s);
        });
      m.output('rq', UInt(2)).set(r.xor(q));
    });
    const groups = analysisOf(def).groups.map((g) => `${g.kind}:${g.signals.map((s) => s.name).join(',')}`);
    expect(groups).toEqual(['comb:a,b', 'seq:r,q', 'comb:rq']);
    // The register group splits into one block with reset and one without.
    expect(emitDesign(def)[0]?.text.match(/always @\(posedge clk\)/g)).toHaveLength(2);
    await expectLintClean(def);
  });

  it('give a signal its own block when another member of its block reads it', async () => {
    const { def } = scratch((m) => {
      const c = m.input('c');
      const x = m.output('x', UInt(2));
      const y = m.output('y', UInt(2));
      y.set(0);
      m.when(c, () => {
        x.set(1);
        y.set(x.addWrap(1));
      });
      x.set(3); // (a default x.set(0) before the when would be an overlap: this overrides it)
    });
    // In one always @(*) block `y = x + 1` would read x before its last assignment.
    const groups = analysisOf(def).groups.map((g) => g.signals.map((s) => s.name).join(','));
    expect(groups).toEqual(['x', 'y']);
    await expectLintClean(def);
  });
});
