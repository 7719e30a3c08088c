/**
 * The transmit scheduler (T-2): round-robin over contexts with work, TX_QUANTUM frames per turn, idle
 * contexts skipped, whatever the memory latency.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { type Rng, withSeed } from '../models/seeded.js';
import { closeBenches, closeSims, ethFrame, macOf, RingDriver, TxBench } from './txBench.js';

afterEach(closeBenches);
afterAll(closeSims);
beforeAll(() => TxBench.prepare({}, { params: { TX_QUANTUM: 2, SEQ_W: 8, MAX_RING_LOG2: 5 } }), BUILD_TIMEOUT);

/** Which context sent each frame (frames carry their context's MAC as source). */
function senders(b: TxBench): number[] {
  const byMac = new Map<string, number>();
  for (let c = 0; c < b.p.N_CTX; c++) byMac.set(Buffer.from(ethFrame(0, macOf(c), 12, 0).subarray(6, 12)).toString('hex'), c);
  return b.wireFrames.map((f) => byMac.get(Buffer.from(f.data.subarray(6, 12)).toString('hex')) ?? -1);
}

async function saturate(
  params: Record<string, number>,
  busy: number[],
  idle: number[],
  perCtx: number,
  latency: number,
): Promise<{ b: TxBench; order: number[] }> {
  const b = await TxBench.create({ params, memory: { readLatency: latency, writeLatency: latency / 2 } });
  const drivers = busy.map((c) => new RingDriver(b, c));
  for (const c of [...busy, ...idle]) await b.configure(c);
  let tag = 0;
  await withSeed(async (rng) => {
    // Keep every busy ring full until each context has posted its frames; ring the idle ones' doorbells too.
    const limit = b.tb.cycle + 100_000;
    while (drivers.some((d) => d.posted.length < perCtx)) {
      if (b.tb.cycle > limit) {
        throw new Error(`no progress: posted ${drivers.map((d) => `${d.ctx}:${d.posted.length}/${d.doneSeq}`).join(' ')}`);
      }
      for (const d of drivers) {
        let posted = false;
        while (d.posted.length < perCtx && d.canPost(1)) {
          d.post(ethFrame(0x02_99_99_99_99_99, macOf(d.ctx), rng.int(60, 120), tag++));
          posted = true;
        }
        if (posted) b.doorbell(d.ctx);
      }
      for (const c of idle) if (rng.chance(0.2)) b.doorbell(c);
      await b.tb.cycles(4);
    }
    for (const d of drivers) await b.waitDone(d.ctx, d.nextSeq - 1);
    await b.settle();
  });
  return { b, order: senders(b) };
}

/** The frames sent while every busy context still had work: up to the first that ran out. */
function saturatedSpan(order: number[], perCtx: number): number[] {
  const seen = new Map<number, number>();
  for (let i = 0; i < order.length; i++) {
    const c = order[i] as number;
    seen.set(c, (seen.get(c) ?? 0) + 1);
    if (seen.get(c) === perCtx) return order.slice(0, i + 1);
  }
  return order;
}

function checkWindows(span: number[], busy: number[], quantum: number): void {
  const k = busy.length;
  for (let i = 0; i + k * quantum <= span.length; i++) {
    const window = span.slice(i, i + k * quantum);
    for (const c of busy) {
      const n = window.filter((x) => x === c).length;
      if (n < quantum - 1 || n > quantum + 1) {
        throw new Error(`frames ${i}..${i + k * quantum - 1} hold ${n} frames of context ${c} (quantum ${quantum}): ${window.join(',')}`);
      }
    }
  }
}

/**
 * Start-up: `k` contexts, each with a full ring posted, have their doorbells rung 0..24 cycles apart
 * (in a random order); read latency is drawn from 1..20 cycles. Returns the order of senders and the
 * frames each context posted.
 */
async function wakeTogether(rng: Rng, k: number): Promise<{ order: number[]; posted: number[] }> {
  const b = await TxBench.create({ memory: { readLatency: [1, 20], reorder: true, rng: rng.fork(), maxReads: 16 } });
  const ctxs = Array.from({ length: k }, (_, i) => i);
  const drivers = ctxs.map((c) => new RingDriver(b, c));
  for (const c of ctxs) await b.configure(c);
  let tag = 0;
  for (const d of drivers) while (d.canPost(1)) d.post(ethFrame(0x02_99_99_99_99_99, macOf(d.ctx), rng.int(60, 200), tag++));
  const wakeOrder = [...ctxs];
  for (let i = wakeOrder.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [wakeOrder[i], wakeOrder[j]] = [wakeOrder[j] as number, wakeOrder[i] as number];
  }
  for (const c of wakeOrder) {
    b.doorbell(c);
    await b.tb.cycles(rng.int(0, 24));
  }
  for (const d of drivers) await d.drained();
  await b.settle();
  const order = senders(b);
  b.close();
  return { order, posted: drivers.map((d) => d.posted.length) };
}

describe('transmit scheduler', () => {
  it('T-2 at start-up: contexts woken 0..24 cycles apart, random read latency: once all have started, every window of K frames holds one (+-1) of each', async () => {
    await withSeed(async (rng) => {
      let judged = 0;
      for (let trial = 0; trial < 32; trial++) {
        const k = rng.int(3, 4);
        const { order, posted } = await wakeTogether(rng, k);
        const ctxs = Array.from({ length: k }, (_, i) => i);
        expect(
          ctxs.map((c) => order.filter((x) => x === c).length),
          `trial ${trial}: frames sent per context`,
        ).toEqual(posted);
        // From the first frame of the last context to start (every frame from there on was fetched after
        // all doorbells) up to the first context that ran out (all had work until then).
        const span = saturatedSpan(order, posted[0] as number);
        const firsts = ctxs.map((c) => span.indexOf(c));
        // A context woken late may find another's ring already drained: nothing to judge then.
        if (Math.min(...firsts) < 0) continue;
        judged++;
        const from = Math.max(...firsts);
        checkWindows(
          span.slice(from),
          Array.from({ length: k }, (_, i) => i),
          1,
        );
      }
      // Most trials wake every context before the first runs dry (so the check above is not vacuous).
      expect(judged).toBeGreaterThanOrEqual(16);
    });
  });

  it('T-2: with 3 contexts saturated (8-entry rings), every window of 3 frames holds one (+-1) of each; an idle context uses no slot', async () => {
    const busy = [0, 1, 2];
    const { b, order } = await saturate({}, busy, [3], 30, 40);
    expect(order.length).toBe(90);
    expect(order.filter((c) => c === 3)).toEqual([]);
    const span = saturatedSpan(order, 30);
    expect(span.length).toBeGreaterThan(80);
    checkWindows(span, busy, 1);
    expect(await b.counters(3)).toMatchObject({ frames: 0 });
    b.close();
  });

  it('T-2: with TX_QUANTUM=2 every window of 2K frames holds 2 (+-1) of each context', async () => {
    const busy = [1, 2, 3];
    // 32-entry rings: with 8 the ring, not the scheduler, would limit how many frames are in flight.
    const { b, order } = await saturate({ TX_QUANTUM: 2, SEQ_W: 8, MAX_RING_LOG2: 5 }, busy, [0], 24, 60);
    expect(order.length).toBe(72);
    const span = saturatedSpan(order, 24);
    expect(span.length).toBeGreaterThan(60);
    checkWindows(span, busy, 2);
    b.close();
  });
});
