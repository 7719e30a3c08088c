/**
 * Seeded fault campaigns on the whole system (F-5, F-8): random bus errors mixed into the scenario's
 * traffic and hostile guest, the RTL against the reference model, the DMA monitor on. Each run takes
 * SEED from the environment (or a fresh one) and names it on failure; long runs are made by hand with
 * `npx cdna fuzz --faults --seed S --cycles 10000000` (docs/testbench.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveParams } from '../../hdl/params.js';
import { stalls } from '../../testbench/axi/patterns.js';
import { Rng } from '../../testbench/runtime/random.js';
import { FAULT_TARGETS } from '../../testbench/system/fault-campaign.js';
import { closeSimulations, nicSimulation } from '../../testbench/system/harness.js';
import { formatReport, scenarioPassed } from '../../testbench/system/report.js';
import { runScenario, type ScenarioResult } from '../../testbench/system/scenario.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { withSeed } from '../models/seeded.js';

// The NIC is built before the tests (a cold build takes minutes): no test waits for it.
beforeAll(() => nicSimulation(resolveParams('test')), BUILD_TIMEOUT);

afterAll(async () => {
  await closeSimulations();
});

function passOrReport(r: ScenarioResult): NonNullable<ScenarioResult['faults']> {
  if (!scenarioPassed(r)) throw new Error(formatReport(r).join('\n'));
  if (!r.faults) throw new Error('the run had no fault campaign');
  return r.faults;
}

describe('fault campaigns on the system (seeded)', () => {
  it("F-5: random bus errors on one context's memory: every other context's frames are delivered intact, once, in order; the faulted context's errors are all counted, none reported as a success", async () => {
    await withSeed(async (_rng, seed) => {
      const victim = 0;
      const r = await runScenario({
        seed,
        rounds: 24,
        timing: 'random',
        // Buffers, rings and completion record of context 0 (not the interrupt ring, which is everyone's).
        faults: { rounds: 1, victim, targets: FAULT_TARGETS.filter((t) => t !== 'intr-entry'), rate: [0.2, 0.8] },
      });
      const f = passOrReport(r);
      const report = () => formatReport(r).join('\n');
      // Every fault hit the victim's transfers, and some did.
      expect(f.injected.length, report()).toBeGreaterThan(0);
      expect(
        f.injected.every((x) => x.ctx === victim),
        report(),
      ).toBe(true);
      // Every failed burst is in the victim's DMA_ERR counters, but descriptor fetches that were already
      // stale (the scoreboard checks the bounds per context, window by window).
      const counted = f.dmaErrCounted.tx + f.dmaErrCounted.rx;
      expect(counted, report()).toBeGreaterThanOrEqual(f.failedBursts - f.failedFetches);
      expect(counted, report()).toBeLessThanOrEqual(f.failedBursts);
      expect(f.falseSuccesses).toEqual([]);
      // The others kept exchanging frames (their order and integrity: the scenario's delivery check).
      const others = r.guests.filter((g) => g.role === 'guest' && g.ctx !== victim);
      expect(
        others.reduce((n, g) => n + g.rxFrames, 0),
        report(),
      ).toBeGreaterThan(10);
      expect(
        others.every((g) => g.rxErrors === 0 && g.dropped === 0),
        report(),
      ).toBe(true);
    });
  });

  it('F-8: a short random-fault campaign (bus errors, latencies of thousands of cycles, long back-pressure): no hang, no DMA outside grants, no failed transfer reported as a success, every frame delivered or counted as an error', async () => {
    await withSeed(async (_rng, seed) => {
      const p = new Rng(seed ^ 0x5eed);
      const r = await runScenario({
        seed,
        rounds: Number.POSITIVE_INFINITY,
        maxCycles: 100_000,
        timing: 'slow',
        memory: {
          readLatency: [200, 3000],
          writeLatency: [100, 2000],
          arready: stalls(p.fork(), [20, 400], [200, 2500]),
          bvalid: stalls(p.fork(), [20, 400], [200, 2500]),
        },
        // Every round with a fault rule: 100,000 cycles of slow memory hold as few as three rounds, and
        // with a share of 0.8 some seeds drew none (seed 2696325463).
        faults: { rounds: 1, rate: [0.3, 1] },
        capture: false,
      });
      const f = passOrReport(r);
      expect(r.cycles).toBeGreaterThanOrEqual(100_000);
      expect(r.protection.violations).toEqual([]);
      expect(f.falseSuccesses).toEqual([]);
      expect(f.rounds.length, formatReport(r).join('\n')).toBeGreaterThan(0);
    });
  });
});
