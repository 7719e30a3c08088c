import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Names the test behind each build in the build log (CDNA_SIM_LOG).
    setupFiles: ['test/fixtures/build-log.setup.ts'],
    // Verilator builds are CPU-heavy and the machines have two cores.
    maxWorkers: 2,
    testTimeout: 120_000,
    // Builds happen in beforeAll hooks (test/fixtures/prebuild.ts, BUILD_TIMEOUT there); a cold one on a
    // loaded machine takes minutes.
    hookTimeout: 600_000,
  },
});
