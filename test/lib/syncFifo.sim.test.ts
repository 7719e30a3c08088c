import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FifoStorage, syncFifo } from '../../generator/lib/index.js';
import { Rng } from '../../testbench/runtime/random.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { VariantPool, type VariantSim } from '../fixtures/variants.js';
import { withSeed } from '../models/seeded.js';

type FifoPorts = Record<'in_valid' | 'in_ready' | 'in_data' | 'out_valid' | 'out_ready' | 'out_data' | 'count' | 'rst', number>;

/**
 * The FIFO's documented timing, cycle by cycle. Flip-flop storage offers the oldest word as soon as it
 * is written. Block RAM storage fetches a word into the RAM's output register one edge after it was
 * written, and refetches whenever that register is empty or being emptied.
 */
class FifoModel {
  private readonly ram: number[] = [];
  private out: number | null = null;

  constructor(
    private readonly storage: FifoStorage,
    private readonly depth: number,
  ) {}

  get count(): number {
    return this.ram.length + (this.out === null ? 0 : 1);
  }
  get inReady(): boolean {
    return this.count < this.depth;
  }
  get outValid(): boolean {
    return this.storage === 'flops' ? this.ram.length > 0 : this.out !== null;
  }
  get head(): number | undefined {
    return this.storage === 'flops' ? this.ram[0] : (this.out ?? undefined);
  }

  edge(push: boolean, data: number, outReady: boolean): void {
    if (this.storage === 'flops') {
      if (outReady && this.ram.length > 0) this.ram.shift();
    } else {
      const pop = this.out !== null && outReady;
      const fetch = this.ram.length > 0 && (this.out === null || outReady);
      if (fetch) this.out = this.ram.shift() as number;
      else if (pop) this.out = null;
    }
    if (push) this.ram.push(data);
  }
}

interface FifoConfig {
  width: number;
  depth: number;
  storage: FifoStorage;
  /** The step the counts pick by last (a different circuit, the same behaviour). */
  late?: 'push' | 'pop';
}

const configs: FifoConfig[] = [
  { width: 8, depth: 1, storage: 'flops' },
  { width: 8, depth: 4, storage: 'flops' },
  { width: 16, depth: 5, storage: 'flops' },
  { width: 16, depth: 32, storage: 'block' },
  { width: 32, depth: 37, storage: 'block' },
  { width: 8, depth: 5, storage: 'flops', late: 'push' },
  { width: 8, depth: 4, storage: 'flops', late: 'pop' },
  { width: 16, depth: 32, storage: 'block', late: 'pop' },
];

function fifoDef(c: FifoConfig) {
  return syncFifo({ width: c.width, depth: c.depth, storage: c.storage, latePush: c.late === 'push', latePop: c.late === 'pop' });
}

// Every configuration in one model (test/fixtures/variants.ts): one cold build instead of eight.
const pool = new VariantPool('sync_fifo_configs', [
  ...configs.map(fifoDef),
  syncFifo({ width: 16, depth: 4, storage: 'flops' }),
  syncFifo({ width: 16, depth: 64, storage: 'block' }),
  syncFifo({ width: 8, depth: 40, storage: 'block' }),
]);
beforeAll(() => pool.build(), BUILD_TIMEOUT);
afterAll(() => pool.close());

function fifoSim(width: number, depth: number, storage: FifoStorage, late?: FifoConfig['late']): VariantSim<FifoPorts> {
  const sim = pool.sim<FifoPorts>(fifoDef({ width, depth, storage, ...(late ? { late } : {}) }));
  sim.ports.in_valid = 0;
  sim.ports.out_ready = 0;
  sim.reset();
  return sim;
}

/**
 * Random valid and ready, in phases that fill, drain and mix; every edge is checked against the model
 * and the words that leave must be the words that entered, in order.
 */
function randomTraffic(sim: VariantSim<FifoPorts>, model: FifoModel, rng: Rng, width: number, depth: number, cycles: number): void {
  const mask = width >= 32 ? 0xffffffff : (1 << width) - 1;
  const sent: number[] = [];
  const received: number[] = [];
  let sawFull = false;
  let sawEmpty = false;
  let both = 0;
  const phases: [number, number][] = [
    [0.9, 0.2],
    [0.2, 0.9],
    [0.6, 0.6],
    [1, 1],
  ];
  for (let c = 0; c < cycles; c++) {
    const [pIn, pOut] = phases[Math.floor(c / 150) % phases.length] as [number, number];
    const data = rng.range(0, mask) >>> 0;
    sim.ports.in_valid = rng.chance(pIn) ? 1 : 0;
    sim.ports.in_data = data;
    sim.ports.out_ready = rng.chance(pOut) ? 1 : 0;
    sim.tick();
    const s = sim.sampled;
    const at = `cycle ${c}`;
    expect(s.count, at).toBe(model.count);
    expect(s.in_ready, at).toBe(model.inReady ? 1 : 0);
    expect(s.out_valid, at).toBe(model.outValid ? 1 : 0);
    if (model.outValid) expect(s.out_data, at).toBe(model.head);
    const push = s.in_valid === 1 && s.in_ready === 1;
    const pop = s.out_valid === 1 && s.out_ready === 1;
    if (push) sent.push(data);
    if (pop) received.push(s.out_data >>> 0);
    if (push && pop) both++;
    if (s.count === depth) sawFull = true;
    if (s.count === 0) sawEmpty = true;
    model.edge(push, data, s.out_ready === 1);
  }
  expect(received).toEqual(sent.slice(0, received.length));
  expect(received.length).toBeGreaterThan(cycles / 4);
  expect(new Set(sent).size, 'the words differ, so order is checked').toBeGreaterThan(Math.min(cycles / 8, 1 << width) / 2);
  expect(sawFull, 'the stimulus filled the FIFO').toBe(true);
  expect(sawEmpty, 'the stimulus emptied the FIFO').toBe(true);
  if (depth > 1) expect(both, 'pushes and pops on the same edge').toBeGreaterThan(0);
}

describe('syncFifo in simulation', () => {
  for (const { width, depth, storage, late } of configs) {
    const name = `width ${width}, depth ${depth}, ${storage}${late ? `, late ${late}` : ''}`;
    it(`${name}: random valid/ready keeps order, count, full and empty`, async () => {
      const sim = fifoSim(width, depth, storage, late);
      await withSeed((rng) => randomTraffic(sim, new FifoModel(storage, depth), rng, width, depth, 2400));
    });
  }

  for (const storage of ['flops', 'block'] as const) {
    it(`${storage}: one word per cycle in and out at once, without bubbles`, async () => {
      const depth = storage === 'flops' ? 4 : 64;
      const sim = fifoSim(16, depth, storage);
      const latency = storage === 'flops' ? 1 : 2;
      sim.ports.in_valid = 1;
      sim.ports.out_ready = 1;
      const out: number[] = [];
      const cycles = 300;
      for (let c = 0; c < cycles; c++) {
        sim.ports.in_data = c;
        sim.tick();
        expect(sim.sampled.in_ready, `cycle ${c}`).toBe(1);
        if (sim.sampled.out_valid === 1) out.push(sim.sampled.out_data);
      }
      // After the first word's latency, a word leaves on every edge.
      expect(out).toEqual(Array.from({ length: cycles - latency }, (_, i) => i));
    });
  }

  it('block: fills to depth, refuses more, then drains at one word per cycle', async () => {
    const depth = 40;
    const sim = fifoSim(8, depth, 'block');
    const rng = new Rng(7);
    const words = Array.from({ length: depth + 5 }, () => rng.range(0, 255));
    let accepted = 0;
    sim.ports.in_valid = 1;
    for (const w of words) {
      sim.ports.in_data = w;
      sim.tick();
      if (sim.sampled.in_ready === 1) accepted++;
    }
    expect(accepted).toBe(depth);
    expect(sim.ports.count).toBe(depth);
    expect(sim.ports.in_ready).toBe(0);
    sim.ports.in_valid = 0;
    sim.ports.out_ready = 1;
    const out: number[] = [];
    for (let c = 0; c < depth + 3; c++) {
      sim.tick();
      if (sim.sampled.out_valid === 1) out.push(sim.sampled.out_data);
    }
    expect(out).toEqual(words.slice(0, depth));
    expect(sim.ports.count).toBe(0);
    expect(sim.ports.out_valid).toBe(0);
  });
});
