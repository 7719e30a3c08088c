/**
 * The emitted Verilog computes what the DSL says: every operator (signed and unsigned, with the
 * extensions and part selects the emitter inserts) and the when/switch statements are simulated in
 * Verilator on random inputs and compared with a reference interpreter of the IR (evaluate.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { any, cat, defineModule, type Expr, lit, type ModuleDef, mux, SInt, select, UInt } from '../../generator/index.js';
import { simulate } from '../../sim/index.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { withSeed } from '../models/seeded.js';
import { expectLintClean } from './design.js';
import { evaluateModule } from './evaluate.js';

const sims: { close(): void }[] = [];
afterAll(() => {
  for (const s of sims) s.close();
});

const inputWidths = { a: 8, b: 5, s: 8, t: 5, i: 2, j: 3, c: 1, w: 40 } as const;

/** One output per operator form; every expression reads the inputs above. */
const operators = defineModule('operators', {}, (m) => {
  const a = m.input('a', UInt(8));
  const b = m.input('b', UInt(5));
  const s = m.input('s', SInt(8));
  const t = m.input('t', SInt(5));
  const i = m.input('i', UInt(2));
  const j = m.input('j', UInt(3));
  const c = m.input('c');
  const w = m.input('w', UInt(40));
  const out: [string, Expr][] = [
    ['add', a.add(b)],
    ['sub', b.sub(a)],
    ['add_s', s.add(t)],
    ['sub_s', t.sub(s)],
    ['addwrap', a.addWrap(0xf0)],
    ['subwrap_s', s.subWrap(t.resize(8))],
    ['mul', a.mul(b)],
    ['mul_s', s.mul(t)],
    ['and_', a.and(b.resize(8))],
    ['or_', s.or(-16)],
    ['xor_', b.xor(a.trunc(5))],
    ['not_s', t.not()],
    ['neg_s', s.neg()],
    ['neg_u', b.neg()],
    ['eq', a.eq(b)],
    ['ne', s.ne(t)],
    ['lt', a.lt(b)],
    ['lt_s', s.lt(t)],
    ['le_s', t.le(s)],
    ['gt', b.gt(a)],
    ['ge_s', s.ge(-3)],
    ['lt_slices_s', s.trunc(4).lt(t.trunc(4))],
    ['shl_k', a.shl(3)],
    ['shl_k_s', t.shl(2)],
    ['shl_v', a.shl(j)],
    ['shr_k', a.shr(3)],
    ['shr_k_s', s.shr(3)],
    ['shr_v', a.shr(j)],
    ['shr_v_s', s.shr(j)],
    // Unary operators on unary operators: printed with parentheses (`^~a` would be the XNOR reduction).
    ['not_not', a.not().not()],
    ['xorr_not', a.not().xorR()],
    ['andr_not', b.not().andR()],
    ['andr', a.andR()],
    ['orr', b.orR()],
    ['xorr', w.xorR()],
    ['bits', w.bits(37, 9)],
    ['bit_k', a.bit(7)],
    ['bit_v', a.bit(j)],
    ['bit_v_s', s.bit(j)],
    ['part_pow2', w.bits(31, 0).part(i, 8)],
    ['part_odd', a.add(b).part(i.trunc(2), 3)],
    ['trunc_s', s.trunc(3)],
    ['resize_s', t.resize(11)],
    ['resize_u', b.resize(11)],
    ['as_s', a.asSInt()],
    ['as_u', t.asUInt()],
    ['repeat3', b.repeat(3)],
    ['concat', cat(t.asUInt(), c, a)],
    ['mux_s', mux(c, s, t.resize(8))],
    ['pick', select(i, [a, b.resize(8), s.asUInt(), lit(0x5a, 8)])],
    ['pick_s', select(c, [s, t.resize(8)])],
    ['wide', w.add(w.bits(39, 20)).xor(cat(a, a, a, a, a).resize(41))],
    ['nested_s', s.add(t).mul(t.sub(s)).shr(2).trunc(12).lt(s.resize(12).add(100).trunc(12))],
    ['slice_of_sum', a.add(b).bits(8, 4)],
    [
      'sext_of_expr',
      s
        .addWrap(t.resize(8))
        .resize(12)
        .add(lit(-7, 4, true)),
    ],
    ['any_', any(c, a.eq(3), b.eq(4), s.lt(-100))],
    ['ext_of_ext_s', t.resize(8).add(s)],
    ['cast_ext_s', a.asSInt().resize(10).sub(b.asSInt())],
  ];
  for (const [name, e] of out) m.output(name, e.type).set(e);
  return {};
});

/** Combinational statements: when chains, switches, partial assignments, a block that reads itself. */
const statements = defineModule('statements', {}, (m) => {
  const a = m.input('a', UInt(8));
  const b = m.input('b', UInt(5));
  const i = m.input('i', UInt(2));
  const j = m.input('j', UInt(3));
  const c = m.input('c');
  const w = m.input('w', UInt(40));
  m.input('s', SInt(8));
  m.input('t', SInt(5));
  const chain = m.output('chain', UInt(4));
  chain.set(0);
  m.when(c, () => chain.set(1))
    .elseWhen(a.bit(0), () => chain.set(2))
    .elseWhen(b.eq(3), () => {
      chain.set(3);
      chain.at(3).set(1);
    })
    .otherwise(() => chain.set(lit(9, 4)));
  const sw = m.output('sw', UInt(8));
  m.switch(i)
    .is(0, () => sw.set(a))
    .is([1, 2], () => {
      sw.set(b.resize(8));
      m.when(c, () => sw.atIndex(j).set(1));
    })
    .default(() => sw.set(0xff));
  const parts = m.output('parts', UInt(8));
  parts.at(3, 0).set(a.bits(7, 4));
  parts.at(7, 4).set(b.trunc(4));
  m.when(c, () => parts.atPart(i.trunc(1), 4).set(0));
  // x and y share an always block in the source; y reads x, whose final value is set after (a
  // default x.set(a) before the when would be an assignment overlap with that last one).
  const x = m.output('x', UInt(8));
  const y = m.output('y', UInt(8));
  y.set(0);
  m.when(c, () => {
    x.set(b.resize(8));
    y.set(x.addWrap(1));
  });
  x.set(a.xor(0x0f));
  const last = m.output('last', UInt(8));
  last.set(w.bits(7, 0));
  m.switch(j)
    .is(7, () => last.set(a))
    .is(6, () => last.set(a.not()));
  return {};
});

function randomInputs(rng: { next(): number }): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const [name, width] of Object.entries(inputWidths)) {
    let v = 0n;
    for (let k = 0; k < width; k++) if (rng.next() < 0.5) v |= 1n << BigInt(k);
    m.set(name, v);
  }
  return m;
}

async function checkAgainstReference(def: ModuleDef<unknown>, vectors: number): Promise<void> {
  await expectLintClean(def);
  const sim = await simulate<Record<string, number | bigint>>(def);
  sims.push(sim);
  const outputs = def.builder.ports.filter((p) => p.kind === 'output');
  await withSeed((rng) => {
    for (let v = 0; v < vectors; v++) {
      const inputs = randomInputs(rng);
      for (const [name, value] of inputs) {
        const width = inputWidths[name as keyof typeof inputWidths];
        sim.ports[name] = width > 32 ? value : Number(value);
      }
      sim.settle();
      const want = evaluateModule(def, inputs);
      for (const p of outputs) {
        const expected = want.get(p.name);
        if (expected === null || expected === undefined) continue;
        const got = BigInt(sim.ports[p.name] as number | bigint) & ((1n << BigInt(p.width)) - 1n);
        expect(got, `${p.name} for ${[...inputs].map(([k, x]) => `${k}=${x}`).join(' ')}`).toBe(expected);
      }
    }
  });
}

describe('the emitted Verilog computes what the DSL means', () => {
  // Both models are built here, not inside a test's timeout (a cold build under load takes minutes).
  beforeAll(() => prebuild(operators, statements), BUILD_TIMEOUT);

  it('every operator, signed and unsigned', async () => {
    await checkAgainstReference(operators, 2000);
  });

  it('when chains, switches, partial assignments and last-assignment-wins', async () => {
    await checkAgainstReference(statements, 2000);
  });
});
