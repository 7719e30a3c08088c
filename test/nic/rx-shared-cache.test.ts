/**
 * The shared RX descriptor cache (issue 16, docs/rx-engine.md "Shared descriptor cache"): a few deep
 * windows lent to receiving contexts whose own prefetch is shallow. A context is given one only when
 * its cache is empty (a doorbell or fetch retry with nothing cached and no read in flight), keeps it
 * while it holds descriptors or reads, and gives it back when an operation leaves it empty or at a
 * flush (RX_EXP_SEQ or ring registers). Observed from the bus: how many descriptors each context
 * reads ahead (8 with its own cache, 32 with a window), and that every frame still lands in the
 * buffer of its own seq, once, in order (R-1, R-5, P-7/P-8).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rxConfig } from '../../hdl/nic/rx/config.js';
import { resolveParams } from '../../hdl/params.js';
import { randomly } from '../../testbench/axi/patterns.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { Rng, testSeed } from '../../testbench/runtime/random.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { closeSims, layout, RxBench } from './rx-fixture.js';

// Four contexts (test profile), 64-entry rings, 8 descriptors per context and two windows of 32.
const PARAMS = { DMA_W: 128, SEQ_W: 8, MAX_RING_LOG2: 6 };
const RX = { descCache: 8, sharedCache: { windows: 2, depth: 32 } };
const RING_LOG2 = 6;
const SEQ_MOD = 256;

let bench: RxBench | null = null;
afterEach(() => {
  bench?.close();
  bench = null;
});
afterAll(() => closeSims());
beforeAll(() => RxBench.prepare({ params: PARAMS, rx: RX }), BUILD_TIMEOUT);

const SRC = localMac(0xabc);

async function open(memory: Parameters<typeof RxBench.create>[0] = {}): Promise<RxBench> {
  bench = await RxBench.create({ params: PARAMS, rx: RX, memory: { readLatency: 100, maxReads: 64 }, ...memory });
  for (let c = 0; c < 4; c++) {
    await bench.configure(c, { mac: localMac(c), ringBase: layout.ring(c), ringLog2: RING_LOG2, doneBase: layout.done(c) });
  }
  return bench;
}

/** Descriptors of context `ctx` read so far (from read `from` on): one 16-byte beat each at DMA_W = 128. */
function descReads(b: RxBench, ctx: number, from = 0): number {
  const lo = layout.ring(ctx);
  const hi = lo + 16 * 2 ** RING_LOG2;
  return b.ar
    .slice(from)
    .filter((r) => r.lo >= lo && r.hi <= hi)
    .reduce((n, r) => n + (r.hi - r.lo) / 16, 0);
}

const bufferOf = (ctx: number, seq: number) => layout.buffer(ctx, seq % SEQ_MOD);

function post(b: RxBench, ctx: number, first: number, n: number): void {
  for (let s = first; s < first + n; s++) b.postBuffer(ctx, s % SEQ_MOD, bufferOf(ctx, s), 1514);
}

const frame = (ctx: number, k: number, len = 60) => testFrame(localMac(ctx), SRC, { ctx, seq: k }, len).data;

/**
 * Sends `n` frames to `ctx` (the k-th carrying its seq), back to back or, with `paced`, 4 at a time
 * after the previous 4 completed (what an 8-deep context takes with 100-cycle reads), waits for the
 * last, checks each buffer.
 */
async function receive(b: RxBench, ctx: number, firstSeq: number, n: number, paced = false): Promise<void> {
  const sent = Array.from({ length: n }, (_, k) => frame(ctx, firstSeq + k));
  for (let k = 0; k < n; k++) {
    if (paced && k >= 4 && k % 4 === 0) await b.waitDone(ctx, (firstSeq + k - 1) % SEQ_MOD, 20_000);
    b.mac.write(sent[k] as Uint8Array);
  }
  await b.waitDone(ctx, (firstSeq + n - 1) % SEQ_MOD, 20_000);
  sent.forEach((f, k) => {
    expect(b.mem.read(bufferOf(ctx, firstSeq + k), f.length), `ctx ${ctx} seq ${firstSeq + k}`).toEqual(f);
  });
}

describe('rxEngine shared descriptor cache', () => {
  it('R-5: a context that rings with an empty cache gets a deep window and prefetches 32, not 8; back-to-back 60-byte frames then find a buffer every time', async () => {
    const b = await open();
    post(b, 0, 1, 48);
    b.doorbell(0);
    await b.tb.cycles(800);
    expect(descReads(b, 0)).toBe(32);
    await receive(b, 0, 1, 48);
    await b.settle();
    const c = await b.counters(0);
    expect(c).toMatchObject({ frames: 48, nobuf: 0, tooSmall: 0 });
    // Refills read on to seq 48, then one unposted slot: the miss that idles the context.
    expect(c.seqMiss).toBe(1);
  });

  it('windows are given back when a context runs empty and lent again to another; a context without a window reads 8 and still receives', async () => {
    const b = await open();
    for (const c of [0, 1, 2]) post(b, c, 1, 32);
    b.doorbell(0);
    b.doorbell(1);
    await b.tb.cycles(600);
    b.doorbell(2);
    await b.tb.cycles(600);
    expect([0, 1, 2].map((c) => descReads(b, c))).toEqual([32, 32, 8]);

    // Context 0 takes its 32 buffers; its refill finds an unposted slot; empty, it gives its window back.
    await receive(b, 0, 1, 32);
    await b.settle();
    const before = b.ar.length;
    post(b, 3, 1, 32);
    b.doorbell(3);
    await b.tb.cycles(600);
    expect(descReads(b, 3, before)).toBe(32);

    // Context 0 again: both windows are lent (1 and 3), so it reads its own 8.
    const again = b.ar.length;
    post(b, 0, 33, 32);
    b.doorbell(0);
    await b.tb.cycles(600);
    expect(descReads(b, 0, again)).toBe(8);
    // Context 2, 8 deep, takes all its 32 buffers by refills after frames; 0 too; 1 and 3 back to back.
    await receive(b, 2, 1, 32, true);
    await receive(b, 0, 33, 32, true);
    await receive(b, 1, 1, 32);
    await receive(b, 3, 1, 32);
    await b.settle();
    for (const c of [0, 1, 2, 3]) expect((await b.counters(c)).nobuf, `ctx ${c}`).toBe(0);
    expect((await b.counters(0)).frames).toBe(64);
  });

  it('R-1, R-5: four contexts receiving steadily with two windows: two prefetch 32, two prefetch 8, and every frame of each lands in its own buffer, in order', async () => {
    const b = await open();
    for (let c = 0; c < 4; c++) post(b, c, 1, 64);
    for (let c = 0; c < 4; c++) b.doorbell(c);
    await b.tb.cycles(800);
    expect([0, 1, 2, 3].map((c) => descReads(b, c)).sort((x, y) => x - y)).toEqual([8, 8, 32, 32]);
    const posted = [64, 64, 64, 64];
    const perCtx = 120;
    const sent: Uint8Array[][] = [[], [], [], []];
    for (let k = 1; k <= perCtx; k++) {
      for (let c = 0; c < 4; c++) {
        const f = frame(c, k, 60 + ((k * 7 + c * 13) % 200));
        sent[c]?.push(f);
        b.mac.write(f);
      }
      if (k % 8 === 0) {
        // The guest reposts what completed, keeping the ring full.
        await b.tb.until(() => [0, 1, 2, 3].every((c) => b.done.some((e) => e.ctx === c && e.seq === k - 4)), {
          timeout: 20_000,
          what: `seq ${k - 4} everywhere`,
        });
        for (let c = 0; c < 4; c++) {
          const done = Math.max(...b.done.filter((e) => e.ctx === c).map((e) => e.seq));
          for (; posted[c] !== undefined && (posted[c] as number) < done + 64; ) {
            posted[c] = (posted[c] as number) + 1;
            b.postBuffer(c, posted[c] as number, bufferOf(c, posted[c] as number), 1514);
          }
        }
      }
    }
    for (let c = 0; c < 4; c++) await b.waitDone(c, perCtx, 20_000);
    await b.settle();
    for (let c = 0; c < 4; c++) {
      const seqs = b.doneUpdates.filter((e) => e.ctx === c).map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(await b.counters(c), `ctx ${c}`).toMatchObject({ frames: perCtx, nobuf: 0, tooSmall: 0, seqMiss: 0 });
      // The last 64 buffers still hold their frames (earlier ones were reposted and may be reused).
      for (let k = perCtx - 60; k <= perCtx; k++) {
        const f = sent[c]?.[k - 1] as Uint8Array;
        expect(b.mem.read(bufferOf(c, k), f.length), `ctx ${c} seq ${k}`).toEqual(f);
      }
    }
  });

  it('P-8: writing RX_EXP_SEQ or a ring register of a context that holds a window empties it and gives the window back; no descriptor cached before is used', async () => {
    const b = await open();
    post(b, 0, 1, 32);
    post(b, 1, 1, 32);
    b.doorbell(0);
    b.doorbell(1);
    await b.tb.cycles(600);
    expect([descReads(b, 0), descReads(b, 1)]).toEqual([32, 32]);

    // Context 0 restarts at seq 100: its 32 cached descriptors (seqs 1..32) are dropped.
    await b.writeCtx(0, 'RX_EXP_SEQ', 100);
    await b.tb.cycles(20);
    const at = b.ar.length;
    post(b, 2, 1, 32);
    b.doorbell(2);
    await b.tb.cycles(600);
    expect(descReads(b, 2, at)).toBe(32);

    // Context 0 again, now without a window (1 and 2 hold them): 8 read ahead; its frames go to the
    // new seqs' buffers, none to the old ones.
    const at0 = b.ar.length;
    for (let s = 100; s < 132; s++) b.postBuffer(0, s, bufferOf(0, s), 1514);
    b.doorbell(0);
    await b.tb.cycles(600);
    expect(descReads(b, 0, at0)).toBe(8);
    await receive(b, 0, 100, 8);
    await b.settle();
    for (let s = 1; s <= 32; s++) expect(b.mem.writesIn(bufferOf(0, s), bufferOf(0, s) + 0x1000), `old seq ${s}`).toEqual([]);

    // Rewriting context 1's RX_RING_LOG2 (as a teardown does) flushes it too: the window goes to 3.
    await b.writeCtx(1, 'RX_RING_LOG2', RING_LOG2);
    await b.writeCtx(1, 'RX_EXP_SEQ', 1);
    await b.tb.cycles(20);
    const at3 = b.ar.length;
    post(b, 3, 1, 32);
    b.doorbell(3);
    await b.tb.cycles(600);
    expect(descReads(b, 3, at3)).toBe(32);
    // Context 1 starts over at seq 1 with 8 (no window free) and receives into its buffers.
    const at1 = b.ar.length;
    b.doorbell(1);
    await b.tb.cycles(600);
    expect(descReads(b, 1, at1)).toBe(8);
    await receive(b, 1, 1, 32, true);
    await receive(b, 3, 1, 32);
    await b.settle();
    expect(await b.counters(1)).toMatchObject({ frames: 32, nobuf: 0 });
  });

  it('a context disabled while it holds a window keeps its descriptors (they survive EN) and the window; they are used once it is enabled again', async () => {
    const b = await open();
    post(b, 0, 1, 32);
    b.doorbell(0);
    await b.tb.cycles(600);
    b.flags(0, { en: false });
    await b.tb.cycles(50);
    b.flags(0, { en: true });
    const at = b.ar.length;
    await receive(b, 0, 1, 4);
    await b.settle();
    // The 4 frames took cached buffers; the refills after them read on past seq 32 (unposted).
    expect(b.ar.slice(at).every((r) => r.lo >= layout.ring(0) + 33 * 16)).toBe(true);
    expect(await b.counters(0)).toMatchObject({ frames: 4, nobuf: 0 });
  });

  it('R-1, R-5, P-8 randomized: random posts, doorbells, frames to four contexts and restarts of RX_EXP_SEQ on a host with random latency and back-pressure', async () => {
    const seed = testSeed();
    try {
      await randomRun(seed);
    } catch (e) {
      if (e instanceof Error) e.message += `\n  (seed ${seed}; re-run with SEED=${seed})`;
      throw e;
    }
  }, 300_000);
});

async function randomRun(seed: number): Promise<void> {
  const rng = new Rng(seed);
  const p = (x: number) => randomly(x, rng.fork());
  const b = await open({
    memory: {
      readLatency: rng.range(20, 200),
      writeLatency: rng.range(1, 100),
      maxReads: 64,
      arready: p(0.7),
      awready: p(0.8),
      wready: p(0.7),
      rvalid: p(0.8),
      bvalid: p(0.8),
    },
  });
  // Slots never posted hold seq 0xffffffff, which no seq of SEQ_W = 8 matches (a zeroed slot would
  // be a valid descriptor of length 0 for seq 0, once a restart's seqs wrap through it).
  const invalidate = (c: number) => {
    for (let s = 0; s < 2 ** RING_LOG2; s++) b.mem.hostWrite(b.slotAddr(c, s) + 12, 0xffffffff, 4);
  };
  for (let c = 0; c < 4; c++) invalidate(c);
  // Per context: the next seq to post and the next seq the engine will use (RX_EXP_SEQ).
  const nextPost = [1, 1, 1, 1];
  const exp = [1, 1, 1, 1];
  const totals = Array.from({ length: 4 }, () => ({ sent: 0, delivered: 0 }));
  let tag = 0;
  let sentAll = 0;
  for (let round = 0; round < 8; round++) {
    // Restart some idle contexts at a random seq (their cached descriptors must never be used).
    for (let c = 0; c < 4; c++) {
      if (round > 0 && rng.chance(0.25)) {
        const s = rng.range(1, SEQ_MOD - 1);
        // As a driver resetting its ring: no slot keeps a descriptor (posted or written back) whose
        // seq the restarted context could expect again.
        invalidate(c);
        await b.writeCtx(c, 'RX_EXP_SEQ', s);
        exp[c] = s;
        nextPost[c] = s;
      }
    }
    const doneBefore = b.done.length;
    const sent: Uint8Array[][] = [[], [], [], []];
    for (let c = 0; c < 4; c++) {
      // Keep at most 64 - 8 posted beyond what the engine has used, so the ring never overruns.
      const room = 56 - (((nextPost[c] as number) - (exp[c] as number) + SEQ_MOD) % SEQ_MOD);
      const n = rng.range(0, Math.max(0, room));
      post(b, c, nextPost[c] as number, n);
      nextPost[c] = ((nextPost[c] as number) + n) % SEQ_MOD;
      if (n > 0 || rng.chance(0.3)) b.doorbell(c);
    }
    await b.tb.cycles(rng.range(0, 400));
    const frames = rng.range(10, 80);
    for (let k = 0; k < frames; k++) {
      const c = rng.int(4);
      const f = frame(c, tag++ & 0xffff, rng.range(60, 400));
      sent[c]?.push(f);
      b.mac.write(f);
      if (rng.chance(0.1)) await b.tb.cycles(rng.range(1, 60));
    }
    await b.tb.until(() => b.mac.idle, { timeout: 50_000, what: 'the MAC stream' });
    await b.settle(600);
    const perCtx = [0, 0, 0, 0];
    // Per context: completions of this round in seq order from exp, each buffer holding the next of
    // the frames sent to it that got a buffer (the rest counted rx_nobuf).
    for (let c = 0; c < 4; c++) {
      const mine = b.done.slice(doneBefore).filter((e) => e.ctx === c);
      const list = sent[c] as Uint8Array[];
      let at = 0;
      mine.forEach((e, i) => {
        expect(e.seq, `ctx ${c} completion ${i}`).toBe(((exp[c] as number) + i) % SEQ_MOD);
        const got = b.mem.read(bufferOf(c, e.seq), e.desc.len);
        while (at < list.length && !equal(list[at] as Uint8Array, got)) at++;
        expect(at, `ctx ${c} seq ${e.seq}: its buffer holds a frame sent to it, in order`).toBeLessThan(list.length);
        at++;
      });
      exp[c] = ((exp[c] as number) + mine.length) % SEQ_MOD;
      const t = totals[c] as { sent: number; delivered: number };
      t.sent += list.length;
      t.delivered += mine.length;
      const cnt = await b.counters(c);
      expect(cnt.frames, `ctx ${c} rx_frames`).toBe(t.delivered);
      expect(cnt.tooSmall, `ctx ${c} rx_buf_too_small (every buffer takes 1514 bytes)`).toBe(0);
      expect(cnt.frames + cnt.nobuf, `ctx ${c}: no more frames than sent`).toBeLessThanOrEqual(t.sent);
      perCtx[c] = cnt.frames + cnt.nobuf;
      expect(await b.ctxReg(c, 'RX_EXP_SEQ')).toBe(exp[c]);
    }
    // Every frame delivered, counted rx_nobuf, or dropped by a full frame buffer (rx_fifo_drop).
    sentAll += sent.reduce((n, l) => n + l.length, 0);
    const g = await b.globals();
    expect(perCtx.reduce((x, y) => x + y, 0) + g.fifo, `round ${round}: per context ${perCtx}, globals ${JSON.stringify(g)}`).toBe(sentAll);
  }
  // Nothing written outside the posted buffers, the rings and the done areas.
  for (const w of b.mem.writes) {
    const inBuffers = w.addr >= layout.buffer(0, 0) && w.addr < layout.buffer(4, 0);
    const inRings = w.addr >= layout.ring(0) && w.addr < layout.ring(4);
    const inDone = w.addr >= layout.done(0) && w.addr < layout.done(4);
    expect(inBuffers || inRings || inDone, `write at 0x${w.addr.toString(16)}`).toBe(true);
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

describe('shared cache defaults per profile (rxConfig)', () => {
  it('is off where the own prefetch is deep, 4 windows of 32 at 10g x 1024, of 128 at the 512-bit 100g', () => {
    const ricenic = rxConfig(resolveParams('ricenic'));
    expect([ricenic.deepWindows, ricenic.descCache]).toEqual([0, 32]);
    const tenG = rxConfig(resolveParams('10g', { N_CTX: 1024 }));
    expect([tenG.deepWindows, tenG.deepDepth, tenG.descCache]).toEqual([4, 32, 8]);
    const hundredG = rxConfig(resolveParams('100g'));
    expect([hundredG.deepWindows, hundredG.deepDepth, hundredG.descCache]).toEqual([4, 128, 8]);
    // An explicit depth is kept, and one the rule refuses is an error naming the rule.
    expect(rxConfig(resolveParams('100g'), { sharedCache: { depth: 32 } }).deepDepth).toBe(32);
    expect(() => rxConfig(resolveParams('100g'), { sharedCache: { depth: 8 } })).toThrow(/must exceed descCache \(8\)/);
  });
});
