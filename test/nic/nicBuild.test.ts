/**
 * The whole NIC for the narrow profiles: generated, lint-clean and with no latch in yosys
 * (nicBuild-fixture.ts). The 512-bit and 1024-context builds are in nicBuild-wide.test.ts; the full
 * synthesis to cells of the test profile is in test/fpga/synth.test.ts; the larger ones are measured
 * by `npm run bench` (they take minutes in WebAssembly yosys).
 */
import { describe } from 'vitest';
import { itBuildsClean } from './nicBuild-fixture.js';

describe('cdna generate: the NIC for each profile', () => {
  itBuildsClean({ name: 'test', profile: 'test', param: {} });
  itBuildsClean({ name: 'ricenic', profile: 'ricenic', param: {} });
  itBuildsClean({ name: '10g', profile: '10g', param: {} });
});
