import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { priorityEncoder } from '../../generator/lib/index.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { VariantPool, type VariantSim } from '../fixtures/variants.js';
import { withSeed } from '../models/seeded.js';

type PePorts = { bits: number | bigint; index: number; valid: number };

// Every width in one model (test/fixtures/variants.ts): one cold build instead of eight.
const pool = new VariantPool(
  'priority_encoder_widths',
  [1, 2, 3, 5, 8, 13, 64, 100].map((n) => priorityEncoder({ n })),
);
beforeAll(() => pool.build(), BUILD_TIMEOUT);
afterAll(() => pool.close());

function lowest(v: bigint): number {
  let i = 0;
  while (((v >> BigInt(i)) & 1n) === 0n) i++;
  return i;
}

async function check(sim: VariantSim<PePorts>, value: bigint): Promise<void> {
  sim.ports.bits = value;
  sim.settle();
  const at = `bits = 0x${value.toString(16)}`;
  expect(sim.ports.valid, at).toBe(value === 0n ? 0 : 1);
  if (value !== 0n) expect(sim.ports.index, at).toBe(lowest(value));
}

describe('priorityEncoder in simulation', () => {
  for (const n of [1, 2, 3, 5, 8]) {
    it(`n = ${n}: every input value`, async () => {
      const sim = pool.sim<PePorts>(priorityEncoder({ n }));
      for (let v = 0; v < 1 << n; v++) await check(sim, BigInt(v));
    });
  }

  for (const n of [13, 64, 100]) {
    it(`n = ${n}: every single bit, and random values`, async () => {
      const sim = pool.sim<PePorts>(priorityEncoder({ n }));
      await check(sim, 0n);
      for (let i = 0; i < n; i++) {
        await check(sim, 1n << BigInt(i));
        await check(sim, ((1n << BigInt(n)) - 1n) ^ ((1n << BigInt(i)) - 1n)); // all bits from i up
      }
      await withSeed(async (rng) => {
        for (let k = 0; k < 2000; k++) {
          // Sparse values reach the high bits more often than uniform ones.
          let v = 0n;
          const ones = rng.range(1, 3);
          for (let j = 0; j < ones; j++) v |= 1n << BigInt(rng.range(0, n - 1));
          await check(sim, v);
        }
      });
    });
  }
});
