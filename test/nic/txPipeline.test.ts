/**
 * The transmit engine's pipelining: with a DMA latency of 200 cycles, descriptor fetches and payload
 * reads of several frames are in flight at once, so frames leave back to back. (Throughput figures are
 * the benchmark's business; these tests check the structure that makes them possible.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { closeBenches, closeSims, ethFrame, macOf, RingDriver, TxBench } from './txBench.js';

afterEach(closeBenches);
afterAll(closeSims);
beforeAll(() => TxBench.prepare({ profile: '10g' }), BUILD_TIMEOUT);

interface Run {
  b: TxBench;
  /** Cycles from the first to the last beat on the wire, and beats sent. */
  span: number;
  beats: number;
}

async function stream(ctxs: number[], frames: number, len: number): Promise<Run> {
  const b = await TxBench.create({
    profile: '10g',
    memory: { readLatency: 200, writeLatency: 200, maxReads: 128, maxWrites: 128 },
  });
  const drivers: RingDriver[] = [];
  for (const c of ctxs) {
    await b.configure(c, { ringLog2: 9 });
    drivers.push(new RingDriver(b, c));
  }
  let posted = 0;
  while (posted < frames) {
    for (const d of drivers) {
      let any = false;
      while (posted < frames && d.canPost(1)) {
        d.post(ethFrame(0x02_88_88_88_88_88, macOf(d.ctx), len, posted++));
        any = true;
      }
      if (any) b.doorbell(d.ctx);
    }
    await b.tb.cycles(8);
  }
  for (const d of drivers) await d.drained(200_000);
  await b.settle();
  expect(b.wireFrames.length).toBe(frames);
  const first = b.wireFrames[0]?.firstCycle ?? 0;
  const last = b.wireFrames.at(-1)?.lastCycle ?? 0;
  const beats = b.wireFrames.reduce((n, f) => n + f.beats.length, 0);
  return { b, span: last - first + 1, beats };
}

describe('transmit pipeline', () => {
  for (const [n, len] of [
    [1, 60],
    [1, 1514],
    [8, 60],
    [256, 60],
  ] as const) {
    it(`10g, ${n} context(s), ${len}-byte frames, 200-cycle DMA latency: many reads in flight, frames back to back after the first`, async () => {
      const ctxs = Array.from({ length: n }, (_, i) => i);
      const frames = n === 256 ? 512 : 300;
      const { b, span, beats } = await stream(ctxs, frames, len);
      // Only the first frame waits for a whole round trip (its context's first descriptor is a probe).
      const gaps = b.wireFrames.slice(1).map((f, i) => f.firstCycle - (b.wireFrames[i]?.lastCycle ?? 0) - 1);
      expect(gaps.slice(1).filter((g) => g > 0)).toEqual([]);
      expect(span).toBe(beats + (gaps[0] ?? 0));
      expect(b.axi.maxReadsSeen).toBeGreaterThan(len > 1000 ? 8 : 32);
    });
  }
});
