import { beforeAll, describe, expect, it } from 'vitest';
import { asyncFifo } from '../../generator/lib/index.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { withSeed } from '../models/seeded.js';
import { ClockSet, runWordStream, twoClockSim } from './twoClocks.js';

beforeAll(() => prebuild(...[2, 16].map((depth) => ({ design: asyncFifo({ width: 16, depth }), opts: { clock: null } }))), BUILD_TIMEOUT);

describe('asyncFifo in two unrelated clocks', () => {
  for (const depth of [2, 16]) {
    it(`depth ${depth}: random pushes and pops on both sides, every word arrives once, in order`, async () => {
      const def = asyncFifo({ width: 16, depth });
      const o = { clocks: ['wr_clk', 'rd_clk'] as [string, string], resets: ['wr_rst', 'rd_rst'], words: 1500, range: 0x10000 };
      await withSeed(async (rng) => {
        for (let run = 0; run < 8; run++) await runWordStream(def, { ...o, pValid: [0.3, 0.8, 1], pReady: [0.3, 0.8, 1] }, rng, run);
      });
    });
  }

  it('fills up and stops accepting while the read side is stalled', async () => {
    const depth = 16;
    const sim = await twoClockSim(asyncFifo({ width: 16, depth }));
    const clocks = new ClockSet(sim, [
      { port: 'wr_clk', period: 4000 },
      { port: 'rd_clk', period: 10000, phase: 1234 },
    ]);
    clocks.reset(['wr_rst', 'rd_rst']);
    let accepted = 0;
    clocks.on('wr_clk', {
      sample: () => {
        if (sim.ports.in_valid === 1 && sim.ports.in_ready === 1) accepted++;
      },
    });
    sim.ports.in_valid = 1;
    sim.ports.out_ready = 0;
    clocks.runEdges('wr_clk', 100);
    // Every slot, and the read side's output register, which a word leaves the RAM for.
    expect(accepted).toBe(depth + 1);
    expect(sim.ports.in_ready).toBe(0);
    sim.close();
  });
});
