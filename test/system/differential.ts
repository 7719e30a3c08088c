/** A seeded differential scenario run for tests: fails with the scenario's report and the seed. */
import { expect } from 'vitest';
import { formatReport, scenarioPassed } from '../../testbench/system/report.js';
import { runScenario, type ScenarioOptions } from '../../testbench/system/scenario.js';
import { withSeed } from '../models/seeded.js';

/** Runs a scenario and fails with its report (mismatches, violations, problems) unless it passed. */
export async function differential(o: Omit<ScenarioOptions, 'seed'>): Promise<void> {
  await withSeed(async (_rng, seed) => {
    const r = await runScenario({ ...o, seed });
    if (!scenarioPassed(r)) throw new Error(formatReport(r).join('\n'));
    // The run did exercise the system: traffic both ways, attacks, interrupts, many windows.
    expect(r.wire.sent).toBeGreaterThan(20);
    expect(r.guests.reduce((n, g) => n + g.rxFrames, 0)).toBeGreaterThan(10);
    expect(r.interrupts.handlerRuns).toBeGreaterThan(0);
    expect(r.agreement.windows).toBeGreaterThan(2 * r.rounds);
    if (o.hostile !== false) expect(r.protection.attempts.length).toBeGreaterThan(0);
  });
}
