import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BuildOptimize, buildModel, defaultOptimize } from '../../sim/build.js';
import { objCacheFlags } from '../../sim/model-cache.js';
import { specOf } from '../../sim/simulate.js';
import { loadModel } from '../../sim/simulation.js';
import { counter } from '../fixtures/designs.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';

interface CounterPorts {
  rst: number;
  en: number;
  load: number;
  load_value: number;
  count: number;
}

const levels: BuildOptimize[] = ['fast-run', 'fast-build'];
// A width no other test builds, so both levels are cold in a clean cache.
const design = () => counter(11);

describe('build level (BuildSpec.optimize)', () => {
  beforeAll(async () => {
    for (const optimize of levels) await buildModel({ ...specOf(design()), optimize });
  }, BUILD_TIMEOUT);

  const saved = process.env.CDNA_SIM_OPTIMIZE;
  afterEach(() => {
    process.env.CDNA_SIM_OPTIMIZE = saved;
  });

  it('the suite builds for a fast build; without the variable a build is for a fast model; other values are refused', () => {
    expect(defaultOptimize()).toBe('fast-build');
    process.env.CDNA_SIM_OPTIMIZE = '';
    expect(defaultOptimize()).toBe('fast-run');
    process.env.CDNA_SIM_OPTIMIZE = '-O2';
    expect(() => defaultOptimize()).toThrow(/fast-run.*fast-build/);
  });

  it('each level is a cache entry of its own, built at its level, and both models count alike', async () => {
    const models = await Promise.all(levels.map((optimize) => buildModel({ ...specOf(design()), optimize })));
    expect(models.map((m) => m.optimize)).toEqual(levels);
    expect(models[0].dir).not.toBe(models[1].dir);
    for (const m of models) {
      const manifest = JSON.parse(await readFile(path.join(m.dir, 'model.json'), 'utf8')) as { optimize: string };
      expect(manifest.optimize).toBe(m.optimize);
    }
    const counts = models.map((m) => {
      const sim = loadModel<CounterPorts>(m);
      try {
        sim.reset();
        sim.ports.en = 1;
        sim.tick(2050);
        return sim.ports.count;
      } finally {
        sim.close();
      }
    });
    expect(counts).toEqual([2050 % 2048, 2050 % 2048]);
  });

  it('precompiles verilated.h once per level (unless ccache compiles the models)', async () => {
    const m = await buildModel({ ...specOf(design()), optimize: 'fast-build' });
    const runtime = path.join(path.dirname(path.dirname(m.dir)), 'runtime');
    const found = (await readdir(runtime)).some((k) => existsSync(path.join(runtime, k, 'pch-O1', 'vl_pch.h.gch')));
    expect(found).toBe(objCacheFlags().length === 0);
  });
});
