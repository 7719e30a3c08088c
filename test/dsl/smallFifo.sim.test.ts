/** The FIFO of docs/dsl.md's worked example: it behaves as a FIFO, and the guide shows its real Verilog. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitDesign } from '../../generator/index.js';
import { simulate } from '../../sim/index.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { withSeed } from '../models/seeded.js';
import { cellCounts, expectLintClean, inferredLatch, synthIce40 } from './design.js';
import { smallFifo } from './smallFifo.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const sims: { close(): void }[] = [];
afterAll(() => {
  for (const s of sims) s.close();
});

type FifoPorts = Record<'push_valid' | 'push_ready' | 'push_payload' | 'pop_valid' | 'pop_ready' | 'pop_payload' | 'count', number>;

describe('the worked example: smallFifo', () => {
  beforeAll(() => prebuild(smallFifo(8, 16)), BUILD_TIMEOUT);

  it('keeps order and count under random valid/ready, and never overflows', async () => {
    const depth = 16;
    const def = smallFifo(8, depth);
    await expectLintClean(def);
    const sim = await simulate<FifoPorts>(def);
    sims.push(sim);
    sim.ports.push_valid = 0;
    sim.ports.pop_ready = 0;
    sim.reset();
    await withSeed((rng) => {
      const model: number[] = [];
      let popped = 0;
      let full = 0;
      for (let cycle = 0; cycle < 4000; cycle++) {
        // Phases of mostly-push and mostly-pop so the FIFO runs full and empty.
        const phase = Math.floor(cycle / 300) % 2;
        sim.ports.push_valid = rng.chance(phase ? 0.3 : 0.8) ? 1 : 0;
        sim.ports.push_payload = rng.int(0, 255);
        sim.ports.pop_ready = rng.chance(phase ? 0.8 : 0.3) ? 1 : 0;
        sim.tick();
        const s = sim.sampled;
        expect(s.count, `count, cycle ${cycle}`).toBe(model.length);
        expect(s.push_ready, `push_ready, cycle ${cycle}`).toBe(model.length < depth ? 1 : 0);
        if (s.pop_valid && s.pop_ready) {
          expect(s.pop_payload, `word ${popped}, cycle ${cycle}`).toBe(model.shift());
          popped++;
        }
        if (s.push_valid && s.push_ready) model.push(s.push_payload);
        if (model.length === depth) full++;
      }
      expect(popped).toBeGreaterThan(1000);
      expect(full).toBeGreaterThan(0);
    });
  });

  it('maps its RAM to one iCE40 block RAM with no latch', async () => {
    const log = await synthIce40(smallFifo(8, 256));
    expect(cellCounts(log).get('SB_RAM40_4K')).toBe(1);
    expect(inferredLatch(log)).toBe(false);
  });

  it('is shown in docs/dsl.md as it is: the TypeScript source and the Verilog it produces', async () => {
    const guide = await readFile(path.join(here, '..', '..', 'docs', 'dsl.md'), 'utf8');
    const source = await readFile(path.join(here, 'smallFifo.ts'), 'utf8');
    const body = source.slice(source.indexOf('/** A FIFO'));
    expect(guide).toContain(body.replace(/\n$/, ''));
    const verilog = emitDesign(smallFifo(8, 16))[0]?.text ?? '';
    expect(guide).toContain(verilog.replace(/\n$/, ''));
  });
});
