/**
 * RX refills in batches (issue 16): a context receiving steadily refills its descriptor cache with
 * reads of a whole aligned block (fetchBlock descriptors: 2 by default, or 4, a 64-byte block on a
 * 128-bit bus) instead of one read per frame, and still takes every posted buffer once, in seq order,
 * with no rx_nobuf. A doorbell reads whatever room the window has at once, in bursts of
 * up to 16 descriptors.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { closeSims, DONE_EOP, layout, RxBench } from './rx-fixture.js';

// A 64-entry ring, so the 32-deep prefetch window never reaches slots the guest is still recycling.
const PARAMS = { DMA_W: 128, SEQ_W: 8, MAX_RING_LOG2: 6 };
const RING_LOG2 = 6;
const RING = 2 ** RING_LOG2;

let bench: RxBench | null = null;
afterEach(() => {
  bench?.close();
  bench = null;
});
afterAll(() => closeSims());
// The default block (2 descriptors) and the 64-byte one.
const BLOCKS = [2, 4] as const;
beforeAll(
  () =>
    RxBench.prepare(
      ...BLOCKS.flatMap((fetchBlock) => [
        { params: PARAMS, rx: { fetchBlock } },
        { params: PARAMS, rx: { fetchBlock, descCache: 8 } },
      ]),
    ),
  BUILD_TIMEOUT,
);

const SRC = localMac(0xabc);

/** The ring slots a read burst covers, in address order. */
function slotsOf(r: { lo: number; hi: number }): number[] {
  const first = (r.lo - layout.ring(0)) / 16;
  return Array.from({ length: (r.hi - r.lo) / 16 }, (_, k) => first + k);
}

describe.each(BLOCKS)('rxEngine refill batches, blocks of %i descriptors', (BK) => {
  const rx = { fetchBlock: BK };
  it(`R-1, R-5: back-to-back 60-byte frames on one context refill in whole blocks of ${BK} (<= ${1 / BK} descriptor reads per frame); every buffer is used once, in seq order, none skipped, no rx_nobuf`, async () => {
    const b = await RxBench.create({ params: PARAMS, rx, memory: { readLatency: 100, maxReads: 64 } });
    bench = b;
    await b.configure(0, { mac: localMac(0), ringBase: layout.ring(0), ringLog2: RING_LOG2, doneBase: layout.done(0) });
    // The guest keeps the whole ring posted: seq s in buffer s, reposted 64 seqs on once completed.
    const frames = 176;
    for (let s = 1; s <= RING; s++) b.postBuffer(0, s, layout.buffer(0, s), 1514);
    let posted = RING;
    b.doorbell(0);
    await b.tb.cycles(600);
    const warmReads = b.ar.length;
    const start = b.tb.cycle;
    const sent = Array.from({ length: frames }, (_, k) => testFrame(localMac(0), SRC, { ctx: 0, seq: k + 1 }, 60).data);
    for (const f of sent) b.mac.write(f);
    let done = 0;
    while (done < frames) {
      await b.tb.cycles(8);
      done = Math.max(done, ...b.done.map((e) => e.seq));
      for (; posted < done + RING; ) {
        posted++;
        b.postBuffer(0, posted, layout.buffer(0, posted), 1514);
      }
      if (b.tb.cycle - start > 20 * frames + 2000) throw new Error(`only ${done} of ${frames} frames completed`);
    }
    await b.settle();

    // Every frame in the buffer of its own seq, written back, completions in seq order.
    // (The slot's descriptor as written back at its completion: the guest has reposted it since.)
    sent.forEach((f, k) => {
      expect(b.mem.read(layout.buffer(0, k + 1), f.length)).toEqual(f);
      expect(b.done.find((e) => e.seq === k + 1)?.desc).toMatchObject({ len: 60, flags: DONE_EOP, seq: k + 1 });
    });
    const seqs = b.doneUpdates.filter((e) => e.ctx === 0).map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.at(-1)).toBe(frames);
    expect(await b.counters(0)).toMatchObject({ frames, nobuf: 0, seqMiss: 0, tooSmall: 0, dmaErr: 0 });

    // Reads: together they cover the ring's slots in seq order, each exactly once (slot 1 first:
    // RX_EXP_SEQ = 1); refills never cross a block.
    for (const r of b.ar.slice(warmReads)) {
      expect(r.len).toBeLessThanOrEqual(BK);
      expect(Math.floor(r.lo / (16 * BK))).toBe(Math.floor((r.hi - 1) / (16 * BK)));
    }
    const slots = b.ar.flatMap((r) => slotsOf(r));
    expect(slots).toEqual(Array.from({ length: slots.length }, (_, k) => (k + 1) % RING));
    // Steady state: whole blocks only, one read per BK frames (one per frame before issue 16).
    const steady = b.ar.slice(warmReads);
    expect(steady.length / frames).toBeLessThanOrEqual(1 / BK + 0.01);
    // The doorbell's fill ended at slot 32, the first of a block: the first refill takes the rest of
    // that block (from 33), every later one a whole block.
    expect(steady.map((r) => r.len)).toEqual([BK - 1, ...steady.slice(1).map(() => BK)]);
    expect(steady.every((r) => r.hi % (16 * BK) === 0)).toBe(true);
  });

  it('R-1: a doorbell fills the whole window at once (bursts of 16); a refill after frames waits for the rest of its block; a doorbell with less room than a block still reads it', async () => {
    const b = await RxBench.create({ params: PARAMS, rx });
    bench = b;
    await b.configure(0, { mac: localMac(0), ringBase: layout.ring(0), ringLog2: RING_LOG2, doneBase: layout.done(0) });
    for (let s = 1; s <= 40; s++) b.postBuffer(0, s, layout.buffer(0, s), 1514);
    b.doorbell(0);
    await b.tb.cycles(300);
    const run = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);
    // The window is seqs 1..32, read in two bursts of 16 (as many as a read takes).
    expect(b.ar.map((r) => slotsOf(r))).toEqual([run(1, 16), run(17, 32)]);
    let seen = b.ar.length;
    const newReads = () => {
      const r = b.ar.slice(seen).map((x) => slotsOf(x));
      seen = b.ar.length;
      return r;
    };
    const frame = (seq: number) => testFrame(localMac(0), SRC, { ctx: 0, seq }, 60).data;
    let sent = 0;
    const sendFrames = async (n: number) => {
      for (let k = 0; k < n; k++) await b.send(frame(++sent));
      await b.waitDone(0, sent);
      await b.tb.cycles(150);
    };
    // Each frame frees one place; the rest of the block from slot 33 (BK - 1 places) is read once
    // that many frames have freed them, not before.
    if (BK > 2) {
      await sendFrames(BK - 2);
      expect(newReads()).toEqual([]);
    }
    await sendFrames(1);
    expect(newReads()).toEqual([run(33, BK - 1 + 32)]);
    // One frame frees one place of the next block; a doorbell reads it now rather than wait for frames.
    await sendFrames(1);
    expect(newReads()).toEqual([]);
    b.doorbell(0);
    await b.tb.cycles(150);
    expect(newReads()).toEqual([[32 + BK]]);
    // Then the rest of that block once enough frames have freed it.
    await sendFrames(BK - 1);
    expect(newReads()).toEqual([run(33 + BK, 31 + 2 * BK)]);
    for (let k = 1; k <= sent; k++) expect(b.mem.read(layout.buffer(0, k), 60)).toEqual(frame(k));
    expect(await b.counters(0)).toMatchObject({ frames: sent, nobuf: 0, seqMiss: 0 });
  });

  it('R-1, R-5: a window under 16 deep (an 8-deep prefetch, as at N_CTX = 1024) still refills after every frame: one descriptor per read, every buffer used once, in order, no rx_nobuf', async () => {
    const b = await RxBench.create({ params: PARAMS, rx: { ...rx, descCache: 8 } });
    bench = b;
    await b.configure(0, { mac: localMac(0), ringBase: layout.ring(0), ringLog2: RING_LOG2, doneBase: layout.done(0) });
    for (let s = 1; s <= RING; s++) b.postBuffer(0, s, layout.buffer(0, s), 1514);
    b.doorbell(0);
    await b.tb.cycles(300);
    const warm = b.ar.length;
    const frames = 40;
    for (let k = 1; k <= frames; k++) {
      await b.send(testFrame(localMac(0), SRC, { ctx: 0, seq: k }, 60).data);
      await b.waitDone(0, k);
      await b.tb.cycles(40);
    }
    await b.settle();
    expect(b.done.map((e) => e.seq)).toEqual(Array.from({ length: frames }, (_, k) => k + 1));
    expect(b.ar.length - warm).toBe(frames);
    expect(b.ar.slice(warm).every((r) => r.len === 1)).toBe(true);
    expect(await b.counters(0)).toMatchObject({ frames, nobuf: 0, seqMiss: 0 });
  });

  // Small rings (RX_RING_LOG2 may be 0) and rings with fewer posted buffers than a block: every
  // posted buffer is fetched after its doorbell and used, in order, with frames sent back to back.
  for (const [ringLog2, posts] of [
    [0, [1, 1, 1]],
    [1, [1, 2, 1]],
    [2, [1, 3, 2, 4]],
    [6, [1, 2, 3]],
  ] as const) {
    it(`R-1, R-5: a ${2 ** ringLog2}-entry ring refilled ${posts.join(', ')} buffers at a time (each with a doorbell): every buffer is used once, in order, no rx_nobuf`, async () => {
      const b = await RxBench.create({ params: PARAMS, rx });
      bench = b;
      // A ring base in the middle of a 64-byte block, so blocks and the ring end cut reads differently.
      const ringBase = layout.ring(0) + 32;
      await b.configure(0, { mac: localMac(0), ringBase, ringLog2, doneBase: layout.done(0) });
      const n = await b.refillRounds(0, posts, (s) => testFrame(localMac(0), SRC, { ctx: 0, seq: s }, 60).data);
      expect(b.done.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, k) => k + 1));
      for (let s = 1; s <= n; s++) {
        expect(b.mem.read(layout.buffer(0, s), 60)).toEqual(testFrame(localMac(0), SRC, { ctx: 0, seq: s }, 60).data);
      }
      for (const r of b.ar) expect(Math.floor(r.lo / 4096)).toBe(Math.floor((r.hi - 1) / 4096));
      expect(await b.counters(0)).toMatchObject({ frames: n, nobuf: 0, tooSmall: 0, dmaErr: 0 });
    });
  }
});
