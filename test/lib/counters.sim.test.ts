import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saturatingCounter, upCounter } from '../../generator/lib/index.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { VariantPool } from '../fixtures/variants.js';
import { withSeed } from '../models/seeded.js';

type UpPorts = Record<'enable' | 'clear' | 'count' | 'wrap', number>;
type SatPorts = Record<'inc' | 'step' | 'clear' | 'count' | 'saturated', number>;

// Every counter in one model (test/fixtures/variants.ts): one cold build instead of five.
const pool = new VariantPool('counter_variants', [
  upCounter({ width: 4, max: 9 }),
  upCounter({ width: 3 }),
  upCounter({ width: 1 }),
  saturatingCounter({ width: 4 }),
  saturatingCounter({ width: 8, stepWidth: 4 }),
]);
beforeAll(() => pool.build(), BUILD_TIMEOUT);
afterAll(() => pool.close());

describe('upCounter in simulation', () => {
  for (const { width, max } of [
    { width: 4, max: 9 },
    { width: 3, max: 7 },
    { width: 1, max: 1 },
  ]) {
    it(`width ${width}, max ${max}: counts enabled edges modulo ${max + 1}, clears, strobes wrap`, async () => {
      const sim = pool.sim<UpPorts>(upCounter({ width, max: max === (1 << width) - 1 ? undefined : max }));
      sim.ports.enable = 0;
      sim.ports.clear = 0;
      sim.reset();
      await withSeed((rng) => {
        let value = 0;
        let wraps = 0;
        for (let c = 0; c < 1000; c++) {
          sim.ports.enable = rng.chance(0.7) ? 1 : 0;
          sim.ports.clear = rng.chance(0.03) ? 1 : 0;
          sim.tick();
          const s = sim.sampled;
          expect(s.count, `cycle ${c}`).toBe(value);
          expect(s.wrap, `cycle ${c}`).toBe(s.enable === 1 && value === max ? 1 : 0);
          if (s.wrap) wraps++;
          if (s.clear) value = 0;
          else if (s.enable) value = value === max ? 0 : value + 1;
        }
        expect(wraps).toBeGreaterThan(0);
      });
    });
  }
});

describe('saturatingCounter in simulation', () => {
  it('width 4: counts events, stops at 15, and a clear with an event keeps that event', async () => {
    const sim = pool.sim<SatPorts>(saturatingCounter({ width: 4 }));
    sim.ports.inc = 0;
    sim.ports.clear = 0;
    sim.reset();
    await withSeed((rng) => {
      let value = 0;
      let saturatedCycles = 0;
      for (let c = 0; c < 1500; c++) {
        sim.ports.inc = rng.chance(0.6) ? 1 : 0;
        sim.ports.clear = rng.chance(0.02) ? 1 : 0;
        sim.tick();
        const s = sim.sampled;
        expect(s.count, `cycle ${c}`).toBe(value);
        expect(s.saturated, `cycle ${c}`).toBe(value === 15 ? 1 : 0);
        if (s.saturated) saturatedCycles++;
        if (s.clear) value = s.inc;
        else if (s.inc) value = Math.min(15, value + 1);
      }
      expect(saturatedCycles).toBeGreaterThan(0);
    });
  });

  it('width 8 with a 4-bit step: adds the step per event and saturates at 255', async () => {
    const sim = pool.sim<SatPorts>(saturatingCounter({ width: 8, stepWidth: 4 }));
    sim.ports.inc = 0;
    sim.ports.clear = 0;
    sim.reset();
    await withSeed((rng) => {
      let value = 0;
      let saturatedCycles = 0;
      for (let c = 0; c < 1500; c++) {
        sim.ports.inc = rng.chance(0.5) ? 1 : 0;
        sim.ports.step = rng.range(0, 15);
        sim.ports.clear = rng.chance(0.02) ? 1 : 0;
        sim.tick();
        const s = sim.sampled;
        expect(s.count, `cycle ${c}`).toBe(value);
        expect(s.saturated, `cycle ${c}`).toBe(value === 255 ? 1 : 0);
        if (s.saturated) saturatedCycles++;
        if (s.clear) value = s.inc ? s.step : 0;
        else if (s.inc) value = Math.min(255, value + s.step);
      }
      expect(saturatedCycles).toBeGreaterThan(0);
    });
  });
});
