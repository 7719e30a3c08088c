/**
 * The mailbox against a cycle model, under random doorbells, INT_CTRL and reserved writes and random
 * engine readiness (C-2, C-3). Seeded: SEED=<n> re-runs a failure.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Bar0Reg } from '../../hdl/registers/map.js';
import { always, randomly } from '../../testbench/axi/index.js';
import { Rng, testSeed } from '../../testbench/runtime/index.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { closeOpenBench, closeSims, EXEC_DELAY, MailboxBench, type Pop } from './mailboxBench.js';

afterEach(closeOpenBench);
afterAll(closeSims);
beforeAll(() => MailboxBench.prepare({}, { profile: 'ricenic' }), BUILD_TIMEOUT);

const queueOf: Partial<Record<Bar0Reg, 'tx' | 'rx'>> = { TX_PROD: 'tx', RX_PROD: 'rx' };

/** One doorbell queue as the spec describes it: bit c set by a doorbell, cleared by the pop of c. */
class QueueModel {
  readonly bits = new Set<number>();
  readonly fifo: number[] = [];
  races = 0;
  maxDepth = 0;

  /** One edge: the pop the hardware made (checked against the model's head), then the doorbell. */
  edge(pop: number | undefined, doorbell: number | undefined, where: string): void {
    const before = new Set(this.bits);
    if (pop !== undefined) {
      expect(this.fifo[0], `${where}: popped ${pop}, the model's queue head`).toBe(pop);
      this.fifo.shift();
      this.bits.delete(pop);
    }
    if (doorbell !== undefined) {
      if (pop === doorbell) this.races++;
      if (!before.has(doorbell) || pop === doorbell) this.fifo.push(doorbell);
      this.bits.add(doorbell);
    }
    this.maxDepth = Math.max(this.maxDepth, this.fifo.length);
  }

  vector(): bigint {
    let v = 0n;
    for (const c of this.bits) v |= 1n << BigInt(c);
    return v;
  }
}

async function randomRun(profile: string, writes: number): Promise<void> {
  const seed = testSeed();
  const where = (what: string) => `${what} (${profile}, seed ${seed}; re-run with SEED=${seed})`;
  const rng = new Rng(seed);
  const b = await MailboxBench.create({
    profile,
    txReady: randomly(0.3, rng.fork()),
    rxReady: randomly(0.3, rng.fork()),
    intReady: always,
  });
  const n = b.p.N_CTX;
  // Doorbells bunch on a few contexts so that pops and doorbells of one context meet often.
  const hot = [0, n - 1, n >> 1];
  const words: (Bar0Reg | number)[] = ['TX_PROD', 'TX_PROD', 'TX_PROD', 'RX_PROD', 'RX_PROD', 'RX_PROD', 'INT_CTRL', 0x00c, 0x010, 0x7f0];
  const sent: { ctx: number; reg: Bar0Reg | null; value: number; addr: number }[] = [];
  for (let i = 0; i < writes; i++) {
    const ctx = rng.chance(0.6) ? rng.pick(hot) : rng.int(n);
    const w = rng.pick(words);
    const value = rng.u32();
    const addr = typeof w === 'number' ? ctx * 0x1000 + w : b.addr(ctx, w);
    sent.push({ ctx, reg: typeof w === 'number' ? null : w, value, addr });
    await b.master.write(addr, value);
    await b.tb.cycles(rng.int(3));
  }
  b.txReady = always;
  b.rxReady = always;
  await b.tb.cycles(2 * n + 10);

  // Replay the run on the model, edge by edge.
  expect(b.writes.length, where('writes seen on the bus')).toBe(writes);
  const execAt = new Map<number, (typeof sent)[number]>();
  b.writes.forEach((w, i) => {
    const s = sent[i] as (typeof sent)[number];
    expect(w.addr, where(`address of write ${i}`)).toBe(s.addr);
    execAt.set(w.cycle + EXEC_DELAY, s);
  });
  const popsAt = (pops: Pop[]) => new Map(pops.map((p) => [p.cycle, p.ctx]));
  const txPops = popsAt(b.txPops);
  const rxPops = popsAt(b.rxPops);
  const intAt = new Map(b.intCtrl.map((x) => [x.cycle, x]));
  const tx = new QueueModel();
  const rx = new QueueModel();
  let intPending: number | null = null;
  const intExpected: { ctx: number; mask: boolean; unmask: boolean }[] = [];
  const first = b.samples[0]?.cycle ?? 0;
  const last = b.samples.at(-1)?.cycle ?? 0;
  for (let x = first; x < last; x++) {
    const e = execAt.get(x);
    const q = e?.reg ? queueOf[e.reg] : undefined;
    tx.edge(txPops.get(x), q === 'tx' ? e?.ctx : undefined, where(`edge ${x}, TX queue`));
    rx.edge(rxPops.get(x), q === 'rx' ? e?.ctx : undefined, where(`edge ${x}, RX queue`));
    const taken = intAt.get(x);
    if (taken) {
      expect(taken.ctx, where(`edge ${x}: INT_CTRL taken`)).toBe(intPending);
      intPending = null;
    }
    if (e?.reg === 'INT_CTRL') {
      intPending = e.ctx;
      intExpected.push({ ctx: e.ctx, mask: (e.value & 1) === 1, unmask: (e.value & 2) === 2 });
    }
    const s = b.sampleAt(x + 1);
    const intVec = intPending === null ? 0n : 1n << BigInt(intPending);
    expect({ tx: s.tx, rx: s.rx, int: s.int, ctx: s.ctx }, where(`event vectors after edge ${x}`)).toEqual({
      tx: tx.vector(),
      rx: rx.vector(),
      int: intVec,
      ctx: tx.vector() | rx.vector() | intVec,
    });
  }
  // Nothing lost: every doorbell was followed by a pop of its context, and the queues drained.
  expect({ tx: tx.fifo, rx: rx.fifo, int: intPending }, where('after draining')).toEqual({ tx: [], rx: [], int: null });
  expect(
    b.intCtrl.map(({ ctx, mask, unmask }) => ({ ctx, mask, unmask })),
    where('INT_CTRL stream'),
  ).toEqual(intExpected);
  expect(Math.max(tx.maxDepth, rx.maxDepth), where('queue depth')).toBeLessThanOrEqual(n);
  // The same-cycle race (C-3) has to have happened for this run to mean anything.
  expect(tx.races + rx.races, where('doorbells in the cycle of their own pop')).toBeGreaterThan(0);
  b.close();
}

describe('mailbox against its cycle model (randomized, seeded)', () => {
  it('C-2, C-3: test profile (N_CTX=4): event bits every cycle, queue order, races with pops, INT_CTRL stream', async () => {
    await randomRun('test', 3000);
  });

  it('C-2, C-3: ricenic profile (N_CTX=32, queues in block RAM)', async () => {
    await randomRun('ricenic', 3000);
  });
});
