/**
 * The two proof engines (fpga/formal.ts: yosys' sat, and z3 through fpga/smtBmc.ts) give the same
 * verdicts on the same proofs: induction, BMC with a counterexample and its line, covers reached and
 * not. Skipped (with a message) where z3 is not installed.
 */
import { describe, expect, it } from 'vitest';
import { type FormalOptions, parseVcd, proveDesign, reachCover } from '../../fpga/formal.js';
import { PROOFS, proofParams } from '../../fpga/proofs.js';
import { z3Version } from '../../fpga/smtBmc.js';
import { defineModule, UInt } from '../../generator/index.js';

const counter = defineModule('f_engines_counter', {}, (m) => {
  const en = m.input('en');
  const c = m.reg('c', UInt(4), { reset: 0 });
  m.when(en.and(c.ne(9)), () => c.set(c.addWrap(1)));
  m.output('out', UInt(4)).set(c);
  m.assert(c.le(9), 'the count stays within its limit');
  m.when(m.past(en).and(m.past(c).ne(9)), () => m.assert(c.eq(m.past(c).addWrap(1)), 'each enable counts one'));
  m.cover(c.eq(9), 'reaches the limit');
  return { en };
});

const wrong = defineModule('f_engines_wrong', {}, (m) => {
  const en = m.input('en');
  const c = m.reg('c', UInt(4), { reset: 0 });
  m.when(en, () => c.set(c.addWrap(1)));
  m.output('out', UInt(4)).set(c);
  m.assert(c.ne(5), 'never five');
  return { en };
});

if (!z3Version)
  console.warn('test/formal/engines.test.ts: z3 is not on the PATH (scripts/setup.sh installs it); the comparison is skipped');

describe.skipIf(!z3Version)('proof engines: z3 gives the verdicts of yosys sat', { timeout: 300_000 }, () => {
  const on = (engine: 'yosys' | 'z3', name: string): FormalOptions => ({ engine, name: `test-engines-${engine}-${name}` });

  it('induction: both prove the counter at the same length', async () => {
    const [y, z] = await Promise.all([
      proveDesign(counter, { kind: 'induction', maxSteps: 4 }, on('yosys', 'counter')),
      proveDesign(counter, { kind: 'induction', maxSteps: 4 }, on('z3', 'counter')),
    ]);
    expect(y.status).toBe('proven');
    expect({ status: z.status, depth: z.depth, failed: z.failed }).toEqual({ status: y.status, depth: y.depth, failed: [] });
  });

  it('BMC: both find the counterexample, with the property, its line and a VCD whose wire goes low', async () => {
    for (const engine of ['yosys', 'z3'] as const) {
      const r = await proveDesign(wrong, { kind: 'bmc', depth: 8 }, on(engine, 'wrong'));
      expect(r.status, engine).toBe('failed');
      expect(r.depth, engine).toBe(8);
      expect(r.failed.map((f) => f.message)).toEqual(['never five']);
      expect(r.failed[0]?.loc).toMatch(/^test\/formal\/engines\.test\.ts:\d+$/);
      expect(r.trace).toMatch(/\.vcd$/);
    }
    // Five enables after the reset cycle: the earliest failure is in step 7, so a bound of 4 holds on both.
    for (const engine of ['yosys', 'z3'] as const) {
      const r = await proveDesign(wrong, { kind: 'bmc', depth: 4 }, on(engine, 'wrong-short'));
      expect(r.status, engine).toBe('bounded');
    }
  });

  it('covers: reached on both (z3 in the earliest step, which sat never beats), and not reached within too short a bound', async () => {
    const y = await reachCover(counter, 'f_cover_0', 12, on('yosys', 'counter'));
    const z = await reachCover(counter, 'f_cover_0', 12, on('z3', 'counter'));
    expect(y.reached && z.reached).toBe(true);
    // Step 1 resets, the count is 0 in step 2 and 9 after nine enables: step 11 at the earliest.
    expect(z.step).toBe(11);
    expect(y.step).toBeGreaterThanOrEqual(11);
    const trace = parseVcd(await import('node:fs/promises').then((fs) => fs.readFile(z.trace as string, 'utf8')));
    expect(trace.get('c')?.get(11)).toBe('1001');
    for (const engine of ['yosys', 'z3'] as const) {
      expect((await reachCover(counter, 'f_cover_0', 8, on(engine, 'counter-short'))).reached, engine).toBe(false);
    }
  });

  it('V-3 (a NIC block): both prove it by induction at the same length and catch its broken variant in the same step', async () => {
    const spec = PROOFS.find((s) => s.id === 'V-3')!;
    const results = [];
    for (const engine of ['yosys', 'z3'] as const) {
      const ok = await proveDesign(spec.build(proofParams(), false), spec.mode, on(engine, 'v3'));
      const bad = await proveDesign(spec.build(proofParams(), true), { kind: 'bmc', depth: spec.brokenDepth }, on(engine, 'v3-broken'));
      results.push({
        status: ok.status,
        depth: ok.depth,
        broken: bad.status,
        brokenStep: bad.depth,
        // A property of V-3 (the property itself or one of its invariants): which of them fail in the
        // step of the counterexample depends on the trace each solver picks (issue 16's dispatcher
        // change led z3 to a trace where only an invariant fails in that step).
        caught: bad.failed.some((f) => f.message.startsWith('V-3')),
      });
    }
    expect(results[0]).toMatchObject({ status: 'proven', depth: 1, broken: 'failed', caught: true });
    expect(results[1]).toEqual(results[0]);
  });
});
