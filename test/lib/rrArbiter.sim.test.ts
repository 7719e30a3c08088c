import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rrArbiter } from '../../generator/lib/index.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { VariantPool, type VariantSim } from '../fixtures/variants.js';
import { type Rng, withSeed } from '../models/seeded.js';

type ArbPorts = { req: number | bigint; advance: number; grant: number | bigint; grant_index: number; grant_valid: number };

// Every size in one model (test/fixtures/variants.ts): one cold build instead of seven.
const pool = new VariantPool('rr_arbiter_sizes', [
  ...[4, 5, 100, 1024, 1, 8].map((n) => rrArbiter({ n })),
  rrArbiter({ n: 40, groupSize: 8 }),
]);
beforeAll(() => pool.build(), BUILD_TIMEOUT);
afterAll(() => pool.close());

function arbiterSim(n: number, groupSize?: number): VariantSim<ArbPorts> {
  const sim = pool.sim<ArbPorts>(rrArbiter({ n, groupSize }));
  sim.ports.req = 0;
  sim.ports.advance = 0;
  sim.reset();
  return sim;
}

/** The reference: the first requester at or after the pointer, wrapping; advance moves the pointer past it. */
class RoundRobin {
  ptr = 0;
  constructor(readonly n: number) {}
  pick(req: bigint): number | null {
    for (let k = 0; k < this.n; k++) {
      const i = (this.ptr + k) % this.n;
      if ((req >> BigInt(i)) & 1n) return i;
    }
    return null;
  }
  edge(req: bigint, advance: boolean): void {
    const g = this.pick(req);
    if (advance && g !== null) this.ptr = (g + 1) % this.n;
  }
}

function randomSubset(rng: Rng, n: number, density: number): bigint {
  let v = 0n;
  for (let i = 0; i < n; i++) if (rng.chance(density)) v |= 1n << BigInt(i);
  return v;
}

/** Random requests and advances, every edge compared with the reference. */
function compareWithModel(sim: VariantSim<ArbPorts>, n: number, rng: Rng, cycles: number): void {
  const model = new RoundRobin(n);
  let req = 0n;
  for (let c = 0; c < cycles; c++) {
    // Requests change now and then (a requester holds its request for a while, as real ones do).
    if (c % 7 === 0) req = randomSubset(rng, n, rng.pick([0.02, 0.2, 0.6]));
    if (rng.chance(0.1)) req ^= 1n << BigInt(rng.range(0, n - 1));
    sim.ports.req = req;
    sim.ports.advance = rng.chance(0.8) ? 1 : 0;
    sim.tick();
    const s = sim.sampled;
    const g = model.pick(req);
    const at = `cycle ${c}, pointer ${model.ptr}`;
    expect(s.grant_valid, at).toBe(g === null ? 0 : 1);
    expect(BigInt(s.grant), at).toBe(g === null ? 0n : 1n << BigInt(g));
    if (g !== null) expect(s.grant_index, at).toBe(g);
    model.edge(req, s.advance === 1);
  }
}

/** With a fixed set of requesters and an advance every cycle, each gets exactly one grant per round. */
function fairShares(sim: VariantSim<ArbPorts>, n: number, rng: Rng): void {
  for (let round = 0; round < 4; round++) {
    const req = round === 0 ? (1n << BigInt(n)) - 1n : randomSubset(rng, n, [0.5, 0.1, 0.9][round % 3] as number) | 1n;
    const members: number[] = [];
    for (let i = 0; i < n; i++) if ((req >> BigInt(i)) & 1n) members.push(i);
    const grants = new Map<number, number>();
    sim.ports.req = req;
    sim.ports.advance = 1;
    const windows = 3;
    const order: number[] = [];
    for (let c = 0; c < windows * members.length; c++) {
      sim.tick();
      const g = sim.sampled.grant_index;
      expect(sim.sampled.grant_valid).toBe(1);
      grants.set(g, (grants.get(g) ?? 0) + 1);
      order.push(g);
    }
    // Idle requesters are skipped, and each busy one gets the same share.
    expect([...grants.keys()].sort((a, b) => a - b)).toEqual(members);
    for (const m of members) expect(grants.get(m), `requester ${m}`).toBe(windows);
    // The order is round-robin: each grant is the next busy requester after the previous one.
    for (let k = 1; k < order.length; k++) {
      const prev = members.indexOf(order[k - 1] as number);
      expect(order[k]).toBe(members[(prev + 1) % members.length]);
    }
  }
}

describe('rrArbiter in simulation', () => {
  for (const { n, groupSize } of [
    { n: 4, groupSize: undefined },
    { n: 5, groupSize: undefined },
    { n: 40, groupSize: 8 },
    { n: 100, groupSize: undefined },
    { n: 1024, groupSize: undefined },
  ]) {
    const label = `n = ${n}${groupSize ? `, groups of ${groupSize}` : ''}`;
    it(`${label}: grants match the round-robin reference under random requests`, async () => {
      const sim = arbiterSim(n, groupSize);
      await withSeed((rng) => compareWithModel(sim, n, rng, n >= 1000 ? 1500 : 3000));
    });
    it(`${label}: equal shares over a window, idle requesters skipped`, async () => {
      const sim = arbiterSim(n, groupSize);
      await withSeed((rng) => fairShares(sim, n, rng));
    });
  }

  it('n = 1: the one requester is granted whenever it asks (no pointer, no clock)', async () => {
    const sim = arbiterSim(1);
    for (const req of [0, 1, 1, 0]) {
      sim.ports.req = req;
      sim.settle();
      expect(sim.ports.grant_valid).toBe(req);
      expect(sim.ports.grant).toBe(req);
      expect(sim.ports.grant_index).toBe(0);
    }
  });

  for (const n of [4, 1024]) {
    it(`n = ${n}: the grant follows req in the same cycle (no clock edge), wherever the pointer is`, async () => {
      const sim = arbiterSim(n);
      await withSeed((rng) => {
        for (let k = 0; k < 50; k++) {
          // Move the pointer somewhere, then present a new request and look before the next edge.
          const at = rng.range(0, n - 1);
          sim.ports.req = 1n << BigInt(at);
          sim.ports.advance = 1;
          sim.tick();
          const other = rng.range(0, n - 1);
          sim.ports.req = 1n << BigInt(other);
          sim.ports.advance = 0;
          sim.settle();
          expect(sim.ports.grant_valid).toBe(1);
          expect(sim.ports.grant_index).toBe(other);
          expect(BigInt(sim.ports.grant)).toBe(1n << BigInt(other));
        }
      });
    });
  }

  it('n = 8: without advance the grant stays on its requester while it requests', async () => {
    const sim = arbiterSim(8);
    sim.ports.req = 0b1010_0110;
    sim.ports.advance = 0;
    for (let c = 0; c < 5; c++) {
      sim.tick();
      expect(sim.sampled.grant_index).toBe(1);
    }
    sim.ports.advance = 1;
    const seen: number[] = [];
    for (let c = 0; c < 5; c++) {
      sim.tick();
      seen.push(sim.sampled.grant_index);
    }
    expect(seen).toEqual([1, 2, 5, 7, 1]);
    // Requester 1 drops its request while held: the grant moves on to the next one after the pointer.
    sim.ports.advance = 0;
    sim.ports.req = 0b1010_0100;
    sim.tick();
    expect(sim.sampled.grant_index).toBe(2);
  });
});
