/**
 * The filter's own test, run from this folder with its vitest config (npx vitest run --root examples/axis-filter).
 * It uses the package's simulation API (`cdna-nic/sim`), testbench runtime and AXI4-Stream transactors.
 */

import { AxisSink, AxisSource, randomly } from 'cdna-nic/axi';
import { type Simulation, simulate } from 'cdna-nic/sim';
import { Rng, Testbench, testSeed } from 'cdna-nic/testbench';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { axisFilter } from './axisFilter.js';

let sim: Simulation;
beforeAll(async () => {
  sim = await simulate(axisFilter({ dataWidth: 32, countWidth: 8 })); // built once, then cached under build/sim
});
afterAll(() => sim?.close());

it('drops the frames whose first byte is drop_type and passes the others intact', async () => {
  const seed = testSeed();
  const rng = new Rng(seed);
  const tb = new Testbench(sim, { maxCycles: 50_000 });
  const src = new AxisSource(tb, 's_axis', { pacing: randomly(0.7, rng.fork()) });
  const sink = new AxisSink(tb, 'm_axis', { ready: randomly(0.6, rng.fork()) });
  sim.ports.enable = 1;
  sim.ports.drop_type = 0x42;
  await tb.reset();

  const frames = Array.from({ length: 24 }, (_, i) => {
    const f = rng.bytes(rng.range(1, 40));
    f[0] = i % 3 === 0 ? 0x42 : f[0] === 0x42 ? 0x41 : (f[0] as number);
    return f;
  });
  const kept = frames.filter((f) => f[0] !== 0x42);
  const sending = Promise.all(frames.map((f) => src.send(f)));
  for (const f of kept) {
    const got = await sink.receive();
    expect(Array.from(got.data), `seed ${seed}`).toEqual(Array.from(f));
  }
  await sending;
  await tb.cycles(4);
  expect(sim.ports.passed).toBe(kept.length);
  expect(sim.ports.dropped).toBe(frames.length - kept.length);
  tb.close();
});
