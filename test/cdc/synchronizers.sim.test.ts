import { beforeAll, describe, expect, it } from 'vitest';
import { handshakeSync, pulseSync, syncBit } from '../../generator/lib/index.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { withSeed } from '../models/seeded.js';
import { ClockSet, describeClocks, randomClocks, runWordStream, twoClockSim, type WordRunOptions } from './twoClocks.js';

beforeAll(
  () => prebuild(...[syncBit(), pulseSync(), handshakeSync({ width: 32 })].map((design) => ({ design, opts: { clock: null } }))),
  BUILD_TIMEOUT,
);

describe('syncBit', () => {
  it('delays a level by two destination edges', async () => {
    const sim = await twoClockSim(syncBit());
    const clocks = new ClockSet(sim, [{ port: 'clk', period: 10000 }]);
    clocks.reset(['rst']);
    sim.ports.d = 1;
    clocks.runEdges('clk', 1);
    expect(sim.ports.q).toBe(0);
    clocks.runEdges('clk', 1);
    expect(sim.ports.q).toBe(1);
    sim.close();
  });
});

describe('pulseSync in two unrelated clocks', () => {
  it('delivers one destination pulse per source pulse', async () => {
    const def = pulseSync();
    await withSeed(async (rng) => {
      for (let run = 0; run < 8; run++) {
        const specs = randomClocks(rng, 'src_clk', 'dst_clk');
        const [s, d] = specs.map((c) => c.period) as [number, number];
        const sim = await twoClockSim(def);
        const clocks = new ClockSet(sim, specs);
        clocks.reset(['src_rst', 'dst_rst']);
        // Pulses at least 3 destination cycles (and 1 source cycle) apart: the documented minimum spacing.
        const gap = Math.ceil((3 * d) / s) + 1;
        let sent = 0;
        let wait = 0;
        let seen = 0;
        const target = 200;
        clocks.on('src_clk', {
          drive: () => {
            if (sim.ports.in === 1) sent++;
            const fire = sent < target && wait <= 0 && rng.chance(0.5);
            sim.ports.in = fire ? 1 : 0;
            wait = fire ? gap : wait - 1;
          },
        });
        clocks.on('dst_clk', {
          sample: () => {
            if (sim.ports.out === 1) seen++;
          },
        });
        clocks.runUntil(() => sent === target && sim.ports.in === 0, 1e11);
        clocks.runEdges('dst_clk', 10);
        expect(seen, `run ${run}: ${describeClocks(specs)}`).toBe(target);
        sim.close();
      }
    });
  });
});

describe('handshakeSync in two unrelated clocks', () => {
  it('delivers every value once, in order, under random valid and ready', async () => {
    const def = handshakeSync({ width: 32 });
    const o: WordRunOptions = {
      clocks: ['src_clk', 'dst_clk'],
      resets: ['src_rst', 'dst_rst'],
      words: 300,
      range: 2 ** 32,
      pValid: [0.5, 1],
      pReady: [0.3, 1],
    };
    await withSeed(async (rng) => {
      for (let run = 0; run < 8; run++) await runWordStream(def, o, rng, run);
    });
  });
});
