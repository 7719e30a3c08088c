import { defineConfig } from 'vitest/config';
import ProofsFirstSequencer from './test/fixtures/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the suite's models at -O1 (build-level.setup.ts); names the test behind each build in
    // the build log (CDNA_SIM_LOG).
    setupFiles: ['test/fixtures/build-level.setup.ts', 'test/fixtures/build-log.setup.ts'],
    // Verilator builds are CPU-heavy and the machines have two cores.
    maxWorkers: 2,
    // Files share their worker's module state: each module (the DSL, the NIC's elaboration, the
    // simulation bridge and its loaded models) is imported once per worker instead of once per file.
    // A warm run took 88 s instead of 220 s (docs/testbench.md, Suite time). Every file still cleans up
    // after itself (afterAll closes its simulations; environment changes are restored).
    isolate: false,
    // Untimed proof files first (test/fixtures/sequencer.ts): they are the longest.
    sequence: { sequencer: ProofsFirstSequencer },
    testTimeout: 120_000,
    // Builds happen in beforeAll hooks (test/fixtures/prebuild.ts, BUILD_TIMEOUT there); a cold one on a
    // loaded machine takes minutes.
    hookTimeout: 600_000,
  },
});
