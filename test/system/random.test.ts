/**
 * Randomized differential runs: guests, traffic mixes, hostile actions, memory latency, reordering
 * and back-pressure, all drawn from one seed; the RTL against the reference model with the DMA
 * monitor on. Each run takes SEED from the environment (or a fresh one) and names it on failure;
 * `npm run fuzz -- --seed S --cycles N` runs a long one.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { resolveParams } from '../../hdl/params.js';
import { closeSimulations, nicSimulation } from '../../testbench/system/harness.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { differential } from './differential.js';

// The NIC is built before the tests (a cold build takes minutes): no test waits for it.
beforeAll(() => nicSimulation(resolveParams('test')), BUILD_TIMEOUT);

afterAll(async () => {
  await closeSimulations();
});

describe('randomized differential: RTL against the reference model (seeded)', () => {
  it('guests, mixed traffic and a hostile guest, fixed memory timing', async () => {
    await differential({ rounds: 30, timing: 'fixed' });
  });

  it('memory latency, reordering and back-pressure drawn from the seed', async () => {
    await differential({ rounds: 30, timing: 'random' });
  });

  it('heavy traffic and an attack every round', async () => {
    await differential({ rounds: 24, timing: 'random', mix: { send: 1, burst: 4, wireFrames: 8, attack: 1, spoof: 0.1, fragment: 0.3 } });
  });
});
