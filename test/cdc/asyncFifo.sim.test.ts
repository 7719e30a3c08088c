import { describe, expect, it } from 'vitest';
import { asyncFifo } from '../../generator/lib/index.js';
import { withSeed } from '../models/seeded.js';
import { type Beat, ClockSet, describeClocks, randomClocks, streamSink, streamSource, twoClockSim } from './twoClocks.js';

describe('asyncFifo in two unrelated clocks', () => {
  for (const depth of [2, 16]) {
    it(`depth ${depth}: random pushes and pops on both sides, every word arrives once, in order`, async () => {
      const def = asyncFifo({ width: 16, depth });
      await withSeed(async (rng) => {
        for (let run = 0; run < 8; run++) {
          const specs = randomClocks(rng, 'wr_clk', 'rd_clk');
          const sim = await twoClockSim(def);
          const clocks = new ClockSet(sim, specs);
          const words: Beat[] = Array.from({ length: 1500 }, () => ({ data: rng.int(0x10000) }));
          const got: number[] = [];
          clocks.reset(['wr_rst', 'rd_rst']);
          const src = streamSource(sim, clocks, 'wr_clk', 'in', words, rng, rng.pick([0.3, 0.8, 1]));
          streamSink(sim, clocks, 'rd_clk', 'out', ['data'], rng, rng.pick([0.3, 0.8, 1]), (b) => got.push(b.data as number));
          clocks.runUntil(() => got.length === words.length, 1e10);
          // A little longer: nothing more may come out.
          clocks.runFor(200_000);
          const where = `run ${run}: ${describeClocks(specs)}`;
          expect(src.taken(), where).toBe(words.length);
          expect(got, where).toEqual(words.map((w) => w.data));
          sim.close();
        }
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
