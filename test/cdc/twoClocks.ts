/** Two-clock test benches for the CDC blocks: random clock ratios, valid/ready sources and sinks on either clock. */
import { expect } from 'vitest';
import type { ModuleDef } from '../../generator/index.js';
import { ClockSet, type ClockSpec, type Simulation, simulate } from '../../sim/index.js';
import type { Rng } from '../../testbench/runtime/random.js';

/** Two clocks with random periods (ratios up to about 1:8 either way) and phases. */
export function randomClocks(rng: Rng, a: string, b: string): ClockSpec[] {
  const period = (): number => 2 * rng.range(1000, 8000);
  return [a, b].map((port) => {
    const p = period();
    return { port, period: p, phase: rng.range(0, p) };
  });
}

export function describeClocks(specs: readonly ClockSpec[]): string {
  return specs.map((s) => `${s.port} ${s.period} ps (first edge ${s.phase})`).join(', ');
}

/** A simulation of a two-clock design (no clock driven by tick()). */
export async function twoClockSim(def: ModuleDef<unknown>): Promise<Simulation<Record<string, number>>> {
  return simulate<Record<string, number>>(def, { clock: null });
}

export type Beat = Record<string, number>;

/**
 * Offers `beats` on the stream `prefix` (`<prefix>_valid`, `<prefix>_ready` and a port per field) on
 * clock `clk`, valid with probability `pValid` each cycle. Returns how many were taken.
 */
export function streamSource(
  sim: Simulation<object>,
  clocks: ClockSet,
  clk: string,
  prefix: string,
  beats: readonly Beat[],
  rng: Rng,
  pValid: number,
): { taken(): number } {
  const valid = sim.port(`${prefix}_valid`);
  const ready = sim.port(`${prefix}_ready`);
  let next = 0;
  const offer = (): void => {
    const beat = beats[next];
    const on = beat !== undefined && rng.chance(pValid);
    valid.set(on ? 1 : 0);
    if (beat) for (const [k, v] of Object.entries(beat)) sim.port(`${prefix}_${k}`).set(v);
  };
  clocks.on(clk, {
    sample: () => {
      if (valid.get() === 1 && ready.get() === 1) next++;
    },
    drive: offer,
  });
  offer();
  return { taken: () => next };
}

/** Takes beats from the stream `prefix` on clock `clk`, ready with probability `pReady`; calls `onBeat` with each. */
export function streamSink(
  sim: Simulation<object>,
  clocks: ClockSet,
  clk: string,
  prefix: string,
  fields: readonly string[],
  rng: Rng,
  pReady: number,
  onBeat: (beat: Beat) => void,
): void {
  const valid = sim.port(`${prefix}_valid`);
  const ready = sim.port(`${prefix}_ready`);
  const ports = fields.map((f) => [f, sim.port(`${prefix}_${f}`)] as const);
  clocks.on(clk, {
    sample: () => {
      if (valid.get() === 1 && ready.get() === 1) onBeat(Object.fromEntries(ports.map(([f, p]) => [f, Number(p.get())])));
    },
    drive: () => ready.set(rng.chance(pReady) ? 1 : 0),
  });
  ready.set(0);
}

export { ClockSet };

export interface WordRunOptions {
  /** The write-side and read-side clocks, and the resets held together at the start. */
  clocks: [string, string];
  resets: string[];
  /** Words sent; each a random value below `range`. */
  words: number;
  range: number;
  /** The probabilities to pick from for the source's valid and the sink's ready in a run. */
  pValid: readonly number[];
  pReady: readonly number[];
}

/**
 * One run of a word-stream crossing (`in` on the first clock, `out` on the second) under random
 * clocks: every word must arrive once, in order, and nothing more within a while after the last.
 */
export async function runWordStream(def: ModuleDef<unknown>, o: WordRunOptions, rng: Rng, run: number): Promise<void> {
  const specs = randomClocks(rng, o.clocks[0], o.clocks[1]);
  const sim = await twoClockSim(def);
  const clocks = new ClockSet(sim, specs);
  clocks.reset(o.resets);
  const words: Beat[] = Array.from({ length: o.words }, () => ({ data: rng.int(o.range) }));
  const got: number[] = [];
  const src = streamSource(sim, clocks, o.clocks[0], 'in', words, rng, rng.pick(o.pValid));
  streamSink(sim, clocks, o.clocks[1], 'out', ['data'], rng, rng.pick(o.pReady), (b) => got.push(b.data as number));
  clocks.runUntil(() => got.length === words.length, 1e11);
  // A while longer: nothing more may come out.
  clocks.runFor(500_000);
  const where = `run ${run}: ${describeClocks(specs)}`;
  expect(src.taken(), where).toBe(words.length);
  expect(got, where).toEqual(words.map((w) => w.data));
  sim.close();
}
