/**
 * A module is defined once per (name, params), so a body must not depend on anything else: a value
 * captured by its closure would otherwise give every instance the first call's hardware. The body
 * runs at every call and a different result is refused, naming the first difference; the value
 * passed in params gives one module per value, which the simulation below checks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineModule, emitDesign, type ModuleDef, type OutPort, UInt } from '../../generator/index.js';
import { simulate } from '../../sim/index.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { expectLintClean } from './design.js';
import { expectError, marker, nextLine } from './where.js';

const sims: { close(): void }[] = [];
afterAll(() => {
  for (const s of sims) s.close();
});

const here = nextLine();
const closureKonst = (v: number) =>
  defineModule('closure_konst', {}, (m) => {
    const o = m.output('o', UInt(8));
    o.set(v); // the value from the closure: not a parameter
    return { o };
  });

// The defineModule call and the set() of the captured value.
const defined = { file: here.file, line: here.line + 1 };
const setLine = { file: here.file, line: here.line + 3 };

const paramKonst = (v: number) =>
  defineModule('param_konst', { VALUE: v }, (m) => {
    const o = m.output('o', UInt(8));
    o.set(v);
    return { o };
  });

/** A parent with an instance of each value; its outputs must be 1 and 2. */
function twoKonsts(make: (v: number) => ModuleDef<{ o: OutPort }>, name: string): ModuleDef<unknown> {
  return defineModule(name, {}, (m) => {
    const one = m.instance('u_one', make(1));
    const two = m.instance('u_two', make(2));
    m.output('one', UInt(8)).set(one.io.o);
    m.output('two', UInt(8)).set(two.io.o);
    return {};
  });
}

describe('a definition is what its body elaborates to', () => {
  beforeAll(() => prebuild(twoKonsts(paramKonst, 'param_pair')), BUILD_TIMEOUT);

  it('refuse a body that captures a value in its closure, naming the difference and the fix', () => {
    closureKonst(1);
    const err = expectError(
      () => closureKonst(2),
      defined,
      /module 'closure_konst' elaborates to different hardware with the same parameters \(none\): its body depends on a value that is not a parameter .*pass the value in params/,
      [setLine],
    );
    expect(err.message).toContain('the first difference: this call built at');
  });

  it('refuse it inside a parent too, before any Verilog is written', () => {
    expect(() => twoKonsts(closureKonst, 'closure_pair')).toThrow(/closure_konst' elaborates to different hardware/);
  });

  it('refuse a closure that changes a port width', () => {
    const at = nextLine();
    const wide = (w: number) => defineModule('closure_width', {}, (m) => m.output('o', UInt(w)).set(0));
    wide(4);
    expectError(() => wide(5), at, "module 'closure_width' elaborates to different hardware");
  });

  it('refuse a body that reads mutable state', () => {
    let calls = 0;
    const at = nextLine();
    const counted = () => defineModule('mutable_state', {}, (m) => m.output(`o${calls++}`).set(0));
    counted();
    expectError(counted, at, "module 'mutable_state' elaborates to different hardware");
  });

  it('return the first definition when the body elaborates to the same hardware again', () => {
    let runs = 0;
    const same = (v: number) =>
      defineModule('same_konst', { V: v }, (m) => {
        runs++;
        const o = m.output('o', UInt(8));
        o.set(v);
        return { o };
      });
    expect(same(3)).toBe(same(3));
    expect(runs).toBe(2);
  });

  it('give one module per value passed in params: two modules, outputs 1 and 2 in simulation', async () => {
    const top = twoKonsts(paramKonst, 'param_pair');
    const modules = emitDesign(top);
    expect(modules.map((m) => m.name)).toEqual(['param_konst__VALUE_1', 'param_konst__VALUE_2', 'param_pair']);
    expect(modules[0]?.text).toContain("assign o = 8'd1;");
    expect(modules[1]?.text).toContain("assign o = 8'd2;");
    await expectLintClean(top);
    const sim = await simulate<{ one: number; two: number }>(top);
    sims.push(sim);
    sim.settle();
    expect([sim.ports.one, sim.ports.two]).toEqual([1, 2]);
  });

  it('still refuse two different bodies under one name and parameter set', () => {
    const at = marker();
    defineModule('two_bodies', { N: 1 }, (m) => m.output('o').set(0));
    const again = () => {
      at.next();
      return defineModule('two_bodies', { N: 1 }, (m) => m.output('p').set(1));
    };
    expectError(again, at, "two different bodies define module 'two_bodies' with the same parameters");
  });
});
