/**
 * The randomized differential run on the RiceNIC profile (32 contexts, 32-bit seqs, the demo's
 * NIC). A file of its own: one process elaborates `cdna_nic` for one parameter set only.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { resolveParams } from '../../hdl/params.js';
import { closeSimulations, nicSimulation } from '../../testbench/system/harness.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { differential } from './differential.js';

// The NIC is built before the tests (a cold build takes minutes): no test waits for it.
beforeAll(() => nicSimulation(resolveParams('ricenic')), BUILD_TIMEOUT);

afterAll(async () => {
  await closeSimulations();
});

describe('randomized differential on the RiceNIC profile (seeded)', () => {
  it('four guests and a hostile guest, memory timing drawn from the seed', async () => {
    await differential({ params: 'ricenic', guests: 4, rounds: 20, timing: 'random' });
  });
});
