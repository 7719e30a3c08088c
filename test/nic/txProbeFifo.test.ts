/**
 * The TX engine's probe FIFO (hdl/nic/tx/probeFifo.ts) in Verilator against a TypeScript model, cycle
 * by cycle: a first-word-fall-through queue (a word pushed into an empty queue is offered on the next
 * cycle), `count`, full and empty, and `probe_hit` (some queued entry has the probed context in its
 * low bits) for every way of tracking the probe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatStats, synthesize } from '../../fpga/synth.js';
import { type ProbeFifoOptions, probeFifo } from '../../hdl/nic/tx/probeFifo.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { VariantPool, type VariantSim } from '../fixtures/variants.js';
import { type Rng, withSeed } from '../models/seeded.js';

type ProbePorts = Record<
  'in_valid' | 'in_ready' | 'in_data' | 'out_valid' | 'out_ready' | 'out_data' | 'probe_ctx' | 'probe_hit' | 'count' | 'rst',
  number | bigint
>;

/** The queue as its consumers see it: the oldest entry at the head, offered from the cycle after its push. */
class ProbeFifoModel {
  private readonly q: bigint[] = [];

  constructor(
    private readonly depth: number,
    private readonly ctxW: number,
  ) {}

  get count(): number {
    return this.q.length;
  }
  get inReady(): boolean {
    return this.q.length < this.depth;
  }
  get outValid(): boolean {
    return this.q.length > 0;
  }
  get head(): bigint | undefined {
    return this.q[0];
  }
  hit(ctx: number): boolean {
    const mask = (1n << BigInt(this.ctxW)) - 1n;
    return this.q.some((e) => (e & mask) === BigInt(ctx));
  }
  edge(push: boolean, data: bigint, pop: boolean): void {
    if (pop) this.q.shift();
    if (push) this.q.push(data);
  }
}

const configs: ProbeFifoOptions[] = [
  { width: 19, depth: 32, ctxW: 2, probe: 'contexts', storage: 'lut' },
  { width: 19, depth: 32, ctxW: 2, probe: 'slots' },
  { width: 30, depth: 4, ctxW: 2, probe: 'contexts' },
  { width: 30, depth: 4, ctxW: 2, probe: 'slots' },
  { width: 84, depth: 32, ctxW: 2, storage: 'lut' },
  { width: 40, depth: 16, ctxW: 5, probe: 'slots' },
  { width: 40, depth: 16, ctxW: 5, probe: 'contexts' },
  { width: 9, depth: 2, ctxW: 1 },
  { width: 84, depth: 32, ctxW: 2 },
  { width: 19, depth: 32, ctxW: 2, probe: 'slots', storage: 'block' },
  { width: 30, depth: 4, ctxW: 2, storage: 'block' },
  { width: 9, depth: 2, ctxW: 1, storage: 'block' },
];

const pool = new VariantPool(
  'tx_probe_fifo_configs',
  configs.map((c) => probeFifo(c)),
);
beforeAll(() => pool.build(), BUILD_TIMEOUT);
afterAll(() => pool.close());

function fifoSim(c: ProbeFifoOptions): VariantSim<ProbePorts> {
  const sim = pool.sim<ProbePorts>(probeFifo(c));
  sim.ports.in_valid = 0;
  sim.ports.out_ready = 0;
  sim.ports.probe_ctx = 0;
  sim.reset();
  return sim;
}

/**
 * Random valid, ready and probe in phases that fill, drain and mix, with entries drawn from a few
 * contexts at a time (so probes both hit and miss, and a context's last entry leaving is seen).
 */
function randomTraffic(sim: VariantSim<ProbePorts>, c: ProbeFifoOptions, rng: Rng, cycles: number): void {
  const model = new ProbeFifoModel(c.depth, c.ctxW);
  const nCtx = 2 ** c.ctxW;
  const phases: [number, number][] = [
    [0.9, 0.2],
    [0.2, 0.9],
    [0.6, 0.6],
    [1, 1],
    [0.5, 0.3],
  ];
  let sent = 0;
  let received = 0;
  let hits = 0;
  let misses = 0;
  let sawFull = false;
  let sawEmpty = false;
  let both = 0;
  let contexts: number[] = [0];
  for (let cycle = 0; cycle < cycles; cycle++) {
    if (cycle % 40 === 0) contexts = Array.from({ length: rng.int(1, Math.min(nCtx, 3)) }, () => rng.int(nCtx));
    const [pIn, pOut] = phases[Math.floor(cycle / 120) % phases.length] as [number, number];
    const ctx = contexts[rng.int(contexts.length)] as number;
    const data = (rng.bits(c.width - c.ctxW) << BigInt(c.ctxW)) | BigInt(ctx);
    const probe = rng.chance(0.5) ? (contexts[rng.int(contexts.length)] as number) : rng.int(nCtx);
    sim.ports.in_valid = rng.chance(pIn) ? 1 : 0;
    sim.ports.in_data = data;
    sim.ports.out_ready = rng.chance(pOut) ? 1 : 0;
    sim.ports.probe_ctx = probe;
    sim.tick();
    const s = sim.sampled;
    const at = `cycle ${cycle}`;
    expect(Number(s.count), at).toBe(model.count);
    expect(Number(s.in_ready), at).toBe(model.inReady ? 1 : 0);
    expect(Number(s.out_valid), at).toBe(model.outValid ? 1 : 0);
    if (model.outValid) expect(BigInt(s.out_data), at).toBe(model.head);
    const hit = model.hit(probe);
    expect(Number(s.probe_hit), `${at}: probe of context ${probe}`).toBe(hit ? 1 : 0);
    if (hit) hits++;
    else misses++;
    const push = Number(s.in_valid) === 1 && Number(s.in_ready) === 1;
    const pop = Number(s.out_valid) === 1 && Number(s.out_ready) === 1;
    if (push) sent++;
    if (pop) received++;
    if (push && pop) both++;
    if (model.count === c.depth) sawFull = true;
    if (model.count === 0) sawEmpty = true;
    model.edge(push, data, pop);
  }
  expect(received).toBeGreaterThan(cycles / 4);
  expect(sent - received).toBe(model.count);
  expect(hits, 'probes that hit').toBeGreaterThan(cycles / 10);
  expect(misses, 'probes that missed').toBeGreaterThan(cycles / 10);
  expect(sawFull, 'the stimulus filled the queue').toBe(true);
  expect(sawEmpty, 'the stimulus emptied the queue').toBe(true);
  expect(both, 'pushes and pops on the same edge').toBeGreaterThan(0);
}

describe('TX probe FIFO in simulation', () => {
  for (const c of configs) {
    it(`width ${c.width}, depth ${c.depth}, ctxW ${c.ctxW}, probe ${c.probe ?? 'default'}, storage ${c.storage ?? 'default'}: matches the model`, async () => {
      const sim = fifoSim(c);
      await withSeed((rng) => randomTraffic(sim, c, rng, 3000));
    });
  }

  for (const c of [configs[0], configs[8]] as ProbeFifoOptions[]) {
    it(`storage ${c.storage ?? 'default'}: one word per cycle in and out at once, offered the cycle after its push`, () => {
      const sim = fifoSim(c);
      sim.ports.in_valid = 1;
      sim.ports.out_ready = 1;
      const out: number[] = [];
      const cycles = 200;
      for (let i = 0; i < cycles; i++) {
        sim.ports.in_data = BigInt(i) << BigInt(c.ctxW);
        sim.tick();
        expect(Number(sim.sampled.in_ready), `cycle ${i}`).toBe(1);
        if (Number(sim.sampled.out_valid) === 1) out.push(Number(BigInt(sim.sampled.out_data) >> BigInt(c.ctxW)));
      }
      expect(out).toEqual(Array.from({ length: cycles - 1 }, (_, i) => i));
    });
  }
});

describe('TX probe FIFO on ECP5', () => {
  it('block storage: the words in DP16KD, no LUT RAM; a flip-flop per bit for the last pushed word', async () => {
    const lut = await synthesize(probeFifo({ width: 84, depth: 32, ctxW: 2, storage: 'lut' }), { target: 'ecp5' });
    const block = await synthesize(probeFifo({ width: 84, depth: 32, ctxW: 2, storage: 'block' }), { target: 'ecp5' });
    console.log(`84x32 probe FIFO on ecp5, lut: ${formatStats(lut.design)}; block: ${formatStats(block.design)}`);
    expect(lut.design.lutRamCells).toBe(42);
    expect(block.design.lutRamCells).toBe(0);
    expect(block.design.bramCells).toBe(3);
    expect(block.design.flipFlops).toBeLessThanOrEqual(lut.design.flipFlops + 84 + 1);
  });
});
