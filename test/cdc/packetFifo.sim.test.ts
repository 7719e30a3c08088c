import { beforeAll, describe, expect, it } from 'vitest';
import { packetFifo } from '../../generator/lib/index.js';
import type { ClockSpec } from '../../sim/index.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { withSeed } from '../models/seeded.js';
import { type Beat, ClockSet, describeClocks, randomClocks, streamSink, streamSource, twoClockSim } from './twoClocks.js';

const depth = 16;

beforeAll(
  () =>
    prebuild(...(['async', 'sync'] as const).map((clocks) => ({ design: packetFifo({ width: 8, depth, clocks }), opts: { clock: null } }))),
  BUILD_TIMEOUT,
);

describe('packetFifo', () => {
  for (const clocksKind of ['async', 'sync'] as const) {
    it(`${clocksKind}: drops frames with in_error on the last word and frames longer than the FIFO whole, passes the others intact`, async () => {
      const def = packetFifo({ width: 8, depth, clocks: clocksKind });
      await withSeed(async (rng) => {
        for (let run = 0; run < 6; run++) {
          const specs: ClockSpec[] = clocksKind === 'async' ? randomClocks(rng, 'wr_clk', 'rd_clk') : [{ port: 'clk', period: 10000 }];
          const [wrClk, rdClk] = clocksKind === 'async' ? ['wr_clk', 'rd_clk'] : ['clk', 'clk'];
          const sim = await twoClockSim(def);
          const clocks = new ClockSet(sim, specs);
          clocks.reset(clocksKind === 'async' ? ['wr_rst', 'rd_rst'] : ['rst']);
          // Frames of 1 to depth + 3 words; about one in four marked bad.
          const frames = Array.from({ length: 120 }, () => {
            const len = rng.chance(0.1) ? rng.range(depth + 1, depth + 3) : rng.range(1, depth);
            return { words: Array.from({ length: len }, () => rng.int(256)), bad: rng.chance(0.25) };
          });
          const beats: Beat[] = frames.flatMap((f) =>
            f.words.map((w, i) => ({ data: w, last: i === f.words.length - 1 ? 1 : 0, error: i === f.words.length - 1 && f.bad ? 1 : 0 })),
          );
          const expected = frames.filter((f) => !f.bad && f.words.length <= depth).map((f) => f.words);
          const got: number[][] = [];
          let current: number[] = [];
          let drops = 0;
          const src = streamSource(sim, clocks, wrClk, 'in', beats, rng, rng.pick([0.5, 1]));
          clocks.on(wrClk, {
            sample: () => {
              if (sim.ports.dropped === 1) drops++;
            },
          });
          streamSink(sim, clocks, rdClk, 'out', ['data', 'last'], rng, rng.pick([0.3, 0.8, 1]), (b) => {
            current.push(b.data as number);
            if (b.last === 1) {
              got.push(current);
              current = [];
            }
          });
          clocks.runUntil(() => src.taken() === beats.length, 1e11);
          clocks.runFor(2_000_000);
          const where = `run ${run}: ${describeClocks(specs)}`;
          expect(got, where).toEqual(expected);
          expect(current, where).toEqual([]);
          expect(drops, where).toBe(frames.length - expected.length);
          sim.close();
        }
      });
    });
  }
});
