import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readWaveHeader, simulate } from '../../sim/index.js';
import { buildRoot } from '../../sim/paths.js';
import { counter } from '../fixtures/designs.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';

// The plain model, and the FST and VCD builds that waves: true and a .vcd file name ask for.
beforeAll(
  () => prebuild(counter(8), { design: counter(8), opts: { waves: true } }, { design: counter(8), opts: { waves: 'counter.vcd' } }),
  BUILD_TIMEOUT,
);

const dir = path.join(buildRoot(), 'test-sim', 'waves');

async function record(file: string): Promise<void> {
  await rm(file, { force: true });
  const sim = await simulate(counter(8), { waves: file });
  expect(sim.waves.file).toBe(file);
  sim.reset();
  sim.ports.en = 1;
  sim.tick(20);
  sim.close();
}

describe('waveforms', () => {
  it('writes an FST with every signal of the hierarchy', async () => {
    const file = path.join(dir, 'counter.fst');
    await record(file);
    const h = await readWaveHeader(file);
    expect(h.format).toBe('fst');
    expect(h.timescale).toBe('1ps');
    expect(h.scopes).toEqual(['TOP', 'TOP.sim_counter__WIDTH_8']);
    const names = h.signals.map((s) => `${s.path}:${s.width}`);
    expect(names).toEqual(
      expect.arrayContaining(['TOP.clk:1', 'TOP.count:8', 'TOP.sim_counter__WIDTH_8.value:8', 'TOP.sim_counter__WIDTH_8.en:1']),
    );
    expect(h.endTime).toBe(22n * 10_000n - 5_000n); // 22 cycles of 10 ns, last dump at the rising edge
  });

  it('writes a VCD with values that follow the design', async () => {
    const file = path.join(dir, 'counter.vcd');
    await record(file);
    const h = await readWaveHeader(file);
    expect(h.format).toBe('vcd');
    expect(h.timescale).toBe('1ps');
    expect(h.signals.map((s) => s.path)).toContain('TOP.sim_counter__WIDTH_8.value');
    const text = await readFile(file, 'utf8');
    expect(text).toContain('b00010100'); // count reached 20
  });

  it('costs nothing when off: the default build has no tracing and refuses to start one', async () => {
    const sim = await simulate(counter(8));
    try {
      expect(sim.model.trace).toBe('none');
      expect(() => sim.waves.start(path.join(dir, 'nope.fst'))).toThrow(/built without waveform support.*waves: true/);
    } finally {
      sim.close();
    }
  });

  it('starts and stops on request in a traced build, and CDNA_WAVES turns it on per run', async () => {
    const saved = process.env.CDNA_WAVES;
    process.env.CDNA_WAVES = 'vcd';
    try {
      const sim = await simulate(counter(8), { name: 'per-run' });
      const auto = sim.waves.file as string;
      expect(auto).toMatch(/per-run.*\.vcd$/);
      sim.tick(3);
      sim.waves.stop();
      const later = path.join(dir, 'window.vcd');
      sim.waves.start(later);
      sim.tick(2);
      sim.close();
      expect((await stat(auto)).size).toBeGreaterThan(0);
      const h = await readWaveHeader(later);
      expect(h.signals.length).toBeGreaterThan(5);
    } finally {
      if (saved === undefined) delete process.env.CDNA_WAVES;
      else process.env.CDNA_WAVES = saved;
    }
  });
});
