/**
 * The whole system at the `100g` profile's widths (512-bit stream and DMA; 16 contexts instead of 1024
 * to keep the build small): the demo's scenario (guests, mixed traffic, a hostile guest, fault rounds)
 * against the reference model, where a 60-byte frame is a single beat on the wire side in both
 * directions and one DMA beat holds four descriptors. Also with a 256-bit DMA path.
 * Without the demo's fault rounds: with them, every DMA path wider than 64 bits (the 10g profile
 * included) disagrees with the model after some bus errors (docs/architecture.md, Known limits).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveParams } from '../../hdl/params.js';
import { closeSimulations, nicSimulation } from '../../testbench/system/harness.js';
import { scenarioPassed } from '../../testbench/system/report.js';
import { Scenario } from '../../testbench/system/scenario.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { withSeed } from '../models/seeded.js';

const configs = [
  { name: '512-bit stream and DMA (the 100g profile, 16 contexts)', params: resolveParams('100g', { N_CTX: 16 }) },
  { name: '512-bit stream, 256-bit DMA', params: resolveParams('10g', { N_CTX: 16, STREAM_W: 512, DMA_W: 256 }) },
];
beforeAll(() => Promise.all(configs.map((c) => nicSimulation(c.params))), BUILD_TIMEOUT);
afterAll(() => closeSimulations());

describe('the system with a 512-bit stream', () => {
  for (const { name, params } of configs) {
    it(`${name}: the scenario agrees with the reference model window by window, one-beat frames included`, async () => {
      await withSeed(async (_rng, seed) => {
        const s = await Scenario.create({ seed, params, guests: 4, rounds: 12 });
        const r = await s.run();
        expect(r.agreement.mismatches.slice(0, 5)).toEqual([]);
        expect(r.agreement.windows).toBeGreaterThanOrEqual(12);
        expect(scenarioPassed(r)).toBe(true);
      });
    }, 120_000);
  }
});
