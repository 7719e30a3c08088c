/**
 * The receive engine elaborates and passes `verilator --lint-only -Wall` for every profile and width,
 * and (F-7, block level) compiles in Icarus Verilog with no output X after reset there.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintDesign } from '../../generator/verilog/lint.js';
import { rxEngine } from '../../hdl/nic/rxEngine.js';
import { DMA_WIDTHS, resolveParams } from '../../hdl/params.js';
import { checkResetIdle } from '../../sim/icarus.js';
import { buildRoot } from '../../sim/paths.js';

type LintCase = [string, string | undefined, Record<string, number | boolean>];
const cases: LintCase[] = [
  ['profile test', 'test', {}],
  ['profile ricenic', 'ricenic', {}],
  ['profile 10g', '10g', {}],
  ['N_CTX=1024', undefined, { N_CTX: 1024 }],
  ['N_CTX=1, no loopback, VLAN', undefined, { N_CTX: 1, LOCAL_LOOPBACK: false, VLAN: true }],
  ['8-bit stream, 256-bit DMA', 'test', { STREAM_W: 8, DMA_W: 256 }],
  ['128-bit stream, 64-bit DMA', 'test', { STREAM_W: 128, DMA_W: 64 }],
  ['512-bit stream, 128-bit DMA', 'test', { STREAM_W: 512, DMA_W: 128 }],
  // Four descriptors per DMA beat; linted as soon as params allows DMA_W=512.
  ...(DMA_WIDTHS.includes(512)
    ? ([
        ['64-bit stream, 512-bit DMA', 'test', { STREAM_W: 64, DMA_W: 512 }],
        ['512-bit stream, 512-bit DMA', 'test', { STREAM_W: 512, DMA_W: 512 }],
      ] satisfies LintCase[])
    : []),
];

describe('rxEngine lint, refill blocks of 4 descriptors', () => {
  for (const [name, profile, overrides] of [cases[2], cases[3], cases[5], cases[6], ...cases.slice(8, 9)] as const) {
    it(`${name}, fetchBlock 4: no Verilator warning`, async () => {
      const def = rxEngine(resolveParams(profile, overrides), { fetchBlock: 4 });
      const r = await lintDesign(def, { allowWarnings: true });
      expect(r.warnings, r.output).toEqual([]);
    }, 60_000);
  }
});

describe('rxEngine lint', () => {
  for (const [name, profile, overrides] of cases) {
    it(`${name}: no Verilator warning`, async () => {
      const def = rxEngine(resolveParams(profile, overrides));
      const r = await lintDesign(def, { allowWarnings: true });
      expect(r.warnings, r.output).toEqual([]);
    }, 60_000);
  }

  for (const [name, profile, overrides] of [cases[0], cases[2], cases[4], cases[5]] as const) {
    it(`F-7 (block level), ${name}: compiles in Icarus and no output is X after the reset sweeps`, async () => {
      const p = resolveParams(profile, overrides);
      const root = path.join(buildRoot(), 'fourstate-rx');
      await mkdir(root, { recursive: true });
      const dir = await mkdtemp(path.join(root, 'rx-'));
      // The sweeps take 2 * N_CTX cycles; after them, every output is checked on each cycle.
      const r = await checkResetIdle(rxEngine(p), dir, { settleCycles: 2 * p.N_CTX + 50, checkCycles: 500 });
      expect(r.xPorts, `X outputs (design and bench in ${dir})`).toEqual([]);
      await rm(dir, { recursive: true, force: true });
    }, 300_000);
  }

  it('refuses buffer and queue sizes it cannot build, naming the option and the rule', () => {
    const p = resolveParams('test');
    expect(() => rxEngine(p, { macBufferBytes: 3000 })).toThrow(/macBufferBytes=3000 is refused: it must be a power of two from 4096/);
    expect(() => rxEngine(p, { descCache: 16 })).toThrow(/descCache=16 is refused: it must not exceed 2\^\(SEQ_W-1\) = 8/);
    expect(() => rxEngine(p, { jobs: 1 })).toThrow(/jobs=1 is refused/);
    expect(() => rxEngine(p, { fetchBlock: 8 })).toThrow(/fetchBlock=8 is refused: it must be a power of two from 2 to 4/);
  });
});
