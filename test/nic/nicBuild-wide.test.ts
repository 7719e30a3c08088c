/**
 * The whole NIC for the 100g profile (512-bit stream and DMA, 1024 contexts) and for N_CTX=1024 on the
 * default widths: generated, lint-clean and with no latch in yosys (nicBuild-fixture.ts). The longest
 * of these checks (about 100 s cold for 100g), in a file of its own so it runs beside nicBuild.test.ts.
 */
import { describe } from 'vitest';
import { itBuildsClean } from './nicBuild-fixture.js';

describe('cdna generate: the NIC at 1024 contexts', () => {
  itBuildsClean({ name: '100g', profile: '100g', param: {} });
  itBuildsClean({ name: 'N_CTX=1024', param: { N_CTX: '1024' } });
});
