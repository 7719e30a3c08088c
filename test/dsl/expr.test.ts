import { describe, expect, it } from 'vitest';
import { all, any, Bool, cat, type Expr, lit, type ModuleBuilder, mux, SInt, select, UInt } from '../../generator/index.js';
import { scratch } from './design.js';
import { expectError, marker, thisLine, type Where } from './where.js';

/** Operands every rule is tried on: UInt(8), UInt(4), SInt(8), SInt(4), Bool. */
function operands(m: ModuleBuilder) {
  return {
    a: m.input('a', UInt(8)),
    b: m.input('b', UInt(4)),
    s: m.input('s', SInt(8)),
    t: m.input('t', SInt(4)),
    c: m.input('c', Bool),
  };
}

type Ops = ReturnType<typeof operands>;

function typeOf(build: (o: Ops) => Expr): string {
  const { result } = scratch((m) => build(operands(m)));
  return `${result.type.signed ? 'SInt' : 'UInt'}(${result.width})`;
}

describe('width rules', () => {
  const rules: [string, (o: Ops) => Expr, string][] = [
    ['add grows by one bit past the wider operand', (o) => o.a.add(o.b), 'UInt(9)'],
    ['sub grows by one bit past the wider operand', (o) => o.b.sub(o.a), 'UInt(9)'],
    ['signed add grows by one bit', (o) => o.s.add(o.t), 'SInt(9)'],
    ['a JS number in add takes the other operand width', (o) => o.a.add(1), 'UInt(9)'],
    ['addWrap keeps the width', (o) => o.a.addWrap(o.a), 'UInt(8)'],
    ['subWrap keeps the width', (o) => o.s.subWrap(-1), 'SInt(8)'],
    ['mul is as wide as both widths added', (o) => o.a.mul(o.b), 'UInt(12)'],
    ['signed mul', (o) => o.s.mul(o.t), 'SInt(12)'],
    ['and keeps the width', (o) => o.a.and(0x0f), 'UInt(8)'],
    ['or keeps the width', (o) => o.b.or(o.b), 'UInt(4)'],
    ['xor keeps the width', (o) => o.s.xor(o.s), 'SInt(8)'],
    ['not keeps the type', (o) => o.t.not(), 'SInt(4)'],
    ['neg of SInt(n) is SInt(n+1)', (o) => o.s.neg(), 'SInt(9)'],
    ['neg of UInt(n) is SInt(n+1)', (o) => o.b.neg(), 'SInt(5)'],
    ['eq is a Bool and extends the narrower operand', (o) => o.a.eq(o.b), 'UInt(1)'],
    ['ne', (o) => o.a.ne(3), 'UInt(1)'],
    ['lt signed', (o) => o.s.lt(o.t), 'UInt(1)'],
    ['le', (o) => o.b.le(o.a), 'UInt(1)'],
    ['gt', (o) => o.a.gt(200), 'UInt(1)'],
    ['ge signed with a negative literal', (o) => o.s.ge(-128), 'UInt(1)'],
    ['shl by a constant grows by the shift', (o) => o.a.shl(3), 'UInt(11)'],
    ['shl by 0 is the operand', (o) => o.a.shl(0), 'UInt(8)'],
    ['shl by a signal keeps the width', (o) => o.a.shl(o.b.trunc(3)), 'UInt(8)'],
    ['shr by a constant keeps the width', (o) => o.a.shr(3), 'UInt(8)'],
    ['shr of SInt keeps the type (arithmetic)', (o) => o.s.shr(2), 'SInt(8)'],
    ['shr by a signal keeps the width', (o) => o.s.shr(o.b), 'SInt(8)'],
    ['andR is a Bool', (o) => o.a.andR(), 'UInt(1)'],
    ['orR is a Bool', (o) => o.s.orR(), 'UInt(1)'],
    ['xorR is a Bool', (o) => o.b.xorR(), 'UInt(1)'],
    ['bits(hi, lo) is hi-lo+1 bits, unsigned', (o) => o.s.bits(6, 2), 'UInt(5)'],
    ['bit(i) is a Bool', (o) => o.a.bit(7), 'UInt(1)'],
    ['bit(expr) is a Bool', (o) => o.a.bit(o.b.trunc(3)), 'UInt(1)'],
    ['part(idx, size) is size bits', (o) => o.a.part(o.c, 4), 'UInt(4)'],
    ['trunc(n) is n bits and keeps the sign', (o) => o.s.trunc(3), 'SInt(3)'],
    ['resize(n) is n bits and keeps the sign', (o) => o.t.resize(12), 'SInt(12)'],
    ['asSInt reinterprets', (o) => o.a.asSInt(), 'SInt(8)'],
    ['asUInt reinterprets', (o) => o.s.asUInt(), 'UInt(8)'],
    ['repeat(n) is n times as wide', (o) => o.b.repeat(3), 'UInt(12)'],
    ['cat is the sum of the widths', (o) => cat(o.a, o.b, o.c), 'UInt(13)'],
    ['mux takes the branch type', (o) => mux(o.c, o.s, o.s), 'SInt(8)'],
    ['a JS number in mux takes the other branch type', (o) => mux(o.c, 3, o.b), 'UInt(4)'],
    ['select takes the option type', (o) => select(o.b.trunc(2), [o.a, o.a, o.a]), 'UInt(8)'],
    ['select of SInt options stays signed', (o) => select(o.c, [o.s, o.s]), 'SInt(8)'],
    ['all is a Bool', (o) => all(o.c, o.a.eq(1), o.b.eq(2)), 'UInt(1)'],
    ['any is a Bool', (o) => any(o.c, o.c), 'UInt(1)'],
    ['lit(v, n) is n bits', () => lit(5, 12), 'UInt(12)'],
    ['lit(v, n, true) is signed', () => lit(-5, 4, true), 'SInt(4)'],
  ];
  for (const [name, build, expected] of rules) {
    it(name, () => {
      expect(typeOf(build)).toBe(expected);
    });
  }

  it('all and any nest as balanced trees', () => {
    const { result } = scratch((m) => {
      const bits = Array.from({ length: 1024 }, (_, i) => m.input(`i${i}`, Bool));
      return [all(...bits), any(...bits)];
    });
    for (const e of result) expect(e.depth).toBeLessThanOrEqual(12);
  });
});

describe('width refusals', () => {
  /** Elaborates `build` and expects the error `text` at the line marked inside it. */
  function refuses(build: (o: Ops, m: ModuleBuilder, at: { next(): void }) => unknown, text: string | RegExp): void {
    const at = marker();
    expectError(() => scratch((m) => build(operands(m), m, at)), at, text);
  }

  it('addWrap and subWrap of different widths', () => {
    refuses((o, _m, at) => {
      at.next();
      return o.a.addWrap(o.b);
    }, "addWrap needs operands of equal width, got 'a' (UInt(8)) and 'b' (UInt(4)); make one match with resize() or trunc()");
    refuses((o, _m, at) => {
      at.next();
      return o.b.subWrap(o.a);
    }, "subWrap needs operands of equal width, got 'b' (UInt(4)) and 'a' (UInt(8))");
  });

  it('bitwise ops of different widths', () => {
    for (const op of ['and', 'or', 'xor'] as const) {
      refuses((o, _m, at) => {
        at.next();
        return o.a[op](o.b);
      }, `${op} needs operands of equal width, got 'a' (UInt(8)) and 'b' (UInt(4))`);
    }
  });

  it('signed and unsigned mixed', () => {
    const mixes: [Where, (o: Ops) => Expr][] = [
      [thisLine(), (o) => o.a.add(o.s)],
      [thisLine(), (o) => o.a.subWrap(o.s)],
      [thisLine(), (o) => o.a.and(o.s)],
      [thisLine(), (o) => o.a.lt(o.s)],
      [thisLine(), (o) => o.s.mul(o.b)],
      [thisLine(), (o) => mux(o.c, o.a, o.s)],
    ];
    for (const [at, build] of mixes) {
      expectError(
        () => scratch((m) => build(operands(m))),
        at,
        /(mixes signed and unsigned operands: .*; convert one with asSInt\(\)\/asUInt\(\))|(mux branches differ)/,
      );
    }
  });

  it('a JS number that does not fit the other operand', () => {
    refuses((o, _m, at) => {
      at.next();
      return o.b.add(16);
    }, 'literal 16 does not fit in UInt(4)');
    refuses((o, _m, at) => {
      at.next();
      return o.a.eq(-1);
    }, 'literal -1 does not fit in UInt(8)');
    refuses((o, _m, at) => {
      at.next();
      return o.t.lt(8);
    }, 'literal 8 does not fit in SInt(4)');
  });

  it('a sized literal that does not fit', () => {
    refuses((_o, _m, at) => {
      at.next();
      return lit(256, 8);
    }, 'literal 256 does not fit in UInt(8)');
    refuses((_o, _m, at) => {
      at.next();
      return lit(-9, 4, true);
    }, 'literal -9 does not fit in SInt(4)');
    refuses((_o, _m, at) => {
      at.next();
      return lit(0.5, 4);
    }, "literal 0.5 is not a whole number in JavaScript's safe range; use a bigint");
    refuses((_o, _m, at) => {
      at.next();
      return lit(0, 0);
    }, 'a literal of width 0: a width must be a whole number >= 1');
  });

  it('a bad width', () => {
    refuses((_o, m, at) => {
      at.next();
      return m.input('x', UInt(0));
    }, 'UInt(0): a width must be a whole number from 1 to 65536');
    refuses((_o, _m, at) => {
      at.next();
      return SInt(1.5);
    }, 'SInt(1.5): a width must be a whole number from 1 to 65536');
  });

  it('out-of-range slices, truncations and shifts', () => {
    const cases: [Where, (o: Ops) => Expr, string][] = [
      [thisLine(), (o) => o.a.bits(8, 0), "bits 8..0 are out of range for 'a' (UInt(8))"],
      [thisLine(), (o) => o.a.bits(2, 3), "bits 2..3 are out of range for 'a' (UInt(8))"],
      [thisLine(), (o) => o.a.bits(3, -1), "bits 3..-1 are out of range for 'a' (UInt(8))"],
      [thisLine(), (o) => o.b.bit(4), "bits 4..4 are out of range for 'b' (UInt(4))"],
      [thisLine(), (o) => o.b.trunc(5), "trunc(5) of 'b' (UInt(4)): the new width must be from 1 to 4"],
      [thisLine(), (o) => o.a.resize(4), "resize(4) of 'a' (UInt(8)) would drop bits; use trunc(4) to say so"],
      [thisLine(), (o) => o.a.shr(8), 'shr(8) of a 8-bit value shifts out every bit'],
      [thisLine(), (o) => o.a.shl(-1), 'shl(-1): a shift must be a whole number >= 0'],
      [thisLine(), (o) => o.a.shl(o.t), 'shl: the shift amount must be unsigned'],
      [thisLine(), (o) => o.a.shr(-2), 'shr(-2): a shift must be a whole number >= 0'],
      [thisLine(), (o) => o.s.shr(o.t), 'shr: the shift amount must be unsigned'],
      [thisLine(), (o) => o.a.part(o.c, 3), 'part(_, 3): the group size must divide the width 8'],
      [thisLine(), (o) => o.a.repeat(0), 'repeat(0): the count must be a whole number >= 1'],
      [thisLine(), () => cat(), 'cat() needs at least one part'],
    ];
    for (const [at, build, text] of cases) expectError(() => scratch((m) => build(operands(m))), at, text);
  });

  it('an index wider than the positions it selects', () => {
    refuses((o, m, at) => {
      const i = m.input('i', UInt(4));
      at.next();
      return o.a.bit(i);
    }, "index 'i' (UInt(4)) is wider than the 3 bits that select among 8 positions of 'a' (UInt(8)); trunc() it");
    refuses((o, m, at) => {
      const i = m.input('i', UInt(2));
      at.next();
      return o.a.part(i, 4);
    }, "index 'i' (UInt(2)) is wider than the 1 bits that select among 2 positions of 'a' (UInt(8))");
    refuses((o, _m, at) => {
      at.next();
      return o.a.bit(o.t.trunc(3));
    }, 'an index must be unsigned');
  });

  it('mux refusals', () => {
    refuses((o, _m, at) => {
      at.next();
      return mux(o.c, o.a, o.b);
    }, "mux branches differ: 'a' (UInt(8)) and 'b' (UInt(4)); resize() or trunc() one");
    refuses((o, _m, at) => {
      at.next();
      return mux(o.a, o.b, o.b);
    }, "mux condition must be 1 bit wide, got 'a' (UInt(8))");
    refuses((o, _m, at) => {
      at.next();
      return mux(o.c, 1, 2);
    }, 'mux of two JS literals has no width; make one a sized literal with lit()');
  });

  it('select and all/any refusals', () => {
    refuses((o, _m, at) => {
      at.next();
      return select(o.c, [o.a, o.b]);
    }, "select options differ in type: 'a' (UInt(8)) and 'b' (UInt(4))");
    refuses((o, _m, at) => {
      at.next();
      return select(o.b, [o.a, o.a, o.a]);
    }, "index 'b' (UInt(4)) is wider than the 2 bits that select among 3 positions");
    refuses((o, _m, at) => {
      at.next();
      return select(o.c, []);
    }, 'select() needs at least one option');
    refuses((o, _m, at) => {
      at.next();
      return all(o.c, o.a);
    }, "all() needs operands of one type, got 'c' (UInt(1)) and 'a' (UInt(8))");
  });
});
