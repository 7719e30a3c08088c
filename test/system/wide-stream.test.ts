/**
 * The whole system on a 512-bit stream (issue 16's 100G width, with the 256-bit DMA path): the demo's
 * scenario (guests, mixed traffic, a hostile guest, fault rounds) against the reference model, where
 * a 60-byte frame is a single beat on the wire side in both directions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveParams } from '../../hdl/params.js';
import { closeSimulations, nicSimulation } from '../../testbench/system/harness.js';
import { scenarioPassed } from '../../testbench/system/report.js';
import { Scenario } from '../../testbench/system/scenario.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { withSeed } from '../models/seeded.js';

const params = resolveParams('10g', { N_CTX: 16, STREAM_W: 512, DMA_W: 256 });
beforeAll(() => nicSimulation(params), BUILD_TIMEOUT);
afterAll(() => closeSimulations());

describe('the system with a 512-bit stream', () => {
  it('the scenario agrees with the reference model window by window, one-beat frames included', async () => {
    await withSeed(async (_rng, seed) => {
      const s = await Scenario.create({ seed, params, guests: 4, rounds: 12, faults: { rounds: 0.3, rate: [0.7, 1] } });
      const r = await s.run();
      expect(r.agreement.mismatches.slice(0, 5)).toEqual([]);
      expect(r.agreement.windows).toBeGreaterThanOrEqual(12);
      expect(scenarioPassed(r)).toBe(true);
    });
  }, 120_000);
});
