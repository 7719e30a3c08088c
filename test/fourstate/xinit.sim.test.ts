/**
 * F-7, the Verilator half: models built with `--x-initial unique --x-assign unique` start every
 * variable without a reset at a value drawn from a seed, as a 4-state simulator's X could resolve;
 * a design whose results depend on those values behaves differently under different seeds. The
 * system scenario must give the same results under several X seeds as with the normal build.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineModule, UInt } from '../../generator/index.js';
import { cdnaNic } from '../../hdl/nic/top.js';
import { resolveParams } from '../../hdl/params.js';
import { type Simulation, simulate } from '../../sim/index.js';
import { closeSimulations } from '../../testbench/system/harness.js';
import { scenarioPassed } from '../../testbench/system/report.js';
import { runScenario, type ScenarioOptions, type ScenarioResult } from '../../testbench/system/scenario.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';

const sims: Simulation[] = [];
afterAll(async () => {
  for (const s of sims) s.close();
  await closeSimulations();
});

/** A register and a memory without reset, next to a register with one. */
const unreset = defineModule('xinit_probe', {}, (m) => {
  const en = m.input('en');
  const free = m.reg('free', UInt(32));
  const kept = m.reg('kept', UInt(32), { reset: 7 });
  const mem = m.memory('mem', { width: 32, depth: 4 });
  m.when(en, () => {
    free.set(free.addWrap(1));
    kept.set(kept.addWrap(1));
    mem.write(0, free);
  });
  m.output('free_q', UInt(32)).set(free);
  m.output('kept_q', UInt(32)).set(kept);
  // A word never written.
  m.output('word', UInt(32)).set(mem.readAsync(3));
  return {};
});

async function probe(seed: number | null): Promise<{ free: number; kept: number; word: number }> {
  const sim = await simulate(unreset, seed === null ? {} : { xInit: { seed } });
  sims.push(sim);
  sim.ports.en = 0;
  sim.reset();
  sim.tick(1);
  return { free: Number(sim.ports.free_q), kept: Number(sim.ports.kept_q), word: Number(sim.ports.word) };
}

describe('randomized X initialization in Verilator (F-7)', () => {
  // The probe with and without X randomization (one build each; the seed is a run-time choice).
  beforeAll(() => prebuild(unreset, { design: unreset, opts: { xInit: { seed: 1 } } }), BUILD_TIMEOUT);

  // Two small cold builds (normal and xInit): seconds alone, much longer on a loaded machine.
  it('F-7: unreset registers and memories start at 0 normally, at values drawn from the seed with xInit', async () => {
    const normal = await probe(null);
    expect(normal).toEqual({ free: 0, kept: 7, word: 0 });
    const a = await probe(11);
    const b = await probe(12);
    const again = await probe(11);
    // The reset register is unaffected; the others take the seed's values, the same for the same seed.
    expect(a.kept).toBe(7);
    expect(b.kept).toBe(7);
    expect(again).toEqual(a);
    expect([a.free, a.word]).not.toEqual([b.free, b.word]);
    expect(a.free === 0 && a.word === 0).toBe(false);
  }, 600_000);

  it('F-7: a seed outside 1..2^31-1 is refused before anything is built', async () => {
    await expect(simulate(unreset, { xInit: { seed: 0 } })).rejects.toThrow(/1 to 2\^31-1/);
    await expect(simulate(unreset, { xInit: { seed: 1.5 } })).rejects.toThrow(/whole number/);
  });
});

/** What a scenario's report says, without wall time and the harness: the figures the seeds must not move. */
function figures(r: ScenarioResult): unknown {
  const { seconds: _s, harness: _h, ...rest } = r;
  return rest;
}

describe('system scenarios under randomized X initialization (F-7)', () => {
  // The test-profile NIC, normal and with X randomization: built here, not in the tests' time.
  beforeAll(() => {
    const def = cdnaNic(resolveParams('test'));
    return prebuild(def, { design: def, opts: { xInit: { seed: 1 } } });
  }, BUILD_TIMEOUT);

  const scenario: ScenarioOptions = { seed: 3, params: 'test', rounds: 12, keepOpen: true };
  const seeds = [1, 0x5eed, 0x7ffffffe];

  interface Outcome {
    passed: boolean;
    figures: unknown;
    wire: { cycle: number; data: number[] }[];
  }

  async function run(xInit?: { seed: number }): Promise<Outcome> {
    const r = await runScenario({ ...scenario, xInit });
    const h = r.harness;
    if (!h) throw new Error('the scenario closed its harness');
    const wire = h.wire.sent.map((f) => ({ cycle: f.cycle, data: Array.from(f.data) }));
    h.close();
    return { passed: scenarioPassed(r), figures: figures(r), wire };
  }

  it('F-7: the X seeds reach the NIC: its outputs before the first edge differ between seeds', async () => {
    // The model the harness runs (same Verilog, same cache entry), before any edge: registers hold
    // their power-up values, which only the seed decides.
    const def = cdnaNic(resolveParams('test'));
    const before: Record<string, unknown>[] = [];
    for (const seed of seeds.slice(0, 2)) {
      const sim = await simulate(def, { xInit: { seed } });
      sims.push(sim);
      before.push(sim.peekAll());
    }
    expect(before[0]).not.toEqual(before[1]);
  }, 900_000);

  it('F-7: a short scenario on the test profile gives the same report and the same wire under 3 X seeds as with the normal build', async () => {
    const reference = await run();
    // The scenario did exercise the system: frames both ways, which the seeds must not change.
    expect(reference.wire.length).toBeGreaterThan(20);
    for (const seed of seeds) {
      const got = await run({ seed });
      expect(got.passed, `X seed ${seed}: scenario passed`).toBe(reference.passed);
      expect(got.wire, `X seed ${seed}: frames on the wire`).toEqual(reference.wire);
      expect(got.figures, `X seed ${seed}: report figures`).toEqual(reference.figures);
    }
  }, 1_800_000);
});
