/**
 * The transmit scheduler (T-2): round-robin over contexts with work, TX_QUANTUM frames per turn, idle
 * contexts skipped, whatever the memory latency.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { withSeed } from '../models/seeded.js';
import { closeBenches, closeSims, ethFrame, macOf, RingDriver, TxBench } from './txBench.js';

afterEach(closeBenches);
afterAll(closeSims);

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

describe('transmit scheduler', () => {
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
