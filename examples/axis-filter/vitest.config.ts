/**
 * A vitest config for a design's own folder: its tests, and time for a cold Verilator build.
 * Run: npx vitest run --root examples/axis-filter (or `npx vitest run` inside the folder).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000, // the first run builds the model with Verilator (tens of seconds); later runs load it from the cache
  },
});
