/**
 * Assignment overlap: an assignment that later assignments in the same scope override entirely has
 * no effect, and is refused naming both lines. Conditional overrides, refinements by slices and
 * wire defaults (`init`) stay legal, and their meaning (last assignment wins) is checked on the
 * reference interpreter.
 */
import { describe, expect, it } from 'vitest';
import { defineModule, type ModuleBuilder, UInt } from '../../generator/index.js';
import { scratch } from './design.js';
import { evaluateModule } from './evaluate.js';
import { expectError, type Marker, marker } from './where.js';

/** Expects the overlap error at `later` (the overriding assignment), naming `first` too. */
function refusesOverlap(
  build: (m: ModuleBuilder, first: Marker, later: Marker) => void,
  text: string | RegExp = 'assignment overlap',
): void {
  const first = marker();
  const later = marker();
  expectError(() => scratch((m) => build(m, first, later)), later, text, [first]);
}

const child = defineModule('overlap_child', {}, (m) => {
  const x = m.input('x', UInt(4));
  const o = m.output('o', UInt(4));
  o.set(x);
  return { x, o };
});

describe('assignment overlap', () => {
  it('refuse two full assignments of one signal in the same scope, naming both lines', () => {
    refusesOverlap((m, first, later) => {
      const a = m.input('a', UInt(8));
      const b = m.input('b', UInt(8));
      const y = m.output('y', UInt(8));
      first.next();
      y.set(a);
      later.next();
      y.set(b);
    }, /assignment overlap in module scratch\d+: this assignment overrides every bit of 'y' that the assignment at test\/dsl\/overlap\.test\.ts:\d+ drives, in the same scope, so that one has no effect/);
  });

  it('refuse it inside one when arm, and for registers', () => {
    refusesOverlap((m, first, later) => {
      const c = m.input('c');
      const r = m.reg('r', UInt(4), { reset: 0 });
      m.output('o', UInt(4)).set(r);
      m.when(c, () => {
        first.next();
        r.set(1);
        m.when(c, () => r.set(3)); // nested: not an overlap by itself
        later.next();
        r.set(2);
      });
    });
  });

  it('refuse a full assignment made useless by slices that together cover it', () => {
    const first = marker();
    const lo = marker();
    const hi = marker();
    const e = expectError(
      () =>
        scratch((m) => {
          const a = m.input('a', UInt(8));
          const y = m.output('y', UInt(8));
          first.next();
          y.set(a);
          lo.next();
          y.at(3, 0).set(0);
          hi.next();
          y.at(7, 4).set(0);
        }),
      hi,
      "this assignment and 1 before it override every bit of 'y'",
      [first, lo],
    );
    expect(e.message).toContain('also overriding it at');
  });

  it('refuse a dynamic-index assignment that a later full one overrides, and a repeated connection', () => {
    refusesOverlap((m, first, later) => {
      const i = m.input('i', UInt(3));
      const y = m.output('y', UInt(8));
      y.set(0);
      first.next();
      y.atIndex(i).set(1);
      later.next();
      y.set(2);
    });
    refusesOverlap((m, first, later) => {
      const a = m.input('a', UInt(4));
      const u = m.instance('u', child);
      first.next();
      u.io.x.set(a);
      later.next();
      u.io.x.set(0);
      m.output('o', UInt(4)).set(u.io.o);
    }, /every bit of 'u_x'/);
  });

  it('accept a default with a conditional override, a refined slice, an init and a dynamic override', () => {
    const { def } = scratch((m) => {
      const c = m.input('c');
      const a = m.input('a', UInt(8));
      const i = m.input('i', UInt(3));
      const y = m.output('y', UInt(8));
      y.set(0);
      m.when(c, () => y.set(1));
      const z = m.output('z', UInt(8));
      z.set(a);
      z.at(0).set(1); // refines bit 0; bits 7:1 keep a
      z.atIndex(i).set(0);
      const w = m.wire('w', UInt(8), { init: 5 });
      w.set(a); // an init is a default: no overlap
      m.output('v', UInt(8)).set(w);
      const s = m.output('s', UInt(8));
      m.switch(i)
        .is(0, () => s.set(1))
        .default(() => s.set(2));
      m.when(c, () => s.set(3)); // overrides conditionally: legal
    });
    const out = (c: bigint, a: bigint, i: bigint) =>
      evaluateModule(
        def,
        new Map([
          ['c', c],
          ['a', a],
          ['i', i],
        ]),
      );
    expect(out(0n, 0xf0n, 7n)).toEqual(
      new Map([
        ['y', 0n],
        ['z', 0x71n],
        ['v', 0xf0n],
        ['s', 2n],
      ]),
    );
    expect(out(1n, 0xf0n, 0n)).toEqual(
      new Map([
        ['y', 1n],
        ['z', 0xf0n],
        ['v', 0xf0n],
        ['s', 3n],
      ]),
    );
  });
});
