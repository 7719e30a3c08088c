import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skidBuffer } from '../../generator/lib/index.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { VariantPool, type VariantSim } from '../fixtures/variants.js';
import { withSeed } from '../models/seeded.js';

type SkidPorts = Record<'in_valid' | 'in_ready' | 'in_data' | 'out_valid' | 'out_ready' | 'out_data', number>;

// Both widths in one model (test/fixtures/variants.ts).
const pool = new VariantPool('skid_buffer_widths', [skidBuffer({ width: 16 }), skidBuffer({ width: 8 })]);
beforeAll(() => pool.build(), BUILD_TIMEOUT);
afterAll(() => pool.close());

function skidSim(width: number): VariantSim<SkidPorts> {
  const sim = pool.sim<SkidPorts>(skidBuffer({ width }));
  sim.ports.in_valid = 0;
  sim.ports.out_ready = 0;
  sim.reset();
  return sim;
}

describe('skidBuffer in simulation', () => {
  it('loses and reorders nothing under random valid and back-pressure, matching the two-register model', async () => {
    const sim = skidSim(16);
    await withSeed((rng) => {
      let main: number | null = null;
      let skid: number | null = null;
      const sent: number[] = [];
      const received: number[] = [];
      let skidUsed = 0;
      for (let c = 0; c < 3000; c++) {
        const data = rng.range(0, 0xffff);
        sim.ports.in_valid = rng.chance(0.7) ? 1 : 0;
        sim.ports.in_data = data;
        sim.ports.out_ready = rng.chance(c % 600 < 300 ? 0.5 : 0.9) ? 1 : 0;
        sim.tick();
        const s = sim.sampled;
        const at = `cycle ${c}`;
        expect(s.in_ready, at).toBe(skid === null ? 1 : 0);
        expect(s.out_valid, at).toBe(main === null ? 0 : 1);
        if (main !== null) expect(s.out_data, at).toBe(main);
        const accept = s.in_valid === 1 && s.in_ready === 1;
        if (accept) sent.push(data);
        if (s.out_valid === 1 && s.out_ready === 1) received.push(s.out_data);
        if (main === null || s.out_ready === 1) {
          main = skid ?? (accept ? data : null);
          skid = null;
        } else if (accept) {
          skid = data;
          skidUsed++;
        }
      }
      expect(received).toEqual(sent.slice(0, received.length));
      expect(sent.length - received.length).toBeLessThanOrEqual(2);
      expect(skidUsed, 'back-pressure made words wait in the skid register').toBeGreaterThan(0);
    });
  });

  it('moves one word per cycle when the sink is always ready', async () => {
    const sim = skidSim(8);
    sim.ports.in_valid = 1;
    sim.ports.out_ready = 1;
    const out: number[] = [];
    for (let c = 0; c < 200; c++) {
      sim.ports.in_data = c & 0xff;
      sim.tick();
      expect(sim.sampled.in_ready).toBe(1);
      if (sim.sampled.out_valid === 1) out.push(sim.sampled.out_data);
    }
    expect(out).toEqual(Array.from({ length: 199 }, (_, i) => i & 0xff));
  });

  it('in_ready does not follow out_ready combinationally (the ready path is broken)', async () => {
    const sim = skidSim(8);
    sim.ports.in_valid = 1;
    sim.ports.in_data = 1;
    sim.ports.out_ready = 0;
    sim.tick(); // word 1 in the main register
    sim.ports.in_data = 2;
    sim.tick(); // word 2 in the skid register: in_ready low
    sim.ports.in_valid = 0;
    for (const ready of [0, 1, 0, 1]) {
      sim.ports.out_ready = ready;
      sim.settle();
      expect(sim.ports.in_ready).toBe(0);
      expect(sim.ports.out_valid).toBe(1);
      expect(sim.ports.out_data).toBe(1);
    }
    sim.ports.out_ready = 1;
    sim.tick();
    expect(sim.ports.in_ready).toBe(1);
    expect(sim.ports.out_data).toBe(2);
  });
});
