/**
 * An endless run (a fuzz) tears a context down every 40 rounds and gives it to a new guest. The old
 * guest's pages must go back to the pool (issue 12: without it a run ran out of pages near 7M cycles).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveParams } from '../../hdl/params.js';
import { closeSimulations, nicSimulation } from '../../testbench/system/harness.js';
import { runScenario } from '../../testbench/system/scenario.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';

beforeAll(() => nicSimulation(resolveParams('test')), BUILD_TIMEOUT);
afterAll(async () => {
  await closeSimulations();
});

describe('hand-overs in an endless run', () => {
  it('P-12: every torn-down guest gives its pages back, so the pool does not shrink from one hand-over to the next', async () => {
    const r = await runScenario({
      seed: 7,
      rounds: Number.POSITIVE_INFINITY,
      maxCycles: 400_000,
      capture: false,
      saturate: false,
      keepOpen: true,
    });
    const sys = r.harness!;
    try {
      expect(r.problems).toEqual([]);
      expect(r.agreement.mismatches).toEqual([]);
      const gone = r.guests.filter((g) => g.tornDown);
      // The run reached several hand-overs, and none of the departed guests owns a page any more.
      expect(gone.length).toBeGreaterThanOrEqual(2);
      for (const g of gone) expect(sys.pagesOwnedBy(g.guest), `guest ${g.guest}`).toEqual([]);
    } finally {
      sys.close();
    }
  }, 300_000);
});
