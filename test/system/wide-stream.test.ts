/**
 * The whole system at DMA paths wider than 64 bits: the demo's scenario (guests, mixed traffic, a
 * hostile guest, bus-fault rounds) against the reference model at the `100g` profile's widths
 * (512-bit stream and DMA; 16 contexts instead of 1024 to keep the build small), where a 60-byte
 * frame is a single beat on the wire side in both directions and one DMA beat holds four
 * descriptors; at the `10g` profile's (64-bit stream, 128-bit DMA, where two contexts' completion
 * records share a beat); and with a 256-bit DMA path.
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
  { name: '64-bit stream, 128-bit DMA (the 10g profile, 16 contexts)', params: resolveParams('10g', { N_CTX: 16 }) },
  { name: '512-bit stream, 256-bit DMA', params: resolveParams('10g', { N_CTX: 16, STREAM_W: 512, DMA_W: 256 }) },
];
beforeAll(() => Promise.all(configs.map((c) => nicSimulation(c.params))), BUILD_TIMEOUT);
afterAll(() => closeSimulations());

describe('the system with wide stream and DMA paths, bus faults included', () => {
  for (const { name, params } of configs) {
    it(`${name}: the scenario with its fault rounds agrees with the reference model window by window (F-1..F-7 at this width)`, async () => {
      await withSeed(async (_rng, seed) => {
        const s = await Scenario.create({ seed, params, guests: 4, faults: true });
        const r = await s.run();
        expect(r.agreement.mismatches.slice(0, 5)).toEqual([]);
        expect(r.agreement.windows).toBeGreaterThanOrEqual(12);
        expect(r.faults?.failedBursts ?? 0).toBeGreaterThan(0);
        expect(scenarioPassed(r)).toBe(true);
      });
    }, 120_000);
  }
});
