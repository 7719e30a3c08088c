/** The complete test of docs/testbench.md, kept here so the guide stays true. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Simulation, simulate } from '../../sim/index.js';
import { AxisSink, AxisSource, randomly } from '../../testbench/axi/index.js';
import { Rng, Testbench, testSeed } from '../../testbench/runtime/index.js';
import { axisCrcFifo } from '../fixtures/designs.js';

let sim: Simulation;
beforeAll(async () => {
  sim = await simulate(axisCrcFifo());
});
afterAll(() => sim.close());

it('passes random frames through intact', async () => {
  const seed = testSeed();
  const rng = new Rng(seed);
  const tb = new Testbench(sim, { maxCycles: 100_000 });
  const src = new AxisSource(tb, 's_axis', { pacing: randomly(0.7, rng.fork()) });
  const sink = new AxisSink(tb, 'm_axis', { ready: randomly(0.5, rng.fork()) });
  let beats = 0;
  tb.fork(function* monitor() {
    for (;;) {
      yield;
      if (sim.sampled.m_axis_tvalid && sim.sampled.m_axis_tready) beats++;
    }
  });
  await tb.reset();
  const frames = Array.from({ length: 20 }, () => rng.bytes(rng.range(1, 64)));
  const sending = Promise.all(frames.map((f) => src.send(f)));
  for (const f of frames) {
    const got = await sink.receive();
    expect(Array.from(got.data), `seed ${seed}`).toEqual(Array.from(f));
  }
  await sending;
  expect(beats, `seed ${seed}`).toBe(frames.reduce((n, f) => n + Math.ceil(f.length / 8), 0));
  tb.close();
});

it('types ports exactly when told their names', async () => {
  interface FifoPorts {
    s_axis_tvalid: number;
    crc: number;
    wide_in: bigint;
  }
  const typed = await simulate<FifoPorts>(axisCrcFifo());
  typed.ports.s_axis_tvalid = 0;
  typed.reset();
  const next: number = typed.ports.crc + 1; // a number, no cast
  expect(next).toBe(0xffffffff + 1);
  typed.close();
});
